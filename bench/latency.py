"""Figure 1 (command latency, small against large) and figure 5 (the 10,000-member leaderboard)."""

from __future__ import annotations

import random
import time

from sqlalchemy import func, select, update

from bench.common import NOW, Database, Results, Row, median, ms, percentile
from bot.app import App
from bot.cohorts import info_of
from bot.db.models import Cohort, Member
from bot.features.cohort.chart import forget_charts
from bot.features.cohort.leaderboard import build
from bot.router import BUSY, SORRY
from bot.types import Conversation, Invocation, User

# (family, command line, organizer only): one everyday command per family, plus the
# organizer's dashboard, which reads the whole cohort.
COMMANDS: tuple[tuple[str, str, bool], ...] = (
    ("settings", "settings show", False),
    ("drill", "drill next", False),
    ("ask", "ask questions", False),
    ("pipeline", "pipeline list", False),
    ("letter", "letter alternatives", False),
    ("offer", "offer compare", False),
    ("leaderboard", "leaderboard", False),
    ("cohort", "cohort plan", False),
    ("cohort", "cohort members", True),
    ("mock", "mock status", False),
    ("cohortbot", "cohortbot", False),
)


class Members:
    """Hands out members round-robin from a shuffled list, so no one member is hot in a cache
    (nor trips the per-member command limit)."""

    def __init__(self, app: App, cohort_size: int, seed: int) -> None:
        with app.sessions() as s:
            n = int(s.scalar(select(func.count()).select_from(Member)) or 0)
        rng = random.Random(seed)
        self.members = list(range(1, n + 1))
        rng.shuffle(self.members)
        self.admins = [m for m in self.members if (m - 1) % cohort_size == 0]
        self.cohort_size = cohort_size
        self._i = self._j = 0

    def next(self, admin: bool) -> tuple[User, Conversation]:
        if admin:
            m = self.admins[self._j % len(self.admins)]
            self._j += 1
        else:
            m = self.members[self._i % len(self.members)]
            self._i += 1
        w = (m - 1) // self.cohort_size + 1
        user = User("slack", f"T{w:06d}", f"U{m:08d}", f"Member {m}", is_admin=admin)
        return user, Conversation("channel", f"C{w:06d}", f"cohort-{w}")


def _invoke(app: App, who: Members, line: str, admin: bool) -> float:
    command, _, args = line.partition(" ")
    user, conv = who.next(admin)
    # The small database's few cohorts would all stay in the chart cache and the large one's
    # would not: every /leaderboard draws its chart afresh, at both sizes.
    forget_charts()
    started = time.perf_counter()
    out = app.router.handle(Invocation(command, args, user, conv)).all
    took = time.perf_counter() - started
    text = out[0].reply.text if out else ""
    if text in (SORRY, BUSY) or "slow down" in text.lower():
        raise RuntimeError(f"/{line} failed during the benchmark: {text}")
    return took


def command_latency(
    results: Results,
    kind: str,
    small: Database,
    large: Database,
    *,
    reps: int,
    cohort_size: int,
    sizes: tuple[int, int],
    warmup: int = 3,
    budget: float = 15.0,
) -> None:
    """`reps` rounds of every command at both sizes, or fewer for a command whose rounds
    would take more than `budget` seconds."""
    apps = {"small": small.app(), "large": large.app()}
    who = {k: Members(a, cohort_size, seed=7) for k, a in apps.items()}
    samples: dict[tuple[str, str], list[float]] = {}
    wanted: dict[str, int] = {}
    for _, line, admin in COMMANDS:
        warm = [
            _invoke(apps[size], who[size], line, admin)  # warms caches; not recorded
            for size in apps
            for _ in range(warmup)
        ]
        # A slow command (the leaderboard draws a chart) gets fewer rounds, never under 15.
        wanted[line] = max(min(reps, 15), min(reps, int(budget / (2 * median(warm)))))
    # Interleaved: each round runs every command once at each size, so that the machine's
    # noise (other jobs on a shared box) falls on both sizes alike.
    for i in range(reps):
        for _, line, admin in COMMANDS:
            if i >= wanted[line]:
                continue
            for size in ("small", "large"):
                took = _invoke(apps[size], who[size], line, admin)
                samples.setdefault((line, size), []).append(took)
    for family, line, _ in COMMANDS:
        s, big = samples[(line, "small")], samples[(line, "large")]
        ratio = median(big) / median(s)
        results.add(
            Row(
                f"1 latency /{line}",
                kind,
                f"p50 (p99) at {sizes[1]:,} members, {len(big)} runs",
                f"{ms(median(big))} ({ms(percentile(big, 99))})",
                f"{ms(median(s))} ({ms(percentile(s, 99))}) at {sizes[0]:,}",
                ratio,
                "p50 <= 1.5x",
                ratio <= 1.5,
                family,
            )
        )


def leaderboard(results: Results, kind: str, small: Database, large: Database, reps: int) -> None:
    """Every member of the large database joins cohort 1; its build against a 40-member
    cohort's, interleaved."""
    with large.engine.begin() as conn:
        conn.execute(update(Member).values(cohort_id=1))
    apps = {"small": small.app(), "large": large.app()}
    times: dict[str, list[float]] = {"small": [], "large": []}
    counts: dict[str, int] = {}
    for size, app in apps.items():
        with app.sessions() as s:
            counts[size] = int(
                s.scalar(select(func.count()).select_from(Member).where(Member.cohort_id == 1)) or 0
            )
    for i in range(reps + 1):
        for size, app in apps.items():
            with app.sessions() as s:
                cohort = s.get(Cohort, 1)
                assert cohort is not None
                info = info_of(s, cohort)
                forget_charts()  # the worst case: figures changed since the last build
                started = time.perf_counter()
                reply = build(s, info, NOW)
                took = time.perf_counter() - started
            assert reply.image is not None
            if i:  # the first round warms matplotlib and the connection
                times[size].append(took)
    big, small_t = median(times["large"]), median(times["small"])
    results.add(
        Row(
            "5 leaderboard build",
            kind,
            f"median, {counts['large']:,}-member cohort",
            ms(big),
            f"{ms(small_t)} for {counts['small']}",
            big / small_t,
            "",
            None,
            "includes drawing the PNG chart afresh",
        )
    )
