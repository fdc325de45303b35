"""The `cohortbot` command: run, console, serve, db, content."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.config import Settings, SettingsError, load_settings
from bot.logs import setup_logging

if TYPE_CHECKING:
    from adapters.slack.settings import SlackSettings

app = typer.Typer(
    help="Cohortbot: drills, a private job-hunt pipeline with nudges, and a cohort leaderboard.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema: upgrade and inspect migrations.")
content_app = typer.Typer(help="Content banks: validate drills, questions, letters and the plan.")
app.add_typer(db_app, name="db")
app.add_typer(content_app, name="content")


def _add_discord() -> None:
    from adapters.discord.cli import discord_app

    app.add_typer(discord_app, name="discord")


_add_discord()


def _settings(**overrides: object) -> Settings:
    try:
        settings = load_settings(**overrides)
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    return settings


def _slack_settings() -> SlackSettings:
    from adapters.slack.settings import load_slack_settings

    try:
        return load_slack_settings()
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def _console(settings: Settings, user: str, start: datetime | None = None) -> None:
    from adapters.console import Console
    from adapters.memory import MemoryWorkspace
    from bot.app import build_app
    from bot.clock import ManualClock
    from bot.content import ContentError

    # The console is for people, so only warnings reach the terminal.
    setup_logging("WARNING" if settings.log_level != "DEBUG" else "DEBUG", settings.log_format)
    clock = ManualClock(start or datetime.now(UTC).replace(second=0, microsecond=0))
    try:
        core = build_app(settings, clock)
    except ContentError as exc:
        typer.echo(f"Content problems:\n{exc}", err=True)
        raise typer.Exit(2) from None
    ws = MemoryWorkspace(core, clock, platform="console", workspace_id="console")
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    Console(ws, interactive=interactive, user=user).run(sys.stdin)


@app.callback(invoke_without_command=True)
def main_callback(ctx: typer.Context) -> None:
    """With no command: serve Slack/Discord when credentials are set, else open the console."""
    if ctx.invoked_subcommand is not None:
        return
    settings = _settings()
    if _slack_settings().enabled or settings.has_discord:
        _serve(settings, settings.port)
        return
    typer.echo(
        "No Slack or Discord credentials set (SLACK_BOT_TOKEN + SLACK_SIGNING_SECRET, or "
        "DISCORD_TOKEN): opening the console workspace.",
        err=True,
    )
    _console(settings, "alice")


@app.command()
def console(
    user: Annotated[str, typer.Option("--user", help="the member you type as")] = "alice",
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="overrides COHORTBOT_DATABASE_URL")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--start",
            help="the simulated clock's first instant, ISO 8601 in UTC (default: now), "
            "for scripted sessions that must not depend on today's date",
        ),
    ] = None,
) -> None:
    """A terminal workspace on the same core: several members, a channel and a clock."""
    overrides = {"database_url": database_url} if database_url else {}
    _console(_settings(**overrides), user, _parse_start(start) if start else None)


def _parse_start(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        typer.echo(
            f"--start {text!r} is not an ISO 8601 instant (e.g. 2027-03-08T07:00).", err=True
        )
        raise typer.Exit(2) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _serve(settings: Settings, port: int) -> None:
    slack = _slack_settings()
    if not (slack.enabled or settings.has_discord):
        typer.echo(
            "Nothing to serve: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (Slack) or "
            "DISCORD_TOKEN (Discord). Without them, try `cohortbot console`.",
            err=True,
        )
        raise typer.Exit(2)
    problem = slack.cannot_serve() if slack.enabled else None
    if problem:
        typer.echo(problem, err=True)
        raise typer.Exit(2)
    from adapters.serve import serve as run_server
    from bot.app import NotMigrated, build_app

    setup_logging(settings.log_level, settings.log_format)
    try:
        core = build_app(settings)
    except NotMigrated as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    run_server(settings, port, core, slack=slack if slack.enabled else None)


@app.command()
def serve(
    port: Annotated[int | None, typer.Option("--port", help="HTTP port (COHORTBOT_PORT)")] = None,
) -> None:
    """Run the Slack and/or Discord adapters with the scheduler."""
    settings = _settings()
    _serve(settings, port or settings.port)


@app.command("slack-manifest")
def slack_manifest(
    url: Annotated[
        str | None,
        typer.Option(
            "--url", help="public base URL of `cohortbot serve`, e.g. https://bot.example"
        ),
    ] = None,
    socket_mode: Annotated[
        bool, typer.Option("--socket-mode", help="for Socket Mode (no public URL needed)")
    ] = False,
    fmt: Annotated[str, typer.Option("--format", help="yaml or json")] = "yaml",
) -> None:
    """Print the Slack app manifest, generated from the command tree, to paste into Slack."""
    from adapters.slack.manifest import manifest, render_manifest

    if fmt not in ("yaml", "json"):
        typer.echo("--format is yaml or json.", err=True)
        raise typer.Exit(2)
    typer.echo(render_manifest(manifest(url, socket_mode=socket_mode), fmt))


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Bring the database schema up to date (run before starting new replicas)."""
    from bot.db import migrate
    from bot.db.session import make_engine

    settings = _settings()
    engine = make_engine(settings.database_url)
    # Closed here, not at the process's exit, so that the command leaves no connection open when
    # it is run inside a longer-lived process (the tests run it in theirs).
    try:
        migrate.upgrade(engine, revision)
        typer.echo(f"Database at revision {migrate.current_revision(engine)}.")
    finally:
        engine.dispose()


@app.command()
def doctor() -> None:
    """Check settings, database, migrations, content and credentials; say what to fix."""
    from adapters.slack.settings import doctor_check as slack_check
    from bot.doctor import report, run_checks

    text, code = report(run_checks(adapters=(slack_check,)))
    typer.echo(text)
    raise typer.Exit(code)


@db_app.command("current")
def db_current() -> None:
    """Show the database's migration revision and the newest one."""
    from bot.db import migrate
    from bot.db.session import make_engine

    engine = make_engine(_settings().database_url)
    try:
        cur, head = migrate.current_revision(engine), migrate.head_revision()
    finally:
        engine.dispose()
    typer.echo(
        f"current: {cur or 'empty'}; newest: {head}"
        + ("" if cur == head else " (run `cohortbot db upgrade`)")
    )


@content_app.command("validate")
def content_validate(
    dirs: Annotated[list[Path] | None, typer.Argument(help="content directories")] = None,
) -> None:
    """Check content banks; print every problem with file and line, exit 1 on any."""
    from bot.content import TRACKS, ContentError, content_dirs, load_content

    # With no argument: what the bot would load, the built-in banks plus the organizer's.
    targets = dirs or content_dirs(_settings().extra_content_dirs)
    try:
        content = load_content(targets)
    except ContentError as exc:
        for problem in exc.problems:
            typer.echo(str(problem))
        typer.echo(f"{len(exc.problems)} problem(s) found.", err=True)
        raise typer.Exit(1) from None
    per_track = ", ".join(f"{t} {len(content.drills_in(t))}" for t in TRACKS)
    typer.echo(
        f"OK: {len(content.drills)} drills ({per_track}); {len(content.questions)} questions; "
        f"{len(content.letters)} letters; {len(content.frameworks)} frameworks; "
        f"{len(content.plan)} plan stages."
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
