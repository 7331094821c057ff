"""/feedback report for moderators, and the feedback buttons under answers (from feedback_ui)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.addressing import is_small_talk
from bot.discord.answer_links import AnswerLinks
from bot.discord.failure_replies import reply_ephemeral
from bot.discord.feedback_ui import FeedbackButton
from bot.discord.mentions import NO_MENTIONS
from bot.discord.permissions import moderator_refusal
from bot.discord.render import render_feedback_report
from knowledge.feedback import FeedbackReport

if TYPE_CHECKING:
    from bot.discord.curator_bot import CuratorBot


def without_small_talk(report: FeedbackReport) -> FeedbackReport:
    """The report without thanks and emoji logged before the bot stopped answering them."""
    gaps = [q for q in report.gaps if not is_small_talk(q.question)]
    worst = [s for s in report.worst if not is_small_talk(s.question)]
    dropped = len(report.gaps) - len(gaps)
    return report.model_copy(
        update={"gaps": gaps, "worst": worst, "gap_count": report.gap_count - dropped}
    )


class FeedbackCog(commands.Cog):
    """Moderators' view of how answers were received."""

    feedback = app_commands.Group(name="feedback", description="How members rated the answers")

    def __init__(self, bot: CuratorBot) -> None:
        self.bot = bot
        self.links = AnswerLinks(bot.services.state)

    async def cog_load(self) -> None:
        # Buttons on answers posted before a restart still route here by their custom_id.
        self.bot.add_dynamic_items(FeedbackButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(FeedbackButton)

    @feedback.command(
        name="report", description="Moderators: ratings, worst-rated questions and content gaps"
    )
    @app_commands.describe(days="How many days back to look (default 7)")
    async def report(
        self, interaction: discord.Interaction[Any], days: app_commands.Range[int, 1, 365] = 7
    ) -> None:
        """Summarise ratings and content gaps of this server, only for the moderator."""
        reason = moderator_refusal(interaction.user, self.bot.settings, "read the feedback report")
        if reason is not None:
            await reply_ephemeral(interaction, reason)
            return
        store = self.bot.services.feedback
        report = await asyncio.to_thread(store.report, days, interaction.guild_id)
        report = without_small_talk(report)
        answer_ids = [s.answer_id for s in report.worst]
        answer_ids += [q.answer_id for q in report.gaps if q.answer_id]
        links = await asyncio.to_thread(self.links.get_many, answer_ids)
        messages = render_feedback_report(report, links)
        await interaction.response.send_message(
            embeds=messages[0].embeds, ephemeral=True, allowed_mentions=NO_MENTIONS
        )
        for out in messages[1:]:
            await interaction.followup.send(
                embeds=out.embeds, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
