"""`python -m bench.feedback_eval`: how often the structure grader agrees with hand labels.

Reads the labelled answers in tests/data/ (a tuning part and a held-out part), runs the
framework check on each, and prints, per split and per framework part, the share of
(answer, part) verdicts that match the label and the F1 of "missing" (a part the answer lacks,
which is what the member is told to add). Also times one warm check of a typical answer."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.content import Content, get_content
from bot.features.drills.feedback import structure_check

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
SPLITS: dict[str, Path] = {
    "tuning": DATA / "framework_answers.yaml",
    "held-out": DATA / "framework_answers_heldout.yaml",
}


@dataclass(frozen=True)
class Labelled:
    id: str
    framework: str
    answer: str
    has: frozenset[str]


@dataclass
class Tally:
    """Counts for one part, with "missing" as the positive class."""

    right: int = 0
    total: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    wrong: list[str] = field(default_factory=list)

    def add(self, case: str, said_present: bool, is_present: bool) -> None:
        self.total += 1
        self.right += said_present == is_present
        if not said_present and not is_present:
            self.tp += 1
        elif not said_present and is_present:
            self.fp += 1
        elif said_present and not is_present:
            self.fn += 1
        if said_present != is_present:
            self.wrong.append(f"{case}: said {'found' if said_present else 'missing'}")

    def merge(self, other: Tally) -> None:
        self.right += other.right
        self.total += other.total
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.wrong += other.wrong

    @property
    def accuracy(self) -> float:
        return self.right / self.total if self.total else 1.0

    @property
    def missing_f1(self) -> float | None:
        """None when the part is never missing and never called missing: F1 is undefined."""
        denom = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denom if denom else None


def load(path: Path) -> list[Labelled]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        Labelled(a["id"], a["framework"], a["answer"], frozenset(a.get("has") or ()))
        for a in raw["answers"]
    ]


def evaluate(cases: Sequence[Labelled], content: Content) -> dict[str, Tally]:
    """Per "framework/part", the grader's agreement with the labels."""
    out: dict[str, Tally] = {}
    for case in cases:
        fw = content.frameworks[case.framework]
        unknown = case.has - {s.key for s in fw.steps}
        if unknown:
            raise ValueError(f"{case.id}: unknown parts {sorted(unknown)}")
        for part in structure_check(case.answer, fw):
            key = f"{case.framework}/{part.key}"
            out.setdefault(key, Tally()).add(case.id, part.present, part.key in case.has)
    return out


def overall(tallies: dict[str, Tally]) -> Tally:
    total = Tally()
    for t in tallies.values():
        total.merge(t)
    return total


def timings(
    cases: Sequence[Labelled], content: Content, clock: Callable[[], float], rounds: int = 20
) -> tuple[float, float]:
    """p50 and p99 milliseconds for one check, after one warm-up pass over every answer."""
    for case in cases:
        structure_check(case.answer, content.frameworks[case.framework])
    samples: list[float] = []
    for _ in range(rounds):
        for case in cases:
            t0 = clock()
            structure_check(case.answer, content.frameworks[case.framework])
            samples.append((clock() - t0) * 1000)
    samples.sort()
    return samples[len(samples) // 2], samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def _fmt_f1(f1: float | None) -> str:
    return "  n/a" if f1 is None else f"{f1:5.2f}"


def report(content: Content | None = None) -> str:
    content = content or get_content()
    lines: list[str] = []
    every: list[Labelled] = []
    for name, path in SPLITS.items():
        cases = load(path)
        every += cases
        tallies = evaluate(cases, content)
        tot = overall(tallies)
        lines.append(
            f"{name}: {len(cases)} answers, {tot.total} (answer, part) cases: parts right "
            f"{tot.accuracy:.1%}, F1 of missing {_fmt_f1(tot.missing_f1).strip()}"
        )
        for key, t in sorted(tallies.items()):
            lines.append(
                f"  {key:34} right {t.right:3}/{t.total:<3} ({t.accuracy:6.1%})  "
                f"F1 missing {_fmt_f1(t.missing_f1)}"
            )
    p50, p99 = timings(every, content, time.perf_counter)
    lines.append(f"time to judge one answer, warm: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    return "\n".join(lines)


def main() -> int:
    print(report())
    return 0


if __name__ == "__main__":
    sys.exit(main())
