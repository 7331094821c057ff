"""Extractive answers: the best sentences with their [n], then the articles' key takeaways."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from knowledge.answers.extractive import EXTRACTIVE_LABEL, candidate_sentences, extractive_answer
from knowledge.answers.prompt import number_sources
from knowledge.embeddings.base import Embedder, Vectors
from knowledge.models import Article, Chunk, Hit
from tests.knowledge.answers.conftest import WordVectorEmbedder


def _hit(rank: int, article: str, text: str) -> Hit:
    chunk = Chunk(
        id=f"{article}-{rank}",
        article_id=article,
        kind="chunk",
        position=rank,
        text=text,
        title=f"Article {article}",
        url=f"https://example.org/{article}",
    )
    return Hit(rank=rank, score=1 / rank, chunk=chunk, dense_similarity=0.5)


HITS = [
    _hit(1, "a", "Bees make honey from nectar. They store it in wax cells to feed the colony."),
    _hit(2, "b", "Honey never spoils because it has little water and is acidic.\n- short"),
    _hit(3, "a", "Bees make honey from nectar. Worker bees fan their wings to evaporate water."),
]
ARTICLES = {
    "a": Article(title="Article a", url="https://example.org/a", key_takeaway="Bees are busy."),
    "b": Article(title="Article b", url="https://example.org/b", key_takeaway=""),
}


def test_sentences_are_split_deduplicated_and_short_ones_dropped() -> None:
    sentences = [c.sentence for c in candidate_sentences(number_sources(HITS))]
    assert sentences.count("Bees make honey from nectar.") == 1
    assert "short" not in sentences
    assert "Worker bees fan their wings to evaporate water." in sentences


def test_answer_quotes_the_most_similar_sentences_with_their_numbers() -> None:
    text = extractive_answer(
        "Why does honey never spoil?", number_sources(HITS), WordVectorEmbedder(), ARTICLES.get
    )
    lines = text.splitlines()
    assert lines[0] == EXTRACTIVE_LABEL
    assert lines[2] == "- Honey never spoils because it has little water and is acidic. [2]"
    assert sum(1 for line in lines if line.startswith("- ") and line.endswith("]")) >= 3
    assert "Key takeaways:" in text and "- Article a: Bees are busy. [" in text


class BrokenEmbedder(Embedder):
    name = "broken"
    dim = 2

    def embed(self, texts: Sequence[str]) -> Vectors:
        raise RuntimeError("model file vanished")


def test_embedder_failure_falls_back_to_word_overlap() -> None:
    text = extractive_answer(
        "evaporate water wings", number_sources(HITS), BrokenEmbedder(), ARTICLES.get
    )
    assert text.splitlines()[2].startswith("- Worker bees fan their wings")


def test_article_lookup_failure_only_drops_the_takeaways() -> None:
    def boom(article_id: str) -> Article | None:
        raise OSError("catalog locked")

    text = extractive_answer("honey", number_sources(HITS), None, boom)
    assert text.startswith(EXTRACTIVE_LABEL) and "Key takeaways" not in text


def test_passage_without_full_sentences_is_quoted_from_its_start() -> None:
    hits = [_hit(1, "a", "- one\n- two\n- three")]
    text = extractive_answer("anything", number_sources(hits), None, ARTICLES.get)
    assert "[1]" in text


def test_ranking_uses_the_embedder_vectors() -> None:
    class Fixed(Embedder):
        name = "fixed"
        dim = 2

        def embed(self, texts: Sequence[str]) -> Vectors:
            # The question, then each sentence: only sentences mentioning "wax" point its way.
            rows = [[1.0, 0.0] if i == 0 or "wax" in t else [0.0, 1.0] for i, t in enumerate(texts)]
            return np.asarray(rows, dtype=np.float32)

    text = extractive_answer("q", number_sources(HITS), Fixed(), ARTICLES.get, max_sentences=1)
    assert text.splitlines()[2] == "- They store it in wax cells to feed the colony. [1]"
