"""The pipeline's vocabulary (stages, aliases) and the queries other features build on.

Plain functions of (session, member id, ...): the pipeline commands, letters, offers and the
nudges all read the pipeline through these, so every query is scoped to one member.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, object_session, selectinload

from bot.db.bulk import rows_among
from bot.db.pipeline_models import Application, Interview, Offer, OfferWeights, StageMove
from bot.db.schedule_models import OutboxMessage

STAGES: tuple[str, ...] = (
    "wishlist",
    "applied",
    "screen",
    "interview",
    "onsite",
    "offer",
    "accepted",
    "declined",
    "rejected",
    "withdrawn",
)
# Still in play: the member may hear from them or owe them an answer.
ACTIVE_STAGES: tuple[str, ...] = ("wishlist", "applied", "screen", "interview", "onsite", "offer")
# Past the point of no return; entering one stamps `closed_at`.
CLOSED_STAGES: tuple[str, ...] = ("accepted", "declined", "rejected", "withdrawn")
# Applied and waiting or interviewing, with no offer: who gets an alternatives letter.
IN_PROCESS_STAGES: tuple[str, ...] = ("applied", "screen", "interview", "onsite")

# The outbox kinds of the pipeline's nudges (one module per rule in bot/features/nudges/), old
# ones included: rows queued before a rename must still be cancelled when their process closes.
NUDGE_KINDS: tuple[str, ...] = (
    "alternatives",
    "alternatives-reminder",
    "deadline",
    "extension",
    "deadline-weekend",
    "exploding",
    "far-apart",
    "thank-you",
    "follow-up",
    "accepted",
    "review",
)
# What accepting an offer leaves queued: the decline letters to the others and the review.
AFTER_ACCEPTING: tuple[str, ...] = ("accepted", "review")

STAGE_ALIASES: dict[str, str] = {
    "wish": "wishlist",
    "wishlisted": "wishlist",
    "saved": "wishlist",
    "later": "wishlist",
    "apply": "applied",
    "sent": "applied",
    "submitted": "applied",
    "phone": "screen",
    "phone-screen": "screen",
    "call": "screen",
    "recruiter": "screen",
    "screening": "screen",
    "interviewing": "interview",
    "technical": "interview",
    "tech": "interview",
    "final": "onsite",
    "finals": "onsite",
    "on-site": "onsite",
    "loop": "onsite",
    "offered": "offer",
    "accept": "accepted",
    "signed": "accepted",
    "decline": "declined",
    "reject": "rejected",
    "rejection": "rejected",
    "no": "rejected",
    "withdraw": "withdrawn",
    "withdrew": "withdrawn",
    "ghosted": "withdrawn",
}


def stage_of(text: str) -> str | None:
    """The canonical stage for `text` (a stage or an alias, any case), or None."""
    key = text.strip().lower().replace("_", "-").replace(" ", "-")
    if key in STAGES:
        return key
    return STAGE_ALIASES.get(key)


# The company_key column's width. Case-folding can lengthen a name (ß -> ss, the ligature
# ﬃ -> ffi), so a name within the limit may fold past it: the key is cut to fit, the same way
# wherever it is computed, so matching stays consistent.
KEY_WIDTH = 100


def company_key(name: str) -> str:
    return " ".join(name.casefold().split())[:KEY_WIDTH]


@dataclass(frozen=True)
class Match:
    """The result of looking a company up: one application, or the candidates to offer."""

    app: Application | None
    candidates: tuple[Application, ...] = ()


_LOADED = (
    selectinload(Application.moves),
    selectinload(Application.interviews),
    selectinload(Application.offer),
)


def applications(session: Session, member_id: int) -> list[Application]:
    """All of a member's applications, with history, interviews and offer loaded."""
    return list(
        session.scalars(
            select(Application)
            .where(Application.member_id == member_id)
            .options(*_LOADED)
            .order_by(Application.company_key)
        )
    )


def applications_of(session: Session, member_ids: Sequence[int]) -> dict[int, list[Application]]:
    """`applications` for each of these members, in four queries for all of them rather than
    four for each (the nudge job reads every candidate's pipeline at each run)."""
    out: dict[int, list[Application]] = {m: [] for m in member_ids}
    stmt = (
        select(Application)
        .options(*_LOADED)
        .order_by(Application.member_id, Application.company_key)
    )
    # A member's applications all come in one chunk, so each list keeps company order.
    for (app,) in rows_among(session, stmt, Application.member_id, member_ids):
        out[app.member_id].append(app)
    return out


