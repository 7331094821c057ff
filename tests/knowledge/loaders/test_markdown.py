"""Markdown cards: front matter, editorial sections, and every kind of bad card."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from knowledge.loaders import LoadResult, load_sources
from knowledge.loaders.sections import read_card_body
from knowledge.settings import KnowledgeSettings
from tests.knowledge.loaders.conftest import card_text

Write = Callable[[str, str | bytes], Path]

FULL_CARD = """---
title: "Dense Retrieval in Practice"
url: https://example.com/dense
publisher: Example Blog
author: Ada Example
published: 2025-03-04
curated: 2026-11-22T08:30:00Z
topics: Retrieval, Embeddings
depth: Intermediate
best_for: [engineers building search, team leads]
---

# Dense Retrieval in Practice

### summary
Dense retrieval embeds queries and passages.

## KEY TAKEAWAY:
Measure recall
before tuning.

## Key Insights
- Embeddings capture paraphrase.
- Keyword search catches exact names,
  codes and rare words.
1. Fuse the two rankings.

## Principles
Start simple.

## Method
Judge a small set of real questions.

## In practice
Use hybrid search.

## Article

### Background
The original text starts here.

### Method
This heading belongs to the original text, not to the card.

```python
# Summary
print("a comment, not a heading")
```
"""


def _load(paths: list[Path], settings: KnowledgeSettings | None = None) -> LoadResult:
    return load_sources([str(p) for p in paths], settings or KnowledgeSettings())


def test_full_card_fills_every_field(write: Write) -> None:
    path = write("dense.md", FULL_CARD)
    result = _load([path])
    assert result.failures == []
    [article] = result.articles
    assert article.title == "Dense Retrieval in Practice"
    assert article.url == "https://example.com/dense"
    assert article.publisher == "Example Blog"
    assert article.author == "Ada Example"
    assert article.published == datetime(2025, 3, 4, tzinfo=UTC)
    assert article.curated == datetime(2026, 11, 22, 8, 30, tzinfo=UTC)
    assert article.topics == ["retrieval", "embeddings"]
    assert article.depth == "intermediate"
    assert article.best_for == ["engineers building search", "team leads"]
    assert article.summary == "Dense retrieval embeds queries and passages."
    assert article.key_takeaway == "Measure recall before tuning."
    assert article.key_insights == [
        "Embeddings capture paraphrase.",
        "Keyword search catches exact names, codes and rare words.",
        "Fuse the two rankings.",
    ]
    assert article.sections == {
        "Principles": "Start simple.",
        "Method": "Judge a small set of real questions.",
        "In practice": "Use hybrid search.",
    }
    assert article.body.startswith("### Background\nThe original text starts here.")
    assert "### Method\nThis heading belongs to the original text" in article.body
    assert "# Summary\nprint(" in article.body
    assert article.origin == str(path)


def test_source_in_front_matter_is_still_read_as_the_publisher(write: Write) -> None:
    old = write("old.md", FULL_CARD.replace("publisher: Example Blog", "source: Example Blog"))
    both = write(
        "both.md",
        FULL_CARD.replace(
            "url: https://example.com/dense", "url: https://example.com/both"
        ).replace("publisher: Example Blog", "publisher: New Name\nsource: Old Name"),
    )
    result = _load([old, both])
    assert result.failures == []
    assert sorted(a.publisher for a in result.articles) == ["Example Blog", "New Name"]


def test_without_an_article_section_the_unsectioned_text_is_the_body() -> None:
    parts = read_card_body(
        "# Title only\n\n## Summary\nShort.\n\nIntro stays in summary.\n\n"
        "## Background\nFree text.\n\n#### Detail\nMore text.\n"
    )
    assert parts.summary == "Short.\n\nIntro stays in summary."
    assert parts.body.startswith("# Title only")
    assert "## Background\nFree text." in parts.body
    assert "#### Detail\nMore text." in parts.body


def test_a_title_heading_alone_is_not_a_body() -> None:
    assert read_card_body("# Just a title\n\n## Summary\nText.").body == ""


def test_a_deeper_unknown_heading_stays_inside_its_section() -> None:
    parts = read_card_body("## Summary\nFirst.\n### Aside\nSecond.\n## Other\nRest.")
    assert parts.summary == "First.\n### Aside\nSecond."
    assert parts.body == "## Other\nRest."


def test_key_insights_without_bullets_are_read_as_paragraphs() -> None:
    parts = read_card_body("## Key insights\nOne idea\non two lines.\n\nAnother idea.")
    assert parts.key_insights == ["One idea on two lines.", "Another idea."]


def test_yaml_dates_unquoted_and_quoted_both_work(write: Write) -> None:
    path = write(
        "dates.md",
        card_text(
            title="Dates",
            url="https://example.com/dates",
            published="2024-02-29",
            curated="'2026-11-23T10:40:00+01:00'",
        ),
    )
    [article] = _load([path]).articles
    assert article.published == datetime(2024, 2, 29, tzinfo=UTC)
    assert article.curated == datetime(2026, 11, 23, 9, 40, tzinfo=UTC)


GOOD = card_text(title="Good card", url="https://example.com/good")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (
            "---\ntitle: Broken\nurl: [unclosed\n---\nbody",
            "broken YAML front matter: expected ',' or ']'",
        ),
        ("---\ntitle: Tab\n\turl: x\n---\n", "broken YAML front matter"),
        (card_text(url="https://example.com/x"), "missing required field 'title'"),
        (card_text(title="Ftp", url="ftp://example.com/x"), "'url' must be an http(s) URL"),
        (card_text(title="Relative", url="/papers/x"), "'url' must be an http(s) URL"),
        (
            card_text(title="Bad date", url="https://example.com/d", published="last spring"),
            "invalid date in 'published': 'last spring'",
        ),
        (
            card_text(title="Bad day", url="https://example.com/e", curated="2026-02-30"),
            "invalid date in 'curated'",
        ),
        (
            card_text(title="List topics", url="https://example.com/t", topics="{a: 1}"),
            "'topics' must be a list or a text",
        ),
        ("# No front matter\n\nJust text.", "no YAML front matter found"),
        ("---\n- a\n- b\n---\nbody", "front matter must be a mapping"),
        ("", "empty file"),
        ("  \n\n\t\n", "empty file"),
        ("---\ntitle: Caf\xe9\n---\n".encode("latin-1"), "not UTF-8 text (byte 0xe9"),
    ],
)
def test_a_bad_card_fails_alone_with_its_reason(
    write: Write, content: str | bytes, reason: str
) -> None:
    good = write("a-good.md", GOOD)
    bad = write("b-bad.md", content)
    result = load_sources([str(good), str(bad)], KnowledgeSettings())
    assert [a.title for a in result.articles] == ["Good card"]
    assert len(result.failures) == 1
    assert result.failures[0].path == str(bad)
    assert reason in result.failures[0].reason


def test_yaml_error_names_the_line_of_the_file(write: Write) -> None:
    bad = write("bad.md", "---\ntitle: One\nurl: https://example.com/x\nauthor: [a, b\n---\n")
    [failure] = _load([bad]).failures
    assert "line 4" in failure.reason


def test_card_over_the_size_limit_is_refused(write: Write) -> None:
    settings = KnowledgeSettings(max_article_bytes=1_000)
    big = write("big.md", card_text(body="word " * 400, title="Big", url="https://example.com/b"))
    good = write("good.md", GOOD)
    result = _load([big, good], settings)
    assert [a.title for a in result.articles] == ["Good card"]
    [failure] = result.failures
    assert failure.path == str(big)
    assert "too large (2.0 KB, over the 1.0 KB limit" in failure.reason
    assert "CURATOR_KNOWLEDGE__MAX_ARTICLE_BYTES" in failure.reason


def test_a_byte_order_mark_is_accepted(write: Write) -> None:
    path = write("bom.md", b"\xef\xbb\xbf" + GOOD.encode())
    assert [a.title for a in _load([path]).articles] == ["Good card"]


def test_second_card_with_the_same_url_fails_naming_the_first(write: Write) -> None:
    first = write("a.md", card_text(title="First", url="https://example.com/same"))
    second = write("b.md", card_text(title="Second", url="https://example.com/same"))
    other = write("c.md", GOOD)
    result = _load([first, second, other])
    assert [a.title for a in result.articles] == ["First", "Good card"]
    [failure] = result.failures
    assert failure.path == str(second)
    assert failure.reason == f"duplicate url https://example.com/same: already loaded from {first}"
