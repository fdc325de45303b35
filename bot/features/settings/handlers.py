"""/settings: a member's zone, drill schedule, tracks, pause, leaderboard opt-in and data."""

from __future__ import annotations

import difflib
import json
import re
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import update

from bot.content import TRACK_SPELLINGS, TRACKS
from bot.dates import fmt_date, parse_date
from bot.db.models import Member, MemberSettings
from bot.db.organizer_models import DEFAULT_SHARE, PipelineSharing
from bot.db.ownership import delete_member, export_member
from bot.db.schedule_models import OutboxMessage
from bot.errors import NotAllowed, UserError
from bot.features.drills.daily import KIND as DAILY_KIND
from bot.router import Ctx, action, command
from bot.text import as_id, clip
from bot.types import Attachment, Button, Field, Outbound, Reply

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_ALIASES = {
    "weekdays": DAY_NAMES[:5],
    "weekends": DAY_NAMES[5:],
    "everyday": DAY_NAMES,
    "daily": DAY_NAMES,
    "all": DAY_NAMES,
}


@lru_cache(maxsize=1)
def _zones() -> dict[str, str]:
    """Lower-case name -> canonical IANA name."""
    return {z.lower(): z for z in available_timezones() if "/" in z or z == "UTC"}


def resolve_zone(text: str) -> str:
    """An IANA zone for `text`, forgiving case; UserError with suggestions otherwise."""
    name = text.strip().replace(" ", "_")
    zones = _zones()
    if name.lower() in zones:
        return zones[name.lower()]
    city = [z for low, z in zones.items() if low.rsplit("/", 1)[-1] == name.lower()]
    close = city or [
        zones[m] for m in difflib.get_close_matches(name.lower(), list(zones), n=3, cutoff=0.6)
    ]
    msg = f"I don't know the time zone {clip(text, 40)!r}. Use an IANA name like Europe/Berlin."
    if close:
        msg += " Did you mean " + " or ".join(close[:3]) + "?"
    raise UserError(
        msg, buttons=tuple(Button("settings.tz", z, f"Use {z}", "primary") for z in close[:3])
    )


def parse_hhmm(text: str) -> str:
    m = re.fullmatch(r"\s*(\d{1,2})[:.h](\d{2})\s*", text)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise UserError(
            f"{clip(text, 40)!r} isn't a time of day. "
            "Use 24-hour HH:MM, for example 08:30 or 18:00."
        )
    return f"{int(m.group(1)):02d}:{m.group(2)}"


def parse_days(text: str) -> tuple[str, ...]:
    raw = text.strip().lower().replace(" ", "")
    if raw in _DAY_ALIASES:
        return _DAY_ALIASES[raw]
    days: list[str] = []
    for part in filter(None, raw.split(",")):
        key = part[:3]
        if key not in DAY_NAMES or not _FULL_DAYS[DAY_NAMES.index(key)].startswith(part):
            raise UserError(
                f"{clip(part, 20)!r} isn't a day. Use mon,tue,wed,thu,fri,sat,sun, "
                "or weekdays, or everyday."
            )
        if key not in days:
            days.append(key)
    if not days:
        raise UserError("Name at least one day, e.g. mon,wed,fri, or weekdays.")
    return tuple(d for d in DAY_NAMES if d in days)


