"""/latest, /recommend and /article: the curated collection itself, as cards."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.ask_flow import channel_scope
from bot.discord.ask_options import topic_choices
from bot.discord.curation_render import render_card, render_latest, render_recommendations
from bot.discord.failure_replies import describe_error, reply_ephemeral
from bot.discord.mentions import NO_MENTIONS
from bot.discord.permissions import ask_refusal, parent_channel_id
from bot.discord.render import OutgoingMessage
from knowledge import curation
from knowledge.errors import CuratorError

if TYPE_CHECKING:
    from bot.discord.curator_bot import CuratorBot


def _choices(values: list[str]) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=v, value=v) for v in values]


class CurationCog(commands.Cog):
    """Reading lists from the cards' own fields: newest, best for a reader, one in full."""

    def __init__(self, bot: CuratorBot) -> None:
        self.bot = bot
        self._cards: curation.CardCache | None = None

    @property
    def cards(self) -> curation.CardCache:
        """The index's cards, re-read at most once a minute (autocomplete asks per keystroke)."""
        if self._cards is None:
            self._cards = curation.CardCache(self.bot.services.index, clock=self.bot.clock)
        return self._cards

    def _refusal(self, interaction: discord.Interaction[Any]) -> str | None:
        parent = parent_channel_id(interaction.channel)
        return ask_refusal(interaction.guild_id, interaction.channel_id, parent, self.bot.settings)

    def _scope_topic(self, interaction: discord.Interaction[Any], topic: str | None) -> str | None:
        """The topic asked for, else the channel's scope topic (a scoped channel lists its own)."""
        if topic and topic.strip():
            return topic.strip()
        scope = channel_scope(
            self.bot.settings.discord.channel_scopes,
            interaction.channel_id,
            parent_channel_id(interaction.channel),
        )
        return scope.topic if scope is not None else None

    async def _send(
        self, interaction: discord.Interaction[Any], messages: list[OutgoingMessage]
    ) -> None:
        for index, out in enumerate(messages):
            kwargs: dict[str, Any] = {"allowed_mentions": NO_MENTIONS}
            if out.content:
                kwargs["content"] = out.content
            if out.embeds:
                kwargs["embeds"] = out.embeds
            if index == 0 and not interaction.response.is_done():
                await interaction.response.send_message(**kwargs)
            else:
                await interaction.followup.send(**kwargs)

    async def _run(
        self,
        interaction: discord.Interaction[Any],
        build: Callable[[], list[OutgoingMessage]],
        what: str,
    ) -> None:
        """Check where, build the messages off the event loop, reply (errors only to the member)."""
        reason = self._refusal(interaction)
        if reason is not None:
            await reply_ephemeral(interaction, reason)
            return
        try:
            messages = await asyncio.to_thread(build)
        except CuratorError as exc:
            await reply_ephemeral(interaction, describe_error(exc, what))
            return
        await self._send(interaction, messages)

    @app_commands.command(name="latest", description="The newest curated articles.")
    @app_commands.describe(
        topic="Only articles on this topic", days="Only articles curated in the last N days"
    )
    async def latest(
        self,
        interaction: discord.Interaction[Any],
        topic: str | None = None,
        days: app_commands.Range[int, 1, 3650] | None = None,
    ) -> None:
        """The newest cards, compact, newest first."""
        wanted = self._scope_topic(interaction, topic)

        def build() -> list[OutgoingMessage]:
            found = curation.latest(self.bot.services.index, wanted, days)
            return [render_latest(found, wanted, days)]

        await self._run(interaction, build, "/latest")

    @app_commands.command(name="recommend", description="What to read, for your role and depth.")
    @app_commands.describe(
        role="Who you are (start typing: the cards' 'best for' lines)",
        depth="intro, intermediate or deep",
        topic="What it should be about",
    )
    async def recommend(
        self,
        interaction: discord.Interaction[Any],
        role: str | None = None,
        depth: str | None = None,
        topic: str | None = None,
    ) -> None:
        """Cards whose 'best for' and depth match, ranked by how well they fit the topic."""
        wanted = self._scope_topic(interaction, topic)

        def build() -> list[OutgoingMessage]:
            picks = curation.recommend(self.bot.services.index, role, depth, wanted)
            return [render_recommendations(picks, role, depth, wanted)]

        await self._run(interaction, build, "/recommend")

    @app_commands.command(name="article", description="One curated article's card in full.")
    @app_commands.describe(title="The article's title (start typing to pick one)")
    async def article(self, interaction: discord.Interaction[Any], title: str) -> None:
        """Summary, takeaway, insights, who it is best for, and the link."""

        def build() -> list[OutgoingMessage]:
            return render_card(curation.find_article(self.bot.services.index, title))

        await self._run(interaction, build, "/article")

    async def _complete(
        self, pick: Callable[[curation.ArticleIndex, str], list[str]], current: str
    ) -> list[app_commands.Choice[str]]:
        values = await asyncio.to_thread(lambda: pick(self.cards, current))
        return _choices(values)

    @latest.autocomplete("topic")
    @recommend.autocomplete("topic")
    async def topic_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        """Indexed topics matching what is typed."""
        topics = await asyncio.to_thread(self.bot.services.index.topics)
        return _choices(topic_choices(topics, current))

    @recommend.autocomplete("role")
    async def role_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        """'Best for' lines of the indexed cards matching what is typed."""
        return await self._complete(curation.role_choices, current)

    @recommend.autocomplete("depth")
    async def depth_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        """Depths the indexed cards have."""
        return await self._complete(curation.depth_choices, current)

    @article.autocomplete("title")
    async def title_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        """Titles of indexed cards matching what is typed."""
        return await self._complete(curation.title_choices, current)
