"""Nudges: the member's pipeline turned into timely DMs, each sent once, at a sensible local
hour, with Done / Snooze 1 day / Stop these, and the filled letter where one fits.

The rules (../shared/PRODUCT.md): alternatives letters when an offer lands (and one reminder
for those not marked sent); offer deadline at about 3 days, 1 day and the morning of; a
weekend deadline; an exploding offer; a thank-you after an interview; a stale application;
offer deadlines far apart; an accepted offer (decline letters, then a post-offer review)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.cohorts import NUDGE_WINDOW
from bot.dates import fmt_when
from bot.db.bulk import rows_among
from bot.db.models import Member, Workspace
from bot.db.pipeline_models import Application, Interview, Offer
from bot.db.schedule_models import NudgeState, NudgeStop, OutboxMessage
from bot.errors import UserError
from bot.features.letters import letter_reply
from bot.jobs import JobEnv, job
from bot.outbox import Scheduled, enqueue, make_key, queued_keys
from bot.pipeline_queries import (
    in_process_applications,
    move_stage,
    open_offers,
    owned_application,
)
from bot.router import Ctx, action
from bot.serialize import outbound_from_dict
from bot.text import as_id
from bot.types import DM, Button, Conversation, Outbound, Reply, User

KINDS = {
    "alternatives": "alternatives letters",
    "alternatives-reminder": "alternatives reminders",
    "deadline": "offer deadline reminders",
    "deadline-weekend": "weekend deadline advice",
    "exploding": "exploding offer advice",
    "thank-you": "thank-you reminders",
    "follow-up": "follow-up reminders",
    "far-apart": "far-apart deadline advice",
    "accepted": "decline letters after accepting",
    "review": "post-offer review",
}
EXPLODING = timedelta(hours=72)
FAR_APART = timedelta(days=3)
INTERVIEW_LENGTH = timedelta(hours=1)


@dataclass(frozen=True)
class Nudge:
    kind: str
    subject: str
    fire_at: datetime  # when it becomes due (then moved into the member's waking hours)
    useful_until: datetime  # after this a missed nudge is dropped, not sent late
    # Built only when the nudge is new (letters cost queries); None when, by then, there is
    # nothing left to say.
    make: Callable[[], Reply | None]
    local_date: date


def sensible(at: datetime, tz: ZoneInfo) -> datetime:
    """`at`, moved into the member's waking hours (09:00-20:00 local)."""
    local = at.astimezone(tz)
    start, end = NUDGE_WINDOW
    if local.time() < start:
        local = datetime.combine(local.date(), start, tzinfo=tz)
    elif local.time() >= end:
        local = datetime.combine(local.date() + timedelta(days=1), start, tzinfo=tz)
    return local.astimezone(ZoneInfo("UTC"))


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
) -> Callable[[], Reply]:
    """A nudge that carries a ready-to-send letter. The letter costs queries, so it is written
    only when the nudge is new; the intro is plain text, made at once."""

    def make() -> Reply:
        reply = letter_reply(ctx, letter, None, app, offer_app)
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


