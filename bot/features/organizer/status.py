"""Where each member of a cohort stands, read set-based: one grouped query per figure over the
whole cohort, never one per member, so a 10,000-member cohort costs a handful of round trips.

Consent is applied here, once: pipeline figures are read only for members who share (counts or
details), company names only for those who share details, and no column about pay is read."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Subquery,
    and_,
    case,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session

from bot.cohorts import CohortInfo, local_at
from bot.content import Content
from bot.dates import fmt_when
from bot.db.drill_models import Card, DailyDrill, PracticeState, Review
from bot.db.models import Member, MemberSettings
from bot.db.organizer_models import DEFAULT_SHARE, PipelineSharing
from bot.db.pipeline_models import Application, Interview, Offer, StageMove
from bot.db.schedule_models import MockMeeting, MockPair
from bot.db.session import is_postgres
from bot.features.cohort.meetings import MeetingCounts, meeting_counts
from bot.features.cohort.plan import DatedStage, dated_plan
from bot.features.drills.feedback import structure_check
from bot.features.drills.practice import StreakOf, alive_streaks
from bot.text import clip

Group = Literal["attention", "on-track", "inactive"]
GROUPS: tuple[Group, ...] = ("attention", "on-track", "inactive")
GROUP_TITLES = {"attention": "Needs attention", "on-track": "On track", "inactive": "Inactive"}

QUIET_DAYS = 7  # no drill in this many days needs attention
STALE_DAYS = 14  # no application moved in this many days, while the plan is on applications
OFFER_HOURS = 72  # an offer deadline this close, with no decision logged
# The plan's stages during which applications should be moving (content/plan.yaml ids).
APPLYING_STAGES = frozenset({"applications", "mocks", "arranging", "company-prep", "interviews"})
# The funnel: how far each application got, counting any stage it ever reached.
FUNNEL: tuple[str, ...] = ("applied", "screen", "interview", "onsite", "offer", "accepted")
IN_PLAY = ("applied", "screen", "interview", "onsite")
# Written answers read for the framework parts most often missing: the newest this many of
# the week. Checking one costs about two milliseconds: a cohort of any size stays in budget.
ANSWERS_READ = 100
TREND_WEEKS = 4  # the engagement trend: the period and the three weeks before it
COMING_READ = 50  # dated events read for "coming up"; the digest shows fewer, and counts the rest


@dataclass(frozen=True)
class MemberWeek:
    id: int
    name: str
    platform_user_id: str
    share: str
    paused: bool
    unreachable: bool
    last_drill: date | None
    drills: int  # drills done in the period
    scheduled: int  # daily drills sent in the period
    answered: int  # of those, done
    streak: int
    overdue: int  # FSRS reviews due and not done
    reasons: tuple[str, ...]

    @property
    def group(self) -> Group:
        if self.reasons:
            return "attention"
        return "inactive" if self.paused or self.unreachable else "on-track"


@dataclass(frozen=True)
class Funnel:
    reached: dict[str, int]  # applications that ever reached each stage of FUNNEL
    moved: dict[str, int]  # moves into each stage during the period
    stale: int  # applications in play that have not moved in STALE_DAYS
    sharing: int  # members whose figures these are


@dataclass(frozen=True)
class Dated:
    member: str
    at: datetime
    what: str  # "onsite with Acme" (details) or "an interview" (counts)


@dataclass
class Snapshot:
    cohort: CohortInfo
    now: datetime
    first: date  # the period, in local days, first and last included
    last: date
    members: list[MemberWeek]
    weekly_rate: list[tuple[date, int, int]] = field(default_factory=list)  # (monday, done, sent)
    per_day: list[tuple[date, int]] = field(default_factory=list)  # drills, last 28 days
    hard_total: int = 0  # Again and Hard ratings in the period
    hard_tracks: list[tuple[str, int]] = field(default_factory=list)
    hard_drills: list[tuple[str, int]] = field(default_factory=list)
    missing_parts: list[tuple[str, int]] = field(default_factory=list)
    answers_read: int = 0
    funnel: Funnel | None = None
    mock: MeetingCounts | None = None  # pairs whose week ended in the period
    coming: list[Dated] = field(default_factory=list)  # the soonest COMING_READ
    coming_total: int = 0  # how many there are in all
    next_stage: DatedStage | None = None
    stage_now: DatedStage | None = None

    _groups: dict[Group, list[MemberWeek]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def group(self, g: Group) -> list[MemberWeek]:
        # Asked for several times per view (a count, a page, a header): sorted out once.
        if self._groups is None:
            self._groups = {x: [] for x in GROUPS}
            for m in self.members:
                self._groups[m.group].append(m)
        return self._groups[g]


def sent_drills(cohort_id: int, since: date, until: date, now: datetime) -> Subquery:
    """The daily drills scheduled for the cohort's members (drill_daily: one per member and
    local day) from local day `since` on and due by `now`, one row each (mid, day, due,
    done): done when the member drilled on that day (its drill or another: practising
    something else that day is not ignoring the bot). An equality join to the days each
    member drilled, which both databases answer set-based (a hash join, or an index SQLite
    builds on the grouped days), reading drill_daily by its (member, day) key."""
    days = (
        select(Review.member_id.label("m"), Review.local_date.label("d"))
        .join(Member, Member.id == Review.member_id)
        .where(
            _cohort_members(cohort_id),
            Review.local_date >= since,
            Review.local_date <= until,
        )
        .group_by(Review.member_id, Review.local_date)
        .subquery()
    )
    return (
        select(
            DailyDrill.member_id.label("mid"),
            DailyDrill.local_date.label("day"),
            DailyDrill.due_at.label("due"),
            case((days.c.m.is_not(None), 1), else_=0).label("done"),
        )
        .join(Member, Member.id == DailyDrill.member_id)
        .outerjoin(days, and_(days.c.m == DailyDrill.member_id, days.c.d == DailyDrill.local_date))
        .where(
            _cohort_members(cohort_id),
            DailyDrill.local_date >= since,
            DailyDrill.local_date <= until,
            DailyDrill.due_at <= now,
        )
        .subquery()
    )


def _daily(
    session: Session, cid: int, first: date, last: date, now: datetime, weeks: int
) -> tuple[dict[int, tuple[int, int]], list[tuple[date, int, int]], set[int]]:
    """From one read of the daily drills, grouped per member in the members' own order:
    each member's (sent, done) over the period `first..last`; the cohort's (monday, done,
    sent) for each of `weeks` weeks ending with the period; and the members whose last two
    daily drills, of days already over, were both left undone (two or more drills scheduled
    after the last day they drilled, in the last 30 days).

    A drill is done when the member drilled on its day (its drill or another: practising
    something else that day is not ignoring the bot), looked up in the reviews' (member,
    day) index for the rows of a week only. That probe per daily drill is cheaper on both
    databases than grouping every review of four weeks by day to join them, and the rows
    come in member order, so grouping needs no sort."""
    # Each week's first and last day; the last week is the period itself.
    starts = [first - timedelta(days=7 * (weeks - 1 - w)) for w in range(weeks)]
    bounds = [(lo, lo + timedelta(days=6)) for lo in starts[:-1]] + [(first, last)]
    # A drill's day must be over (in any zone) before not answering it counts; its local day
    # is within a day of its UTC instant, which bounds the (member, day) key's range read.
    ignore_from, ignore_until = now - timedelta(days=30), now - timedelta(hours=24)
    ignore_day = (now - timedelta(days=31)).date()
    day, due = DailyDrill.local_date, DailyDrill.due_at
    drilled = case(
        (
            select(Review.id)
            .where(Review.member_id == DailyDrill.member_id, Review.local_date == day)
            .exists(),
            1,
        ),
        else_=0,
    )
    cols: list[Any] = []
    for lo, hi in bounds:
        within = and_(day >= lo, day <= hi)  # and due by now, as every row read is
        cols += [func.sum(case((within, 1), else_=0)), func.sum(case((within, drilled), else_=0))]
    active = PracticeState.last_active_date
    ignored = and_(
        due < ignore_until,
        due >= ignore_from,
        day >= ignore_day,
        or_(active.is_(None), day > active),
    )
    cols.append(func.sum(case((ignored, 1), else_=0)))
    rows = (
        _core(session)
        .execute(
            select(Member.id, *cols)
            .join(DailyDrill, DailyDrill.member_id == Member.id)
            .outerjoin(PracticeState, PracticeState.member_id == Member.id)
            .where(
                _cohort_members(cid),
                day >= min(bounds[0][0], ignore_day),
                or_(and_(day <= last, due <= now), and_(due < ignore_until, due >= ignore_from)),
            )
            .group_by(Member.id)
        )
        .all()
    )
    per_member: dict[int, tuple[int, int]] = {}
    totals = [[0, 0] for _ in bounds]
    unanswered: set[int] = set()
    for mid, *sums in rows:
        for w in range(weeks):
            totals[w][0] += int(sums[2 * w] or 0)
            totals[w][1] += int(sums[2 * w + 1] or 0)
        per_member[mid] = (int(sums[-3] or 0), int(sums[-2] or 0))
        if (sums[-1] or 0) >= 2:
            unanswered.add(mid)
    weekly = [(lo, done, n) for (lo, _), (n, done) in zip(bounds, totals, strict=True)]
    return per_member, weekly, unanswered


def _core(session: Session) -> Connection:
    """The session's connection, for reads of a row per member: Core rows skip the ORM's
    per-row loading work, a fifth of a 10,000-member snapshot. Pending changes are flushed
    first, as the session's own execute would."""
    session.flush()
    return session.connection()


