"""The reindex progress relay: called from the worker thread, throttled edits on the loop."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from bot.discord.reindex import ProgressRelay, ReindexRunner, ReindexRunningError
from knowledge.logging_setup import extra_fields
from knowledge.models import IngestFailure, IngestReport
from tests.bot.discord.conftest import FakeClock


async def test_progress_from_a_worker_thread_is_throttled_to_one_edit_a_second() -> None:
    clock = FakeClock()
    edits: list[tuple[str, str]] = []

    async def edit(text: str) -> None:
        edits.append((threading.current_thread().name, text))

    relay = ProgressRelay(asyncio.get_running_loop(), edit, dry_run=False, clock=clock)

    def work() -> None:
        for done in range(1, 11):
            clock.advance(0.4)  # 10 updates over 4 s
            relay("embed", done, 10)

    await asyncio.to_thread(work)
    await relay.close()
    relay("embed", 10, 10)  # after close: ignored
    await asyncio.sleep(0)

    assert 1 <= len(edits) <= 4
    # Edits run on the event loop's thread, never the worker's.
    assert {name for name, _ in edits} == {threading.main_thread().name}
    assert edits[0][1] == "🔄 Reindexing: embedding 3/10 (30%)"


class SlowIndex:
    def __init__(self) -> None:
        self.release = threading.Event()

    def reindex(self, dry_run: bool = False, progress: object = None) -> IngestReport:
        self.release.wait(10)
        return IngestReport(unchanged=3)

    def list_articles(self) -> list[object]:
        return []


class FakeServices:
    def __init__(self, index: SlowIndex) -> None:
        self.index = index


async def test_runner_refuses_a_second_run_while_one_is_going() -> None:
    index = SlowIndex()
    runner = ReindexRunner(FakeServices(index), clock=FakeClock())  # type: ignore[arg-type]

    async def edit(text: str) -> None:
        return None

    first = asyncio.create_task(runner.run(False, edit, user_id=7))
    await asyncio.sleep(0.05)
    assert runner.running
    try:
        await runner.run(True, edit)
        raise AssertionError("a second run was allowed")
    except ReindexRunningError as exc:
        assert "already running (started by <@7>" in exc.user_message
    index.release.set()
    report, changes = await first

    assert report.unchanged == 3 and not runner.running
    assert changes.added == changes.updated == changes.removed == []


class FailingIndex(SlowIndex):
    def reindex(self, dry_run: bool = False, progress: object = None) -> IngestReport:
        failed = [IngestFailure(path="cards/broken.md", reason="no title")]
        return IngestReport(added=2, unchanged=5, failed=failed)


async def test_a_finished_reindex_logs_its_counts_as_fields(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runner = ReindexRunner(FakeServices(FailingIndex()), clock=FakeClock())  # type: ignore[arg-type]

    async def edit(text: str) -> None:
        return None

    with caplog.at_level(logging.INFO, logger="bot.discord.reindex"):
        await runner.run(True, edit)
    failure, done = caplog.records
    assert extra_fields(failure) == {"source": "cards/broken.md", "reason": "no title"}
    assert done.getMessage() == "reindex done"
    counts = extra_fields(done)
    assert (counts["dry_run"], counts["added"], counts["unchanged"], counts["failed"]) == (
        True,
        2,
        5,
        1,
    )
