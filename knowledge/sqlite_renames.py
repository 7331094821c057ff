"""Renaming tables and columns of a SQLite file in place, once, when a process opens it."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

#: Reads a connection's schema and returns the ALTER statements still to run ([] when none).
RenamesDue = Callable[[sqlite3.Connection], list[str]]


def rename_in_place(conn: sqlite3.Connection, renames_due: RenamesDue) -> None:
    """Run what `renames_due` says is due, in one transaction; no row is rewritten.

    Asked again under the write lock (BEGIN IMMEDIATE), as another process may be opening the
    same file and have renamed it first; on any error the transaction is rolled back and the
    error raised."""
    if not renames_due(conn):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in renames_due(conn):
            conn.execute(statement)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
