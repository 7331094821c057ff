"""Rank fusion and result shaping for hybrid search (pure functions, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass
class Candidate:
    """One chunk's standing in each retriever before fusion."""

    id: str
    article_id: str
    dense_rank: int | None = None
    dense_similarity: float | None = None
    lexical_rank: int | None = None
    lexical_score: float | None = None
    score: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)


def rrf_fuse(
    dense: Sequence[tuple[str, float]],
    lexical: Sequence[tuple[str, float]],
    article_of: Mapping[str, str],
    rrf_k: int = 60,
    weights: tuple[float, float] = (1.0, 1.0),
) -> list[Candidate]:
    """Reciprocal-rank fusion of two ranked lists of (id, score); best first."""
    table: dict[str, Candidate] = {}
    for rank, (rid, sim) in enumerate(dense, start=1):
        c = table.setdefault(rid, Candidate(rid, article_of[rid]))
        c.dense_rank, c.dense_similarity = rank, sim
        c.score += weights[0] / (rrf_k + rank)
    for rank, (rid, score) in enumerate(lexical, start=1):
        c = table.setdefault(rid, Candidate(rid, article_of[rid]))
        c.lexical_rank, c.lexical_score = rank, score
        c.score += weights[1] / (rrf_k + rank)
    return sorted(table.values(), key=lambda c: (-c.score, c.id))


def _standardise(scores: Sequence[float]) -> list[float]:
    """Scores as z-scores within their own list (0 when they are all equal)."""
    n = len(scores)
    mean = sum(scores) / n
    sd = (sum((x - mean) ** 2 for x in scores) / n) ** 0.5
    return [(x - mean) / sd if sd > 1e-12 else 0.0 for x in scores]


def zscore_fuse(
    dense: Sequence[tuple[str, float]],
    lexical: Sequence[tuple[str, float]],
    article_of: Mapping[str, str],
    dense_weight: float = 0.5,
) -> list[Candidate]:
    """Fuse by standardised scores: cosine and BM25 live on different scales, and z-scores
    put them on one while keeping how far ahead a strong match is (which ranks alone lose).
    A chunk missing from one list takes that list's lowest z-score: it ranked below all of it.
    """
    table: dict[str, Candidate] = {}
    for rank, (rid, sim) in enumerate(dense, start=1):
        c = table.setdefault(rid, Candidate(rid, article_of[rid]))
        c.dense_rank, c.dense_similarity = rank, sim
    for rank, (rid, score) in enumerate(lexical, start=1):
        c = table.setdefault(rid, Candidate(rid, article_of[rid]))
        c.lexical_rank, c.lexical_score = rank, score
    for scored, weight in ((dense, dense_weight), (lexical, 1.0 - dense_weight)):
        if not scored:
            continue
        z = dict(zip((rid for rid, _ in scored), _standardise([x for _, x in scored]), strict=True))
        floor = min(z.values())
        for rid, c in table.items():
            c.score += weight * z.get(rid, floor)
    return sorted(table.values(), key=lambda c: (-c.score, c.id))


def limit_per_article(candidates: Sequence[Candidate], k: int, per_article: int) -> list[Candidate]:
    """The best `k`, with at most `per_article` from any one article (0 means no limit)."""
    if per_article <= 0:
        return list(candidates[:k])
    taken: dict[str, int] = {}
    out: list[Candidate] = []
    for c in candidates:
        if taken.get(c.article_id, 0) >= per_article:
            continue
        taken[c.article_id] = taken.get(c.article_id, 0) + 1
        out.append(c)
        if len(out) == k:
            break
    return out
