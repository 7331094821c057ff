"""The Discord bot, built from settings and already-built services; no token needed to build it.

Cogs: every entry of `COGS` names a `commands.Cog` subclass as "module:Class". The bot builds
each one as `SomeCog(bot)` — the constructor takes the `CuratorBot` and nothing else, and finds
its settings and services on `bot.settings` / `bot.services` — and adds it in `setup_hook`.
A feature adds its cog with one line in `COGS`.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import time
from collections.abc import Callable
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.failure_replies import reply_ephemeral
from bot.discord.mentions import NO_MENTIONS
from bot.discord.permissions import guild_allowed
from knowledge.errors import CuratorError
from knowledge.services import Services
from knowledge.settings import Settings

log = logging.getLogger(__name__)

COGS: list[str] = [
    "bot.discord.cogs.error_cog:ErrorsCog",
    "bot.discord.cogs.ask_cog:AskingCog",
    "bot.discord.cogs.admin_cog:AdminCog",
    "bot.discord.cogs.feedback_cog:FeedbackCog",
    "bot.discord.cogs.digest_cog:DigestCog",
    "bot.discord.cogs.refresh_cog:RefreshCog",
    "bot.discord.cogs.curation_cog:CurationCog",
]


def build_intents(settings: Settings) -> discord.Intents:
    """The fewest intents that work: message content only when mentions and replies trigger.

    Direct messages are received even when DMs are off, so a member who writes to the bot gets
    a polite "ask me in the server" instead of silence (DM content needs no privileged intent).
    """
    intents = discord.Intents.none()
    intents.guilds = True
    if settings.discord.mention_trigger:
        intents.guild_messages = True
        intents.message_content = True
        intents.dm_messages = True
    return intents


def resolve_cog(spec: str) -> type[commands.Cog]:
    """'package.module:Class' -> the cog class."""
    module_name, _, class_name = spec.partition(":")
    cog = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(cog, type) and issubclass(cog, commands.Cog)):
        raise TypeError(f"{spec} is not a commands.Cog subclass")
    return cog


class CuratorTree(app_commands.CommandTree):
    """Slash commands answer only in guilds on the allowlist, and say so elsewhere."""

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        bot = interaction.client
        if isinstance(bot, CuratorBot) and not guild_allowed(interaction.guild_id, bot.settings):
            await reply_ephemeral(interaction, "Curator is not enabled on this server.")
            return False
        return True


class CuratorBot(commands.Bot):
    """The bot with the settings and services every cog uses."""

    def __init__(
        self,
        settings: Settings,
        services: Services,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=build_intents(settings),
            allowed_mentions=NO_MENTIONS,
            help_command=None,
            tree_cls=CuratorTree,
        )
        self.settings = settings
        self.services = services
        self.clock = clock

    async def postable_channel(self, channel_id: int, what: str) -> discord.abc.Messageable | None:
        """The channel `channel_id` from the cache, else from the API; None (logged, naming
        `what` it is for) when it cannot be fetched or is not a channel to post in."""
        channel: object = self.get_channel(channel_id)
        if channel is None:
            try:
                channel = await self.fetch_channel(channel_id)
            except discord.HTTPException as exc:
                log.warning(
                    "%s channel unavailable: %s", what, exc, extra={"channel_id": channel_id}
                )
                return None
        return channel if isinstance(channel, discord.abc.Messageable) else None

    async def setup_hook(self) -> None:
        await self.load_cogs()
        await self.warm_up()
        await self.sync_commands()

    async def load_cogs(self) -> None:
        """Add every cog of COGS (each registers its own persistent components)."""
        for spec in COGS:
            await self.add_cog(resolve_cog(spec)(self))

    async def warm_up(self) -> None:
        """Open the index and the answer service off the event loop, before the first question."""
        try:
            await asyncio.to_thread(lambda: self.services.answers)
        except CuratorError as exc:
            log.error("the answer service is not ready: %s", exc.user_message)

    async def sync_commands(self) -> list[app_commands.AppCommand]:
        """Sync slash commands to the development guild when one is set, else globally."""
        guild_id = self.settings.discord.dev_guild_id
        try:
            if guild_id is not None:
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                synced = await self.tree.sync(guild=guild)
                log.info(
                    "synced %d slash commands to a guild", len(synced), extra={"guild_id": guild_id}
                )
            else:
                synced = await self.tree.sync()
                log.info("synced %d slash commands globally", len(synced))
        except discord.HTTPException as exc:
            log.error(
                "could not sync slash commands (is the applications.commands scope granted?): %s",
                exc,
            )
            return []
        return synced

    async def close(self) -> None:
        # The services hold async HTTP clients; they must close on this event loop.
        await self.services.aclose()
        await super().close()

    async def on_message(self, message: discord.Message, /) -> None:
        # Curator has no prefix commands: the asking cog listens for mentions and replies.
        return None

    async def leave_if_not_allowed(self, guild: discord.Guild) -> bool:
        """Leave a guild that is not on the allowlist; True when it left."""
        if guild_allowed(guild.id, self.settings):
            return False
        log.warning("leaving a guild not on CURATOR_DISCORD__GUILDS", extra={"guild_id": guild.id})
        try:
            await guild.leave()
        except discord.HTTPException as exc:
            log.error("could not leave a guild: %s", exc, extra={"guild_id": guild.id})
            return False
        return True

    async def on_ready(self) -> None:
        for guild in list(self.guilds):
            await self.leave_if_not_allowed(guild)
        log.info("ready as %s in %d guilds", self.user, len(self.guilds))

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.leave_if_not_allowed(guild)

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        # No member waits on an event handler, so there is nobody to give an error id to.
        log.exception("unexpected error in an event handler", extra={"event": event_method})


def create_bot(
    settings: Settings, services: Services, *, clock: Callable[[], float] = time.monotonic
) -> CuratorBot:
    """The bot, ready to run with a token or to be driven by tests."""
    return CuratorBot(settings, services, clock=clock)