def find_company(session: Session, member_id: int, text: str) -> Match:
    """Case-insensitive: an exact name wins, then a unique prefix; otherwise candidates
    (every prefix match, or the closest names)."""
    key = company_key(text)
    apps = applications(session, member_id)
    exact = [a for a in apps if a.company_key == key]
    if exact:
        return Match(exact[0])
    prefix = [a for a in apps if a.company_key.startswith(key)] if key else []
    if len(prefix) == 1:
        return Match(prefix[0])
    if prefix:
        return Match(None, tuple(prefix))
    contains = [a for a in apps if key and key in a.company_key]
    close = difflib.get_close_matches(key, [a.company_key for a in apps], n=5, cutoff=0.5)
    near = contains + [a for a in apps if a.company_key in close and a not in contains]
    return Match(None, tuple(near))


def owned_application(session: Session, member_id: int, app_id: int) -> Application | None:
    """The application with this id, only if it belongs to the member (button values)."""
    app = session.get(Application, app_id)
    if app is None or app.member_id != member_id:
        return None
    return app


def active_of(apps: Iterable[Application]) -> list[Application]:
    """Applications still in play (wishlist through offer), oldest move first."""
    return sorted((a for a in apps if a.stage in ACTIVE_STAGES), key=lambda a: a.stage_changed_at)


def active_applications(session: Session, member_id: int) -> list[Application]:
    return active_of(applications(session, member_id))


def in_process_of(apps: Iterable[Application], *, exclude: int | None = None) -> list[Application]:
    """Applied or interviewing, without an offer: the companies an alternatives letter goes to."""
    return [a for a in active_of(apps) if a.stage in IN_PROCESS_STAGES and a.id != exclude]


def in_process_applications(
    session: Session, member_id: int, *, exclude: int | None = None
) -> list[Application]:
    return in_process_of(applications(session, member_id), exclude=exclude)


def open_offers_of(apps: Iterable[Application]) -> list[Offer]:
    """Offers the member still holds (the application is at the offer stage), by deadline
    (those without one last)."""
    offers = [a.offer for a in apps if a.offer and a.stage == "offer"]
    far = datetime.max.replace(tzinfo=offers[0].received_at.tzinfo) if offers else None
    return sorted(offers, key=lambda o: (o.deadline or far, o.received_at))


def open_offers(session: Session, member_id: int) -> list[Offer]:
    return open_offers_of(applications(session, member_id))


def offers_with_deadlines(session: Session, member_id: int, now: datetime) -> list[Offer]:
    """Open offers whose deadline is still ahead, soonest first."""
    return [o for o in open_offers(session, member_id) if o.deadline and o.deadline > now]


def last_movement(app: Application, now: datetime) -> datetime | None:
    """When the application last moved: its stage change, an interview booked, or the last
    interview held. None while an interview is still ahead: a booked interview is movement,
    so such an application is never stale."""
    if any(i.at > now for i in app.interviews):
        return None
    times = [app.stage_changed_at]
    times += [i.created_at for i in app.interviews] + [i.at for i in app.interviews]
    return max(times)


def stale_applications(
    session: Session, member_id: int, now: datetime, days: int
) -> list[Application]:
    """In-process applications that have not moved (see last_movement) for `days` days."""
    cutoff = now - timedelta(days=days)
    return [
        a
        for a in in_process_applications(session, member_id)
        if (moved := last_movement(a, now)) is not None and moved <= cutoff
    ]


def interviews_between(
    session: Session, member_id: int, start: datetime, end: datetime
) -> list[Interview]:
    """The member's interviews in [start, end), earliest first."""
    return list(
        session.scalars(
            select(Interview)
            .where(Interview.member_id == member_id, Interview.at >= start, Interview.at < end)
            .order_by(Interview.at)
        )
    )


