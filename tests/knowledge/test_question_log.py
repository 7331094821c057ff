"""QuestionLog: every question with guild, hashed user, outcome and latency."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from knowledge.question_log import LoggedQuestion, QuestionLog
from knowledge.state import StateDB


def test_questions_are_logged_and_filtered(tmp_path: Path) -> None:
    now = datetime(2025, 6, 1, 12, tzinfo=UTC).timestamp()
    log = QuestionLog(StateDB(tmp_path / "state.sqlite3"), clock=lambda: now)
    old = datetime(2025, 5, 1, tzinfo=UTC)
    log.record(
        LoggedQuestion(question="old", user_hash="u", refused=True, mode="llm", asked_at=old)
    )
    log.record(
        LoggedQuestion(
            question="recent refused",
            guild_id=1,
            user_hash="u",
            refused=True,
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
            refused=False,
            mode="llm",
            asked_at=datetime(2025, 6, 1, 6, tzinfo=UTC),
        )
    )

    recent = log.since(7)
    assert [q.question for q in recent] == ["recent answered", "recent refused"]
    assert [q.question for q in log.since(7, guild_id=1)] == ["recent refused"]
    assert [q.question for q in log.since(60, refused_only=True)] == ["recent refused", "old"]
    refused = log.since(7, refused_only=True)[0]
    assert refused.latency_ms == 812.5 and refused.answer_id == "a1" and refused.guild_id == 1