def _rules(ctx: Ctx, stale_days: int, done: set[tuple[str, str]]) -> Iterator[Nudge]:
    """Every nudge the member's pipeline calls for now; `done` holds the (kind, subject) of
    those the member marked done."""
    now, tz, s, mid = ctx.now, ctx.tz, ctx.session, ctx.member.id
    apps = list(s.scalars(select(Application).where(Application.member_id == mid)))
    offers = open_offers(s, mid)
    for offer in offers:
        app = offer.application
        received = offer.received_at
        # 1. Alternatives: one letter per other company in process.
        targets = in_process_applications(s, mid, exclude=app.id)
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
                partial(_reminder, offer, pending) if pending else lambda: None,
                received.astimezone(tz).date(),
            )
        if offer.deadline is None or offer.deadline <= now:
            continue
        dl = offer.deadline
        dl_local = dl.astimezone(tz)
        when = fmt_when(dl, tz)
        # 2. Deadline reminders: about 3 days, 1 day, and the morning of.
        for label, before in (("3d", timedelta(days=3)), ("1d", timedelta(days=1))):
            if dl - received > before:
                reply = Reply(
                    f"Your offer from {app.company} expires {when}. Decide, or ask for more "
                    f"time now: /letter extension {app.company}",
                    title=f"Offer deadline in {'3 days' if label == '3d' else '1 day'}",
                    buttons=nudge_buttons("deadline", f"o{offer.id}-{label}"),
                )
                yield Nudge(
                    "deadline",
                    f"o{offer.id}-{label}",
                    dl - before,
                    dl,
                    lambda r=reply: r,
                    dl_local.date(),
                )
        morning = datetime.combine(dl_local.date(), time(8, 0), tzinfo=tz)
        if morning < dl and morning > received:
            reply = Reply(
                f"Today is the day: your offer from {app.company} expires {when}. Never accept "
                "on the spot; if you need more time, ask before the deadline, with a reason "
                "and a business day.",
                title="Offer deadline today",
                buttons=nudge_buttons("deadline", f"o{offer.id}-day"),
            )
            yield Nudge(
                "deadline", f"o{offer.id}-day", morning, dl, lambda r=reply: r, dl_local.date()
            )
        # 3. A deadline on a weekend: move it to a business day.
        if dl_local.weekday() >= 5:
            weekend = _letter_nudge(
                ctx,
                "extension",
                app,
                "deadline-weekend",
                f"o{offer.id}",
                f"{app.company}'s deadline falls on a {dl_local:%A}. Ask to move it to a "
                "business day, so that you can reach them while you decide.",
            )
            yield Nudge("deadline-weekend", f"o{offer.id}", received, dl, weekend, dl_local.date())
        # 4. An exploding offer: under 72 hours from offer to deadline.
        if dl - received < EXPLODING:
            exploding = _letter_nudge(
                ctx,
                "exploding",
                app,
                "exploding",
                f"o{offer.id}",
                f"{app.company} gives you under 72 hours. That is an exploding offer: "
                "politely ask for a real decision window.",
            )
            yield Nudge("exploding", f"o{offer.id}", received, dl, exploding, dl_local.date())
    # 5. Offers whose deadlines are far apart: ask the earlier one for more time.
    timed = [o for o in offers if o.deadline and o.deadline > now]
    if len(timed) >= 2:
        first, last = timed[0], timed[-1]
        if last.deadline - first.deadline > FAR_APART:  # type: ignore[operator]
            app = first.application
            subj = f"o{first.id}-o{last.id}"
            far = _letter_nudge(
                ctx,
                "extension",
                app,
                "far-apart",
                subj,
                f"{app.company}'s deadline comes well before {last.application.company}'s. "
                f"Ask {app.company} for more time so that your decisions line up.",
            )
            assert first.deadline is not None
            yield Nudge(
                "far-apart",
                subj,
                max(first.received_at, last.received_at),
                first.deadline,
                far,
                first.deadline.astimezone(tz).date(),
            )
    for app in apps:
        # 6. Thank-you within 24 hours of an interview.
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
        # 7. A stale application.
        if app.stage in ("applied", "screen", "interview", "onsite"):
            since = app.stage_changed_at
            stale_at = since + timedelta(days=stale_days)
            if stale_at <= now:
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
        # 8. An accepted offer: decline letters to the rest, then the post-offer review.
        if app.stage == "accepted":
            at = app.stage_changed_at
            for other in in_process_applications(s, mid) + [o.application for o in offers]:
                subj = f"a{app.id}-d{other.id}"
                declined = _letter_nudge(
                    ctx,
                    "decline",
                    other,
                    "accepted",
                    subj,
                    f"Congratulations on {app.company}! Close the loop with {other.company} "
                    "kindly: you may meet them again. Press Sent and close once it is out.",
                    (Button("nudge.declined", str(other.id), "Sent and close", "primary"),),
                )
                yield Nudge(
                    "accepted", subj, at, at + timedelta(days=7), declined, at.astimezone(tz).date()
                )
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
                lambda r=reply: r,
                review_at.astimezone(tz).date(),
            )


