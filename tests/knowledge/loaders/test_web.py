"""Web pages and feeds fetched from a real HTTP server on 127.0.0.1, and the SSRF guard at work."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from pathlib import Path

import pytest

from knowledge.errors import SourceError
from knowledge.loaders import load_sources, url_safety
from knowledge.loaders.fetch import fetch
from knowledge.loaders.url_safety import ALLOW_PRIVATE_HINT, IPAddress
from knowledge.settings import KnowledgeSettings
from tests.knowledge.loaders.conftest import RSS_FEED, Route, WebServer

LOCAL = KnowledgeSettings(allow_private_urls=True)


def _only_failure(sources: list[str], settings: KnowledgeSettings) -> tuple[str, str]:
    result = load_sources(sources, settings)
    assert result.articles == []
    [failure] = result.failures
    return failure.path, failure.reason


@pytest.fixture
def loopback_counts_as_public(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the guard treat 127.0.0.1 (the test server) as public; every other address is real."""
    real = url_safety.private_address_kind

    def kind(address: IPAddress) -> str | None:
        return None if address == ipaddress.ip_address("127.0.0.1") else real(address)

    monkeypatch.setattr(url_safety, "private_address_kind", kind)


def test_web_page_main_text_and_metadata(web: WebServer) -> None:
    url = web.url("/article.html")
    result = load_sources([url], LOCAL)
    assert result.failures == []
    [article] = result.articles
    assert article.title == "Evaluating Retrieval Before Generation"
    assert article.url == url
    assert article.origin == url
    assert article.publisher == "Test Journal"
    assert article.author == "Ada Example"
    assert article.published == datetime(2025, 3, 4, tzinfo=UTC)
    # A page is curated on its own date: a calendar day, as the page gives no time.
    assert article.curated == article.published and article.curated_is_date
    assert article.summary == "Why retrieval quality bounds answer quality."
    assert "a generator cannot cite what the retriever never found" in article.body
    assert "Hybrid retrieval" in article.body
    assert "Copyright Test Journal" not in article.body


def test_feed_url_loads_each_entry(web: WebServer) -> None:
    url = web.url("/feed.xml")
    result = load_sources([url], LOCAL)
    assert [a.title for a in result.articles] == ["Chunking for Retrieval", "Evals First"]
    assert all(a.origin == url for a in result.articles)
    [failure] = result.failures
    assert failure.path == f"{url}[#3]"
    assert "has no link" in failure.reason


def test_feed_served_as_plain_text_is_recognised_by_its_content(web: WebServer) -> None:
    result = load_sources([web.url("/atom-as-text")], LOCAL)
    assert [a.title for a in result.articles] == ["Reranking with Cross-Encoders"]


def test_loopback_is_refused_by_default_without_a_request(web: WebServer) -> None:
    url = web.url("/article.html")
    path, reason = _only_failure([url], KnowledgeSettings())
    assert path == url
    assert reason == f"refused: 127.0.0.1 is a loopback address ({ALLOW_PRIVATE_HINT})"
    assert web.requests == []


def test_localhost_name_is_refused_by_default(web: WebServer) -> None:
    _, reason = _only_failure([f"http://localhost:{web.port}/article.html"], KnowledgeSettings())
    assert reason.startswith("refused: localhost resolves to ")
    assert reason.endswith(f"a loopback address ({ALLOW_PRIVATE_HINT})")
    assert web.requests == []


@pytest.mark.parametrize(
    ("url", "scheme"),
    [("file:///etc/passwd", "file://"), ("ftp://example.com/feed.xml", "ftp://")],
)
def test_other_schemes_are_refused(url: str, scheme: str) -> None:
    _, reason = _only_failure([url], LOCAL)
    assert reason == f"refused: only http and https URLs can be fetched, not {scheme}"


def test_redirects_are_followed_and_the_final_url_kept(web: WebServer) -> None:
    start = web.url("/redirect")
    [article] = load_sources([start], LOCAL).articles
    assert article.url == web.url("/article.html")
    assert article.origin == start
    assert [path for path, _ in web.requests] == ["/redirect", "/article.html"]


