"""Extractive answers: the best sentences with their article's [n], then the key takeaways."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from knowledge.answers.extractive import (
    EXTRACTIVE_LABEL,
    candidate_units,
    extractive_answer,
    passages_in_rank_order,
)
from knowledge.answers.prompt import number_articles
from knowledge.embeddings.base import Embedder, Vectors
from knowledge.models import Article, Chunk, Hit
from knowledge.sentences import quotable_units
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


def _quotes(text: str) -> list[str]:
    body = text.split("\n\nKey takeaways:")[0]
    return [line for line in body.splitlines() if line.startswith("- ")]


def _all_units() -> list[str]:
    sources = number_articles(HITS)
    return [c.text for c in candidate_units(passages_in_rank_order(sources, 5))]


def test_units_are_deduplicated_and_short_ones_dropped() -> None:
    units = _all_units()
    assert units.count("Bees make honey from nectar.") == 1
    assert "short" not in units
    assert "Worker bees fan their wings to evaporate water." in units


def test_a_sentence_opening_with_a_pronoun_is_quoted_with_the_one_before() -> None:
    units = _all_units()
    assert "Bees make honey from nectar. They store it in wax cells to feed the colony." in units
    assert not any(u.startswith("They ") for u in units)


def test_a_leaning_sentence_at_a_passage_start_is_skipped() -> None:
    texts = [u.text for u in quotable_units("It was founded in 1850 by twelve monks. Rome.")]
    assert texts == []
    chained = (
        "The abbey stands on a hill above the town. It was built by monks in 1120. "
        "However, it burned down in the great fire."
    )
    assert [u.text for u in quotable_units(chained)] == [
        "The abbey stands on a hill above the town.",
        "The abbey stands on a hill above the town. It was built by monks in 1120.",
        chained,
    ]
    # A chain that starts at a fragment (a chunk cut mid-sentence) has nothing to lean on.
    assert quotable_units("built by monks. It burned down in the great fire of 1200.") == []


def test_passages_of_one_article_share_its_number() -> None:
    text = extractive_answer(
        "How do bees make honey and evaporate water?",
        number_articles(HITS),
        WordVectorEmbedder(),
        ARTICLES.get,
    )
    lines = text.splitlines()
    assert lines[0] == EXTRACTIVE_LABEL
    quotes = _quotes(text)
    # Passages 1 and 3 are article a's: every quote from them is [1], never [3].
    assert any("evaporate water" in q and q.endswith("[1]") for q in quotes)
    assert not any(q.endswith("[3]") for q in quotes)


def test_answer_quotes_the_most_similar_unit_first() -> None:
    text = extractive_answer(
        "Why does honey never spoil?", number_articles(HITS), WordVectorEmbedder(), ARTICLES.get
    )
    assert _quotes(text)[0] == "- Honey never spoils because it has little water and is acidic. [2]"


def test_no_sentence_is_quoted_twice() -> None:
    text = extractive_answer(
        "bees honey nectar", number_articles(HITS), WordVectorEmbedder(), ARTICLES.get
    )
    assert text.count("Bees make honey from nectar.") == 1


def test_takeaways_only_for_quoted_articles_and_never_repeating_a_quote() -> None:
    busy = "Worker bees fan their wings to evaporate water."
    hits = [
        _hit(1, "a", f"Bees are busy creatures. {busy}"),
        _hit(2, "b", "Volcanoes erupt when magma pressure builds up under the crust."),
    ]
    articles = {
        "a": Article(title="A", url="https://example.org/a", key_takeaway=busy),
        "b": Article(title="B", url="https://example.org/b", key_takeaway="Magma is hot."),
    }
    text = extractive_answer(
        "Why do worker bees fan their wings?",
        number_articles(hits),
        WordVectorEmbedder(),
        articles.get,
        max_quotes=1,
    )
    # Article b contributed no quote, so no takeaway; article a's takeaway would repeat a quote.
    assert "Magma" not in text
    assert text.count(busy) == 1 and "Key takeaways" not in text


def test_takeaway_of_a_quoted_article_follows_the_quotes() -> None:
    text = extractive_answer(
        "Why do worker bees fan their wings?",
        number_articles(HITS),
        WordVectorEmbedder(),
        ARTICLES.get,
        max_quotes=1,
    )
    assert text.endswith("Key takeaways:\n- Article a: Bees are busy. [1]")


def test_a_weakly_related_article_is_not_quoted_beside_a_strong_one() -> None:
    hits = [
        _hit(1, "a", "Worker bees fan their wings to evaporate water from the nectar."),
        _hit(2, "b", "Birds migrate south in winter to find enough food to survive."),
    ]
    text = extractive_answer(
        "Why do worker bees fan their wings to evaporate water?",
        number_articles(hits),
        WordVectorEmbedder(),
        ARTICLES.get,
    )
    assert "Birds" not in text and "[2]" not in text


def test_a_follow_up_does_not_repeat_the_previous_answers_quotes() -> None:
    sources = number_articles(HITS)
    first = extractive_answer(
        "Why does honey never spoil?", sources, WordVectorEmbedder(), ARTICLES.get, max_quotes=1
    )
    again = extractive_answer(
        "Why does honey never spoil?",
        sources,
        WordVectorEmbedder(),
        ARTICLES.get,
        previous=[first],
        max_quotes=1,
    )
    assert _quotes(first) != _quotes(again)
    assert not set(_quotes(first)) & set(_quotes(again))


class CountingEmbedder(WordVectorEmbedder):
    """Counts the texts embedded, to show stored vectors spare the work."""

    def __init__(self) -> None:
        self.embedded = 0

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.embedded += len(texts)
        return super().embed(texts)


class DictStore:
    """An in-memory StoredVectors."""

    def __init__(self, vectors: dict[str, Vectors] | None = None) -> None:
        self.vectors = dict(vectors or {})
        self.put_ids: list[str] = []

    def vectors_for(self, chunks: Sequence[Chunk]) -> Mapping[str, Vectors]:
        return {c.id: self.vectors[c.id] for c in chunks if c.id in self.vectors}

    def put(self, chunk: Chunk, vectors: Vectors) -> None:
        self.put_ids.append(chunk.id)
        self.vectors[chunk.id] = vectors


def test_stored_vectors_leave_only_the_question_to_embed() -> None:
    embedder = CountingEmbedder()
    stored = DictStore(
        {
            h.chunk.id: WordVectorEmbedder().embed([u.text for u in quotable_units(h.chunk.text)])
            for h in HITS
        }
    )

    with_store = extractive_answer(
        "Why does honey never spoil?", number_articles(HITS), embedder, ARTICLES.get, stored
    )
    assert embedder.embedded == 1 and stored.put_ids == []
    without = extractive_answer(
        "Why does honey never spoil?", number_articles(HITS), WordVectorEmbedder(), ARTICLES.get
    )
    assert with_store == without


def test_missing_or_stale_vectors_are_embedded_and_kept_for_next_time() -> None:
    embedder = CountingEmbedder()
    # Chunk a-1 has a row of the wrong shape (units changed), the others none at all.
    stored = DictStore({"a-1": np.zeros((1, embedder.dim), dtype=np.float32)})

    text = extractive_answer(
        "Why does honey never spoil?", number_articles(HITS), embedder, ARTICLES.get, stored
    )
    assert embedder.embedded > 1
    assert _quotes(text)[0].startswith("- Honey never spoils")
    assert sorted(stored.put_ids) == ["a-1", "a-3", "b-2"]

    embedder.embedded = 0
    again = extractive_answer(
        "Why does honey never spoil?", number_articles(HITS), embedder, ARTICLES.get, stored
    )
    assert again == text and embedder.embedded == 1


class BrokenEmbedder(Embedder):
    name = "broken"
    dim = 2

    def embed(self, texts: Sequence[str]) -> Vectors:
        raise RuntimeError("model file vanished")


def test_embedder_failure_falls_back_to_word_overlap() -> None:
    text = extractive_answer(
        "evaporate water wings", number_articles(HITS), BrokenEmbedder(), ARTICLES.get
    )
    assert _quotes(text)[0].startswith("- Worker bees fan their wings")


def test_article_lookup_failure_only_drops_the_takeaways() -> None:
    def boom(article_id: str) -> Article | None:
        raise OSError("catalog locked")

    text = extractive_answer("honey", number_articles(HITS), None, boom)
    assert text.startswith(EXTRACTIVE_LABEL) and "Key takeaways" not in text


def test_passage_without_full_sentences_is_quoted_from_its_start() -> None:
    hits = [_hit(1, "a", "- one\n- two\n- three")]
    text = extractive_answer("anything", number_articles(hits), None, ARTICLES.get)
    assert _quotes(text) == ["- one two three [1]"]


def test_card_labels_are_not_quoted() -> None:
    hits = [_hit(1, "a", "Best for: engineers, managers and anyone who ships software.")]
    assert candidate_units(passages_in_rank_order(number_articles(hits), 5)) == []


def test_ranking_uses_the_embedder_vectors() -> None:
    class Fixed(Embedder):
        name = "fixed"
        dim = 2

        def embed(self, texts: Sequence[str]) -> Vectors:
            # The question is "q"; only units mentioning "wax" point its way.
            rows = [[1.0, 0.0] if t == "q" or "wax" in t else [0.0, 1.0] for t in texts]
            return np.asarray(rows, dtype=np.float32)

    text = extractive_answer("q", number_articles(HITS), Fixed(), ARTICLES.get, max_quotes=1)
    assert _quotes(text) == [
        "- Bees make honey from nectar. They store it in wax cells to feed the colony. [1]"
    ]


def test_a_longer_unit_takes_the_place_of_the_sentence_it_extends() -> None:
    lead = "The abbey stands on a hill above the old town."
    follow = "It was built by monks in the year 1120."
    hits = [_hit(1, "a", f"{lead} {follow}")]

    class Preferring(Embedder):
        name = "preferring"
        dim = 2

        def embed(self, texts: Sequence[str]) -> Vectors:
            # The lone lead sentence ranks first, the lead with its follower second.
            rows = [[1.0, 0.0] if t in ("q", lead) else [0.8, 0.6] for t in texts]
            return np.asarray(rows, dtype=np.float32)

    text = extractive_answer("q", number_articles(hits), Preferring(), ARTICLES.get)
    assert _quotes(text) == [f"- {lead} {follow} [1]"]
