"""One error handler for every slash command: a reason for the member, the rest in the log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.failure_replies import describe_error, reply_ephemeral

if TYPE_CHECKING:
    from bot.discord.curator_bot import CuratorBot


class ErrorsCog(commands.Cog):
    """Installs the command tree's error handler while loaded."""

    def __init__(self, bot: CuratorBot) -> None:
        self.bot = bot
        self._previous = bot.tree.on_error

    async def cog_load(self) -> None:
        self.bot.tree.error(self.on_app_command_error)

    async def cog_unload(self) -> None:
        self.bot.tree.on_error = self._previous  # type: ignore[method-assign]

    async def on_app_command_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        """CuratorError -> its message; anything else -> logged with an id the reply shows."""
        command = interaction.command.qualified_name if interaction.command else "a command"
        await reply_ephemeral(interaction, describe_error(error, f"/{command}"))
