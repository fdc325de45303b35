"""Spaced repetition (FSRS), choosing the next drill, points and streaks.

`next_drills` is set-based: it answers for a whole cohort in a handful of queries, which is
what the daily drill DM needs; `/drill` calls it for one member."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import fsrs
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.content import TRACKS, Content, Drill
from bot.db.bulk import rows_among
from bot.db.drill_models import Card, DailyDrill, PracticeState, Review
from bot.db.models import MemberSettings
from bot.db.schedule_models import CohortOffday, OutboxMessage

# Minutes-long learning steps make no sense for a daily practice: one short step, so that
# "Again" comes back within the day and "Good" on a new drill schedules it days ahead.
SCHEDULER = fsrs.Scheduler(
    learning_steps=(timedelta(minutes=10),),
    relearning_steps=(timedelta(minutes=10),),
    enable_fuzzing=False,
)

RATINGS = {
    "again": fsrs.Rating.Again,
    "hard": fsrs.Rating.Hard,
    "good": fsrs.Rating.Good,
    "easy": fsrs.Rating.Easy,
}
RATING_LABELS = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}

POINTS_WRITTEN = 10
POINTS_CORRECT_BONUS = 5
POINTS_REVEALED = 3


@dataclass(frozen=True)
class Want:
    """One member asking for their next drill."""

    member_id: int
    tracks: tuple[str, ...]
    last_drill_id: str | None = None
    # How many drills were already offered by DM: unanswered ones are not "seen", so this
    # moves the choice of new drills along instead of offering the same one every day.
    offset: int = 0
    # Drills the daily DM sent lately, with when each arrived: one left unanswered since must
    # not come back day after day while it stays due, or the member is nagged with one prompt
    # for weeks. None: avoided even if answered (the latest DM, so no two days repeat).
    recent: tuple[tuple[str, datetime | None], ...] = ()


@dataclass(frozen=True)
class Pick:
    """A chosen drill, and whether it is a due review (titled so) rather than a new one."""

    drill: Drill
    due: bool


def practice_state(session: Session, member_id: int) -> PracticeState:
    state = session.get(PracticeState, member_id)
    if state is None:
        state = PracticeState(
            member_id=member_id,
            points=0,
            streak=0,
            best_streak=0,
            freezes=0,
            freeze_run=0,
            revealed=False,
            ask_seen=[],
        )
        session.add(state)
        session.flush()
    return state


def _spread(member_id: int, drill_id: str) -> str:
    """A stable per-member order, so that cohort members don't all get the same new drill."""
    return hashlib.blake2s(f"{member_id}:{drill_id}".encode(), digest_size=6).hexdigest()


_DIFFICULTY = {"easy": 0, "medium": 1, "hard": 2}


def next_drills(
    session: Session, wants: list[Want], now: datetime, content: Content
) -> dict[int, Drill]:
    """The next drill for each member: a due review first, then a new drill, never the same
    drill twice in a row. Three queries whatever the number of members."""
    return {mid: p.drill for mid, p in next_picks(session, wants, now, content).items()}


def next_picks(
    session: Session, wants: list[Want], now: datetime, content: Content
) -> dict[int, Pick]:
    """`next_drills`, saying for each pick whether it is a due review."""
    if not wants:
        return {}
    ids = [w.member_id for w in wants]
    due: dict[int, list[str]] = {}
    seen: dict[int, set[str]] = {}
    reviewed: dict[tuple[int, str], datetime | None] = {}
    cards = select(Card.member_id, Card.drill_id, Card.due_at <= now, Card.last_review_at).order_by(
        Card.member_id, Card.due_at
    )
    for mid, drill_id, is_due, last_review in rows_among(session, cards, Card.member_id, ids):
        seen.setdefault(mid, set()).add(drill_id)
        reviewed[(mid, drill_id)] = last_review
        if is_due:
            due.setdefault(mid, []).append(drill_id)
    reviews = select(Review.member_id, func.count()).group_by(Review.member_id)
    done = {mid: int(n) for mid, n in rows_among(session, reviews, Review.member_id, ids)}
    by_track: dict[str, list[Drill]] = {t: [] for t in TRACKS}
    for d in content.drills.values():
        by_track.setdefault(d.track, []).append(d)
    out: dict[int, Pick] = {}
    for w in wants:
        member_due = due.get(w.member_id, [])
        avoid = {w.last_drill_id} if w.last_drill_id else set()
        for drill_id, sent in w.recent:
            answered = reviewed.get((w.member_id, drill_id))
            if sent is None or answered is None or answered < sent:
                avoid.add(drill_id)
        pick = _pick(
            avoid,
            w,
            member_due,
            seen.get(w.member_id, set()),
            done.get(w.member_id, 0),
            by_track,
            content,
        )
        if pick is not None:
            out[w.member_id] = Pick(pick, pick.id in member_due)
    return out


