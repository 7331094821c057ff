"""Which collection the index serves, and which embedder built it.

`data/index/<prefix>.active.json` names the active build: its embedder and its collection (the
Chroma collection and the folder under data/index holding its catalog and BM25 index). Start-up
reads it to keep serving that build; when the configured embedder differs, the index re-embeds
the build's stored text into a new collection and only then rewrites this file.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from knowledge.errors import CuratorError
from knowledge.store.catalog import chunk_table
from knowledge.store.vector_store import collection_name, legacy_collection_name


@dataclass(frozen=True)
class BuildRecord:
    """One build: the embedder's name, its collection, and (openai) the model it called."""

    embedder: str
    collection: str
    model: str = ""

    @classmethod
    def from_json(cls, data: object) -> BuildRecord:
        """The record `asdict` wrote; KeyError or TypeError when `data` is not one."""
        if not isinstance(data, dict):
            raise TypeError("a build record is a JSON object")
        return cls(str(data["embedder"]), str(data["collection"]), str(data.get("model", "")))


@contextlib.contextmanager
def _read_only(path: Path) -> Iterator[sqlite3.Connection]:
    """The catalog file at `path`, opened read-only (sqlite3.Error when it cannot be)."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
        yield db


def catalog_counts(path: Path) -> tuple[int, int]:
    """(articles, chunks) in the catalog file at `path`, read-only; zeros when absent."""
    if not path.exists():
        return 0, 0
    try:
        with _read_only(path) as db:
            articles = int(db.execute("SELECT count(*) FROM articles").fetchone()[0])
            # Another build's catalog may not have been opened by this release yet.
            table = chunk_table(db)
            chunks = int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    except sqlite3.Error:
        return 0, 0
    return articles, chunks


def catalog_build(path: Path) -> BuildRecord | None:
    """The build a catalog says it belongs to (its `build` meta), read-only; None if unsaid."""
    if not path.exists():
        return None
    try:
        with _read_only(path) as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'build'").fetchone()
        return BuildRecord.from_json(json.loads(row[0])) if row else None
    except (sqlite3.Error, ValueError, KeyError, TypeError):
        return None


def catalog_articles(path: Path) -> int:
    """Articles in the catalog file at `path`, read-only; 0 when absent or unreadable."""
    # Not catalog_counts: counting the chunks scans the largest table, for nothing here.
    if not path.exists():
        return 0
    try:
        with _read_only(path) as db:
            return int(db.execute("SELECT count(*) FROM articles").fetchone()[0])
    except sqlite3.Error:
        return 0


class BuildRegistry:
    """The active build of one collection prefix in one data dir."""

    def __init__(self, data_dir: Path, prefix: str) -> None:
        self.root = data_dir / "index"
        self.prefix = prefix
        self.path = self.root / f"{prefix}.active.json"

    def folder(self, collection: str) -> Path:
        """Where a build's catalog and BM25 index live."""
        return self.root / collection

    def articles(self, collection: str) -> int:
        """Articles the build's catalog holds (0 when it has none or does not exist)."""
        return catalog_articles(self.folder(collection) / "catalog.sqlite3")

    def read(self) -> BuildRecord | None:
        """The recorded active build, or None when nothing was recorded (or it is unreadable)."""
        try:
            return BuildRecord.from_json(json.loads(self.path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            # A damaged record must not take the index down: the folders still say enough.
            return None

    def write(self, record: BuildRecord) -> None:
        """Make `record` the active build, atomically (readers see the old or the new one)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=self.root, prefix=".active-", suffix=".json")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(asdict(record), out)
            os.replace(temp, self.path)
        except OSError as exc:
            raise CuratorError(
                f"Cannot record the active index in {self.path}: {exc.strerror or exc}"
            ) from exc

    def stamp(self) -> int | None:
        """Changes whenever the record is rewritten (by this or another process)."""
        try:
            return self.path.stat().st_mtime_ns
        except OSError:
            return None

    def adopt_legacy(self, embedder_names: list[str]) -> BuildRecord | None:
        """With no record: a build that holds articles, to keep serving it.

        First an earlier release's build (named without a hash) of one of `embedder_names`,
        then any build whose catalog names its embedder (the record was lost), preferring the
        first of `embedder_names`, else the one with the most articles."""
        for name in embedder_names:
            collection = legacy_collection_name(self.prefix, name)
            if self.articles(collection) > 0:
                return BuildRecord(embedder=name, collection=collection)
        described = []
        for collection, count in self.others_with_articles(""):
            record = catalog_build(self.folder(collection) / "catalog.sqlite3")
            if record is not None and record.collection == collection:
                described.append((record.embedder in embedder_names[:1], count, record))
        if not described:
            return None
        return max(described, key=lambda item: (item[0], item[1]))[2]

    def served(self, record: BuildRecord | None, configured: str) -> tuple[str, str]:
        """(collection, embedder name) to serve: the recorded build while it is the configured
        embedder's or holds articles (until a re-embed replaces it), else the configured
        embedder's own collection."""
        if record is not None and (
            record.embedder == configured or self.articles(record.collection) > 0
        ):
            return record.collection, record.embedder
        return collection_name(self.prefix, configured), configured

    def others_with_articles(self, collection: str) -> list[tuple[str, int]]:
        """Other builds of this prefix that hold articles: (collection, articles)."""
        found: list[tuple[str, int]] = []
        if not self.root.is_dir():
            return found
        for folder in sorted(self.root.iterdir()):
            if folder.name == collection or not folder.name.startswith(f"{self.prefix}-"):
                continue
            count = catalog_articles(folder / "catalog.sqlite3")
            if count:
                found.append((folder.name, count))
        return found
