"""Keeps the vector store in step with the catalog, which search trusts.

Every completed write leaves the same random epoch in the catalog and in the collection's
metadata, with the collection's id. When all three still agree and the counts match, the store
is trusted (a few cheap calls). Otherwise, because the store was deleted, recreated on an empty
server, restored from an older backup or left half-written, every catalog chunk is compared in
batches with what the store holds (present, and built from the same text: each vector carries
the hash of its text), and the store is repaired from the catalog's stored text: missing and
stale chunks re-embedded, chunks the catalog does not know deleted. No source is re-read.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from knowledge.embeddings.base import Embedder
from knowledge.models import Chunk
from knowledge.store.catalog import Catalog
from knowledge.store.filter_keys import FILTER_SCHEMA
from knowledge.store.vector_store import VectorStore, text_hash

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]

#: Chunks compared (and re-embedded) per round trip to the store.
BATCH = 1000
_EPOCH = "store_epoch"
_COLLECTION = "collection_id"


@dataclass
class Repair:
    """What a consistency check found and fixed, in chunks."""

    checked: bool = False  # the full comparison ran (the cheap marks did not agree)
    missing: int = 0  # catalog chunks the store lacked: embedded
    stale: int = 0  # vectors built from other text than the catalog's: embedded again
    extra: int = 0  # vectors of chunks the catalog does not hold: deleted
    relabelled: int = 0  # filter metadata rewritten in place (no embedding)

    @property
    def repaired(self) -> int:
        """Chunks whose vector was added, replaced or removed."""
        return self.missing + self.stale + self.extra


def invalidate(catalog: Catalog) -> None:
    """Say a write has begun: until `mark_consistent`, the next run checks in full."""
    catalog.set_meta(_EPOCH, "")


def mark_consistent(catalog: Catalog, vectors: VectorStore) -> None:
    """Record that the store now matches the catalog: a fresh epoch in both."""
    epoch = uuid.uuid4().hex
    vectors.set_marks(epoch, FILTER_SCHEMA)
    catalog.set_meta(_COLLECTION, vectors.collection_id)
    catalog.set_meta(_EPOCH, epoch)


def marks_agree(catalog: Catalog, vectors: VectorStore) -> bool:
    """The cheap check: same collection, same epoch, current filter schema, equal counts."""
    epoch = catalog.get_meta(_EPOCH)
    if not epoch or catalog.get_meta(_COLLECTION) != vectors.collection_id:
        return False
    if vectors.marks() != (epoch, FILTER_SCHEMA):
        return False
    return not catalog.pending() and vectors.count() == catalog.chunk_count()


def reconcile(
    catalog: Catalog,
    vectors: VectorStore,
    embedder: Embedder,
    progress: Progress | None = None,
    *,
    rebuild: bool = False,
) -> Repair:
    """Check the store against the catalog and repair it; `rebuild` re-embeds everything."""
    if rebuild:
        vectors.reset()
    elif marks_agree(catalog, vectors):
        return Repair()
    invalidate(catalog)
    _, schema = vectors.marks()
    repair = Repair(checked=True)
    pending = catalog.pending()
    total = catalog.chunk_count()
    done = 0
    batch: list[Chunk] = []
    for chunk in catalog.iter_chunks():
        # A pending article's vectors may be of a version never committed: the plan redoes it.
        if chunk.article_id in pending:
            continue
        batch.append(chunk)
        if len(batch) >= BATCH:
            _compare(batch, vectors, embedder, repair, schema)
            done += len(batch)
            batch = []
            if progress:
                progress("repair", done, total)
    if batch:
        _compare(batch, vectors, embedder, repair, schema)
    if progress:
        progress("repair", total, total)
    repair.extra = _delete_extras(catalog, vectors, pending)
    mark_consistent(catalog, vectors)
    if rebuild:
        # Asked for: every chunk re-embedded into an emptied store is no repair.
        log.info("vector store rebuilt from the catalog: %d chunks re-embedded", repair.missing)
    elif repair.repaired:
        log.warning(
            "vector store repaired from the catalog: %d missing, %d stale, %d extra "
            "(re-embedded or deleted), %d relabelled",
            repair.missing,
            repair.stale,
            repair.extra,
            repair.relabelled,
        )
    elif repair.relabelled:
        # What a FILTER_SCHEMA bump asks for after an upgrade: no damage, nothing embedded.
        log.info("vector store filter fields relabelled in place: %d chunks", repair.relabelled)
    return repair


def _compare(
    batch: list[Chunk],
    vectors: VectorStore,
    embedder: Embedder,
    repair: Repair,
    schema: int | None,
) -> None:
    stored = vectors.hashes_of([c.id for c in batch])
    embed: list[Chunk] = []
    relabel: list[Chunk] = []
    for chunk in batch:
        held = stored.get(chunk.id)
        if held is None:
            repair.missing += 1
            embed.append(chunk)
        elif held == "":
            # Written before vectors carried their text hash: nothing to compare with, so
            # trusted once and labelled (the same trust every earlier release gave it).
            relabel.append(chunk)
        elif held != text_hash(chunk):
            repair.stale += 1
            embed.append(chunk)
        elif schema != FILTER_SCHEMA:
            relabel.append(chunk)
    if embed:
        vectors.upsert(embed, embedder.embed([c.embedding_text() for c in embed]))
    if relabel:
        vectors.update_metadata(relabel)
        repair.relabelled += len(relabel)


def _delete_extras(catalog: Catalog, vectors: VectorStore, pending: set[str]) -> int:
    """Delete vectors of chunks the catalog does not hold (pending articles excepted)."""
    if vectors.count() <= catalog.chunk_count() and not pending:
        return 0
    unknown: list[str] = []
    for ids in vectors.iter_ids():
        known = catalog.articles_of(ids)
        unknown += [i for i in ids if i not in known]
    extras: list[str] = []
    for start in range(0, len(unknown), BATCH):
        owners = vectors.article_ids_of(unknown[start : start + BATCH])
        extras += [i for i, aid in owners.items() if aid not in pending]
    if extras:
        vectors.delete(extras)
    return len(extras)
