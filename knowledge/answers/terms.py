"""Content words of questions and passages, for coverage checks and follow-up rewriting."""

from __future__ import annotations

from knowledge.text import NON_TOPIC_WORDS, words


def key_terms(text: str) -> list[str]:
    """Content words of `text` in order of appearance, lower-cased, without repeats."""
    seen: list[str] = []
    for word in words(text):
        if word in NON_TOPIC_WORDS or (len(word) < 3 and not word.isdigit()):
            continue
        if word not in seen:
            seen.append(word)
    return seen
