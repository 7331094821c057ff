"""The scheduled refresh's cog: starts `RefreshSchedule` with the bot and stops it on shutdown."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.discord.background import BackgroundTask
from bot.discord.refresh_schedule import RefreshSchedule
from knowledge.refresh import Refresher, refresh_off_reason

if TYPE_CHECKING:
    from bot.discord.curator_bot import CuratorBot

log = logging.getLogger(__name__)


class RefreshCog(commands.Cog):
    """Starts the refresh schedule with the bot and stops it on shutdown."""

    def __init__(self, bot: CuratorBot) -> None:
        self.bot = bot
        self._refresher: Refresher | None = None
        self.schedule = RefreshSchedule(bot.settings, self.refresher, self.log_channel)
        self._task = BackgroundTask("source-refresh")

    def running(self) -> bool:
        """True while the refresh schedule runs (from loading the cog to unloading it)."""
        return self._task.running()

    def refresher(self) -> Refresher:
        """Built on first use, in a worker thread: opening the index may take a while."""
        if self._refresher is None:
            services = self.bot.services
            self._refresher = Refresher(services.index, services.state)
        return self._refresher

    async def log_channel(self, channel_id: int) -> discord.abc.Messageable | None:
        return await self.bot.postable_channel(channel_id, "log")

    async def cog_load(self) -> None:
        off = refresh_off_reason(self.bot.settings)
        if off is not None:
            log.info("%s", off)
            return
        self._task.start(self.schedule.run_forever())

    async def cog_unload(self) -> None:
        await self._task.stop()
