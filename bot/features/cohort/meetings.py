"""Mock pairs that meet. Each pair's room carries "We met" and "We couldn't" buttons; what
they record is stored per member in `mock_meetings`, which the organizer's digest counts. A
reminder goes mid-week to pairs that pressed neither, and a member whose last two rounds did
not meet is asked, at the end of the second, whether to pause pairing.

The room is the neutral `Room` target (bot/rooms.py): a Slack group DM, a Discord private
thread, and each member's DM where the platform has no room (the console). Whatever the pair
is told together goes through `room_messages`, with one text for the whole pair."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.cohorts import CohortInfo, all_cohorts, local_at, waking, waking_all, week_start
from bot.dates import fmt_date
from bot.db.bulk import rows_among
from bot.db.models import Member, MemberSettings
from bot.db.schedule_models import MockMeeting, MockOptIn, MockPair
from bot.errors import NotAllowed, UserError
from bot.features.cohort.pairing import PAIR_TIME, check_in_buttons, members_of_pair
from bot.jobs import SOON, JobEnv, job, wakes
from bot.outbox import Scheduled, queued_keys
from bot.rooms import has_rooms, pair_room
from bot.router import Ctx, action
from bot.text import as_id
from bot.types import DM, Button, Outbound, Reply, User

REMIND_DAY = 2  # Wednesday: half the week left to meet
REMIND_TIME = time(12, 0)
REMIND_USEFUL = timedelta(days=2)
ASK_DAY = 6  # Sunday, the round's last day: answered before Monday's pairing
ASK_TIME = time(17, 0)
MISSES_TO_ASK = 2
LOOKBACK_WEEKS = 12  # rounds read to count a run of misses (asked again every two)


@dataclass(frozen=True)
class RoomMember:
    member_id: int
    user: User
    tz: ZoneInfo


@dataclass(frozen=True)
class PairRoom:
    """One pair (or trio), and who is in its room."""

    pair_id: int
    week: date
    members: tuple[RoomMember, ...]

    def names(self) -> str:
        names = [m.user.display_name for m in self.members]
        return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]


def rooms_of(session: Session, c: CohortInfo, pairs: list[MockPair]) -> list[PairRoom]:
    """The rooms of these pairs: one query for everyone in them."""
    everyone = [mid for p in pairs for mid in members_of_pair(p)]
    if not everyone:
        return []
    stmt = select(
        Member.id, Member.platform_user_id, Member.display_name, MemberSettings.timezone
    ).join(MemberSettings, MemberSettings.member_id == Member.id)
    info = {r.id: r for r in rows_among(session, stmt, Member.id, everyone)}
    rooms: list[PairRoom] = []
    for p in pairs:
        members = tuple(
            RoomMember(
                mid,
                User(c.platform, c.workspace_external_id, r.platform_user_id, r.display_name),
                ZoneInfo(r.timezone),
            )
            for mid in members_of_pair(p)
            if (r := info.get(mid)) is not None
        )
        if members:
            rooms.append(PairRoom(p.id, p.week_start, members))
    return rooms


def room_messages(
    c: CohortInfo,
    room: PairRoom,
    reply: Reply,
    *,
    kind: str,
    at: datetime,
    expires_at: datetime,
) -> list[Scheduled]:
    """One message to the pair's room, once for the pair; where the platform has no room, a
    copy in each member's DM, in their own waking hours, each deduplicated per member."""
    if has_rooms(c.platform):
        target = pair_room(c, room.pair_id, room.week, [m.user for m in room.members])
        return [
            Scheduled(
                Outbound(target, reply),
                workspace_id=c.workspace_id,
                kind=kind,
                subject=target.key,
                local_date=room.week,
                due_at=waking_all(at, [m.tz for m in room.members]),
                expires_at=expires_at,
                target_key=f"p{room.pair_id}",
            )
        ]
    return [
        Scheduled(
            Outbound(DM(m.user), reply),
            workspace_id=c.workspace_id,
            kind=kind,
            subject=f"pair-{room.pair_id}",
            local_date=room.week,
            due_at=waking(at, m.tz),
            member_id=m.member_id,
            expires_at=expires_at,
        )
        for m in room.members
    ]


# -- the buttons ---------------------------------------------------------------------------


@action("mock.met")
def met_button(ctx: Ctx, value: str) -> Reply:
    return check_in(ctx, value, "met")


@action("mock.missed")
def missed_button(ctx: Ctx, value: str) -> Reply:
    return check_in(ctx, value, "not_met")


