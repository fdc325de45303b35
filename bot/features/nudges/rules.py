"""Nudges: the member's pipeline turned into timely DMs, each sent once, at a sensible local
hour, with Done / Snooze 1 day / Stop these, and the filled letter where one fits.

The rules (../shared/PRODUCT.md): alternatives letters when an offer lands (and one reminder
for those not marked sent); offer deadline at about 3 days, 1 day and the morning of; a
request for more time (one per offer: an exploding offer, deadlines far apart or a weekend
deadline); a thank-you after an interview; a stale application; an accepted offer (decline
letters to the rest, then a post-offer review, and nothing else about the rest unless the
member reopens one). Nothing is queued, or stays queued, about a closed process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bot.cohorts import waking
from bot.dates import fmt_date, fmt_when
from bot.db.bulk import among, rows_among
from bot.db.models import Member, MemberSettings, Workspace
from bot.db.pipeline_models import Application, Interview, Offer
from bot.db.schedule_models import NudgeState, NudgeStop, OutboxMessage
from bot.errors import UserError
from bot.features.pipeline.letters import WEEKEND, letter_reply, proposed_deadline
from bot.features.pipeline.queries import (
    ACTIVE_STAGES,
    IN_PROCESS_STAGES,
    NUDGE_KINDS,
    applications,
    drop_pending,
    in_process_applications,
    last_movement,
    move_stage,
    open_offers,
    owned_application,
)
from bot.jobs import JobEnv, job, wakes
from bot.outbox import Scheduled, make_key, queued_keys
from bot.router import Ctx, action
from bot.text import as_id
from bot.types import DM, Button, Conversation, Outbound, Reply, User

KINDS = {
    "alternatives": "alternatives letters",
    "alternatives-reminder": "alternatives reminders",
    "deadline": "offer deadline reminders",
    "extension": "requests for more time on an offer",
    "thank-you": "thank-you reminders",
    "follow-up": "follow-up reminders",
    "accepted": "decline letters after accepting",
    "review": "post-offer review",
    # Kinds of buttons already sent before the three became one extension nudge per offer:
    # they still work, on the extension nudge.
    "deadline-weekend": "requests for more time on an offer",
    "exploding": "requests for more time on an offer",
    "far-apart": "requests for more time on an offer",
}
OLD_EXTENSION_KINDS = ("deadline-weekend", "exploding", "far-apart")
assert set(KINDS) == set(NUDGE_KINDS)
EXPLODING = timedelta(hours=72)
FAR_APART = timedelta(days=3)
INTERVIEW_LENGTH = timedelta(hours=1)
# A snoozed nudge comes back under its subject plus this token, so that its dedupe key never
# meets the original's (a deadline reminder is keyed by the deadline's date).
SNOOZED = "z"


@dataclass(frozen=True)
class Nudge:
    kind: str
    subject: str
    fire_at: datetime  # when it becomes due (then moved into the member's waking hours)
    useful_until: datetime  # after this a missed nudge is dropped, not sent late
    # Built only when the nudge is queued (letters cost queries), for the time it will be
    # sent; None when, by then, there is nothing left to say.
    make: Callable[[datetime], Reply | None]
    local_date: date


# A nudge's sensible hour is the waking window every scheduled DM keeps (bot/cohorts.py).
sensible = waking


def nudge_buttons(kind: str, subject: str, extra: tuple[Button, ...] = ()) -> tuple[Button, ...]:
    key = f"{kind}:{subject}"
    return (
        *extra,
        Button("nudge.done", key, "Done", "success"),
        Button("nudge.snooze", key, "Snooze 1 day"),
        Button("nudge.stop", kind, "Stop these"),
    )


def _letter_nudge(
    ctx: Ctx,
    letter: str,
    app: Application,
    kind: str,
    subject: str,
    intro: str,
    extra: tuple[Button, ...] = (),
    offer_app: Application | None = None,
    variant: str | None = None,
) -> Callable[[datetime], Reply]:
    """A nudge that carries a ready-to-send letter. The letter costs queries, so it is written
    only when the nudge is queued; the intro is plain text, made at once."""

    def make(at: datetime) -> Reply:
        reply = letter_reply(ctx, letter, variant, app, offer_app)
        return replace(
            reply,
            text=f"{intro}\n\n{reply.text}",
            buttons=nudge_buttons(kind, subject, extra or reply.buttons),
            footer="A nudge from your pipeline; only you can see it.",
        )

    return make


def _ctx(session: Session, env: JobEnv, member: Member, user: User, now: datetime) -> Ctx:
    return Ctx(
        env.settings,
        env.content,
        session,
        now,
        user,
        Conversation("dm", f"D-{user.user_id}", None),
        member,
    )


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _deadline_reply(
    app: Application, offer: Offer, label: str, tz: ZoneInfo, at: datetime
) -> Reply:
    """A deadline reminder as of `at`, when it is sent: a snoozed one that comes back a day
    later counts the days left from then, not from when it was first due."""
    assert offer.deadline is not None
    when = fmt_when(offer.deadline, tz)
    left = (offer.deadline.astimezone(tz).date() - at.astimezone(tz).date()).days
    if label == "day" or left <= 0:
        return Reply(
            f"Today is the day: your offer from {app.company} expires {when}. Never accept "
            "on the spot; if you need more time, ask before the deadline, with a reason "
            "and a business day.",
            title="Offer deadline today",
            buttons=nudge_buttons("deadline", f"o{offer.id}-{label}"),
        )
    return Reply(
        f"Your offer from {app.company} expires {when}. Decide, or ask for more "
        f"time now: /letter extension {app.company}",
        title=f"Offer deadline in {_days(left)}",
        buttons=nudge_buttons("deadline", f"o{offer.id}-{label}"),
    )


def _extension(ctx: Ctx, offer: Offer, timed: list[Offer]) -> Nudge | None:
    """One request for more time per offer, whatever calls for it: the strongest reason
    picks the letter (exploding, then deadlines far apart, then a weekend deadline) and the
    others are mentioned in its text."""
    app, dl, received = offer.application, offer.deadline, offer.received_at
    if dl is None:
        return None
    dl_local = dl.astimezone(ctx.tz)
    later = [o for o in timed if o.id != offer.id and o.deadline and o.deadline - dl > FAR_APART]
    exploding = dl - received < EXPLODING
    weekend = dl_local.weekday() >= 5
    if not (exploding or later or weekend):
        return None
    monday = fmt_date(proposed_deadline(offer, [], ctx.now, ctx.tz, WEEKEND))
    also: list[str] = []
    if exploding:
        letter, variant, fire_at = "exploding", None, received
        intro = (
            f"{app.company} gives you under 72 hours. That is an exploding offer: "
            "politely ask for a real decision window."
        )
    elif later:
        letter, variant = "extension", None
        fire_at = max(received, *(o.received_at for o in later))
        intro = (
            f"{app.company}'s deadline comes well before {later[-1].application.company}'s. "
            f"Ask {app.company} for more time so that your decisions line up."
        )
    else:
        letter, variant, fire_at = "extension", WEEKEND, received
        intro = (
            f"{app.company}'s deadline falls on a {dl_local:%A}. Ask to move it to {monday}, "
            "the next business day, so that you can reach them while you decide."
        )
    if exploding and later:
        also.append(f"its deadline also comes well before {later[-1].application.company}'s")
    if (exploding or later) and weekend:
        also.append(f"it falls on a {dl_local:%A}: whatever date you ask for, make it a weekday")
    if also:
        intro += " Also: " + "; ".join(also) + "."
    make = _letter_nudge(ctx, letter, app, "extension", f"o{offer.id}", intro, variant=variant)
    # Keyed by the day the offer came: one letter per offer, even when its reasons change.
    return Nudge("extension", f"o{offer.id}", fire_at, dl, make, received.astimezone(ctx.tz).date())


def _rules(ctx: Ctx, stale_days: int, done: set[tuple[str, str]]) -> Iterator[Nudge]:
    """Every nudge the member's pipeline calls for now; `done` holds the (kind, subject) of
    those the member marked done."""
    now, tz, s, mid = ctx.now, ctx.tz, ctx.session, ctx.member.id
    apps = applications(s, mid)
    accepted = [a for a in apps if a.stage == "accepted"]
    chosen = max(accepted, key=lambda a: a.stage_changed_at) if accepted else None

    def live(a: Application) -> bool:
        """Still worth nudging about: open, and (once an offer is accepted) reopened after."""
        return a.stage in ACTIVE_STAGES and (
            chosen is None or a.stage_changed_at > chosen.stage_changed_at
        )

    offers = [o for o in open_offers(s, mid) if live(o.application)]
    timed = [o for o in offers if o.deadline and o.deadline > now]
    for offer in offers:
        app = offer.application
        received = offer.received_at
        # 1. Alternatives: one letter per other company in process.
        targets = [t for t in in_process_applications(s, mid, exclude=app.id) if live(t)]
        for t in targets:
            subj = f"o{offer.id}-a{t.id}"
            alt = _letter_nudge(
                ctx,
                "alternatives",
                t,
                "alternatives",
                subj,
                f"You have an offer from {app.company}: tell {t.company} and ask them "
                "to speed up. Press Sent once it is out.",
                (Button("nudge.altsent", f"{offer.id}:{t.id}", "Sent", "primary"),),
                offer_app=app,
            )
            yield Nudge(
                "alternatives",
                subj,
                received,
                received + timedelta(days=3),
                alt,
                received.astimezone(tz).date(),
            )
        if targets:
            pending = [t for t in targets if ("alternatives", f"o{offer.id}-a{t.id}") not in done]
            yield Nudge(
                "alternatives-reminder",
                f"o{offer.id}",
                received + timedelta(days=2),
                received + timedelta(days=5),
                partial(_reminder, offer, pending) if pending else lambda at: None,
                received.astimezone(tz).date(),
            )
        if offer.deadline is None or offer.deadline <= now:
            continue
        dl = offer.deadline
        dl_local = dl.astimezone(tz)
        # 2. Deadline reminders: about 3 days, 1 day, and the morning of.
        morning = datetime.combine(dl_local.date(), time(8, 0), tzinfo=tz)
        has_morning = received < morning < dl
        for label, before in (("3d", timedelta(days=3)), ("1d", timedelta(days=1))):
            # An evening deadline's "1 day" reminder, moved out of the night, lands on the
            # deadline's own morning: the morning-of reminder says it, once.
            same_day = sensible(dl - before, tz).astimezone(tz).date() >= dl_local.date()
            if dl - received > before and not (has_morning and same_day):
                yield Nudge(
                    "deadline",
                    f"o{offer.id}-{label}",
                    dl - before,
                    dl,
                    partial(_deadline_reply, app, offer, label, tz),
                    dl_local.date(),
                )
        if has_morning:
            yield Nudge(
                "deadline",
                f"o{offer.id}-day",
                morning,
                dl,
                partial(_deadline_reply, app, offer, "day", tz),
                dl_local.date(),
            )
        # 3. Ask for more time: a weekend deadline, an exploding offer, deadlines far apart.
        extension = _extension(ctx, offer, timed)
        if extension is not None:
            yield extension
    for app in apps:
        if not live(app):
            continue
        # 4. Thank-you within 24 hours of an interview.
        for iv in app.interviews:
            end = iv.at + INTERVIEW_LENGTH
            if iv.thank_you_sent or end > now:
                continue
            thanks = _letter_nudge(
                ctx,
                "thank-you",
                app,
                "thank-you",
                f"i{iv.id}",
                f"How did the {iv.kind or 'interview'} with {app.company} go? Send a short "
                "thank-you today, while they still remember you.",
                (Button("pipeline.thanked", str(iv.id), "Mark as sent", "primary"),),
            )
            yield Nudge(
                "thank-you",
                f"i{iv.id}",
                end,
                iv.at + timedelta(hours=24),
                thanks,
                iv.at.astimezone(tz).date(),
            )
        # 5. A stale application: no stage move, interview booked or interview held lately.
        since = last_movement(app, now) if app.stage in IN_PROCESS_STAGES else None
        if since is not None and since + timedelta(days=stale_days) <= now:
            stale_at = since + timedelta(days=stale_days)
            subj = f"a{app.id}-{since:%Y%m%d}"
            follow = _letter_nudge(
                ctx,
                "follow-up",
                app,
                "follow-up",
                subj,
                f"Nothing has moved with {app.company} for {stale_days} days. A short, "
                "friendly follow-up often gets things going again.",
            )
            yield Nudge(
                "follow-up",
                subj,
                stale_at,
                stale_at + timedelta(days=3),
                follow,
                stale_at.astimezone(tz).date(),
            )
    # 6. An accepted offer: decline letters to the rest, then the post-offer review.
    if chosen is not None:
        at = chosen.stage_changed_at
        waiting = [a for a in apps if a.stage in (*IN_PROCESS_STAGES, "offer") and not live(a)]
        for other in waiting:
            subj = f"a{chosen.id}-d{other.id}"
            declined = _letter_nudge(
                ctx,
                "decline",
                other,
                "accepted",
                subj,
                f"Congratulations on {chosen.company}! Close the loop with {other.company} "
                "kindly: you may meet them again. Press Sent and close once it is out.",
                (Button("nudge.declined", str(other.id), "Sent and close", "primary"),),
            )
            yield Nudge(
                "accepted", subj, at, at + timedelta(days=7), declined, at.astimezone(tz).date()
            )
    # One review, of the job taken: a member who marks two offers accepted is reviewing
    # one decision, the latest.
    for app in [chosen] if chosen is not None else []:
        at = app.stage_changed_at
        review_at = at + timedelta(days=2)
        steps = next((p for p in ctx.content.plan if p.id == "review"), None)
        actions = "\n".join(f"- {a}" for a in steps.actions) if steps else ""
        reply = Reply(
            "Before the new job swallows you: take twenty minutes for a post-offer review "
            f"while the details are fresh.\n{actions}\nThen try /drill offer-evaluation to "
            "check the decision against the four factors.",
            title="Your post-offer review",
            buttons=nudge_buttons("review", f"a{app.id}"),
        )
        yield Nudge(
            "review",
            f"a{app.id}",
            review_at,
            review_at + timedelta(days=7),
            lambda at, r=reply: r,
            review_at.astimezone(tz).date(),
        )


def _reminder(offer: Offer, pending: list[Application], at: datetime) -> Reply:
    names = ", ".join(a.company for a in pending)
    return Reply(
        f"Your offer from {offer.application.company} only helps if the others know about it. "
        f"Not marked sent yet: {names}. Type /letter alternatives for the letters.",
        title="Alternatives letters: a reminder",
        buttons=nudge_buttons("alternatives-reminder", f"o{offer.id}"),
    )


def _superseded(n: Nudge, due: list[Nudge], now: datetime) -> bool:
    """A snoozed deadline reminder is not sent again once a later one for the same offer is
    due (the 3-day one on the eve of the deadline, say): that one says it better."""
    if n.kind != "deadline":
        return False
    offer = n.subject.split("-")[0]
    return any(
        o.kind == "deadline" and o.subject.split("-")[0] == offer and n.fire_at < o.fire_at <= now
        for o in due
    )


def candidates(session: Session, now: datetime, stale_days: int) -> list[int]:
    """Members with something in their pipeline that a rule could fire on: a few indexed,
    set-based queries instead of one pass per member."""
    recent = now - timedelta(days=8)
    ids: set[int] = set()
    ids.update(
        session.scalars(
            select(Offer.member_id).where(or_(Offer.received_at >= recent, Offer.deadline >= now))
        )
    )
    ids.update(
        session.scalars(
            select(Interview.member_id).where(
                Interview.at >= now - timedelta(hours=25),
                Interview.at <= now,
                Interview.thank_you_sent.is_(False),
            )
        )
    )
    stale_from = now - timedelta(days=stale_days + 4)
    stale_to = now - timedelta(days=stale_days)
    ids.update(
        session.scalars(
            select(Application.member_id).where(
                Application.stage.in_(IN_PROCESS_STAGES),
                Application.stage_changed_at <= stale_to,
                Application.stage_changed_at >= stale_from,
            )
        )
    )
    # An interview restarts the staleness clock: from its booking and from its time.
    ids.update(
        session.scalars(
            select(Interview.member_id).where(
                or_(
                    Interview.at.between(stale_from, stale_to),
                    Interview.created_at.between(stale_from, stale_to),
                )
            )
        )
    )
    ids.update(
        session.scalars(
            select(Application.member_id).where(
                Application.stage == "accepted", Application.stage_changed_at >= recent
            )
        )
    )
    ids.update(
        session.scalars(
            select(NudgeState.member_id).where(
                NudgeState.snoozed_until.is_not(None), NudgeState.snoozed_until <= now
            )
        )
    )
    return sorted(ids)


@job("nudges", every=timedelta(minutes=15))
def nudges(now: datetime, session: Session, env: JobEnv) -> list[Scheduled]:
    ids = candidates(session, now, env.settings.stale_days)
    if not ids:
        return []
    stops = {
        (m, canonical(k, "")[0])
        for m, k in rows_among(
            session, select(NudgeStop.member_id, NudgeStop.kind), NudgeStop.member_id, ids
        )
    }
    done: dict[int, set[tuple[str, str]]] = {}
    snoozed: dict[int, dict[tuple[str, str], datetime]] = {}
    for m, k, sub, is_done, until in rows_among(
        session,
        select(
            NudgeState.member_id,
            NudgeState.kind,
            NudgeState.subject,
            NudgeState.done,
            NudgeState.snoozed_until,
        ).where(or_(NudgeState.done.is_(True), NudgeState.snoozed_until.is_not(None))),
        NudgeState.member_id,
        ids,
    ):
        if is_done:
            done.setdefault(m, set()).add(canonical(k, sub))
        elif until is not None:
            snoozed.setdefault(m, {})[(k, sub)] = until
    rows = rows_among(
        session,
        select(Member, Workspace.platform, Workspace.external_id)
        .join(Workspace, Workspace.id == Member.workspace_id)
        .where(Member.undeliverable.is_(False)),
        Member.id,
        ids,
    )
    # Every member's due nudges first, then one query for which are already queued.
    due: list[tuple[Member, User, Ctx, Nudge, str]] = []
    for member, platform, external in rows:
        user = User(platform, external, member.platform_user_id, member.display_name)
        ctx = _ctx(session, env, member, user, now)
        mine = done.get(member.id, set())
        held = snoozed.get(member.id, {})
        wanted = [
            n
            for n in _rules(ctx, env.settings.stale_days, mine)
            if (member.id, n.kind) not in stops and (n.kind, n.subject) not in mine
        ]
        for n in wanted:
            back = held.get((n.kind, n.subject))
            if back is None:
                if n.fire_at <= now < n.useful_until:
                    key = make_key(f"m{member.id}", n.kind, n.subject, n.local_date)
                    due.append((member, user, ctx, n, key))
                continue
            # Snoozed: it comes back when the snooze ends, once, made for then, and only if
            # its rule still calls for it (process open, no later reminder superseding it).
            if back > now or _superseded(n, wanted, now):
                continue
            again = replace(
                n,
                subject=f"{n.subject}-{SNOOZED}",
                local_date=sensible(now, ctx.tz).astimezone(ctx.tz).date(),
                useful_until=max(n.useful_until, back + timedelta(days=1)),
            )
            key = make_key(f"m{member.id}", again.kind, again.subject, again.local_date)
            due.append((member, user, ctx, again, key))
    # Snoozes that ended are settled now: brought back above, or no longer called for.
    ended = [(m, k, sub) for m, held in snoozed.items() for (k, sub), t in held.items() if t <= now]
    if ended:
        for where in among(session, NudgeState.member_id, sorted({m for m, _, _ in ended})):
            session.execute(
                update(NudgeState)
                .where(
                    where, NudgeState.snoozed_until.is_not(None), NudgeState.snoozed_until <= now
                )
                .values(snoozed_until=None)
                .execution_options(synchronize_session=False)
            )
    already = queued_keys(session, [key for *_, key in due])
    out: list[Scheduled] = []
    for member, user, ctx, n, key in due:
        at = sensible(now, ctx.tz)
        if key in already or at >= n.useful_until:
            continue
        reply = n.make(at)
        if reply is None:
            continue
        out.append(
            Scheduled(
                Outbound(DM(user), reply),
                workspace_id=member.workspace_id,
                kind=n.kind,
                subject=n.subject,
                local_date=n.local_date,
                due_at=at,
                member_id=member.id,
                expires_at=n.useful_until,
            )
        )
    return out


# -- buttons ---------------------------------------------------------------------------------


def canonical(kind: str, subject: str) -> tuple[str, str]:
    """The (kind, subject) a button names today: the three old "more time" kinds are the one
    extension nudge of their offer (a far-apart subject "o<first>-o<last>" names the first)."""
    if kind in OLD_EXTENSION_KINDS:
        return "extension", subject.split("-")[0]
    return kind, subject


def _state(ctx: Ctx, kind: str, subject: str) -> NudgeState:
    st = ctx.session.scalar(
        select(NudgeState).where(
            NudgeState.member_id == ctx.member.id,
            NudgeState.kind == kind,
            NudgeState.subject == subject,
        )
    )
    if st is None:
        st = NudgeState(
            member_id=ctx.member.id, kind=kind, subject=subject, done=False, updated_at=ctx.now
        )
        ctx.session.add(st)
    st.updated_at = ctx.now
    return st


def _split(value: str) -> tuple[str, str]:
    kind, _, subject = value.partition(":")
    if kind not in KINDS or not subject:
        raise UserError("That button is out of date; nothing changed.")
    return kind, subject


def _queued(ctx: Ctx, kinds: tuple[str, ...], subject: str | None = None) -> list[int]:
    """The member's pending outbox rows of these kinds (about `subject`, snoozed copies
    included, when given)."""
    stmt = select(OutboxMessage.id).where(
        OutboxMessage.member_id == ctx.member.id,
        OutboxMessage.status == "pending",
        OutboxMessage.kind.in_(kinds),
    )
    if subject is not None:
        stmt = stmt.where(OutboxMessage.subject.in_((subject, f"{subject}-{SNOOZED}")))
    return list(ctx.session.scalars(stmt))


@action("nudge.done")
def nudge_done(ctx: Ctx, value: str) -> Reply:
    kind, subject = canonical(*_split(value))
    st = _state(ctx, kind, subject)
    st.done, st.snoozed_until = True, None
    drop_pending(ctx.session, _queued(ctx, (kind,), subject), "marked done")
    return Reply("Marked done. I won't remind you about this one again.")


@action("nudge.snooze")
def nudge_snooze(ctx: Ctx, value: str) -> Reply:
    sent_kind, sent_subject = _split(value)
    kind, subject = canonical(sent_kind, sent_subject)
    # The nudge must have been sent to this member (rows are keyed by member: no forging).
    sent = ctx.session.scalar(
        select(OutboxMessage.id)
        .where(
            OutboxMessage.member_id == ctx.member.id,
            OutboxMessage.kind.in_((sent_kind, kind)),
            OutboxMessage.subject.in_(
                (sent_subject, f"{sent_subject}-{SNOOZED}", subject, f"{subject}-{SNOOZED}")
            ),
        )
        .limit(1)
    )
    if sent is None:
        raise UserError("I can't find that nudge any more; nothing changed.")
    again = sensible(ctx.now + timedelta(days=1), ctx.tz)
    # The nudges job brings it back when the snooze ends, rebuilt for that moment (days left
    # counted then), and only if it still applies; no copy of it stays queued meanwhile.
    _state(ctx, kind, subject).snoozed_until = again
    drop_pending(ctx.session, _queued(ctx, (kind,), subject), "snoozed")
    return Reply(f"Snoozed: I'll bring it back {fmt_when(again, ctx.tz)}, if it still applies.")


@action("nudge.stop")
def nudge_stop(ctx: Ctx, value: str) -> Reply:
    if value not in KINDS:
        raise UserError("That button is out of date; nothing changed.")
    kind, _ = canonical(value, "")
    if ctx.session.get(NudgeStop, (ctx.member.id, kind)) is None:
        ctx.session.add(NudgeStop(member_id=ctx.member.id, kind=kind, created_at=ctx.now))
    # What is already queued stops too, not only what the job would queue next.
    kinds = (kind, *OLD_EXTENSION_KINDS) if kind == "extension" else (kind,)
    drop_pending(ctx.session, _queued(ctx, kinds), "stopped by the member")
    return Reply(f"Stopped: no more {KINDS[kind]}.")


@action("nudge.altsent")
def alternatives_sent(ctx: Ctx, value: str) -> Reply:
    offer_id, _, app_id = value.partition(":")
    app = owned_application(ctx.session, ctx.member.id, aid) if (aid := as_id(app_id)) else None
    offer = ctx.session.get(Offer, oid) if (oid := as_id(offer_id)) else None
    if app is None or offer is None or offer.member_id != ctx.member.id:
        raise UserError("That button isn't for you, or that application is gone. Nothing changed.")
    _state(ctx, "alternatives", f"o{offer.id}-a{app.id}").done = True
    return Reply(f"Noted: the alternatives letter to {app.company} is sent.")


@action("nudge.declined")
def decline_sent(ctx: Ctx, value: str) -> Reply:
    app = owned_application(ctx.session, ctx.member.id, aid) if (aid := as_id(value)) else None
    if app is None:
        raise UserError("That button isn't for you, or that application is gone. Nothing changed.")
    if app.stage in ("applied", "screen", "interview", "onsite", "wishlist"):
        move_stage(app, "withdrawn", ctx.now)
    elif app.stage == "offer":
        move_stage(app, "declined", ctx.now)
    return Reply(f"Closed {app.company} ({app.stage}). One less thing to track.")


@wakes("nudges")
def next_nudge(after: datetime, session: Session, env: JobEnv) -> datetime | None:
    """The first instant after `after` at which a rule above could fire: every time a rule
    counts from (offers received, deadlines, the morning of a deadline in the member's zone,
    interviews, stage changes, staleness, snoozes ending). Early is harmless, late is not."""
    day, stale = timedelta(days=1), timedelta(days=env.settings.stale_days)
    instants: list[datetime] = []
    for received, deadline, zone in session.execute(
        select(Offer.received_at, Offer.deadline, MemberSettings.timezone).join(
            MemberSettings, MemberSettings.member_id == Offer.member_id
        )
    ):
        instants += [received, received + 2 * day]
        if deadline is not None:
            tz = ZoneInfo(zone)
            morning = datetime.combine(deadline.astimezone(tz).date(), time(8, 0), tzinfo=tz)
            instants += [deadline - 3 * day, deadline - day, morning, deadline]
    for at, booked in session.execute(select(Interview.at, Interview.created_at)):
        instants += [at + INTERVIEW_LENGTH, at + stale, booked + stale]
    for (changed,) in session.execute(select(Application.stage_changed_at)):
        instants += [changed, changed + 2 * day, changed + stale]
    instants += session.scalars(
        select(NudgeState.snoozed_until).where(NudgeState.snoozed_until.is_not(None))
    )
    return min((t for t in instants if t > after), default=None)
