"""StateDB: one connection shared by the features, each creating its tables on first use."""

from __future__ import annotations

from pathlib import Path

from knowledge.state import StateDB

# Not idempotent on purpose: the row count says how often the schema ran.
COUNTED = """
CREATE TABLE IF NOT EXISTS runs (n INTEGER);
INSERT INTO runs VALUES (1);
"""


def runs(state: StateDB) -> int:
    with state.transaction() as conn:
        return int(conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])


def test_a_schema_runs_once_per_connection(tmp_path: Path) -> None:
    state = StateDB(tmp_path / "state.sqlite3")
    try:
        for _ in range(3):
            state.ensure_schema(COUNTED)
        assert runs(state) == 1
        state.close()
        # A new connection checks again (the file may have been replaced meanwhile).
        state.ensure_schema(COUNTED)
        state.ensure_schema(COUNTED)
        assert runs(state) == 2
    finally:
        state.close()


def test_a_schema_is_made_again_when_the_file_was_replaced(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    state = StateDB(path)
    state.ensure_schema(COUNTED)
    state.close()
    path.unlink()
    try:
        state.ensure_schema(COUNTED)
        assert runs(state) == 1
    finally:
        state.close()
