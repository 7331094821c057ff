"""BM25 over the same chunks as Chroma (bm25s), persisted next to the catalog.

bm25s builds an immutable index, so a reindex rebuilds it from the catalog and swaps it in by
renaming a fully written folder: a reader never sees a half-written index.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import numpy.typing as npt

from knowledge.errors import CuratorError
from knowledge.models import Chunk, SearchFilters, date_to_number
from knowledge.store.filter_keys import filter_key
from knowledge.text import STOP_WORDS, stem_words, words

log = logging.getLogger(__name__)


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop-word-free, stemmed terms (single characters dropped)."""
    return stem_words([w for w in words(text) if len(w) > 1 and w not in STOP_WORDS])


def lexical_text(chunk: Chunk) -> str:
    """What BM25 reads: the title counts, since members often name the article."""
    return f"{chunk.title}\n{chunk.heading}\n{chunk.text}"


@dataclass(frozen=True)
class LexicalMatch:
    id: str
    score: float


class LexicalIndex:
    """A BM25 index plus per-chunk arrays used to filter by topic, publisher and date."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.RLock()
        self._bm25: bm25s.BM25 | None = None
        self._ids: list[str] = []
        self._curated: npt.NDArray[np.int32] = np.zeros(0, dtype=np.int32)
        self._publishers: npt.NDArray[np.int32] = np.zeros(0, dtype=np.int32)
        self._publisher_codes: dict[str, int] = {}
        self._topics: dict[str, npt.NDArray[np.int32]] = {}
        self._loaded_mtime: float | None = None

    # -- building ---------------------------------------------------------------------------

    def rebuild(self, chunks: Iterable[Chunk]) -> int:
        """Build from scratch and swap in atomically; returns the number of chunks."""
        ids: list[str] = []
        corpus: list[list[str]] = []
        curated: list[int] = []
        publishers: list[int] = []
        publisher_codes: dict[str, int] = {}
        topics: dict[str, list[int]] = {}
        for i, chunk in enumerate(chunks):
            ids.append(chunk.id)
            corpus.append(tokenize(lexical_text(chunk)))
            curated.append(chunk.curated)
            code = publisher_codes.setdefault(filter_key(chunk.publisher), len(publisher_codes))
            publishers.append(code)
            for t in chunk.topics:
                topics.setdefault(filter_key(t), []).append(i)

        tmp = self.folder.with_name(self.folder.name + ".tmp")
        try:
            self._write(tmp, ids, corpus, curated, publishers, publisher_codes, topics)
            self._swap_in(tmp)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise CuratorError(
                f"Cannot write the BM25 index in {self.folder.parent}: {exc.strerror or exc}. "
                "The previous index is kept; free space or fix permissions and reindex."
            ) from exc
        return len(ids)

    @staticmethod
    def _write(
        tmp: Path,
        ids: list[str],
        corpus: list[list[str]],
        curated: list[int],
        publishers: list[int],
        publisher_codes: dict[str, int],
        topics: dict[str, list[int]],
    ) -> None:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if ids:
            bm25 = bm25s.BM25()
            bm25.index(corpus, show_progress=False)
            bm25.save(str(tmp / "bm25"), show_progress=False)
        np.save(tmp / "curated.npy", np.asarray(curated, dtype=np.int32))
        np.save(tmp / "publishers.npy", np.asarray(publishers, dtype=np.int32))
        members: dict[str, Any] = {k: np.asarray(v, dtype=np.int32) for k, v in topics.items()}
        np.savez(tmp / "topics.npz", **members)
        (tmp / "meta.json").write_text(
            json.dumps({"ids": ids, "publishers": publisher_codes}), encoding="utf-8"
        )

    def _swap_in(self, tmp: Path) -> None:
        old = self.folder.with_name(self.folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        with self._lock:
            if self.folder.exists():
                os.replace(self.folder, old)
            os.replace(tmp, self.folder)
            self._loaded_mtime = None
        shutil.rmtree(old, ignore_errors=True)

    # -- loading ----------------------------------------------------------------------------

    def _ensure_loaded(self) -> None:
        meta = self.folder / "meta.json"
        try:
            mtime = meta.stat().st_mtime_ns
        except FileNotFoundError:
            self._bm25, self._ids = None, []
            return
        if self._loaded_mtime == mtime:
            return
        # Another process (a reindex) may have swapped a new index in: reload it.
        data = json.loads(meta.read_text(encoding="utf-8"))
        self._ids = list(data["ids"])
        # An index written before the publisher rename names its arrays "sources"; it stays
        # readable until the next reindex rebuilds it.
        old = "publishers" not in data
        self._publisher_codes = dict(data["sources" if old else "publishers"])
        self._curated = np.load(self.folder / "curated.npy")
        self._publishers = np.load(self.folder / ("sources.npy" if old else "publishers.npy"))
        with np.load(self.folder / "topics.npz") as topics:
            self._topics = {k: topics[k] for k in topics.files}
        bm25_dir = self.folder / "bm25"
        self._bm25 = (
            bm25s.BM25.load(str(bm25_dir), mmap=False, show_progress=False)
            if bm25_dir.exists()
            else None
        )
        self._loaded_mtime = mtime

    def __len__(self) -> int:
        with self._lock:
            self._ensure_loaded()
            return len(self._ids)

    def ids(self) -> list[str]:
        """The chunk ids the index holds, in its order (empty before the first build)."""
        with self._lock:
            self._ensure_loaded()
            return list(self._ids)

    # -- searching --------------------------------------------------------------------------

    def _mask(self, filters: SearchFilters) -> npt.NDArray[np.float32]:
        keep = np.ones(len(self._ids), dtype=bool)
        if filters.topic:
            members = self._topics.get(filter_key(filters.topic))
            topic_mask = np.zeros(len(self._ids), dtype=bool)
            if members is not None:
                topic_mask[members] = True
            keep &= topic_mask
        if filters.publisher:
            code = self._publisher_codes.get(filter_key(filters.publisher), -1)
            keep &= self._publishers == code
        if filters.since:
            keep &= self._curated >= date_to_number(filters.since)
        if filters.until:
            keep &= self._curated <= date_to_number(filters.until)
        return keep.astype(np.float32)

    def search(
        self, query: str, n: int, filters: SearchFilters | None = None
    ) -> list[LexicalMatch]:
        """Top `n` chunks by BM25 score (only those that share a term with the query)."""
        with self._lock:
            self._ensure_loaded()
            bm25 = self._bm25
            if bm25 is None or not self._ids:
                return []
            vocab = bm25.vocab_dict
            terms = [t for t in tokenize(query) if t in vocab]
            if not terms:
                return []
            mask = None if filters is None or filters.is_empty() else self._mask(filters)
            scores = bm25.get_scores(terms, weight_mask=mask)
            ids = self._ids
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return [LexicalMatch(ids[i], float(scores[i])) for i in top if scores[i] > 0]