@pytest.mark.usefixtures("loopback_counts_as_public")
def test_redirect_to_a_private_address_is_refused_before_connecting(web: WebServer) -> None:
    start = web.url("/redirect-metadata")
    path, reason = _only_failure([start], KnowledgeSettings())
    assert path == start
    assert reason == (
        "refused: redirect to http://169.254.169.254/latest/meta-data/: "
        f"169.254.169.254 is a link-local address ({ALLOW_PRIVATE_HINT})"
    )
    assert [p for p, _ in web.requests] == ["/redirect-metadata"]


def test_redirect_to_another_scheme_is_refused_even_when_private_urls_are_allowed(
    web: WebServer,
) -> None:
    _, reason = _only_failure([web.url("/redirect-file")], LOCAL)
    assert reason == (
        "refused: redirect to file:///etc/passwd: only http and https URLs can be fetched, "
        "not file://"
    )


def test_redirect_loops_stop_after_five_hops(web: WebServer) -> None:
    _, reason = _only_failure([web.url("/loop")], LOCAL)
    assert reason == "too many redirects (more than 5)"
    assert len(web.requests) == 6


@pytest.mark.usefixtures("loopback_counts_as_public")
def test_checked_address_is_the_one_connected_to(web: WebServer) -> None:
    """A host name is resolved once and pinned; the server still sees the real Host header."""
    answers = {"articles.test": [ipaddress.ip_address("127.0.0.1")]}
    document = fetch(
        f"http://articles.test:{web.port}/article.html",
        timeout=5,
        max_bytes=100_000,
        allow_private=False,
        resolve=lambda host, port: answers[host],
    )
    assert document.url == f"http://articles.test:{web.port}/article.html"
    assert document.media_type == "text/html"
    assert document.charset == "utf-8"
    assert b"Evaluating Retrieval Before Generation" in document.body
    assert web.requests == [("/article.html", f"articles.test:{web.port}")]


def test_a_huge_page_is_cut_off_and_reported(web: WebServer) -> None:
    settings = KnowledgeSettings(allow_private_urls=True, max_article_bytes=50_000)
    _, reason = _only_failure([web.url("/huge")], settings)
    assert reason.startswith("page too large (over the 50.0 KB limit")
    assert reason.endswith("download stopped")


def test_a_declared_huge_page_is_refused_from_its_headers(web: WebServer) -> None:
    _, reason = _only_failure([web.url("/huge-declared")], LOCAL)
    assert reason.startswith("page too large (10.0 MB, over the 2.0 MB limit")


def test_http_errors_and_unsupported_types_are_reported(web: WebServer) -> None:
    result = load_sources([web.url("/missing"), web.url("/report.pdf")], LOCAL)
    assert [f.reason for f in result.failures] == [
        "HTTP 404 Not Found",
        "unsupported content type 'application/pdf' (expected an HTML page or an RSS/Atom feed)",
    ]


def test_a_slow_server_times_out(web: WebServer) -> None:
    settings = KnowledgeSettings(allow_private_urls=True, fetch_timeout=0.3)
    _, reason = _only_failure([web.url("/slow")], settings)
    assert reason == "timed out after 0.3 s"


def test_a_closed_port_is_a_connection_failure() -> None:
    with pytest.raises(SourceError) as caught:
        fetch("http://127.0.0.1:9/", timeout=2, max_bytes=1_000, allow_private=True)
    assert caught.value.reason.startswith("cannot connect")


def test_one_bad_url_does_not_stop_the_batch(web: WebServer) -> None:
    result = load_sources(
        [web.url("/missing"), "gopher://example.com/", web.url("/article.html")], LOCAL
    )
    assert [a.title for a in result.articles] == ["Evaluating Retrieval Before Generation"]
    assert len(result.failures) == 2


def test_a_feed_body_naming_a_local_file_does_not_read_it(web: WebServer, tmp_path: Path) -> None:
    secret = tmp_path / "secret.rss"
    secret.write_text(RSS_FEED, encoding="utf-8")
    web.routes["/pointer.rss"] = Route(
        body=str(secret).encode(), headers={"Content-Type": "application/rss+xml"}
    )
    _, reason = _only_failure([web.url("/pointer.rss")], LOCAL)
    assert reason.startswith("not an RSS or Atom feed")
