"""A stale application: no stage move, interview booked or interview held for `stale_days`
days; a friendly follow-up letter, once per quiet spell."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from sqlalchemy import Select, or_, select, union
from sqlalchemy.orm import Session

from bot.db.pipeline_models import Application, Interview
from bot.features.nudges.engine import Nudge, Pipeline, first_after, rule
from bot.features.pipeline.queries import IN_PROCESS_STAGES, last_movement
from bot.jobs import JobEnv

USEFUL_FOR = timedelta(days=3)


def _candidates(now: datetime, stale_days: int) -> Select[int]:
    """Members whose application went quiet lately; an interview restarts the staleness
    clock, from its booking and from its time."""
    stale_from = now - timedelta(days=stale_days + 4)
    stale_to = now - timedelta(days=stale_days)
    quiet = select(Application.member_id).where(
        Application.stage.in_(IN_PROCESS_STAGES),
        Application.stage_changed_at <= stale_to,
        Application.stage_changed_at >= stale_from,
    )
    interviewed = select(Interview.member_id).where(
        or_(
            Interview.at.between(stale_from, stale_to),
            Interview.created_at.between(stale_from, stale_to),
        )
    )
    return select(union(quiet, interviewed).subquery().c.member_id)


def _instants(session: Session, env: JobEnv, after: datetime) -> Iterable[datetime]:
    stale = timedelta(days=env.settings.stale_days)
    for column in (Interview.at, Interview.created_at, Application.stage_changed_at):
        yield from first_after(session, column, after, stale)


@rule("follow-up", "follow-up reminders", candidates=_candidates, instants=_instants)
def follow_up(p: Pipeline) -> Iterator[Nudge]:
    for app in p.apps:
        if not p.live(app) or app.stage not in IN_PROCESS_STAGES:
            continue
        since = last_movement(app, p.now)
        if since is None or since + timedelta(days=p.stale_days) > p.now:
            continue
        stale_at = since + timedelta(days=p.stale_days)
        subject = f"a{app.id}-{since:%Y%m%d}"
        letter = p.letter(
            "follow-up",
            app,
            "follow-up",
            subject,
            f"Nothing has moved with {app.company} for {p.stale_days} days. A short, "
            "friendly follow-up often gets things going again.",
        )
        yield Nudge(
            "follow-up",
            subject,
            stale_at,
            stale_at + USEFUL_FOR,
            letter,
            stale_at.astimezone(p.tz).date(),
        )
