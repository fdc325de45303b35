"""The nudge engine: the member's pipeline turned into timely DMs, each sent once, at a sensible
local hour, with Done / Snooze 1 day / Stop these, and the filled letter where one fits.

A rule is one function registered with `@rule`, in a module of its own beside this one
(../shared/PRODUCT.md lists them): it reads one member's `Pipeline` and yields the `Nudge`s it
calls for now, and it names the query that finds the members it could fire for and the
instants it counts from. Everything else is here and applies to every rule alike: the job
and its wake-ups, waking hours, Stop these, Done, snoozes, and the once-only dedupe. Nothing
is queued, or stays queued, about a closed process (`live`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, bindparam, func, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from bot.cohorts import waking
from bot.content import Content
from bot.db.bulk import among, rows_among
from bot.db.models import Member, Workspace
from bot.db.pipeline_models import Application, Offer
from bot.db.schedule_models import NudgeState, NudgeStop
from bot.features.pipeline.letters import Writer, letter_reply
from bot.features.pipeline.queries import ACTIVE_STAGES, applications_of, open_offers_of
from bot.jobs import JobEnv, job, wakes
from bot.outbox import Scheduled, make_key, queued_keys
from bot.types import DM, Button, Outbound, Reply, User

# Kinds of buttons already sent before the three became one extension nudge per offer: they
# still work, on the extension nudge.
OLD_EXTENSION_KINDS = ("deadline-weekend", "exploding", "far-apart")
# A snoozed nudge comes back under its subject plus this token, so that its dedupe key never
# meets the original's (a deadline reminder is keyed by the deadline's date).
SNOOZED = "z"
FOOTER = "A nudge from your pipeline; only you can see it."

# A nudge's sensible hour is the waking window every scheduled DM keeps (bot/cohorts.py).
sensible = waking


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


def nudge_buttons(kind: str, subject: str, extra: tuple[Button, ...] = ()) -> tuple[Button, ...]:
    key = f"{kind}:{subject}"
    return (
        *extra,
        Button("nudge.done", key, "Done", "success"),
        Button("nudge.snooze", key, "Snooze 1 day"),
        Button("nudge.stop", kind, "Stop these"),
    )


def canonical(kind: str, subject: str) -> tuple[str, str]:
    """The (kind, subject) a button names today: the three old "more time" kinds are the one
    extension nudge of their offer (a far-apart subject "o<first>-o<last>" names the first)."""
    if kind in OLD_EXTENSION_KINDS:
        return "extension", subject.split("-")[0]
    return kind, subject


@dataclass(frozen=True)
class Pipeline:
    """One member's pipeline as every rule reads it, loaded once per member and run."""

    writer: Writer  # the member, a session, the content and the time: what letters read
    stale_days: int
    apps: list[Application]
    chosen: Application | None  # the accepted offer (the latest, if several were marked)
    offers: list[Offer]  # open offers still worth nudging about
    done: frozenset[tuple[str, str]]  # (kind, subject) of the nudges the member marked done

    @classmethod
    def load(
        cls,
        session: Session,
        env: JobEnv,
        member: Member,
        now: datetime,
        apps: list[Application],
        done: Iterable[Any],
    ) -> Pipeline:
        accepted = [a for a in apps if a.stage == "accepted"]
        chosen = max(accepted, key=lambda a: a.stage_changed_at) if accepted else None
        p = cls(
            Writer(session, env.content, member, now, apps),
            env.settings.stale_days,
            apps,
            chosen,
            [],
            frozenset(done),
        )
        # Every rule reads the applications loaded here, not the database again.
        p.offers.extend(o for o in open_offers_of(apps) if p.live(o.application))
        return p

    @property
    def session(self) -> Session:
        return self.writer.session

    @property
    def content(self) -> Content:
        return self.writer.content

    @property
    def member_id(self) -> int:
        return self.writer.member.id

    @property
    def now(self) -> datetime:
        return self.writer.now

    @property
    def tz(self) -> ZoneInfo:
        return self.writer.tz

    @property
    def timed(self) -> list[Offer]:
        """Open offers whose deadline is still ahead."""
        return [o for o in self.offers if o.deadline and o.deadline > self.now]

    def live(self, a: Application) -> bool:
        """Still worth nudging about: open, and (once an offer is accepted) reopened after."""
        return a.stage in ACTIVE_STAGES and (
            self.chosen is None or a.stage_changed_at > self.chosen.stage_changed_at
        )

    def letter(
        self,
        letter: str,
        app: Application,
        kind: str,
        subject: str,
        intro: str,
        extra: tuple[Button, ...] = (),
        offer_app: Application | None = None,
        variant: str | None = None,
    ) -> Callable[[datetime], Reply]:
        """A nudge that carries a ready-to-send letter. The letter costs queries, so it is
        written only when the nudge is queued; the intro is plain text, made at once."""

        def make(at: datetime) -> Reply:
            reply = letter_reply(self.writer, letter, variant, app, offer_app)
            return replace(
                reply,
                text=f"{intro}\n\n{reply.text}",
                buttons=nudge_buttons(kind, subject, extra or reply.buttons),
                footer=FOOTER,
            )

        return make


