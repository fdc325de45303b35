"""The leaderboard's chart: the cohort's drills per day and its pipeline funnel, as a PNG."""

from __future__ import annotations

import io
from datetime import date

import matplotlib

matplotlib.use("Agg")  # no display on servers; must precede pyplot

import matplotlib.pyplot as plt


def leaderboard_chart(per_day: list[tuple[date, int]], funnel: tuple[int, int, int]) -> bytes:
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3), dpi=100)
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
    plt.close(fig)
    return buf.getvalue()
