"""/feedback report for moderators, and the feedback buttons under answers (from feedback_ui)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.errors import reply_ephemeral
from bot.discord.feedback_ui import FeedbackButton
from bot.discord.mentions import NO_MENTIONS
from bot.discord.permissions import moderator_refusal
from bot.discord.render import render_feedback_report

if TYPE_CHECKING:
    from bot.discord.app import CuratorBot


class FeedbackCog(commands.Cog):
    """Moderators' view of how answers were received."""

    feedback = app_commands.Group(name="feedback", description="How members rated the answers")

    def __init__(self, bot: CuratorBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        # Buttons on answers posted before a restart still route here by their custom_id.
        self.bot.add_dynamic_items(FeedbackButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(FeedbackButton)

    @feedback.command(
        name="report", description="Moderators: ratings, worst-rated and uncovered questions"
    )
    @app_commands.describe(days="How many days back to look (default 7)")
    async def report(
        self, interaction: discord.Interaction[Any], days: app_commands.Range[int, 1, 365] = 7
    ) -> None:
        """Summarise feedback and refused questions of this server, only for the moderator."""
        reason = moderator_refusal(interaction.user, self.bot.settings, "read the feedback report")
        if reason is not None:
            await reply_ephemeral(interaction, reason)
            return
        store = self.bot.services.feedback
        report = await asyncio.to_thread(store.report, days, interaction.guild_id)
        messages = render_feedback_report(report)
        await interaction.response.send_message(
            embeds=messages[0].embeds, ephemeral=True, allowed_mentions=NO_MENTIONS
        )
        for out in messages[1:]:
            await interaction.followup.send(
                embeds=out.embeds, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
