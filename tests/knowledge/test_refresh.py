"""Scheduled refresh against a real feed server on 127.0.0.1 whose entries change."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import knowledge.loaders.web as web_loader
from knowledge.embeddings.base import Vectors
from knowledge.errors import IndexBusyError, StoreUnavailableError
from knowledge.index import KnowledgeIndex
from knowledge.logging_setup import extra_fields
from knowledge.refresh import DIGEST_LEAD, Refresher, next_refresh_at
from knowledge.settings import Settings
from knowledge.state import StateDB
from tests.support.feed_server import Entry, FeedServer, rss, running_feed_server
from tests.support.settings import make_settings

FEED = "/feed.xml"


def entry(n: int) -> Entry:
    return Entry(
        title=f"Field note {n}: calibrating retrieval number {n}",
        link=f"https://journal.example/notes/{n}",
        text=f"Note {n} explains how reranking step {n} changes recall on long questions.",
    )


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with running_feed_server() as running:
        running.put(FEED, rss([entry(1), entry(2)]))
        yield running


def feed_settings(tmp_path: Path, sources: Sequence[str]) -> Settings:
    """make_settings reading `sources` instead of the sample, the loopback feed server allowed."""
    return make_settings(
        tmp_path / "data",
        knowledge={"sources": list(sources), "allow_private_urls": True, "fetch_timeout": 5},
    )


@pytest.fixture
def index(tmp_path: Path, server: FeedServer) -> Iterator[KnowledgeIndex]:
    idx = KnowledgeIndex(feed_settings(tmp_path, [server.url(FEED)]))
    try:
        yield idx
    finally:
        idx.close()


@pytest.fixture
def state(tmp_path: Path) -> Iterator[StateDB]:
    db = StateDB(tmp_path / "data" / "state.sqlite3")
    try:
        yield db
    finally:
        db.close()


@pytest.fixture
def refresher(index: KnowledgeIndex, state: StateDB) -> Refresher:
    return Refresher(index, state)


class Calls:
    def __init__(self) -> None:
        self.count = 0


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Calls:
    """How many times a fetched feed is parsed."""
    calls = Calls()
    real = web_loader.parse_feed

    def counting(*args: object, **kwargs: object) -> object:
        calls.count += 1
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(web_loader, "parse_feed", counting)
    return calls


@pytest.fixture
def embedded(monkeypatch: pytest.MonkeyPatch, index: KnowledgeIndex) -> list[str]:
    """Every text the embedder is asked to embed for the index."""
    texts: list[str] = []
    embedder = index.embedder
    real: Callable[[Sequence[str]], Vectors] = embedder.embed

    def recording(batch: Sequence[str]) -> Vectors:
        texts.extend(batch)
        return real(batch)

    monkeypatch.setattr(embedder, "embed", recording)
    return texts


def titles(index: KnowledgeIndex) -> set[str]:
    return {a.title for a in index.list_articles()}


def test_new_entries_appear_without_an_admin(
    server: FeedServer, index: KnowledgeIndex, refresher: Refresher
) -> None:
    first = refresher.run()
    assert (first.report.added, first.failed) == (2, False)
    server.put(FEED, rss([entry(3), entry(1), entry(2)]))
    second = refresher.run()
    assert second.report.added == 1 and second.report.unchanged == 2
    assert second.changed and not second.failed
    assert entry(3).title in titles(index)
    hits = index.search("reranking step 3 recall", k=3)
    assert hits and hits[0].chunk.title == entry(3).title
    assert "1 added" in second.summary()


def test_an_unchanged_feed_costs_one_small_request_and_no_parsing(
    server: FeedServer,
    index: KnowledgeIndex,
    refresher: Refresher,
    parses: Calls,
    embedded: list[str],
) -> None:
    refresher.run()
    assert parses.count == 1
    embedded.clear()
    outcome = refresher.run()
    # The second request carried the validators and got a 304 with no body.
    last = server.requests[-1]
    assert last.if_none_match and last.status == 304
    assert parses.count == 1, "a 304 is never parsed"
    assert embedded == []
    assert outcome.not_modified == [server.url(FEED)]
    assert outcome.report.unchanged == 2 and not outcome.changed and not outcome.failed
    assert len(titles(index)) == 2


def test_last_modified_alone_is_enough(
    server: FeedServer, refresher: Refresher, parses: Calls
) -> None:
    server.documents[FEED].etag = False
    refresher.run()
    outcome = refresher.run()
    last = server.requests[-1]
    assert last.if_none_match is None and last.if_modified_since and last.status == 304
    assert outcome.not_modified and parses.count == 1


def test_a_503_keeps_the_articles_and_is_reported(
    server: FeedServer,
    index: KnowledgeIndex,
    refresher: Refresher,
    caplog: pytest.LogCaptureFixture,
) -> None:
    refresher.run()
    server.documents[FEED].status = 503
    with caplog.at_level(logging.WARNING, logger="knowledge.refresh"):
        outcome = refresher.run()
    [failed] = [r for r in caplog.records if r.getMessage() == "refresh could not read a source"]
    assert extra_fields(failed)["source"] == server.url(FEED)
    assert outcome.failed and not outcome.changed
    assert [f.path for f in outcome.report.failed] == [server.url(FEED)]
    assert "503" in outcome.report.failed[0].reason
    assert "1 failed (their 2 article(s) are kept)" in outcome.summary()
    assert len(titles(index)) == 2
    assert index.search("reranking step 2", k=1)
    # Back up, with a new entry: it arrives, nothing was lost in between.
    server.documents[FEED].status = None
    server.put(FEED, rss([entry(1), entry(2), entry(4)]))
    recovered = refresher.run()
    assert recovered.report.added == 1 and not recovered.failed
    assert len(titles(index)) == 3


def test_an_html_page_where_the_feed_was_keeps_the_articles(
    server: FeedServer, index: KnowledgeIndex, refresher: Refresher
) -> None:
    refresher.run()
    page = (
        b"<!doctype html><html><head><title>Maintenance</title></head><body><p>"
        + (b"We are down for maintenance and will be back soon. " * 20)
        + b"</p></body></html>"
    )
    server.put(FEED, page, content_type="text/html; charset=utf-8")
    outcome = refresher.run()
    assert outcome.failed and not outcome.changed
    assert "expected a feed, got an HTML page" in outcome.report.failed[0].reason
    assert titles(index) == {entry(1).title, entry(2).title}


def test_validators_are_kept_only_once_the_index_holds_the_content(
    server: FeedServer,
    index: KnowledgeIndex,
    refresher: Refresher,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    refresher.run()
    server.put(FEED, rss([entry(1), entry(2), entry(5)]))

    def store_down(batch: Sequence[str]) -> Vectors:
        raise StoreUnavailableError("the vector store is down")

    monkeypatch.setattr(index.embedder, "embed", store_down)
    failed = refresher.run()
    assert failed.error and "down" in failed.error and failed.failed
    monkeypatch.undo()
    # The failed run must not have stored the new ETag: the next run reads the feed again.
    again = refresher.run()
    assert server.requests[-1].status == 200
    assert again.report.added == 1 and entry(5).title in titles(index)


def test_a_folder_and_a_feed_refresh_together(tmp_path: Path, server: FeedServer) -> None:
    folder = tmp_path / "cards"
    folder.mkdir()
    for n in range(3):
        (folder / f"card{n}.md").write_text(
            f"---\ntitle: Card {n}\nurl: https://cards.example/{n}\n---\n\nBody of card {n}.\n",
            encoding="utf-8",
        )
    index = KnowledgeIndex(feed_settings(tmp_path, [str(folder), server.url(FEED)]))
    state = StateDB(tmp_path / "state.sqlite3")
    try:
        refresher = Refresher(index, state)
        assert refresher.run().report.added == 5
        (folder / "card1.md").unlink()
        outcome = refresher.run()
        # The file is gone, so is its article; the unchanged feed is kept without parsing.
        assert outcome.report.removed == 1 and outcome.report.unchanged == 4
        assert outcome.not_modified == [server.url(FEED)]
        assert "Card 1" not in titles(index)
    finally:
        index.close()
        state.close()


def test_refresh_and_reindex_never_run_at_once(
    server: FeedServer, index: KnowledgeIndex, refresher: Refresher
) -> None:
    server.documents[FEED].delay = 1.5
    server.started.clear()
    results = []
    worker = threading.Thread(target=lambda: results.append(refresher.run()))
    worker.start()
    assert server.started.wait(5), "the refresh never reached the server"
    # The refresh is still reading its sources: a reindex is refused at once.
    with pytest.raises(IndexBusyError):
        index.reindex()
    worker.join(10)
    assert results and results[0].report.added == 2
    # And the other way round: while a reindex holds the lock, a refresh skips its turn.
    server.documents[FEED].delay = 0
    server.put(FEED, rss([entry(1), entry(2), entry(6)]))
    with index.lock():
        skipped = refresher.run()
    assert skipped.skipped and "already running" in skipped.skipped
    assert not skipped.changed and not skipped.failed
    # In JSON the reason is `run_skipped`: `skipped` is the report's list of files not read.
    shown = skipped.as_json()
    assert "already running" in str(shown["run_skipped"]) and shown["skipped"] == []
    assert entry(6).title not in titles(index)
    assert refresher.run().report.added == 1


def test_a_source_added_back_is_read_in_full(
    tmp_path: Path, server: FeedServer, index: KnowledgeIndex, state: StateDB
) -> None:
    Refresher(index, state).run()
    index.close()
    # Dropped from the sources: the next refresh removes its articles.
    without = KnowledgeIndex(feed_settings(tmp_path, [str(tmp_path / "empty")]))
    (tmp_path / "empty").mkdir()
    try:
        assert Refresher(without, state).run().report.removed == 2
    finally:
        without.close()
    # Added back: its stored ETag must not make it look unchanged.
    again = KnowledgeIndex(feed_settings(tmp_path, [server.url(FEED)]))
    try:
        outcome = Refresher(again, state).run()
        assert outcome.report.added == 2 and not outcome.not_modified
        assert server.requests[-1].if_none_match is None
    finally:
        again.close()


NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def schedule(minutes: int, digest_channel: int | None = None) -> Settings:
    return make_settings(
        Path("data"),
        knowledge={"sources": ["https://journal.example/feed.xml"], "refresh_minutes": minutes},
        digest={"time": "09:00", "timezone": "UTC", "channel_id": digest_channel},
    )


def test_refresh_every_n_minutes_and_off_at_zero() -> None:
    assert next_refresh_at(NOW, None, schedule(60)) == NOW
    assert next_refresh_at(NOW, NOW, schedule(60)) == NOW + timedelta(minutes=60)
    assert next_refresh_at(NOW, NOW, schedule(0)) is None
    no_sources = make_settings(Path("data"), knowledge={"sources": [], "refresh_minutes": 60})
    assert next_refresh_at(NOW, None, no_sources) is None


def test_refresh_right_before_each_digest() -> None:
    digest_at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    last = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    # Due at 9:30 by the interval, but the 9:00 digest comes first.
    assert next_refresh_at(last, last, schedule(60, digest_channel=1)) == digest_at - DIGEST_LEAD
    # That refresh done, the next one is an hour after it.
    pre = digest_at - DIGEST_LEAD
    assert next_refresh_at(pre, pre, schedule(60, digest_channel=1)) == pre + timedelta(hours=1)
    # Without a digest channel, no digest refresh.
    assert next_refresh_at(last, last, schedule(60)) == last + timedelta(minutes=60)


def test_an_unexpected_error_is_a_failed_refresh_not_a_crash(
    server: FeedServer,
    index: KnowledgeIndex,
    refresher: Refresher,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("parser bug")

    monkeypatch.setattr("knowledge.loaders.load_sources", broken)
    outcome = refresher.run()
    assert outcome.error == "unexpected error: RuntimeError: parser bug"
    assert outcome.failed
    assert "the refresh failed unexpectedly" in caplog.text
    monkeypatch.undo()
    assert refresher.run().report.added == 2