def _pick(
    avoid: set[str],
    w: Want,
    due: list[str],
    seen: set[str],
    done: int,
    by_track: dict[str, list[Drill]],
    content: Content,
) -> Drill | None:
    tracks = set(w.tracks)
    for drill_id in due:
        d = content.drills.get(drill_id)
        if d and d.track in tracks and drill_id not in avoid:
            return d
    # New drills: rotate through the member's tracks, easier ones first within a track.
    open_tracks = [t for t in w.tracks if any(d.id not in seen for d in by_track.get(t, []))]
    if open_tracks:
        n = len(open_tracks)
        start = (done + w.offset) % n
        for t in open_tracks[start:] + open_tracks[:start]:
            fresh = [d for d in by_track[t] if d.id not in seen and d.id not in avoid]
            if fresh:
                fresh.sort(key=lambda d: (_DIFFICULTY[d.difficulty], _spread(w.member_id, d.id)))
                return fresh[(w.offset // n) % len(fresh)]
    # Everything seen and nothing due: the seen drill that comes due soonest.
    for drill_id in sorted(seen, key=lambda i: _spread(w.member_id, i)):
        d = content.drills.get(drill_id)
        if d and d.track in tracks and drill_id not in avoid:
            return d
    return None


def review(
    session: Session,
    member_id: int,
    drill: Drill,
    rating: int,
    now: datetime,
    tz: ZoneInfo,
    *,
    written: bool,
    correct: bool | None,
    answer: str | None,
    settings: MemberSettings | None = None,
    cohort_id: int | None = None,
) -> tuple[Review, PracticeState]:
    """Record one rated attempt: FSRS card update, a review row, points and the streak
    (counted on the member's drill days when `settings` is given)."""
    card = session.scalar(
        select(Card).where(Card.member_id == member_id, Card.drill_id == drill.id)
    )
    fcard = fsrs.Card.from_dict(card.fsrs) if card else fsrs.Card()  # type: ignore[arg-type]
    fcard, _log = SCHEDULER.review_card(fcard, fsrs.Rating(rating), review_datetime=now)
    if card is None:
        card = Card(member_id=member_id, drill_id=drill.id, track=drill.track, reps=0, lapses=0)
        session.add(card)
    if card.reps and rating == fsrs.Rating.Again:
        card.lapses += 1
    card.reps += 1
    card.due_at = fcard.due
    card.state = int(fcard.state)
    card.fsrs = dict(fcard.to_dict())
    card.last_review_at = now
    points = (
        (POINTS_WRITTEN + (POINTS_CORRECT_BONUS if correct else 0)) if written else POINTS_REVEALED
    )
    today = now.astimezone(tz).date()
    row = Review(
        member_id=member_id,
        drill_id=drill.id,
        track=drill.track,
        rating=rating,
        written=written,
        correct=correct,
        points=points,
        answer=answer,
        reviewed_at=now,
        local_date=today,
        due_after=fcard.due,
    )
    session.add(row)
    state = practice_state(session, member_id)
    state.points += points
    if settings is None:
        bump_streak(state, today)
    else:
        skip = streak_skips(session, cohort_id, settings, state.last_active_date, today)
        bump_streak(state, today, settings.drill_days, skip)
    state.current_drill_id = None
    state.pending_answer = None
    state.revealed = False
    state.correct = None
    state.last_drill_id = drill.id
    return row, state


DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EVERY_DAY = ",".join(DAY_KEYS)


def _weekdays(drill_days: str | Collection[str]) -> frozenset[int]:
    if isinstance(drill_days, str):
        return _weekdays_of(drill_days)
    # No valid day at all cannot be set through /settings; counting every day is the safe side.
    return frozenset(DAY_KEYS.index(k) for k in drill_days if k in DAY_KEYS) or frozenset(range(7))


@lru_cache(maxsize=256)
def _weekdays_of(drill_days: str) -> frozenset[int]:
    # A cohort's views decide thousands of streaks at once over a handful of distinct
    # settings: parsed once each, not once per member.
    return _weekdays(drill_days.split(","))


# A streak freeze: earned for every FREEZE_EVERY drill days in a row, at most FREEZE_CAP
# held; a drill day left without a drill spends one instead of ending the streak.
FREEZE_EVERY = 7
FREEZE_CAP = 2


@dataclass(frozen=True)
class Alive:
    """A streak as of a day: its length, the freezes still held, and how many missed drill
    days freezes covered since the last drill (0: nothing missed)."""

    streak: int
    freezes: int
    frozen: int = 0


def _missed(
    last: date, today: date, weekdays: frozenset[int], skip: Collection[date], limit: int = 0
) -> int:
    """Drill days strictly between `last` and `today` left without a drill, counted up to
    `limit + 1`: the scan stops there, so it stays short whatever the gap (a few weeks past
    the skipped days at most, since a member holds at most FREEZE_CAP freezes)."""
    n = 0
    day = last + timedelta(days=1)
    while day < today:
        if day.weekday() in weekdays and day not in skip:
            n += 1
            if n > limit:
                break
        day += timedelta(days=1)
    return n


def streak_state(
    streak: int,
    last_active_date: date | None,
    today: date,
    drill_days: str | Collection[str] = EVERY_DAY,
    skip: Collection[date] = (),
    freezes: int = 0,
) -> Alive:
    """The streak and freezes as of `today`. Each missed drill day spends a freeze; one
    missed day more than the freezes held ends the streak, and spends them all (they were
    used on the days before). Local dates only: a DST change moves no day."""
    if last_active_date is None:
        return Alive(0, 0)
    if last_active_date >= today:
        return Alive(streak, freezes)
    missed = _missed(last_active_date, today, _weekdays(drill_days), skip, freezes)
    if missed > freezes:
        return Alive(0, 0, freezes)
    return Alive(streak, freezes - missed, missed)


def streak_alive(
    streak: int,
    last_active_date: date | None,
    today: date,
    drill_days: str | Collection[str] = EVERY_DAY,
    skip: Collection[date] = (),
    freezes: int = 0,
) -> int:
    """The streak still alive today. A streak counts the member's own drill days: a day
    that is not one of `drill_days` ("mon,tue,...", as stored in settings), or is in `skip`
    (cohort off days, paused days), does not break it; today is not over, so it does not
    either; a missed day covered by a freeze does not either."""
    return streak_state(streak, last_active_date, today, drill_days, skip, freezes).streak


def pause_skips(
    paused: bool, paused_until: date | None, last: date | None, today: date
) -> frozenset[date]:
    """Days after `last` and before `today` that a pause covers, so they don't break a streak.
    When a pause began is not stored: the days since the last drill up to `paused_until`
    (the last paused day) are taken as paused, erring on the member's side."""
    if not paused or last is None:
        return frozenset()
    end = today if paused_until is None else min(today, paused_until + timedelta(days=1))
    return frozenset(last + timedelta(days=i) for i in range(1, (end - last).days))


def streak_skips(
    session: Session,
    cohort_id: int | None,
    settings: MemberSettings,
    last: date | None,
    today: date,
) -> frozenset[date]:
    """The cohort's off days and the member's paused days since their last drill."""
    if last is None or last >= today - timedelta(days=1):
        return frozenset()  # no day in between: nothing to skip, no query
    days = set(pause_skips(settings.paused, settings.paused_until, last, today))
    if cohort_id is not None:
        days.update(
            session.scalars(
                select(CohortOffday.day).where(
                    CohortOffday.cohort_id == cohort_id,
                    CohortOffday.day > last,
                    CohortOffday.day < today,
                )
            )
        )
    return frozenset(days)


@dataclass(frozen=True)
class StreakOf:
    """What deciding one member's live streak needs, read in bulk by the cohort's views."""

    member_id: int
    streak: int
    last: date | None
    today: date  # in the member's own zone
    drill_days: str
    paused: bool
    paused_until: date | None
    freezes: int | None = None  # held as of `last`; None: read from the practice state


def alive_streaks(
    session: Session, cohort_id: int | None, members: Sequence[StreakOf]
) -> dict[int, int]:
    """`streak_alive` for a whole cohort: one query for its off days, whatever its size."""
    return {mid: a.streak for mid, a in alive_states(session, cohort_id, members).items()}


def alive_states(
    session: Session, cohort_id: int | None, members: Sequence[StreakOf]
) -> dict[int, Alive]:
    """`streak_state` for a whole cohort: one query for its off days, and one for the
    freezes held by members whose caller did not read them."""
    unread = [m.member_id for m in members if m.freezes is None and m.last is not None]
    held: dict[int, int] = {}
    if unread:
        stmt = select(PracticeState.member_id, PracticeState.freezes)
        held = {
            mid: int(n) for mid, n in rows_among(session, stmt, PracticeState.member_id, unread)
        }
    lasts = [m.last for m in members if m.last is not None]
    off: frozenset[date] = frozenset()
    if cohort_id is not None and lasts:
        off = frozenset(
            session.scalars(
                select(CohortOffday.day).where(
                    CohortOffday.cohort_id == cohort_id,
                    CohortOffday.day > min(lasts),
                    CohortOffday.day < max(m.today for m in members),
                )
            )
        )
    return {
        m.member_id: streak_state(
            m.streak,
            m.last,
            m.today,
            m.drill_days,
            off | pause_skips(m.paused, m.paused_until, m.last, m.today),
            m.freezes if m.freezes is not None else held.get(m.member_id, 0),
        )
        for m in members
    }


def bump_streak(
    state: PracticeState,
    today: date,
    drill_days: str | Collection[str] = EVERY_DAY,
    skip: Collection[date] = (),
) -> None:
    """A day counts when at least one drill is done on it, in the member's own calendar;
    the days between it and the last one only break the streak if a drill day was missed
    and no freeze covered it. Every FREEZE_EVERY drill days in a row earn a freeze."""
    last = state.last_active_date
    if last == today:
        return
    freezes, run = state.freezes or 0, state.freeze_run or 0
    if last is not None and last < today:
        alive = streak_state(state.streak, last, today, drill_days, skip, freezes)
        if alive.streak:
            state.streak += 1
            # Days kept by a freeze are not in a row: the count towards the next starts over.
            run = 1 if alive.frozen else run + 1
        else:
            state.streak, run = 1, 1
        freezes = alive.freezes
    else:  # the first drill, or a day before the last one (the member moved zones west)
        state.streak, run = 1, 1
    if run >= FREEZE_EVERY:
        freezes, run = min(FREEZE_CAP, freezes + 1), 0
    state.freezes, state.freeze_run = freezes, run
    state.best_streak = max(state.best_streak, state.streak)
    state.last_active_date = today


def current_streak(
    state: PracticeState | None,
    today: date,
    drill_days: str | Collection[str] = EVERY_DAY,
    skip: Collection[date] = (),
) -> int:
    """The streak still alive today (see `streak_alive`)."""
    return current_state(state, today, drill_days, skip).streak


def current_state(
    state: PracticeState | None,
    today: date,
    drill_days: str | Collection[str] = EVERY_DAY,
    skip: Collection[date] = (),
) -> Alive:
    """The streak and the freezes held today (see `streak_state`)."""
    if state is None:
        return Alive(0, 0)
    return streak_state(
        state.streak, state.last_active_date, today, drill_days, skip, state.freezes or 0
    )


def freezes_text(n: int) -> str:
    """How a member's freezes read next to their streak (nothing when none are held)."""
    return f" ({n} streak freeze{'s' if n != 1 else ''})" if n else ""


def member_tracks(s: MemberSettings) -> tuple[str, ...]:
    """The tracks a member practises: their choice, or every track when none is valid."""
    return tuple(t for t in s.tracks.split(",") if t in TRACKS) or tuple(TRACKS)


def last_daily_drill(session: Session, member_id: int, since: datetime) -> str | None:
    """The drill of the latest daily DM that reached the member since `since`, so that
    `/drill answer` can answer it."""
    return session.scalar(
        select(DailyDrill.drill_id)
        .join(OutboxMessage, OutboxMessage.dedupe_key == DailyDrill.outbox_key)
        .where(
            DailyDrill.member_id == member_id,
            OutboxMessage.status == "sent",
            OutboxMessage.sent_at >= since,
        )
        .order_by(OutboxMessage.sent_at.desc())
        .limit(1)
    )
