"""Every question members ask, with its outcome: what the feedback report's content gaps read."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from knowledge.state import StateDB

_SCHEMA = """
CREATE TABLE IF NOT EXISTS question_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    asked_at REAL NOT NULL,
    guild_id INTEGER,
    user_hash TEXT NOT NULL,
    question TEXT NOT NULL,
    gap INTEGER NOT NULL,
    mode TEXT NOT NULL,
    latency_ms REAL NOT NULL,
    answer_id TEXT
);
CREATE INDEX IF NOT EXISTS question_log_asked_at ON question_log (asked_at);
"""


class LoggedQuestion(BaseModel):
    """One question and what became of it; the user is only ever a salted hash.

    `gap` is true when the answer showed the collection lacks the topic (Answer.is_gap): not
    every refusal is one (a filter that matched nothing is not).
    """

    question: str
    guild_id: int | None = None
    user_hash: str
    gap: bool
    mode: str
    latency_ms: float = 0.0
    answer_id: str | None = None
    asked_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class QuestionLog:
    """Append-only log of questions in the state database."""

    def __init__(self, state: StateDB, clock: Callable[[], float] = time.time) -> None:
        self._state = state
        self._clock = clock

    def record(self, entry: LoggedQuestion) -> None:
        """Append one question."""
        self._state.ensure_schema(_SCHEMA)
        with self._state.transaction() as conn:
            conn.execute(
                "INSERT INTO question_log (asked_at, guild_id, user_hash, question, gap, mode,"
                " latency_ms, answer_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.asked_at.timestamp(),
                    entry.guild_id,
                    entry.user_hash,
                    entry.question,
                    int(entry.gap),
                    entry.mode,
                    entry.latency_ms,
                    entry.answer_id,
                ),
            )

    def since(
        self, days: float, guild_id: int | None = None, gaps_only: bool = False
    ) -> list[LoggedQuestion]:
        """Questions of the last `days` days, newest first; one guild's when guild_id is given,
        only the content gaps with `gaps_only`."""
        self._state.ensure_schema(_SCHEMA)
        query = "SELECT * FROM question_log WHERE asked_at >= ?"
        params: list[object] = [self._clock() - days * 86_400]
        if guild_id is not None:
            query += " AND guild_id = ?"
            params.append(guild_id)
        if gaps_only:
            query += " AND gap = 1"
        query += " ORDER BY asked_at DESC, id DESC"
        with self._state.transaction() as conn:
            rows = conn.execute(query, params).fetchall()
        return [
            LoggedQuestion(
                question=row["question"],
                guild_id=row["guild_id"],
                user_hash=row["user_hash"],
                gap=bool(row["gap"]),
                mode=row["mode"],
                latency_ms=row["latency_ms"],
                answer_id=row["answer_id"],
                asked_at=datetime.fromtimestamp(row["asked_at"], tz=UTC),
            )
            for row in rows
        ]
