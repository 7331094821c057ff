"""Streaming an answer into messages by throttled edits (Discord rate-limits edits)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import discord

from bot.discord.render import render_progress
from knowledge.errors import CuratorError
from knowledge.models import Answer

log = logging.getLogger(__name__)

EDIT_INTERVAL = 1.0

# Shows the progress pages (one message each); returns when they are on screen.
ShowPages = Callable[[list[str]], Awaitable[object]]


class ThrottledEditor:
    """Shows streamed text with an in-progress marker, updating at most once per `interval`."""

    def __init__(
        self,
        show: ShowPages,
        *,
        interval: float = EDIT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._show = show
        self._interval = interval
        self._clock = clock
        # The placeholder was just posted: that counts as the first write.
        self._last = clock()
        self.edits = 0

    async def push(self, text: str) -> None:
        """Offer the text so far; it is shown only if the last update is old enough."""
        now = self._clock()
        if now - self._last < self._interval:
            return
        self._last = now
        try:
            await self._show(render_progress(text))
            self.edits += 1
        except discord.HTTPException as exc:
            # A lost progress edit costs nothing: the final edit shows the whole answer.
            log.warning("progress edit failed: %s", exc)


async def collect_answer(
    stream: AsyncIterator[str | Answer], editor: ThrottledEditor | None = None
) -> Answer:
    """Consume an answer stream (text deltas, then the Answer), showing progress on the way.

    The text is shown one delta late: an answer that arrives whole (extractive, a refusal, a
    fallback) is one delta followed by the Answer, so it appears once, formatted, never raw.
    """
    text = ""
    async for item in stream:
        if isinstance(item, Answer):
            return item
        if text and editor is not None:
            await editor.push(text)
        text += item
    raise CuratorError("The answer stopped before it was complete; please ask again.")
