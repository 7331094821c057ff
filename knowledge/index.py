"""KnowledgeIndex: the one object front ends use to ingest, reindex, search and list articles."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from knowledge.chunking import ChunkingPolicy
from knowledge.embeddings.base import Embedder
from knowledge.errors import ConfigError
from knowledge.indexing import Indexer, Plan, Progress, exclusive_lock
from knowledge.models import Article, Hit, IngestFailure, IngestReport, SearchFilters
from knowledge.query_hints import PublisherNames, QueryHints, favour_hinted, read_hints
from knowledge.retrieval import limit_per_article, rrf_fuse, zscore_fuse
from knowledge.settings import Settings
from knowledge.store.catalog import Catalog
from knowledge.store.lexical_index import LexicalIndex
from knowledge.store.vector_store import VectorStore

if TYPE_CHECKING:
    from knowledge.loaders import LoadResult

log = logging.getLogger(__name__)

SearchMode = Literal["hybrid", "dense", "bm25"]
#: How long the publisher names used for query hints are cached (new ones show up after this).
_PUBLISHERS_TTL_S = 60.0


class KnowledgeIndex:
    """Catalog + Chroma + BM25 for one embedder, kept in step."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self._write_lock = threading.Lock()
        self._publishers: tuple[float, PublisherNames] | None = None

    # -- parts, built on first use ----------------------------------------------------------

    @cached_property
    def embedder(self) -> Embedder:
        if self._embedder is not None:
            return self._embedder
        from knowledge.embeddings.factory import create_embedder

        return create_embedder(self.settings.embeddings, self.settings.llm)

    @cached_property
    def vectors(self) -> VectorStore:
        return VectorStore(self.settings.chroma, self.settings.data_dir, self.embedder.name)

    @property
    def index_dir(self) -> Path:
        """Catalog and BM25 live per collection, so switching embedders never mixes them."""
        return self.settings.data_dir / "index" / self.vectors.name

    @cached_property
    def catalog(self) -> Catalog:
        return Catalog(self.index_dir / "catalog.sqlite3")

    @cached_property
    def lexical(self) -> LexicalIndex:
        return LexicalIndex(self.index_dir / "bm25")

    @cached_property
    def policy(self) -> ChunkingPolicy:
        k = self.settings.knowledge
        return ChunkingPolicy(
            target_tokens=k.chunk_tokens,
            overlap_tokens=k.chunk_overlap,
            count_tokens=self.embedder.count_tokens,
            max_tokens=self.embedder.max_tokens,
            max_bytes=self.embedder.max_input_bytes,
        )

    @cached_property
    def indexer(self) -> Indexer:
        return Indexer(
            self.catalog,
            self.vectors,
            self.lexical,
            self.embedder,
            self.policy,
            batch_size=self.settings.embeddings.batch_size,
        )

    # -- writing ----------------------------------------------------------------------------

    def ingest(self, sources: Sequence[str], progress: Progress | None = None) -> IngestReport:
        """Add or update the articles found in `sources`; nothing is removed."""
        return self._run(sources, remove_missing=False, dry_run=False, progress=progress)

    def reindex(self, dry_run: bool = False, progress: Progress | None = None) -> IngestReport:
        """Bring the index in line with the configured sources, removing articles gone from them."""
        sources = self.settings.knowledge.sources
        if not sources:
            raise ConfigError(
                "No sources to reindex: set CURATOR_KNOWLEDGE__SOURCES to paths or URLs."
            )
        return self._run(sources, remove_missing=True, dry_run=dry_run, progress=progress)

    def add_articles(
        self, articles: Sequence[Article], progress: Progress | None = None
    ) -> IngestReport:
        """Index already-built articles (evaluation corpora, benchmarks)."""
        report = IngestReport()
        with self.lock():
            plan = self.indexer.plan(articles, [], remove_missing=False)
            self.indexer.apply(plan, report, progress)
        return report

    def _run(
        self,
        sources: Sequence[str],
        remove_missing: bool,
        dry_run: bool,
        progress: Progress | None,
    ) -> IngestReport:
        if dry_run:
            loaded = self._load(sources, progress)
            report = self._load_report(loaded)
            plan = self.indexer.plan(loaded.articles, report.failed, remove_missing)
            return self._dry_report(plan, report)
        # Held while reading sources too, so a scheduled refresh and a reindex never overlap.
        with self.lock():
            loaded = self._load(sources, progress)
            report = self._load_report(loaded)
            plan = self.indexer.plan(loaded.articles, report.failed, remove_missing)
            nothing_to_do = not (plan.added or plan.updated or plan.removed or plan.orphans)
            if nothing_to_do and not self.indexer.lexical_is_dirty():
                report.unchanged = plan.unchanged
                return report
            self.indexer.apply(plan, report, progress)
        log.info(
            "index updated",
            extra={"added": report.added, "updated": report.updated, "removed": report.removed},
        )
        return report

    def _load(self, sources: Sequence[str], progress: Progress | None) -> LoadResult:
        from knowledge.loaders import load_sources

        if progress:
            progress("load", 0, len(sources))
        loaded = load_sources(list(sources), self.settings.knowledge)
        if progress:
            progress("load", len(sources), len(sources))
        return loaded

    @staticmethod
    def _load_report(loaded: LoadResult) -> IngestReport:
        return IngestReport(
            failed=[IngestFailure(path=f.path, reason=f.reason) for f in loaded.failures],
            skipped=list(loaded.skipped),
        )

    @staticmethod
    def _dry_report(plan: Plan, report: IngestReport) -> IngestReport:
        report.added = len(plan.added)
        report.updated = len(plan.updated)
        report.unchanged = plan.unchanged
        report.removed = len(plan.removed)
        return report

    def lock(self) -> AbstractContextManager[None]:
        """The lock every write holds (ingest, reindex, refresh); IndexBusyError when taken."""
        return exclusive_lock(self.settings.data_dir / "reindex.lock")

    # -- reading ----------------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int | None = None,
        filters: SearchFilters | None = None,
        per_article: int | None = None,
        mode: SearchMode = "hybrid",
    ) -> list[Hit]:
        """Hybrid search: dense and BM25 rankings fused, filtered, capped per article."""
        query = query.strip()
        if not query:
            return []
        r = self.settings.retrieval
        k = k or r.k
        per_article = r.per_article if per_article is None else per_article
        n = max(r.candidates, k * 3)

        dense = []
        if mode != "bm25":
            dense = self.vectors.query(self.embedder.embed_query(query), n, filters)
        lexical = [] if mode == "dense" else self.lexical.search(query, n, filters)

        ids = list(dict.fromkeys([m.id for m in dense] + [m.id for m in lexical]))
        article_of = self.catalog.articles_of(ids)
        # Chroma may hold vectors of an uncommitted version only for pending articles
        # (see indexing.py); the catalog is the record of truth for everything else.
        pending = self.catalog.pending()
        dense_ok = [
            (m.id, m.similarity)
            for m in dense
            if m.id in article_of and article_of[m.id] not in pending
        ]
        lexical_ok = [(m.id, m.score) for m in lexical if m.id in article_of]
        weight = self.embedder.fusion_weight if r.dense_weight is None else r.dense_weight
        if r.fusion == "rrf":
            weights = (weight * 2, (1.0 - weight) * 2)
            fused = rrf_fuse(dense_ok, lexical_ok, article_of, rrf_k=r.rrf_k, weights=weights)
        else:
            fused = zscore_fuse(dense_ok, lexical_ok, article_of, dense_weight=weight)
        hints = self.query_hints(query)
        if hints:
            fused = favour_hinted(fused, self.catalog.chunks_by_id([c.id for c in fused]), hints)
        top = limit_per_article(fused, k, per_article)
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

    def query_hints(self, query: str) -> QueryHints:
        """The publisher and period `query` names, softly favoured by `search`."""
        now = time.monotonic()
        if self._publishers is None or now - self._publishers[0] > _PUBLISHERS_TTL_S:
            self._publishers = (now, PublisherNames(self.catalog.publishers()))
        return read_hints(query, self._publishers[1], datetime.now(UTC).date())

    def list_articles(
        self,
        topic: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Article]:
        return self.catalog.list_articles(topic=topic, since=since, until=until)

    def get_article(self, article_id: str) -> Article | None:
        return self.catalog.get_article(article_id)

    def topics(self) -> list[str]:
        return [t for t, _ in self.catalog.topics()]

    def stats(self) -> dict[str, object]:
        return {
            "articles": self.catalog.article_count(),
            "records": self.catalog.record_count(),
            "vectors": self.vectors.count(),
            "lexical_records": len(self.lexical),
            "embedder": self.embedder.name,
            "collection": self.vectors.name,
            "store_mode": self.vectors.mode,
            "store_location": self.vectors.location,
            "data_dir": str(self.settings.data_dir),
        }

    def close(self) -> None:
        if "catalog" in self.__dict__:
            self.catalog.close()
        if "vectors" in self.__dict__:
            self.vectors.close()
