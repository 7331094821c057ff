"""A URL's `user:password@` never reaches a report, a log line or an error: feeds, the LLM and
embeddings base URL and the Chroma host may all be configured with credentials."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from knowledge.index import KnowledgeIndex
from knowledge.logging_setup import configure_logging, redact_text
from knowledge.models import IngestFailure
from knowledge.refresh import Refresher
from knowledge.settings import ChromaSettings
from knowledge.state import StateDB
from knowledge.url_credentials import url_without_credentials, without_url_credentials
from tests.support.feed_server import Entry, FeedServer, rss, running_feed_server
from tests.support.settings import make_settings

PASSWORD = "hunter2secret"
FEED = "/private/feed.xml"


def with_credentials(url: str) -> str:
    return url.replace("://", f"://bob:{PASSWORD}@", 1)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"https://bob:{PASSWORD}@feeds.example/x?a=1", "https://***@feeds.example/x?a=1"),
        (f"http://{PASSWORD}@[::1]:8080/v1", "http://***@[::1]:8080/v1"),
        ("https://feeds.example/x?mail=a@b.example", "https://feeds.example/x?mail=a@b.example"),
        ("/var/cards/zebra.md", "/var/cards/zebra.md"),
        (
            f"https://bob:{PASSWORD}@example.com/feed?token={PASSWORD}",
            "https://***@example.com/feed?token=***",
        ),
        (
            f"https://feeds.example/x?page=2&API_KEY={PASSWORD}&key={PASSWORD}#top",
            "https://feeds.example/x?page=2&API_KEY=***&key=***#top",
        ),
        (
            f"https://cdn.example/a.xml?sig={PASSWORD}&signature={PASSWORD};password={PASSWORD}",
            "https://cdn.example/a.xml?sig=***&signature=***;password=***",
        ),
        (
            f"https://api.example/v1?access_token={PASSWORD}&api_key={PASSWORD}",
            "https://api.example/v1?access_token=***&api_key=***",
        ),
        # Only those names: a parameter that merely contains one keeps its value.
        (
            "https://feeds.example/x?tokens=3&monkey=4&key=",
            "https://feeds.example/x?tokens=3&monkey=4&key=",
        ),
    ],
)
def test_a_url_is_shown_without_its_credentials(url: str, shown: str) -> None:
    assert url_without_credentials(url) == shown
    assert without_url_credentials(f"fetching {url} failed") == f"fetching {shown} failed"


def test_a_query_secret_is_masked_in_a_sentence_and_the_punctuation_after_it_kept() -> None:
    text = f"https://h.example/feed?token={PASSWORD}: HTTP 503 (see https://x.example/?key=k)."
    shown = without_url_credentials(text)
    assert shown == "https://h.example/feed?token=***: HTTP 503 (see https://x.example/?key=***)."
    assert without_url_credentials(shown) == shown


def test_redaction_removes_url_credentials_and_stays_the_same_when_run_again() -> None:
    once = redact_text(f"GET https://bob:{PASSWORD}@feeds.example/x and http://tok3n@h.example/")
    assert once == "GET https://***@feeds.example/x and http://***@h.example/"
    assert redact_text(once) == once


def test_the_chroma_store_and_doctor_name_the_server_without_its_password() -> None:
    from knowledge.health import check_chroma

    chroma = ChromaSettings(host=f"admin:{PASSWORD}@127.0.0.1", port=9, timeout=0.5)
    check = check_chroma(chroma, Path("unused"))
    assert check.status == "fail" and "http://***@127.0.0.1:9" in check.detail
    assert PASSWORD not in str(check)


def test_a_failure_names_the_url_without_credentials() -> None:
    failure = IngestFailure(path=with_credentials("https://f.example/x"), reason="HTTP 503")
    assert failure.path == "https://***@f.example/x"
    assert PASSWORD not in json.dumps(failure.model_dump())


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with running_feed_server() as running:
        running.put(
            FEED,
            rss(
                [
                    Entry(
                        title="Members-only note on reranking",
                        link="https://journal.example/notes/1",
                        text="Reranking the first hundred hits changes recall on long questions.",
                    )
                ]
            ),
        )
        yield running


@pytest.mark.parametrize("where", ["userinfo", "query"])
@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_failing_feed_with_credentials_keeps_them_out_of_the_report_and_the_log(
    tmp_path: Path, server: FeedServer, log_format: str, where: str
) -> None:
    path = FEED
    if where == "query":
        path = f"{FEED}?token={PASSWORD}"
        server.documents[path] = server.documents.pop(FEED)
    url = with_credentials(server.url(path)) if where == "userinfo" else server.url(path)
    masked = url_without_credentials(url)
    assert PASSWORD not in masked
    settings = make_settings(
        tmp_path / "data",
        log_format=log_format,
        knowledge={"sources": [url], "allow_private_urls": True, "fetch_timeout": 5},
    )
    out = io.StringIO()
    configure_logging(settings, level="DEBUG", stream=out)
    index = KnowledgeIndex(settings)
    state = StateDB(tmp_path / "data" / "state.sqlite3")
    try:
        refresher = Refresher(index, state)
        assert refresher.run().report.added == 1
        server.documents[path].status = 503
        outcome = refresher.run()
        # The failed feed is still recognised as the source of the stored article: it is kept.
        assert outcome.kept == 1 and len(index.list_articles()) == 1
        assert [f.path for f in outcome.report.failed] == [url_without_credentials(url)]
        # A request that went out with the credentials, then failed, is logged anyway.
        logging.getLogger("knowledge.loaders.fetch").warning(
            "fetching %s failed", url, extra={"source": url}
        )
        ingested = index.ingest([url])
    finally:
        index.close()
        state.close()
        logging.getLogger().setLevel(logging.WARNING)
    assert masked in ingested.failed[0].path
    written = out.getvalue()
    assert masked in written
    shown = {
        "summary": outcome.summary(),
        "refresh": outcome.as_json(),
        "ingest": ingested.as_json(),
        "log": written,
    }
    assert PASSWORD not in json.dumps(shown)
    if log_format == "json":
        lines = [json.loads(line) for line in written.splitlines()]
        assert any(line.get("source", "").startswith(masked) for line in lines)
