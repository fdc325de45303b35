"""A thank-you within 24 hours of an interview, with the letter, until it is marked sent."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from bot.db.pipeline_models import Interview
from bot.features.nudges.engine import Nudge, Pipeline, first_after, rule
from bot.jobs import JobEnv
from bot.types import Button

INTERVIEW_LENGTH = timedelta(hours=1)
WITHIN = timedelta(hours=24)


def _candidates(now: datetime, stale_days: int) -> Select[int]:
    """Members with an interview in the last day (and an hour) not thanked for yet."""
    return select(Interview.member_id).where(
        Interview.at >= now - WITHIN - INTERVIEW_LENGTH,
        Interview.at <= now,
        Interview.thank_you_sent.is_(False),
    )


def _instants(session: Session, env: JobEnv, after: datetime) -> Iterable[datetime]:
    return first_after(session, Interview.at, after, INTERVIEW_LENGTH)


@rule("thank-you", "thank-you reminders", candidates=_candidates, instants=_instants)
def thank_you(p: Pipeline) -> Iterator[Nudge]:
    for app in p.apps:
        if not p.live(app):
            continue
        for iv in app.interviews:
            end = iv.at + INTERVIEW_LENGTH
            if iv.thank_you_sent or end > p.now:
                continue
            letter = p.letter(
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
                iv.at + WITHIN,
                letter,
                iv.at.astimezone(p.tz).date(),
            )
