"""The bot's scheduled refresh: new feed entries arrive by themselves and admins hear about it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock, MagicMock

import discord
import discord.ext.test as dpytest
import pytest

from bot.discord.cogs.admin_cog import AdminCog
from bot.discord.cogs.refresh_cog import RefreshCog
from bot.discord.refresh_schedule import RefreshSchedule, render_refresh
from knowledge.index import KnowledgeIndex
from knowledge.models import IngestFailure, IngestReport
from knowledge.refresh import Refresher, RefreshOutcome
from knowledge.services import Services
from knowledge.settings import Settings
from tests.bot.discord.conftest import (
    FakeInteraction,
    give_role,
    make_role,
    start_bot,
    text_channel_at,
)
from tests.support.feed_server import Entry, FeedServer, rss, running_feed_server
from tests.support.settings import make_settings, with_overrides

FEED = "/feed.xml"
LOG_CHANNEL = 4242


def entry(n: int) -> Entry:
    return Entry(
        title=f"Weekly note {n}",
        link=f"https://journal.example/weekly/{n}",
        text=f"Weekly note {n} is about evaluation set number {n}.",
    )


class Clock:
    """Wall-clock time that only moves when the schedule sleeps; stops after `stop_after`."""

    def __init__(self, stop_after: int) -> None:
        self.now = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
        self.sleeps: list[float] = []
        self.stop_after = stop_after
        self.on_sleep: list[Any] = []

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if len(self.sleeps) > self.stop_after:
            raise asyncio.CancelledError
        self.now += timedelta(seconds=seconds)
        for hook in self.on_sleep:
            hook()


def log_channel() -> MagicMock:
    channel = MagicMock(spec_set=discord.TextChannel)
    channel.send = AsyncMock()
    return channel


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with running_feed_server() as running:
        running.put(FEED, rss([entry(1), entry(2)]))
        yield running


@pytest.fixture
def refresh_settings(tmp_path: Path, server: FeedServer) -> Settings:
    return make_settings(
        tmp_path / "data",
        knowledge={
            "sources": [server.url(FEED)],
            "allow_private_urls": True,
            "refresh_minutes": 60,
        },
        discord={"log_channel_id": LOG_CHANNEL},
    )


#: make_services(knowledge={"refresh_minutes": 0}) -> services on the refresh settings so changed.
ServicesFactory = Callable[..., Services]


@pytest.fixture
def make_services(refresh_settings: Settings) -> Iterator[ServicesFactory]:
    """Services on `refresh_settings`, or on a validated copy with overrides (groups as dicts)."""
    built: list[Services] = []

    def make(**overrides: Any) -> Services:
        settings = with_overrides(refresh_settings, **overrides) if overrides else refresh_settings
        built.append(Services(settings))
        return built[-1]

    yield make
    for services in built:
        asyncio.run(services.aclose())


@pytest.fixture
def services(make_services: ServicesFactory) -> Services:
    return make_services()


def schedule_for(
    services: Services, channel: MagicMock | None, clock: Clock, **kwargs: Any
) -> RefreshSchedule:
    refresher = Refresher(services.index, services.state)

    async def resolve(channel_id: int) -> Any:
        assert channel_id == LOG_CHANNEL
        return channel

    return RefreshSchedule(
        services.settings,
        lambda: refresher,
        resolve,
        clock=clock,
        sleep=clock.sleep,
        **kwargs,
    )


def sent_texts(channel: MagicMock) -> list[str]:
    return [call.args[0] for call in channel.send.await_args_list]


async def test_new_entries_arrive_hourly_and_admins_are_told(
    server: FeedServer, services: Services
) -> None:
    channel = log_channel()
    clock = Clock(stop_after=3)
    schedule = schedule_for(services, channel, clock, max_sleep_s=7200)
    # After the first hour's sleep, the feed gets a new entry.
    clock.on_sleep.append(
        lambda: (
            server.put(FEED, rss([entry(1), entry(2), entry(3)]))
            if clock.now >= datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
            else None
        )
    )
    with pytest.raises(asyncio.CancelledError):
        await schedule.run_forever()
    # Start-up delay, then refreshes at 6:01, 7:01 (new entry), 8:01 (unchanged: 304).
    assert clock.sleeps == [60, 3600, 3600, 3600]
    index: KnowledgeIndex = services.index
    assert {a.title for a in index.list_articles()} == {entry(n).title for n in (1, 2, 3)}
    texts = sent_texts(channel)
    assert len(texts) == 2, "the unchanged refresh is not reported"
    assert "2 added" in texts[0] and "1 added" in texts[1]
    assert server.statuses(FEED)[-1] == 304
    for call in channel.send.await_args_list:
        allowed = call.kwargs["allowed_mentions"]
        assert allowed.to_dict() == discord.AllowedMentions.none().to_dict()


async def test_a_failing_source_is_reported_once_and_keeps_its_articles(
    server: FeedServer, services: Services
) -> None:
    channel = log_channel()
    schedule = schedule_for(services, channel, Clock(stop_after=0))
    await schedule.run_once()
    server.documents[FEED].status = 503
    first = await schedule.run_once()
    second = await schedule.run_once()
    assert first.failed and second.failed
    texts = sent_texts(channel)
    assert len(texts) == 2, "a source that keeps failing is reported once"
    assert "503" in texts[1] and server.url(FEED) in texts[1]
    assert services.index.catalog.article_count() == 2


async def test_without_a_log_channel_refreshes_still_run(
    server: FeedServer, make_services: ServicesFactory
) -> None:
    services = make_services(discord={"log_channel_id": None})
    schedule = schedule_for(services, None, Clock(stop_after=0))
    outcome = await schedule.run_once()
    assert outcome.report.added == 2
    assert await schedule.report(outcome) is False


async def test_refresh_off_at_zero_minutes(make_services: ServicesFactory) -> None:
    services = make_services(knowledge={"refresh_minutes": 0})
    clock = Clock(stop_after=5)
    schedule = schedule_for(services, log_channel(), clock, startup_delay_s=0)
    assert not schedule.enabled
    await schedule.run_forever()  # returns at once: nothing is scheduled
    assert clock.sleeps == []


def test_report_lists_failures_and_fits_one_message() -> None:
    failures = [
        IngestFailure(path=f"https://feeds.example/{i}.xml", reason="HTTP 503 *Service*")
        for i in range(40)
    ]
    outcome = RefreshOutcome(
        started_at=datetime(2026, 3, 2, tzinfo=UTC),
        seconds=1.5,
        report=IngestReport(added=1, unchanged=9, failed=failures),
    )
    text = render_refresh(outcome)
    assert len(text) <= 2000
    assert "1 added" in text and "40 failed" in text
    assert "… and 30 more" in text
    assert "\\*Service\\*" in text


async def test_the_bot_starts_the_schedule_and_stops_it(services: Services) -> None:
    bot = await start_bot(services.settings, services)
    cog = bot.get_cog("RefreshCog")
    assert isinstance(cog, RefreshCog)
    assert cog.running()
    await bot.remove_cog("RefreshCog")
    assert not cog.running()


async def test_reindex_during_a_refresh_is_told_a_reindex_runs(
    server: FeedServer, make_services: ServicesFactory
) -> None:
    services = make_services(discord={"admin_role": "Curator Admins"})
    bot = await start_bot(services.settings, services)
    await bot.remove_cog("RefreshCog")  # the test drives the schedule itself
    config = dpytest.get_config()
    admin = await give_role(config.members[2], make_role(config.guilds[0], "Curator Admins"))
    schedule = schedule_for(services, None, Clock(stop_after=0))
    server.documents[FEED].delay = 1.5
    server.started.clear()
    refreshing = asyncio.create_task(schedule.run_once())
    assert await asyncio.to_thread(server.started.wait, 5)

    found = bot.get_cog("AdminCog")
    assert isinstance(found, AdminCog)
    admin_cog: Any = found  # the command's callback is typed for discord.py's own call
    fake = FakeInteraction(bot, admin, text_channel_at())
    await admin_cog.reindex.callback(admin_cog, fake.mock, False)
    # Told to the admin alone; nothing is posted in the channel.
    told = fake.sent[-1]
    assert told.ephemeral and told.content is not None and "already running" in told.content
    assert dpytest.verify().message().nothing()

    outcome = await refreshing
    assert outcome.report.added == 2 and not outcome.failed
    await dpytest.empty_queue()
