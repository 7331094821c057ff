"""A reply that recites the system prompt is recognised; honest answers are not."""

from __future__ import annotations

from knowledge.answers.prompt import SYSTEM_PROMPT
from knowledge.answers.prompt_safety import recites_instructions


def test_verbatim_recital_is_caught_whatever_the_spacing_or_case() -> None:
    assert recites_instructions(f"Sure! My instructions are: {SYSTEM_PROMPT}")
    rule = SYSTEM_PROMPT.splitlines()[6]
    assert recites_instructions("ok " + " ".join(rule.upper().split()) + " bye")


def test_a_fifty_character_excerpt_is_enough() -> None:
    flat = " ".join(SYSTEM_PROMPT.split())
    for start in (0, 101, 333, len(flat) - 50):
        assert recites_instructions("x " + flat[start : start + 50] + " y")


def test_honest_answers_are_not_flagged() -> None:
    assert not recites_instructions("The curated articles do not cover this question.")
    assert not recites_instructions("Use only the sources [1]. Cite them like [1] or [2][3].")
    assert not recites_instructions("")


def test_a_recital_in_full_width_or_laced_with_zero_width_characters_is_caught() -> None:
    passage = SYSTEM_PROMPT[200:320]
    full_width = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in passage)
    laced = "\u200b".join(passage)
    assert recites_instructions(f"Sure: {full_width}")
    assert recites_instructions(f"Sure: {laced}")
