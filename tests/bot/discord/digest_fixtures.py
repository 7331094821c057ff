"""Spec'd discord.py doubles and a digest-ready bot, imported by the digest tests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock, MagicMock

import discord

from bot.discord.cogs.digest_cog import DigestCog
from bot.discord.curator_bot import CuratorBot, create_bot
from knowledge.digest.engine import DigestService
from knowledge.models import Article
from knowledge.services import Services
from knowledge.settings import Settings
from tests.knowledge.digest.fakes import FakeArticleIndex, card, digest_settings, utc

CHANNEL_ID = 555
DAY = date(2026, 11, 23)
_ids = itertools.count(10_000)


def day_articles(count: int = 3) -> list[Article]:
    """`count` cards curated in the 23 Nov 2026 window (09:00 UTC), over a few topics."""
    topics = ["Retrieval", "Agents", "Evaluation", "Prompting"]
    return [
        card(
            f"a{i:02d}",
            utc(2026, 11, 22, 10, 0 + i % 60),
            [topics[i % len(topics)]],
            title=f"Article number {i:02d} about {topics[i % len(topics)].lower()}",
            # Card-sized takeaways, so a busy day needs several embeds and messages.
            takeaway=f"Takeaway {i:02d}: " + "a realistic one-line lesson from the card " * 5,
            best_for=["engineers building search", "product managers"],
        )
        for i in range(count)
    ]


def member(moderator: bool, user_id: int = 42) -> MagicMock:
    """A guild member; a moderator has Manage Messages."""
    m = MagicMock(spec=discord.Member)
    m.id = user_id
    m.mention = f"<@{user_id}>"
    m.roles = []
    m.bot = False
    m.guild_permissions = discord.Permissions(manage_messages=moderator)
    return m


def interaction(user: MagicMock) -> MagicMock:
    """An interaction whose response and followup record what the bot sent."""
    inter = MagicMock(spec=discord.Interaction)
    inter.user = user
    inter.id = next(_ids)
    inter.guild_id = 1
    done = {"value": False}

    async def answered(*args: Any, **kwargs: Any) -> None:
        done["value"] = True

    response = MagicMock(spec=discord.InteractionResponse)
    response.is_done.side_effect = lambda: done["value"]
    response.defer = AsyncMock(side_effect=answered)
    response.send_message = AsyncMock(side_effect=answered)
    response.edit_message = AsyncMock(side_effect=answered)
    inter.response = response
    inter.followup = MagicMock(spec=discord.Webhook)
    inter.followup.send = AsyncMock()
    return inter


def replies(inter: MagicMock) -> list[str]:
    """Every text the member was shown through this interaction."""
    texts = [
        c.args[0] if c.args else c.kwargs.get("content")
        for c in inter.response.send_message.await_args_list
    ]
    texts += [
        c.args[0] if c.args else c.kwargs.get("content")
        for c in inter.followup.send.await_args_list
    ]
    return [t for t in texts if t]


def mutes_everyone(allowed: object) -> bool:
    """Whether an allowed_mentions value lets nobody be pinged."""
    none = discord.AllowedMentions.none().to_dict()
    return isinstance(allowed, discord.AllowedMentions) and allowed.to_dict() == none


def text_channel() -> MagicMock:
    """The digest channel: `send` records each message and returns one with a fresh id."""
    channel = MagicMock(spec=discord.TextChannel)
    channel.id = CHANNEL_ID

    async def send(*args: Any, **kwargs: Any) -> MagicMock:
        message = MagicMock(spec=discord.Message)
        message.id = next(_ids)
        return message

    channel.send = AsyncMock(side_effect=send)
    return channel


@dataclass
class DigestBot:
    bot: CuratorBot
    cog: DigestCog
    channel: MagicMock
    index: FakeArticleIndex
    settings: Settings
    services: Services
    sent_embeds: list[discord.Embed] = field(default_factory=list)


def build_digest_bot(
    tmp_path: Path,
    articles: list[Article],
    channel_id: int | None = CHANNEL_ID,
    **digest: Any,
) -> DigestBot:
    """A bot (no token, no gateway) whose digest reads `articles` and posts to a fake channel."""
    settings = digest_settings(tmp_path, channel_id=channel_id, **digest)
    index = FakeArticleIndex(articles)
    # The real service over a fake index, handed to Services as its digests part.
    services = Services(settings, digests=DigestService(settings, index))
    bot = create_bot(settings, services)
    channel = text_channel()
    bot.get_channel = lambda cid: channel if cid == CHANNEL_ID else None  # type: ignore[method-assign]
    cog = DigestCog(bot)
    cog.now = lambda: utc(2026, 11, 23, 12, 0)
    return DigestBot(bot, cog, channel, index, settings, services)
