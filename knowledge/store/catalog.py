"""The catalog: which articles are indexed, at which content hash, with which chunks.

Search trusts it over the other stores. A chunk is only returned when the catalog holds it at its
article's committed hash, so vectors or BM25 entries written by an interrupted reindex are never
shown, and the next reindex finishes the job.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from knowledge.errors import CuratorError
from knowledge.models import Article, Chunk
from knowledge.sqlite_renames import rename_in_place
from knowledge.store.filter_keys import filter_key

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    title TEXT NOT NULL,
    publisher TEXT NOT NULL DEFAULT '',
    curated_ts REAL,
    topics TEXT NOT NULL DEFAULT '[]',
    content_hash TEXT NOT NULL,
    card TEXT NOT NULL,
    origin TEXT NOT NULL DEFAULT '',
    indexed_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_curated ON articles(curated_ts);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    chunk TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
-- Covers articles_of(), which every search runs on ~100 candidate ids: answered from this
-- narrow index alone (~60 bytes a chunk, cache-resident), never from the wide rows holding the
-- chunk text (10 ms per search at 1M chunks when those rows are not in the OS cache).
CREATE INDEX IF NOT EXISTS chunks_article_of ON chunks(id, article_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def chunk_table(conn: sqlite3.Connection) -> str:
    """The table holding the chunks: `chunks`, or `records` in a catalog an earlier release
    wrote and no process of this one has opened for writing yet."""
    found = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('chunks', 'records')"
    ).fetchall()
    names = {row[0] for row in found}
    return "records" if names == {"records"} else "chunks"


def _renames_due(conn: sqlite3.Connection) -> list[str]:
    """The statements that bring a catalog written by an earlier release to today's names."""
    due = []
    if "source" in _columns(conn, "articles"):
        due.append("ALTER TABLE articles RENAME COLUMN source TO publisher")
    if chunk_table(conn) == "records":
        # SQLite cannot rename an index: the old ones go, and _SCHEMA builds them anew under
        # their new names (a few seconds per million chunks, once).
        due += [
            "ALTER TABLE records RENAME TO chunks",
            "DROP INDEX IF EXISTS records_article",
            "DROP INDEX IF EXISTS records_article_of",
        ]
    return due


def _migrate(conn: sqlite3.Connection) -> None:
    """Rename in place what an earlier release named otherwise (nothing is re-embedded)."""
    rename_in_place(conn, _renames_due)


def connect(path: Path) -> sqlite3.Connection:
    """A connection to the catalog file at `path`, tuned as Catalog reads it, schema untouched
    (benchmarks time other queries on the same footing); sqlite3.Error when it cannot open."""
    conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    # Search reads scattered rows; a larger page cache and mmap keep them warm.
    conn.execute("PRAGMA cache_size=-65536")
    conn.execute("PRAGMA mmap_size=268435456")
    return conn


