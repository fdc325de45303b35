"""The member's own settings and data."""

from __future__ import annotations

from bot.commandspec import Command, option

COMMANDS: tuple[Command, ...] = (
    Command(
        "settings",
        "Your time zone, drill time and days, tracks, pause, privacy and your data",
        default="show",
        subcommands=(
            Command("show", "Show your settings"),
            Command(
                "tz",
                "Set your time zone (IANA name, e.g. Europe/Berlin)",
                options=(option("zone", "an IANA time zone", autocomplete="zone"),),
                examples=("/settings tz America/New_York",),
            ),
            Command(
                "drill-time",
                "When your daily drill arrives, in your time (HH:MM)",
                options=(option("time", "a local time, 24-hour HH:MM"),),
                examples=("/settings drill-time 08:30",),
            ),
            Command(
                "days",
                "Which days the daily drill comes: mon,tue,... or weekdays or everyday",
                options=(option("days", "mon,tue,wed,thu,fri,sat,sun | weekdays | everyday"),),
                examples=("/settings days mon,wed,fri", "/settings days weekdays"),
            ),
            Command(
                "tracks",
                "Which drill tracks you practise (comma list, or all)",
                options=(option("tracks", "comma-separated track ids, or all", type="text"),),
                examples=("/settings tracks behavioral,system-design",),
            ),
            Command(
                "pause",
                "Pause the daily drill, for good or until a date",
                options=(option("until", "a date, e.g. until dec 5", type="text", required=False),),
                examples=("/settings pause", "/settings pause until 2026-12-05"),
            ),
            Command("resume", "Resume the daily drill"),
            Command(
                "public",
                "Show your pipeline counts on the leaderboard (off by default)",
                options=(option("state", "on or off", type="choice", choices=("on", "off")),),
            ),
            Command(
                "share",
                "What your organizers may see of your job hunt (counts by default)",
                options=(
                    option(
                        "level",
                        "none, counts (stage totals and dates) or details (with company names)",
                        type="choice",
                        choices=("none", "counts", "details"),
                    ),
                ),
                details="Compensation is never shown to anyone, whatever you choose.",
                examples=("/settings share none", "/settings share details"),
            ),
            Command("export", "All your data, as a JSON file only you receive"),
            Command("forget-me", "Delete everything the bot keeps about you (asks first)"),
        ),
    ),
)
