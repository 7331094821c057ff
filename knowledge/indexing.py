"""Incremental indexing: embed what changed, replace it, remove what is gone.

Order of writes per batch, chosen so a kill at any point is harmless:
1. the batch's article ids are written to the catalog as `pending`;
2. vectors are upserted into Chroma (stable ids) and leftovers of older versions deleted;
3. the catalog commits the new records and hash in one transaction; `pending` is cleared.
Chroma and the catalog can only disagree about an article while it is pending, so search drops
dense hits of pending articles and returns only records the catalog holds: vectors from an
unfinished batch stay invisible, and the next run redoes every article still pending.
Removed articles are marked pending, deleted from the catalog, then from Chroma, so a kill in
between leaves only orphans the next run deletes. Every run that writes clears the catalog's
store epoch first and sets a new one in both stores at the end (knowledge/store/consistency.py):
a run that died, or a store changed behind the catalog's back, gets a full check next time.
The BM25 index is rebuilt from the catalog at the end; a `bm25_dirty` flag makes the next run
rebuild it if the process died first.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from knowledge.chunking import ChunkingPolicy, chunk_article
from knowledge.embeddings.base import Embedder
from knowledge.errors import CuratorError, IndexBusyError
from knowledge.models import Article, Chunk, IngestFailure, IngestReport
from knowledge.store.catalog import Catalog
from knowledge.store.consistency import Repair, invalidate, mark_consistent, reconcile
from knowledge.store.lexical_index import LexicalIndex
from knowledge.store.vector_store import VectorStore

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Plan:
    """What a run would change, before anything is written."""

    added: list[Article]
    updated: list[Article]
    unchanged: int
    removed: list[str]
    hashes: dict[str, str]
    #: Articles a killed run began to write that are in neither the sources nor the catalog.
    orphans: list[str]


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an OS file lock; a second holder fails at once with IndexBusyError."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise CuratorError(
            f"Cannot take the reindex lock {path}: {exc.strerror or exc}. "
            "Check that the data dir (CURATOR_DATA_DIR) is a writable folder."
        ) from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            raise IndexBusyError(
                f"A reindex is already running (pid {holder}); try again when it ends."
            ) from exc
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _protected(origin: str, failures: Sequence[IngestFailure]) -> bool:
    """An article whose source failed to load this time is kept, not treated as deleted."""
    return any(f.path == origin or f.path.startswith(origin) for f in failures if origin)


class Indexer:
    """Writes articles into the catalog, Chroma and BM25 in step."""

    #: Records embedded and written per batch: large enough to batch the embedder and Chroma,
    #: small enough that an interrupted run loses little.
    batch_records = 512

    def __init__(
        self,
        catalog: Catalog,
        vectors: VectorStore,
        lexical: LexicalIndex,
        embedder: Embedder,
        policy: ChunkingPolicy,
        batch_size: int = 32,
    ) -> None:
        self.catalog = catalog
        self.vectors = vectors
        self.lexical = lexical
        self.embedder = embedder
        self.policy = policy
        self.batch_size = batch_size

    def content_hash(self, article: Article) -> str:
        """Changes when the card or the chunking does, so either triggers re-embedding."""
        blob = f"{article.content_hash()}|{self.policy.fingerprint}|{self.embedder.name}"
        return hashlib.sha256(blob.encode()).hexdigest()

    def plan(
        self,
        articles: Sequence[Article],
        failures: Sequence[IngestFailure],
        remove_missing: bool,
    ) -> Plan:
        existing = self.catalog.hashes()
        pending = self.catalog.pending()
        added: list[Article] = []
        updated: list[Article] = []
        unchanged = 0
        hashes: dict[str, str] = {}
        for article in articles:
            h = self.content_hash(article)
            hashes[article.id] = h
            old = existing.get(article.id)
            if old is None:
                added.append(article)
            elif old != h or article.id in pending:
                updated.append(article)
            else:
                unchanged += 1
        removed: list[str] = []
        orphans: list[str] = []
        if remove_missing:
            orphans = sorted(pending - set(hashes) - set(existing))
            origins = self.catalog.origins()
            removed = [
                aid
                for aid in existing
                if aid not in hashes and not _protected(origins.get(aid, ""), failures)
            ]
        return Plan(added, updated, unchanged, removed, hashes, orphans)

    def reconcile(self, progress: Progress | None = None, rebuild: bool = False) -> Repair:
        """Check the vector store against the catalog and repair it from the stored text."""
        repair = reconcile(self.catalog, self.vectors, self.embedder, progress, rebuild=rebuild)
        if repair.relabelled:
            # Filter fields changed (FILTER_SCHEMA): BM25 keeps its own copy of them.
            self.catalog.set_meta("bm25_dirty", "1")
        return repair

    def apply(self, plan: Plan, report: IngestReport, progress: Progress | None = None) -> None:
        """Carry out a plan; counts land in `report` as each step completes."""
        changed = plan.added + plan.updated
        self.catalog.set_meta("bm25_dirty", "1")
        if changed or plan.removed or plan.orphans:
            invalidate(self.catalog)
        # Articles left pending by a killed run may hold vectors of a version never committed.
        leftovers = self.catalog.pending()
        done = 0
        for batch in self._batches(changed):
            self._write_batch(batch, plan.hashes, leftovers)
            done += len(batch)
            if progress:
                progress("embed", done, len(changed))
        report.added += len(plan.added)
        report.updated += len(plan.updated)
        report.unchanged += plan.unchanged

        if plan.orphans:
            self.vectors.delete_articles(plan.orphans)
            still = self.catalog.pending() - set(plan.orphans)
            self.catalog.set_meta("pending", json.dumps(sorted(still)))
        if plan.removed:
            # Marked pending, then gone from the catalog (and so from search), then from Chroma:
            # a kill in between leaves orphans the next run's plan deletes.
            marked = self.catalog.pending() | set(plan.removed)
            self.catalog.set_meta("pending", json.dumps(sorted(marked)))
            self.catalog.remove_articles(plan.removed)
            self.vectors.delete_articles(plan.removed)
            still = self.catalog.pending() - set(plan.removed)
            self.catalog.set_meta("pending", json.dumps(sorted(still)))
            report.removed += len(plan.removed)
            if progress:
                progress("remove", len(plan.removed), len(plan.removed))
        if changed or plan.removed or plan.orphans:
            mark_consistent(self.catalog, self.vectors)
        self.rebuild_lexical(progress)

    def rebuild_lexical(self, progress: Progress | None = None) -> None:
        if progress:
            progress("bm25", 0, 1)
        count = self.lexical.rebuild(self.catalog.iter_chunks())
        self.catalog.set_meta("bm25_dirty", "0")
        log.info("bm25 index rebuilt", extra={"records": count})
        if progress:
            progress("bm25", 1, 1)

    def lexical_is_dirty(self) -> bool:
        return self.catalog.get_meta("bm25_dirty") == "1"

    def _batches(self, articles: Sequence[Article]) -> Iterator[list[tuple[Article, list[Chunk]]]]:
        batch: list[tuple[Article, list[Chunk]]] = []
        size = 0
        for article in articles:
            chunks = chunk_article(article, self.policy)
            batch.append((article, chunks))
            size += len(chunks)
            if size >= self.batch_records:
                yield batch
                batch, size = [], 0
        if batch:
            yield batch

    def _write_batch(
        self,
        batch: Sequence[tuple[Article, list[Chunk]]],
        hashes: dict[str, str],
        leftovers: set[str],
    ) -> None:
        ids = [a.id for a, _ in batch]
        pending = self.catalog.pending() | set(ids)
        self.catalog.set_meta("pending", json.dumps(sorted(pending)))

        chunks = [c for _, cs in batch for c in cs]
        vectors = self.embedder.embed([c.embedding_text() for c in chunks])
        # One upsert for the whole batch: Chroma's per-call cost dwarfs its per-record cost.
        self.vectors.upsert(chunks, vectors)
        stale: list[str] = []
        for article, cs in batch:
            old_ids = set(self.catalog.record_ids(article.id))
            if article.id in leftovers:
                old_ids |= set(self.vectors.ids_of_article(article.id))
            stale += sorted(old_ids - {c.id for c in cs})
        if stale:
            self.vectors.delete(stale)

        now = time.time()
        for article, cs in batch:
            self.catalog.commit_article(article, hashes[article.id], cs, now)
        remaining = pending - set(ids)
        self.catalog.set_meta("pending", json.dumps(sorted(remaining)))