# -- the registry ----------------------------------------------------------------------------

RuleFn = Callable[[Pipeline], Iterable[Nudge]]
# (now, stale days) -> the ids of members the rule could fire for now: a set-based, indexed
# query, so that a run costs nothing for members with nothing going on.
Candidates = Callable[[datetime, int], Select[int]]
# (session, env, after) -> the instants after `after` the rule counts from, over all members
# (early is harmless, late is not). Read at every wake-up of the nudge job: a query should
# bring back only what lies ahead (`first_after`), not every row there ever was.
Instants = Callable[[Session, JobEnv, datetime], Iterable[datetime]]
# (a snoozed nudge, every nudge the member's rules call for, now): True when a later nudge of
# the same rule says it better, so the snoozed one is not brought back.
Superseded = Callable[[Nudge, list[Nudge], datetime], bool]


@dataclass(frozen=True)
class Rule:
    kind: str
    label: str  # what "Stop these" stops: "no more <label>"
    fn: RuleFn
    candidates: Candidates
    instants: Instants
    superseded: Superseded | None = None


_RULES: dict[str, Rule] = {}


def rule(
    kind: str,
    label: str,
    *,
    candidates: Candidates,
    instants: Instants,
    superseded: Superseded | None = None,
) -> Callable[[RuleFn], RuleFn]:
    """Register a nudge rule of `kind` (the outbox kind of its DMs and the kind its buttons
    name; bot/features/pipeline/queries.py's NUDGE_KINDS must list it, for cancelling)."""

    def register(fn: RuleFn) -> RuleFn:
        _RULES[kind] = Rule(kind, label, fn, candidates, instants, superseded)
        return fn

    return register


def registered() -> list[Rule]:
    """Every rule, in the order of their kinds: one member's nudges of one run go out in the
    same order, whatever order the rule modules were imported in."""
    return [_RULES[k] for k in sorted(_RULES)]


def rule_of(kind: str) -> Rule | None:
    return _RULES.get(canonical(kind, "")[0])


# -- the job ---------------------------------------------------------------------------------


def candidates(session: Session, now: datetime, stale_days: int) -> list[int]:
    """Members with something in their pipeline that a rule could fire on, or a snooze that
    ended: a few indexed, set-based queries instead of one pass per member."""
    ids: set[int] = set()
    # Rules that share a query (the offer rules) run it once.
    for query in dict.fromkeys(r.candidates for r in registered()):
        ids.update(session.scalars(query(now, stale_days)))
    ids.update(
        session.scalars(
            select(NudgeState.member_id).where(
                NudgeState.snoozed_until.is_not(None), NudgeState.snoozed_until <= now
            )
        )
    )
    return sorted(ids)


@dataclass(frozen=True)
class _Due:
    member: Member
    user: User
    tz: ZoneInfo
    nudge: Nudge
    key: str


@job("nudges", every=timedelta(minutes=15))
def nudges(now: datetime, session: Session, env: JobEnv) -> list[Scheduled]:
    ids = candidates(session, now, env.settings.stale_days)
    if not ids:
        return []
    stops = _stops(session, ids)
    done, snoozed = _states(session, ids)
    # Every member's due nudges first, then one query for which are already queued.
    due: list[_Due] = []
    reachable = list(_reachable(session, ids))
    apps = applications_of(session, [member.id for member, _ in reachable])
    for member, user in reachable:
        p = Pipeline.load(session, env, member, now, apps[member.id], done.get(member.id, ()))
        due.extend(_due(p, user, stops, snoozed.get(member.id, {})))
    _settle_snoozes(session, snoozed, now)
    return _scheduled(session, due, now)


def _stops(session: Session, ids: list[int]) -> set[tuple[int, str]]:
    """(member, kind) of every kind a member asked to stop."""
    return {
        (m, canonical(k, "")[0])
        for m, k in rows_among(
            session, select(NudgeStop.member_id, NudgeStop.kind), NudgeStop.member_id, ids
        )
    }


def _states(
    session: Session, ids: list[int]
) -> tuple[dict[int, set[tuple[str, str]]], dict[int, dict[tuple[str, str], datetime]]]:
    """Per member: the (kind, subject) marked done, and those snoozed with until when."""
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
    return done, snoozed


def _reachable(session: Session, ids: list[int]) -> Iterator[tuple[Member, User]]:
    """The members among `ids` who accept DMs, each with the user to DM."""
    for member, platform, external in rows_among(
        session,
        select(Member, Workspace.platform, Workspace.external_id)
        .join(Workspace, Workspace.id == Member.workspace_id)
        .where(Member.undeliverable.is_(False)),
        Member.id,
        ids,
    ):
        yield member, User(platform, external, member.platform_user_id, member.display_name)


