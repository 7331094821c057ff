"""Members' ratings of answers, kept in SQLite with user ids only as salted hashes."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

from knowledge.errors import InputError
from knowledge.question_log import LoggedQuestion, QuestionLog
from knowledge.state import StateDB

Rating = Literal["helpful", "not_helpful"]

MAX_REASON_CHARS = 1_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback_salt (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    salt TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback_answers (
    answer_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    guild_id INTEGER,
    asker_hash TEXT NOT NULL,
    question TEXT NOT NULL,
    answer_text TEXT NOT NULL,
    chunk_ids TEXT NOT NULL,
    refused INTEGER NOT NULL,
    mode TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback_ratings (
    answer_id TEXT NOT NULL REFERENCES feedback_answers (answer_id),
    user_hash TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('helpful', 'not_helpful')),
    reason TEXT NOT NULL DEFAULT '',
    rated_at REAL NOT NULL,
    PRIMARY KEY (answer_id, user_hash)
);
CREATE INDEX IF NOT EXISTS feedback_ratings_rated_at ON feedback_ratings (rated_at);
"""


class AnswerRecord(BaseModel):
    """An answer as it was given, so a later rating knows what it rates."""

    answer_id: str
    question: str
    answer_text: str
    chunk_ids: list[str] = Field(default_factory=list)
    guild_id: int | None = None
    asker_hash: str
    refused: bool = False
    mode: str = "extractive"


class FeedbackEntry(BaseModel):
    answer_id: str
    user_hash: str
    rating: Rating
    reason: str = ""
    rated_at: datetime


class QuestionScore(BaseModel):
    """How one answered question was rated."""

    answer_id: str
    question: str
    helpful: int
    not_helpful: int
    reasons: list[str] = Field(default_factory=list)


class FeedbackReport(BaseModel):
    """What moderators see in `/feedback report`."""

    days: float
    questions_asked: int
    gap_count: int
    ratings: int
    helpful: int
    not_helpful: int
    worst: list[QuestionScore] = Field(default_factory=list)
    #: The latest questions the articles did not cover (LoggedQuestion.gap), newest first.
    gaps: list[LoggedQuestion] = Field(default_factory=list)

    @property
    def helpful_ratio(self) -> float | None:
        """Share of ratings that were helpful; None before anyone rated."""
        return self.helpful / self.ratings if self.ratings else None


def new_answer_id() -> str:
    """A short random id that fits in a component custom_id."""
    return secrets.token_hex(8)


