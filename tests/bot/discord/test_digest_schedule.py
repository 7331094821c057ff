"""The daily schedule: posts at the digest time, catches a missed digest up exactly once."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import discord
import pytest

from bot.discord.digest_schedule import (
    SCHEDULE_ACTOR,
    DigestPoster,
    DigestPostError,
    DigestScheduler,
)
from knowledge.digest.engine import DigestService
from knowledge.digest.history import DigestHistory
from knowledge.logging_setup import extra_fields
from knowledge.models import Article
from knowledge.settings import Settings
from knowledge.state import StateDB
from tests.bot.discord.digest_fixtures import day_articles, mutes_everyone, text_channel
from tests.knowledge.digest.fakes import FakeArticleIndex, card, digest_settings, utc


class FakeClock:
    """Wall-clock time that only moves when the scheduler sleeps."""

    def __init__(self, start: datetime, stop_after: int = 1_000) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self.stop_after = stop_after

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if len(self.sleeps) >= self.stop_after:
            raise asyncio.CancelledError
        self.now += timedelta(seconds=seconds)


def start_bot_process(
    settings: Settings, articles: list[Article], channel: Any, clock: FakeClock
) -> DigestScheduler:
    """What a bot start-up builds: a fresh StateDB on the data dir, history, poster, scheduler."""
    history = DigestHistory(StateDB(settings.data_dir / "state.sqlite3"))

    async def resolve(channel_id: int) -> Any:
        return channel

    poster = DigestPoster(settings, history, resolve)
    digests = DigestService(settings, FakeArticleIndex(articles))
    return DigestScheduler(settings, digests, poster, clock=clock, sleep=clock.sleep)


async def test_missed_digest_is_posted_once_across_two_start_ups(tmp_path: Path) -> None:
    settings = digest_settings(tmp_path, channel_id=555)
    channel = text_channel()
    # The bot was down at 09:00; it comes back at 14:00, then restarts at 15:00.
    first = start_bot_process(settings, day_articles(), channel, FakeClock(utc(2026, 11, 23, 14)))
    assert await first.run_due() == date(2026, 11, 23)
    posted = channel.send.await_count
    assert posted >= 1
    assert all(mutes_everyone(c.kwargs["allowed_mentions"]) for c in channel.send.await_args_list)

    second = start_bot_process(settings, day_articles(), channel, FakeClock(utc(2026, 11, 23, 15)))
    assert await second.run_due() is None
    assert channel.send.await_count == posted
    history = DigestHistory(StateDB(settings.data_dir / "state.sqlite3"))
    record = history.get(date(2026, 11, 23))
    assert record is not None and record.posted_by == SCHEDULE_ACTOR
    assert history.last_posted() == date(2026, 11, 23)


async def test_a_digest_posted_by_a_moderator_is_not_posted_again(tmp_path: Path) -> None:
    settings = digest_settings(tmp_path, channel_id=555)
    channel = text_channel()
    DigestHistory(StateDB(settings.data_dir / "state.sqlite3")).mark_posted(
        date(2026, 11, 23), by="<@42>", channel_id=555, message_ids=[1]
    )
    scheduler = start_bot_process(
        settings, day_articles(), channel, FakeClock(utc(2026, 11, 23, 9, 0))
    )
    assert await scheduler.run_due() is None
    channel.send.assert_not_awaited()


async def test_runs_daily_at_the_digest_time_across_a_dst_change(tmp_path: Path) -> None:
    # Berlin springs forward on 29 Mar 2026: 09:00 local is 08:00 UTC before, 07:00 UTC after.
    settings = digest_settings(tmp_path, time="09:00", timezone="Europe/Berlin", channel_id=555)
    articles = [
        card("fri", utc(2026, 3, 27, 12, 0)),
        card("sat", utc(2026, 3, 28, 12, 0)),
        card("sun", utc(2026, 3, 29, 6, 30)),  # 08:30 CEST: still in Sunday's digest
        card("mon", utc(2026, 3, 29, 7, 30)),  # 09:30 CEST: Monday's
    ]
    channel = text_channel()
    clock = FakeClock(utc(2026, 3, 27, 20, 0), stop_after=12)
    scheduler = start_bot_process(settings, articles, channel, clock)
    scheduler.max_sleep_s = 86_400  # wake only at digest times, to check when they are
    with pytest.raises(asyncio.CancelledError):
        await scheduler.run_forever()
    history = DigestHistory(StateDB(settings.data_dir / "state.sqlite3"))
    posted = [date(2026, 3, d) for d in range(26, 32) if history.was_posted(date(2026, 3, d))]
    assert posted[:4] == [
        date(2026, 3, 27),
        date(2026, 3, 28),
        date(2026, 3, 29),
        date(2026, 3, 30),
    ]
    # Start-up at 20:00 UTC: 12 h to Saturday 08:00 UTC; then 24 h; then 23 h to Monday 07:00 UTC.
    assert clock.sleeps[:3] == [12 * 3600, 23 * 3600, 24 * 3600]
    titles = [
        " ".join(e.description or "" for e in c.kwargs["embeds"])
        for c in channel.send.await_args_list
    ]
    sunday = next(t for t in titles if "Article sun" in t)
    assert "Article mon" not in sunday
    assert sum("Article sun" in t for t in titles) == 1


async def test_empty_day_is_posted_or_skipped_by_setting(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    now = FakeClock(utc(2026, 11, 23, 10, 0))
    quiet = digest_settings(tmp_path / "quiet", channel_id=555, post_empty=False)
    channel = text_channel()
    with caplog.at_level(logging.INFO, logger="bot.discord.digest_schedule"):
        assert await start_bot_process(quiet, [], channel, now).run_due() is None
    channel.send.assert_not_awaited()
    [skipped] = [r for r in caplog.records if r.name == "bot.discord.digest_schedule"]
    assert extra_fields(skipped) == {"digest_date": "2026-11-23"}
    assert "not posting" in skipped.getMessage()

    chatty = digest_settings(tmp_path / "chatty", channel_id=555, post_empty=True)
    assert await start_bot_process(chatty, [], channel, now).run_due() == date(2026, 11, 23)
    embed = channel.send.await_args.kwargs["embeds"][0]
    assert "Nothing new today" in embed.description


async def test_unreachable_channel_releases_the_date_for_a_later_try(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = digest_settings(tmp_path, channel_id=555)
    clock = FakeClock(utc(2026, 11, 23, 10, 0))
    broken = start_bot_process(settings, day_articles(), None, clock)
    with caplog.at_level(logging.ERROR, logger="bot.discord.digest_schedule"):
        assert await broken.run_due() is None
    [failed] = caplog.records
    assert extra_fields(failed) == {"digest_date": "2026-11-23"}
    assert "was not posted" in failed.getMessage()
    history = DigestHistory(StateDB(settings.data_dir / "state.sqlite3"))
    assert history.get(date(2026, 11, 23)) is None  # claim given back
    channel = text_channel()
    fixed = start_bot_process(settings, day_articles(), channel, clock)
    assert await fixed.run_due() == date(2026, 11, 23)


async def test_a_failed_send_midway_is_recorded_not_repeated(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = digest_settings(tmp_path, channel_id=555)
    channel = text_channel()
    sent = 0
    original = channel.send.side_effect

    async def flaky(*args: Any, **kwargs: Any) -> Any:
        nonlocal sent
        sent += 1
        if sent == 2:
            raise discord.HTTPException(MagicMock(status=500, reason="boom"), "server error")
        return await original(*args, **kwargs)

    channel.send.side_effect = flaky
    history = DigestHistory(StateDB(settings.data_dir / "state.sqlite3"))

    async def resolve(channel_id: int) -> Any:
        return channel

    poster = DigestPoster(settings, history, resolve)
    digest = await DigestService(settings, FakeArticleIndex(day_articles(40))).build(
        date=date(2026, 11, 23)
    )
    with (
        caplog.at_level(logging.ERROR, logger="bot.discord.digest_schedule"),
        pytest.raises(DigestPostError, match="Only 1 of the digest's messages"),
    ):
        await poster.post(digest, by="<@1>")
    assert history.was_posted(date(2026, 11, 23))
    [partial] = caplog.records
    assert extra_fields(partial) == {"digest_date": "2026-11-23", "by": "<@1>", "messages": 1}
