"""Catching a reply that recites the model's own instructions (a prompt-injection symptom)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from knowledge.answers.prompt import SYSTEM_PROMPT

# A run of this many characters copied from the instructions is no coincidence; shorter runs
# ("the curated articles do not cover") can appear in an honest answer.
FRAGMENT_CHARS = 40
_STEP = 8
_SPACE = re.compile(r"\s+")


def _normalise(text: str) -> str:
    # NFKC and no format characters: full-width or zero-width-laced recitals match too.
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return _SPACE.sub(" ", text).strip().lower()


@lru_cache(maxsize=4)
def _fragments(instructions: str) -> tuple[str, ...]:
    flat = _normalise(instructions)
    last = max(0, len(flat) - FRAGMENT_CHARS)
    return tuple(flat[i : i + FRAGMENT_CHARS] for i in range(0, last + 1, _STEP))


def recites_instructions(text: str, instructions: str = SYSTEM_PROMPT) -> bool:
    """True when `text` contains a long verbatim run of `instructions` (case and spacing aside)."""
    flat = _normalise(text)
    if len(flat) < FRAGMENT_CHARS:
        return False
    return any(fragment in flat for fragment in _fragments(instructions))
