"""Spaced repetition (FSRS), choosing the next drill, points and streaks.

`next_drills` is set-based: it answers for a whole cohort in a handful of queries, which is
what the daily drill DM needs; `/drill` calls it for one member."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import fsrs
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.content import TRACKS, Content, Drill
from bot.db.bulk import rows_among
from bot.db.drill_models import Card, PracticeState, Review

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

    def avoids(self, drill_id: str) -> bool:
        return drill_id == self.last_drill_id


def practice_state(session: Session, member_id: int) -> PracticeState:
    state = session.get(PracticeState, member_id)
    if state is None:
        state = PracticeState(
            member_id=member_id, points=0, streak=0, best_streak=0, revealed=False, ask_seen=[]
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
    if not wants:
        return {}
    ids = [w.member_id for w in wants]
    due: dict[int, list[str]] = {}
    seen: dict[int, set[str]] = {}
    cards = select(Card.member_id, Card.drill_id, Card.due_at <= now).order_by(
        Card.member_id, Card.due_at
    )
    for mid, drill_id, is_due in rows_among(session, cards, Card.member_id, ids):
        seen.setdefault(mid, set()).add(drill_id)
        if is_due:
            due.setdefault(mid, []).append(drill_id)
    reviews = select(Review.member_id, func.count()).group_by(Review.member_id)
    done = {mid: int(n) for mid, n in rows_among(session, reviews, Review.member_id, ids)}
    by_track: dict[str, list[Drill]] = {t: [] for t in TRACKS}
    for d in content.drills.values():
        by_track.setdefault(d.track, []).append(d)
    out: dict[int, Drill] = {}
    for w in wants:
        pick = _pick(
            w,
            due.get(w.member_id, []),
            seen.get(w.member_id, set()),
            done.get(w.member_id, 0),
            by_track,
            content,
        )
        if pick is not None:
            out[w.member_id] = pick
    return out


def _pick(
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
        if d and d.track in tracks and not w.avoids(drill_id):
            return d
    # New drills: rotate through the member's tracks, easier ones first within a track.
    open_tracks = [t for t in w.tracks if any(d.id not in seen for d in by_track.get(t, []))]
    if open_tracks:
        n = len(open_tracks)
        start = (done + w.offset) % n
        for t in open_tracks[start:] + open_tracks[:start]:
            fresh = [d for d in by_track[t] if d.id not in seen and not w.avoids(d.id)]
            if fresh:
                fresh.sort(key=lambda d: (_DIFFICULTY[d.difficulty], _spread(w.member_id, d.id)))
                return fresh[(w.offset // n) % len(fresh)]
    # Everything seen and nothing due: the seen drill that comes due soonest.
    for drill_id in sorted(seen, key=lambda i: _spread(w.member_id, i)):
        d = content.drills.get(drill_id)
        if d and d.track in tracks and not w.avoids(drill_id):
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
) -> tuple[Review, PracticeState]:
    """Record one rated attempt: FSRS card update, a review row, points and the streak."""
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
    card.fsrs = fcard.to_dict()
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
    bump_streak(state, today)
    state.current_drill_id = None
    state.pending_answer = None
    state.revealed = False
    state.correct = None
    state.last_drill_id = drill.id
    return row, state


def bump_streak(state: PracticeState, today: date) -> None:
    """A day counts when at least one drill is done on it, in the member's own calendar."""
    last = state.last_active_date
    if last == today:
        return
    state.streak = state.streak + 1 if last == today - timedelta(days=1) else 1
    state.best_streak = max(state.best_streak, state.streak)
    state.last_active_date = today


def current_streak(state: PracticeState | None, today: date) -> int:
    """The streak still alive today: done today, or yesterday and today is not over yet."""
    if state is None or state.last_active_date is None:
        return 0
    if state.last_active_date >= today - timedelta(days=1):
        return state.streak
    return 0
