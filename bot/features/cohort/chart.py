"""The leaderboard's chart: the cohort's drills per day and its pipeline funnel, as a PNG."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from functools import lru_cache


def leaderboard_chart(per_day: Sequence[tuple[date, int]], funnel: tuple[int, int, int]) -> bytes:
    """Drawing takes a good part of a second; the same figures give the same PNG, so a cohort
    asking again before anything changed gets the one already drawn."""
    return _draw(tuple(per_day), funnel)


@lru_cache(maxsize=128)
def _draw(per_day: tuple[tuple[date, int], ...], funnel: tuple[int, int, int]) -> bytes:
    # The object API, not pyplot: pyplot keeps global figure state, which threads handling
    # commands at once would share; a Figure of its own needs no display and no lock.
    # Imported here: matplotlib costs half a second, which the console should not pay to open.
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3), dpi=100)
    left, right = fig.subplots(1, 2)
    days = [f"{d:%a}\n{d.day}" for d, _ in per_day]
    left.bar(days, [n for _, n in per_day], color="#4a7bd0")
    left.set_title("Drills per day")
    left.spines[["top", "right"]].set_visible(False)
    labels = ["Applications", "Interviews", "Offers"]
    right.barh(labels[::-1], list(funnel)[::-1], color=["#3c9d5d", "#e0a030", "#4a7bd0"])
    right.set_title("Pipeline (members who opted in)")
    right.spines[["top", "right"]].set_visible(False)
    for i, v in enumerate(list(funnel)[::-1]):
        right.text(v, i, f" {v}", va="center")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def forget_charts() -> None:
    """Drop every drawn chart (benchmarks measure drawing, not the cache)."""
    _draw.cache_clear()
