"""`cohortbot discord ...`: the Discord commands an operator runs by hand."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from bot.config import SettingsError, load_settings

discord_app = typer.Typer(help="Discord: sync the slash commands deliberately.")


@discord_app.callback()
def _group() -> None:
    """Discord: sync the slash commands deliberately."""


@discord_app.command("sync")
def sync(
    guild: Annotated[
        int | None,
        typer.Option(
            "--guild",
            envvar="DISCORD_GUILD_ID",
            help="a development server to sync to at once (else global, which takes up to 1 h)",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="sync even if nothing changed")] = False,
    clear: Annotated[
        bool,
        typer.Option(
            "--clear",
            help="remove the commands of this scope (global, or the --guild server) instead",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="show what would change and send nothing")
    ] = False,
    state_file: Annotated[
        Path,
        typer.Option(
            "--state-file",
            envvar="COHORTBOT_DISCORD_SYNC_STATE",
            help="where the hash of the last synced commands is kept",
        ),
    ] = Path(".cohortbot-discord-sync.json"),
) -> None:
    """Register the slash commands with Discord, only when they changed since the last sync;
    what will change is shown first."""
    import discord  # only here: `cohortbot --help` should not pay for importing discord.py

    from adapters.discord.sync import sync_commands

    try:
        settings = load_settings()
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    token = settings.discord_token.get_secret_value().strip() if settings.discord_token else ""
    if not token:
        typer.echo("Set DISCORD_TOKEN (the bot's token) to sync commands.", err=True)
        raise typer.Exit(2)
    try:
        result = asyncio.run(
            sync_commands(
                token,
                guild,
                state_file,
                force=force,
                max_length=settings.max_arg_length,
                clear=clear,
                dry_run=dry_run,
                show=typer.echo,
            )
        )
    except discord.LoginFailure:
        typer.echo("Discord refused the token: check DISCORD_TOKEN.", err=True)
        raise typer.Exit(1) from None
    except discord.HTTPException as exc:
        typer.echo(f"Discord refused the commands ({exc.status}): {exc.text[:300]}", err=True)
        raise typer.Exit(1) from None
    if dry_run:
        typer.echo(f"Dry run ({result.scope}): nothing sent.")
    elif clear:
        removed = sum(line.startswith("- ") for line in result.plan)
        typer.echo(f"Removed {removed} commands ({result.scope}).")
    elif result.synced:
        typer.echo(f"Synced {result.count} commands ({result.scope}).")
    elif result.plan:
        typer.echo(f"Nothing sent ({result.scope}).")
    else:
        typer.echo(f"Commands unchanged since the last sync ({result.scope}); nothing sent.")
