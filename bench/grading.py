"""Numeric grading against the labelled replies in tests/data/numeric_answers.yaml: accuracy
on the tuning and the held-out part, and the time to grade one reply once warm.

python -m bench.grading            # both parts and timings
python -m bench.grading --part tune
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.content import Content, Drill, get_content
from bot.features.drills.feedback import grade_number

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "numeric_answers.yaml"
PARTS = ("tune", "held-out")


@dataclass(frozen=True)
class Item:
    part: str
    drill: str
    reply: str
    right: bool
    why: str


@dataclass(frozen=True)
class Outcome:
    item: Item
    graded_right: bool
    read: str | None

    @property
    def agrees(self) -> bool:
        return self.graded_right == self.item.right


def load_items(path: Path = DATA) -> list[Item]:
    raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        Item(str(r["part"]), str(r["drill"]), str(r["reply"]), bool(r["right"]), str(r["why"]))
        for r in raw["items"]
    ]


def judge(items: list[Item], content: Content) -> list[Outcome]:
    out: list[Outcome] = []
    for item in items:
        drill: Drill = content.drills[item.drill]
        g = grade_number(item.reply, drill)
        out.append(Outcome(item, g.correct, g.read))
    return out


def accuracy(outcomes: list[Outcome]) -> float:
    return sum(o.agrees for o in outcomes) / len(outcomes) if outcomes else 0.0


def timings_ms(items: list[Item], content: Content, rounds: int = 5) -> tuple[float, float]:
    """p50 and p99 of grading one reply, after one warm-up pass (sympy imported, caches full)."""
    judge(items, content)
    samples: list[float] = []
    for _ in range(rounds):
        for item in items:
            drill = content.drills[item.drill]
            t = time.perf_counter()
            grade_number(item.reply, drill)
            samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    p99 = samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))]
    return statistics.median(samples), p99


# Replies of about 10 kB built to be slow: nesting, power towers, digit runs, chains.
HOSTILE = (
    "(" * 5000 + "1/6" + ")" * 5000,
    "9^" * 5000,
    "1" * 10_000,
    "1," * 5000,
    "0.5 = about " * 800,
    "1-" * 5000,
    "e" * 10_000,
    "C(10,3)/2^10 = " * 600,
)


def hostile_ms(content: Content) -> float:
    """The slowest of the hostile replies, graded once each after a warm-up."""
    drill = content.drills["prob-two-dice-sum-seven"]
    grade_number("1-(5/6)^4", drill)
    worst = 0.0
    for reply in HOSTILE:
        t = time.perf_counter()
        grade_number(reply, drill)
        worst = max(worst, (time.perf_counter() - t) * 1000)
    return worst


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--part", choices=PARTS, action="append")
    ap.add_argument("--show-misses", action="store_true")
    args = ap.parse_args(argv)
    content = get_content(())
    items = load_items()
    parts = args.part or list(PARTS)
    print("| part | replies | right verdicts | accuracy |")
    print("|---|---|---|---|")
    worst = 1.0
    for part in parts:
        outcomes = judge([i for i in items if i.part == part], content)
        acc = accuracy(outcomes)
        worst = min(worst, acc)
        agree = sum(o.agrees for o in outcomes)
        print(f"| {part} | {len(outcomes)} | {agree} | {acc:.1%} |")
        if args.show_misses:
            for o in outcomes:
                if not o.agrees:
                    miss = f"  miss {o.item.drill}: {o.item.reply!r} read {o.read!r}"
                    print(miss, file=sys.stderr)
    chosen = [i for i in items if i.part in parts]
    p50, p99 = timings_ms(chosen, content)
    print(f"\ngrading one reply once warm: p50 {p50:.2f} ms, p99 {p99:.2f} ms ({len(chosen)} x 5)")
    slowest = hostile_ms(content)
    print(f"slowest of {len(HOSTILE)} hostile 10 kB replies: {slowest:.1f} ms")
    return 0 if worst >= 0.97 and p99 < 50 and slowest < 100 else 1


if __name__ == "__main__":
    sys.exit(main())
