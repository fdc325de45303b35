"""Logging: one line per event, text or JSON. Only the fields we choose are written, never
arguments, answers, tokens or figures, so nothing private can leak through a log line."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import TextIO

_FIELDS = (
    "command",
    "ms",
    "job",
    "kind",
    "platform",
    "status",
    "count",
    "member",
    "error",
    "port",
    "slack",
    "discord",
)

# Our own loggers; every other library is held to WARNING and above (see _ThirdParty).
OURS = "cohortbot"

# Libraries that log request bodies, headers or SQL parameters at DEBUG/INFO: their loggers are
# raised too, so the records are not even built.
NOISY = (
    "slack_bolt",
    "slack_sdk",
    "discord",
    "urllib3",
    "aiohttp",
    "websocket",
    "websockets",
    "apscheduler",
    "alembic",
    "sqlalchemy",
    "asyncio",
    "matplotlib",
    "PIL",
    "dateparser",
    "tzlocal",
)

# SQLAlchemy puts the statement's parameters (member text, figures) into exception messages.
_SQL_PARAMS = re.compile(r"\[parameters: .*?\](?=\n|$)", re.S)


def _scrub(text: str) -> str:
    return _SQL_PARAMS.sub("[parameters hidden]", text)


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": _scrub(record.getMessage()),
        }
        for key in _FIELDS:
            if hasattr(record, key):
                data[key] = getattr(record, key)
        if record.exc_info:
            data["exc"] = _scrub(self.formatException(record.exc_info))
        return json.dumps(data, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(f"{k}={getattr(record, k)}" for k in _FIELDS if hasattr(record, k))
        message = _one_line(_scrub(record.getMessage()))
        line = f"{self.formatTime(record)} {record.levelname} {record.name}: {message}"
        if extras:
            line += " " + extras
        if record.exc_info:
            # Tracebacks stay readable on several lines in text; JSON keeps them in one field.
            line += "\n" + _scrub(self.formatException(record.exc_info))
        return line


class _ThirdParty(logging.Filter):
    """Lets another library's record through only at WARNING or above, whatever the level:
    at DEBUG, HTTP clients print bodies and headers (tokens, answers) and SQLAlchemy prints
    parameters. A filter on the handler catches loggers not listed in NOISY as well."""

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        if name == OURS or name.startswith(OURS + ".") or name == "root":
            return True
        return record.levelno >= logging.WARNING


def setup_logging(level: str = "INFO", fmt: str = "text", stream: TextIO | None = None) -> None:
    """Route every log record to one handler (stderr unless `stream` is given)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(_ThirdParty())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
