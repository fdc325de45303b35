"""Dates in plain words ("next friday 5pm", "in 3 days", "dec 5"), read in the member's zone."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
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
# A clock time as typed inside a date (9:30, 2pm, 12:15 am): read here as well, since
# dateparser drops one it cannot read (25:00, 13pm) and keeps the date at the current time.
_CLOCK = re.compile(
    r"(?<![\d:.])(\d{1,2})(?::(\d{1,2}))?\s*(am|pm)\b|(?<![\d:.])(\d{1,2}):(\d{1,2})(?![\d:])",
    re.I,
)

# Which way a date without its year is read. A deadline or a start date lies ahead: "future".
# An interview is logged after the fact as often as before: "nearest" reads "22 nov" on
# 23 Nov as yesterday, and a date up to RECENT_PAST back as that past date, else ahead.
Prefer = Literal["future", "nearest"]
RECENT_PAST = timedelta(days=60)


def _since(today: date, prefer: Prefer) -> date:
    """The first day a date without its year may fall on."""
    return today - RECENT_PAST if prefer == "nearest" else today


@dataclass(frozen=True)
class When:
    at: datetime  # aware, in UTC
    has_time: bool

    def local(self, tz: ZoneInfo) -> datetime:
        return self.at.astimezone(tz)


def _dateparser_parse(
    text: str, tz: ZoneInfo, base: datetime, prefer: str = "future"
) -> datetime | None:
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
                "PREFER_DATES_FROM": prefer,
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


def _next_on(day: int, month: int, year: int | None, since: date) -> date | None:
    """The date `day`/`month` names: in `year`, or the first one from `since` on."""
    for y in (year,) if year else (since.year, since.year + 1):
        try:
            d = date(y, month, day)
        except ValueError:
            return None
        if year or d >= since:
            return d
    return None


class AmbiguousDate(UserError):
    """A typed date whose day and month could swap (03/04): both readings, so whoever knows
    the command can offer each as a button (bot/router.py) instead of guessing."""

    def __init__(
        self,
        message: str,
        typed: str,
        matched: str,
        readings: tuple[date, date],
        today: date | None = None,
    ):
        super().__init__(message)
        self.typed = typed  # the whole text read as a date
        self.matched = matched  # the part that is ambiguous, e.g. "03/04"
        self.readings = readings  # (day first, month first)
        self.today = today

    def label(self, reading: date) -> str:
        return _spoken(reading, self.readings, self.today)


def _refuse_ambiguous(raw: str, today: date, prefer: Prefer = "future") -> None:
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
    since = _since(today, prefer)
    day_first, month_first = _next_on(a, b, year, since), _next_on(b, a, year, since)
    if day_first is None or month_first is None:
        return
    both = (day_first, month_first)
    raise AmbiguousDate(
        f"Did you mean {_spoken(day_first, both, today)} or {_spoken(month_first, both, today)}? "
        f"Write {day_first.isoformat()} or {day_first.day} {day_first:%b} for the first, "
        f"{month_first.isoformat()} or {month_first.day} {month_first:%b} for the second.",
        raw,
        m.group(0),
        both,
        today,
    )


_NEAR = {-1: "yesterday", 0: "today", 1: "tomorrow"}


def _spoken(d: date, readings: tuple[date, ...] = (), today: date | None = None) -> str:
    """'5 December'; with its year when the readings fall in different years, and 'yesterday'
    or 'tomorrow' beside it when it is that close."""
    shown = f"{d.day} {d:%B}"
    if len({r.year for r in readings}) > 1:
        shown += f" {d.year}"
    if today is not None and (near := _NEAR.get((d - today).days)):
        shown += f" ({near})"
    return shown


def parse_when(
    text: str,
    tz: ZoneInfo,
    now: datetime,
    *,
    default_time: time = time(9, 0),
    prefer: Prefer = "future",
) -> When:
    """Read `text` as a moment in `tz`; raise UserError when it is not a date, or names a
    time of day that is none (25:00, 13pm)."""
    raw = text.strip()
    if not raw or len(raw) > 100:
        raise UserError(
            f"I couldn't read {raw[:40]!r} as a date. Try 'dec 5', 'in 3 days' or "
            "'2026-12-05 14:00'."
        )
    local_now = now.astimezone(tz)
    typed_clock = _typed_clock(raw)
    _refuse_ambiguous(raw, local_now.date(), prefer)
    if (iso := _iso_when(raw, typed_clock, default_time, tz)) is not None:
        return iso
    expanded = _expand_weekday(raw, local_now)
    base = local_now.replace(second=0, microsecond=0)
    parsed = _dateparser_parse(expanded, tz, base)
    if parsed is None:
        raise UserError(
            f"I couldn't read {raw[:40]!r} as a date. Try 'dec 5', 'next friday 5pm', "
            "'in 3 days' or '2026-12-05 14:00'."
        )
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    if prefer == "nearest":
        parsed = _recent(expanded, tz, base, parsed)
    if typed_clock is not None and (parsed.hour, parsed.minute) != (
        typed_clock.hour,
        typed_clock.minute,
    ):
        wall = datetime.combine(parsed.date(), typed_clock, tzinfo=tz)
        if wall.astimezone(UTC).astimezone(tz).time() == typed_clock:
            raise UserError(
                f"I read {raw[:40]!r} as {fmt_when(parsed, tz)}, not {typed_clock:%H:%M} as "
                f"written. Give the date, then the time in your zone ({tz.key}), e.g. "
                "'dec 5 14:30'. Nothing was saved."
            )
        parsed = wall  # a wall time the clocks skip (spring forward) moves on, as in a form
    has_time = bool(_TIME_OF_DAY.search(raw))
    local = parsed if has_time else datetime.combine(parsed.date(), default_time, tzinfo=tz)
    return When(local.astimezone(UTC), has_time)


_ISO_WHEN = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[ T]\d{1,2}:\d{2})?")


def _iso_when(raw: str, typed_clock: time | None, default_time: time, tz: ZoneInfo) -> When | None:
    """`2026-12-05` or `2026-12-05 14:00` (what the hints suggest, and what pickers send),
    read as dateparser reads them, without it: a wall time the clocks skip is kept as typed,
    like any other. None for the rest, an impossible date included (dateparser words that)."""
    m = _ISO_WHEN.fullmatch(raw)
    if m is None:
        return None
    try:
        day = date.fromisoformat(m.group(1))
    except ValueError:
        return None
    local = datetime.combine(day, typed_clock or default_time, tzinfo=tz)
    # Of a wall time the clocks pass twice, the second, as dateparser reads it (fold=1 changes
    # nothing elsewhere); a skipped one, which fold=1 would move, stays as typed.
    later = local.replace(fold=1)
    if later.astimezone(UTC).astimezone(tz).time() == later.time():
        local = later
    return When(local.astimezone(UTC), typed_clock is not None)


def _typed_clock(raw: str) -> time | None:
    """The clock time typed in a date's text, checked: a UserError when it is no time of day."""
    m = _CLOCK.search(raw)
    if m is None:
        return None
    if m.group(1) is not None:
        return _clock(m.group(0), m.group(1), m.group(2), m.group(3))
    return _clock(m.group(0), m.group(4), m.group(5), None)