class Catalog:
    """SQLite file next to the indexes of one embedder's collection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = connect(path)
            _migrate(self._conn)
            self._conn.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise CuratorError(f"Cannot open the catalog {path}: {exc}") from exc

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                with self._conn:
                    yield self._conn
            except sqlite3.OperationalError as exc:
                raise CuratorError(f"The catalog {self.path} could not be written: {exc}") from exc

    # -- articles ---------------------------------------------------------------------------

    def hashes(self) -> dict[str, str]:
        """article id -> committed content hash."""
        with self._lock:
            rows = self._conn.execute("SELECT id, content_hash FROM articles").fetchall()
        return {r[0]: r[1] for r in rows}

    def origins(self) -> dict[str, str]:
        """article id -> the source (file, folder or URL) it was read from."""
        with self._lock:
            rows = self._conn.execute("SELECT id, origin FROM articles").fetchall()
        return {r[0]: r[1] for r in rows}

    def chunk_ids(self, article_id: str) -> list[str]:
        """The committed chunk ids of an article, in reading order ([] when unknown)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id FROM chunks WHERE article_id = ? ORDER BY position", (article_id,)
            ).fetchall()
        return [r[0] for r in rows]

    def commit_article(
        self, article: Article, content_hash: str, chunks: Sequence[Chunk], when: float
    ) -> None:
        """Make an article's new chunks the ones search returns, in one transaction."""
        curated = article.curated.timestamp() if article.curated else None
        with self._tx() as conn:
            conn.execute("DELETE FROM chunks WHERE article_id = ?", (article.id,))
            conn.execute(
                "INSERT OR REPLACE INTO articles"
                " (id, url, title, publisher, curated_ts, topics, content_hash, card, origin,"
                " indexed_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    article.id,
                    article.url,
                    article.title,
                    article.publisher,
                    curated,
                    json.dumps(article.topics),
                    content_hash,
                    article.model_dump_json(),
                    article.origin,
                    when,
                ),
            )
            conn.executemany(
                "INSERT INTO chunks (id, article_id, position, chunk) VALUES (?,?,?,?)",
                [(c.id, c.article_id, c.position, c.model_dump_json()) for c in chunks],
            )

    def remove_articles(self, article_ids: Iterable[str]) -> None:
        """Forget these articles and their chunks, in one transaction."""
        with self._tx() as conn:
            conn.executemany("DELETE FROM articles WHERE id = ?", [(a,) for a in article_ids])

    def get_article(self, article_id: str) -> Article | None:
        """The stored article, or None when the catalog does not hold it."""
        with self._lock:
            row = self._conn.execute(
                "SELECT card FROM articles WHERE id = ?", (article_id,)
            ).fetchone()
        return Article.model_validate_json(row[0]) if row else None

    def list_articles(
        self,
        topic: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Article]:
        """Articles by curated time, newest first; `since` inclusive, `until` exclusive."""
        sql = "SELECT card, topics FROM articles WHERE 1=1"
        args: list[object] = []
        if since is not None:
            sql += " AND curated_ts >= ?"
            args.append(since.timestamp())
        if until is not None:
            sql += " AND curated_ts < ?"
            args.append(until.timestamp())
        sql += " ORDER BY curated_ts IS NULL, curated_ts DESC, title"
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        wanted = filter_key(topic) if topic else None
        return [
            Article.model_validate_json(card)
            for card, topics in rows
            if wanted is None or wanted in (filter_key(t) for t in json.loads(topics))
        ]

    def topics(self) -> list[tuple[str, int]]:
        """Every topic with its number of articles, most used first."""
        counts: dict[str, int] = {}
        with self._lock:
            rows = self._conn.execute("SELECT topics FROM articles").fetchall()
        for (topics,) in rows:
            for t in json.loads(topics):
                counts[t] = counts.get(t, 0) + 1
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    def publishers(self) -> list[str]:
        """Every non-empty publisher in the catalog, sorted."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT DISTINCT publisher FROM articles WHERE publisher != '' ORDER BY publisher"
            ).fetchall()
        return [r[0] for r in rows]

    def article_count(self) -> int:
        """Articles committed."""
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0])

    # -- chunks -----------------------------------------------------------------------------

    def chunk_count(self) -> int:
        """Chunks committed, over every article."""
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def articles_of(self, ids: Sequence[str]) -> dict[str, str]:
        """chunk id -> article id, for the committed chunks among `ids`."""
        found: dict[str, str] = {}
        with self._lock:
            for start in range(0, len(ids), 500):
                batch = list(ids[start : start + 500])
                marks = ",".join("?" * len(batch))
                found.update(
                    self._conn.execute(
                        "SELECT id, article_id FROM chunks INDEXED BY chunks_article_of "
                        f"WHERE id IN ({marks})",
                        batch,
                    ).fetchall()
                )
        return found

    def chunks_by_id(self, ids: Sequence[str]) -> dict[str, Chunk]:
        """The committed chunks among `ids`."""
        return {rid: Chunk.model_validate_json(raw) for rid, raw in self.chunk_json(ids).items()}

    def chunk_json(self, ids: Sequence[str]) -> dict[str, str]:
        """chunk id -> the chunk's stored JSON, unparsed, for the committed chunks among `ids`
        (what `chunks_by_id` parses; benchmarks time the two steps apart)."""
        found: dict[str, str] = {}
        with self._lock:
            for start in range(0, len(ids), 500):
                batch = list(ids[start : start + 500])
                marks = ",".join("?" * len(batch))
                found.update(
                    self._conn.execute(
                        f"SELECT id, chunk FROM chunks WHERE id IN ({marks})", batch
                    ).fetchall()
                )
        return found

    def pending(self) -> set[str]:
        """Articles a reindex has begun to write and not yet committed."""
        return set(json.loads(self.get_meta("pending") or "[]"))

    def set_pending(self, article_ids: Iterable[str]) -> None:
        """Record which articles a reindex has begun to write (replacing the earlier set)."""
        self.set_meta("pending", json.dumps(sorted(article_ids)))

    def iter_chunks(self, batch: int = 5000) -> Iterator[Chunk]:
        """Every committed chunk, in a stable order (for rebuilding the BM25 index)."""
        last = ""
        while True:
            with self._lock:
                rows = self._conn.execute(
                    "SELECT id, chunk FROM chunks WHERE id > ? ORDER BY id LIMIT ?", (last, batch)
                ).fetchall()
            if not rows:
                return
            for _, chunk in rows:
                yield Chunk.model_validate_json(chunk)
            last = rows[-1][0]

    # -- meta -------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        """A bookkeeping value (consistency marks, pending articles…), None when unset."""
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        """Store a bookkeeping value, replacing the old one."""
        with self._tx() as conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def close(self) -> None:
        with self._lock:
            self._conn.close()
