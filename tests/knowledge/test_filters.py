"""Topic and source filters agree across dense, BM25 and hybrid search (one normalisation)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from knowledge.index import KnowledgeIndex, SearchMode
from knowledge.models import SearchFilters
from knowledge.store.filter_keys import filter_key, topic_key
from tests.support.cards import write_card
from tests.support.settings import make_settings

MODES: tuple[SearchMode, ...] = ("hybrid", "dense", "bm25")
TOPICS = {"cpp": "c++", "csharp": "c#", "c": "c", "ml": "機械学習"}
QUERY = "language guide for programmers"


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnowledgeIndex]:
    root = tmp_path_factory.mktemp("filters")
    cards = root / "cards"
    for slug, topic in TOPICS.items():
        write_card(
            cards,
            slug,
            title=f"A {slug} language guide",
            topics=(f'"{topic}"',),
            publisher="The Gradient" if slug == "ml" else "Code Weekly",
            summary=f"A language guide for programmers, part {slug}.",
            body="Programmers read this language guide for its examples.",
        )
    settings = make_settings(root / "data", knowledge={"sources": [str(cards)]})
    idx = KnowledgeIndex(settings)
    assert idx.reindex().added == 4
    yield idx
    idx.close()


def articles_found(index: KnowledgeIndex, mode: SearchMode, filters: SearchFilters) -> set[str]:
    hits = index.search(QUERY, k=20, filters=filters, mode=mode, per_article=0)
    return {h.chunk.title for h in hits}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("slug", list(TOPICS))
def test_each_topic_matches_only_its_own_articles(
    index: KnowledgeIndex, mode: SearchMode, slug: str
) -> None:
    found = articles_found(index, mode, SearchFilters(topic=TOPICS[slug]))
    assert found == {f"A {slug} language guide"}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("spelling", ["C++", "Ｃ＋＋", " c++ "])
def test_topics_match_after_case_folding_and_width_folding(
    index: KnowledgeIndex, mode: SearchMode, spelling: str
) -> None:
    assert articles_found(index, mode, SearchFilters(topic=spelling)) == {"A cpp language guide"}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("spelling", ["the gradient", "THE GRADIENT", "The  Gradient"])
def test_source_filter_ignores_case_in_every_mode(
    index: KnowledgeIndex, mode: SearchMode, spelling: str
) -> None:
    assert articles_found(index, mode, SearchFilters(publisher=spelling)) == {"A ml language guide"}


@pytest.mark.parametrize("mode", MODES)
def test_an_unknown_topic_matches_nothing(index: KnowledgeIndex, mode: SearchMode) -> None:
    assert articles_found(index, mode, SearchFilters(topic="c--")) == set()


def test_article_listing_uses_the_same_topic_rule(index: KnowledgeIndex) -> None:
    assert [a.title for a in index.list_articles(topic="C#")] == ["A csharp language guide"]
    assert [a.title for a in index.list_articles(topic="機械学習")] == ["A ml language guide"]


def test_topic_keys_are_distinct_where_the_old_slug_collided() -> None:
    keys = {topic_key(t) for t in ["c++", "c#", "c", "機械学習", "ディープラーニング", "c/c++"]}
    assert len(keys) == 6
    assert filter_key("Ｍachine  Learning") == "machine learning"