def parse_tracks(text: str) -> tuple[str, ...]:
    raw = text.strip().lower()
    if raw in ("all", "every", "everything", "*"):
        return ()
    chosen: list[str] = []
    for part in filter(None, (p.strip() for p in re.split(r"[,\s]+", raw))):
        part = TRACK_SPELLINGS.get(part, part)
        if part not in TRACKS:
            close = difflib.get_close_matches(part, list(TRACKS), n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            raise UserError(
                f"{clip(part, 30)!r} isn't a track.{hint} Tracks: {', '.join(TRACKS)}, or all."
            )
        if part not in chosen:
            chosen.append(part)
    if not chosen:
        raise UserError(f"Name at least one track: {', '.join(TRACKS)}, or all.")
    return tuple(chosen)


def _days_label(days: str) -> str:
    parts = tuple(d for d in days.split(",") if d)
    for alias in ("weekdays", "everyday", "weekends"):
        if parts == _DAY_ALIASES[alias]:
            return alias
    return ",".join(parts)


def resume_day(s: MemberSettings) -> date | None:
    """The day daily drills come back: `paused_until` is the last paused day (daily.py skips
    every day up to and including it), so "pause until Monday" stores Sunday."""
    return s.paused_until + timedelta(days=1) if s.paused_until else None


def show(ctx: Ctx, note: str | None = None) -> Reply:
    s = ctx.member.settings
    if s.paused:
        back = resume_day(s)
        status = f"paused until {fmt_date(back)}" if back else "paused"
    else:
        status = "active"
    tracks = "all" if not s.tracks else s.tracks.replace(",", ", ")
    fields = (
        Field("Time zone", s.timezone + ("" if s.timezone_set else " (default)")),
        Field("Daily drill", f"{s.drill_time} on {_days_label(s.drill_days)}, {status}"),
        Field("Tracks", tracks),
        Field("On the leaderboard", "pipeline counts shown" if s.public else "drills only"),
        Field("Organizers see", SHARE_MEANS[share_level(ctx)]),
    )
    summary = (
        f"Time zone {s.timezone}{'' if s.timezone_set else ' (default)'}; daily drill at "
        f"{s.drill_time} on {_days_label(s.drill_days)} "
        f"({status}); tracks: {tracks}; pipeline counts on the leaderboard: "
        f"{'on' if s.public else 'off'}; organizers see {SHARE_MEANS[share_level(ctx)]}."
    )
    text = f"{note}\n{summary}" if note else summary
    return Reply(
        text,
        title="Your settings",
        fields=fields,
        lead=note or "",  # a card shows the fields; the summary is for notifications
        footer="Only you can see this. Change any of it with /settings <what> <value>.",
    )


def _touch(ctx: Ctx) -> MemberSettings:
    s = ctx.member.settings
    s.updated_at = ctx.now
    return s


def _reschedule(ctx: Ctx) -> MemberSettings:
    """A change of drill time, zone, days or pause: the next daily drill is the first one
    due from now, never one whose time has already passed today ("good morning" at 21:00)."""
    s = _touch(ctx)
    s.daily_from = ctx.now
    return s


@command("settings show")
def settings_show(ctx: Ctx) -> Reply:
    return show(ctx)


def _set_zone(ctx: Ctx, text: str) -> Reply:
    zone = resolve_zone(text)
    s = _reschedule(ctx)
    s.timezone, s.timezone_set = zone, True
    local = ctx.now.astimezone(ZoneInfo(zone))
    return show(ctx, f"Time zone set to {zone} (it is {local:%H:%M} there now).")


@command("settings tz")
def settings_tz(ctx: Ctx) -> Reply:
    return _set_zone(ctx, ctx.arg("zone"))


@action("settings.tz")
def settings_tz_button(ctx: Ctx, value: str) -> Reply:
    return _set_zone(ctx, value)


@command("settings drill-time")
def settings_drill_time(ctx: Ctx) -> Reply:
    hhmm = parse_hhmm(ctx.arg("time"))
    _reschedule(ctx).drill_time = hhmm
    return show(ctx, f"Your daily drill will arrive at {hhmm} {ctx.member.settings.timezone}.")


@command("settings days")
def settings_days(ctx: Ctx) -> Reply:
    days = parse_days(ctx.arg("days"))
    _reschedule(ctx).drill_days = ",".join(days)
    return show(ctx, f"Daily drill days: {_days_label(','.join(days))}.")


@command("settings tracks")
def settings_tracks(ctx: Ctx) -> Reply:
    tracks = parse_tracks(ctx.arg("tracks"))
    _touch(ctx).tracks = ",".join(tracks)
    return show(ctx, "Tracks: " + (", ".join(tracks) if tracks else "all") + ".")


@command("settings pause")
def settings_pause(ctx: Ctx) -> Reply:
    text = re.sub(r"^\s*until\s+", "", ctx.arg("until"), flags=re.I)
    s = _touch(ctx)
    today = ctx.local_now.date()
    if not text:
        s.paused, s.paused_until = True, None
        _drop_queued_drills(ctx, today, None)
        return show(ctx, "Daily drills paused. /settings resume brings them back.")
    until = parse_date(text, ctx.tz, ctx.now)
    if until <= today:
        raise UserError(
            f"{fmt_date(until)} is not in the future; pick a later date. Nothing was changed."
        )
    # "Until Monday" means back on Monday: Sunday is the last paused day.
    s.paused, s.paused_until = True, until - timedelta(days=1)
    _drop_queued_drills(ctx, today, s.paused_until)
    return show(ctx, f"Daily drills paused; they resume on {fmt_date(until)}.")


def _drop_queued_drills(ctx: Ctx, first: date, last: date | None) -> None:
    """A pause applies to daily drills already queued for the paused days, not only to those
    still to be queued."""
    stmt = (
        update(OutboxMessage)
        .where(
            OutboxMessage.member_id == ctx.member.id,
            OutboxMessage.kind == DAILY_KIND,
            OutboxMessage.status == "pending",
            OutboxMessage.local_date >= first,
        )
        .values(status="dropped", last_error="the member paused daily drills")
    )
    if last is not None:
        stmt = stmt.where(OutboxMessage.local_date <= last)
    ctx.session.execute(stmt)


@command("settings resume")
def settings_resume(ctx: Ctx) -> Reply:
    s = _reschedule(ctx)
    was = s.paused
    s.paused, s.paused_until = False, None
    return show(ctx, "Daily drills resumed." if was else "Daily drills were not paused.")


@command("settings public")
def settings_public(ctx: Ctx) -> Reply:
    on = ctx.arg("state") == "on"
    _touch(ctx).public = on
    note = (
        "The leaderboard will show your pipeline counts (applications, interviews, offers); "
        "never company names or pay."
        if on
        else "The leaderboard will show only your drills and streak."
    )
    return show(ctx, note)


# What each consent level shows organizers, in the words the member and organizers both read.
SHARE_MEANS = {
    "none": "nothing of your job hunt (drills and streaks only)",
    "counts": "your pipeline's stage totals and dates, no company names",
    "details": "your applications with company names and stages",
}


def share_level(ctx: Ctx) -> str:
    row = ctx.session.get(PipelineSharing, ctx.member.id)
    return row.level if row is not None else DEFAULT_SHARE


@command("settings share")
def settings_share(ctx: Ctx) -> Reply:
    level = ctx.arg("level")
    row = ctx.session.get(PipelineSharing, ctx.member.id)
    if row is None:
        ctx.session.add(PipelineSharing(member_id=ctx.member.id, level=level, updated_at=ctx.now))
    else:
        row.level, row.updated_at = level, ctx.now
    ctx.session.flush()
    return show(ctx, f"Your organizers now see {SHARE_MEANS[level]}; never your pay.")


@command("settings export")
def settings_export(ctx: Ctx) -> Reply:
    data = export_member(ctx.session, ctx.member.id)
    blob = json.dumps(
        {"exported_at": ctx.now.isoformat(), "tables": data}, indent=2, ensure_ascii=False
    ).encode()
    rows = sum(len(v) for v in data.values())
    return Reply(
        f"Here is everything I keep about you: {rows} rows from {len(data)} tables, as JSON.",
        title="Your data",
        files=(Attachment(f"cohortbot-export-{ctx.member.id}.json", blob, "application/json"),),
    )


def _stamp(at: datetime) -> str:
    """A request time as whole microseconds: exact, and short enough for a button id."""
    return str((at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1))


@command("settings forget-me")
def settings_forget_me(ctx: Ctx) -> Reply:
    # The Yes button carries this request's stamp: Cancel, or a newer request, makes it stale.
    _touch(ctx).forget_requested_at = ctx.now
    mid = f"{ctx.member.id}:{_stamp(ctx.now)}"
    return Reply(
        "This deletes everything I keep about you: settings, drills and reviews, your pipeline, "
        "letters and nudges. It cannot be undone. Export first with /settings export if you "
        "want a copy.",
        title="Delete all your data?",
        buttons=(
            Button("settings.forget", mid, "Yes, delete everything", "danger"),
            Button("settings.keep", mid, "Cancel", "secondary"),
        ),
    )


ALREADY_DELETED = "There is nothing to cancel or delete: that data was already deleted."


def _own(ctx: Ctx, value: str) -> str:
    """The stamp in a forget-me button, once the button is known to be this member's."""
    mid, _, stamp = value.partition(":")
    if mid != str(ctx.member.id):
        owner = as_id(mid)  # a forged id may be any length: never hand it to the database raw
        if owner is not None and ctx.session.get(Member, owner) is None:
            # The button's owner is gone: pressed again after "Yes, delete everything",
            # which made this a fresh first contact. A refusal rolls that profile back.
            raise UserError(ALREADY_DELETED)
        raise NotAllowed("That button belongs to someone else; it does nothing for you.")
    # Ids can be reused once a row is deleted (SQLite does): a button older than this profile
    # belongs to the one that was deleted, however its id reads.
    born = int(_stamp(ctx.member.created_at))
    if stamp.isdigit() and (
        int(stamp) < born
        or (int(stamp) == born and ctx.member.settings.forget_requested_at is None)
    ):
        raise UserError(ALREADY_DELETED)
    return stamp


@action("settings.forget")
def settings_forget_confirmed(ctx: Ctx, value: str) -> list[Outbound]:
    stamp = _own(ctx, value)
    asked = ctx.member.settings.forget_requested_at
    if asked is None or stamp != _stamp(asked):
        stale = Reply(
            "That confirmation is out of date (it was cancelled, or a newer one was asked "
            "for). Nothing was deleted. Type /settings forget-me to start again.",
        )
        return [ctx.in_place(stale)]
    counts = delete_member(ctx.session, ctx.member.id)
    total = sum(counts.values())
    listed = ", ".join(f"{table} {n}" for table, n in sorted(counts.items()))
    done = Reply(
        f"Done. I deleted {total} rows about you ({listed}). If you use a command again, "
        "I will start a fresh profile.",
        title="Your data is gone",
    )
    return [ctx.in_place(done)]


@action("settings.keep")
def settings_keep(ctx: Ctx, value: str) -> list[Outbound]:
    _own(ctx, value)
    _touch(ctx).forget_requested_at = None  # the Yes button of this request is now stale
    return [ctx.in_place(Reply("Nothing was deleted."))]


def zone_choices(prefix: str, limit: int = 25) -> list[str]:
    """Zone names for autocomplete (Discord)."""
    p = prefix.lower().replace(" ", "_")
    names = sorted(_zones().values())
    starts = [z for z in names if z.lower().startswith(p)]
    contains = [z for z in names if p in z.lower() and z not in starts]
    return (starts + contains)[:limit]


__all__ = ["parse_days", "parse_hhmm", "resolve_zone", "zone_choices"]
