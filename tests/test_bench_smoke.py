"""The benchmark harness runs end to end: `python -m bench --quick` on SQLite, a table saved.

Only the harness is checked here (every figure measured, no loss in the dispatcher, the
databases cleaned up); the figures themselves belong to the full run on a quiet machine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# Slow: the benchmarks as a subprocess.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def test_quick_bench_runs_and_saves_a_table(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--db", "sqlite", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    [saved] = list(tmp_path.glob("bench-*.md"))
    table = saved.read_text()
    for figure in (
        "1 latency /drill next",
        "1 latency /leaderboard",
        "1 latency /cohortbot",
        "2 Slack /drill",
        "3 fan-out growth",
        "4 dispatcher",
        "5 leaderboard build",
        "5 memory",
    ):
        assert f"| {figure}" in table, figure
    # Whatever the speed, the dispatcher never loses or doubles a message.
    dispatcher_rows = [line for line in table.splitlines() if line.startswith("| 4 dispatcher")]
    assert dispatcher_rows and all("lost 0, doubled 0" in r for r in dispatcher_rows)
    # A quick run never replaces the committed results of a full run.
    committed = ROOT / "bench" / "RESULTS.md"
    if committed.exists():
        assert "Plan(small=80," not in committed.read_text()
