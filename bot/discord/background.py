"""What the bot's timed jobs (the daily digest, the scheduled refresh) share: the injectable
clock, sleep and channel lookup."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

import discord

ChannelResolver = Callable[[int], Awaitable[discord.abc.Messageable | None]]
Clock = Callable[[], dt.datetime]
Sleep = Callable[[float], Awaitable[None]]
