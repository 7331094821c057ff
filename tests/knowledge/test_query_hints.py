"""Questions that name a publisher or a period favour its articles, without filtering others."""

from __future__ import annotations

from datetime import date

import pytest

from knowledge.index import KnowledgeIndex
from knowledge.models import Chunk
from knowledge.query_hints import Period, QueryHints, favour_hinted, find_period, find_publishers
from knowledge.retrieval import Candidate

TODAY = date(2026, 3, 11)  # a Wednesday


@pytest.mark.parametrize(
    ("question", "period"),
    [
        ("articles from last week on pruning", Period(date(2026, 3, 4), date(2026, 3, 12))),
        ("what came out in the past 3 months?", Period(date(2025, 12, 11), date(2026, 3, 12))),
        ("news from the last month on evals", Period(date(2026, 2, 11), date(2026, 3, 12))),
        ("the past two weeks of posts", Period(date(2026, 2, 25), date(2026, 3, 12))),
        ("anything this week about RAG", Period(date(2026, 3, 9), date(2026, 3, 12))),
        ("this month's posts on agents", Period(date(2026, 3, 1), date(2026, 3, 12))),
        ("papers from last year on MoE", Period(date(2025, 1, 1), date(2026, 1, 1))),
        ("what was said in 2024 about scaling", Period(date(2024, 1, 1), date(2025, 1, 1))),
        ("what did yesterday's article claim", Period(date(2026, 3, 10), date(2026, 3, 11))),
        ("the latest on distillation", Period(date(2026, 2, 9), date(2026, 3, 12))),
        ("how do LLMs work today", None),
        ("what is a transformer", None),
    ],
)
def test_periods_named_in_questions(question: str, period: Period | None) -> None:
    assert find_period(question, TODAY) == period


def test_publishers_are_found_by_name_or_host_as_whole_words() -> None:
    publishers = ["arXiv", "The Gradient", "distill.pub", "AI", "Towards Data Science"]
    assert find_publishers("What did the arXiv paper say?", publishers) == {"arxiv"}
    assert find_publishers("the gradient's essay on RLHF", publishers) == {"the gradient"}
    assert find_publishers("that Distill article on circuits", publishers) == {"distill.pub"}
    assert find_publishers("towards data science on MLOps", publishers) == {"towards data science"}
    # Too short to be told apart from a word; and no match inside a word.
    assert find_publishers("AI safety in arXivist circles", publishers) == frozenset()
    assert find_publishers("gradient descent explained", ["The Gradient"]) == frozenset()


def test_publishers_are_compared_as_source_filters_compare_them() -> None:
    # Full-width letters fold to plain ones (NFKC), as in the topic and source filters.
    assert find_publishers("What did ａｒＸｉｖ say about it?", ["arXiv"]) == {"arxiv"}
    assert find_publishers("What did arXiv say about it?", ["ａｒＸｉｖ"]) == {"arxiv"}


def chunk(chunk_id: str, publisher: str, published: int = 0) -> Chunk:
    return Chunk(
        id=chunk_id,
        article_id=chunk_id,
        kind="chunk",
        position=0,
        text="text",
        title=chunk_id,
        url=f"https://example.org/{chunk_id}",
        publisher=publisher,
        published=published,
    )


def test_only_candidates_above_the_median_gain() -> None:
    scores = {"best": 3.0, "close": 2.4, "weak": 0.0, "noise1": -0.5, "noise2": -0.6}
    sources = {"best": "Other", "close": "arXiv", "weak": "arXiv", "noise1": "Other"}
    candidates = [Candidate(rid, rid, score=s) for rid, s in scores.items()]
    chunks = {rid: chunk(rid, sources.get(rid, "arXiv")) for rid in scores}
    ranked = favour_hinted(candidates, chunks, QueryHints(publishers=frozenset({"arxiv"})))
    assert [c.id for c in ranked] == ["close", "best", "weak", "noise1", "noise2"]
    # At or below the median (the chunks that merely share a word): not lifted at all.
    assert {c.id: c.score for c in ranked}["weak"] == 0.0
    assert {c.id: c.score for c in ranked}["noise2"] == -0.6


def top_titles(index: KnowledgeIndex, question: str, k: int = 5) -> list[str]:
    hits = index.search(question, k=k)
    assert hits, question
    return list(dict.fromkeys(h.chunk.title for h in hits))


def test_naming_a_publisher_favours_its_article(index: KnowledgeIndex) -> None:
    plain = top_titles(index, "how should agents use tools")
    assert plain[0] == "Building effective agents"
    named = top_titles(index, "how should agents use tools, says the arXiv paper")
    assert named[0] == "ReAct: Synergizing Reasoning and Acting in Language Models"
    # A boost, not a filter: the other publishers' articles on agents are still there.
    assert "Building effective agents" in named and "LLM Powered Autonomous Agents" in named


def test_naming_a_year_favours_that_years_article(index: KnowledgeIndex) -> None:
    plain = top_titles(index, "how to train neural networks")
    assert plain[0] == "A Recipe for Training Neural Networks"
    dated = top_titles(index, "how to train neural networks, from a 2022 paper")
    assert dated[0] == "Training Compute-Optimal Large Language Models"
    assert "A Recipe for Training Neural Networks" in dated


def test_questions_without_hints_have_none(index: KnowledgeIndex) -> None:
    assert not index.query_hints("why do teams care about vector stores")
    hints = index.query_hints("what did the arXiv papers from last week say")
    assert hints.publishers == {"arxiv"} and hints.period is not None