def _cohort_members(cohort_id: int) -> ColumnElement[bool]:
    # Organizers are members too, but their own drills are not what the views are about.
    return and_(Member.cohort_id == cohort_id, Member.is_admin.is_(False))


def _in_cohort(stmt: S, member_col: Any, cohort_id: int) -> S:
    return stmt.join(Member, Member.id == member_col).where(_cohort_members(cohort_id))


S = TypeVar("S", bound="Select[*tuple[Any, ...]]")
_SHARE = func.coalesce(PipelineSharing.level, DEFAULT_SHARE)


def _shares(*levels: str) -> ColumnElement[bool]:
    """Consent is one of `levels` (missing consent is the default). Written without
    COALESCE: PostgreSQL cannot estimate how many rows pass a COALESCE, and at 1% (against
    two thirds) it read every move of a 10,000-member funnel by nested loop."""
    if DEFAULT_SHARE in levels:
        return or_(PipelineSharing.level.is_(None), PipelineSharing.level.in_(levels))
    return PipelineSharing.level.in_(levels)


def _sharing(stmt: S, member_col: Any, *levels: str) -> S:
    """Rows of members whose consent is one of `levels`."""
    return stmt.outerjoin(PipelineSharing, PipelineSharing.member_id == member_col).where(
        _shares(*levels)
    )


