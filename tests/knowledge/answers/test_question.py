"""Questions are cleaned before use: empty rejected, control characters dropped, long cut."""

from __future__ import annotations

import pytest

from knowledge.answers.question import clean_question
from knowledge.errors import InputError
from knowledge.models import NoticeCode


@pytest.mark.parametrize("raw", ["", "   \n\t ", "\x00\x1b\x07", "\u200b\u202e"])
def test_empty_question_is_rejected_with_a_clear_message(raw: str) -> None:
    with pytest.raises(InputError, match="Please ask a question"):
        clean_question(raw, 100)


def test_control_and_format_characters_are_removed_and_whitespace_folded() -> None:
    cleaned = clean_question("  What\x00 is\u200b  a\n\ttransformer?\x1b ", 100)
    assert cleaned.text == "What is a transformer?" and cleaned.notices == []


def test_long_question_is_cut_at_a_word_with_a_notice() -> None:
    cleaned = clean_question("word " * 100, 52)
    assert len(cleaned.text) <= 52 and not cleaned.text.endswith("wor")
    assert cleaned.text.split() == ["word"] * len(cleaned.text.split())
    assert cleaned.notices == [NoticeCode.QUESTION_TRUNCATED]


def test_other_scripts_are_kept() -> None:
    assert clean_question("注意力机制是什么？", 100).text == "注意力机制是什么？"
