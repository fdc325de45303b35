"""Helpers for scheduler tests: run only some jobs, read deliveries in local time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from adapters.memory import Delivery, MemoryWorkspace
from bot.jobs import JobRunner, registered_jobs
from bot.types import DM


def only_jobs(ws: MemoryWorkspace, *names: str) -> None:
    """Keep the simulation fast and focused: run just these registered jobs."""
    jobs = [j for j in registered_jobs() if j.name in names]
    assert {j.name for j in jobs} == set(names), names
    ws.app.jobs = JobRunner(ws.app.sessions, ws.app.jobs.env, jobs)


def dms_to(deliveries: list[Delivery], name: str) -> list[Delivery]:
    return [
        d
        for d in deliveries
        if isinstance(d.outbound.target, DM) and d.outbound.target.user.display_name == name
    ]


def local(d: Delivery, zone: str) -> datetime:
    return d.at.astimezone(ZoneInfo(zone))