def last_interview(app: Application, now: datetime) -> Interview | None:
    """The latest interview already held (or, failing that, the next one planned)."""
    past = [i for i in app.interviews if i.at <= now]
    if past:
        return max(past, key=lambda i: i.at)
    return min(app.interviews, key=lambda i: i.at) if app.interviews else None


def next_date(app: Application, now: datetime) -> tuple[str, datetime] | None:
    """The next date that matters for an application: an interview or the offer deadline."""
    dates: list[tuple[str, datetime]] = [
        (f"{i.kind or 'interview'}", i.at) for i in app.interviews if i.at >= now
    ]
    if app.offer and app.offer.deadline and app.offer.deadline >= now:
        dates.append(("offer deadline", app.offer.deadline))
    return min(dates, key=lambda d: d[1]) if dates else None


def move_stage(app: Application, stage: str, now: datetime) -> StageMove:
    """Move an application (any direction), record the move and keep the dates in step."""
    move = StageMove(member_id=app.member_id, from_stage=app.stage, to_stage=stage, at=now)
    # Appending (not setting move.application) is what cascades the new row into the session.
    app.moves.append(move)
    app.stage = stage
    app.stage_changed_at = now
    if app.applied_at is None and stage in (*IN_PROCESS_STAGES, "offer", "accepted"):
        app.applied_at = now
    app.closed_at = now if stage in CLOSED_STAGES else None
    if stage == "offer" and app.offer is None:
        app.offer = Offer(member_id=app.member_id, received_at=now, updated_at=now)
    session = object_session(app)
    # Every close goes through here, so nothing queued about a closed process is sent after
    # it closed. A new application (not in a session yet) has nothing queued.
    if stage in CLOSED_STAGES and session is not None:
        cancel_queued(session, app, accepted=stage == "accepted")
    return move


def _tokens(app: Application) -> set[str]:
    """The subject tokens that name this application: a<app> (and d<app> in a decline
    letter's subject), o<offer> and i<interview>."""
    tokens = {f"a{app.id}", f"d{app.id}"} | {f"i{i.id}" for i in app.interviews}
    if app.offer is not None and app.offer.id is not None:
        tokens.add(f"o{app.offer.id}")
    return tokens


def cancel_queued(session: Session, app: Application, *, accepted: bool = False) -> int:
    """Drop the pending nudges about `app`, for a process that closes or is removed; returns
    how many. Accepting keeps the decline letters and the review it causes, and drops every
    other pending pipeline nudge of the member: the other processes get nothing but their
    decline letter from then on."""
    rows = session.execute(
        select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.subject).where(
            OutboxMessage.member_id == app.member_id,
            OutboxMessage.status == "pending",
            OutboxMessage.kind.in_(NUDGE_KINDS),
        )
    ).all()
    tokens = _tokens(app)
    if accepted:
        ids = [r.id for r in rows if r.kind not in AFTER_ACCEPTING]
    else:
        ids = [r.id for r in rows if tokens & set(r.subject.split("-"))]
    return drop_pending(session, ids, "its process closed")


def drop_pending(session: Session, ids: list[int], why: str) -> int:
    """Mark these outbox rows dropped (only those still pending), in one statement."""
    if not ids:
        return 0
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "pending")
        .values(status="dropped", last_error=why[:200])
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def weights_of(session: Session, member_id: int) -> OfferWeights:
    """The member's factor weights; equal (unsaved) defaults when they never set them."""
    w = session.get(OfferWeights, member_id)
    if w is None:
        w = OfferWeights(member_id=member_id, career=1, culture=1, strategy=1, manager=1)
    return w


__all__ = [
    "ACTIVE_STAGES",
    "AFTER_ACCEPTING",
    "CLOSED_STAGES",
    "IN_PROCESS_STAGES",
    "NUDGE_KINDS",
    "STAGES",
    "STAGE_ALIASES",
    "Match",
    "active_applications",
    "active_of",
    "applications",
    "applications_of",
    "cancel_queued",
    "company_key",
    "drop_pending",
    "find_company",
    "in_process_applications",
    "in_process_of",
    "interviews_between",
    "last_interview",
    "last_movement",
    "move_stage",
    "next_date",
    "offers_with_deadlines",
    "open_offers",
    "open_offers_of",
    "owned_application",
    "stage_of",
    "stale_applications",
    "weights_of",
]
