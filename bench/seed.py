"""Synthetic cohorts loaded set-based (COPY / executemany), never through the commands.

Every member gets the shape of someone a few weeks into a job hunt: settings, practice state,
FSRS cards, a history of reviews spread over the last months (some this week), and
applications across the stages with their moves, interviews and the odd offer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import fsrs
from sqlalchemy import Engine

from bench.common import NOW, ZONES, after_load, bulk_insert
from bot.content import Content

# Stages of a member's applications, in order of their index; the last is an offer for
# every other member, so that letters and offer comparison have something to work on.
STAGE_CYCLE = (
    "applied",
    "screen",
    "interview",
    "onsite",
    "rejected",
    "applied",
    "wishlist",
    "applied",
    "screen",
    "offer",
)
ID_TABLES = (
    "workspaces",
    "cohorts",
    "members",
    "drill_cards",
    "drill_reviews",
    "pipeline_applications",
    "pipeline_stage_moves",
    "pipeline_interviews",
    "pipeline_offers",
    "outbox",
)


@dataclass(frozen=True)
class Shape:
    members: int
    cohort_size: int = 40
    apps: int = 10  # applications per member
    reviews: int = 50  # review log rows per member
    cards: int = 20  # distinct drills per member (FSRS cards)


def naive(dt):  # type: ignore[no-untyped-def]
    return dt.astimezone(NOW.tzinfo).replace(tzinfo=None)


def seed(engine: Engine, shape: Shape, content: Content, first: int = 1) -> dict[str, int]:
    """Load members `first .. first + shape.members - 1` and everything they own."""
    if (first - 1) % shape.cohort_size:
        raise ValueError("a later load starts on a cohort boundary")
    drills = sorted(content.drills.values(), key=lambda d: d.id)
    now = naive(NOW)
    last = first + shape.members - 1
    ws_first = (first - 1) // shape.cohort_size + 1
    ws_last = (last - 1) // shape.cohort_size + 1
    fsrs_state = json.loads(json.dumps(fsrs.Card().to_dict(), default=str))
    counts: dict[str, int] = {}

    def ws_of(m: int) -> int:
        return (m - 1) // shape.cohort_size + 1

    counts["workspaces"] = bulk_insert(
        engine,
        "workspaces",
        ("id", "platform", "external_id", "name", "created_at"),
        ((w, "slack", f"T{w:06d}", f"Cohort {w}", now) for w in range(ws_first, ws_last + 1)),
    )
    counts["cohorts"] = bulk_insert(
        engine,
        "cohorts",
        (
            "id",
            "workspace_id",
            "name",
            "channel_id",
            "channel_name",
            "timezone",
            "start_date",
            "leaderboard_weekday",
            "leaderboard_time",
            "created_at",
        ),
        (
            (
                w,
                w,
                f"cohort-{w}",
                f"C{w:06d}",
                f"cohort-{w}",
                ZONES[w % len(ZONES)],
                (NOW - timedelta(days=40)).date(),
                4,
                "16:00",
                now,
            )
            for w in range(ws_first, ws_last + 1)
        ),
    )
    members = range(first, last + 1)
    counts["members"] = bulk_insert(
        engine,
        "members",
        (
            "id",
            "workspace_id",
            "cohort_id",
            "platform_user_id",
            "display_name",
            "is_admin",
            "undeliverable",
            "created_at",
            "last_active_at",
        ),
        (
            (
                m,
                ws_of(m),
                ws_of(m),
                f"U{m:08d}",
                f"Member {m}",
                (m - 1) % shape.cohort_size == 0,  # one organizer per cohort
                False,
                now - timedelta(days=40),
                now - timedelta(hours=m % 72),
            )
            for m in members
        ),
    )
    counts["member_settings"] = bulk_insert(
        engine,
        "member_settings",
        (
            "member_id",
            "timezone",
            "timezone_set",
            "drill_time",
            "drill_days",
            "tracks",
            "paused",
            "paused_until",
            "public",
            "updated_at",
        ),
        (
            (
                m,
                ZONES[ws_of(m) % len(ZONES)],
                True,
                "09:00",
                "mon,tue,wed,thu,fri",
                "",
                False,
                None,
                m % 3 == 0,
                now,
            )
            for m in members
        ),
    )
    counts["drill_practice"] = bulk_insert(
        engine,
        "drill_practice",
        (
            "member_id",
            "current_drill_id",
            "served_at",
            "pending_answer",
            "revealed",
            "correct",
            "last_drill_id",
            "points",
            "streak",
            "best_streak",
            "last_active_date",
            "ask_seen",
        ),
        (
            (
                m,
                None,
                None,
                None,
                False,
                None,
                drills[m % len(drills)].id,
                10 * shape.reviews,
                m % 9,
                m % 9 + 3,
                (NOW - timedelta(days=m % 3)).date(),
                [],
            )
            for m in members
        ),
    )

    def my_drills(m: int) -> list[int]:
        return [(m * 7 + k * 13) % len(drills) for k in range(shape.cards)]

    def cards() -> Iterator[tuple[object, ...]]:
        cid = (first - 1) * shape.cards
        for m in members:
            for k, i in enumerate(my_drills(m)):
                cid += 1
                d = drills[i]
                due = now + timedelta(days=(k % 10) - 3)  # a few due, most ahead
                yield (cid, m, d.id, d.track, due, 2, 2, 0, fsrs_state, now - timedelta(days=5))

    counts["drill_cards"] = bulk_insert(
        engine,
        "drill_cards",
        (
            "id",
            "member_id",
            "drill_id",
            "track",
            "due_at",
            "state",
            "reps",
            "lapses",
            "fsrs",
            "last_review_at",
        ),
        cards(),
    )

    def reviews() -> Iterator[tuple[object, ...]]:
        rid = (first - 1) * shape.reviews
        for m in members:
            mine = my_drills(m)
            for k in range(shape.reviews):
                rid += 1
                d = drills[mine[k % len(mine)]]
                at = now - timedelta(hours=(k * 53 + m) % (24 * 120))  # the last four months
                yield (
                    rid,
                    m,
                    d.id,
                    d.track,
                    3,
                    True,
                    None,
                    10,
                    "A short answer.",
                    at,
                    at.date(),
                    at,
                )

    counts["drill_reviews"] = bulk_insert(
        engine,
        "drill_reviews",
        (
            "id",
            "member_id",
            "drill_id",
            "track",
            "rating",
            "written",
            "correct",
            "points",
            "answer",
            "reviewed_at",
            "local_date",
            "due_after",
        ),
        reviews(),
    )
    if shape.apps:
        counts.update(_pipeline(engine, shape, first, last))
    after_load(engine, ID_TABLES)
    return counts


def _pipeline(engine: Engine, shape: Shape, first: int, last: int) -> dict[str, int]:
    now = naive(NOW)
    apps: list[tuple[object, ...]] = []
    moves: list[tuple[object, ...]] = []
    interviews: list[tuple[object, ...]] = []
    offers: list[tuple[object, ...]] = []
    aid = (first - 1) * shape.apps
    for m in range(first, last + 1):
        for j in range(shape.apps):
            aid += 1
            stage = STAGE_CYCLE[j % len(STAGE_CYCLE)]
            if stage == "offer" and m % 2:
                stage = "onsite"
            created = now - timedelta(days=30 - j)
            changed = now - timedelta(days=(j * 3 + m) % 20)
            closed = changed if stage == "rejected" else None
            applied = None if stage == "wishlist" else created
            company = f"Company {(m * 31 + j * 17) % 5000} {j}"
            head = (aid, m, company, company.casefold(), "Engineer", None, stage, None, created)
            apps.append((*head, applied, changed, closed))
            moves.append((aid, m, aid, None, stage, changed))
            if stage in ("interview", "onsite", "offer"):
                at = changed + timedelta(days=2)
                interviews.append((aid, m, aid, at, "technical", changed, False, None))
            if stage == "offer":
                deadline = now + timedelta(days=3 + m % 5)
                offers.append((aid, m, aid, changed, deadline, 100000 + m, 10000, None, "EUR"))
    out = {
        "pipeline_applications": bulk_insert(
            engine,
            "pipeline_applications",
            (
                "id",
                "member_id",
                "company",
                "company_key",
                "role",
                "link",
                "stage",
                "note",
                "created_at",
                "applied_at",
                "stage_changed_at",
                "closed_at",
            ),
            apps,
        ),
        "pipeline_stage_moves": bulk_insert(
            engine,
            "pipeline_stage_moves",
            ("id", "member_id", "application_id", "from_stage", "to_stage", "at"),
            moves,
        ),
        "pipeline_interviews": bulk_insert(
            engine,
            "pipeline_interviews",
            (
                "id",
                "member_id",
                "application_id",
                "at",
                "kind",
                "created_at",
                "thank_you_sent",
                "thank_you_sent_at",
            ),
            interviews,
        ),
        "pipeline_offers": bulk_insert(
            engine,
            "pipeline_offers",
            (
                "id",
                "member_id",
                "application_id",
                "received_at",
                "deadline",
                "base",
                "bonus",
                "equity",
                "currency",
                "updated_at",
            ),
            [(*o, now) for o in offers],
        ),
    }
    return out
