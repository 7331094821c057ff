"""Card exports: the plain-text layout curation sites export an editorial card in.

    The Title on the first non-empty line
    · Source: Publisher · Field: Area — Sub-area, Sub-area · Depth: Intermediate, short
    Summary
    <text>
    Key takeaway
    <text>
    Key insights / Principles / Method / In practice / Topics
    <text, possibly empty>
    Best for: Role one, Role two
    Related on Site …  /  Open in Site →
    Editorial summary … curation by Site. Original article published by Publisher.

A file is a card export by its content, not its name: a title line and at least two of the
section headings above, each on a line of its own. The site's footer is dropped from the text;
the curator and the publisher it names are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from knowledge.errors import SourceError
from knowledge.loaders.fields import FieldError, checked_url, is_date_only, parse_when
from knowledge.loaders.result import SourceBatch
from knowledge.loaders.sections import (
    CARD_SECTIONS,
    EDITORIAL_SECTIONS,
    bullet_items,
    section_name,
)
from knowledge.models import Article

# Bare heading line -> where its text goes: a card's sections, and the export's Topics line.
_HEADINGS = {**CARD_SECTIONS, "topics": "topics"}
# Metadata keys (lower-cased) -> what they fill; documented in README "Card exports".
_META_KEYS = ("source", "field", "depth", "author", "url", "link", "curated", "published")
_BEST_FOR = re.compile(r"^best\s+for\s*:\s*(.*)$", re.IGNORECASE)
_FOOTER_START = re.compile(r"^(?:related\s+on\b|open\s+in\b|editorial\s+summary\b)", re.IGNORECASE)
_CREDITS = re.compile(
    r"curation\s+by\s+(?P<curator>.+?)\.\s*original\s+article\s+published\s+by\s+"
    r"(?P<publisher>.+?)\.?\s*$",
    re.IGNORECASE,
)
_META_SEPARATOR = "·"


def _heading(line: str) -> str | None:
    return _HEADINGS.get(section_name(line))


def looks_like_card_export(text: str) -> bool:
    """Whether `text` is a card export: at least two known section headings on bare lines."""
    found = {key for line in text.splitlines() if (key := _heading(line))}
    return len(found) >= 2


@dataclass
class CardExport:
    """A parsed card export; `warnings` are problems the card survived."""

    article: Article
    warnings: list[str] = field(default_factory=list)


def card_export_batch(text: str, origin: str) -> SourceBatch:
    """The export's card (role "card") with the problems it survived as warnings."""
    card = parse_card_export(text, origin)
    batch = SourceBatch()
    for warning in card.warnings:
        batch.warn(origin, warning)
    batch.add(origin, card.article, role="card")
    return batch


def parse_card_export(text: str, origin: str) -> CardExport:
    """Build a card-only Article (no original text) from an export; SourceError if unusable."""
    credits: dict[str, str] = {}
    lines = _without_footer([line.strip() for line in text.splitlines()], credits)
    content = [line for line in lines if line]
    if not content:
        raise SourceError(origin, "empty card export")
    title = content[0]
    if _heading(title) or title.startswith(_META_SEPARATOR):
        raise SourceError(
            origin,
            f"card export has no title line: its first line is {title[:60]!r}; "
            "put the article's title on the first line",
        )
    warnings: list[str] = []
    meta: dict[str, str] = {}
    parts: dict[str, list[str]] = {}
    best_for: list[str] = []
    current: str | None = None
    for line in lines[lines.index(title) + 1 :]:
        if line.startswith(_META_SEPARATOR) and current is None:
            # Usually one line; some exports wrap it, so later '·' lines add to it.
            meta.update(_metadata(line, warnings))
            continue
        key = _heading(line)
        if key:
            current = key
            parts.setdefault(key, [])
            continue
        best = _BEST_FOR.match(line)
        if best:
            best_for = [item.strip() for item in best.group(1).split(",") if item.strip()]
            current = None
            continue
        if current is not None:
            parts[current].append(line)
        elif line:
            warnings.append(f"text outside any section ignored: {line[:60]!r}")
    texts = {key: "\n".join(value).strip() for key, value in parts.items()}
    try:
        article = Article(
            title=" ".join(title.split()),
            url=_url(meta),
            publisher=meta.get("source") or credits.get("publisher", ""),
            author=meta.get("author", ""),
            curator=credits.get("curator", ""),
            published=parse_when(meta["published"], "Published") if "published" in meta else None,
            curated=parse_when(meta["curated"], "Curated") if "curated" in meta else None,
            curated_is_date=is_date_only(meta, "curated"),
            topics=_topics(meta.get("field", ""), texts.get("topics", "")),
            depth=_depth(meta.get("depth", ""))[0],
            length=_depth(meta.get("depth", ""))[1],
            best_for=best_for,
            summary=texts.get("summary", ""),
            key_takeaway=" ".join(texts.get("key_takeaway", "").split()),
            key_insights=_insights(texts.get("key_insights", "")),
            sections={name: texts[name] for name in EDITORIAL_SECTIONS if texts.get(name)},
            origin=origin,
        )
    except FieldError as exc:
        raise SourceError(origin, str(exc)) from None
    return CardExport(article, warnings)


def _without_footer(lines: list[str], credits: dict[str, str]) -> list[str]:
    """The lines before the site's footer; the credits line's curator and publisher noted."""
    for index, line in enumerate(lines):
        if _FOOTER_START.match(line):
            for rest in lines[index:]:
                match = _CREDITS.search(rest)
                if match:
                    credits["curator"] = " ".join(match.group("curator").split())
                    credits["publisher"] = " ".join(match.group("publisher").split())
            return lines[:index]
    return lines


def _metadata(line: str, warnings: list[str]) -> dict[str, str]:
    """'· Key: Value · Key: Value' -> {key: value}; unknown keys are warned about and ignored."""
    meta: dict[str, str] = {}
    for part in line.split(_META_SEPARATOR):
        part = part.strip()
        if not part:
            continue
        key, colon, value = part.partition(":")
        name = " ".join(key.split()).lower()
        if not colon or name not in _META_KEYS:
            known = ", ".join(k.capitalize() for k in _META_KEYS)
            warnings.append(f"unknown metadata {part[:40]!r} ignored (known keys: {known})")
            continue
        meta[name] = " ".join(value.split())
    return meta


def _url(meta: dict[str, str]) -> str:
    value = meta.get("url") or meta.get("link") or ""
    return checked_url(value, "URL") if value else ""


def _topics(field_value: str, topics_section: str) -> list[str]:
    """Area and sub-areas from 'Area — Sub, Sub', then any listed under Topics; lower-cased."""
    raw = re.split(r"\s*[—–,]\s*|\n", field_value) + re.split(r"\s*,\s*|\n", topics_section)
    seen: dict[str, None] = {}
    for item in raw:
        topic = " ".join(item.lstrip("-•* ").split()).lower()
        if topic:
            seen.setdefault(topic, None)
    return list(seen)


def _insights(text: str) -> list[str]:
    """One insight per line (exports flatten lists), or per bullet when the lines are bullets."""
    if any(line.lstrip().startswith(("-", "*", "•")) for line in text.splitlines()):
        return bullet_items(text)
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def _depth(value: str) -> tuple[str, str]:
    """'Intermediate, short' -> ('intermediate', 'short')."""
    level, _, length = value.partition(",")
    return " ".join(level.split()).lower(), " ".join(length.split()).lower()
