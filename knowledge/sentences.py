"""Passage text -> quotable units: whole sentences, each with the sentences it leans on.

Shared by ingestion (which embeds the units once, see knowledge/store/sentence_store.py) and by
extractive answers (which rank them per question), so both always agree on what a unit is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# Sentences end at . ! ? followed by space. Source files wrap lines inside sentences, so a line
# break ends a piece only before a blank line, a list item or a heading.
#: Changes whenever the units of a text change, so vectors stored for older units go unused.
UNITS_VERSION = "6"
_SENTENCE_END = re.compile(r"(?<=[.!?…。！？])\s+")
_LIST_MARK = re.compile(r"^\s*(?:[-*+•]|\d+[.)]|#+)\s+")
_BLOCK_BREAK = re.compile(r"\n\s*\n|\n(?=\s*(?:[-*+•]|\d+[.)]|#+)\s)")
_ENDINGS = frozenset('.!?…。！？:;"”’)*')
MIN_CHARS = 25
MAX_CHARS = 400
# The chunker cuts by token count, so a passage's last sentence is often cut short. One that
# starts like a sentence and is at least this long is still quoted, up to its last whole word
# and "…"; a shorter one is more likely a heading or label than a sentence.
MIN_CUT_CHARS = 80
# A quote made of a sentence and the ones it leans on spans at most this many sentences; a
# longer chain ("X reports ... They calculate ... They predict ... They judge ...") is quoted as
# its lead, "…", and the key sentence, when the lead is at most MAX_LEAD_DISTANCE back.
MAX_SENTENCES_PER_UNIT = 3
MAX_LEAD_DISTANCE = 5
ELLIPSIS = "…"  # marks text left out of a quote
# A statement of fewer words than this that leans on nothing, followed by more of its paragraph,
# is a topic line ("Evaluation gets the most attention."): it names what the next sentence says
# without saying it, so it is quoted only as the lead of the sentence after it. One that ends its
# paragraph is a conclusion ('Let's say ten times more."') and is quoted alone. One holding a
# number states a fact ("Tesla died on 7 January 1943.", "The average household size was
# 3.07.") and is quoted alone too.
MIN_KEY_WORDS = 7

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
    r"after (?:this|that)|by contrast|even so|at the same time|the (?:latter|former|same)|"
    r"as such|for this reason|to this end|in (?:this|that) way|"
    r"(?:all|each|some|many|most|none|one|both|much) of (?:this|these|those|that|them|it))\b",
    re.IGNORECASE,
)
# Words that end in a full stop mid-sentence (compared case-folded, without the stop).
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof st mt ft jr sr inc ltd co corp bros v vs etc e.g i.e cf al approx
    no nos vol fig gen gov sen rep rev col lt capt sgt maj cmdr adm u.s u.k u.n a.d b.c
    jan feb mar apr jun jul aug sep sept oct nov dec""".split()  # noqa: SIM905
)
# A footnote mark after a sentence's stop ("... operate.[citation needed]", "... 2003.[4]") is
# left out of the quote, so the sentence ends as a sentence; a Markdown link is not a mark.
_FOOTNOTE = re.compile(r"(?<=[.!?])(?:\[[^\[\]]{1,40}\](?!\()|:\d[\d–:-]*(?=\s|$))")
_FIRST_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
# Card lines that are labels, not statements worth quoting.
_BOILERPLATE = re.compile(r"^(?:best for|topics|source link|related on)\b", re.IGNORECASE)


def _ends_mid_sentence(piece: str, following: str, same_block: bool = True) -> bool:
    """A full stop that does not end a sentence: after an initial ("James O."), a known
    abbreviation ("St.", "Inc.", "U.S."), or (within a block) before a lower-case word."""
    if not piece.endswith(".") or not following:
        return False
    if same_block and following[0].islower():
        return True
    last = piece.rsplit(" ", 1)[-1][:-1]
    return (len(last) == 1 and last.isupper()) or last.casefold() in _ABBREVIATIONS


def split_pieces(text: str) -> list[str]:
    """Every sentence-like piece of `text` in order, whitespace collapsed, list marks removed.

    The chunker may put a blank line where it split a long paragraph at an abbreviation
    ("Jones et al.", "1998 ..."), so such a piece is joined to the next one across blocks too.
    """
    return _split_blocks(text)[0]


def _split_blocks(text: str) -> tuple[list[str], set[int]]:
    """`split_pieces` of `text`, and the indexes of the pieces that open a block (a paragraph,
    list item or heading)."""
    pieces: list[str] = []
    openers: set[int] = set()
    for block in _BLOCK_BREAK.split(text):
        flat = _FOOTNOTE.sub("", " ".join(_LIST_MARK.sub("", block).split()))
        parts = [p.strip() for p in _SENTENCE_END.split(flat) if p.strip()]
        for i, part in enumerate(parts):
            if pieces and _ends_mid_sentence(pieces[-1], part, same_block=i > 0):
                pieces[-1] = f"{pieces[-1]} {part}"
            else:
                if i == 0:
                    openers.add(len(pieces))
                pieces.append(part)
    return pieces, openers


def is_whole(piece: str) -> bool:
    """Starts like a sentence (not lower-case) and ends with punctuation.

    Chunks overlap and are cut by token count, so their first and last pieces are often
    fragments.
    """
    return bool(piece) and not piece[0].islower() and piece[-1] in _ENDINGS


# "It is tempting to think ...", "It was decided that ...": an "it" that points forward.
_FORWARD_IT = re.compile(
    r"^it (?:is|was|has been|had been|seems|seemed|appears|appeared|would be|may be|can be)"
    r"(?: not)?(?: \w+){0,2} (?:to|that|whether|how|why|when)\b",
    re.IGNORECASE,
)


