"""/ask, mentions of the bot, follow-ups to its answers, and auto-answers to new posts."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.addressing import MessageFacts, Verdict, decide, mentions_bot, read_facts
from bot.discord.ask_flow import AskFlow, AskRequest, InteractionReplier, MessageReplier
from bot.discord.ask_options import parse_since, topic_choices
from bot.discord.conversation import readable_mentions
from bot.discord.failure_replies import describe_error, reply_ephemeral
from bot.discord.permissions import guild_allowed, parent_channel_id
from knowledge.errors import CuratorError, InputError
from knowledge.models import SearchFilters
from knowledge.periods import utc_today

if TYPE_CHECKING:
    from bot.discord.curator_bot import CuratorBot


log = logging.getLogger(__name__)


class AskingCog(commands.Cog):
    """Every way of asking Curator a question ends in the same AskFlow."""

    def __init__(self, bot: CuratorBot) -> None:
        self.bot = bot
        self.flow = AskFlow(bot)

    async def _filters(self, topic: str | None, since: str | None) -> SearchFilters | None:
        filters = SearchFilters(since=parse_since(since, utc_today()))
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
        private="Show the answer only to you (default: everyone in the channel sees it)",
    )
    async def ask(
        self,
        interaction: discord.Interaction[Any],
        question: str,
        topic: str | None = None,
        since: str | None = None,
        private: bool = False,
    ) -> None:
        """Answer a question asked with /ask, publicly or only for the member."""
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
            parent_channel_id=parent_channel_id(channel),
            filters=filters,
            where=f"<#{interaction.channel_id}>" if interaction.channel_id else "",
            title=readable_mentions(question, interaction.guild),
        )
        replier = InteractionReplier(
            interaction, use_thread=self.bot.settings.discord.use_threads, private=private
        )
        await self.flow.ask(request, replier)

    @ask.autocomplete("topic")
    async def topic_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        """Up to 25 indexed topics matching what the member typed."""
        topics = await asyncio.to_thread(self.bot.services.index.topics)
        return [app_commands.Choice(name=t, value=t) for t in topic_choices(topics, current)]

    def _auto_answer_channel(self, message: discord.Message) -> bool:
        """Whether the message is a new post in an auto-answer forum or text channel."""
        wanted = self.bot.settings.discord.auto_answer_channels
        channel = message.channel
        if not wanted or message.reference is not None:
            return False
        if isinstance(channel, discord.Thread):
            # A forum post's opening message has the thread's own id.
            return channel.parent_id in wanted and message.id == channel.id
        return isinstance(channel, discord.TextChannel) and channel.id in wanted

    def _may_concern_bot(self, message: discord.Message, bot_id: int) -> bool:
        """A cheap first look, before any message is fetched to read the facts."""
        channel = message.channel
        return (
            message.guild is None
            or mentions_bot(message, bot_id)
            or message.reference is not None
            or (isinstance(channel, discord.Thread) and channel.owner_id == bot_id)
        )

    async def facts(self, message: discord.Message) -> MessageFacts | None:
        """What `decide` needs about a message; None when the bot must not even look at it."""
        me = self.bot.user
        if me is None or message.author.bot or not self.bot.settings.discord.mention_trigger:
            return None
        if message.guild is not None and not guild_allowed(message.guild.id, self.bot.settings):
            return None
        auto = self._auto_answer_channel(message)
        if not auto and not self._may_concern_bot(message, me.id):
            return None
        return await read_facts(message, me.id, auto_answer=auto)

    async def _react(self, message: discord.Message) -> None:
        emoji = self.bot.settings.discord.small_talk_reaction
        if not emoji:
            return
        try:
            await message.add_reaction(emoji)
        except discord.HTTPException as exc:
            log.info("could not react to small talk: %s", exc)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Answer what is addressed to the bot (see bot.discord.addressing), react to thanks."""
        facts = await self.facts(message)
        if facts is None:
            return
        verdict = decide(facts)
        if verdict is Verdict.SMALL_TALK:
            # Never logged: thanks are not questions, and not gaps in the collection.
            await self._react(message)
            return
        if verdict is not Verdict.ANSWER:
            return
        in_thread = isinstance(message.channel, discord.Thread)
        request = AskRequest(
            question=facts.text,
            user_id=message.author.id,
            guild_id=message.guild.id if message.guild else None,
            channel_id=message.channel.id,
            parent_channel_id=parent_channel_id(message.channel),
            history_from=message,
            where=message.jump_url,
            title=readable_mentions(facts.text, message.guild, message.mentions),
            auto=facts.auto_answer and not (facts.mentions_bot or facts.in_dm),
        )
        use_thread = self.bot.settings.discord.use_threads and not in_thread
        replier = MessageReplier(message, facts.text, use_thread=use_thread)
        try:
            await self.flow.ask(request, replier)
        except Exception as exc:
            await replier.refuse(describe_error(exc, "a mention"))
