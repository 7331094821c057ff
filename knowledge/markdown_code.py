"""Where the code is in Markdown: fenced code blocks and inline code spans, as CommonMark says.

The one reader of code fences: headings, chunking, citations, link safety and Discord splitting
all ask it, so a `#`, a `[1]` or a link inside code means the same (nothing) to each of them.

- Fenced code blocks, CommonMark 0.31.2 section 4.5
  (https://spec.commonmark.org/0.31.2/#fenced-code-blocks): an opening fence is a run of at least
  three backticks or tildes indented by at most three spaces, then an info string, which for a
  backtick fence may not contain a backtick. Only a run of the same character, at least as long,
  indented by at most three spaces and followed by nothing but spaces or tabs closes it. A fence
  never closed runs to the end of the document.
- List items, section 5.2: inside an item those three spaces count from the item's content
  column, so "1. Install:" followed by a fence indented four spaces is code, and so is a fence
  right after the marker ("- ```sh").
- Code spans, section 6.1 (https://spec.commonmark.org/0.31.2/#code-spans): a run of backticks
  is closed by the next run of exactly its length; an unmatched run is literal text, and a
  backslash-escaped backtick cannot open a span (section 2.4). A span does not cross a blank
  line, because a paragraph ends there.

Lines end at "\\n", "\\r\\n" or "\\r" (section 2.1); tabs in indentation count to the next
multiple of four columns (section 2.2).

Where this differs from CommonMark, on purpose: a fence in a list item ends only at its closing
fence (even one indented less than the item) or at the end of the text, never because a less
indented line ends the item; Discord, which renders most answers, knows no list containers and
shows such a block as one. Not modelled: fences inside block quotes and indented code blocks
(section 4.4). markdown-it-py parses all of CommonMark, but gives no offsets for code spans and
its block pass alone is no faster (bench/bench_markdown_code.py); the tests check this reader
against it on generated documents.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_OPENING = re.compile(
    r" {0,3}"
    r"(?:(?P<ticks>`{3,})(?P<tick_info>[^`]*)|(?P<tildes>~{3,})(?P<tilde_info>.*))"
)
_CLOSING = re.compile(r" *(`{3,}|~{3,})[ \t]*")
_BACKTICKS = re.compile(r"`+")
# A list item's marker (section 5.2) and the spaces after it, which set its content column.
_LIST_ITEM = re.compile(r" {0,3}(?P<marker>[-+*]|(?P<number>\d{1,9})[.)])(?P<gap> +(?=\S)| *$)")
_THEMATIC_BREAK = re.compile(r" {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*")
# Blocks that may interrupt a paragraph (a less indented line that starts none continues it).
_INTERRUPTING = re.compile(r" {0,3}(?:[-+*][ \t]+\S|1[.)][ \t]+\S|#{1,6}(?:[ \t]|$)|>)")
_HEADING = re.compile(r"#{1,6}(?:[ \t]|$)")
_SETEXT_UNDERLINE = re.compile(r" {0,3}(?:=+|-+)[ \t]*")


def _expand_indent(line: str) -> str:
    """`line` with the tabs of its indentation expanded to stops of 4 columns (section 2.2)."""
    if "\t" not in line:
        return line
    text = line.lstrip(" \t")
    return line[: len(line) - len(text)].expandtabs(4) + text


#: Where a line stands: in prose, or the opening fence, a content line or the closing fence.
LineKind = Literal["prose", "opening", "code", "closing"]


@dataclass(frozen=True, slots=True)
class Fence:
    """An opening code fence: its `marker` (the run of ``` ` ``` or `~`, e.g. "````"), info
    string, and `item`, the content column of the list item it is in (0 outside lists)."""

    marker: str
    info: str = ""
    item: int = 0

    def closed_by(self, line: str) -> bool:
        """Whether `line` (without its line ending) is a closing fence for this one."""
        if self.marker[:3] not in line:
            return False  # Most lines of a block: no regular expression needed.
        found = _CLOSING.fullmatch(_expand_indent(line))
        if found is None or found.start(1) > self.item + 3:
            return False
        run = found.group(1)
        return run[0] == self.marker[0] and len(run) >= len(self.marker)

    @property
    def opening_line(self) -> str:
        """The fence as a line of its own (no list marker or indentation), to reopen the block
        after a cut."""
        return self.marker + self.info


class MarkdownLine(NamedTuple):
    """One line: its `text` without the line ending, offsets `start`..`end` (ending included),
    its `kind`, the `fence` of the code block it belongs to (None in prose), and for prose
    whether it `continues` the paragraph above (a new list item or a heading does not)."""

    text: str
    start: int
    end: int
    kind: LineKind
    fence: Fence | None = None
    continues: bool = False

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


def opening_fence(line: str, column: int = 0) -> Fence | None:
    """The fence `line` (without its line ending) opens at `column` (a list item's content
    column, 0 outside lists), or None when it opens none."""
    found = _OPENING.fullmatch(_expand_indent(line), column)
    if found is None:
        return None
    if found.group("ticks"):
        return Fence(found.group("ticks"), found.group("tick_info").strip(), column)
    return Fence(found.group("tildes"), found.group("tilde_info").strip(), column)


def _interrupts(line: str, column: int) -> bool:
    """Whether `line`, read from `column`, starts a block that may interrupt a paragraph."""
    return bool(
        _INTERRUPTING.match(line, column)
        or _THEMATIC_BREAK.fullmatch(line, column)
        or opening_fence(line, column)
    )


class _ListItems:
    """The content columns of the list items open at a line (section 5.2), innermost last."""

    def __init__(self) -> None:
        self.columns: list[int] = []
        self.in_paragraph = False  # a paragraph is open: a less indented line may continue it
        self.empty_item = False  # the last line opened an item with nothing on it
        self.continues = False  # the line read last continues the paragraph above it

    def enter(self, line: str) -> int | None:
        """Read a prose line: the column where its content starts, inside any list items it
        opens, or None when it cannot open a fence (a blank line, a paragraph's lazy line)."""
        if not self.columns and line[:1].isalpha():
            # Most lines: paragraph text outside lists, which no block rule needs to read.
            self.continues, self.in_paragraph, self.empty_item = self.in_paragraph, True, False
            return 0
        self.continues = False
        if not line.strip():
            if self.empty_item:
                self.columns.pop()  # An item may begin with at most one blank line.
            self.in_paragraph = self.empty_item = False
            return None
        indent = len(line) - len(line.lstrip(" "))
        if self.columns and indent < self.columns[-1]:
            outer = max((c for c in self.columns if c <= indent), default=0)
            # Any list item ends the paragraph here: it is not in the item the paragraph is in.
            if self.in_paragraph and not (
                _interrupts(line, outer) or _LIST_ITEM.match(line, outer)
            ):
                self.continues = True
                return None  # A lazy continuation line stays in its paragraph and item.
            while self.columns and self.columns[-1] > indent:
                self.columns.pop()
            self.in_paragraph = False
        column = self.columns[-1] if self.columns else 0
        if self.in_paragraph and _SETEXT_UNDERLINE.fullmatch(line, column):
            self.in_paragraph = False  # The paragraph was a heading; "-" is no list item here.
            return column
        opened = False
        while column < len(line) and not _THEMATIC_BREAK.fullmatch(line, column):
            item = _LIST_ITEM.match(line, column)
            at_end = item is not None and item.end() == len(line)
            if item is None or (
                self.in_paragraph
                and not opened
                and (at_end or item.group("number") not in (None, "1"))
            ):
                break  # Only a bullet or "1." item with text may interrupt a paragraph.
            gap = len(item.group("gap"))
            # One column after the marker when the item is empty or starts with indented code.
            column = item.end("marker") + (1 if at_end or gap > 4 else gap)
            self.columns.append(column)
            opened = True
        self.empty_item = opened and column >= len(line)
        content = line[column:].lstrip(" ")
        if self.in_paragraph and not opened and len(line) - len(content) - column >= 4:
            self.continues = True
            return column  # Text indented in a paragraph continues it.
        was_in_paragraph = self.in_paragraph and not opened
        self.in_paragraph = (
            bool(content)
            and len(line) - len(content) - column < 4  # else an indented code block
            and not _HEADING.match(content)
            and not _THEMATIC_BREAK.fullmatch(content)
        )
        self.continues = was_in_paragraph and self.in_paragraph
        return column

    def leave_code(self) -> None:
        """A fenced block ended: no paragraph is open."""
        self.in_paragraph = False


def _split_lines(text: str) -> Iterator[tuple[str, int, int]]:
    """(line without its ending, start, end with the ending) for each line of `text`."""
    if "\r" in text:
        for found in _LINE.finditer(text):
            yield found.group().rstrip("\r\n"), found.start(), found.end()
        return
    start = 0
    for line in text.split("\n"):
        end = start + len(line) + 1
        if line or end <= len(text):
            yield line, start, min(end, len(text))
        start = end


def markdown_lines(text: str) -> Iterator[MarkdownLine]:
    """Every line of `text` in order, each told whether it is prose or in a fenced code block."""
    items = _ListItems()
    fence: Fence | None = None
    for line, start, end in _split_lines(text):
        if fence is None:
            column = items.enter(_expand_indent(line) if "\t" in line else line)
            if column is not None and ("`" in line or "~" in line):
                fence = opening_fence(line, column)
            if fence is None:
                yield MarkdownLine(line, start, end, "prose", None, items.continues)
            else:
                yield MarkdownLine(line, start, end, "opening", fence)
        elif fence.closed_by(line):
            yield MarkdownLine(line, start, end, "closing", fence)
            fence = None
            items.leave_code()
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
            if paragraph is not None and not line.continues:
                regions += _code_spans(text, paragraph, line.start)
                paragraph = None
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
