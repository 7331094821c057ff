"""What the bot's timed jobs (the daily digest, the scheduled refresh) share: the injectable
clock, sleep and channel lookup, and `BackgroundTask`, which a cog starts on load and stops on
unload."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import discord

ChannelResolver = Callable[[int], Awaitable[discord.abc.Messageable | None]]
Clock = Callable[[], dt.datetime]
Sleep = Callable[[float], Awaitable[None]]


class BackgroundTask:
    """One named asyncio task a cog owns: started once, cancelled and awaited on stop."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._task: asyncio.Task[None] | None = None

    def running(self) -> bool:
        """True from `start` until the task ends or `stop` cancels it."""
        return self._task is not None and not self._task.done()

    def start(self, job: Coroutine[Any, Any, None]) -> None:
        """Run `job` on the event loop under this task's name."""
        self._task = asyncio.create_task(job, name=self.name)

    async def stop(self) -> None:
        """Cancel the task and wait for it to end; nothing when it never started."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
