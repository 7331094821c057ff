"""/reindex for admins: runs off the event loop and edits one progress message."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.failure_replies import describe_error, reply_ephemeral
from bot.discord.mentions import NO_MENTIONS
from bot.discord.permissions import admin_refusal
from bot.discord.reindex import ReindexRunner
from bot.discord.render import render_reindex_progress, render_reindex_report

if TYPE_CHECKING:
    from bot.discord.curator_bot import CuratorBot


class AdminCog(commands.Cog):
    """Administration commands."""

    def __init__(self, bot: CuratorBot) -> None:
        self.bot = bot
        self.runner = ReindexRunner(bot.services, clock=bot.clock)

    @app_commands.command(name="reindex", description="Admins: update the index from the sources.")
    @app_commands.describe(dry_run="Only report what would change, without changing anything")
    async def reindex(self, interaction: discord.Interaction[Any], dry_run: bool = False) -> None:
        """Run the incremental reindex and report counts and failures."""
        reason = admin_refusal(interaction.user, self.bot.settings, "reindex")
        if reason is None and self.runner.running:
            reason = self.runner.busy_message()
        if reason is not None:
            await reply_ephemeral(interaction, reason)
            return
        # Reports name server paths and failures: only the admin who asked sees them.
        await interaction.response.defer(ephemeral=True, thinking=True)
        status = await interaction.followup.send(
            render_reindex_progress("starting", 0, 0, dry_run),
            ephemeral=True,
            wait=True,
            allowed_mentions=NO_MENTIONS,
        )
        started = self.bot.clock()

        async def edit(text: str) -> None:
            await status.edit(content=text, allowed_mentions=NO_MENTIONS)

        try:
            report, changes = await self.runner.run(dry_run, edit, user_id=interaction.user.id)
        except Exception as exc:
            await status.edit(content=describe_error(exc, "/reindex"), allowed_mentions=NO_MENTIONS)
            return
        messages = render_reindex_report(
            report, dry_run, self.bot.clock() - started, None if dry_run else changes
        )
        await status.edit(content=None, embeds=messages[0].embeds, allowed_mentions=NO_MENTIONS)
        for out in messages[1:]:
            await interaction.followup.send(
                embeds=out.embeds, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
