"""Plain-text (.txt) and saved HTML (.html, .htm) files: a card export or an article's text."""

from __future__ import annotations

import re
from pathlib import Path

from knowledge.errors import SourceError
from knowledge.loaders.card_export import card_export_batch, looks_like_card_export
from knowledge.loaders.files import decode_utf8, read_limited
from knowledge.loaders.page_text import extract_article
from knowledge.loaders.result import SourceBatch
from knowledge.models import Article

# Lines scrapers and "save as text" leave at the end of an article, not part of it.
_TRAILING_BOILERPLATE = re.compile(
    r"^(?:source(?: link)?|original (?:article|link)|read (?:more|the original)|"
    r"view (?:original|source)|link)\s*:?\s*$",
    re.IGNORECASE,
)
# A short line with no sentence punctuation: a section label such as "Machine Learning".
_LABEL_WORDS = 5


def read_text_file(path: Path, max_bytes: int) -> str:
    """The UTF-8 text of `path`; binary content is refused with the offset of a NUL byte."""
    name = str(path)
    data = read_limited(path, max_bytes)
    nul = data.find(b"\x00")
    if nul >= 0:
        raise SourceError(name, f"binary data, not text (NUL byte at offset {nul})")
    return decode_utf8(data, name)


def load_text(path: Path, max_bytes: int) -> SourceBatch:
    """A card export (detected by its content) or an article's text: title line, then body."""
    name = str(path)
    text = read_text_file(path, max_bytes)
    if looks_like_card_export(text):
        return card_export_batch(text, name)
    batch = SourceBatch()
    batch.add(name, parse_plain_text(text, name), role="text")
    return batch


def parse_plain_text(text: str, origin: str) -> Article:
    """First non-empty line as the title, the rest as the body, minus a label and boilerplate."""
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and _TRAILING_BOILERPLATE.match(lines[-1].strip()):
        lines.pop()
        while lines and not lines[-1].strip():
            lines.pop()
    start = next((i for i, line in enumerate(lines) if line.strip()), None)
    if start is None:
        raise SourceError(origin, "empty file")
    title = " ".join(lines[start].split())
    rest = lines[start + 1 :]
    rest = _without_leading_label(rest)
    body = "\n".join(rest).strip()
    if not body:
        raise SourceError(origin, "no text after the title line")
    return Article(title=title, body=body, origin=origin)


def _without_leading_label(lines: list[str]) -> list[str]:
    """Drop a lone section label right under the title, when real paragraphs follow it.

    Blank lines around the label do not matter ("Title\nOpinion\nBody…" loses "Opinion");
    a short first line the next one continues in lower case is a paragraph's start, kept."""
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return lines
    candidate = lines[first].strip()
    following = [line.strip() for line in lines[first + 1 :] if line.strip()]
    next_is_own_line = first + 1 >= len(lines) or not lines[first + 1].strip()
    is_label = (
        len(candidate.split()) <= _LABEL_WORDS
        and not re.search(r"[.!?:;,\"“”]", candidate)
        and bool(following)
        and (next_is_own_line or not following[0][0].islower())
    )
    return lines[first + 1 :] if is_label else lines


def load_html_file(path: Path, max_bytes: int) -> SourceBatch:
    """A saved web page, read like a fetched one; its text can pair with a card export."""
    name = str(path)
    data = read_limited(path, max_bytes)
    batch = SourceBatch()
    batch.add(name, extract_article(data, "", name), role="text")
    return batch
