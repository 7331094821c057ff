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


def test_the_whole_sample_loads_without_failures(sample: LoadResult) -> None:
    assert sample.failures == []
    assert sample.skipped == []
    assert 12 <= len(sample.articles) <= 14
    assert len({a.url for a in sample.articles}) == len(sample.articles)


def test_every_card_has_the_editorial_fields(sample: LoadResult) -> None:
    for article in sample.articles:
        assert article.url.startswith("https://"), article.origin
        assert article.source and article.author, article.origin
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
