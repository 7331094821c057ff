"""Sentence vectors stored at ingest: written per chunk, checked against the chunk's text."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from knowledge.answers.service import AnswerService
from knowledge.embeddings.base import Vectors
from knowledge.index import KnowledgeIndex
from knowledge.models import Chunk
from knowledge.sentences import quotable_units
from knowledge.store.sentence_store import SentenceStore
from tests.knowledge.answers.conftest import ARTICLES, WordVectorEmbedder
from tests.support.settings import make_settings

TEXT = "Bees make honey from nectar. They store it in wax cells. Honey keeps for years and years."


def _chunk(chunk_id: str, article_id: str, text: str = TEXT) -> Chunk:
    return Chunk(
        id=chunk_id, article_id=article_id, kind="chunk", position=0, text=text, title="T", url="u"
    )


def test_vectors_round_trip_one_row_per_unit(tmp_path: Path) -> None:
    store = SentenceStore.in_dir(tmp_path)
    embedder = WordVectorEmbedder()
    chunk = _chunk("a-0", "a")
    assert store.write([chunk], embedder) == len(quotable_units(TEXT))

    found = store.vectors_for([chunk])
    expected = embedder.embed([u.text for u in quotable_units(TEXT)])
    assert found["a-0"].shape == expected.shape
    # float16 storage: close to, not exactly, the embedder's float32 vectors.
    assert np.allclose(found["a-0"], expected, atol=1e-3)
    store.close()


def test_rows_of_an_older_chunk_text_are_not_returned(tmp_path: Path) -> None:
    store = SentenceStore.in_dir(tmp_path)
    store.write([_chunk("a-0", "a")], WordVectorEmbedder())
    # Record ids are reused when an article changes: the stored hash tells the versions apart.
    assert store.vectors_for([_chunk("a-0", "a", "A new text entirely, about wasps.")]) == {}


def test_removing_articles_forgets_their_chunks(tmp_path: Path) -> None:
    store = SentenceStore.in_dir(tmp_path)
    store.write([_chunk("a-0", "a"), _chunk("b-0", "b")], WordVectorEmbedder())
    store.remove_articles(["a"])
    assert store.count() == 1
    assert list(store.vectors_for([_chunk("a-0", "a"), _chunk("b-0", "b")])) == ["b-0"]


def test_a_chunk_without_quotable_units_has_an_empty_row(tmp_path: Path) -> None:
    store = SentenceStore.in_dir(tmp_path)
    chunk = _chunk("a-0", "a", "- one\n- two")
    assert store.write([chunk], WordVectorEmbedder()) == 0
    assert store.vectors_for([chunk])["a-0"].shape == (0, WordVectorEmbedder.dim)


class CountingEmbedder(WordVectorEmbedder):
    def __init__(self) -> None:
        self.calls: list[int] = []

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(len(texts))
        return super().embed(texts)


async def test_ingest_stores_vectors_so_answers_embed_only_the_question(tmp_path: Path) -> None:
    embedder = CountingEmbedder()
    settings = make_settings(tmp_path / "data", answers={"min_relevance": 0.3})
    index = KnowledgeIndex(settings, embedder)
    index.add_articles(ARTICLES)
    try:
        store = SentenceStore.in_dir(index.index_dir)
        assert store.count() == index.catalog.chunk_count()

        service = AnswerService(settings, index, llm=None)
        assert service.llm is None
        embedder.calls.clear()
        answer = await service.answer("Why does sleep help memory?")
        assert answer.mode == "extractive" and answer.citations
        # One call, of one text: the question, embedded for the search and reused for ranking.
        assert embedder.calls == [1]
    finally:
        index.close()


async def test_an_index_without_stored_vectors_fills_them_in_as_questions_come(
    tmp_path: Path,
) -> None:
    embedder = CountingEmbedder()
    settings = make_settings(tmp_path / "data", answers={"min_relevance": 0.3})
    index = KnowledgeIndex(settings, embedder)
    index.add_articles(ARTICLES)
    try:
        # As if the index had been built before sentence vectors were stored.
        store = SentenceStore.in_dir(index.index_dir)
        store.remove_articles([a.id for a in ARTICLES])
        assert store.count() == 0

        service = AnswerService(settings, index, llm=None)
        embedder.calls.clear()
        first = await service.answer("Why does sleep help memory?")
        # The question, then the sentences the store lacked, in one batch.
        assert len(embedder.calls) == 2 and embedder.calls[1] > 1
        assert store.count() > 0

        embedder.calls.clear()
        again = await service.answer("Why does sleep help memory?")
        assert embedder.calls == [1] and again.text == first.text
        await service.aclose()
    finally:
        index.close()