class FeedbackStore:
    """Answers given, ratings received, and the question log, in the state database."""

    def __init__(self, state: StateDB, clock: Callable[[], float] = time.time) -> None:
        self._state = state
        self._clock = clock
        self._salt: str | None = None
        self.questions = QuestionLog(state, clock=clock)

    def _user_salt(self) -> str:
        if self._salt is None:
            self._state.ensure_schema(_SCHEMA)
            with self._state.transaction() as conn:
                # INSERT OR IGNORE keeps the first salt if two processes race to create it.
                conn.execute(
                    "INSERT OR IGNORE INTO feedback_salt (id, salt) VALUES (1, ?)",
                    (secrets.token_hex(32),),
                )
                self._salt = str(conn.execute("SELECT salt FROM feedback_salt").fetchone()[0])
        return self._salt

    def hash_user(self, user_id: int | str) -> str:
        """A stable pseudonym for a user: sha256 of a per-installation salt and the id."""
        digest = hashlib.sha256(f"{self._user_salt()}:{user_id}".encode())
        return digest.hexdigest()

    def record_answer(self, record: AnswerRecord) -> None:
        """Keep an answer so ratings of it can be stored, even after a restart."""
        self._state.ensure_schema(_SCHEMA)
        with self._state.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO feedback_answers (answer_id, created_at, guild_id,"
                " asker_hash, question, answer_text, chunk_ids, refused, mode)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.answer_id,
                    self._clock(),
                    record.guild_id,
                    record.asker_hash,
                    record.question,
                    record.answer_text,
                    json.dumps(record.chunk_ids),
                    int(record.refused),
                    record.mode,
                ),
            )

    def get_answer(self, answer_id: str) -> AnswerRecord | None:
        """The stored answer, or None when the id is unknown."""
        self._state.ensure_schema(_SCHEMA)
        with self._state.transaction() as conn:
            row = conn.execute(
                "SELECT * FROM feedback_answers WHERE answer_id = ?", (answer_id,)
            ).fetchone()
        if row is None:
            return None
        return AnswerRecord(
            answer_id=row["answer_id"],
            question=row["question"],
            answer_text=row["answer_text"],
            chunk_ids=json.loads(row["chunk_ids"]),
            guild_id=row["guild_id"],
            asker_hash=row["asker_hash"],
            refused=bool(row["refused"]),
            mode=row["mode"],
        )

    def rate(
        self, answer_id: str, user_hash: str, rating: Rating, reason: str = ""
    ) -> FeedbackEntry:
        """Store one user's rating of an answer; rating again replaces their earlier one."""
        if rating not in ("helpful", "not_helpful"):
            raise InputError(f"Unknown rating {rating!r}.")
        if self.get_answer(answer_id) is None:
            raise InputError("That answer is no longer on record, so it cannot be rated.")
        reason = reason.strip()[:MAX_REASON_CHARS]
        rated_at = self._clock()
        with self._state.transaction() as conn:
            conn.execute(
                "INSERT INTO feedback_ratings (answer_id, user_hash, rating, reason, rated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (answer_id, user_hash) DO UPDATE SET"
                " rating = excluded.rating, reason = excluded.reason,"
                " rated_at = excluded.rated_at",
                (answer_id, user_hash, rating, reason, rated_at),
            )
        return FeedbackEntry(
            answer_id=answer_id,
            user_hash=user_hash,
            rating=rating,
            reason=reason,
            rated_at=datetime.fromtimestamp(rated_at, tz=UTC),
        )

    def ratings_for(self, answer_id: str) -> list[FeedbackEntry]:
        """Every rating of one answer, oldest first."""
        self._state.ensure_schema(_SCHEMA)
        with self._state.transaction() as conn:
            rows = conn.execute(
                "SELECT * FROM feedback_ratings WHERE answer_id = ? ORDER BY rated_at",
                (answer_id,),
            ).fetchall()
        return [
            FeedbackEntry(
                answer_id=row["answer_id"],
                user_hash=row["user_hash"],
                rating=row["rating"],
                reason=row["reason"],
                rated_at=datetime.fromtimestamp(row["rated_at"], tz=UTC),
            )
            for row in rows
        ]

    def report(
        self, days: float = 7, guild_id: int | None = None, limit: int = 5
    ) -> FeedbackReport:
        """Counts, the worst-rated questions and the content gaps over the last `days` days."""
        if days <= 0:
            raise InputError("The report needs a positive number of days.")
        self._state.ensure_schema(_SCHEMA)
        cutoff = self._clock() - days * 86_400
        scope = "" if guild_id is None else " AND a.guild_id = ?"
        params: list[object] = [cutoff] if guild_id is None else [cutoff, guild_id]
        with self._state.transaction() as conn:
            totals = conn.execute(
                "SELECT SUM(r.rating = 'helpful') AS helpful,"
                " SUM(r.rating = 'not_helpful') AS not_helpful"
                " FROM feedback_ratings r JOIN feedback_answers a USING (answer_id)"
                " WHERE r.rated_at >= ?" + scope,
                params,
            ).fetchone()
            worst_rows = conn.execute(
                "SELECT a.answer_id, a.question,"
                " SUM(r.rating = 'helpful') AS helpful,"
                " SUM(r.rating = 'not_helpful') AS not_helpful,"
                " GROUP_CONCAT(NULLIF(r.reason, ''), char(31)) AS reasons"
                " FROM feedback_ratings r JOIN feedback_answers a USING (answer_id)"
                " WHERE r.rated_at >= ?" + scope + " GROUP BY a.answer_id"
                " HAVING not_helpful > 0"
                " ORDER BY not_helpful - helpful DESC, not_helpful DESC, MAX(r.rated_at) DESC"
                " LIMIT ?",
                [*params, limit],
            ).fetchall()
        helpful = int(totals["helpful"] or 0)
        not_helpful = int(totals["not_helpful"] or 0)
        asked = self.questions.since(days, guild_id=guild_id)
        gaps = [q for q in asked if q.gap]
        return FeedbackReport(
            days=days,
            questions_asked=len(asked),
            gap_count=len(gaps),
            ratings=helpful + not_helpful,
            helpful=helpful,
            not_helpful=not_helpful,
            worst=[
                QuestionScore(
                    answer_id=row["answer_id"],
                    question=row["question"],
                    helpful=int(row["helpful"]),
                    not_helpful=int(row["not_helpful"]),
                    reasons=row["reasons"].split("\x1f") if row["reasons"] else [],
                )
                for row in worst_rows
            ],
            gaps=gaps[:limit],
        )