def _reminder(offer: Offer, pending: list[Application]) -> Reply:
    names = ", ".join(a.company for a in pending)
    return Reply(
        f"Your offer from {offer.application.company} only helps if the others know about it. "
        f"Not marked sent yet: {names}. Type /letter alternatives for the letters.",
        title="Alternatives letters: a reminder",
        buttons=nudge_buttons("alternatives-reminder", f"o{offer.id}"),
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
    ids.update(
        session.scalars(
            select(Application.member_id).where(
                Application.stage.in_(("applied", "screen", "interview", "onsite", "accepted")),
                Application.stage_changed_at <= now - timedelta(days=stale_days),
                Application.stage_changed_at >= now - timedelta(days=stale_days + 4),
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
    return sorted(ids)


@job("nudges", every=timedelta(minutes=15))
def nudges(now: datetime, session: Session, env: JobEnv) -> list[Scheduled]:
    ids = candidates(session, now, env.settings.stale_days)
    if not ids:
        return []
    stops = {
        (m, k)
        for m, k in rows_among(
            session, select(NudgeStop.member_id, NudgeStop.kind), NudgeStop.member_id, ids
        )
    }
    done: dict[int, set[tuple[str, str]]] = {}
    for m, k, sub in rows_among(
        session,
        select(NudgeState.member_id, NudgeState.kind, NudgeState.subject).where(
            NudgeState.done.is_(True)
        ),
        NudgeState.member_id,
        ids,
    ):
        done.setdefault(m, set()).add((k, sub))
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
        for n in _rules(ctx, env.settings.stale_days, mine):
            if (member.id, n.kind) in stops or (n.kind, n.subject) in mine:
                continue
            if n.fire_at <= now < n.useful_until:
                key = make_key(f"m{member.id}", n.kind, n.subject, n.local_date)
                due.append((member, user, ctx, n, key))
    already = queued_keys(session, [key for *_, key in due])
    out: list[Scheduled] = []
    for member, user, ctx, n, key in due:
        at = sensible(now, ctx.tz)
        if key in already or at >= n.useful_until:
            continue
        reply = n.make()
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


@action("nudge.done")
def nudge_done(ctx: Ctx, value: str) -> Reply:
    kind, subject = _split(value)
    _state(ctx, kind, subject).done = True
    return Reply("Marked done. I won't remind you about this one again.")


@action("nudge.snooze")
def nudge_snooze(ctx: Ctx, value: str) -> Reply:
    kind, subject = _split(value)
    # The nudge itself, as it was sent to this member (rows are keyed by member: no forging).
    row = ctx.session.scalar(
        select(OutboxMessage)
        .where(
            OutboxMessage.member_id == ctx.member.id,
            OutboxMessage.kind == kind,
            OutboxMessage.subject == subject,
        )
        .order_by(OutboxMessage.local_date.desc())
        .limit(1)
    )
    if row is None:
        raise UserError("I can't find that nudge any more; nothing changed.")
    st = _state(ctx, kind, subject)
    st.snoozed_until = ctx.now + timedelta(days=1)
    again = sensible(ctx.now + timedelta(days=1), ctx.tz)
    enqueue(
        ctx.session,
        [
            Scheduled(
                outbound_from_dict(row.payload),
                workspace_id=row.workspace_id,
                kind=kind,
                subject=subject,
                local_date=again.astimezone(ctx.tz).date(),
                due_at=again,
                member_id=ctx.member.id,
                expires_at=again + timedelta(days=1),
            )
        ],
        ctx.now,
    )
    return Reply(f"Snoozed: I'll bring it back {fmt_when(again, ctx.tz)}.")


@action("nudge.stop")
def nudge_stop(ctx: Ctx, value: str) -> Reply:
    if value not in KINDS:
        raise UserError("That button is out of date; nothing changed.")
    if ctx.session.get(NudgeStop, (ctx.member.id, value)) is None:
        ctx.session.add(NudgeStop(member_id=ctx.member.id, kind=value, created_at=ctx.now))
    return Reply(f"Stopped: no more {KINDS[value]}.")


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
