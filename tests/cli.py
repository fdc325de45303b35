"""The installed `cohortbot` console script, run in a child process as an operator runs it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

EXE = Path(sys.executable).with_name("cohortbot")


def run_cohortbot(
    *args: str, cwd: Path, env: Mapping[str, str], input: str = ""
) -> subprocess.CompletedProcess[str]:
    """`cohortbot ARGS` with exactly `env` as its environment and `input` on stdin."""
    return subprocess.run(
        [str(EXE), *args],
        input=input,
        capture_output=True,
        text=True,
        env=dict(env),
        cwd=cwd,
        timeout=120,
        check=False,
    )
