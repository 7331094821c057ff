"""Passage text -> quotable units: whole sentences, each with the sentences it leans on.

Shared by ingestion (which embeds the units once, see knowledge/store/sentence_store.py) and by
extractive answers (which rank them per question), so both always agree on what a unit is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Sentences end at . ! ? followed by space. Source files wrap lines inside sentences, so a line
# break ends a piece only before a blank line, a list item or a heading.
_SENTENCE_END = re.compile(r"(?<=[.!?…。！？])\s+")
_LIST_MARK = re.compile(r"^\s*(?:[-*+•]|\d+[.)]|#+)\s+")
_BLOCK_BREAK = re.compile(r"\n\s*\n|\n(?=\s*(?:[-*+•]|\d+[.)]|#+)\s)")
_ENDINGS = frozenset('.!?…。！？:;"”’)*')
MIN_CHARS = 25
MAX_CHARS = 400
# A quote made of a sentence and the ones it leans on spans at most this many sentences.
MAX_SENTENCES_PER_UNIT = 3

# A sentence opening with one of these refers back to what came before ("It ...", "However,
# ..."): quoted alone it would dangle, so it is quoted with its predecessor or not at all.
_LEANING_WORDS = frozenset(
    """it its this these those that they them their theirs he she his her hers him such
    however but and or so also therefore thus hence moreover furthermore additionally instead
    still yet then otherwise nevertheless nonetheless meanwhile consequently accordingly
    likewise similarly besides both neither another others latter former here""".split()  # noqa: SIM905
)
_LEANING_PHRASES = re.compile(
    r"^(?:in (?:addition|contrast|turn|this case|that case|other words|particular)|"
    r"as a result|for (?:example|instance)|on the other hand|despite this|because of this|"
    r"after (?:this|that)|by contrast|even so|at the same time|the (?:latter|former|same))\b",
    re.IGNORECASE,
)
_FIRST_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
# Card lines that are labels, not statements worth quoting.
_BOILERPLATE = re.compile(r"^(?:best for|topics|source link|related on)\b", re.IGNORECASE)


def split_pieces(text: str) -> list[str]:
    """Every sentence-like piece of `text` in order, whitespace collapsed, list marks removed."""
    pieces: list[str] = []
    for block in _BLOCK_BREAK.split(text):
        flat = " ".join(_LIST_MARK.sub("", block).split())
        pieces += [p.strip() for p in _SENTENCE_END.split(flat) if p.strip()]
    return pieces


def is_whole(piece: str) -> bool:
    """Starts like a sentence (not lower-case) and ends with punctuation.

    Chunks overlap and are cut by token count, so their first and last pieces are often
    fragments.
    """
    return bool(piece) and not piece[0].islower() and piece[-1] in _ENDINGS


def leans_on_previous(piece: str) -> bool:
    """Whether the piece opens with a pronoun or connective that points at an earlier sentence."""
    first = _FIRST_WORD.match(piece)
    if first is not None and first.group().casefold() in _LEANING_WORDS:
        return True
    return bool(_LEANING_PHRASES.match(piece))


def _shorten(text: str) -> str:
    if len(text) <= MAX_CHARS:
        return text
    return text[:MAX_CHARS].rsplit(" ", 1)[0] + " …"


@dataclass(frozen=True)
class Unit:
    """A quotable stretch of a passage: one key sentence, preceded by those it leans on.

    `first`..`last` are indexes into the passage's pieces; `text` is what is quoted.
    """

    first: int
    last: int
    text: str


def quotable_units(text: str) -> list[Unit]:
    """The units of a passage worth quoting, in order; never two with the same key sentence.

    A key sentence must be whole, long enough and not a card label. When it leans on the
    previous sentence, that one (and, if it leans too, the one before) is included; when the
    chain reaches the passage's start or a fragment, the sentence is skipped.
    """
    pieces = split_pieces(text)
    units: list[Unit] = []
    for last, piece in enumerate(pieces):
        if len(piece) < MIN_CHARS or not is_whole(piece) or _BOILERPLATE.match(piece):
            continue
        first = last
        while first >= 0 and leans_on_previous(pieces[first]):
            first -= 1
            if last - first >= MAX_SENTENCES_PER_UNIT or first < 0 or not is_whole(pieces[first]):
                first = -1
                break
        if first < 0:
            continue
        if first == last:
            units.append(Unit(first, last, _shorten(piece)))
            continue
        quote = " ".join(pieces[first : last + 1])
        # Cutting the lead would make it dangle again, and cutting the key sentence loses what
        # it was chosen for: a unit too long to quote whole is left out.
        if len(quote) <= 2 * MAX_CHARS:
            units.append(Unit(first, last, quote))
    return units
