"""Digest history: a date is posted once, across racers and restarts."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from pathlib import Path

from knowledge.digest.history import DigestHistory
from knowledge.state import StateDB
from tests.knowledge.digest.fakes import utc

DAY = date(2026, 11, 23)


def test_claim_post_and_refuse_a_second_claim(tmp_path: Path) -> None:
    history = DigestHistory(StateDB(tmp_path / "state.sqlite3"))
    assert history.last_posted() is None
    assert not history.was_posted(DAY)
    assert history.claim(DAY, by="schedule")
    assert not history.was_posted(DAY)  # claimed is not posted
    assert not history.claim(DAY, by="alice")
    history.mark_posted(DAY, by="schedule", channel_id=42, message_ids=[1001, 1002])
    assert history.was_posted(DAY)
    assert not history.claim(DAY, by="alice")
    record = history.get(DAY)
    assert record is not None
    assert record.message_ids == [1001, 1002] and record.channel_id == 42
    assert "by schedule" in record.describe()
    assert history.last_posted() == DAY


def test_posted_state_survives_a_restart_on_the_same_data_dir(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    first = StateDB(path)
    DigestHistory(first).claim(DAY, by="alice")
    DigestHistory(first).mark_posted(DAY, by="alice", channel_id=1, message_ids=[7])
    first.close()

    again = DigestHistory(StateDB(path))
    assert again.was_posted(DAY)
    assert not again.claim(DAY, by="schedule")
    assert again.last_posted() == DAY
    assert not again.was_posted(DAY - timedelta(days=1))


def test_two_racers_on_two_connections_only_one_wins(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    histories = [DigestHistory(StateDB(path)) for _ in range(8)]
    results: list[bool] = []
    barrier = threading.Barrier(len(histories))

    def race(history: DigestHistory, name: str) -> None:
        barrier.wait()
        results.append(history.claim(DAY, by=name))

    threads = [threading.Thread(target=race, args=(h, f"bot-{i}")) for i, h in enumerate(histories)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]


def test_released_or_stale_claims_can_be_taken_again(tmp_path: Path) -> None:
    history = DigestHistory(StateDB(tmp_path / "s.sqlite3"), claim_ttl=timedelta(minutes=15))
    now = utc(2026, 11, 23, 9, 0)
    assert history.claim(DAY, by="schedule", now=now)
    history.release(DAY, by="someone-else")  # only the holder may release
    assert not history.claim(DAY, by="alice", now=now + timedelta(minutes=5))
    history.release(DAY, by="schedule")
    assert history.claim(DAY, by="alice", now=now + timedelta(minutes=6))
    # Alice's process died before posting: after the TTL the claim is free again.
    assert history.claim(DAY, by="schedule", now=now + timedelta(minutes=30))
    history.mark_posted(DAY, by="schedule", now=now + timedelta(minutes=31))
    # A posted date never goes stale.
    assert not history.claim(DAY, by="alice", now=now + timedelta(days=30))
    history.release(DAY, by="schedule")
    assert history.was_posted(DAY)


def test_last_posted_ignores_dates_only_claimed(tmp_path: Path) -> None:
    history = DigestHistory(StateDB(tmp_path / "s.sqlite3"))
    history.mark_posted(date(2026, 11, 20), by="schedule")
    history.claim(date(2026, 11, 22), by="schedule")
    assert history.last_posted() == date(2026, 11, 20)
