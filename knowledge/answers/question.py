"""Cleaning a member's question before it is searched for or shown to a model."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from knowledge.errors import InputError
from knowledge.models import NoticeCode

_WHITESPACE = re.compile(r"\s+")


@dataclass
class CleanQuestion:
    """The question as it will be used, and what was done to it."""

    text: str
    notices: list[NoticeCode] = field(default_factory=list)


def _printable(ch: str) -> bool:
    # Control and format characters (NUL, escape sequences, bidi overrides, zero-width joiners
    # used to smuggle text) carry no meaning in a question; whitespace is folded later.
    return ch.isspace() or unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Co", "Cn"}


def has_words(text: str) -> bool:
    """True when `text` holds a letter or a digit (in any script): "?!" or "..." has none."""
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)


def clean_question(raw: str, max_chars: int) -> CleanQuestion:
    """Strip control characters, fold whitespace, truncate long input; empty raises InputError."""
    text = "".join(ch for ch in (raw or "") if _printable(ch))
    text = _WHITESPACE.sub(" ", text).strip()
    if not text:
        raise InputError("Please ask a question: the message was empty.")
    notices: list[NoticeCode] = []
    if len(text) > max_chars:
        cut = text[:max_chars]
        # Cut at a word boundary when one is near, so the last word is not half a word.
        space = cut.rfind(" ")
        if space > max_chars * 0.8:
            cut = cut[:space]
        notices.append(NoticeCode.QUESTION_TRUNCATED)
        text = cut.rstrip()
    return CleanQuestion(text=text, notices=notices)
