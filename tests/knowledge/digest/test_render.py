"""Markdown, plain text and JSON renderings of a digest."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from knowledge.digest.contents import IntroCitation
from knowledge.digest.engine import DigestService
from knowledge.digest.formats import digest_to_json, render_markdown, render_text
from knowledge.settings import Settings
from tests.knowledge.digest.fakes import FakeArticleIndex, card, digest_settings, utc

DAY = date(2026, 11, 23)


def _articles() -> list:
    return [
        card(
            "a",
            utc(2026, 11, 23, 6, 0),
            ["Retrieval"],
            title="Search [beyond] BM25",
            best_for=["engineers", "PMs"],
        ),
        card("b", utc(2026, 11, 23, 5, 0), ["Agents"], title="Agents (in practice)"),
    ]


async def test_json_has_the_documented_shape(settings: Settings) -> None:
    digest = await DigestService(settings, FakeArticleIndex(_articles())).build(date=DAY)
    payload = json.loads(json.dumps(digest_to_json(digest)))
    assert list(payload) == ["date", "window", "intro", "sections", "article_count"]
    assert payload["date"] == "2026-11-23"
    assert payload["window"] == {
        "start": "2026-11-22T09:00:00+00:00",
        "end": "2026-11-23T09:00:00+00:00",
    }
    assert payload["article_count"] == 2
    assert [s["topic"] for s in payload["sections"]] == ["Agents", "Retrieval"]
    article = payload["sections"][1]["articles"][0]
    assert article == {
        "title": "Search [beyond] BM25",
        "url": "https://articles.example/a",
        "publisher": "Example Review",
        "key_takeaway": "The point of a.",
        "best_for": ["engineers", "PMs"],
    }


async def test_json_window_carries_the_timezone_offset(tmp_path: Path) -> None:
    settings = digest_settings(tmp_path, timezone="Europe/Berlin")
    digest = await DigestService(settings, FakeArticleIndex([])).build(date=DAY)
    window = digest_to_json(digest)["window"]
    assert window == {"start": "2026-11-22T09:00:00+01:00", "end": "2026-11-23T09:00:00+01:00"}


async def test_markdown_links_titles_and_groups_by_topic(settings: Settings) -> None:
    digest = await DigestService(settings, FakeArticleIndex(_articles())).build(date=DAY)
    text = render_markdown(digest)
    assert text.startswith("# Daily digest — 23 Nov 2026\n\n2 new articles were curated")
    assert "## Agents" in text and "## Retrieval" in text
    assert text.index("## Agents") < text.index("## Retrieval")
    assert "**[Search \\[beyond\\] BM25](https://articles.example/a)** — Example Review" in text
    assert "*Best for:* engineers, PMs" in text
    assert "_Curated 22 Nov 2026 09:00 – 23 Nov 2026 09:00 (UTC)_" in text


async def test_markdown_numbers_articles_when_the_intro_cites(settings: Settings) -> None:
    digest = await DigestService(settings, FakeArticleIndex(_articles())).build(date=DAY)
    assert "- **[Agents" in render_markdown(digest)
    digest.citations = [IntroCitation(n=1, title="Agents (in practice)", url="u")]
    assert "- [1] **[Agents (in practice)](https://articles.example/b)**" in render_markdown(digest)


async def test_text_is_plain_with_urls(settings: Settings) -> None:
    digest = await DigestService(settings, FakeArticleIndex(_articles())).build(date=DAY)
    text = render_text(digest)
    assert "[2] Search [beyond] BM25 — Example Review" in text
    assert "    https://articles.example/a" in text
    assert "**" not in text and "](" not in text


async def test_empty_and_range_renderings(settings: Settings) -> None:
    empty = await DigestService(settings, FakeArticleIndex([])).build(date=DAY)
    assert "Nothing new today" in render_markdown(empty)
    assert digest_to_json(empty)["sections"] == [] and digest_to_json(empty)["article_count"] == 0
    ranged = await DigestService(settings, FakeArticleIndex(_articles())).build(
        since=date(2026, 11, 20), until=DAY
    )
    assert render_markdown(ranged).startswith("# Digest — 20 Nov 2026 to 23 Nov 2026")
    assert ranged.intro.startswith("2 articles were curated between 20 Nov 2026 and 23 Nov 2026")


async def test_range_window_line_names_whole_days(settings: Settings) -> None:
    ranged = await DigestService(settings, FakeArticleIndex(_articles())).build(
        since=date(2026, 11, 20), until=DAY
    )
    assert "_Curated 20 Nov 2026 – 23 Nov 2026, whole days (UTC)_" in render_markdown(ranged)
