"""KnowledgeIndex: the one object front ends use to ingest, reindex, search and list articles."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from knowledge.chunking import ChunkingPolicy
from knowledge.embeddings.base import Embedder
from knowledge.embeddings.query_vectors import QueryVectorCache
from knowledge.errors import ConfigError, CuratorError, EmbedderUnavailableError
from knowledge.index_writer import Indexer, Plan, Progress, exclusive_lock
from knowledge.models import (
    Article,
    Hit,
    IngestFailure,
    IngestReport,
    IngestWarning,
    SearchFilters,
)
from knowledge.query_hints import PublisherNames, QueryHints, read_hints
from knowledge.retrieval import HybridRetriever, SearchMode
from knowledge.settings import Settings
from knowledge.store.builds import BuildRecord, BuildRegistry
from knowledge.store.catalog import Catalog
from knowledge.store.lexical_index import LexicalIndex
from knowledge.store.sentence_store import SentenceStore
from knowledge.store.vector_store import VectorStore, collection_name

if TYPE_CHECKING:
    from knowledge.loaders import LoadResult

log = logging.getLogger(__name__)

#: Catalog meta key: URL sources that answered with a feed, so an HTML answer is refused later.
_FEEDS_KEY = "feed_urls"
REPLACES_UNLINKED_WARNING = "replaces the version indexed without a link (same title and publisher)"
#: How long the publisher names used for query hints are cached (new ones show up after this).
_PUBLISHERS_TTL_S = 60.0


class Build:
    """One embedder's collection, with the catalog, BM25 index and sentence vectors kept beside
    it; each store is opened on first use and closed by `close()`.

    `embedder` is None for a build kept serving while its embedder cannot be loaded here:
    its catalog and BM25 index still answer, dense search is skipped."""

    def __init__(
        self, settings: Settings, embedder: Embedder | None, collection: str, folder: Path
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.collection = collection
        self.folder = folder
        # These two open nothing until read.
        self.lexical = LexicalIndex(folder / "bm25")
        #: Vectors of the chunks' quotable units, written by this build's indexer and read by
        #: extractive answers (one connection for both).
        self.sentences = SentenceStore.in_dir(folder)
        # Opened on first use (the catalog creates its file; naming the collection may load
        # the embedder); the lock keeps a search and a reindex from opening one twice.
        self._parts = threading.RLock()
        self._vectors: VectorStore | None = None
        self._catalog: Catalog | None = None
        self._indexer: Indexer | None = None

    @property
    def vectors(self) -> VectorStore:
        with self._parts:
            if self._vectors is None:
                name = self.embedder.name if self.embedder else self.collection
                self._vectors = VectorStore(
                    self.settings.chroma, self.settings.data_dir, name, collection=self.collection
                )
            return self._vectors

    @property
    def catalog(self) -> Catalog:
        with self._parts:
            if self._catalog is None:
                self._catalog = Catalog(self.folder / "catalog.sqlite3")
            return self._catalog

    def writer(self) -> Embedder:
        """The embedder, for writing: a build without one can only be read."""
        if self.embedder is None:
            raise EmbedderUnavailableError(
                f"the embedder that built {self.collection} cannot be loaded here"
            )
        return self.embedder

    @property
    def policy(self) -> ChunkingPolicy:
        """How this build's embedder cuts articles into chunks."""
        k = self.settings.knowledge
        embedder = self.writer()
        return ChunkingPolicy(
            target_tokens=k.chunk_tokens,
            overlap_tokens=k.chunk_overlap,
            count_tokens=embedder.count_tokens,
            max_tokens=embedder.max_tokens,
            max_bytes=embedder.max_input_bytes,
        )

    @property
    def indexer(self) -> Indexer:
        """Writes this build's stores in step (EmbedderUnavailableError without an embedder)."""
        with self._parts:
            if self._indexer is None:
                self._indexer = Indexer(
                    self.catalog,
                    self.vectors,
                    self.lexical,
                    self.sentences,
                    self.writer(),
                    self.policy,
                    batch_size=self.settings.embeddings.batch_size,
                )
            return self._indexer

    def close(self) -> None:
        """Close the stores opened so far (the BM25 index holds no open files)."""
        with self._parts:
            catalog, vectors = self._catalog, self._vectors
            self._catalog = self._vectors = self._indexer = None
        if catalog is not None:
            catalog.close()
        if vectors is not None:
            vectors.close()
        self.sentences.close()