def _recent(text: str, tz: ZoneInfo, base: datetime, ahead: datetime) -> datetime:
    """`ahead`, dateparser's future reading, or the same date a year earlier when the text
    named no year and that date is at most RECENT_PAST ago (yesterday's interview)."""
    if ahead.date() - base.date() < timedelta(days=365) - RECENT_PAST - timedelta(days=1):
        return ahead  # the year before lies further back than RECENT_PAST
    back = _dateparser_parse(text, tz, base, prefer="past")
    if back is None:
        return ahead
    back = back if back.tzinfo else back.replace(tzinfo=tz)
    same_day = (back.month, back.day) == (ahead.month, ahead.day)
    if same_day and back.year == ahead.year - 1 and back.date() >= _since(base.date(), "nearest"):
        return back
    return ahead


def parse_date(text: str, tz: ZoneInfo, now: datetime, *, prefer: Prefer = "future") -> date:
    return parse_when(text, tz, now, prefer=prefer).local(tz).date()


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def read_date(text: str, tz: ZoneInfo, now: datetime, *, prefer: Prefer = "future") -> date:
    """A form's date field: 2026-12-05 as a picker sends it, or a typed date (ambiguous
    ones refused with both readings)."""
    raw = text.strip()
    if _ISO_DATE.fullmatch(raw):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    return parse_date(raw, tz, now, prefer=prefer)


def read_time(text: str) -> time:
    """A form's time field: 14:30 as a picker sends it, or typed (9, 9am, 2:30 pm, noon)."""
    raw = text.strip().lower().replace(".", ":")
    if raw in ("noon", "midday"):
        return time(12, 0)
    if raw == "midnight":
        return time(0, 0)
    m = re.fullmatch(r"(\d{1,2})(?::(\d{1,2}))?\s*(am|pm)?", raw)
    if m is None:
        raise UserError(
            f"I couldn't read {text.strip()[:20]!r} as a time of day. Try 14:30 or 2:30pm."
        )
    return _clock(text.strip(), m.group(1), m.group(2), m.group(3))


def _clock(typed: str, hour_text: str, minute_text: str | None, half: str | None) -> time:
    """A time of day from its typed parts, or a UserError saying which part is out of range:
    never a near guess (13pm is neither 1pm nor 13:00)."""
    hour, minute = int(hour_text), int(minute_text or 0)
    shown = typed[:20]
    if minute_text is not None and (len(minute_text) != 2 or minute > 59):
        raise UserError(
            f"{shown!r} isn't a time of day: minutes go from 00 to 59. Try 14:30 or 2:30pm. "
            "Nothing was saved."
        )
    if half is not None:
        if not 1 <= hour <= 12:
            raise UserError(
                f"{shown!r} isn't a time of day: with am or pm the hour goes from 1 to 12. "
                "Try 1pm, or 13:00 without pm. Nothing was saved."
            )
        return time(hour % 12 + (12 if half.lower() == "pm" else 0), minute)
    if hour > 23:
        raise UserError(
            f"{shown!r} isn't a time of day: the hour goes from 0 to 23. Try 14:30 or 2:30pm. "
            "Nothing was saved."
        )
    return time(hour, minute)


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
