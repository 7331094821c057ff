"""/ask, mentions of the bot, and replies to its answers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.ask_options import parse_since, topic_choices
from bot.discord.asking import AskFlow, AskRequest, InteractionReplier, MessageReplier
from bot.discord.conversation import is_answer_message, question_from_message, referenced_message
from bot.discord.errors import describe_error, reply_ephemeral
from bot.discord.permissions import guild_allowed
from knowledge.errors import CuratorError, InputError
from knowledge.models import SearchFilters

if TYPE_CHECKING:
    from bot.discord.app import CuratorBot


def _parent_id(channel: object) -> int | None:
    return channel.parent_id if isinstance(channel, discord.Thread) else None


class AskingCog(commands.Cog):
    """Every way of asking Curator a question ends in the same AskFlow."""

    def __init__(self, bot: CuratorBot) -> None:
        self.bot = bot
        self.flow = AskFlow(bot)

    async def _filters(self, topic: str | None, since: str | None) -> SearchFilters | None:
        today = datetime.now(UTC).date()
        filters = SearchFilters(since=parse_since(since, today))
        if topic and topic.strip():
            topics = await asyncio.to_thread(self.bot.services.index.topics)
            known = {t.casefold(): t for t in topics}
            if topic.strip().casefold() not in known:
                raise InputError(
                    f"No article has the topic “{topic.strip()[:60]}”; "
                    "start typing in the topic option to pick one."
                )
            filters.topic = known[topic.strip().casefold()]
        return None if filters.is_empty() else filters

    @app_commands.command(name="ask", description="Ask a question; the answer cites the articles.")
    @app_commands.describe(
        question="What you want to know",
        topic="Only use articles on this topic",
        since="Only articles curated since a date (2024-05-01) or a period (7d, 2w, 3m)",
    )
    async def ask(
        self,
        interaction: discord.Interaction[Any],
        question: str,
        topic: str | None = None,
        since: str | None = None,
    ) -> None:
        """Answer a question asked with /ask."""
        try:
            filters = await self._filters(topic, since)
        except CuratorError as exc:
            await reply_ephemeral(interaction, describe_error(exc, "/ask options"))
            return
        channel = interaction.channel
        request = AskRequest(
            question=question,
            user_id=interaction.user.id,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            parent_channel_id=_parent_id(channel),
            filters=filters,
            where=f"<#{interaction.channel_id}>" if interaction.channel_id else "",
        )
        replier = InteractionReplier(interaction, use_thread=self.bot.settings.discord.use_threads)
        await self.flow.ask(request, replier)

    @ask.autocomplete("topic")
    async def topic_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        """Up to 25 indexed topics matching what the member typed."""
        topics = await asyncio.to_thread(self.bot.services.index.topics)
        return [app_commands.Choice(name=t, value=t) for t in topic_choices(topics, current)]

    async def _addressed(self, message: discord.Message) -> bool:
        """Whether a message asks the bot something: a mention, a DM, a reply, its own thread."""
        me = self.bot.user
        if me is None or message.author.bot or not self.bot.settings.discord.mention_trigger:
            return False
        if message.guild is None:
            return True
        if not guild_allowed(message.guild.id, self.bot.settings):
            return False
        if any(user.id == me.id for user in message.mentions):
            return True
        channel = message.channel
        if isinstance(channel, discord.Thread) and channel.owner_id == me.id:
            return True
        if message.reference is None:
            return False
        parent = await referenced_message(message)
        return parent is not None and is_answer_message(parent, me.id)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Answer mentions, replies to answers, DMs (when allowed) and messages in its threads."""
        if not await self._addressed(message):
            return
        assert self.bot.user is not None
        question = question_from_message(message.content, self.bot.user.id)
        in_thread = isinstance(message.channel, discord.Thread)
        request = AskRequest(
            question=question,
            user_id=message.author.id,
            guild_id=message.guild.id if message.guild else None,
            channel_id=message.channel.id,
            parent_channel_id=_parent_id(message.channel),
            history_from=message,
            where=message.jump_url,
        )
        use_thread = self.bot.settings.discord.use_threads and not in_thread
        replier = MessageReplier(message, question, use_thread=use_thread)
        try:
            await self.flow.ask(request, replier)
        except Exception as exc:
            await replier.refuse(describe_error(exc, "a mention"))
