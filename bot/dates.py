"""Dates in plain words ("next friday 5pm", "in 3 days", "dec 5"), read in the member's zone."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.errors import UserError

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TIME_OF_DAY = re.compile(
    r"\d{1,2}:\d{2}|\d\s*(?:am|pm)\b|\bnoon\b|\bmidnight\b|\bin\s+\d+\s*(?:hours?|minutes?|mins?|h)\b",
    re.I,
)
# 5/12 is 5 December in Berlin and May 12 in New York; dateparser would quietly pick one.
_SLASHED = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?(?![\d/])")
_NEXT_WEEKDAY = re.compile(r"^\s*(?:next|this|on)\s+(" + "|".join(_WEEKDAYS) + r")\b(.*)$", re.I)


@dataclass(frozen=True)
class When:
    at: datetime  # aware, in UTC
    has_time: bool

    def local(self, tz: ZoneInfo) -> datetime:
        return self.at.astimezone(tz)


def _dateparser_parse(text: str, tz: ZoneInfo, base: datetime) -> datetime | None:
    import dateparser  # slow import, paid only by commands that read dates

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found: datetime | None = dateparser.parse(
            text,
            languages=["en"],
            settings={
                "TIMEZONE": str(tz),
                "TO_TIMEZONE": str(tz),
                "RETURN_AS_TIMEZONE_AWARE": True,
                "PREFER_DATES_FROM": "future",
                "RELATIVE_BASE": base.replace(tzinfo=None),
            },
        )
    return found


def _expand_weekday(text: str, local_now: datetime) -> str:
    """dateparser reads "next friday" unreliably; turn it into an explicit date first."""
    m = _NEXT_WEEKDAY.match(text)
    if not m:
        return text
    target = _WEEKDAYS.index(m.group(1).lower())
    ahead = (target - local_now.weekday()) % 7 or 7
    day = (local_now + timedelta(days=ahead)).date()
    return f"{day.isoformat()}{m.group(2)}"


def _next_on(day: int, month: int, year: int | None, today: date) -> date | None:
    """The date `day`/`month` names: in `year`, or the next one from `today` on."""
    for y in (year,) if year else (today.year, today.year + 1):
        try:
            d = date(y, month, day)
        except ValueError:
            return None
        if year or d >= today:
            return d
    return None


class AmbiguousDate(UserError):
    """A typed date whose day and month could swap (03/04): both readings, so whoever knows
    the command can offer each as a button (bot/router.py) instead of guessing."""

    def __init__(self, message: str, typed: str, matched: str, readings: tuple[date, date]):
        super().__init__(message)
        self.typed = typed  # the whole text read as a date
        self.matched = matched  # the part that is ambiguous, e.g. "03/04"
        self.readings = readings  # (day first, month first)

    def label(self, reading: date) -> str:
        return _spoken(reading)


def _refuse_ambiguous(raw: str, today: date) -> None:
    """Refuse a slashed date whose day and month could swap, naming both readings: guessing
    either way is wrong for half the cohort, and a wrong interview date is costly."""
    m = _SLASHED.search(raw)
    if m is None:
        return
    a, b = int(m.group(1)), int(m.group(2))
    if a == b or not (1 <= a <= 12 and 1 <= b <= 12):
        return
    year = None
    if m.group(3):
        year = int(m.group(3)) + (2000 if len(m.group(3)) == 2 else 0)
    day_first, month_first = _next_on(a, b, year, today), _next_on(b, a, year, today)
    if day_first is None or month_first is None:
        return
    raise AmbiguousDate(
        f"Did you mean {_spoken(day_first)} or {_spoken(month_first)}? Write "
        f"{day_first.isoformat()} or {day_first.day} {day_first:%b} for the first, "
        f"{month_first.isoformat()} or {month_first.day} {month_first:%b} for the second.",
        raw,
        m.group(0),
        (day_first, month_first),
    )


def _spoken(d: date) -> str:
    return f"{d.day} {d:%B}"


def parse_when(text: str, tz: ZoneInfo, now: datetime, *, default_time: time = time(9, 0)) -> When:
    """Read `text` as a moment in `tz`; raise UserError when it is not a date."""
    raw = text.strip()
    if not raw or len(raw) > 100:
        raise UserError(
            f"I couldn't read {raw[:40]!r} as a date. Try 'dec 5', 'in 3 days' or "
            "'2026-12-05 14:00'."
        )
    local_now = now.astimezone(tz)
    _refuse_ambiguous(raw, local_now.date())
    expanded = _expand_weekday(raw, local_now)
    parsed = _dateparser_parse(expanded, tz, local_now.replace(second=0, microsecond=0))
    if parsed is None:
        raise UserError(
            f"I couldn't read {raw[:40]!r} as a date. Try 'dec 5', 'next friday 5pm', "
            "'in 3 days' or '2026-12-05 14:00'."
        )
    has_time = bool(_TIME_OF_DAY.search(raw))
    if has_time:
        local = parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    else:
        local = datetime.combine(parsed.date(), default_time, tzinfo=tz)
    return When(local.astimezone(UTC), has_time)


def parse_date(text: str, tz: ZoneInfo, now: datetime) -> date:
    return parse_when(text, tz, now).local(tz).date()


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_HH_MM = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


def read_date(text: str, tz: ZoneInfo, now: datetime) -> date:
    """A form's date field: 2026-12-05 as a picker sends it, or a typed date (ambiguous
    ones refused with both readings)."""
    raw = text.strip()
    if _ISO_DATE.fullmatch(raw):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    return parse_date(raw, tz, now)


def read_time(text: str) -> time:
    """A form's time field: 14:30 as a picker sends it, or typed (9, 9am, 2:30 pm, noon)."""
    raw = text.strip().lower().replace(".", ":")
    if m := _HH_MM.fullmatch(raw):
        return time(int(m.group(1)), int(m.group(2)))
    if raw in ("noon", "midday"):
        return time(12, 0)
    if raw == "midnight":
        return time(0, 0)
    m2 = re.fullmatch(r"(\d{1,2})(?::([0-5]\d))?\s*(am|pm)?", raw)
    if m2:
        hour, minute = int(m2.group(1)), int(m2.group(2) or 0)
        if m2.group(3):
            if not 1 <= hour <= 12:
                hour = 99
            hour = hour % 12 + (12 if m2.group(3) == "pm" else 0)
        if hour <= 23:
            return time(hour, minute)
    raise UserError(f"I couldn't read {text.strip()[:20]!r} as a time of day. Try 14:30 or 2:30pm.")


def read_moment(text: str, tz: ZoneInfo, now: datetime, *, default_time: time = time(9, 0)) -> When:
    """A form's date-and-time field: an ISO 8601 moment with its offset as a picker sends it
    (already an instant), or typed words read in the member's zone."""
    raw = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?([+-]\d{2}:\d{2}|Z)", raw):
        try:
            at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return When(at.astimezone(UTC), True)
    return parse_when(raw, tz, now, default_time=default_time)


def at_local(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """`day` at `clock` in `tz`, as a UTC instant (a wall time skipped by DST moves on)."""
    local = datetime.combine(day, clock, tzinfo=tz)
    return local.astimezone(UTC)


def fmt_when(at: datetime, tz: ZoneInfo, *, with_time: bool = True) -> str:
    """'Fri 5 Dec 2026, 17:00 (Europe/Berlin)': always with the weekday."""
    local = at.astimezone(tz)
    day = f"{local:%a} {local.day} {local:%b %Y}"
    return f"{day}, {local:%H:%M} ({tz.key})" if with_time else day


def fmt_date(d: date) -> str:
    return f"{d:%a} {d.day} {d:%b %Y}"
