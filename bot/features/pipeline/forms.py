"""The pipeline's dated forms (an interview, an offer, its deadline) when submitted, and the
"Log an interview" shortcut that opens the first.

A date or time field arrives as a picker sends it (2026-12-05, 14:30) or as the member typed
it where the platform has no picker (Discord, the console): both are read in the member's zone
and stored in UTC. A typed date that could be read two ways is asked about (bot/router.py)."""

from __future__ import annotations

from datetime import UTC, datetime, time

from bot.dates import Prefer, at_local, fmt_date, fmt_when, read_date, read_time
from bot.errors import UserError, about
from bot.features.pipeline.handlers import (
    DEADLINE_TIME,
    KIND_LIMIT,
    _interview,
    _offer,
    deadline_form,
    interview_form,
    own,
    parse_amount,
    resolve,
)
from bot.router import Ctx, action, form, shortcut
from bot.text import clean
from bot.types import Reply


def _moment(
    ctx: Ctx,
    fields: dict[str, str],
    names: tuple[str, str],
    default: time,
    prefer: Prefer = "future",
) -> int:
    """Unix seconds of the day and time in fields `names`, read in the member's zone; a
    refusal names the field it is about."""
    day_name, time_name = names
    with about(day_name):
        day = read_date(fields.get(day_name, ""), ctx.tz, ctx.now, prefer=prefer)
    with about(time_name):
        typed = fields.get(time_name, "")
        clock = read_time(typed) if typed.strip() else default
    return int(at_local(day, clock, ctx.tz).timestamp())


@form("pipeline.interview")
def interview_submitted(ctx: Ctx, value: str, fields: dict[str, str]) -> Reply:
    if not fields.get("date", "").strip():
        raise UserError("Give the interview's date. Nothing was saved.", field="date")
    if not fields.get("time", "").strip():
        raise UserError("Give the interview's time. Nothing was saved.", field="time")
    # An interview is logged after it as often as before: "22 nov" is last week's.
    at = _moment(ctx, fields, ("date", "time"), time(9, 0), prefer="nearest")
    with about("kind"):
        kind = clean(fields.get("kind", ""), what="interview kind", limit=KIND_LIMIT).lower()
    args = {"at": str(at), "kind": kind}
    with about("company"):
        app = resolve(ctx, fields.get("company", ""), "interview", args)
    return _interview(ctx, app, args)


def _deadline_args(ctx: Ctx, fields: dict[str, str], names: tuple[str, str]) -> dict[str, str]:
    at = _moment(ctx, fields, names, DEADLINE_TIME)
    if at <= ctx.now.timestamp():
        shown = fmt_when(datetime.fromtimestamp(at, UTC), ctx.tz)
        raise UserError(
            f"That date ({shown}) has already passed: give a deadline in the future. "
            "Nothing was saved.",
            field=names[0],
        )
    return {"deadline": str(at)}


@form("pipeline.deadline")
def deadline_submitted(ctx: Ctx, value: str, fields: dict[str, str]) -> Reply:
    if not fields.get("date", "").strip():
        raise UserError("Give the deadline's date. Nothing was saved.", field="date")
    args = _deadline_args(ctx, fields, ("date", "time"))
    with about("company"):
        app = resolve(ctx, fields.get("company", ""), "deadline", args)
    return _offer(ctx, app, args)


@form("pipeline.offer")
def offer_submitted(ctx: Ctx, value: str, fields: dict[str, str]) -> Reply:
    args: dict[str, str] = {}
    day, clock = fields.get("deadline_date", ""), fields.get("deadline_time", "")
    if clock.strip() and not day.strip():
        raise UserError(
            "The deadline has a time but no date: give its date. Nothing was saved.",
            field="deadline_date",
        )
    if day.strip():
        args.update(_deadline_args(ctx, fields, ("deadline_date", "deadline_time")))
    if fields.get("base", "").strip():
        with about("base"):
            amount, currency = parse_amount(fields["base"], "base")
        args["base"] = str(amount)
        if currency:
            args["currency"] = currency
    if fields.get("start", "").strip():
        with about("start"):
            start = read_date(fields["start"], ctx.tz, ctx.now)
        if start < ctx.local_now.date():
            raise UserError(
                f"{fmt_date(start)} has already passed; give a start date ahead. "
                "Nothing was saved.",
                field="start",
            )
        args["start"] = start.isoformat()
    with about("company"):
        app = resolve(ctx, fields.get("company", ""), "offer", args)
    return _offer(ctx, app, args)


@action("pipeline.form")
def open_form(ctx: Ctx, value: str) -> Reply:
    """A button that opens one of these forms for one of the member's applications."""
    which, _, app_id = value.partition(":")
    app = own(ctx, app_id)
    if which == "interview":
        return Reply("When is it?", title="Log an interview", form=interview_form(ctx, app.company))
    if which == "deadline":
        return Reply(
            f"When must you answer {app.company}?",
            title="Offer deadline",
            form=deadline_form(ctx, app.company),
        )
    return Reply("That button no longer works.")


@shortcut("log_interview")
def log_interview(ctx: Ctx, text: str) -> Reply:
    return Reply(
        "Which company, and when? Fill in the form, or type /pipeline interview <company> <when>.",
        title="Log an interview",
        form=interview_form(ctx),
    )
