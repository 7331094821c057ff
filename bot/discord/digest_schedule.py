"""Posting a digest to its channel exactly once per date, and the daily schedule that does it.

`DigestPoster` is the one way a digest reaches the channel (the schedule and the moderators'
Post button both use it): it claims the date in `DigestHistory` first, so a date is posted once
whoever asks and however many bot processes run. `DigestScheduler` wakes at the digest time in
the configured timezone; at start-up it posts the most recent digest if that one was missed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass

import discord

from bot.discord.background import ChannelResolver, Clock, Sleep
from bot.discord.digest_render import render_digest
from bot.discord.mentions import NO_MENTIONS
from knowledge.digest.contents import Digest
from knowledge.digest.engine import DigestService
from knowledge.digest.history import DigestHistory, DigestPost
from knowledge.digest.template import human_date
from knowledge.digest.window import latest_digest_date, next_digest_time
from knowledge.errors import CuratorError
from knowledge.refresh import utc_now
from knowledge.settings import Settings

log = logging.getLogger(__name__)

SCHEDULE_ACTOR = "the daily schedule"


class DigestPostError(CuratorError):
    """The digest could not be posted; the message says why and what to do."""


class DigestAlreadyPostedError(DigestPostError):
    """The date's digest was posted (or is being posted) already."""

    def __init__(self, record: DigestPost) -> None:
        super().__init__(
            f"The digest for {human_date(record.date)} was already {record.describe()}."
            if record.posted
            else f"The digest for {human_date(record.date)} is {record.describe()}."
        )
        self.record = record


@dataclass(frozen=True)
class PostedDigest:
    channel_id: int
    message_ids: list[int]


class DigestPoster:
    """Sends a digest to the digest channel once per date, recording it in the history."""

    def __init__(
        self, settings: Settings, history: DigestHistory, resolve_channel: ChannelResolver
    ) -> None:
        self.settings = settings
        self.history = history
        self.resolve_channel = resolve_channel

    def refusal(self, day: dt.date) -> str | None:
        """Why `day` cannot be posted now (no channel, or already posted), or None."""
        if self.settings.digest.channel_id is None:
            return (
                "No digest channel is configured: set CURATOR_DIGEST__CHANNEL_ID to the id of "
                "the channel the digest goes to."
            )
        record = self.history.get(day)
        if record is not None and record.posted:
            return str(DigestAlreadyPostedError(record))
        return None

    async def post(self, digest: Digest, by: str) -> PostedDigest:
        """Claim the date, send every message in order, record the message ids."""
        channel_id = self.settings.digest.channel_id
        if channel_id is None:
            raise DigestPostError(self.refusal(digest.date) or "No digest channel is configured.")
        if not self.history.claim(digest.date, by):
            record = self.history.get(digest.date)
            if record is None:  # the other claimant gave up between our claim and this read
                raise DigestPostError(
                    f"Someone else was posting the digest for {human_date(digest.date)}; "
                    "try again in a moment."
                )
            raise DigestAlreadyPostedError(record)
        sent: list[int] = []
        try:
            channel = await self.resolve_channel(channel_id)
            if channel is None:
                raise DigestPostError(
                    f"I can't find the digest channel <#{channel_id}> or can't post in it: check "
                    "CURATOR_DIGEST__CHANNEL_ID and my permissions there."
                )
            for message in render_digest(digest):
                posted = await channel.send(
                    content=message.content,
                    embeds=message.embeds,
                    allowed_mentions=NO_MENTIONS,
                )
                sent.append(posted.id)
        except (discord.HTTPException, DigestPostError) as exc:
            if not sent:
                self.history.release(digest.date, by)
                if isinstance(exc, DigestPostError):
                    raise
                raise DigestPostError(
                    f"Discord refused the digest post in <#{channel_id}>: {exc.text or exc}"
                ) from exc
            # Part of it is in the channel: record that, so nobody posts the start again.
            self.history.mark_posted(digest.date, by, channel_id, sent)
            log.error(
                "digest posted only in part: %s",
                exc,
                extra={"digest_date": digest.date.isoformat(), "by": by, "messages": len(sent)},
            )
            raise DigestPostError(
                f"Only {len(sent)} of the digest's messages could be posted in <#{channel_id}>."
            ) from exc
        self.history.mark_posted(digest.date, by, channel_id, sent)
        log.info(
            "digest posted",
            extra={"digest_date": digest.date.isoformat(), "by": by, "messages": len(sent)},
        )
        return PostedDigest(channel_id=channel_id, message_ids=sent)


class DigestScheduler:
    """Posts each day's digest at the digest time, and a missed one once at start-up."""

    #: Attempts per date when building or posting fails, one per wake-up.
    MAX_ATTEMPTS = 3

    def __init__(
        self,
        settings: Settings,
        digests: DigestService,
        poster: DigestPoster,
        clock: Clock = utc_now,
        sleep: Sleep = asyncio.sleep,
        max_sleep_s: float = 900.0,
    ) -> None:
        self.settings = settings
        self.digests = digests
        self.poster = poster
        self.clock = clock
        self.sleep = sleep
        # Waking at least this often keeps the schedule right after a suspend or clock change.
        self.max_sleep_s = max_sleep_s
        self._done: set[dt.date] = set()
        self._failures: dict[dt.date, int] = {}

    async def run_due(self) -> dt.date | None:
        """Post the most recent due digest unless it is posted already; the date posted or None."""
        day = latest_digest_date(self.clock(), self.settings.digest)
        if day in self._done or self._failures.get(day, 0) >= self.MAX_ATTEMPTS:
            return None
        if self.poster.history.was_posted(day):
            self._done.add(day)
            return None
        try:
            digest = await self.digests.build(date=day)
            if digest.empty and not self.settings.digest.post_empty:
                log.info(
                    "no articles for the digest; not posting (post_empty is off)",
                    extra={"digest_date": day.isoformat()},
                )
                self._done.add(day)
                return None
            await self.poster.post(digest, by=SCHEDULE_ACTOR)
        except DigestAlreadyPostedError:
            self._done.add(day)
            return None
        except CuratorError as exc:
            self._failures[day] = self._failures.get(day, 0) + 1
            log.error(
                "the digest was not posted: %s",
                exc.user_message,
                extra={"digest_date": day.isoformat()},
            )
            return None
        self._done.add(day)
        return day

    def seconds_until_next(self) -> float:
        """How long to sleep: until the next digest time, at most `max_sleep_s`."""
        now = self.clock()
        due = next_digest_time(now, self.settings.digest)
        return max(1.0, min(self.max_sleep_s, (due - now).total_seconds()))

    async def run_forever(self) -> None:
        """Catch up once, then post at every digest time until cancelled."""
        while True:
            try:
                await self.run_due()
            except Exception:
                # The schedule must survive a bad day; the error is in the log with its trace.
                log.exception("the digest schedule failed")
            await self.sleep(self.seconds_until_next())
