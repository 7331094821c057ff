"""Extractive answers: the best sentences with their article's [n], then the key takeaways."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from knowledge.answers.extractive import (
    EXTRACTIVE_LABEL,
    candidate_units,
    extractive_answer,
    passages_in_rank_order,
    rank_units,
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
    _hit(
        1,
        "a",
        "Bees make honey from nectar they gather. They store it in wax cells to feed the colony.",
    ),
    _hit(2, "b", "Honey never spoils because it has little water and is acidic.\n- short"),
    _hit(
        3,
        "a",
        "Bees make honey from nectar they gather. Worker bees fan their wings to evaporate water.",
    ),
]
ARTICLES = {
    "a": Article(title="Article a", url="https://example.org/a", key_takeaway="Bees are busy."),
    "b": Article(title="Article b", url="https://example.org/b", key_takeaway=""),
}


def _no_article(article_id: str) -> Article | None:
    return None


def _quotes(text: str) -> list[str]:
    body = text.split("\n\nKey takeaways:")[0]
    return [line for line in body.splitlines() if line.startswith("- ")]


def _all_units() -> list[str]:
    sources = number_articles(HITS)
    return [c.text for c in candidate_units(passages_in_rank_order(sources, 5))]


def test_units_are_deduplicated_and_short_ones_dropped() -> None:
    units = _all_units()
    assert units.count("Bees make honey from nectar they gather.") == 1
    assert "short" not in units
    assert "Worker bees fan their wings to evaporate water." in units


def test_a_sentence_opening_with_a_pronoun_is_quoted_with_the_one_before() -> None:
    units = _all_units()
    assert (
        "Bees make honey from nectar they gather. They store it in wax cells to feed the colony."
        in units
    )
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
    assert text.count("Bees make honey from nectar they gather.") == 1


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
        "- Bees make honey from nectar they gather. "
        "They store it in wax cells to feed the colony. [1]"
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


def test_a_labelled_quote_of_the_takeaway_is_not_repeated_under_key_takeaways() -> None:
    first = "For product managers, current AI investment levels are likely unsustainable."
    takeaway = f"{first} Focus on practical applications that build genuine user value."
    hits = [_hit(1, "a", f"Some intro text about markets here.\n\nKey takeaway: {first}")]
    articles = {"a": Article(title="A", url="https://example.org/a", key_takeaway=takeaway)}
    text = extractive_answer(
        "Are AI investment levels unsustainable?",
        number_articles(hits),
        WordVectorEmbedder(),
        articles.get,
    )
    assert f"Key takeaway: {first}" in text
    assert "Key takeaways:" not in text and "Focus on practical" not in text


def test_a_sentence_ending_in_a_footnote_mark_is_quotable() -> None:
    units = [u.text for u in quotable_units("Many academies have shut down.[citation needed]")]
    assert units == ["Many academies have shut down."]


def test_as_such_and_all_of_this_lean_on_the_sentence_before() -> None:
    text = (
        "Luther's version quickly became a popular Bible translation. As such, it shaped the "
        "evolution of the German language. All of this set the stage for later translations."
    )
    units = [u.text for u in quotable_units(text)]
    assert not any(u.startswith(("As such", "All of this")) for u in units)
    assert any(u.startswith("Luther's version") and "As such, it shaped" in u for u in units)


def test_a_case_name_with_v_is_one_sentence() -> None:
    units = [u.text for u in quotable_units("The landmark case was Brown v. Board of Education.")]
    assert units == ["The landmark case was Brown v. Board of Education."]


def test_a_line_describing_the_article_yields_to_one_that_answers() -> None:
    hits = [
        _hit(1, "a", "The paper that named honey evaluation for bees."),
        _hit(2, "b", "Evaluate honey by measuring its water content and acidity."),
    ]
    text = extractive_answer(
        "How should I evaluate honey?", number_articles(hits), WordVectorEmbedder(), _no_article
    )
    quotes = _quotes(text)
    assert quotes[0].startswith("- Evaluate honey")


def test_a_forward_pointing_it_opens_a_quotable_sentence() -> None:
    text = (
        "It is tempting to think that function problems are richer than decision problems. "
        "However, this is not the case, since function problems can be recast as decisions."
    )
    units = [u.text for u in quotable_units(text)]
    assert units[0].startswith("It is tempting")
    assert units[1] == text


def test_a_long_chain_is_quoted_as_its_lead_a_gap_and_the_key_sentence() -> None:
    lead = "The summary report says emissions are increasing greenhouse gases."
    text = (
        f"{lead} They calculate that CO2 caused half of the effect. They predict a rise of "
        "0.3 degrees per decade. They judge that the temperature rose 0.3 to 0.6 degrees."
    )
    units = [u.text for u in quotable_units(text)]
    assert units[-1] == f"{lead} … They judge that the temperature rose 0.3 to 0.6 degrees."
    answer = extractive_answer(
        "How much did the temperature rise?",
        number_articles([_hit(1, "a", text)]),
        WordVectorEmbedder(),
        _no_article,
    )
    # The lead is quoted once, whichever units are chosen.
    assert answer.count(lead) == 1


def test_a_sentence_cut_at_the_passage_end_is_quoted_up_to_its_last_whole_word() -> None:
    cut = (
        "Another master plan, designed in 1999, produced the Ratner Athletics Center (2003), "
        "the Palevsky Commons (2001), and other co"
    )
    units = [u.text for u in quotable_units(f"The campus grew in the nineties. {cut}")]
    assert units[-1].endswith("the Palevsky Commons (2001), and other …")


def test_a_cut_sentence_is_not_quoted_when_another_passage_holds_it_whole() -> None:
    whole = (
        "Worker bees fan their wings to evaporate water from the nectar stored in the comb "
        "cells until the honey is thick enough to keep."
    )
    hits = [
        _hit(1, "a", f"Bees make honey from nectar they gather. {whole[:100]}"),
        _hit(2, "a", whole),
    ]
    text = extractive_answer(
        "Why do worker bees fan their wings?",
        number_articles(hits),
        WordVectorEmbedder(),
        _no_article,
    )
    assert whole in text and text.count("Worker bees fan") == 1


def test_a_question_naming_an_article_ranks_that_articles_sentences_higher() -> None:
    question = "How do agents use tools, and what does ReAct add?"
    agents = _hit(
        1, "a", "Agents use tools such as calculators and search engines to extend models."
    )
    loop = _hit(
        2, "b", "The thought-action-observation loop interleaves reasoning with calls to tools."
    )

    def loop_score(title: str) -> float:
        titled = loop.model_copy(update={"chunk": loop.chunk.model_copy(update={"title": title})})
        candidates = candidate_units(passages_in_rank_order(number_articles([agents, titled]), 5))
        return rank_units(question, candidates, WordVectorEmbedder())[1]

    # The ReAct paper's sentences rarely repeat its name; its title says what they are about.
    assert loop_score("ReAct: Reasoning and Acting") > loop_score("Article b") + 0.2


def test_a_short_topic_line_is_quoted_with_the_sentence_after_it_never_alone() -> None:
    hits = [
        _hit(1, "a", "Honey takes enormous effort. Worker bees fan their wings to evaporate water.")
    ]
    units = [c.text for c in candidate_units(passages_in_rank_order(number_articles(hits), 5))]
    assert units == ["Honey takes enormous effort. Worker bees fan their wings to evaporate water."]
