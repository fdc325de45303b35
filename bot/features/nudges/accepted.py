"""An accepted offer: a decline letter to each company still waiting, then, two days later,
the post-offer review. Nothing else about the rest unless the member reopens one."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from bot.db.pipeline_models import Application
from bot.features.nudges.engine import RECENT, Nudge, Pipeline, first_after, nudge_buttons, rule
from bot.features.pipeline.queries import IN_PROCESS_STAGES
from bot.jobs import JobEnv
from bot.types import Button, Reply

REVIEW_AFTER = timedelta(days=2)


def _candidates(now: datetime, stale_days: int) -> Select[int]:
    """Members who accepted an offer lately."""
    return select(Application.member_id).where(
        Application.stage == "accepted", Application.stage_changed_at >= now - RECENT
    )


def _changes(session: Session, env: JobEnv, after: datetime) -> Iterable[datetime]:
    return first_after(session, Application.stage_changed_at, after)


def _reviews(session: Session, env: JobEnv, after: datetime) -> Iterable[datetime]:
    return first_after(session, Application.stage_changed_at, after, REVIEW_AFTER)


@rule("accepted", "decline letters after accepting", candidates=_candidates, instants=_changes)
def accepted(p: Pipeline) -> Iterator[Nudge]:
    chosen = p.chosen
    if chosen is None:
        return
    at = chosen.stage_changed_at
    waiting = [a for a in p.apps if a.stage in (*IN_PROCESS_STAGES, "offer") and not p.live(a)]
    for other in waiting:
        subject = f"a{chosen.id}-d{other.id}"
        letter = p.letter(
            "decline",
            other,
            "accepted",
            subject,
            f"Congratulations on {chosen.company}! Close the loop with {other.company} "
            "kindly: you may meet them again. Press Sent and close once it is out.",
            (Button("nudge.declined", str(other.id), "Sent and close", "primary"),),
        )
        yield Nudge(
            "accepted", subject, at, at + timedelta(days=7), letter, at.astimezone(p.tz).date()
        )


@rule("review", "post-offer review", candidates=_candidates, instants=_reviews)
def review(p: Pipeline) -> Iterator[Nudge]:
    # One review, of the job taken: a member who marks two offers accepted is reviewing one
    # decision, the latest.
    if p.chosen is None:
        return
    app = p.chosen
    review_at = app.stage_changed_at + REVIEW_AFTER
    steps = next((s for s in p.content.plan if s.id == "review"), None)
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
        lambda at: reply,
        review_at.astimezone(p.tz).date(),
    )
