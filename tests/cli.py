"""The `cohortbot` command as an operator runs it: the installed console script in a child
process (run_cohortbot), or the same command line in this process (invoke_cohortbot), cheaper
where the child process is not what a test is about."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

EXE = Path(sys.executable).with_name("cohortbot")


def without_platforms(**env: str) -> dict[str, str]:
    """This environment and `env`, less the Slack and Discord tokens: `cohortbot` opens the
    console, as on a machine with no credentials."""
    full = {**os.environ, **env}
    full.pop("SLACK_BOT_TOKEN", None)
    full.pop("DISCORD_TOKEN", None)
    return full


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


@dataclass(frozen=True)
class Ran:
    """What a command line left: its exit status and what it wrote to stdout and stderr."""

    returncode: int
    stdout: str
    stderr: str


def invoke_cohortbot(
    monkeypatch: pytest.MonkeyPatch,
    *args: str,
    cwd: Path,
    env: Mapping[str, str],
    input: str = "",
) -> Ran:
    """`cohortbot ARGS` run in this process as run_cohortbot runs it in a child: exactly `env`
    as the environment (settings are read from it, and from `cwd`'s .env), `input` on a stdin
    that is no terminal, and stdout and stderr kept apart. An exception the command does not
    turn into an exit status propagates, as a traceback would end the process."""
    from typer.testing import CliRunner

    from bot.logs import NOISY
    from cohortbot.cli import app

    monkeypatch.chdir(cwd)
    for name in list(os.environ):
        if name not in env:
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # Commands that set up logging point the root logger at their stderr, which ends with the
    # command here; the rest of the test (and the tests after it) keep the logging they had.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    for name in NOISY:  # created now if need be, so that their level is restored too
        logging.getLogger(name)
    levels = {
        name: logger.level
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    try:
        result = CliRunner().invoke(app, list(args), input=input, catch_exceptions=False)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, old in levels.items():
            logging.getLogger(name).setLevel(old)
    return Ran(result.exit_code, result.stdout, result.stderr)
