from __future__ import annotations

from knowledge.retrieval import limit_per_article, rrf_fuse, zscore_fuse

ARTICLE = {"a1": "A", "a2": "A", "a3": "A", "b1": "B", "c1": "C"}


def test_rrf_rewards_agreement_between_retrievers() -> None:
    fused = rrf_fuse([("a1", 0.9), ("b1", 0.8)], [("b1", 12.0), ("c1", 3.0)], ARTICLE)
    assert [c.id for c in fused] == ["b1", "a1", "c1"]
    b1 = fused[0]
    assert (b1.dense_rank, b1.lexical_rank, b1.dense_similarity, b1.lexical_score) == (
        2,
        1,
        0.8,
        12.0,
    )


def test_zscore_keeps_the_margin_of_a_strong_match() -> None:
    # a1 is far ahead in BM25 and only slightly behind in dense: it should win.
    dense = [("b1", 0.62), ("a1", 0.61), ("c1", 0.30)]
    lexical = [("a1", 30.0), ("b1", 5.0), ("c1", 4.0)]
    assert zscore_fuse(dense, lexical, ARTICLE)[0].id == "a1"
    # Ranks alone see a tie between a1 and b1 and fall back to the id order.
    rrf = rrf_fuse(dense, lexical, ARTICLE)
    assert rrf[0].score == rrf[1].score


def test_zscore_puts_chunks_missing_from_a_list_at_its_bottom() -> None:
    dense = [("a1", 0.9), ("b1", 0.5)]
    lexical = [("c1", 7.0)]
    fused = {c.id: c for c in zscore_fuse(dense, lexical, ARTICLE)}
    assert fused["a1"].score > fused["b1"].score
    assert fused["c1"].lexical_score == 7.0 and fused["c1"].dense_similarity is None


def test_zscore_with_one_list_empty_follows_the_other() -> None:
    fused = zscore_fuse([("a1", 0.2), ("b1", 0.9), ("c1", 0.5)], [], ARTICLE)
    assert [c.id for c in fused] == ["b1", "c1", "a1"]
    assert zscore_fuse([], [], ARTICLE) == []


def test_limit_per_article() -> None:
    fused = rrf_fuse([("a1", 1), ("a2", 1), ("a3", 1), ("b1", 1), ("c1", 1)], [], ARTICLE)
    assert [c.id for c in limit_per_article(fused, 3, 2)] == ["a1", "a2", "b1"]
    assert [c.id for c in limit_per_article(fused, 3, 0)] == ["a1", "a2", "a3"]
