"""SQLite state in the data dir: digest history, feedback, question log.

Each feature owns its tables and creates them with `StateDB.ensure_schema` before each use (it
runs each schema once per connection); this module hands out connections configured the same
way everywhere, and on opening renames in place what an earlier release named otherwise (as the
catalog does for its own names).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from knowledge.errors import CuratorError
from knowledge.sqlite_renames import rename_in_place


def _renames_due(conn: sqlite3.Connection) -> list[str]:
    """The statements that bring a state database an earlier release wrote to today's names."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(question_log)")}
    # The log's flag always meant "a content gap" (Answer.is_gap), never any refusal.
    if "refused" in columns and "gap" not in columns:
        return ["ALTER TABLE question_log RENAME COLUMN refused TO gap"]
    return []


def _migrate(conn: sqlite3.Connection) -> None:
    """Rename in place what an earlier release named otherwise (nothing is re-embedded)."""
    rename_in_place(conn, _renames_due)


class StateDB:
    """A small wrapper over one SQLite file, safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        #: The schemas run on the open connection (forgotten when it closes).
        self._applied: set[str] = set()

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
                conn.row_factory = sqlite3.Row
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA foreign_keys=ON")
                _migrate(conn)
            except (OSError, sqlite3.Error) as exc:
                raise CuratorError(f"Cannot open the state database {self.path}: {exc}") from exc
            self._conn = conn
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A connection inside one transaction: committed on success, rolled back on error."""
        with self._lock:
            conn = self._connect()
            try:
                with conn:
                    yield conn
            except sqlite3.OperationalError as exc:
                raise CuratorError(f"The state database {self.path} failed: {exc}") from exc

    def ensure_schema(self, ddl: str) -> None:
        """Create tables and indexes if they are missing (idempotent DDL); cheap to call before
        every use, since each schema runs once per connection."""
        with self._lock:
            if ddl in self._applied:
                return
            with self.transaction() as conn:
                conn.executescript(ddl)
            self._applied.add(ddl)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            self._applied.clear()
