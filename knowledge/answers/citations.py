"""Citation markers in generated text: keep only sources that were given, renumber by first use.

Markers are looked for in prose only: inline code spans and fenced code blocks are copied byte for
byte (``lora_B[1] @ lora_A[0]`` is code, not two citations).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

# One bracketed group of source numbers: [1], [1, 2], [1-3], [1–3], [Source 2], [sources 1; 4].
_MARKER = re.compile(
    r"\[\s*(?:sources?\s*:?\s*)?(\d{1,4}(?:\s*(?:,|;|-|–|—)\s*(?:sources?\s*)?\d{1,4})*)\s*\]",
    re.IGNORECASE,
)
_SPACED_MARKER = re.compile(r"[ \t]?" + _MARKER.pattern, re.IGNORECASE)
_NUMBER_OR_RANGE = re.compile(r"(\d+)(?:\s*[-–—]\s*(\d+))?")
# A range wider than this is not a citation a model meant (e.g. "[1-1000]"); its ends are kept.
_MAX_RANGE = 20
# A dropped marker leaves this placeholder so the space before it can go too ("claim [9]." ->
# "claim."), without touching spacing anywhere else in the text.
_GONE = "\x00"
_GONE_AT_LINE_START = re.compile(r"(^|\n)\x00+[ \t]*")
_GONE_AFTER_SPACE = re.compile(r"[ \t]*\x00+")
# A fence opens with 3+ backticks or tildes indented at most 3 spaces (CommonMark); a backtick
# fence's info string may not hold a backtick.
_FENCE_OPEN = re.compile(r"^ {0,3}(?P<fence>`{3,}(?=[^`]*$)|~{3,})")
_BACKTICKS = re.compile(r"`+")
_LINE = re.compile(r"[^\n]*\n|[^\n]+$")


def _fenced_blocks(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each fenced code block, fences included; an unclosed one runs to the end."""
    offset = 0
    opened: tuple[int, str] | None = None  # (start offset, fence)
    for found in _LINE.finditer(text):
        line = found.group()
        bare = line.rstrip("\r\n")
        if opened is None:
            match = _FENCE_OPEN.match(bare)
            if match:
                opened = (offset, match.group("fence"))
        else:
            start, fence = opened
            stripped = bare.strip()
            closes = (
                len(bare) - len(bare.lstrip(" ")) <= 3
                and len(stripped) >= len(fence)
                and set(stripped) == {fence[0]}
            )
            if closes:
                yield start, offset + len(line)
                opened = None
        offset += len(line)
    if opened is not None:
        yield opened[0], len(text)


def _code_spans(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Inline code spans in text[start:end]: a backtick run closed by the next run of its length."""
    position = start
    while True:
        opening = _BACKTICKS.search(text, position, end)
        if opening is None:
            return
        width = len(opening.group())
        closing = _BACKTICKS.search(text, opening.end(), end)
        while closing is not None and len(closing.group()) != width:
            closing = _BACKTICKS.search(text, closing.end(), end)
        if closing is None:
            # An unmatched run is literal backticks; what follows it may still open a span.
            position = opening.end()
            continue
        yield opening.start(), closing.end()
        position = closing.end()


def code_regions(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of every fenced block and inline code span, in order."""
    regions: list[tuple[int, int]] = []
    position = 0
    for block_start, block_end in _fenced_blocks(text):
        regions += _code_spans(text, position, block_start)
        regions.append((block_start, block_end))
        position = block_end
    regions += _code_spans(text, position, len(text))
    return regions


def map_prose(text: str, change: Callable[[str], str]) -> str:
    """`text` with `change` applied to each stretch of prose; code is copied unchanged."""
    out: list[str] = []
    position = 0
    for start, end in code_regions(text):
        out += [change(text[position:start]), text[start:end]]
        position = end
    out.append(change(text[position:]))
    return "".join(out)


def prose_of(text: str) -> str:
    """`text` with every code region replaced by one space: what markers are looked for in."""
    out: list[str] = []
    position = 0
    for start, end in code_regions(text):
        out += [text[position:start], " "]
        position = end
    out.append(text[position:])
    return "".join(out)


def cited_numbers(text: str) -> list[int]:
    """Every source number the prose of `text` cites, in order of first use."""
    numbers: list[int] = []
    for match in _MARKER.finditer(prose_of(text)):
        numbers += [n for n in _numbers(match.group(1)) if n not in numbers]
    return numbers


def strip_markers(text: str) -> str:
    """`text` without its citation markers (code left alone), e.g. for an earlier turn."""
    return map_prose(text, lambda prose: _SPACED_MARKER.sub("", prose))


@dataclass
class CitationResult:
    """Text with valid markers renumbered 1..n; `used[i]` is the original number of new i+1."""

    text: str
    used: list[int] = field(default_factory=list)
    # Numbers the text cited that were not among the sources.
    removed: list[int] = field(default_factory=list)

    @property
    def uncited(self) -> bool:
        return not self.used

    def renumbered(self, original: int) -> int | None:
        """The new number of an original source number, or None when it was not cited."""
        try:
            return self.used.index(original) + 1
        except ValueError:
            return None


def _numbers(group: str) -> list[int]:
    numbers: list[int] = []
    for match in _NUMBER_OR_RANGE.finditer(group):
        start = int(match.group(1))
        end = int(match.group(2)) if match.group(2) else start
        if end < start or end - start > _MAX_RANGE:
            candidates = [start, end] if match.group(2) else [start]
        else:
            candidates = list(range(start, end + 1))
        for n in candidates:
            if n not in numbers:
                numbers.append(n)
    return numbers


def validate_citations(text: str, available: Sequence[int]) -> CitationResult:
    """Drop markers of sources not in `available`; renumber the rest in order of first use."""
    allowed = set(available)
    used: list[int] = []
    removed: list[int] = []

    def replace(match: re.Match[str]) -> str:
        kept: list[int] = []
        for n in _numbers(match.group(1)):
            if n in allowed:
                if n not in used:
                    used.append(n)
                new = used.index(n) + 1
                if new not in kept:
                    kept.append(new)
            elif n not in removed:
                removed.append(n)
        return "".join(f"[{n}]" for n in sorted(kept)) or _GONE

    rewritten = map_prose(text, lambda prose: _MARKER.sub(replace, prose.replace(_GONE, "")))
    if removed:
        rewritten = _GONE_AT_LINE_START.sub(r"\1", rewritten)
        rewritten = _GONE_AFTER_SPACE.sub("", rewritten)
    return CitationResult(text=rewritten.strip(), used=used, removed=removed)
