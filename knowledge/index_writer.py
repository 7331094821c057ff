"""Incremental indexing: embed what changed, replace it, remove what is gone.

Order of writes per batch, chosen so a kill at any point is harmless:
1. the batch's article ids are written to the catalog as `pending`;
2. vectors are upserted into Chroma (stable ids) and leftovers of older versions deleted;
3. the catalog commits the new chunks and hash in one transaction; `pending` is cleared.
Chroma and the catalog can only disagree about an article while it is pending, so search drops
dense hits of pending articles and returns only chunks the catalog holds: vectors from an
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
import logging
import os
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from knowledge.chunking import ChunkingPolicy, chunk_article
from knowledge.embeddings.base import Embedder, Vectors
from knowledge.errors import CuratorError, IndexBusyError
from knowledge.models import Article, Chunk, IngestFailure, IngestReport
from knowledge.store.catalog import Catalog
from knowledge.store.consistency import Repair, invalidate, mark_consistent, reconcile
from knowledge.store.embedded_lock import read_holder
from knowledge.store.lexical_index import LexicalIndex
from knowledge.store.sentence_store import SentenceStore
from knowledge.store.vector_store import StoredState, VectorStore
from knowledge.url_credentials import without_url_credentials

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]

#: What each progress stage does, in words every front end shows (CLI bars, Discord status).
STAGE_LABELS: dict[str, str] = {
    "load": "reading sources",
    "embed": "embedding",
    "remove": "removing",
    "bm25": "rebuilding the keyword index",
    "reembed": "re-embedding the stored text for the new embedder",
    "repair": "checking the vectors against the catalog",
}


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
    #: Where each article came from that replaces a version indexed without a link.
    replacing: list[str] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        """Whether carrying the plan out writes any article (the BM25 rebuild aside)."""
        return bool(self.added or self.updated or self.removed or self.orphans)


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
            holder = read_holder(fd) or "another process"
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
    if not origin:
        return False
    # Failures name a URL with its credentials hidden; the article's origin has them.
    shown = without_url_credentials(origin)
    return any(f.path.startswith(shown) for f in failures)


class Indexer:
    """Writes articles into the catalog, Chroma and BM25 in step."""

    #: Chunks embedded and written per batch: large enough to batch the embedder and Chroma,
    #: small enough that an interrupted run loses little.
    batch_chunks = 512

    def __init__(
        self,
        catalog: Catalog,
        vectors: VectorStore,
        lexical: LexicalIndex,
        sentences: SentenceStore,
        embedder: Embedder,
        policy: ChunkingPolicy,
        batch_size: int = 32,
    ) -> None:
        self.catalog = catalog
        self.vectors = vectors
        self.lexical = lexical
        # Hook (answers): sentence vectors for extractive answers, kept with the chunks.
        self.sentences = sentences
        self.embedder = embedder
        self.policy = policy
        self.batch_size = batch_size

    def index_hash(self, article: Article) -> str:
        """The article as indexed: its content_hash, the chunking and the embedder, so a change
        to any of them triggers re-embedding (stored as the catalog's content_hash column)."""
        blob = f"{article.content_hash()}|{self.policy.fingerprint}|{self.embedder.name}"
        return hashlib.sha256(blob.encode()).hexdigest()

    def dated(
        self, articles: Sequence[Article], existing: Collection[str], now: datetime
    ) -> list[Article]:
        """Every article with a curated date: its own, else when the index first saw it.

        First seen means first: an article already indexed keeps the date it was given then
        (also when a version with a link replaces one without).
        """
        result: list[Article] = []
        for article in articles:
            if article.curated is None:
                earlier = self._first_dated(article, existing)
                if earlier is not None:
                    update = {
                        "curated": earlier.curated,
                        "curated_is_date": earlier.curated_is_date,
                    }
                else:
                    update = {"curated": now, "curated_is_date": False}
                article = article.model_copy(update=update)
            result.append(article)
        return result

    def _lost_its_text(self, article: Article, failures: Sequence[IngestFailure]) -> bool:
        """Whether `article` is a card whose paired text was indexed but failed to load now."""
        if article.body or not failures:
            return False
        earlier = self.catalog.get_article(article.id)
        return (
            earlier is not None
            and bool(earlier.body and earlier.text_origin)
            and _protected(earlier.text_origin, failures)
        )

    def _first_dated(self, article: Article, existing: Collection[str]) -> Article | None:
        """The indexed version of `article` (with or without its link) that has a curated date."""
        for aid in dict.fromkeys((article.id, article.unlinked_id)):
            if aid in existing:
                earlier = self.catalog.get_article(aid)
                if earlier is not None and earlier.curated is not None:
                    return earlier
        return None

    def plan(
        self,
        articles: Sequence[Article],
        failures: Sequence[IngestFailure],
        remove_missing: bool,
        now: datetime | None = None,
    ) -> Plan:
        """What a run over `articles` would change; undated articles get their first-seen time."""
        existing = self.catalog.hashes()
        pending = self.catalog.pending()
        moment = (now or datetime.now(UTC)).replace(microsecond=0)
        articles = self.dated(articles, existing, moment)
        added: list[Article] = []
        updated: list[Article] = []
        unchanged = 0
        hashes: dict[str, str] = {}
        for article in articles:
            h = self.index_hash(article)
            hashes[article.id] = h
            old = existing.get(article.id)
            if old is not None and old != h and self._lost_its_text(article, failures):
                # The card loaded but its text failed to: keep the indexed pair (a card edit
                # waits until the text loads again).
                hashes[article.id] = old
                unchanged += 1
                continue
            if old is None:
                added.append(article)
            elif old != h or article.id in pending:
                updated.append(article)
            else:
                unchanged += 1
        # A version with a link replaces the one indexed without (same title and publisher).
        replacing = {
            a.unlinked_id: a.origin
            for a in articles
            if a.url and a.unlinked_id in existing and a.unlinked_id not in hashes
        }
        removed: list[str] = sorted(replacing)
        orphans: list[str] = []
        if remove_missing:
            orphans = sorted(pending - set(hashes) - set(existing))
            origins = self.catalog.origins()
            removed += [
                aid
                for aid in existing
                if aid not in hashes
                and aid not in removed
                and not _protected(origins.get(aid, ""), failures)
            ]
        return Plan(added, updated, unchanged, removed, hashes, orphans, list(replacing.values()))

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
        if plan.changes:
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
            self.catalog.set_pending(still)
        if plan.removed:
            # Marked pending, then gone from the catalog (and so from search), then from Chroma:
            # a kill in between leaves orphans the next run's plan deletes.
            marked = self.catalog.pending() | set(plan.removed)
            self.catalog.set_pending(marked)
            self.catalog.remove_articles(plan.removed)
            self.vectors.delete_articles(plan.removed)
            still = self.catalog.pending() - set(plan.removed)
            self.catalog.set_pending(still)
            self.sentences.remove_articles(plan.removed)  # hook (answers)
            report.removed += len(plan.removed)
            if progress:
                progress("remove", len(plan.removed), len(plan.removed))
        if plan.changes:
            mark_consistent(self.catalog, self.vectors)
        self.rebuild_lexical(progress)

    def rebuild_lexical(self, progress: Progress | None = None) -> None:
        if progress:
            progress("bm25", 0, 1)
        count = self.lexical.rebuild(self.catalog.iter_chunks())
        self.catalog.set_meta("bm25_dirty", "0")
        log.info("bm25 index rebuilt", extra={"chunks": count})
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
            if size >= self.batch_chunks:
                yield batch
                batch, size = [], 0
        if batch:
            yield batch

    def _vectors_for(self, chunks: Sequence[Chunk], stored: StoredState) -> Vectors:
        """(len(chunks), dim) vectors: the stored one where a chunk's text is unchanged, the
        embedder's for the rest (in one call).

        A card edit that leaves most chunks as they were (a new topic, a fixed date) or a
        chunker change that moves only some articles' chunks costs embedding for what changed
        only.
        """
        out = np.zeros((len(chunks), self.embedder.dim), np.float32)
        fresh = [n for n, c in enumerate(chunks) if c.id not in stored.vectors]
        if fresh:
            out[fresh] = self.embedder.embed([chunks[n].embedding_text() for n in fresh])
        for n, chunk in enumerate(chunks):
            if chunk.id in stored.vectors:
                out[n] = stored.vectors[chunk.id]
        return out

    def _write_batch(
        self,
        batch: Sequence[tuple[Article, list[Chunk]]],
        hashes: dict[str, str],
        leftovers: set[str],
    ) -> None:
        ids = [a.id for a, _ in batch]
        pending = self.catalog.pending() | set(ids)
        self.catalog.set_pending(pending)

        chunks = [c for _, cs in batch for c in cs]
        stale: list[str] = []
        known: list[Chunk] = []  # chunks of articles the store already held vectors for
        for article, cs in batch:
            old_ids = set(self.catalog.chunk_ids(article.id))
            if article.id in leftovers:
                old_ids |= set(self.vectors.ids_of_article(article.id))
            stale += sorted(old_ids - {c.id for c in cs})
            if old_ids:
                known += cs
        # One upsert for the whole batch (Chroma's per-call cost dwarfs its per-chunk cost); it
        # replaces each chunk's metadata whole, so a topic dropped from a card is gone too.
        # Only chunks of articles the store held are looked up: a new article has none there.
        stored = self.vectors.stored_state(known)
        self.vectors.upsert(chunks, self._vectors_for(chunks, stored), stored.keys)
        if stale:
            self.vectors.delete(stale)

        now = time.time()
        for article, cs in batch:
            self.catalog.commit_article(article, hashes[article.id], cs, now)
        remaining = pending - set(ids)
        self.catalog.set_pending(remaining)
        # Hook (answers): sentence vectors of the committed chunks, for extractive answers; a
        # chunk without them is embedded at question time instead, so a failure here is no loss.
        try:
            self.sentences.write(chunks, self.embedder)
        except Exception:
            log.warning("sentence vectors not stored for this batch", exc_info=True)
