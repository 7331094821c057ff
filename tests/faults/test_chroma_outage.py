"""A Chroma server killed and restarted while questions come in: clear replies during the
outage, and answers again afterwards from the same index and service (no bot restart)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import discord
import discord.ext.test as dpytest
import pytest

from bot.discord.curator_bot import CuratorBot
from knowledge.answers.service import AnswerService
from knowledge.errors import StoreUnavailableError
from knowledge.index import KnowledgeIndex
from knowledge.services import Services
from knowledge.settings import Settings
from tests.bot.discord.conftest import latest, start_bot
from tests.support.cards import zebra_corpus
from tests.support.chroma_server import ChromaServer
from tests.support.settings import make_settings

pytestmark = [pytest.mark.slow, pytest.mark.server]

QUESTION = "Why do zebras have stripes?"
#: The longest a question may take to get its answer or its error while the store is down.
BOUND_S = 5.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    """A Chroma server of our own: these tests kill it, so it is not the shared one."""
    chroma = ChromaServer(tmp_path_factory.mktemp("outage") / "db")
    chroma.start()
    yield chroma
    chroma.stop()


def kill(server: ChromaServer) -> None:
    """SIGKILL, as a crash or an OOM kill would: no clean shutdown."""
    assert server.process is not None
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=10)
    server.process = None


@pytest.fixture
def settings(server: ChromaServer, tmp_path: Path) -> Settings:
    zebra_corpus(tmp_path / "cards")
    # A prefix per test: the module's server is shared by both tests.
    prefix = f"outage{zlib.crc32(tmp_path.name.encode())}"
    settings = make_settings(
        tmp_path / "data",
        knowledge={"sources": [str(tmp_path / "cards")]},
        chroma={
            "host": server.host,
            "port": server.port,
            "timeout": 2,
            "collection_prefix": prefix,
        },
        discord={"cooldown_seconds": 0},
    )
    index = KnowledgeIndex(settings)
    assert index.reindex().added == 3
    index.close()
    return settings


async def test_questions_during_an_outage_get_a_clear_error_then_answers_again(
    server: ChromaServer, settings: Settings
) -> None:
    index = KnowledgeIndex(settings)
    service = AnswerService(settings, index)
    outcomes: list[tuple[str, str, float]] = []
    done = asyncio.Event()

    async def keep_asking() -> None:
        while not done.is_set():
            started = time.monotonic()
            try:
                answer = await service.answer(QUESTION)
                kind, text = ("answer" if answer.citations else "empty"), answer.text
            except StoreUnavailableError as exc:
                kind, text = "store down", exc.user_message
            outcomes.append((kind, text, time.monotonic() - started))
            await asyncio.sleep(0.05)

    asker = asyncio.create_task(keep_asking())
    try:
        await asyncio.sleep(0.5)
        await asyncio.to_thread(kill, server)
        await asyncio.sleep(1.0)
        # Same port, same path: what a supervisor restarting the container does.
        await asyncio.to_thread(server.start)
        await asyncio.sleep(0.5)
    finally:
        done.set()
        await asyncio.wait_for(asker, timeout=BOUND_S * 2)
        await service.aclose()

    kinds = [kind for kind, _, _ in outcomes]
    assert set(kinds) <= {"answer", "store down"}, kinds
    assert kinds[0] == "answer" and "store down" in kinds and kinds[-1] == "answer"
    # Once back, it stays back: no answer after recovery fails again.
    recovered = kinds.index("answer", kinds.index("store down"))
    assert set(kinds[recovered:]) == {"answer"}
    for kind, text, took in outcomes:
        assert took < BOUND_S, (kind, took)
        if kind == "store down":
            assert "vector store" in text and f"127.0.0.1:{server.port}" in text
    # The same index object answers search directly, too.
    assert index.search(QUESTION)[0].chunk.title == "Why zebras have stripes"
    index.close()


async def test_a_stalled_server_times_out_instead_of_hanging_then_answers_again(
    server: ChromaServer, settings: Settings
) -> None:
    """SIGSTOP: the server still accepts connections but never answers, as a frozen VM or a
    stuck disk would. Each question must fail within the configured 2 s, not wait forever."""
    index = KnowledgeIndex(settings)
    service = AnswerService(settings, index)
    try:
        assert (await service.answer(QUESTION)).citations
        assert server.process is not None
        os.killpg(server.process.pid, signal.SIGSTOP)
        try:
            # The first call stalls on an open connection, the second while reconnecting.
            for _ in range(2):
                started = time.monotonic()
                with pytest.raises(StoreUnavailableError) as caught:
                    await asyncio.wait_for(service.answer(QUESTION), timeout=BOUND_S * 2)
                assert time.monotonic() - started < BOUND_S
                assert f"127.0.0.1:{server.port}" in caught.value.user_message
        finally:
            os.killpg(server.process.pid, signal.SIGCONT)
        assert (await service.answer(QUESTION)).citations
    finally:
        await service.aclose()
        index.close()


@pytest.fixture
async def bot(settings: Settings) -> AsyncIterator[CuratorBot]:
    services = Services(settings)
    bot = await start_bot(settings, services)
    yield bot
    await dpytest.empty_queue()
    await services.aclose()


async def ask(bot: CuratorBot) -> discord.Message:
    config = dpytest.get_config()
    channel = config.channels[0]
    assert isinstance(channel, discord.TextChannel) and bot.user is not None
    await dpytest.message(f"<@{bot.user.id}> {QUESTION}", channel, config.members[0])
    return await latest(channel, dpytest.get_message())


async def test_the_bot_says_the_store_is_down_and_answers_once_it_is_back(
    server: ChromaServer, bot: CuratorBot
) -> None:
    before = await ask(bot)
    assert before.embeds and "zebras" in (before.embeds[0].description or "").lower()

    await asyncio.to_thread(kill, server)
    started = time.monotonic()
    during = await ask(bot)
    assert time.monotonic() - started < BOUND_S
    assert not during.embeds
    assert "vector store" in (during.content or "")
    assert "error id" not in (during.content or "")  # a known problem, not an unexpected one

    await asyncio.to_thread(server.start)
    after = await ask(bot)
    assert after.embeds and "zebras" in (after.embeds[0].description or "").lower()
