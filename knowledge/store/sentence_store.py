"""Sentence vectors stored beside the chunks, so extractive answers never embed at question time.

One SQLite row per chunk holds the vectors of its quotable units (knowledge/sentences.py) as one
float16 matrix, with a hash of the chunk text they were computed from. Reads check that hash, so
rows left by an older version of a chunk (chunk ids are reused) are never used: the caller
embeds those units itself. The file lives in the index dir of one embedder's collection.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from knowledge.embeddings.base import Embedder, Vectors
from knowledge.errors import CuratorError
from knowledge.models import Chunk
from knowledge.sentences import UNITS_VERSION, quotable_units

log = logging.getLogger(__name__)

FILE_NAME = "sentences.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sentence_vectors (
    chunk_id TEXT PRIMARY KEY,
    article_id TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    rows INTEGER NOT NULL,
    dim INTEGER NOT NULL,
    vectors BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS sentence_vectors_article ON sentence_vectors(article_id);
"""


def units_hash(text: str) -> str:
    """What a chunk's stored vectors are checked against: its text and the units' version."""
    return hashlib.sha1(f"{UNITS_VERSION}\n{text}".encode()).hexdigest()


def _row(chunk: Chunk, vectors: Vectors) -> tuple[str, str, str, int, int, bytes]:
    matrix = np.asarray(vectors, dtype=np.float16)
    return (
        chunk.id,
        chunk.article_id,
        units_hash(chunk.text),
        int(matrix.shape[0]),
        int(matrix.shape[1]),
        matrix.tobytes(),
    )


class SentenceStore:
    """Vectors of each chunk's quotable units; opened on first use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None

    @classmethod
    def in_dir(cls, index_dir: Path) -> SentenceStore:
        """The store of the collection whose catalog and BM25 live in `index_dir`."""
        return cls(index_dir / FILE_NAME)

    def _connection(self) -> sqlite3.Connection:
        with self._lock:
            if self._conn is None:
                try:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.execute("PRAGMA synchronous=NORMAL")
                    conn.executescript(_SCHEMA)
                except (OSError, sqlite3.Error) as exc:
                    raise CuratorError(
                        f"Cannot open the sentence store {self.path}: {exc}"
                    ) from exc
                self._conn = conn
            return self._conn

    def write(self, chunks: Sequence[Chunk], embedder: Embedder) -> int:
        """Embed the units of every chunk not stored at its current text (and this embedder's
        dimension) in one call and replace their rows; returns units embedded."""
        stored = self._current_rows(chunks, vectors=False)
        current = {cid for cid, _, dim, _ in stored if dim == embedder.dim}
        chunks = [c for c in chunks if c.id not in current]
        units = [[u.text for u in quotable_units(c.text)] for c in chunks]
        flat = [text for texts in units for text in texts]
        vectors = embedder.embed(flat) if flat else np.zeros((0, embedder.dim), np.float32)
        rows = []
        start = 0
        for chunk, texts in zip(chunks, units, strict=True):
            rows.append(_row(chunk, vectors[start : start + len(texts)]))
            start += len(texts)
        self._put_rows(rows)
        return len(flat)

    def _current_rows(
        self, chunks: Iterable[Chunk], *, vectors: bool
    ) -> list[tuple[str, int, int, bytes | None]]:
        """(chunk id, units, dim, vectors blob) of the chunks among `chunks` stored at their
        current text; the blob is read only when `vectors` (else None)."""
        wanted = {c.id: units_hash(c.text) for c in chunks}
        if not wanted:
            return []
        marks = ",".join("?" * len(wanted))
        blob = "vectors" if vectors else "NULL"
        conn = self._connection()
        with self._lock:
            rows = conn.execute(
                f"SELECT chunk_id, text_hash, rows, dim, {blob} FROM sentence_vectors"
                f" WHERE chunk_id IN ({marks})",
                list(wanted),
            ).fetchall()
        return [(cid, n, dim, data) for cid, stored, n, dim, data in rows if stored == wanted[cid]]

    def put(self, chunk: Chunk, vectors: Vectors) -> None:
        """Store one chunk's unit vectors, shape (units, dim), computed elsewhere."""
        self._put_rows([_row(chunk, vectors)])

    def _put_rows(self, rows: Sequence[tuple[str, str, str, int, int, bytes]]) -> None:
        conn = self._connection()
        with self._lock, conn:
            conn.executemany(
                "INSERT OR REPLACE INTO sentence_vectors"
                " (chunk_id, article_id, text_hash, rows, dim, vectors) VALUES (?,?,?,?,?,?)",
                rows,
            )

    def vectors_for(self, chunks: Iterable[Chunk]) -> dict[str, Vectors]:
        """chunk id -> (units, dim) float32 matrix, for chunks stored at their current text."""
        out: dict[str, Vectors] = {}
        for chunk_id, count, dim, blob in self._current_rows(chunks, vectors=True):
            if blob is None or len(blob) != count * dim * 2:
                continue  # a damaged row: the caller embeds these units again
            matrix = np.frombuffer(blob, dtype=np.float16).reshape(count, dim)
            out[chunk_id] = matrix.astype(np.float32)
        return out

    def remove_articles(self, article_ids: Sequence[str]) -> None:
        """Forget every chunk of these articles."""
        if not article_ids:
            return
        conn = self._connection()
        with self._lock, conn:
            conn.executemany(
                "DELETE FROM sentence_vectors WHERE article_id = ?", [(a,) for a in article_ids]
            )

    def count(self) -> int:
        """Chunks with stored vectors."""
        conn = self._connection()
        with self._lock:
            return int(conn.execute("SELECT COUNT(*) FROM sentence_vectors").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
