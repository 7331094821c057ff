"""The bundled sample cards load cleanly and are complete enough to index and digest."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

import knowledge
from knowledge.loaders import LoadResult, load_sources
from knowledge.models import Article
from knowledge.settings import KnowledgeSettings

SAMPLE_DIR = Path(knowledge.__file__).parent / "sample"
VOCABULARY = {
    "retrieval",
    "llm",
    "training",
    "evaluation",
    "agents",
    "mlops",
    "prompting",
    "architecture",
}


@pytest.fixture(scope="module")
def sample() -> LoadResult:
    return load_sources([str(SAMPLE_DIR)], KnowledgeSettings())


EXPORT_TITLE = "The Bitter Lesson"


def _markdown_cards(sample: LoadResult) -> list[Article]:
    return [a for a in sample.articles if a.origin.endswith(".md")]


def test_the_whole_sample_loads_without_failures(sample: LoadResult) -> None:
    assert sample.failures == []
    assert sample.skipped == []
    assert 13 <= len(sample.articles) <= 15
    assert len({a.id for a in sample.articles}) == len(sample.articles)


def test_the_card_export_pair_is_one_article_without_a_link(sample: LoadResult) -> None:
    (pairing,) = sample.paired
    assert pairing.title == EXPORT_TITLE and pairing.by == "title"
    assert pairing.card.endswith("exports/card-the-bitter-lesson.txt")
    assert pairing.article.endswith("exports/article-the-bitter-lesson.txt")
    (article,) = [a for a in sample.articles if a.title == EXPORT_TITLE]
    assert article.url == "" and article.publisher == "Incomplete Ideas"
    assert article.curated_is_date and article.curated is not None
    assert article.body.startswith("This is a retelling") and "Source link" not in article.body
    assert [w.message for w in sample.warnings] == [
        "no link to the original: citations will name it without a link"
    ]


def test_every_card_has_the_editorial_fields(sample: LoadResult) -> None:
    for article in sample.articles:
        linked = article.title != EXPORT_TITLE
        assert article.url.startswith("https://") or not linked, article.origin
        assert article.publisher and article.author, article.origin
        assert article.summary and article.key_takeaway, article.origin
        assert 3 <= len(article.key_insights) <= 5, article.origin
        assert 2 <= len(article.topics) <= 4 and set(article.topics) <= VOCABULARY, article.origin
        assert article.depth in {"intro", "intermediate", "deep"}, article.origin
        assert article.best_for, article.origin


def _words(article: Article) -> int:
    return len(re.findall(r"\w+", article.body))


def test_every_card_has_an_article_text_with_subheadings(sample: LoadResult) -> None:
    for article in sample.articles:
        assert 300 <= _words(article) <= 700, (article.origin, _words(article))
    # The plain-text article of the export pair has paragraphs, not Markdown headings.
    for article in _markdown_cards(sample):
        assert len(re.findall(r"^### ", article.body, flags=re.MULTILINE)) >= 3, article.origin


def test_curated_dates_give_the_daily_digest_something_to_show(sample: LoadResult) -> None:
    curated = [a.curated for a in sample.articles]
    assert all(c is not None for c in curated)
    days = Counter(c.date().isoformat() for c in curated if c is not None)
    assert days["2026-11-22"] >= 3
    assert days["2026-11-23"] >= 3
    low, high = datetime(2026, 11, 10, tzinfo=UTC), datetime(2026, 11, 24, tzinfo=UTC)
    assert all(c is not None and low <= c < high for c in curated)
    assert len(days) >= 8
