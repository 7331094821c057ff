"""QueryVectorCache: each (embedder, text) embedded once, failures not kept, vectors shared
read-only; and KnowledgeIndex.search taking the query's vector from it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pytest

from knowledge.embeddings.base import Embedder, Vectors
from knowledge.embeddings.hash import HashEmbedder
from knowledge.embeddings.query_vectors import QueryVectorCache
from knowledge.index import KnowledgeIndex
from tests.support.counting_embedder import CountingEmbedder
from tests.support.settings import make_settings


def test_a_text_is_embedded_once_and_gives_the_embedders_vector() -> None:
    embedder = CountingEmbedder(HashEmbedder(dim=64))
    cache = QueryVectorCache()

    first = cache.vector(embedder, "why do zebras have stripes")
    again = cache.vector(embedder, "why do zebras have stripes")
    other = cache.vector(embedder, "how do tides work")

    assert embedder.embedded == {"why do zebras have stripes": 1, "how do tides work": 1}
    assert again is first
    assert np.array_equal(first, HashEmbedder(dim=64).embed_query("why do zebras have stripes"))
    assert not np.array_equal(first, other)


def test_texts_differing_only_in_spacing_or_case_are_separate() -> None:
    # The cache must never change what is embedded: a text is reused only when identical.
    embedder = CountingEmbedder(HashEmbedder(dim=64))
    cache = QueryVectorCache()
    for text in ("zebra stripes", "zebra stripes ", "Zebra stripes"):
        cache.vector(embedder, text)
    assert sum(embedder.embedded.values()) == 3


def test_each_embedder_gets_its_own_vector() -> None:
    small, large = CountingEmbedder(HashEmbedder(dim=32)), CountingEmbedder(HashEmbedder(dim=64))
    cache = QueryVectorCache()
    assert cache.vector(small, "zebra stripes").shape == (32,)
    assert cache.vector(large, "zebra stripes").shape == (64,)
    assert small.embedded == {"zebra stripes": 1} and large.embedded == {"zebra stripes": 1}


def test_vectors_are_read_only_so_no_step_can_change_anothers() -> None:
    vector = QueryVectorCache().vector(HashEmbedder(dim=32), "zebra stripes")
    with pytest.raises(ValueError, match="read-only"):
        vector *= 2


class FlakyEmbedder(Embedder):
    """Fails on its first call, then embeds like the hash embedder."""

    name = "flaky"
    dim = 16

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("model busy")
        return HashEmbedder(dim=self.dim).embed(texts)


def test_a_failed_embedding_is_not_kept() -> None:
    embedder = FlakyEmbedder()
    cache = QueryVectorCache()
    with pytest.raises(RuntimeError, match="model busy"):
        cache.vector(embedder, "zebra stripes")
    assert cache.vector(embedder, "zebra stripes").shape == (16,)
    assert embedder.calls == 2


@pytest.fixture(scope="module")
def counted_index(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[KnowledgeIndex, CountingEmbedder]]:
    """The sample articles, indexed with a counting hash embedder."""
    embedder = CountingEmbedder(HashEmbedder(dim=128))
    index = KnowledgeIndex(make_settings(tmp_path_factory.mktemp("qv") / "data"), embedder)
    index.reindex()
    yield index, embedder
    index.close()


def test_searches_sharing_a_cache_embed_the_query_once(
    counted_index: tuple[KnowledgeIndex, CountingEmbedder],
) -> None:
    index, embedder = counted_index
    query = "How does LoRA reduce the number of trainable parameters?"
    embedder.reset()
    cache = QueryVectorCache()

    shared = [index.search(query, k=k, query_vectors=cache) for k in (3, 5)]
    shared.append(index.search(query, k=5, mode="dense", query_vectors=cache))
    assert embedder.embedded == {query: 1}

    embedder.reset()
    alone = [index.search(query, k=k) for k in (3, 5)] + [index.search(query, k=5, mode="dense")]
    assert embedder.embedded == {query: 3}
    ranked = [[(h.chunk.id, h.score) for h in hits] for hits in shared]
    assert ranked == [[(h.chunk.id, h.score) for h in hits] for hits in alone]


def test_bm25_search_embeds_nothing(counted_index: tuple[KnowledgeIndex, CountingEmbedder]) -> None:
    index, embedder = counted_index
    embedder.reset()
    cache = QueryVectorCache()
    assert index.search("LoRA rank", mode="bm25", query_vectors=cache)
    assert embedder.embedded == {}
