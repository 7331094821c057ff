"""Turning any failure into a reply a member can read; unexpected ones are logged with an id."""

from __future__ import annotations

import logging
import secrets

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.mentions import NO_MENTIONS
from bot.discord.render import render_error
from knowledge.errors import CuratorError

log = logging.getLogger(__name__)

UNEXPECTED = "Something went wrong on my side. A moderator can find the details in the bot's log"


def new_error_id() -> str:
    """A short id that ties a reply to its log entry."""
    return secrets.token_hex(4)


def unwrap(exc: BaseException) -> BaseException:
    """The error behind discord.py's wrappers (CommandInvokeError and the like)."""
    while isinstance(exc, app_commands.CommandInvokeError | commands.CommandInvokeError):
        exc = exc.original
    return exc


def describe_error(exc: BaseException, context: str = "") -> str:
    """The reply for `exc`: a CuratorError's own message; otherwise a logged error id."""
    exc = unwrap(exc)
    if isinstance(exc, CuratorError):
        log.info("declined: %s", exc.user_message, extra={"context": context or "request"})
        return render_error(exc.user_message)
    if isinstance(exc, app_commands.CommandOnCooldown):
        return render_error(f"Slow down: try again in {exc.retry_after:.0f} s.")
    if isinstance(exc, app_commands.CheckFailure):
        return render_error(str(exc) or "You can't use this command here.")
    error_id = new_error_id()
    log.error(
        "unexpected error",
        extra={"error_id": error_id, "context": context or "request"},
        exc_info=exc,
    )
    return render_error(UNEXPECTED, error_id)


async def reply_ephemeral(interaction: discord.Interaction, text: str) -> None:
    """Tell the member something only they see, whether or not the interaction was answered."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        else:
            await interaction.response.send_message(
                text, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
    except discord.HTTPException as exc:
        log.warning(
            "could not send a reply to an interaction: %s",
            exc,
            extra={"interaction_id": interaction.id},
        )
