"""FeedbackStore: answers, ratings, salted user hashes and the moderators' report."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.errors import InputError
from knowledge.feedback import AnswerRecord, FeedbackStore, new_answer_id
from knowledge.state import StateDB


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def record(answer_id: str, question: str, guild_id: int = 1, refused: bool = False) -> AnswerRecord:
    return AnswerRecord(
        answer_id=answer_id,
        question=question,
        answer_text=f"answer to {question} [1]",
        chunk_ids=["art1:0", "art2:3"],
        guild_id=guild_id,
        asker_hash="asker",
        refused=refused,
        mode="llm",
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> FeedbackStore:
    return FeedbackStore(StateDB(tmp_path / "state.sqlite3"), clock=clock)


def test_user_ids_are_hashed_with_a_salt_kept_in_the_data_dir(tmp_path: Path) -> None:
    first = FeedbackStore(StateDB(tmp_path / "a" / "state.sqlite3"))
    again = FeedbackStore(StateDB(tmp_path / "a" / "state.sqlite3"))
    other = FeedbackStore(StateDB(tmp_path / "b" / "state.sqlite3"))

    digest = first.hash_user(123456789)

    assert len(digest) == 64 and "123456789" not in digest
    assert again.hash_user(123456789) == digest  # stable across restarts
    assert other.hash_user(123456789) != digest  # another installation, another salt
    assert first.hash_user(987654321) != digest


def test_answers_and_ratings_round_trip(store: FeedbackStore) -> None:
    store.record_answer(record("a1", "How does LoRA work?"))

    store.rate("a1", "u1", "not_helpful", "  too vague  ")
    store.rate("a1", "u2", "helpful")
    # Rating again replaces that user's earlier rating.
    store.rate("a1", "u2", "not_helpful", "changed my mind")

    stored = store.get_answer("a1")
    assert stored is not None and stored.chunk_ids == ["art1:0", "art2:3"]
    ratings = {(r.user_hash, r.rating, r.reason) for r in store.ratings_for("a1")}
    assert ratings == {("u1", "not_helpful", "too vague"), ("u2", "not_helpful", "changed my mind")}


def test_rating_an_unknown_answer_is_a_clear_error(store: FeedbackStore) -> None:
    with pytest.raises(InputError, match="no longer on record"):
        store.rate("nope", "u1", "helpful")


def test_report_counts_ratios_worst_and_refused(store: FeedbackStore, clock: Clock) -> None:
    from knowledge.question_log import LoggedQuestion

    store.record_answer(record("good", "Good question"))
    store.record_answer(record("bad", "Bad answer question"))
    store.record_answer(record("elsewhere", "Other guild", guild_id=2))
    store.rate("good", "u1", "helpful")
    store.rate("good", "u2", "helpful")
    store.rate("bad", "u1", "not_helpful", "wrong")
    store.rate("bad", "u3", "not_helpful", "outdated")
    store.rate("elsewhere", "u1", "not_helpful")
    for question, gap in [("Covered", False), ("Volcanoes?", True)]:
        store.questions.record(
            LoggedQuestion(question=question, guild_id=1, user_hash="u1", gap=gap, mode="llm")
        )

    report = store.report(days=7, guild_id=1)

    assert (report.ratings, report.helpful, report.not_helpful) == (4, 2, 2)
    assert report.helpful_ratio == 0.5
    assert [w.question for w in report.worst] == ["Bad answer question"]
    assert sorted(report.worst[0].reasons) == ["outdated", "wrong"]
    assert (report.questions_asked, report.gap_count) == (2, 1)
    assert [q.question for q in report.gaps] == ["Volcanoes?"]


def test_report_window_excludes_old_ratings(store: FeedbackStore, clock: Clock) -> None:
    store.record_answer(record("old", "Old"))
    store.rate("old", "u1", "not_helpful")
    clock.now += 10 * 86_400
    store.record_answer(record("new", "New"))
    store.rate("new", "u1", "helpful")

    assert store.report(days=7).ratings == 1
    assert store.report(days=30).ratings == 2
    assert store.report(days=7).helpful_ratio == 1.0


def test_empty_report_has_no_ratio(store: FeedbackStore) -> None:
    report = store.report()
    assert report.ratings == 0 and report.helpful_ratio is None
    with pytest.raises(InputError):
        store.report(days=0)


def test_answer_ids_are_short_and_unique() -> None:
    ids = {new_answer_id() for _ in range(1000)}
    assert len(ids) == 1000 and all(len(i) == 16 for i in ids)