def leans_on_previous(piece: str) -> bool:
    """Whether the piece opens with a pronoun or connective that points at an earlier sentence."""
    if _FORWARD_IT.match(piece):
        return False
    first = _FIRST_WORD.match(piece)
    if first is not None and first.group().casefold() in _LEANING_WORDS:
        return True
    return bool(_LEANING_PHRASES.match(piece))


_CLAUSE_END = re.compile(r"(?<=[,;:)])\s+")


def excerpt(text: str, wanted: Callable[[str], float], limit: int = MAX_CHARS) -> str:
    """`text` if it fits in `limit` characters, else its stretch of whole clauses that scores
    highest under `wanted` (called on the stretch's text; ties: the earliest), with "…" where
    text was left out. From each clause, the longest stretch that fits is tried.

    The stretch is scored whole, not clause by clause, so a scorer counting distinct question
    words does not prefer a later stretch that merely repeats a word the earlier one holds.
    """
    if len(text) <= limit:
        return text
    clauses = _CLAUSE_END.split(text)
    best: tuple[float, int, int] = (-1.0, 0, 0)
    for start in range(len(clauses)):
        # From each start, the longest stretch that fits: more of the sentence, same words.
        size = len(clauses[start])
        end = start
        if size > limit:
            continue
        while end + 1 < len(clauses) and size + 1 + len(clauses[end + 1]) <= limit:
            end += 1
            size += 1 + len(clauses[end])
        score = wanted(" ".join(clauses[start : end + 1]))
        if score > best[0]:
            best = (score, start, end)
    _, start, end = best
    if best[0] < 0:
        # Not even one clause fits: the text's start, cut at a word.
        return text[:limit].rsplit(" ", 1)[0] + " …"
    shown = " ".join(clauses[start : end + 1])
    return ("… " if start > 0 else "") + shown + (" …" if end < len(clauses) - 1 else "")


@dataclass(frozen=True)
class Unit:
    """A quotable stretch of a passage: one key sentence, preceded by those it leans on.

    `first`..`last` are indexes into the passage's pieces; `text` is what is ranked, and
    quoted through `excerpt` when it is long.
    """

    first: int
    last: int
    text: str


def is_question(piece: str) -> bool:
    """Whether the sentence asks rather than says (ends with "?", before any closing quote)."""
    return piece.rstrip('"”’)*').endswith(("?", "？"))


def is_topic_line(piece: str) -> bool:
    """A short statement that leans on nothing and holds no number: it names a topic (or,
    ending its paragraph, sums one up)."""
    return (
        len(piece.split()) < MIN_KEY_WORDS
        and not any(c.isdigit() for c in piece)
        and not leans_on_previous(piece)
    )


def quotable_units(text: str) -> list[Unit]:
    """The units of a passage worth quoting, in order; never two with the same key sentence.

    A key sentence must be whole, long enough, not a card label, not a question (an
    interviewer's "Do you think ...?" answers nothing) and not a topic line. When it leans on the
    previous sentence, that one (and, if it leans too, the one before) is included; a longer
    chain is quoted as its lead, "…" and the key sentence. When the chain reaches the
    passage's start or a fragment, the sentence is skipped. A topic line just before the unit
    leads it, when the unit stays short enough to quote whole.
    """
    pieces, openers = _split_blocks(text)
    # A topic line is followed by more of its paragraph; at a paragraph's end it concludes.
    # Pieces shorter than MIN_CHARS (". .", "...") are stray marks, never a topic line.
    topics = {
        i
        for i, piece in enumerate(pieces)
        if i + 1 < len(pieces)
        and i + 1 not in openers
        and len(piece) >= MIN_CHARS
        and is_topic_line(piece)
    }
    units: list[Unit] = []
    for last, piece in enumerate(pieces):
        if last == len(pieces) - 1 and _is_cut_short(piece):
            piece = pieces[last] = piece.rsplit(" ", 1)[0].rstrip(",;:") + f" {ELLIPSIS}"
        if len(piece) < MIN_CHARS or not is_whole(piece) or _BOILERPLATE.match(piece):
            continue
        if is_question(piece) or last in topics:
            continue
        first = _lead_of(pieces, last)
        if first is None:
            continue
        topic = first - 1
        if (
            topic >= 0
            and last - topic < MAX_SENTENCES_PER_UNIT
            and is_whole(pieces[topic])
            and not is_question(pieces[topic])
            and topic in topics
        ):
            with_topic = " ".join(pieces[topic : last + 1])
            if len(with_topic) <= 2 * MAX_CHARS:
                units.append(Unit(topic, last, with_topic))
                continue
        if first == last:
            units.append(Unit(first, last, piece))
            continue
        if last - first < MAX_SENTENCES_PER_UNIT:
            quote = " ".join(pieces[first : last + 1])
        else:
            quote = f"{pieces[first]} {ELLIPSIS} {piece}"
        # Cutting the lead would make it dangle again, and cutting the key sentence loses what
        # it was chosen for: a unit too long to quote whole is left out.
        if len(quote) <= 2 * MAX_CHARS:
            units.append(Unit(first, last, quote))
    return units


def _is_cut_short(piece: str) -> bool:
    """A passage's last piece that the chunker cut mid-sentence (not a label or heading)."""
    return len(piece) >= MIN_CUT_CHARS and not is_whole(piece) and not piece[0].islower()


def _lead_of(pieces: list[str], last: int) -> int | None:
    """Index of the first sentence the piece at `last` leans on (itself when it leans on
    none); None when the chain reaches the passage's start, a fragment, or goes too far."""
    first = last
    while leans_on_previous(pieces[first]):
        first -= 1
        if last - first > MAX_LEAD_DISTANCE or first < 0 or not is_whole(pieces[first]):
            return None
    return first
