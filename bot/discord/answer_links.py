"""Where each answer was posted (its jump URL), so reports can link an item to its answer."""

from __future__ import annotations

from collections.abc import Sequence

from knowledge.state import StateDB

_SCHEMA = """
CREATE TABLE IF NOT EXISTS discord_answer_links (
    answer_id TEXT PRIMARY KEY,
    jump_url TEXT NOT NULL
);
"""


class AnswerLinks:
    """answer id -> the jump URL of the message showing it, in the state database."""

    def __init__(self, state: StateDB) -> None:
        self._state = state

    def record(self, answer_id: str, jump_url: str) -> None:
        """Remember where an answer is; a later call for the same id replaces it."""
        self._state.ensure_schema(_SCHEMA)
        with self._state.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO discord_answer_links (answer_id, jump_url) VALUES (?, ?)",
                (answer_id, jump_url),
            )

    def get_many(self, answer_ids: Sequence[str]) -> dict[str, str]:
        """The known jump URLs among `answer_ids` (private answers have none)."""
        ids = [a for a in answer_ids if a]
        if not ids:
            return {}
        self._state.ensure_schema(_SCHEMA)
        marks = ",".join("?" * len(ids))
        with self._state.transaction() as conn:
            rows = conn.execute(
                "SELECT answer_id, jump_url FROM discord_answer_links"
                f" WHERE answer_id IN ({marks})",
                ids,
            ).fetchall()
        return {row[0]: row[1] for row in rows}