def _stage_rank(col: Any) -> Any:
    return case(*((col == s, i + 1) for i, s in enumerate(FUNNEL)), else_=0)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def snapshot(
    session: Session,
    c: CohortInfo,
    now: datetime,
    first: date,
    last: date,
    content: Content,
    *,
    full: bool = True,
) -> Snapshot:
    """The cohort over the local days `first..last`, as of `now`. `full=False` reads only what
    the live member list needs (statuses), not the digest's cohort-wide figures."""
    cid = c.id
    conn = _core(session)
    if is_postgres(conn):
        # These reads take tens of milliseconds each; PostgreSQL's JIT, which their row
        # estimates switch on, spends hundreds compiling them (800 ms for the daily drills'
        # read at 10,000 members). For the rest of this transaction only.
        conn.execute(text("SET LOCAL jit = off"))
    # A row per member, with the period's drill count and the reviews overdue counted in
    # the same statement: a key range per member in the indexes, no grouping and no sort.
    drills = (
        select(func.count())
        .where(Review.member_id == Member.id, Review.local_date >= first, Review.local_date <= last)
        .correlate(Member)
        .scalar_subquery()
    )
    overdue = (
        select(func.count())
        .select_from(Card)
        .where(Card.member_id == Member.id, Card.due_at <= now)
        .correlate(Member)
        .scalar_subquery()
    )
    rows = conn.execute(
        select(
            Member.id,
            Member.display_name,
            Member.platform_user_id,
            Member.undeliverable,
            Member.created_at,
            MemberSettings.timezone,
            MemberSettings.drill_days,
            MemberSettings.paused,
            MemberSettings.paused_until,
            _SHARE,
            PracticeState.streak,
            PracticeState.last_active_date,
            PracticeState.freezes,
            drills,
            overdue,
        )
        .join(MemberSettings, MemberSettings.member_id == Member.id)
        .outerjoin(PipelineSharing, PipelineSharing.member_id == Member.id)
        .outerjoin(PracticeState, PracticeState.member_id == Member.id)
        .where(_cohort_members(cid))
    ).all()
    # The digest's four-week trend, each member's week and who left two drills unanswered
    # come from one read of the daily drills; the live list needs only the week.
    rate, weekly, ignored = _daily(session, cid, first, last, now, TREND_WEEKS if full else 1)
    unmet = _pairs_not_met(session, cid, first, last)
    offers = _offers_due(session, cid, now)
    stage_now = None
    if c.start_date is not None:
        today = c.local_now(now).date()
        stage_now = next(
            (s for s in dated_plan(content, c.start_date) if s.start <= today <= s.end), None
        )
    quiet = (
        _quiet_pipelines(session, cid, now)
        if stage_now is not None and stage_now.stage.id in APPLYING_STAGES
        else {}
    )
    # A cohort spans a handful of zones: each one's date once, not once per member.
    todays = {tz: now.astimezone(_zone(tz)).date() for tz in {r[5] for r in rows}}
    streaks = alive_streaks(
        session,
        cid,
        [
            StreakOf(mid, streak or 0, active, todays[tz], days, paused, until, freezes or 0)
            for mid, _, _, _, _, tz, days, paused, until, _, streak, active, freezes, _, _ in rows
        ],
    )
    quiet_since = {tz: day - timedelta(days=QUIET_DAYS) for tz, day in todays.items()}
    members: list[MemberWeek] = []
    for (
        mid,
        name,
        user_id,
        undeliverable,
        created_at,
        tz,
        _,
        paused,
        until,
        share,
        _,
        last_drill,
        _,
        drilled,
        due,
    ) in rows:
        today = todays[tz]
        resting = paused and (until is None or until >= today)
        reasons: list[str] = []
        if not resting and not undeliverable:
            if last_drill is None:
                if created_at.astimezone(_zone(tz)).date() <= quiet_since[tz]:
                    reasons.append(f"no drill yet, joined {QUIET_DAYS}+ days ago")
            elif last_drill <= quiet_since[tz]:
                reasons.append(f"no drill in {(today - last_drill).days} days")
            if mid in ignored:
                reasons.append("left the last two daily drills unanswered")
        if mid in unmet:
            reasons.append(unmet[mid])
        if mid in offers:
            company, deadline = offers[mid]
            when = fmt_when(deadline, c.tz)
            whose = f"{clip(company, 40)}'s offer" if share == "details" else "an offer"
            reasons.append(f"{whose} is due {when}, no decision logged")
        if mid in quiet:
            reasons.append(f"no application moved in {STALE_DAYS}+ days")
        n, a = rate.get(mid, (0, 0))
        members.append(
            MemberWeek(
                id=mid,
                name=name,
                platform_user_id=user_id,
                share=share,
                paused=bool(resting),
                unreachable=bool(undeliverable),
                last_drill=last_drill,
                drills=drilled or 0,
                scheduled=n,
                answered=a,
                streak=streaks.get(mid, 0),
                overdue=due or 0,
                reasons=tuple(reasons),
            )
        )
    rank = {g: i for i, g in enumerate(GROUPS)}
    members.sort(key=lambda m: (rank[m.group], -len(m.reasons), m.name.casefold()))
    snap = Snapshot(c, now, first, last, members, stage_now=stage_now)
    if full:
        _cohort_figures(session, snap, content, weekly)
    return snap


