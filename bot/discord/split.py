"""Discord's size limits, and splitting text and embeds to fit them without losing anything.

Code fences are found by `knowledge.markdown_code`, as chunking and citations find them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import discord

from knowledge.markdown_code import Fence, markdown_lines, unclosed_fence

CONTENT_LIMIT = 2_000
DESCRIPTION_LIMIT = 4_096
TITLE_LIMIT = 256
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1_024
FIELDS_PER_EMBED = 25
FOOTER_LIMIT = 2_048
EMBED_TOTAL_LIMIT = 6_000
EMBEDS_PER_MESSAGE = 10

_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")


def truncate(text: str, limit: int, marker: str = "…") -> str:
    """Cut `text` to `limit` characters, marking the cut; for labels, never for content."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(marker))].rstrip() + marker


@dataclass(frozen=True)
class _Block:
    """A paragraph (`fence` None) or a fenced code block, as its lines."""

    lines: list[str]
    fence: Fence | None = None
    closed: bool = False

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _blocks(text: str) -> list[_Block]:
    """Paragraphs split on blank lines; a fenced code block, blank lines and all, is one block."""
    blocks: list[_Block] = []
    current: list[str] = []
    fence: Fence | None = None  # of the code block being read
    for line in markdown_lines(text):
        if line.kind == "opening" and current:
            blocks.append(_Block(current))
            current = []
        if line.in_code:
            current.append(line.text)
            fence = line.fence
            if line.kind == "closing":
                blocks.append(_Block(current, fence, closed=True))
                current, fence = [], None
        elif line.text.strip():
            current.append(line.text)
        elif current:
            blocks.append(_Block(current))
            current = []
    if current:
        blocks.append(_Block(current, fence))
    return blocks


def _hard_split(text: str, limit: int) -> list[str]:
    return [text[i : i + limit] for i in range(0, len(text), limit)]


def _split_prose(text: str, limit: int) -> list[str]:
    """Split an over-long paragraph on lines, then sentences, then words, then anywhere."""
    for separator in ("\n", _SENTENCE_END, " "):
        parts = text.split(separator) if isinstance(separator, str) else separator.split(text)
        if len(parts) < 2:
            continue
        joiner = "\n" if separator == "\n" else " "
        pieces: list[str] = []
        for part in parts:
            if len(part) > limit:
                pieces.extend(_split_prose(part, limit))
            else:
                pieces.append(part)
        return _pack(pieces, limit, joiner)
    return _hard_split(text, limit)


def _split_code(block: _Block, fence: Fence, limit: int) -> list[str]:
    """Split an over-long code block on lines, closing and reopening the fence at each cut."""
    opener, closer = block.lines[0], fence.marker
    body = block.lines[1:-1] if block.closed else block.lines[1:]
    budget = limit - max(len(opener), len(fence.opening_line)) - len(closer) - 2
    if budget < 20:
        return _hard_split(block.text, limit)
    pieces: list[str] = []
    for line in body:
        pieces.extend(_hard_split(line, budget) if len(line) > budget else [line])
    # Later parts reopen with the bare fence: a list marker before it is said once.
    return [
        f"{opener if n == 0 else fence.opening_line}\n{chunk}\n{closer}"
        for n, chunk in enumerate(_pack(pieces, budget, "\n"))
    ]


def _pack(pieces: Sequence[str], limit: int, joiner: str) -> list[str]:
    """Join pieces greedily into chunks of at most `limit` characters."""
    chunks: list[str] = []
    current: str | None = None
    for piece in pieces:
        if current is None:
            current = piece
        elif len(current) + len(joiner) + len(piece) <= limit:
            current = f"{current}{joiner}{piece}"
        else:
            chunks.append(current)
            current = piece
    if current is not None:
        chunks.append(current)
    return [chunk for chunk in chunks if chunk.strip()]


def split_markdown(text: str, limit: int = CONTENT_LIMIT) -> list[str]:
    """Split text into chunks of at most `limit` characters on paragraph and code-fence bounds.

    A code block that must be cut is closed at the cut and reopened (with its language) in the
    next chunk, so every chunk renders on its own. No character of content is dropped.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    pieces: list[str] = []
    for block in _blocks(text):
        if len(block.text) <= limit:
            pieces.append(block.text)
        elif block.fence is not None:
            pieces.extend(_split_code(block, block.fence, limit))
        else:
            pieces.extend(_split_prose(block.text, limit))
    return _pack(pieces, limit, "\n\n")


def close_open_fence(text: str) -> str:
    """`text` with a code fence left open at its end closed, so a partial answer renders."""
    fence = unclosed_fence(text)
    if fence is None:
        return text
    return text.rstrip("\n") + "\n" + fence.marker


def split_lines(lines: Sequence[str], limit: int) -> list[str]:
    """Group lines into newline-joined chunks of at most `limit`; over-long lines are split."""
    pieces: list[str] = []
    for line in lines:
        pieces.extend(_split_prose(line, limit) if len(line) > limit else [line])
    return _pack(pieces, limit, "\n")


def embed_fits(embed: discord.Embed) -> bool:
    """Whether one embed is within every per-embed limit Discord enforces."""
    if embed.title and len(embed.title) > TITLE_LIMIT:
        return False
    if embed.description and len(embed.description) > DESCRIPTION_LIMIT:
        return False
    if embed.footer.text and len(embed.footer.text) > FOOTER_LIMIT:
        return False
    if len(embed.fields) > FIELDS_PER_EMBED:
        return False
    for field in embed.fields:
        if len(field.name or "") > FIELD_NAME_LIMIT or len(field.value or "") > FIELD_VALUE_LIMIT:
            return False
    return len(embed) <= EMBED_TOTAL_LIMIT


def group_embeds(embeds: Sequence[discord.Embed]) -> list[list[discord.Embed]]:
    """Group embeds into messages of at most 10 embeds and 6,000 characters in all."""
    groups: list[list[discord.Embed]] = []
    current: list[discord.Embed] = []
    size = 0
    for embed in embeds:
        length = len(embed)
        if current and (size + length > EMBED_TOTAL_LIMIT or len(current) >= EMBEDS_PER_MESSAGE):
            groups.append(current)
            current, size = [], 0
        current.append(embed)
        size += length
    if current:
        groups.append(current)
    return groups
