"""The cohort: leaderboard, mock pairing, and the organizer's commands."""

from __future__ import annotations

from bot.commandspec import Command, option
from bot.content import TRACKS

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

COMMANDS: tuple[Command, ...] = (
    Command(
        "leaderboard",
        "The cohort's leaderboard this week, shown only to you",
    ),
    Command(
        "mock",
        "Mock-interview pairing: join, leave, or see your partner",
        default="status",
        subcommands=(
            Command("join", "Be paired for a mock interview each week"),
            Command("leave", "Stop being paired"),
            Command("status", "Whether you are in, and this week's partner"),
        ),
    ),
    Command(
        "cohort",
        "Organizers: set up the cohort and its schedule, see members and what is coming",
        default="plan",
        subcommands=(
            Command(
                "setup",
                "Make this channel a cohort's home (new channel: new cohort), zone and start",
                options=(
                    option(
                        "zone", "the cohort's IANA time zone", required=False, autocomplete="zone"
                    ),
                    option("start", "the start date of the plan", type="text", required=False),
                ),
                admin=True,
                examples=("/cohort setup Europe/Berlin 2026-12-01",),
            ),
            Command(
                "join",
                "Join the cohort of this channel (you are in one cohort at a time)",
                examples=("/cohort join",),
            ),
            Command(
                "schedule",
                "When the leaderboard is posted (weekly)",
                options=(
                    option("what", "what to schedule", type="choice", choices=("leaderboard",)),
                    option("weekday", "day of the week", type="choice", choices=_WEEKDAYS),
                    option("time", "local time HH:MM"),
                ),
                admin=True,
                examples=("/cohort schedule leaderboard fri 16:00",),
            ),
            Command(
                "offday",
                "Add or remove a day without daily drills",
                options=(
                    option("change", "add or remove", type="choice", choices=("add", "remove")),
                    option("date", "the day, e.g. dec 24", type="text"),
                ),
                admin=True,
                examples=("/cohort offday add dec 24",),
            ),
            Command("plan", "The cohort's plan, stage by stage, with dates"),
            Command(
                "members",
                "The cohort's members: needs attention, on track, inactive",
                options=(
                    option(
                        "show",
                        "which group",
                        type="choice",
                        choices=("all", "attention", "on-track", "inactive"),
                        required=False,
                    ),
                    option("page", "page number", type="int", required=False, min_value=1),
                ),
                admin=True,
                examples=("/cohort members attention",),
            ),
            Command(
                "member",
                "One member: what they share, their status and drill history",
                options=(option("name", "the member's name or @mention", type="text"),),
                admin=True,
                examples=("/cohort member @ana",),
            ),
            Command(
                "digest",
                "When your weekly digest DM comes (default mon 09:00, your time)",
                options=(
                    option("weekday", "day of the week", type="choice", choices=_WEEKDAYS),
                    option("time", "local time HH:MM"),
                ),
                admin=True,
                examples=("/cohort digest fri 16:00",),
            ),
            Command(
                "export",
                "The cohort by week as a CSV, for outcome reporting (consent applies)",
                admin=True,
            ),
            Command(
                "pair",
                "Pair the mock-interview volunteers now",
                options=(option("when", "now", type="choice", choices=("now",)),),
                admin=True,
            ),
            Command(
                "preview", "What the scheduler will send in the next 7 days", admin=True, slow=True
            ),
            Command(
                "talk",
                "A drill a day posted in the channel for members to discuss (on or off)",
                options=(
                    option("state", "on or off", type="choice", choices=("on", "off")),
                    option(
                        "track",
                        "which drills (when turning it on)",
                        type="choice",
                        choices=tuple(TRACKS),
                        required=False,
                    ),
                ),
                admin=True,
                examples=("/cohort talk on system-design", "/cohort talk off"),
            ),
        ),
    ),
)
