"""RSS and Atom feeds read from local files: one article per entry, bad entries fail alone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from knowledge.loaders import load_sources
from knowledge.loaders.feeds import looks_like_feed
from knowledge.loaders.html_text import html_to_text
from knowledge.settings import KnowledgeSettings
from tests.knowledge.loaders.conftest import ATOM_FEED, RSS_FEED

Write = Callable[[str, str | bytes], Path]


def test_rss_file_entries_become_articles(write: Write) -> None:
    path = write("journal.rss", RSS_FEED)
    result = load_sources([str(path)], KnowledgeSettings())
    chunking, evals = result.articles
    assert chunking.title == "Chunking for Retrieval"
    assert chunking.url == "https://journal.example/chunking"
    assert chunking.publisher == "Test Journal Feed"
    assert chunking.author == "ada@example.com (Ada Example)"
    assert chunking.published == datetime(2025, 3, 4, 10, 0, tzinfo=UTC)
    assert chunking.topics == ["retrieval", "rag"]
    assert chunking.body == "Split documents at headings first.\n\nThen by paragraphs."
    assert chunking.origin == str(path)
    assert evals.published == datetime(2025, 3, 5, 8, 30, tzinfo=UTC)
    assert evals.body == "Measure before you tune."
    [failure] = result.failures
    assert failure.path == f"{path}[#3]"
    assert failure.reason == "entry 'An entry without a link' has no link"


def test_atom_content_is_the_body_and_summary_is_kept(write: Write) -> None:
    path = write("notes.atom", ATOM_FEED)
    [article] = load_sources([str(path)], KnowledgeSettings()).articles
    assert article.title == "Reranking with Cross-Encoders"
    assert article.url == "https://notes.example/rerank"
    assert article.author == "Grace Example"
    assert article.publisher == "Atom Notes"
    assert article.topics == ["retrieval"]
    assert article.published == datetime(2025, 2, 1, 12, 0, tzinfo=UTC)
    assert article.summary == "Rerank the top candidates."
    assert article.body == (
        "Why\n\nA cross-encoder reads query and passage together.\n\n- accurate\n- slow"
    )


def test_entries_without_title_or_with_a_bad_link_fail_alone(write: Write) -> None:
    feed = RSS_FEED.replace("<title>Evals First</title>", "<title></title>").replace(
        "https://journal.example/chunking", "javascript:alert(1)"
    )
    path = write("feed.xml", feed)
    result = load_sources([str(path)], KnowledgeSettings())
    assert result.articles == []
    reasons = {f.path: f.reason for f in result.failures}
    assert reasons == {
        f"{path}[#1]": "'link' must be an http(s) URL, got 'javascript:alert(1)'",
        f"{path}[#2]": "entry has no title (link 'https://journal.example/evals')",
        f"{path}[#3]": "entry 'An entry without a link' has no link",
    }


def test_xml_that_is_not_a_feed_is_reported(write: Write) -> None:
    not_feed = write("config.xml", "<?xml version='1.0'?><settings><a>1</a></settings>")
    no_entries = write("empty.rss", "<rss version='2.0'><channel><title>T</title></channel></rss>")
    good = write("good.rss", RSS_FEED)
    result = load_sources([str(not_feed), str(no_entries), str(good)], KnowledgeSettings())
    assert len(result.articles) == 2
    reasons = {f.path: f.reason for f in result.failures}
    assert reasons[str(not_feed)].startswith("not an RSS or Atom feed")
    assert reasons[str(no_entries)] == "the feed has no entries"


def test_feed_file_over_the_limit_is_refused(write: Write) -> None:
    path = write("big.rss", RSS_FEED + "<!--" + "x" * 2_000 + "-->")
    [failure] = load_sources([str(path)], KnowledgeSettings(max_article_bytes=1_000)).failures
    assert failure.reason.startswith("too large (")


def test_looks_like_feed_uses_the_type_then_the_content() -> None:
    assert looks_like_feed("application/rss+xml", b"")
    assert looks_like_feed("text/plain", b"\xef\xbb\xbf  <?xml version='1.0'?><feed>")
    assert looks_like_feed("", b"<rss version='2.0'>")
    assert not looks_like_feed("text/html", b"<?xml version='1.0'?><rss>")
    assert not looks_like_feed("", b"<!doctype html><html>")


def test_html_to_text_keeps_paragraphs_and_drops_scripts() -> None:
    html = (
        "<p>One &amp; <i>two</i></p><script>alert(1)</script><style>p{}</style>"
        "<ul><li><p>item</p></li></ul>line<br>break"
    )
    assert html_to_text(html) == "One & two\n\n- item\n\nline\nbreak"


def test_feed_content_is_never_taken_as_a_file_name(write: Write) -> None:
    secret = write("secret.rss", RSS_FEED)
    pointer = write("pointer.xml", str(secret))
    [failure] = load_sources([str(pointer)], KnowledgeSettings()).failures
    assert failure.path == str(pointer)
    assert failure.reason.startswith("not an RSS or Atom feed")


DATED_FEED = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Dates</title>
<item><title>Zoned</title><link>https://d.example/zoned</link>
  <pubDate>Mon, 23 Nov 2026 08:30:00 +0100</pubDate></item>
<item><title>No zone</title><link>https://d.example/nozone</link>
  <pubDate>Mon, 23 Nov 2026 08:30:00</pubDate></item>
<item><title>Updated only</title><link>https://d.example/updated</link>
  <atom:updated xmlns:atom="http://www.w3.org/2005/Atom">2026-11-21T10:00:00Z</atom:updated></item>
<item><title>Undated</title><link>https://d.example/undated</link></item>
<item><title>Nonsense</title><link>https://d.example/nonsense</link>
  <pubDate>sometime next week</pubDate></item>
</channel></rss>
"""


def test_feed_entries_are_curated_when_published_and_undated_ones_are_left_to_the_index(
    write: Write,
) -> None:
    path = write("dates.rss", DATED_FEED)
    result = load_sources([str(path)], KnowledgeSettings())
    curated = {a.title: a.curated for a in result.articles}
    assert curated["Zoned"] == datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
    # RFC 822 with a weekday and no zone: feedparser gives up; read as UTC.
    assert curated["No zone"] == datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    assert curated["Updated only"] == datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
    # No date, or one nobody can read: the index dates them when first seen.
    assert curated["Undated"] is None and curated["Nonsense"] is None
    assert [(w.path, w.message) for w in result.warnings] == [
        (
            f"{path}[#5]",
            "cannot read the date 'sometime next week': curated when first seen instead",
        )
    ]
