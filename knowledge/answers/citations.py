"""Citation markers in generated text: keep only sources that were given, renumber by first use.

Markers are looked for in prose only: inline code spans and fenced code blocks (as
`knowledge.markdown_code` finds them) are copied byte for byte (``lora_B[1] @ lora_A[0]`` is
code, not two citations).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from knowledge.markdown_code import map_prose, prose_of

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
