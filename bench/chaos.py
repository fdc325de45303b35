"""Issue 15's figures: `python -m bench chaos` (or `python -m bench.chaos`).

1. The chaos run (tests/chaos/harness.py): drain time and the worst delay of a healthy
   recipient's scheduled message, beside the same cohort and traffic with nothing going wrong,
   plus the run's counts (lost, doubled, acks over 3 s, delayed by another's trouble).
2. The HTTP front, after them: bench/front.py (`python -m bench front` alone), in a section
   of its own.

The chaos figures go to the "Chaos (issue 15)" section of bench/RESULTS.md (replaced, the rest
of the file kept) and are printed. COHORTBOT_CHAOS_MEMBERS etc. scale the chaos run."""

from __future__ import annotations

import argparse
import os
import platform
from datetime import UTC, datetime
from pathlib import Path

from bench import front
from bench.common import save_section
from tests.chaos.harness import Plan, Report, run

HERE = Path(__file__).resolve().parent
SECTION = "## Chaos (issue 15)"


# -- the report --------------------------------------------------------------------------------


def section(chaos: Report, calm: Report) -> str:
    lines = [
        SECTION,
        "",
        "`python -m bench chaos` (not part of the full `python -m bench` run, which rewrites this",
        "file: keep this section when it does). "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, CPython {platform.python_version()}, "
        f"{os.cpu_count()} shared CPUs, load average {os.getloadavg()[0]:.1f}.",
        "",
    ]
    p = chaos.plan
    lines += [
        f"Chaos run: {chaos.members:,} Slack + {chaos.discord_members:,} Discord members, "
        f"3 replicas, {p.seconds:.0f} s of member traffic and faults, {chaos.kills} SIGKILLs, "
        f"{chaos.cuts} database cuts; the fault-free run has the same cohort and traffic.",
        "",
        "| measure | chaos | fault-free | floor |",
        "|---|---|---|---|",
        f"| drain (first due to last healthy scheduled message) | {chaos.drain_seconds:.1f} s "
        f"| {calm.drain_seconds:.1f} s | reported |",
        f"| worst delay of a healthy scheduled message | {chaos.worst_delay:.1f} s "
        f"| {calm.worst_delay:.1f} s | reported |",
        f"| scheduled messages lost / doubled (of {chaos.scheduled:,}) "
        f"| {chaos.scheduled_lost} / {chaos.scheduled_doubled} "
        f"| {calm.scheduled_lost} / {calm.scheduled_doubled} | 0 / 0 |",
        f"| replies lost / doubled (of {chaos.requests:,} requests) "
        f"| {chaos.replies_lost} / {chaos.replies_doubled} "
        f"| {calm.replies_lost} / {calm.replies_doubled} | 0 / 0 |",
        f"| acks over 3 s / failed (cut by SIGKILL, apart) "
        f"| {chaos.acks_over_3s} / {chaos.acks_failed} ({chaos.acks_killed}) "
        f"| {calm.acks_over_3s} / {calm.acks_failed} | 0 / 0 |",
        f"| delayed by another recipient's trouble (stalls) "
        f"| {chaos.delayed_by_other} ({chaos.stalls}) | {calm.delayed_by_other} | 0 |",
        f"| p99 ack | {chaos.p99_ack * 1000:.0f} ms | {calm.p99_ack * 1000:.0f} ms | < 3 s |",
        f"| Discord interactions delivered to several replicas | {chaos.multi_session} "
        f"| {calm.multi_session} | 0 |",
        f"| apart: replies cut by a SIGKILL between ack and answer | {chaos.replies_killed} "
        f"| {calm.replies_killed} | reported |",
        f"| apart: Discord interactions while no replica held the gateway (gaps) "
        f"| {chaos.no_session} ({_gaps(chaos)}) | {calm.no_session} | gaps <= 20 s |",
        "",
    ]
    return "\n".join(lines)


def _gaps(report: Report) -> str:
    return ", ".join(f"{g:.1f} s" for g in report.gateway_gaps) or "none"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench chaos", description=__doc__)
    parser.add_argument("--skip-chaos", action="store_true", help="the HTTP front only")
    parser.add_argument("--skip-front", action="store_true", help="the chaos runs only")
    parser.add_argument("--front-seconds", type=float, default=4.0)
    parser.add_argument("--front-rounds", type=int, default=3)
    parser.add_argument("--no-save", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if not args.skip_chaos:
        print("== chaos run", flush=True)
        chaos = run(Plan())
        print(chaos.summary(), flush=True)
        print("== fault-free run", flush=True)
        calm = run(Plan.calm())
        print(calm.summary(), flush=True)
        doc = section(chaos, calm)
        print("\n" + doc, flush=True)
        if not args.no_save:
            save_section(SECTION, doc)
            print(f"saved {HERE / 'RESULTS.md'}", flush=True)
    if not args.skip_front:
        front_args = ["--seconds", str(args.front_seconds), "--rounds", str(args.front_rounds)]
        front.main([*front_args, *(["--no-save"] if args.no_save else [])])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
