"""Content words of questions and passages, for coverage checks and follow-up rewriting."""

from __future__ import annotations

from knowledge.text import NON_TOPIC_WORDS, words


def key_terms(text: str) -> list[str]:
    """Content words of `text` in order of appearance, lower-cased, without repeats."""
    content = (w for w in words(text) if w not in NON_TOPIC_WORDS and (len(w) >= 3 or w.isdigit()))
    return list(dict.fromkeys(content))
