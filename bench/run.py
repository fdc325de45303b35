"""The benchmark run: every figure on SQLite and PostgreSQL, a table printed and saved.

python -m bench            # the full run (about 10 minutes)
python -m bench --quick    # a small smoke run (well under a minute)
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.common import Results, databases, pg_reachable
from bench.dispatch import dispatch
from bench.fanout import fanout
from bench.latency import command_latency, leaderboard
from bench.seed import Shape, seed
from bench.slack_rt import round_trip
from bot.content import get_content

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Plan:
    small: int  # members, figure 1 baseline
    large: int  # members, figure 1 (and the leaderboard cohort of figure 5)
    cohort: int
    command_reps: int
    leaderboard_reps: int
    slack_reps: int
    fanout: tuple[int, int]
    fanout_reps: tuple[int, int]
    dispatch_messages: int
    dispatch_rate: int
    warmup: int


FULL = Plan(1_000, 10_000, 40, 100, 5, 150, (10_000, 100_000), (3, 2), 500, 50, 3)
QUICK = Plan(80, 400, 40, 2, 1, 4, (80, 400), (1, 1), 40, 50, 1)


def run(plan: Plan, kinds: list[str], out_dir: Path, save_results_md: bool) -> Results:
    results = Results()
    content = get_content(())
    started = time.perf_counter()
    for kind in kinds:
        with databases() as dbs:
            print(f"== {kind}: seeding", flush=True)
            small, large = dbs.new(kind, "small"), dbs.new(kind, "large")
            for db, n in ((small, plan.small), (large, plan.large)):
                t = time.perf_counter()
                counts = seed(db.engine, Shape(n, cohort_size=plan.cohort), content)
                print(
                    f"   {n:,} members, {counts['pipeline_applications']:,} applications, "
                    f"{counts['drill_reviews']:,} reviews in {time.perf_counter() - t:.1f} s",
                    flush=True,
                )
            print(f"== {kind}: command latency", flush=True)
            command_latency(
                results,
                kind,
                small,
                large,
                reps=plan.command_reps,
                cohort_size=plan.cohort,
                sizes=(plan.small, plan.large),
                warmup=plan.warmup,
            )
            print(f"== {kind}: Slack round trip", flush=True)
            round_trip(
                results,
                kind,
                large,
                reps=plan.slack_reps,
                members=plan.large,
                cohort_size=plan.cohort,
            )
            print(f"== {kind}: leaderboard", flush=True)
            leaderboard(results, kind, small, large, plan.leaderboard_reps)
            print(f"== {kind}: fan-out and memory", flush=True)
            fanout(results, kind, dbs.new(kind, "fanout"), plan.fanout, plan.fanout_reps)
            print(f"== {kind}: dispatcher", flush=True)
            dispatch(
                results, kind, dbs.new(kind, "dispatch"), plan.dispatch_messages, plan.dispatch_rate
            )
    elapsed = time.perf_counter() - started
    results.notes.append(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} at the end; run took {elapsed:.0f} s."
    )
    write(results, plan, out_dir, save_results_md)
    return results


def write(results: Results, plan: Plan, out_dir: Path, save_results_md: bool) -> None:
    missed = [r for r in results.rows if r.ok is False]
    doc = "\n".join(
        [
            "# Cohortbot benchmarks",
            "",
            f"Plan: {plan}",
            "",
            *results.notes,
            "",
            "Ratios are value / baseline, both measured in this run (medians of interleaved",
            "repetitions on a shared, noisy machine). Latency in ms; p99 in brackets.",
            "",
            results.table(),
            "",
            f"Floors missed: {len(missed)}"
            + ("" if not missed else " (" + "; ".join(f"{r.db} {r.figure}" for r in missed) + ")"),
            "",
        ]
    )
    print("\n" + doc, flush=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"bench-{datetime.now(UTC):%Y%m%d-%H%M%S}.md"
    path.write_text(doc)
    print(f"saved {path}", flush=True)
    if save_results_md:
        (HERE / "RESULTS.md").write_text(doc)
        print(f"saved {HERE / 'RESULTS.md'}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument(
        "--db", choices=("sqlite", "postgres", "both"), default="both", help="where to measure"
    )
    parser.add_argument(
        "--out", type=Path, default=HERE / "results", help="directory for the saved table"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if "postgres" in kinds and (reason := pg_reachable()):
        parser.error(reason + " (use --db sqlite to run without it)")
    plan = QUICK if args.quick else FULL
    # Only a full run on both databases replaces the committed RESULTS.md.
    run(plan, kinds, args.out, save_results_md=not args.quick and args.db == "both")
    return 0
