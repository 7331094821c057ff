"""QuestionLog: every question with guild, hashed user, outcome and latency."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from knowledge.question_log import LoggedQuestion, QuestionLog
from knowledge.state import StateDB


def test_questions_are_logged_and_filtered(tmp_path: Path) -> None:
    now = datetime(2025, 6, 1, 12, tzinfo=UTC).timestamp()
    log = QuestionLog(StateDB(tmp_path / "state.sqlite3"), clock=lambda: now)
    old = datetime(2025, 5, 1, tzinfo=UTC)
    log.record(LoggedQuestion(question="old", user_hash="u", gap=True, mode="llm", asked_at=old))
    log.record(
        LoggedQuestion(
            question="recent gap",
            guild_id=1,
            user_hash="u",
            gap=True,
            mode="extractive",
            latency_ms=812.5,
            answer_id="a1",
            asked_at=datetime(2025, 6, 1, tzinfo=UTC),
        )
    )
    log.record(
        LoggedQuestion(
            question="recent answered",
            guild_id=2,
            user_hash="v",
            gap=False,
            mode="llm",
            asked_at=datetime(2025, 6, 1, 6, tzinfo=UTC),
        )
    )

    recent = log.since(7)
    assert [q.question for q in recent] == ["recent answered", "recent gap"]
    assert [q.question for q in log.since(7, guild_id=1)] == ["recent gap"]
    assert [q.question for q in log.since(60, gaps_only=True)] == ["recent gap", "old"]
    gap = log.since(7, gaps_only=True)[0]
    assert gap.latency_ms == 812.5 and gap.answer_id == "a1" and gap.guild_id == 1


# The table as releases before the rename wrote it: the gap flag was called `refused`.
_OLD_SCHEMA = """
CREATE TABLE question_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    asked_at REAL NOT NULL,
    guild_id INTEGER,
    user_hash TEXT NOT NULL,
    question TEXT NOT NULL,
    refused INTEGER NOT NULL,
    mode TEXT NOT NULL,
    latency_ms REAL NOT NULL,
    answer_id TEXT
);
CREATE INDEX question_log_asked_at ON question_log (asked_at);
"""


def test_a_state_database_from_before_the_rename_keeps_its_gaps(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    now = datetime(2025, 6, 1, 12, tzinfo=UTC).timestamp()
    with closing(sqlite3.connect(path)) as old, old:
        old.executescript(_OLD_SCHEMA)
        old.executemany(
            "INSERT INTO question_log (asked_at, guild_id, user_hash, question, refused, mode,"
            " latency_ms, answer_id) VALUES (?, 1, 'u', ?, ?, 'llm', 5.0, NULL)",
            [(now - 60, "Volcanoes?", 1), (now - 30, "Covered", 0)],
        )

    # Two processes opening the same old file: one renames, the other finds it done.
    first, second = StateDB(path), StateDB(path)
    try:
        log = QuestionLog(first, clock=lambda: now)
        assert [(q.question, q.gap) for q in log.since(1)] == [
            ("Covered", False),
            ("Volcanoes?", True),
        ]
        later = QuestionLog(second, clock=lambda: now)
        asked = datetime.fromtimestamp(now - 10, tz=UTC)
        later.record(
            LoggedQuestion(
                question="Glaciers?", user_hash="v", gap=True, mode="llm", asked_at=asked
            )
        )
        assert [q.question for q in log.since(1, gaps_only=True)] == ["Glaciers?", "Volcanoes?"]
    finally:
        first.close()
        second.close()
    with closing(sqlite3.connect(path)) as reopened:
        columns = {row[1] for row in reopened.execute("PRAGMA table_info(question_log)")}
    assert "gap" in columns and "refused" not in columns
