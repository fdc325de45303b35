"""A date typed the way the hints suggest (`2026-12-05`, `2026-12-05 14:00`) is read without
dateparser, and must read exactly as dateparser reads the same moment in words ("5 December
2026 14:00"), across zones with daylight saving and on the nights the clocks change."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import dates
from bot.dates import When, parse_when
from bot.errors import UserError

ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata")
# The changes of 2026-2027 in those zones, and a day either side.
CHANGES = [
    date(2026, 3, 29),
    date(2026, 10, 25),
    date(2026, 11, 1),
    date(2027, 3, 14),
    date(2027, 3, 28),
    date(2027, 4, 4),
    date(2027, 10, 3),
]
DAYS = st.one_of(
    st.sampled_from([d + timedelta(days=k) for d in CHANGES for k in (-1, 0, 1)]),
    st.dates(date(2025, 1, 1), date(2028, 12, 31)),
)
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def reading(text: str, zone: str, prefer: str) -> When | str:
    try:
        return parse_when(text, ZoneInfo(zone), NOW, prefer=prefer)  # type: ignore[arg-type]
    except UserError as e:
        return str(e)


@settings(max_examples=150, deadline=None)
@given(
    day=DAYS,
    clock=st.one_of(st.none(), st.times().map(lambda t: time(t.hour, t.minute))),
    zone=st.sampled_from(ZONES),
    prefer=st.sampled_from(["future", "nearest"]),
    sep=st.sampled_from([" ", "T"]),
)
def test_an_iso_date_reads_as_dateparser_reads_it(
    day: date, clock: time | None, zone: str, prefer: str, sep: str
) -> None:
    text = day.isoformat() if clock is None else f"{day.isoformat()}{sep}{clock:%H:%M}"
    # The same moment in words dateparser must read: "5 December 2026 14:00".
    words = f"{day.day} {day:%B} {day.year}" + ("" if clock is None else f" {clock:%H:%M}")
    calls: list[str] = []
    real = dates._dateparser_parse

    def counted(text: str, *args: Any, **kw: Any) -> datetime | None:
        calls.append(text)
        return real(text, *args, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dates, "_dateparser_parse", counted)
        fast = reading(text, zone, prefer)
        assert calls == []
        slow = reading(words, zone, prefer)
        assert calls  # the words went through dateparser
    assert fast == slow


@pytest.mark.parametrize(
    ("text", "zone", "utc"),
    [
        # Passed twice (New York falls back): the second, standard time, as dateparser has it.
        ("2026-11-01 01:30", "America/New_York", "2026-11-01T06:30:00+00:00"),
        # Skipped (Berlin springs forward): kept as typed, on the clock before the change.
        ("2027-03-28 02:30", "Europe/Berlin", "2027-03-28T01:30:00+00:00"),
        ("2026-12-05", "Asia/Kolkata", "2026-12-05T03:30:00+00:00"),  # 09:00 there
    ],
)
def test_iso_dates_on_the_nights_the_clocks_change(text: str, zone: str, utc: str) -> None:
    when = parse_when(text, ZoneInfo(zone), NOW)
    assert when.at.isoformat() == utc


def test_an_impossible_iso_date_is_refused_as_before() -> None:
    with pytest.raises(UserError, match="couldn't read '2026-02-30'"):
        parse_when("2026-02-30", ZoneInfo("UTC"), NOW)