def check_in(ctx: Ctx, value: str, outcome: str) -> Reply:
    """Record what the pair says. "We" speaks for the partners who have not said otherwise
    themselves, so that one press in a shared room counts the pair; a member's own press
    always wins over a partner's."""
    pair_id = as_id(value)
    pair = ctx.session.get(MockPair, pair_id) if pair_id is not None else None
    if pair is None:
        raise UserError("That mock pairing no longer exists, so there is nothing to record.")
    group = members_of_pair(pair)
    if ctx.member.id not in group:
        raise NotAllowed("That check-in belongs to another pair.")
    rows = {
        r.member_id: r
        for r in ctx.session.scalars(select(MockMeeting).where(MockMeeting.pair_id == pair.id))
    }
    for mid in group:
        own = mid == ctx.member.id
        row = rows.get(mid)
        if row is not None and row.own and not own:
            continue
        if row is None:
            row = MockMeeting(
                pair_id=pair.id,
                cohort_id=pair.cohort_id,
                week_start=pair.week_start,
                member_id=mid,
            )
            ctx.session.add(row)
        row.outcome, row.own, row.recorded_at = outcome, own, ctx.now
    others = [
        m.display_name
        for m in ctx.session.scalars(
            select(Member).where(Member.id.in_([x for x in group if x != ctx.member.id]))
        )
    ]
    partners = " and ".join(sorted(others)) or "your partner"
    week = fmt_date(pair.week_start)
    if outcome == "met":
        return Reply(
            f"Noted: you and {partners} met for the week of {week}. Well done. Your organizers "
            "see that you met, never what was said."
        )
    return Reply(
        f"Noted: you and {partners} couldn't meet for the week of {week}. That happens; "
        "Monday brings a new pairing, and /mock leave pauses it if now is a bad time."
    )


@action("mock.pause")
def pause_button(ctx: Ctx, value: str) -> Reply:
    ctx.session.execute(delete(MockOptIn).where(MockOptIn.member_id == ctx.member.id))
    return Reply("Paused: you won't be paired from next Monday on. /mock join brings you back.")


@action("mock.keep")
def keep_button(ctx: Ctx, value: str) -> Reply:
    return Reply("You stay in the pairing: Monday brings a new partner.")


# -- what the pairs are sent ----------------------------------------------------------------


def _pairs(session: Session, cohort_id: int, first: date, last: date) -> list[MockPair]:
    return list(
        session.scalars(
            select(MockPair)
            .where(
                MockPair.cohort_id == cohort_id,
                MockPair.week_start >= first,
                MockPair.week_start <= last,
            )
            .order_by(MockPair.id)
        )
    )


def _reminders(session: Session, c: CohortInfo, week: date, now: datetime) -> list[Scheduled]:
    at = local_at(week + timedelta(days=REMIND_DAY), REMIND_TIME, c.tz)
    if not (at <= now < at + REMIND_USEFUL):
        return []
    pairs = _pairs(session, c.id, week, week)
    if not pairs:
        return []
    answered = set(
        session.scalars(
            select(MockMeeting.pair_id).where(MockMeeting.pair_id.in_([p.id for p in pairs]))
        )
    )
    quiet = [p for p in pairs if p.id not in answered]
    out: list[Scheduled] = []
    for room in rooms_of(session, c, quiet):
        reply = Reply(
            f"{room.names()}: have you had your mock interview this week? There are a few days "
            "left to find 45 minutes. Press a button once you know.",
            title=f"Your mock interview of the week of {fmt_date(week)}: did you meet?",
            buttons=check_in_buttons(room.pair_id),
        )
        out += room_messages(
            c,
            room,
            reply,
            kind="mock-checkin",
            at=at,
            expires_at=local_at(week + timedelta(days=7), PAIR_TIME, c.tz),
        )
    return out


def missed_in_a_row(
    rounds: list[tuple[date, int]], said: dict[tuple[int, int], str], member_id: int
) -> int:
    """How many of the member's latest rounds (week, pair id), newest first, did not meet:
    they said they couldn't, or nobody in the pair said anything."""
    n = 0
    for _week, pair_id in rounds:
        if said.get((pair_id, member_id)) == "met":
            break
        n += 1
    return n


