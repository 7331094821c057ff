"""Hybrid search over one build: dense and BM25 rankings, fused and capped per article."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Literal

from knowledge.candidate import Candidate
from knowledge.embeddings.base import Embedder
from knowledge.embeddings.query_vectors import QueryVectorCache
from knowledge.models import Hit, SearchFilters
from knowledge.query_hints import QueryHints, favour_hinted
from knowledge.settings import RetrievalSettings
from knowledge.store.catalog import Catalog
from knowledge.store.lexical_index import LexicalIndex
from knowledge.store.vector_store import VectorStore

__all__ = [
    "Candidate",
    "HybridRetriever",
    "SearchMode",
    "limit_per_article",
    "rrf_fuse",
    "zscore_fuse",
]

SearchMode = Literal["hybrid", "dense", "bm25"]


class HybridRetriever:
    """Dense (cosine) and BM25 rankings of one build, fused, hint-favoured, capped per article.

    `search(query, k, filters, mode)` returns up to `k` Hits, best first, ranked from 1; each
    carries its fused score and the dense similarity / BM25 score behind it (None where that
    ranking did not hold the chunk). Each ranking contributes max(candidates, 3k) chunks.
    Fusion is by z-scored scores (`zscore_fuse`) or by reciprocal ranks (`rrf_fuse`; Cormack,
    Clarke & Büttcher 2009, "Reciprocal rank fusion outperforms Condorcet and individual rank
    learning methods", SIGIR). `embedder` None: the build's embedder cannot be loaded here, so
    dense search is skipped and BM25 answers alone."""

    def __init__(
        self,
        vectors: VectorStore,
        lexical: LexicalIndex,
        catalog: Catalog,
        embedder: Embedder | None,
        settings: RetrievalSettings,
        hints: Callable[[str], QueryHints],
    ) -> None:
        self.vectors = vectors
        self.lexical = lexical
        self.catalog = catalog
        self.embedder = embedder
        self.settings = settings
        #: Reads the publisher and period a query names (softly favoured in the ranking).
        self.hints = hints

    def search(
        self,
        query: str,
        k: int | None = None,
        filters: SearchFilters | None = None,
        mode: SearchMode = "hybrid",
        per_article: int | None = None,
        query_vectors: QueryVectorCache | None = None,
    ) -> list[Hit]:
        """Up to `k` (default: settings) Hits for `query`, best first, at most `per_article`
        (default: settings; 0: no limit) from one article; [] for a blank query. The query's
        vector comes from `query_vectors` when given (an answer's steps share one)."""
        query = query.strip()
        if not query:
            return []
        r = self.settings
        k = k or r.k
        per_article = r.per_article if per_article is None else per_article
        n = max(r.candidates, k * 3)

        dense = []
        if mode != "bm25" and self.embedder is not None:
            vectors = query_vectors if query_vectors is not None else QueryVectorCache()
            dense = self.vectors.query(vectors.vector(self.embedder, query), n, filters)
        lexical = [] if mode == "dense" else self.lexical.search(query, n, filters)

        ids = list(dict.fromkeys([m.id for m in dense] + [m.id for m in lexical]))
        article_of = self.catalog.articles_of(ids)
        # Chroma may hold vectors of an uncommitted version only for pending articles
        # (see index_writer.py); the catalog is the record of truth for everything else.
        pending = self.catalog.pending()
        dense_ok = [
            (m.id, m.similarity)
            for m in dense
            if m.id in article_of and article_of[m.id] not in pending
        ]
        lexical_ok = [(m.id, m.score) for m in lexical if m.id in article_of]
        fusion_weight = self.embedder.fusion_weight if self.embedder else 0.0
        weight = fusion_weight if r.dense_weight is None else r.dense_weight
        if r.fusion == "rrf":
            weights = (weight * 2, (1.0 - weight) * 2)
            fused = rrf_fuse(dense_ok, lexical_ok, article_of, rrf_k=r.rrf_k, weights=weights)
        else:
            fused = zscore_fuse(dense_ok, lexical_ok, article_of, dense_weight=weight)
        hints = self.hints(query)
        # Hints weigh every candidate's chunk; the hits then take theirs from the same read.
        chunks = self.catalog.chunks_by_id([c.id for c in fused]) if hints else None
        if chunks is not None:
            fused = favour_hinted(fused, chunks, hints)
        top = limit_per_article(fused, k, per_article)
        if chunks is None:
            chunks = self.catalog.chunks_by_id([c.id for c in top])
        return [
            Hit(
                rank=i,
                score=c.score,
                chunk=chunks[c.id],
                dense_similarity=c.dense_similarity,
                lexical_score=c.lexical_score,
            )
            for i, c in enumerate((c for c in top if c.id in chunks), start=1)
        ]


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
