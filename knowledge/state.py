"""SQLite state in the data dir: digest history, feedback, question log.

Each feature owns its tables and creates them with `StateDB.ensure_schema` before each use (it
runs each schema once per connection); this module only hands out connections configured the
same way everywhere.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from knowledge.errors import CuratorError


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