def _pause_questions(session: Session, c: CohortInfo, week: date, now: datetime) -> list[Scheduled]:
    at = local_at(week + timedelta(days=ASK_DAY), ASK_TIME, c.tz)
    end = local_at(week + timedelta(days=7), PAIR_TIME, c.tz)
    if not (at <= now < end):
        return []
    pairs = _pairs(session, c.id, week - timedelta(weeks=LOOKBACK_WEEKS), week)
    if not any(p.week_start == week for p in pairs):
        return []
    opted = set(
        session.scalars(
            select(MockOptIn.member_id)
            .join(Member, Member.id == MockOptIn.member_id)
            .where(Member.cohort_id == c.id, Member.undeliverable.is_(False))
        )
    )
    rounds: dict[int, list[tuple[date, int]]] = {}
    for p in pairs:
        for mid in members_of_pair(p):
            if mid in opted:
                rounds.setdefault(mid, []).append((p.week_start, p.id))
    said: dict[tuple[int, int], str] = {
        (pid, mid): outcome
        for pid, mid, outcome in session.execute(
            select(MockMeeting.pair_id, MockMeeting.member_id, MockMeeting.outcome).where(
                MockMeeting.cohort_id == c.id,
                MockMeeting.week_start >= week - timedelta(weeks=LOOKBACK_WEEKS),
            )
        ).all()
    }
    ask: dict[int, int] = {}
    for mid, theirs in rounds.items():
        theirs.sort(reverse=True)
        if theirs[0][0] != week:
            continue  # not paired this week: nothing has just been missed
        n = missed_in_a_row(theirs, said, mid)
        if n >= MISSES_TO_ASK and n % MISSES_TO_ASK == 0:
            ask[mid] = n
    if not ask:
        return []
    stmt = select(
        Member.id, Member.platform_user_id, Member.display_name, MemberSettings.timezone
    ).join(MemberSettings, MemberSettings.member_id == Member.id)
    out: list[Scheduled] = []
    for r in rows_among(session, stmt, Member.id, sorted(ask)):
        user = User(c.platform, c.workspace_external_id, r.platform_user_id, r.display_name)
        reply = Reply(
            f'Your last {ask[r.id]} mock pairings did not meet, or nobody pressed "We met". '
            "Would you like to pause pairing for now? Your partners then get someone who can "
            "make it, and /mock join brings you back any time.",
            title="Pause mock pairing for now?",
            buttons=(
                Button("mock.pause", "", "Pause pairing", "primary"),
                Button("mock.keep", "", "Keep me in"),
            ),
        )
        out.append(
            Scheduled(
                Outbound(DM(user), reply),
                workspace_id=c.workspace_id,
                kind="mock-pause",
                subject=f"week-{week.isoformat()}",
                local_date=week,
                due_at=waking(at, ZoneInfo(r.timezone)),
                member_id=r.id,
                expires_at=end + timedelta(days=2),
            )
        )
    return out


def _due(session: Session, c: CohortInfo, now: datetime) -> list[Scheduled]:
    week = week_start(c.local_now(now).date())
    items = _reminders(session, c, week, now) + _pause_questions(session, c, week, now)
    if not items:
        return []
    queued = queued_keys(session, [s.dedupe_key for s in items])
    return [s for s in items if s.dedupe_key not in queued]


@job("mock-checkins", every=timedelta(minutes=15))
def mock_checkins(now: datetime, session: Session, env: JobEnv) -> list[Scheduled]:
    out: list[Scheduled] = []
    for c in all_cohorts(session):
        out += _due(session, c, now)
    return out


@wakes("mock-checkins")
def next_checkin(after: datetime, session: Session, env: JobEnv) -> datetime | None:
    """The next reminder or question instant of any cohort, or at once while a window is open
    and something in it is not queued yet (a pair made late, a member who missed a round)."""
    instants: list[datetime] = []
    for c in all_cohorts(session):
        # A cohort with no pair yet still wakes at its windows: a simulated clock asks this
        # only after each run, and the pairing job may make the pairs in between.
        if _due(session, c, after):
            instants.append(after + SOON)
            continue
        monday = week_start(c.local_now(after).date())
        for week in (monday, monday + timedelta(days=7)):
            for day, t in ((REMIND_DAY, REMIND_TIME), (ASK_DAY, ASK_TIME)):
                at = local_at(week + timedelta(days=day), t, c.tz)
                if at > after:
                    instants.append(at)
    return min(instants, default=None)


# -- what the organizer's digest reads --------------------------------------------------------


@dataclass(frozen=True)
class MeetingCounts:
    pairs: int  # pairs made in the weeks asked about
    met: int  # of them, pairs where someone pressed "We met" (and it was not taken back)
    not_met: int  # pairs that said they couldn't
    silent: int  # pairs that pressed neither


def meeting_counts(session: Session, cohort_id: int, first: date, last: date) -> MeetingCounts:
    """Mock pairs met over pairs made, for pairs of the weeks starting `first..last`."""
    made = (
        session.scalar(
            select(func.count())
            .select_from(MockPair)
            .where(
                MockPair.cohort_id == cohort_id,
                MockPair.week_start >= first,
                MockPair.week_start <= last,
            )
        )
        or 0
    )
    said: dict[int, set[str]] = {}
    for pid, outcome in session.execute(
        select(MockMeeting.pair_id, MockMeeting.outcome).where(
            MockMeeting.cohort_id == cohort_id,
            MockMeeting.week_start >= first,
            MockMeeting.week_start <= last,
        )
    ).all():
        said.setdefault(pid, set()).add(outcome)
    met = sum(1 for s in said.values() if "met" in s)
    return MeetingCounts(made, met, len(said) - met, made - len(said))
