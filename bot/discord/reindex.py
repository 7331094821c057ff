"""Running the reindex off the event loop, one at a time, with progress shown by throttled edits."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import discord

from bot.discord.reindex_changes import ReindexChanges, changes_between, snapshot
from bot.discord.render import render_reindex_progress
from knowledge.errors import CuratorError
from knowledge.models import IngestReport
from knowledge.services import Services

log = logging.getLogger(__name__)

Edit = Callable[[str], Awaitable[object]]


class ReindexRunningError(CuratorError):
    """A reindex started from Discord is still running."""


class ProgressRelay:
    """The index's progress callback: called from the worker thread, edits on the event loop.

    Updates arriving less than `interval` after the last edit are not shown (the final report
    replaces the progress line anyway), so Discord's edit rate limit is never hit.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        edit: Edit,
        dry_run: bool,
        *,
        clock: Callable[[], float] = time.monotonic,
        interval: float = 1.0,
    ) -> None:
        self._loop = loop
        self._edit = edit
        self._dry_run = dry_run
        self._clock = clock
        self._interval = interval
        self._last = clock()
        self._pending: asyncio.Task[None] | None = None
        self._closed = False
        self.shown: list[str] = []

    def __call__(self, stage: str, done: int, total: int) -> None:
        """Progress(stage, done, total), safe to call from any thread."""
        # Stamped here, in the worker, so throttling follows when progress happened.
        self._loop.call_soon_threadsafe(self._update, stage, done, total, self._clock())

    def _update(self, stage: str, done: int, total: int, now: float) -> None:
        if self._closed or (self._pending is not None and not self._pending.done()):
            return
        if now - self._last < self._interval:
            return
        self._last = now
        text = render_reindex_progress(stage, done, total, self._dry_run)
        self._pending = self._loop.create_task(self._show(text))

    async def _show(self, text: str) -> None:
        try:
            await self._edit(text)
            self.shown.append(text)
        except discord.HTTPException as exc:
            log.warning("reindex progress edit failed: %s", exc)

    async def close(self) -> None:
        """Stop relaying and wait for an edit in flight, so the final report lands last."""
        # Let callbacks the worker queued before it finished run first.
        await asyncio.sleep(0)
        self._closed = True
        if self._pending is not None:
            await self._pending


class ReindexRunner:
    """At most one reindex from Discord at a time; the index's own lock guards against others."""

    def __init__(
        self,
        services: Services,
        *,
        clock: Callable[[], float] = time.monotonic,
        interval: float = 1.0,
    ) -> None:
        self._services = services
        self._clock = clock
        self._interval = interval
        self._started: float | None = None
        self.started_by: int | None = None

    @property
    def running(self) -> bool:
        return self._started is not None

    def busy_message(self) -> str:
        """What a second request is told while a reindex runs."""
        seconds = 0 if self._started is None else round(self._clock() - self._started)
        by = f" by <@{self.started_by}>" if self.started_by else ""
        return f"A reindex is already running (started{by} {seconds} s ago); wait for it to finish."

    async def run(
        self, dry_run: bool, edit: Edit, user_id: int | None = None
    ) -> tuple[IngestReport, ReindexChanges]:
        """Reindex in a worker thread, relaying progress to `edit`; the report and the changes."""
        if self._started is not None:
            raise ReindexRunningError(self.busy_message())
        self._started = self._clock()
        self.started_by = user_id
        relay = ProgressRelay(
            asyncio.get_running_loop(), edit, dry_run, clock=self._clock, interval=self._interval
        )
        try:
            index = await asyncio.to_thread(lambda: self._services.index)
            before = {} if dry_run else await asyncio.to_thread(snapshot, index)
            report = await asyncio.to_thread(index.reindex, dry_run, relay)
            after = {} if dry_run else await asyncio.to_thread(snapshot, index)
        finally:
            await relay.close()
            self._started = None
            self.started_by = None
        for failure in report.failed:
            log.warning(
                "reindex could not read a source",
                extra={"source": failure.path, "reason": failure.reason},
            )
        log.info(
            "reindex done",
            extra={
                "dry_run": dry_run,
                "added": report.added,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "removed": report.removed,
                "repaired": report.repaired,
                "failed": len(report.failed),
            },
        )
        return report, changes_between(before, after)
