"""The seed pair from ../shared/seeds ingests as one article with every field right."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.index import KnowledgeIndex
from knowledge.loaders import LoadResult, load_sources
from knowledge.models import Article
from knowledge.settings import KnowledgeSettings
from tests.support.seeds import seed_files
from tests.support.settings import make_settings

FOOTER_WORDS = ("Related on", "Open in", "Editorial summary", "Source link", "→")


@pytest.fixture(scope="module")
def loaded() -> LoadResult:
    return load_sources([str(path) for path in seed_files()], KnowledgeSettings())


@pytest.fixture(scope="module")
def article(loaded: LoadResult) -> Article:
    assert loaded.failures == []
    (only,) = loaded.articles
    return only


def test_the_pair_is_one_article_reported_as_paired(loaded: LoadResult) -> None:
    card, text = seed_files()
    assert [(p.card, p.article, p.by) for p in loaded.paired] == [(str(card), str(text), "title")]
    assert [(w.path, w.message) for w in loaded.warnings] == [
        (str(card), "no link to the original: citations will name it without a link")
    ]


def test_the_card_fields(article: Article) -> None:
    assert article.title == "The Evolving Role of the ML Engineer"
    assert article.url == ""
    assert article.publisher == "Towards Data Science"
    assert article.curator == "AIssential"
    assert article.topics == [
        "technology & digital",
        "artificial intelligence & machine learning",
        "emerging technologies & innovation",
        "ai ethics & societal impact",
    ]
    assert (article.depth, article.length) == ("intermediate", "short")
    assert article.best_for == [
        "Machine Learning Engineer",
        "AI Ethicist",
        "AI Product Manager",
    ]


def test_the_editorial_sections(article: Article) -> None:
    assert article.summary.startswith("Stephanie Kirmer, a Staff Machine Learning Engineer")
    assert article.summary.endswith("demystify the technology.")
    assert article.key_takeaway.startswith("For AI Product Managers evaluating market strategies")
    assert article.key_takeaway.endswith("foster public trust.")
    assert article.key_insights == [
        "Sociological inquiry provides a critical lens for understanding AI's societal impacts "
        "and economic dynamics."
    ]
    assert article.sections["Method"].startswith("A sociological method involves forming")
    assert "Principles" not in article.sections and "In practice" not in article.sections


def test_the_body_is_the_original_article_without_label_or_footer(article: Article) -> None:
    assert article.body.startswith("In our Author Spotlight series")
    assert article.body.endswith("follow her on TDS or LinkedIn.")
    assert "Machine Learning\n" not in article.body[:200]
    everything = article.model_dump_json()
    for words in FOOTER_WORDS:
        assert words not in everything, words


def test_every_chunk_comes_from_the_card_or_the_article_body(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    index = KnowledgeIndex(settings)
    try:
        report = index.ingest([str(path) for path in seed_files()])
        assert report.added == 1 and report.failed == []
        (stored,) = index.list_articles()
        chunks = [c for c in index.catalog.iter_chunks() if c.article_id == stored.id]
    finally:
        index.close()
    kinds = [c.kind for c in chunks]
    assert kinds[0] == "summary" and kinds.count("chunk") >= 3
    body_text = " ".join(c.text for c in chunks if c.kind == "chunk")
    assert "I think this is a bubble" in body_text
    for chunk in chunks:
        assert chunk.url == "" and chunk.publisher == "Towards Data Science"
        for words in FOOTER_WORDS:
            assert words not in chunk.text, words
