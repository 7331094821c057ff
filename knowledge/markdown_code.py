"""Where the code is in Markdown: fenced code blocks and inline code spans, as CommonMark says.

The one reader of code fences: headings, chunking, citations, link safety and Discord splitting
all ask it, so a `#`, a `[1]` or a link inside code means the same (nothing) to each of them.

- Fenced code blocks, CommonMark 0.31.2 section 4.5
  (https://spec.commonmark.org/0.31.2/#fenced-code-blocks): an opening fence is a run of at least
  three backticks or tildes indented by at most three spaces, then an info string, which for a
  backtick fence may not contain a backtick. Only a run of the same character, at least as long,
  indented by at most three spaces and followed by nothing but spaces or tabs closes it. A fence
  never closed runs to the end of the document.
- Code spans, section 6.1 (https://spec.commonmark.org/0.31.2/#code-spans): a run of backticks
  is closed by the next run of exactly its length; an unmatched run is literal text, and a
  backslash-escaped backtick cannot open a span (section 2.4). A span does not cross a blank
  line, because a paragraph ends there.

Lines end at "\\n", "\\r\\n" or "\\r" (section 2.1). Not modelled: fences inside block quotes or
list items indented by four or more spaces, and indented code blocks (section 4.4), which nested
lists make ambiguous without full container parsing. markdown-it-py parses all of that, but gives
no offsets for code spans and runs 8-20 times slower (bench/bench_markdown_code.py); the tests
check this reader against it on generated documents.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_OPENING = re.compile(
    r" {0,3}(?:(?P<ticks>`{3,})(?P<tick_info>[^`]*)|(?P<tildes>~{3,})(?P<tilde_info>.*))"
)
_CLOSING = re.compile(r" {0,3}(`{3,}|~{3,})[ \t]*")
_BACKTICKS = re.compile(r"`+")

#: Where a line stands: in prose, or the opening fence, a content line or the closing fence.
LineKind = Literal["prose", "opening", "code", "closing"]


@dataclass(frozen=True, slots=True)
class Fence:
    """An opening code fence: its `marker` (the run of ``` ` ``` or `~`, e.g. "````") and info."""

    marker: str
    info: str = ""

    def closed_by(self, line: str) -> bool:
        """Whether `line` (without its line ending) is a closing fence for this one."""
        found = _CLOSING.fullmatch(line)
        if found is None:
            return False
        run = found.group(1)
        return run[0] == self.marker[0] and len(run) >= len(self.marker)


@dataclass(frozen=True, slots=True)
class MarkdownLine:
    """One line: its `text` without the line ending, offsets `start`..`end` (ending included),
    its `kind`, and the `fence` of the code block it belongs to (None in prose)."""

    text: str
    start: int
    end: int
    kind: LineKind
    fence: Fence | None = None

    @property
    def in_code(self) -> bool:
        """Whether the line is part of a fenced code block, its fences included."""
        return self.kind != "prose"


@dataclass(frozen=True, slots=True)
class CodeRegion:
    """Code at offsets `start`..`end`: a fenced block (fences and closing line ending included)
    or an inline span (backticks included); `marker` is the fence or the span's backtick run."""

    start: int
    end: int
    marker: str
    fenced: bool


def opening_fence(line: str) -> Fence | None:
    """The fence `line` (without its line ending) opens, or None when it opens none."""
    found = _OPENING.fullmatch(line)
    if found is None:
        return None
    if found.group("ticks"):
        return Fence(found.group("ticks"), found.group("tick_info").strip())
    return Fence(found.group("tildes"), found.group("tilde_info").strip())


def markdown_lines(text: str) -> Iterator[MarkdownLine]:
    """Every line of `text` in order, each told whether it is prose or in a fenced code block."""
    fence: Fence | None = None
    for found in _LINE.finditer(text):
        line = found.group().rstrip("\r\n")
        start, end = found.span()
        if fence is None:
            fence = opening_fence(line)
            kind: LineKind = "prose" if fence is None else "opening"
            yield MarkdownLine(line, start, end, kind, fence)
        elif fence.closed_by(line):
            yield MarkdownLine(line, start, end, "closing", fence)
            fence = None
        else:
            yield MarkdownLine(line, start, end, "code", fence)


def unclosed_fence(text: str) -> Fence | None:
    """The fence still open at the end of `text`, or None when every block is closed."""
    fence: Fence | None = None
    for line in markdown_lines(text):
        fence = None if line.kind in ("prose", "closing") else line.fence
    return fence


def _escaped(text: str, position: int) -> bool:
    """Whether the character at `position` follows an odd number of backslashes."""
    backslashes = 0
    while position - backslashes > 0 and text[position - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def _code_spans(text: str, start: int, end: int) -> Iterator[CodeRegion]:
    """Inline code spans in the paragraph text[start:end], in order."""
    runs = [found.span() for found in _BACKTICKS.finditer(text, start, end)]
    # Run indexes by length, so the closer of each opening is found by bisection: a text full
    # of unmatched backticks costs O(n log n), not O(n^2).
    by_length: dict[int, list[int]] = {}
    for index, (run_start, run_end) in enumerate(runs):
        by_length.setdefault(run_end - run_start, []).append(index)
    index = 0
    while index < len(runs):
        run_start, run_end = runs[index]
        if _escaped(text, run_start):
            run_start += 1  # "\`" is a literal backtick; the rest of the run may still open.
        candidates = by_length.get(run_end - run_start, [])
        after = bisect_right(candidates, index)
        if run_start == run_end or after == len(candidates):
            index += 1  # Literal backticks; a later run may still open a span.
            continue
        closer = candidates[after]
        yield CodeRegion(run_start, runs[closer][1], "`" * (run_end - run_start), fenced=False)
        index = closer + 1


def code_regions(text: str) -> list[CodeRegion]:
    """Every fenced code block and inline code span of `text`, in order of offset."""
    regions: list[CodeRegion] = []
    paragraph: int | None = None  # start offset of the paragraph being read
    block: tuple[int, str] | None = None  # start offset and marker of the open fenced block
    for line in markdown_lines(text):
        if line.kind == "prose" and line.text.strip():
            paragraph = line.start if paragraph is None else paragraph
            continue
        if paragraph is not None:
            regions += _code_spans(text, paragraph, line.start)
            paragraph = None
        if line.kind == "opening" and line.fence is not None:
            block = (line.start, line.fence.marker)
        elif line.kind == "closing" and block is not None:
            regions.append(CodeRegion(block[0], line.end, block[1], fenced=True))
            block = None
    if paragraph is not None:
        regions += _code_spans(text, paragraph, len(text))
    if block is not None:
        regions.append(CodeRegion(block[0], len(text), block[1], fenced=True))
    return regions


def map_prose(
    text: str, change: Callable[[str], str], regions: Sequence[CodeRegion] | None = None
) -> str:
    """`text` with `change` applied to each stretch between code `regions` (by default all of
    `code_regions(text)`); the code is copied byte for byte."""
    out: list[str] = []
    position = 0
    for region in code_regions(text) if regions is None else regions:
        out += [change(text[position : region.start]), text[region.start : region.end]]
        position = region.end
    out.append(change(text[position:]))
    return "".join(out)


def prose_of(text: str) -> str:
    """`text` with every code region replaced by one space: the words outside code."""
    out: list[str] = []
    position = 0
    for region in code_regions(text):
        out += [text[position : region.start], " "]
        position = region.end
    out.append(text[position:])
    return "".join(out)
