"""The simulated clock may jump between the instants jobs declare (`@wakes`) only because
that sends exactly what ticking every job's interval sends: proved here on a busy cohort."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.simulation import Company, Person, Plan, live

# Slow: weeks lived twice, ticking and jumping.
pytestmark = pytest.mark.slow

BUSY = Plan(
    cohort_zone="Europe/Berlin",
    # Four days across the night Europe moves to summer time.
    start=datetime(2027, 3, 26, 6, 0, tzinfo=UTC),
    weeks=1,
    days=4,
    people=(
        Person(
            "ny",
            "America/New_York",
            "07:00",
            "everyday",
            answer_every=2,
            pause=(1, 1),
            mock=True,
            public=True,
            leaves_on=None,
            companies=(
                Company("Acme", 0, 1, 1, 60, 120123, "open", 1),
                Company("Globex", 0, 2, None, 100, 90123, "open", 1),
            ),
        ),
        Person(
            "syd",
            "Australia/Sydney",
            "21:30",
            "everyday",
            answer_every=1,
            pause=None,
            mock=True,
            public=False,
            leaves_on=None,
            companies=(
                Company("Hooli", 0, None, 1, 30, 150123, "accept", 1),
                Company("Initech", 0, 1, None, 100, 80123, "open", 1),
            ),
        ),
    ),
)


def test_jumping_sends_what_ticking_sends(sqlite_template: Path) -> None:
    runs = []
    for jump in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            lived = live(BUSY, sqlite_template, Path(tmp), jump=jump)
            runs.append(
                sorted((d.at, d.label, d.reply.title or "", d.text) for d in lived.scheduled)
            )
            lived.ws.app.engine.dispose()
    ticked, jumped = runs
    assert len(ticked) > 10  # drills, nudges, a leaderboard: a busy four days
    assert [x[1:] for x in jumped] == [x[1:] for x in ticked]
    # Ticking sends at the first tick after a message falls due, jumping at the instant.
    for (t_at, *_), (j_at, *_) in zip(ticked, jumped, strict=True):
        assert timedelta(0) <= t_at - j_at <= timedelta(minutes=15)
