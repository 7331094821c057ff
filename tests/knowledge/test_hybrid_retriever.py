"""HybridRetriever given a build's parts directly: BM25-only without embedder, the pending
guard, the query-hint reader it is handed, and the same answers KnowledgeIndex.search gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge.embeddings.hash import HashEmbedder
from knowledge.index import KnowledgeIndex
from knowledge.query_hints import QueryHints
from knowledge.retrieval import HybridRetriever, SearchMode
from tests.support.cards import zebra_corpus
from tests.support.settings import make_settings

MODES: tuple[SearchMode, ...] = ("hybrid", "dense", "bm25")


@pytest.fixture
def index(tmp_path: Path) -> KnowledgeIndex:
    zebra_corpus(tmp_path / "cards")
    settings = make_settings(tmp_path / "data", knowledge={"sources": [str(tmp_path / "cards")]})
    built = KnowledgeIndex(settings, embedder=HashEmbedder(dim=128))
    built.reindex()
    return built


def retriever_of(
    index: KnowledgeIndex, with_embedder: bool = True, seen: list[str] | None = None
) -> HybridRetriever:
    def hints(query: str) -> QueryHints:
        if seen is not None:
            seen.append(query)
        return index.query_hints(query)

    return HybridRetriever(
        index.vectors,
        index.lexical,
        index.catalog,
        index.embedder if with_embedder else None,
        index.settings.retrieval,
        hints,
    )


@pytest.mark.parametrize("mode", MODES)
def test_the_retriever_answers_as_the_index_does(index: KnowledgeIndex, mode: SearchMode) -> None:
    query = "stripes deter horseflies"
    direct = retriever_of(index).search(query, 3, None, mode)
    assert direct and direct[0].chunk.title == "Why zebras have stripes"
    assert direct == index.search(query, k=3, mode=mode)


def test_without_an_embedder_only_bm25_answers(index: KnowledgeIndex) -> None:
    hits = retriever_of(index, with_embedder=False).search("sourdough starter", 3, None, "hybrid")
    assert hits and hits[0].chunk.title == "Baking sourdough bread"
    assert all(h.dense_similarity is None and h.lexical_score is not None for h in hits)
    assert retriever_of(index, with_embedder=False).search("sourdough", 3, None, "dense") == []


def test_a_pending_article_is_not_found_by_its_vectors(index: KnowledgeIndex) -> None:
    retriever = retriever_of(index)
    zebras = retriever.search("zebras stripes horseflies", 1, None, "dense")[0].article_id
    index.catalog.set_meta("pending", json.dumps([zebras]))
    dense = retriever.search("zebras stripes horseflies", 5, None, "dense")
    assert zebras not in {h.article_id for h in dense}
    # BM25 reads the catalog's committed text, so it still finds the article.
    lexical = retriever.search("zebras stripes horseflies", 5, None, "bm25")
    assert lexical[0].article_id == zebras


def test_the_query_hint_reader_is_asked_and_a_blank_query_reads_nothing(
    index: KnowledgeIndex,
) -> None:
    seen: list[str] = []
    retriever = retriever_of(index, seen=seen)
    assert retriever.search("   ", 3, None, "hybrid") == []
    assert seen == []
    retriever.search("  glaciers valleys ", 3, None, "hybrid")
    assert seen == ["glaciers valleys"]
