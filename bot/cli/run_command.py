"""`curator run`: start the Discord bot."""

from __future__ import annotations

import asyncio
import logging

import discord
import typer

from bot.cli.common import print_error
from bot.discord_token import (
    TOKEN_VARIABLE,
    configure_bot_logging,
    looks_like_bot_token,
    normalise_bot_token,
)
from knowledge.errors import ConfigError, CuratorError
from knowledge.services import build_services
from knowledge.settings import Settings, get_settings

log = logging.getLogger(__name__)


def check_token(token: str | None) -> str:
    """The token, stripped, if it has the shape of a bot token; else ConfigError saying why."""
    value = normalise_bot_token(token)
    if not value:
        raise ConfigError(
            f"No Discord bot token: set {TOKEN_VARIABLE} (Developer Portal → your application "
            "→ Bot → Reset Token)."
        )
    if not looks_like_bot_token(value):
        raise ConfigError(
            f"{TOKEN_VARIABLE} does not look like a bot token: expected three parts of letters, "
            "digits, '-' and '_' separated by dots (copy it again from the Developer Portal)."
        )
    return value


def run_bot(settings: Settings) -> None:
    """Check the token, build the services and run the bot until it is stopped."""
    from bot.discord.curator_bot import create_bot

    token = check_token(
        settings.discord.token.get_secret_value() if settings.discord.token else None
    )
    configure_bot_logging(settings)
    services = build_services(settings)
    bot = create_bot(settings, services)
    try:
        bot.run(token, log_handler=None)
    except discord.LoginFailure as exc:
        raise ConfigError(
            f"Discord rejected {TOKEN_VARIABLE}: reset the token and set it again."
        ) from exc
    except discord.PrivilegedIntentsRequired as exc:
        raise ConfigError(
            "The Message Content intent is off for this bot: enable it in the Developer Portal "
            "(Bot → Privileged Gateway Intents) or set CURATOR_DISCORD__MENTION_TRIGGER=false "
            "to use slash commands only."
        ) from exc
    finally:
        # The bot closed them when it stopped; this covers a failure before it started.
        asyncio.run(services.aclose())


def register(app: typer.Typer) -> None:
    """Add `curator run` to the CLI."""

    @app.command("run")
    def run_command() -> None:
        """Start the Discord bot (needs CURATOR_DISCORD__TOKEN)."""
        try:
            settings = get_settings()
            run_bot(settings)
        except ConfigError as exc:
            print_error(exc.user_message)
            raise typer.Exit(2) from exc
        except CuratorError as exc:
            print_error(exc.user_message)
            raise typer.Exit(1) from exc