def _due(
    p: Pipeline,
    user: User,
    stops: set[tuple[int, str]],
    held: dict[tuple[str, str], datetime],
) -> Iterator[_Due]:
    """The member's nudges due now: what the rules call for, less what the member stopped or
    marked done, with snoozes that ended brought back."""
    member, now = p.writer.member, p.now
    wanted = [
        n
        for r in registered()
        for n in r.fn(p)
        if (member.id, n.kind) not in stops and (n.kind, n.subject) not in p.done
    ]
    for n in wanted:
        back = held.get((n.kind, n.subject))
        if back is None:
            due = n if n.fire_at <= now < n.useful_until else None
        else:
            due = _back_from_snooze(n, back, wanted, p)
        if due is not None:
            key = make_key(f"m{member.id}", due.kind, due.subject, due.local_date)
            yield _Due(member, user, p.tz, due, key)


def _back_from_snooze(n: Nudge, back: datetime, wanted: list[Nudge], p: Pipeline) -> Nudge | None:
    """A snoozed nudge comes back when the snooze ends, once, made for then, and only if its
    rule still calls for it (process open, no later nudge superseding it)."""
    now, tz = p.now, p.tz
    rule_ = _RULES.get(n.kind)
    if back > now or (rule_ and rule_.superseded and rule_.superseded(n, wanted, now)):
        return None
    return replace(
        n,
        subject=f"{n.subject}-{SNOOZED}",
        local_date=sensible(now, tz).astimezone(tz).date(),
        useful_until=max(n.useful_until, back + timedelta(days=1)),
    )


def _settle_snoozes(
    session: Session, snoozed: dict[int, dict[tuple[str, str], datetime]], now: datetime
) -> None:
    """Snoozes that ended are settled now: brought back by this run, or no longer called for."""
    ended = sorted({m for m, held in snoozed.items() for t in held.values() if t <= now})
    for where, params in among(session, NudgeState.member_id, ended):
        session.execute(
            update(NudgeState)
            .where(where, NudgeState.snoozed_until.is_not(None), NudgeState.snoozed_until <= now)
            .values(snoozed_until=None)
            .execution_options(synchronize_session=False),
            params,
        )


def _scheduled(session: Session, due: list[_Due], now: datetime) -> list[Scheduled]:
    """The DMs of the due nudges not queued yet, each in the member's waking hours and only
    while still useful, made for the time they will be sent."""
    already = queued_keys(session, [d.key for d in due])
    out: list[Scheduled] = []
    for d in due:
        n, at = d.nudge, sensible(now, d.tz)
        if d.key in already or at >= n.useful_until:
            continue
        reply = n.make(at)
        if reply is None:
            continue
        out.append(
            Scheduled(
                Outbound(DM(d.user), reply),
                workspace_id=d.member.workspace_id,
                kind=n.kind,
                subject=n.subject,
                local_date=n.local_date,
                due_at=at,
                member_id=d.member.id,
                expires_at=n.useful_until,
            )
        )
    return out


@wakes("nudges")
def next_nudge(after: datetime, session: Session, env: JobEnv) -> datetime | None:
    """The first instant after `after` at which a rule could fire (each rule names the
    instants it counts from) or a snooze ends. Early is harmless, late is not."""
    instants: list[datetime] = []
    for fn in dict.fromkeys(r.instants for r in registered()):
        instants.extend(fn(session, env, after))
    instants += first_after(session, NudgeState.snoozed_until, after)
    return min((t for t in instants if t > after), default=None)


def first_after(
    session: Session,
    column: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None],
    after: datetime,
    offset: timedelta = timedelta(0),
) -> list[datetime]:
    """The earliest `column + offset` past `after`, over all rows (none: an empty list)."""
    stmt = _FIRST_AFTER.get(column)
    if stmt is None:
        # Built once per column: this runs at every wake-up, for every rule, and building a
        # statement costs more than running this one.
        stmt = _FIRST_AFTER[column] = select(func.min(column)).where(
            column > bindparam("since", type_=column.type)
        )
    first = session.scalar(stmt, {"since": after - offset})
    return [] if first is None else [first + offset]


_FIRST_AFTER: dict[Any, Select[datetime | None]] = {}


# -- shared by the offer rules ---------------------------------------------------------------

RECENT = timedelta(days=8)  # how far back a rule looks for an offer or an acceptance


def offers_in_play(now: datetime, stale_days: int) -> Select[int]:
    """Members with an offer received lately or a deadline ahead."""
    return select(Offer.member_id).where(
        or_(Offer.received_at >= now - RECENT, Offer.deadline >= now)
    )


def offer_received(session: Session, env: JobEnv, after: datetime) -> Iterable[datetime]:
    return first_after(session, Offer.received_at, after)
