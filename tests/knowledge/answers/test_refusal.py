"""Refusal signals and the threshold policy."""

from __future__ import annotations

from knowledge.answers.refusal import (
    CALIBRATED_MIN_RELEVANCE,
    RefusalPolicy,
    RetrievalStrength,
    assess,
    embedder_family,
    question_parts,
    term_coverage,
)
from knowledge.models import Chunk, Hit


def _hit(text: str, similarity: float | None = 0.5) -> Hit:
    chunk = Chunk(id="c", article_id="a", kind="chunk", position=0, text=text, title="T", url="u")
    return Hit(rank=1, score=0.1, chunk=chunk, dense_similarity=similarity)


def test_coverage_is_the_best_single_passage_share_of_question_words() -> None:
    hits = [_hit("Zebras have stripes."), _hit("Stripes deter horseflies from zebras.")]
    assert term_coverage("Why do zebras have stripes against horseflies?", hits) == 1.0
    # Words spread over passages count only as much as the best passage holds.
    spread = [_hit("zebras"), _hit("stripes"), _hit("horseflies")]
    assert term_coverage("zebras stripes horseflies", spread) == 1 / 3


def test_relevance_is_the_mean_of_similarity_and_coverage() -> None:
    strength = assess("zebra stripes", [_hit("zebra stripes", similarity=0.6)])
    assert strength.coverage == 1.0 and strength.relevance == 0.8


def test_hits_without_dense_match_count_as_zero_similarity() -> None:
    assert assess("zebra", [_hit("zebra", similarity=None)]).top_similarity == 0.0


def test_embedder_families() -> None:
    assert embedder_family("hash-384") == "hash"
    assert embedder_family("minilm-l6-v2") == "minilm"
    assert embedder_family("openai-text-embedding-3-small") == "other"


def test_policy_uses_calibration_unless_overridden() -> None:
    assert RefusalPolicy.for_embedder("hash-384").min_relevance == CALIBRATED_MIN_RELEVANCE["hash"]
    assert RefusalPolicy.for_embedder("hash-384", 0.9).min_relevance == 0.9
    policy = RefusalPolicy(0.3)
    assert policy.should_refuse(None)  # no hits at all
    assert policy.should_refuse(RetrievalStrength(0.2, 0.2, 0.2))
    assert not policy.should_refuse(RetrievalStrength(0.4, 0.4, 0.4))


def test_a_multi_part_question_is_scored_part_by_part() -> None:
    hits = [
        _hit("Zebras have stripes that deter horseflies."),
        _hit("Penguins huddle together to keep warm in winter."),
    ]
    question = "Why do zebras have stripes? And how do penguins keep warm in winter?"
    assert question_parts(question) == [
        "Why do zebras have stripes?",
        "And how do penguins keep warm in winter?",
    ]
    # Each part is answered by its own passage, so the question is fully covered...
    assert term_coverage(question, hits) == 1.0
    # ...while as one part, the best passage holds only 4 of its 6 content words.
    assert term_coverage(question.replace("?", ""), hits) == 4 / 6


def test_parts_split_on_clauses_that_ask_again_but_not_on_every_and() -> None:
    assert question_parts("How does LoRA work, and why is there no extra latency?") == [
        "How does LoRA work",
        "why is there no extra latency?",
    ]
    assert question_parts("How do reasoning and acting combine in ReAct?") == [
        "How do reasoning and acting combine in ReAct?"
    ]
    # A lead-in without content words joins the part it introduces.
    assert question_parts("Two questions: what is LoRA rank?") == [
        "Two questions: what is LoRA rank?"
    ]


def test_an_off_topic_multi_part_question_stays_uncovered() -> None:
    hits = [_hit("Zebras have stripes that deter horseflies.")]
    question = "How do I bake sourdough bread? And which flour rises best?"
    assert term_coverage(question, hits) == 0.0
