"""A tiny metrics registry for `GET /metrics`, in Prometheus' text format (version 0.0.4).

Hand-written rather than prometheus_client: a few counters and one histogram do not justify a
dependency. Values live in this process; each replica is scraped on its own. Labels only ever
take values from a fixed set (declared command paths, outbox outcomes), never member input, so
the number of series stays bounded whatever members type."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.db.schedule_models import OutboxMessage

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

Labels = tuple[tuple[str, str], ...]


def _fmt_labels(labels: Labels, extra: tuple[tuple[str, str], ...] = ()) -> str:
    pairs = (*labels, *extra)
    if not pairs:
        return ""
    body = ",".join(f'{k}="{_escape(v)}"' for k, v in pairs)
    return "{" + body + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _num(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class Counter:
    def __init__(self, name: str, help_text: str) -> None:
        self.name, self.help = name, help_text
        self._values: dict[Labels, float] = {}
        self._lock = threading.Lock()

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def render(self) -> list[str]:
        out = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        with self._lock:
            items = sorted(self._values.items())
        out += [f"{self.name}{_fmt_labels(k)} {_num(v)}" for k, v in items]
        return out


class Histogram:
    def __init__(
        self, name: str, help_text: str, buckets: Iterable[float] = LATENCY_BUCKETS
    ) -> None:
        self.name, self.help = name, help_text
        self.buckets = tuple(sorted(buckets))
        # per label set: counts per bucket (not cumulative), sum, count
        self._series: dict[Labels, tuple[list[int], list[float]]] = {}
        self._lock = threading.Lock()

    def observe(self, value: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            counts, totals = self._series.setdefault(
                key, ([0] * (len(self.buckets) + 1), [0.0, 0.0])
            )
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    counts[i] += 1
                    break
            else:
                counts[-1] += 1
            totals[0] += value
            totals[1] += 1

    def render(self) -> list[str]:
        out = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        with self._lock:
            items = sorted((k, (list(c), list(t))) for k, (c, t) in self._series.items())
        for key, (counts, (total, n)) in items:
            running = 0
            for bound, c in zip((*self.buckets, math.inf), counts, strict=True):
                running += c
                le = (("le", _num(bound)),)
                out.append(f"{self.name}_bucket{_fmt_labels(key, le)} {running}")
            out.append(f"{self.name}_sum{_fmt_labels(key)} {_num(total)}")
            out.append(f"{self.name}_count{_fmt_labels(key)} {_num(n)}")
        return out


COMMANDS = Counter("cohortbot_commands_total", "Slash commands handled, by command.")
COMMAND_SECONDS = Histogram(
    "cohortbot_command_duration_seconds", "Time to handle a slash command, by command."
)
MESSAGES_SENT = Counter("cohortbot_messages_sent_total", "Queued messages delivered.")
MESSAGES_FAILED = Counter(
    "cohortbot_messages_failed_total",
    "Queued messages given up on: reason is failed (out of tries) or undeliverable.",
)
MESSAGES_RETRIED = Counter(
    "cohortbot_messages_retried_total", "Deliveries put back for a later try (incl. rate limits)."
)


@lru_cache(maxsize=1)
def _known_paths() -> frozenset[str]:
    from bot.commands import all_paths

    return frozenset(all_paths())


def command_handled(path: str, seconds: float) -> None:
    """Called by the router for every command; unknown names are counted under 'unknown'."""
    label = path if path in _known_paths() else "unknown"
    COMMANDS.inc(command=label)
    COMMAND_SECONDS.observe(seconds, command=label)


def message_finished(status: str) -> None:
    if status == "sent":
        MESSAGES_SENT.inc()
    else:
        MESSAGES_FAILED.inc(reason="failed" if status == "failed" else "undeliverable")


def _gauge(name: str, help_text: str, value: float) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {_num(value)}"]


def render(sessions: sessionmaker[Session] | None = None, now: datetime | None = None) -> str:
    """The whole exposition. With a session factory, the outbox gauges are read from the
    database at scrape time (one small query), so every replica reports the shared queue."""
    lines: list[str] = []
    for metric in (COMMANDS, COMMAND_SECONDS, MESSAGES_SENT, MESSAGES_FAILED, MESSAGES_RETRIED):
        lines += metric.render()
    if sessions is not None and now is not None:
        lines += _outbox_lines(sessions, now)
    return "\n".join(lines) + "\n"


def outbox_stats(session: Session, now: datetime) -> tuple[int, float]:
    """(pending rows, age in seconds of the oldest due one), for /metrics."""
    depth, oldest = session.execute(
        select(func.count(), func.min(OutboxMessage.due_at)).where(
            and_(OutboxMessage.status == "pending", OutboxMessage.due_at <= now)
        )
    ).one()
    age = (now - oldest).total_seconds() if oldest else 0.0
    return int(depth), age


def _outbox_lines(sessions: sessionmaker[Session], now: datetime) -> list[str]:
    def read() -> tuple[int, float]:
        with sessions() as session:
            return outbox_stats(session, now)

    try:
        depth, age = read()
        up = 1
    except Exception:  # a scrape must answer even while the database is away
        depth, age, up = 0, 0.0, 0
    lines = _gauge("cohortbot_database_up", "1 when the outbox could be read.", up)
    if up:
        lines += _gauge(
            "cohortbot_outbox_depth", "Pending queued messages that are due now.", depth
        )
        lines += _gauge(
            "cohortbot_outbox_oldest_age_seconds",
            "Age of the oldest pending due message (0 when none).",
            age,
        )
    return lines
