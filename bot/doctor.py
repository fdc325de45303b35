"""`cohortbot doctor`: what is wrong with this deployment, and what to do about it.

Each check reports ok, a warning (works, but probably not what you meant) or a failure (the bot
will not run properly), with the fix in one sentence. Secrets are never printed, only whether
they are set; database URLs are shown with the password hidden."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.config import Settings, SettingsError, load_settings

Status = Literal["ok", "warn", "fail"]

_DISCORD_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}")


_PG_TIMEOUT = {"connect_args": {"connect_timeout": 5}}


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""

    def lines(self) -> list[str]:
        mark = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}[self.status]
        out = [f"[{mark}] {self.name}: {self.detail}"]
        if self.fix:
            out.append(f"       fix: {self.fix}")
        return out


def run_checks(
    adapters: Sequence[Callable[[], Check | None]] = (), **overrides: object
) -> list[Check]:
    """Every check, in the order an operator would fix them; `adapters`: each platform
    adapter's own check of its settings (see check_platforms)."""
    try:
        settings = load_settings(**overrides)
    except SettingsError as exc:
        return [
            Check(
                "settings",
                "fail",
                str(exc),
                "correct it in the environment or in .env (see .env.example for every setting)",
            )
        ]
    checks = [Check("settings", "ok", "loaded")]
    checks += check_database(settings)
    checks.append(check_content(settings))
    checks += check_platforms(settings, adapters)
    return checks


def check_database(settings: Settings) -> list[Check]:
    from bot.db import migrate
    from bot.db.session import make_engine

    url = make_url(settings.database_url)
    shown = url.render_as_string(hide_password=True)
    sqlite = url.drivername.startswith("sqlite")
    if sqlite and url.database and url.database != ":memory:":
        path = Path(url.database)
        if not path.exists():
            # Connecting would create the file; a doctor should not change anything.
            return [
                Check(
                    "database",
                    "warn",
                    f"no SQLite file yet at {path.resolve()}",
                    "it is created and migrated on first start; or run `cohortbot db upgrade`",
                )
            ]
    # A server that does not answer should fail the check in seconds, not hang it.
    engine = make_engine(settings.database_url, **({} if sqlite else _PG_TIMEOUT))
    try:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
            return [
                Check(
                    "database",
                    "fail",
                    f"cannot reach {shown}: {reason}",
                    "check COHORTBOT_DATABASE_URL, that the server is running, and that this "
                    "user may connect to that database",
                )
            ]
        checks = [Check("database", "ok", f"reachable at {shown}")]
        current, head = migrate.current_revision(engine), migrate.head_revision()
        if current == head:
            checks.append(Check("migrations", "ok", f"schema at the newest revision ({head})"))
        elif current is not None and current not in migrate.known_revisions():
            checks.append(
                Check(
                    "migrations",
                    "fail",
                    f"the database is at revision {current}, which this version does not know",
                    "a newer cohortbot migrated it: install that version (never downgrade "
                    "the code under a migrated database)",
                )
            )
        else:
            where = "empty" if current is None else f"at {current}"
            checks.append(
                Check(
                    "migrations",
                    "warn" if sqlite else "fail",
                    f"schema {where}, newest is {head}",
                    "run `cohortbot db upgrade`"
                    + (" (SQLite is also upgraded on start)" if sqlite else " before starting"),
                )
            )
        return checks
    finally:
        engine.dispose()


def check_content(settings: Settings) -> Check:
    from bot.content import ContentError, content_dirs, load_content

    dirs = content_dirs(settings.extra_content_dirs)
    try:
        content = load_content(dirs)
    except ContentError as exc:
        shown = "; ".join(str(p) for p in exc.problems[:5])
        more = f" (and {len(exc.problems) - 5} more)" if len(exc.problems) > 5 else ""
        return Check(
            "content",
            "fail",
            f"{len(exc.problems)} problem(s): {shown}{more}",
            "fix the files named (`cohortbot content validate DIR` lists every problem), or "
            "remove the directory from COHORTBOT_CONTENT_DIRS",
        )
    return Check(
        "content",
        "ok",
        f"{len(content.drills)} drills, {len(content.letters)} letters from {len(dirs)} dir(s)",
    )


def _secret(value: object) -> str:
    get = getattr(value, "get_secret_value", None)
    return get().strip() if get else ""


def check_platforms(
    settings: Settings, adapters: Sequence[Callable[[], Check | None]] = ()
) -> list[Check]:
    """Each configured platform's line: the adapters' own checks (each None when its platform
    is not configured; the composition root passes them, the core knows no platform's
    settings), then Discord's token, which the core's settings hold."""
    checks = [c for c in (ask() for ask in adapters) if c is not None]
    if settings.has_discord:
        checks.append(_discord(_secret(settings.discord_token)))
    if not checks:
        return [
            Check(
                "platforms",
                "warn",
                "no Slack or Discord credentials: only the console works",
                "set SLACK_BOT_TOKEN + SLACK_SIGNING_SECRET (Slack) or DISCORD_TOKEN (Discord)",
            )
        ]
    return checks


def _discord(token: str) -> Check:
    if not token:
        return Check(
            "discord",
            "fail",
            "DISCORD_TOKEN is empty",
            "copy the token from the Developer Portal, Bot page (Reset Token)",
        )
    if token.lower().startswith("bot "):
        return Check(
            "discord", "fail", "DISCORD_TOKEN starts with 'Bot '", "remove the 'Bot ' prefix"
        )
    if not _DISCORD_TOKEN.fullmatch(token):
        return Check(
            "discord",
            "fail",
            "DISCORD_TOKEN does not look like a bot token (three parts separated by dots)",
            "copy the bot token itself, not the application id, public key or client secret",
        )
    return Check("discord", "ok", "bot token set")


def report(checks: list[Check]) -> tuple[str, int]:
    """The printed report and the exit code: 1 when anything failed, else 0."""
    lines = [line for c in checks for line in c.lines()]
    failed = [c for c in checks if c.status == "fail"]
    warned = [c for c in checks if c.status == "warn"]
    if failed:
        lines.append(f"{len(failed)} problem(s) to fix before the bot can run properly.")
    elif warned:
        lines.append(f"Ready, with {len(warned)} warning(s).")
    else:
        lines.append("All good.")
    return "\n".join(lines), 1 if failed else 0
