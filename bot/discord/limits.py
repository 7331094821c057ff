"""Fair use: a per-user cooldown and a global cap on answers generated at once, with a queue."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from knowledge.errors import CuratorError

Clock = Callable[[], float]


class RateLimitedError(CuratorError):
    """The member must wait before asking again; `retry_after` is in seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def wait_phrase(seconds: float) -> str:
    """'try again in 7 s' with whole seconds, never 0."""
    return f"try again in {max(1, math.ceil(seconds))} s"


class Cooldowns:
    """One question per user per `seconds`; the clock is injectable for tests."""

    def __init__(self, seconds: float, clock: Clock = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._last: dict[int, float] = {}

    def retry_after(self, user_id: int) -> float:
        """Seconds until `user_id` may ask again; 0 when they may now."""
        last = self._last.get(user_id)
        if last is None:
            return 0.0
        return max(0.0, self.seconds - (self._clock() - last))

    def check_and_start(self, user_id: int) -> None:
        """Start the user's cooldown, or raise RateLimitedError while it runs."""
        if self.seconds <= 0:
            return
        left = self.retry_after(user_id)
        if left > 0:
            raise RateLimitedError(
                f"You asked a moment ago; {wait_phrase(left)}.", retry_after=left
            )
        now = self._clock()
        if len(self._last) > 10_000:
            # Forget expired entries so a busy server does not grow this forever.
            self._last = {u: t for u, t in self._last.items() if now - t < self.seconds}
        self._last[user_id] = now

    def cancel(self, user_id: int) -> None:
        """Forget the user's cooldown, e.g. when their question could not be taken."""
        self._last.pop(user_id, None)


class Ticket:
    """A place among the answers being generated or waiting; `ahead` is the queue position."""

    def __init__(self, slots: AnswerSlots, ahead: int) -> None:
        self._slots = slots
        self.ahead = ahead
        self.acquired = False
        self.started = 0.0

    async def ready(self) -> None:
        """Wait until an answering slot is free."""
        await self._slots._semaphore.acquire()
        self.acquired = True
        self.started = self._slots._clock()


class AnswerSlots:
    """At most `max_concurrent` answers at once and `max_queue` waiting; more are turned away."""

    def __init__(self, max_concurrent: int, max_queue: int, clock: Clock = time.monotonic) -> None:
        self.max_concurrent = max_concurrent
        self.max_queue = max_queue
        self._clock = clock
        self._semaphore = asyncio.Semaphore(max_concurrent)
        self._admitted = 0
        # A running estimate of how long one answer takes, for "try again in N s".
        self._typical_seconds = 10.0

    @property
    def admitted(self) -> int:
        """Questions being answered or waiting."""
        return self._admitted

    def retry_estimate(self) -> float:
        """Roughly when a slot in the queue should free up."""
        rounds = (self._admitted - self.max_concurrent + 1) / self.max_concurrent
        return max(5.0, self._typical_seconds * max(1.0, rounds))

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[Ticket]:
        """Join the line (raising RateLimitedError when the queue is full); await ticket.ready()."""
        if self._admitted >= self.max_concurrent + self.max_queue:
            retry = self.retry_estimate()
            raise RateLimitedError(
                f"I'm answering as many questions as I can and the queue is full "
                f"({self.max_queue} waiting); {wait_phrase(retry)}.",
                retry_after=retry,
            )
        ahead = max(0, self._admitted - self.max_concurrent + 1)
        self._admitted += 1
        ticket = Ticket(self, ahead)
        try:
            yield ticket
        finally:
            self._admitted -= 1
            if ticket.acquired:
                self._semaphore.release()
                took = self._clock() - ticket.started
                self._typical_seconds = 0.8 * self._typical_seconds + 0.2 * took