def _pairs_not_met(session: Session, cid: int, first: date, last: date) -> dict[int, str]:
    """Members of mock pairs whose week ended in the period and that did not meet: one said
    they couldn't, or nobody said anything. Two reads: the pairs, and their check-ins."""
    pairs = session.execute(
        select(MockPair.id, MockPair.member_a, MockPair.member_b, MockPair.member_c).where(
            MockPair.cohort_id == cid,
            MockPair.week_start >= first - timedelta(days=6),
            MockPair.week_start <= last - timedelta(days=6),
        )
    ).all()
    if not pairs:
        return {}
    said: dict[int, set[str]] = {}
    for pid, outcome in session.execute(
        select(MockMeeting.pair_id, MockMeeting.outcome).where(
            MockMeeting.cohort_id == cid,
            MockMeeting.week_start >= first - timedelta(days=6),
            MockMeeting.week_start <= last - timedelta(days=6),
        )
    ).all():
        said.setdefault(pid, set()).add(outcome)
    out: dict[int, str] = {}
    for pid, *who in pairs:
        told = said.get(pid, set())
        if "met" in told:
            continue
        why = "their mock pair couldn't meet" if told else "their mock pair did not say they met"
        for mid in who:
            if mid is not None:
                out[mid] = why
    return out


def _offers_due(session: Session, cid: int, now: datetime) -> dict[int, tuple[str, datetime]]:
    """Members sharing their pipeline with an offer whose deadline is within OFFER_HOURS and
    still at the offer stage (no accept or decline logged): the soonest, with its company."""
    stmt = _sharing(
        _in_cohort(
            select(Offer.member_id, Application.company, Offer.deadline).join(
                Application, Application.id == Offer.application_id
            ),
            Offer.member_id,
            cid,
        ),
        Offer.member_id,
        "counts",
        "details",
    ).where(
        Application.stage == "offer",
        Offer.deadline >= now,
        Offer.deadline <= now + timedelta(hours=OFFER_HOURS),
    )
    out: dict[int, tuple[str, datetime]] = {}
    for mid, company, deadline in session.execute(stmt.order_by(Offer.deadline)).all():
        if deadline is not None:  # the WHERE says so; the column type does not
            out.setdefault(mid, (company, deadline))
    return out


