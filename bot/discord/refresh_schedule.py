"""The scheduled refresh in the bot: re-read the sources on a timer and tell the admins.

`RefreshSchedule` wakes when `next_refresh_at` says (every CURATOR_KNOWLEDGE__REFRESH_MINUTES
and right before the daily digest), runs `Refresher.run` off the event loop, and posts a
refresh that changed something or failed to CURATOR_DISCORD__LOG_CHANNEL_ID. A source that
keeps failing is posted once, not every hour; it is posted again if it fails differently.
`bot.discord.cogs.refresh_cog.RefreshCog` starts and stops it with the bot.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable

import discord
from discord.utils import escape_markdown

from bot.discord.background import ChannelResolver, Clock, Sleep
from bot.discord.mentions import NO_MENTIONS
from bot.discord.split import CONTENT_LIMIT, truncate
from knowledge.refresh import Refresher, RefreshOutcome, next_refresh_at, utc_now
from knowledge.settings import Settings

log = logging.getLogger(__name__)

#: Failures listed in one report; the rest are counted.
MAX_LISTED = 10


def render_refresh(outcome: RefreshOutcome) -> str:
    """The admin channel message for one refresh: counts, then each failed source."""
    lines = [f"**Scheduled refresh** — {escape_markdown(outcome.summary())}"]
    failures = [(f.path, f.reason) for f in outcome.report.failed]
    for path, reason in failures[:MAX_LISTED]:
        shown = path.replace("`", "'")
        lines.append(f"• `{shown}`: {escape_markdown(reason)}")
    if len(failures) > MAX_LISTED:
        lines.append(f"… and {len(failures) - MAX_LISTED} more (see the bot's log)")
    return truncate("\n".join(lines), CONTENT_LIMIT)


class RefreshSchedule:
    """Runs refreshes when due and reports them; one at a time, until cancelled."""

    def __init__(
        self,
        settings: Settings,
        refresher: Callable[[], Refresher],
        resolve_channel: ChannelResolver,
        *,
        clock: Clock = utc_now,
        sleep: Sleep = asyncio.sleep,
        max_sleep_s: float = 900.0,
        startup_delay_s: float = 60.0,
    ) -> None:
        self.settings = settings
        self._refresher = refresher
        self.resolve_channel = resolve_channel
        self.clock = clock
        self.sleep = sleep
        # Waking at least this often keeps the schedule right after a suspend or clock change.
        self.max_sleep_s = max_sleep_s
        # The first refresh waits for the bot to connect and warm up its index.
        self.startup_delay_s = startup_delay_s
        self.last_run: dt.datetime | None = None
        self._reported: frozenset[tuple[str, str]] = frozenset()

    @property
    def enabled(self) -> bool:
        return next_refresh_at(self.clock(), None, self.settings) is not None

    async def run_once(self) -> RefreshOutcome:
        """Refresh now (in a worker thread) and report the outcome."""
        self.last_run = self.clock()
        refresher = await asyncio.to_thread(self._refresher)
        outcome = await asyncio.to_thread(refresher.run)
        await self.report(outcome)
        return outcome

    async def report(self, outcome: RefreshOutcome) -> bool:
        """Post `outcome` to the log channel when it changed something or failed anew."""
        failures = {(f.path, f.reason) for f in outcome.report.failed}
        if outcome.error:
            failures.add(("", outcome.error))
        fresh_failures = failures - self._reported
        self._reported = frozenset(failures)
        channel_id = self.settings.discord.log_channel_id
        if channel_id is None or not (outcome.changed or fresh_failures):
            return False
        channel = await self.resolve_channel(channel_id)
        if channel is None:
            log.warning(
                "cannot post the refresh report: channel %s (CURATOR_DISCORD__LOG_CHANNEL_ID) "
                "is unknown or not a text channel",
                channel_id,
            )
            return False
        try:
            await channel.send(render_refresh(outcome), allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as exc:
            log.warning("cannot post the refresh report: %s", exc, extra={"channel_id": channel_id})
            return False
        return True

    async def run_forever(self) -> None:
        """Refresh whenever due until cancelled; a failed round is logged and the next one runs."""
        if self.startup_delay_s > 0:
            await self.sleep(self.startup_delay_s)
        while True:
            due = next_refresh_at(self.clock(), self.last_run, self.settings)
            if due is None:
                return
            wait = (due - self.clock()).total_seconds()
            if wait > 0:
                await self.sleep(min(wait, self.max_sleep_s))
                continue
            try:
                await self.run_once()
            except Exception:
                log.exception("the scheduled refresh failed")
