"""Candidate: one chunk's standing in the dense and BM25 rankings while they are fused."""

from __future__ import annotations

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
