"""What the index makes of new kinds of content over several runs: dates, links and feeds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from knowledge.index import KnowledgeIndex
from tests.knowledge.loaders.conftest import RSS_FEED, Route, WebServer
from tests.knowledge.loaders.test_card_export import export
from tests.support.settings import make_settings

UNDATED_FEED = RSS_FEED.replace("<pubDate>Tue, 04 Mar 2025 10:00:00 GMT</pubDate>", "")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "cards"
    path.mkdir()
    return path


def _index(tmp_path: Path, sources: list[str]) -> KnowledgeIndex:
    settings = make_settings(
        tmp_path / "data", knowledge={"sources": sources, "allow_private_urls": True}
    )
    return KnowledgeIndex(settings)


@pytest.fixture
def opened(tmp_path: Path) -> Iterator[list[KnowledgeIndex]]:
    """Indexes a test opens, closed at the end."""
    indexes: list[KnowledgeIndex] = []
    yield indexes
    for index in indexes:
        index.close()


def test_an_undated_article_keeps_its_first_seen_time_across_reindexes(
    tmp_path: Path, folder: Path, opened: list[KnowledgeIndex]
) -> None:
    (folder / "card.txt").write_text(export(), encoding="utf-8")
    index = _index(tmp_path, [str(folder)])
    opened.append(index)
    before = datetime.now(UTC).replace(microsecond=0)
    first = index.reindex()
    assert first.added == 1
    (article,) = index.list_articles()
    assert article.curated is not None and before <= article.curated <= datetime.now(UTC)
    again = _index(tmp_path, [str(folder)])
    opened.append(again)
    report = again.reindex()
    assert (report.added, report.updated, report.unchanged) == (0, 0, 1)
    assert again.list_articles()[0].curated == article.curated


def test_a_version_with_a_link_replaces_the_unlinked_one_and_keeps_its_date(
    tmp_path: Path, folder: Path, opened: list[KnowledgeIndex]
) -> None:
    card = folder / "card.txt"
    card.write_text(export(), encoding="utf-8")
    index = _index(tmp_path, [str(folder)])
    opened.append(index)
    report = index.ingest([str(card)])
    assert [w.message for w in report.warnings] == [
        "no link to the original: citations will name it without a link"
    ]
    (unlinked,) = index.list_articles()
    assert unlinked.url == ""
    meta = "· Source: Field Notes Weekly · Link: https://notes.example/tiny"
    card.write_text(export(meta=meta), encoding="utf-8")
    report = index.ingest([str(card)])
    assert (report.added, report.removed) == (1, 1)
    assert [(w.path, w.message) for w in report.warnings] == [
        (str(card), "replaces the version indexed without a link (same title and publisher)")
    ]
    (linked,) = index.list_articles()
    assert linked.url == "https://notes.example/tiny"
    assert linked.curated == unlinked.curated
    assert index.get_article(unlinked.id) is None


def test_an_undated_feed_entry_is_curated_when_first_seen(
    tmp_path: Path, web: WebServer, opened: list[KnowledgeIndex]
) -> None:
    web.routes["/undated.xml"] = Route(
        body=UNDATED_FEED.encode(), headers={"Content-Type": "application/rss+xml"}
    )
    url = web.url("/undated.xml")
    index = _index(tmp_path, [url])
    opened.append(index)
    index.reindex()
    curated = {a.title: a.curated for a in index.list_articles()}
    assert curated["Evals First"] == datetime(2025, 3, 5, 8, 30, tzinfo=UTC)
    seen = curated["Chunking for Retrieval"]
    assert seen is not None and datetime.now(UTC) - seen < timedelta(minutes=5)


def test_a_feed_url_answering_with_an_html_page_keeps_the_feed_articles(
    tmp_path: Path, web: WebServer, opened: list[KnowledgeIndex]
) -> None:
    web.routes["/switching.xml"] = Route(
        body=RSS_FEED.encode(), headers={"Content-Type": "application/rss+xml"}
    )
    url = web.url("/switching.xml")
    index = _index(tmp_path, [url])
    opened.append(index)
    assert index.reindex().added == 2
    web.routes["/switching.xml"] = Route(
        body=b"<!doctype html><html><head><title>Down for maintenance</title></head>"
        b"<body><p>We will be back soon, with more to read than ever.</p></body></html>",
        headers={"Content-Type": "text/html; charset=utf-8"},
    )
    report = index.reindex()
    assert [(f.path, f.reason) for f in report.failed] == [
        (url, "expected a feed, got an HTML page")
    ]
    assert (report.added, report.removed) == (0, 0)
    assert sorted(a.title for a in index.list_articles()) == [
        "Chunking for Retrieval",
        "Evals First",
    ]


def test_a_url_with_several_articles_indexed_before_feeds_were_remembered_stays_a_feed(
    tmp_path: Path, web: WebServer, opened: list[KnowledgeIndex]
) -> None:
    web.routes["/legacy.xml"] = Route(
        body=RSS_FEED.encode(), headers={"Content-Type": "application/rss+xml"}
    )
    url = web.url("/legacy.xml")
    index = _index(tmp_path, [url])
    opened.append(index)
    assert index.reindex().added == 2
    # An index from before feed URLs were remembered: only its articles' origins tell.
    index.catalog.set_meta("feed_urls", "[]")
    web.routes["/legacy.xml"] = Route(
        body=b"<!doctype html><html><head><title>Log in</title></head>"
        b"<body><p>Log in to read this feed, and much more besides, every day.</p></body></html>",
        headers={"Content-Type": "text/html; charset=utf-8"},
    )
    report = index.reindex()
    assert [f.reason for f in report.failed] == ["expected a feed, got an HTML page"]
    assert len(index.list_articles()) == 2


def test_a_paired_article_whose_text_fails_to_load_keeps_its_indexed_text(
    tmp_path: Path, folder: Path, opened: list[KnowledgeIndex]
) -> None:
    (folder / "card.txt").write_text(export(), encoding="utf-8")
    text = folder / "article.txt"
    text.write_text("Tiny models, big wins\n\nThe original words.\n", encoding="utf-8")
    index = _index(tmp_path, [str(folder)])
    opened.append(index)
    assert len(index.reindex().paired) == 1
    text.write_bytes(b"Tiny models, big wins\n\n\x00\x00 corrupted")
    report = index.reindex()
    assert [(f.path, f.reason) for f in report.failed] == [
        (str(text), "binary data, not text (NUL byte at offset 23)")
    ]
    assert (report.updated, report.unchanged, report.removed) == (0, 1, 0)
    (article,) = index.list_articles()
    assert article.body == "The original words." and article.summary