def _quiet_pipelines(session: Session, cid: int, now: datetime) -> set[int]:
    """Sharing members none of whose applications moved in STALE_DAYS (no application at all
    counts as not moving)."""
    stmt = (
        select(Member.id, func.max(Application.stage_changed_at))
        .select_from(Member)
        .outerjoin(Application, Application.member_id == Member.id)
        .outerjoin(PipelineSharing, PipelineSharing.member_id == Member.id)
        .where(_cohort_members(cid), _shares("counts", "details"))
        .group_by(Member.id)
    )
    cutoff = now - timedelta(days=STALE_DAYS)
    return {mid for mid, at in session.execute(stmt).all() if at is None or at < cutoff}


def _most(counts: Counter[str], n: int = 3) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def _cohort_figures(
    session: Session, snap: Snapshot, content: Content, weekly: list[tuple[date, int, int]]
) -> None:
    cid, first, last = snap.cohort.id, snap.first, snap.last
    start = first - timedelta(days=7 * (TREND_WEEKS - 1))
    # Drills per day over four weeks and the period's Again and Hard ratings (the weak spots,
    # by track and by drill) in one read of the reviews: a row per day, and per day of the
    # period a row per track and drill rated Again or Hard.
    hard = and_(Review.rating <= 2, Review.local_date >= first)
    track = case((hard, Review.track))
    drill = case((hard, Review.drill_id))
    per_day: Counter[date] = Counter()
    tracks: Counter[str] = Counter()
    drills: Counter[str] = Counter()
    for d, t, dr, n in session.execute(
        _in_cohort(select(Review.local_date, track, drill, func.count()), Review.member_id, cid)
        .where(Review.local_date >= start, Review.local_date <= last)
        .group_by(Review.local_date, track, drill)
    ).all():
        per_day[d] += int(n)
        if t is not None:
            tracks[t] += int(n)
            drills[dr] += int(n)
    snap.per_day = [
        (d, per_day[d]) for d in (start + timedelta(days=i) for i in range((last - start).days + 1))
    ]
    snap.weekly_rate = weekly
    snap.hard_total = sum(tracks.values())
    snap.hard_tracks = _most(tracks)
    snap.hard_drills = _most(drills)
    framed = [d.id for d in content.drills.values() if d.framework in content.frameworks]
    answers = (
        session.execute(
            _in_cohort(select(Review.drill_id, Review.answer), Review.member_id, cid)
            .where(
                Review.local_date >= first,
                Review.local_date <= last,
                Review.written.is_(True),
                Review.answer.is_not(None),
                Review.drill_id.in_(framed),
            )
            .order_by(Review.reviewed_at.desc())
            .limit(ANSWERS_READ)
        ).all()
        if framed
        else []
    )
    missing: Counter[str] = Counter()
    for drill_id, answer in answers:
        fw = content.frameworks[content.drills[drill_id].framework or ""]
        for part in structure_check(answer or "", fw):
            if not part.present:
                missing[f"{fw.name}: {part.name}"] += 1
    snap.answers_read = len(answers)
    snap.missing_parts = sorted(missing.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    snap.mock = meeting_counts(session, cid, first - timedelta(days=6), last - timedelta(days=6))
    snap.funnel = _funnel(session, cid, snap.cohort.tz, snap.now, first, last)
    snap.coming, snap.coming_total = _coming(session, cid, snap.now)
    if snap.cohort.start_date is not None:
        today = snap.cohort.local_now(snap.now).date()
        snap.next_stage = next(
            (s for s in dated_plan(content, snap.cohort.start_date) if s.start > today), None
        )


def _funnel(
    session: Session, cid: int, tz: ZoneInfo, now: datetime, first: date, last: date
) -> Funnel:
    """How far the sharing members' applications got (the furthest stage each ever reached),
    what moved in the period, and what is stale."""
    # Every application's first stage is a move too (from no stage), so the moves alone say
    # how far each got: the furthest per application (grouped by the members' key first, the
    # order SQLite reads members and then their moves' index in: no sort), then a count per
    # level.
    furthest = (
        _sharing(
            _in_cohort(
                select(func.max(_stage_rank(StageMove.to_stage)).label("r")),
                StageMove.member_id,
                cid,
            ),
            StageMove.member_id,
            "counts",
            "details",
        )
        .where(StageMove.to_stage.in_(FUNNEL))
        .group_by(Member.id, StageMove.application_id)
        .subquery()
    )
    levels = session.execute(
        select(*(func.sum(case((furthest.c.r >= i + 1, 1), else_=0)) for i in range(len(FUNNEL))))
    ).one()
    reached = {s: int(levels[i] or 0) for i, s in enumerate(FUNNEL)}
    # The period's moves, in the cohort's days; never past `now`.
    lo = local_at(first, "00:00", tz)
    hi = min(now, local_at(last + timedelta(days=1), "00:00", tz))
    moved: dict[str, int] = dict(
        session.execute(
            _sharing(
                _in_cohort(select(StageMove.to_stage, func.count()), StageMove.member_id, cid),
                StageMove.member_id,
                "counts",
                "details",
            )
            .where(StageMove.at >= lo, StageMove.at < hi, StageMove.from_stage.is_not(None))
            .group_by(StageMove.to_stage)
        ).all()
    )
    stale = session.scalar(
        _sharing(
            _in_cohort(select(func.count()), Application.member_id, cid).select_from(Application),
            Application.member_id,
            "counts",
            "details",
        ).where(
            Application.stage.in_(IN_PLAY),
            Application.stage_changed_at < now - timedelta(days=STALE_DAYS),
        )
    )
    sharing = session.scalar(
        select(func.count())
        .select_from(Member)
        .outerjoin(PipelineSharing, PipelineSharing.member_id == Member.id)
        .where(_cohort_members(cid), _shares("counts", "details"))
    )
    return Funnel(
        reached,
        {s: int(moved.get(s, 0)) for s in FUNNEL},
        int(stale or 0),
        int(sharing or 0),
    )


def _coming(session: Session, cid: int, now: datetime) -> tuple[list[Dated], int]:
    """Shared interviews and offer deadlines in the next seven days, the soonest COMING_READ
    of them and how many there are in all (a large cohort has thousands: the digest lists a
    dozen); company names only for members who share details."""
    until = now + timedelta(days=7)
    level = _SHARE.label("level")
    everyone = func.count().over().label("everyone")
    out: list[Dated] = []
    ivs = _sharing(
        _in_cohort(
            select(
                Member.display_name,
                level,
                Interview.at,
                Interview.kind,
                Application.company,
                everyone,
            )
            .select_from(Interview)
            .join(Application, Application.id == Interview.application_id),
            Interview.member_id,
            cid,
        ),
        Interview.member_id,
        "counts",
        "details",
    ).where(Interview.at >= now, Interview.at < until)
    total = 0
    for name, lv, at, kind, company, n in session.execute(
        ivs.order_by(Interview.at, Member.display_name).limit(COMING_READ)
    ).all():
        total = int(n)
        what = kind or "interview"
        out.append(
            Dated(
                name,
                at,
                f"{what} with {clip(company, 40)}"
                if lv == "details"
                else f"an {what}"
                if what[0] in "aeiou"
                else f"a {what}",
            )
        )
    dls = _sharing(
        _in_cohort(
            select(Member.display_name, level, Offer.deadline, Application.company, everyone)
            .select_from(Offer)
            .join(Application, Application.id == Offer.application_id),
            Offer.member_id,
            cid,
        ),
        Offer.member_id,
        "counts",
        "details",
    ).where(
        Application.stage == "offer",
        Offer.deadline >= now,
        Offer.deadline < until,
    )
    deadlines = 0
    for name, lv, deadline, company, n in session.execute(
        dls.order_by(Offer.deadline, Member.display_name).limit(COMING_READ)
    ).all():
        deadlines = int(n)
        if deadline is None:  # the WHERE says so; the column type does not
            continue
        out.append(
            Dated(
                name,
                deadline,
                f"answer {clip(company, 40)}'s offer" if lv == "details" else "an offer deadline",
            )
        )
    out.sort(key=lambda d: (d.at, d.member))
    return out[:COMING_READ], total + deadlines


__all__ = ["GROUPS", "MemberWeek", "Snapshot", "snapshot"]