class KnowledgeIndex:
    """Catalog + Chroma + BM25 of the active build, kept in step; re-embeds into a new build
    when the configured embedder differs from the one the data was built with."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self._state = threading.RLock()
        self._active: Build | None = None
        #: The configured embedder's build while the active one was built by another.
        self._target: Build | None = None
        #: Every build opened, by collection: reused when a switch is re-read, closed at close().
        self._opened: dict[str, Build] = {}
        #: One retriever per build that has served a search.
        self._retrievers: dict[Build, HybridRetriever] = {}
        self._stamp: int | None = None
        self._publishers: tuple[float, PublisherNames] | None = None
        self.builds = BuildRegistry(settings.data_dir, settings.chroma.collection_prefix)

    # -- which build serves -----------------------------------------------------------------

    def _configured(self, record: BuildRecord | None) -> Embedder:
        if self._embedder is None:
            from knowledge.embeddings.factory import create_embedder

            self._embedder = create_embedder(
                self.settings.embeddings,
                self.settings.llm,
                built_with=record.embedder if record else None,
            )
        return self._embedder

    def _build(self, embedder: Embedder | None, collection: str) -> Build:
        with self._state:
            build = self._opened.get(collection)
            if build is None or (build.embedder is None and embedder is not None):
                build = Build(self.settings, embedder, collection, self.builds.folder(collection))
                if collection in self._opened:
                    self._opened[f"{collection}#{len(self._opened)}"] = self._opened[collection]
                self._opened[collection] = build
            return build

    def _resolve(self) -> Build:
        """The active build, re-read when this or another process switched builds."""
        with self._state:
            stamp = self.builds.stamp()
            if self._active is not None and stamp == self._stamp:
                return self._active
            record = self.builds.read()
            if record is None:
                record = self._adopt_legacy()
            configured = self._configured(record)
            # The same choice doctor reports (health.served_index), without loading anything.
            collection, built_with = self.builds.served(record, configured.name)
            if record is None or built_with == configured.name:
                self._active, self._target = self._build(configured, collection), None
            else:
                prefix = self.settings.chroma.collection_prefix
                self._active = self._build(self._embedder_of(record), collection)
                self._target = self._build(configured, collection_name(prefix, configured.name))
                log.warning(
                    "the index was built with %s and the configured embedder is %s: serving "
                    "the %s build until the next reindex re-embeds its stored text",
                    record.embedder,
                    configured.name,
                    record.embedder,
                )
            self._stamp = self.builds.stamp()
            return self._active

    def _adopt_legacy(self) -> BuildRecord | None:
        """Keep serving an index whose build was not recorded (an earlier release, or lost)."""
        from knowledge.embeddings.factory import likely_names

        explicit = self._embedder.name if self._embedder is not None else None
        record = self.builds.adopt_legacy(likely_names(self.settings.embeddings, explicit))
        if record is not None:
            if record.embedder.startswith("openai-") and not record.model:
                record = BuildRecord(record.embedder, record.collection, self._openai_model())
            self.builds.write(record)
        return record

    def _openai_model(self) -> str:
        return self.settings.embeddings.model

    def _embedder_of(self, record: BuildRecord) -> Embedder | None:
        from knowledge.embeddings.factory import embedder_named

        try:
            return embedder_named(
                record.embedder, record.model, self.settings.embeddings, self.settings.llm
            )
        except EmbedderUnavailableError as exc:
            log.warning(
                "%s built the index and cannot be loaded (%s): searching it by BM25 only "
                "until the next reindex re-embeds it",
                record.embedder,
                exc,
            )
            return None

    def _record(self, build: Build) -> BuildRecord:
        embedder = build.writer()
        model = self._openai_model() if embedder.name.startswith("openai-") else ""
        return BuildRecord(embedder.name, build.collection, model)

    @property
    def reembed_pending(self) -> tuple[str, str] | None:
        """(built with, configured) while the data still has to be re-embedded, else None."""
        active = self._resolve()
        if self._target is None:
            return None
        return (active.embedder.name if active.embedder else active.collection), (
            self._target.writer().name
        )

    # -- parts of the active build ----------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        """The embedder of the served build (the configured one when that cannot be loaded)."""
        active = self._resolve()
        if active.embedder is not None:
            return active.embedder
        assert self._target is not None  # a build without embedder is only ever kept serving
        return self._target.writer()

    @property
    def vectors(self) -> VectorStore:
        return self._resolve().vectors

    @property
    def index_dir(self) -> Path:
        """Catalog and BM25 live per collection, so switching embedders never mixes them."""
        return self._resolve().folder

    @property
    def catalog(self) -> Catalog:
        return self._resolve().catalog

    @property
    def lexical(self) -> LexicalIndex:
        return self._resolve().lexical

    @property
    def sentences(self) -> SentenceStore | None:
        """The served build's stored sentence vectors; None while it is served without its
        embedder (answers then rank with the configured one, whose vectors it does not hold)."""
        active = self._resolve()
        return active.sentences if active.embedder is not None else None

    @property
    def policy(self) -> ChunkingPolicy:
        return self._resolve().policy

    @property
    def indexer(self) -> Indexer:
        return self._resolve().indexer

    # -- writing ----------------------------------------------------------------------------

    def ingest(self, sources: Sequence[str], progress: Progress | None = None) -> IngestReport:
        """Add or update the articles found in `sources`; nothing is removed."""
        return self._run(sources, remove_missing=False, dry_run=False, progress=progress)

    def reindex(
        self, dry_run: bool = False, progress: Progress | None = None, rebuild: bool = False
    ) -> IngestReport:
        """Bring the index in line with the configured sources, removing articles gone from them.

        Also re-embeds the stored text first when the embedder changed, repairs the vector store
        from the catalog, and with `rebuild` re-embeds every chunk from the stored text."""
        sources = self.settings.knowledge.sources
        if not sources:
            raise ConfigError(
                "No sources to reindex: set CURATOR_KNOWLEDGE__SOURCES to paths or URLs."
            )
        return self._run(
            sources, remove_missing=True, dry_run=dry_run, progress=progress, rebuild=rebuild
        )

    def rebuild(self, progress: Progress | None = None) -> IngestReport:
        """Re-embed every stored chunk from the catalog's text into a fresh collection."""
        report = IngestReport()
        with self.lock():
            self._reembed_locked(progress)
            report.repaired = self.indexer.reconcile(progress, rebuild=True).repaired
            self.indexer.rebuild_lexical(progress)
            # No source is read: every stored article is kept as it is, only re-embedded.
            report.unchanged = self.catalog.article_count()
        return report

    def reembed(self, progress: Progress | None = None) -> int:
        """Re-embed the served build's stored text with the configured embedder and switch to
        it (searches keep using the old build until then); returns the articles re-embedded."""
        with self.lock():
            return self._reembed_locked(progress)

    def add_articles(
        self, articles: Sequence[Article], progress: Progress | None = None
    ) -> IngestReport:
        """Index already-built articles (evaluation corpora, benchmarks)."""
        report = IngestReport()
        with self.lock():
            self._reembed_locked(progress)
            plan = self.indexer.plan(articles, [], remove_missing=False)
            self.indexer.apply(plan, report, progress)
            self._record_active()
        return report

    def _run(
        self,
        sources: Sequence[str],
        remove_missing: bool,
        dry_run: bool,
        progress: Progress | None,
        rebuild: bool = False,
    ) -> IngestReport:
        if dry_run:
            # Changes against the stored articles, as the served build's embedder hashes them.
            active = self._resolve()
            build = active if active.embedder is not None else self._target
            assert build is not None
            loaded = self.read_sources(sources, progress)
            report = self.load_report(loaded)
            plan = build.indexer.plan(loaded.articles, report.failed, remove_missing)
            return self._dry_report(plan, with_replacements(plan, report))
        # Held while reading sources too, so a scheduled refresh and a reindex never overlap.
        with self.lock():
            repaired = self.heal_locked(progress, rebuild=rebuild)
            loaded = self.read_sources(sources, progress)
            self.remember_feeds(loaded)
            report = self.load_report(loaded)
            report.repaired = repaired
            wrote = self.write_loaded(loaded, report, remove_missing, progress, rebuild=rebuild)
            self._record_active()
        if not wrote:
            return report
        log.info(
            "index updated",
            extra={
                "added": report.added,
                "updated": report.updated,
                "removed": report.removed,
                "repaired": report.repaired,
            },
        )
        return report

    def write_loaded(
        self,
        loaded: LoadResult,
        report: IngestReport,
        remove_missing: bool,
        progress: Progress | None = None,
        rebuild: bool = False,
    ) -> bool:
        """With the lock held: bring the build in line with `loaded`, keeping the articles of
        the sources in `loaded.failures`; counts and replacement warnings land in `report`.
        Returns False when nothing needed writing (no change, BM25 clean, no `rebuild`)."""
        plan = self.indexer.plan(loaded.articles, loaded.failures, remove_missing)
        with_replacements(plan, report)
        if not (plan.changes or rebuild or self.indexer.lexical_is_dirty()):
            report.unchanged = plan.unchanged
            return False
        self.indexer.apply(plan, report, progress)
        return True

    def heal_locked(self, progress: Progress | None = None, rebuild: bool = False) -> int:
        """With the lock held: finish a pending embedder switch, then repair the vector store
        from the catalog (re-embedding what it lacks or holds stale); returns chunks repaired."""
        self._reembed_locked(progress)
        return self.indexer.reconcile(progress, rebuild=rebuild).repaired

    def _record_active(self) -> None:
        """Pin the embedder once the index holds articles, so `auto` keeps it."""
        if self.builds.read() is None and self.catalog.article_count() > 0:
            self._make_active(self._resolve())

    def _make_active(self, build: Build) -> None:
        """Record `build` as the served one, in the registry and in its own catalog."""
        record = self._record(build)
        build.catalog.set_meta("build", json.dumps(asdict(record)))
        self.builds.write(record)
        with self._state:
            self._stamp = self.builds.stamp()

    def _reembed_locked(self, progress: Progress | None) -> int:
        """With the reindex lock held: fill the configured build from the served one's stored
        text, check it holds every article, then make it the active build."""
        served = self._resolve()
        target = self._target
        if target is None:
            return 0
        articles = served.catalog.list_articles()
        log.info(
            "re-embedding the stored articles for the new embedder",
            extra={"articles": len(articles), "into": target.collection},
        )

        def relay(stage: str, done: int, total: int) -> None:
            if progress:
                progress("reembed" if stage == "embed" else stage, done, total)

        # A re-embed cut short earlier resumes: what the target already holds is kept.
        target.indexer.reconcile(relay)
        plan = target.indexer.plan(articles, [], remove_missing=True)
        target.indexer.apply(plan, IngestReport(), relay)
        held = target.catalog.article_count()
        if held != len(articles):
            raise CuratorError(
                f"Re-embedding stopped short: {target.collection} holds {held} of "
                f"{len(articles)} articles; the old index stays in use. Run the reindex again."
            )
        with self._state:
            self._make_active(target)
            self._active, self._target = target, None
        log.warning(
            "switched to the re-embedded index",
            extra={"articles": held, "collection": target.collection},
        )
        return held

    def read_sources(self, sources: Sequence[str], progress: Progress | None = None) -> LoadResult:
        """Load `sources` (paths and URLs); a URL that served a feed before must serve one
        again, so a maintenance page never replaces a feed's articles."""
        from knowledge.loaders import load_sources

        if progress:
            progress("load", 0, len(sources))
        known_feeds = self._known_feeds()
        loaded = load_sources(list(sources), self.settings.knowledge, known_feeds=known_feeds)
        if progress:
            progress("load", len(sources), len(sources))
        return loaded

    @staticmethod
    def load_report(loaded: LoadResult) -> IngestReport:
        """What reading the sources reported: failures, files skipped, warnings, pairs."""
        return IngestReport(
            failed=[IngestFailure(path=f.path, reason=f.reason) for f in loaded.failures],
            skipped=list(loaded.skipped),
            warnings=list(loaded.warnings),
            paired=list(loaded.paired),
        )

    def remember_feeds(self, loaded: LoadResult) -> None:
        """Record the URL sources that served a feed (with the lock held)."""
        if not loaded.feeds:
            return  # nothing to add: spare the scan of every article's origin
        known_feeds = self._known_feeds()
        if set(loaded.feeds) - known_feeds:
            feeds = sorted(known_feeds | set(loaded.feeds))
            self.catalog.set_meta(_FEEDS_KEY, json.dumps(feeds))

    def _known_feeds(self) -> set[str]:
        """URL sources that served a feed and still have articles in the index; a URL with
        several articles, indexed before feeds were remembered, is one too (a page gives one)."""
        from knowledge.loaders.walk import is_url

        remembered = set(json.loads(self.catalog.get_meta(_FEEDS_KEY) or "[]"))
        per_origin = Counter(self.catalog.origins().values())
        several = {origin for origin, n in per_origin.items() if n > 1 and is_url(origin)}
        return (remembered & set(per_origin)) | several

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
        query_vectors: QueryVectorCache | None = None,
    ) -> list[Hit]:
        """Hybrid search of the served build (see HybridRetriever): dense and BM25 rankings
        fused, filtered, capped per article; `query_vectors` shares the query's vector with the
        other steps of one answer."""
        if not query.strip():
            return []  # before resolving the build: a blank query reads nothing
        retriever = self._retriever(self._resolve())
        return retriever.search(query, k, filters, mode, per_article, query_vectors)

    def _retriever(self, build: Build) -> HybridRetriever:
        """The retriever searching `build`, made on its first search."""
        with self._state:
            retriever = self._retrievers.get(build)
            if retriever is None:
                retriever = HybridRetriever(
                    build.vectors,
                    build.lexical,
                    build.catalog,
                    build.embedder,
                    self.settings.retrieval,
                    self.query_hints,
                )
                self._retrievers[build] = retriever
            return retriever

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
        """Articles by curated time, newest first; `since` inclusive, `until` exclusive."""
        return self.catalog.list_articles(topic=topic, since=since, until=until)

    def get_article(self, article_id: str) -> Article | None:
        return self.catalog.get_article(article_id)

    def topics(self) -> list[str]:
        return [t for t, _ in self.catalog.topics()]

    def stats(self) -> dict[str, object]:
        """Counts and locations of the served build; `vectors_match` is False when the vector
        store does not hold exactly one vector per catalog chunk; `reembed_pending` is
        'built with → configured' while a reindex has to re-embed, else None."""
        build = self._resolve()
        chunks = build.catalog.chunk_count()
        vectors = build.vectors.count()
        pending = self.reembed_pending
        return {
            "articles": build.catalog.article_count(),
            "chunks": chunks,
            "vectors": vectors,
            "vectors_match": vectors == chunks,
            "lexical_chunks": len(build.lexical),
            "embedder": build.embedder.name if build.embedder else "(unavailable)",
            "reembed_pending": f"{pending[0]} → {pending[1]}" if pending else None,
            "collection": build.vectors.name,
            "store_mode": build.vectors.mode,
            "store_location": build.vectors.location,
            "data_dir": str(self.settings.data_dir),
        }

    def close(self) -> None:
        with self._state:
            builds = list(self._opened.values())
            self._active = self._target = None
            self._opened = {}
            self._retrievers = {}
        for build in builds:
            build.close()


def with_replacements(plan: Plan, report: IngestReport) -> IngestReport:
    """Name, among the warnings, each article replacing its version without a link; returns
    `report` (reindex and the scheduled refresh report the same warnings)."""
    for origin in plan.replacing:
        report.warnings.append(IngestWarning(path=origin, message=REPLACES_UNLINKED_WARNING))
    return report
