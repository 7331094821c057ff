"""Splitting a card's Markdown body into its editorial sections by heading."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from knowledge.headings import HEADING, split_sections

_BULLET = re.compile(r"^ {0,3}(?:[-*+]|\d{1,3}[.)])[ \t]+(.*)$")

#: A card's section heading (lower-cased, trailing colon dropped) -> where its text goes;
#: shared with card exports (card_export.py), which add their own headings.
CARD_SECTIONS = {
    "summary": "summary",
    "key takeaway": "key_takeaway",
    "key takeaways": "key_takeaway",
    "key insights": "key_insights",
    "principles": "Principles",
    "method": "Method",
    "in practice": "In practice",
}
#: The editorial sections, kept in Article.sections in this order.
EDITORIAL_SECTIONS = ("Principles", "Method", "In practice")
_KNOWN = {**CARD_SECTIONS, "article": "article"}


def section_name(text: str) -> str:
    """A heading as the section tables key it: words single-spaced, lower-cased, no colon."""
    return " ".join(text.strip().rstrip(":").split()).lower()


@dataclass
class CardBody:
    """The parts of a card body, keyed as Article fields."""

    summary: str = ""
    key_takeaway: str = ""
    key_insights: list[str] = field(default_factory=list)
    sections: dict[str, str] = field(default_factory=dict)
    body: str = ""


def heading_key(text: str) -> str | None:
    """Which known section a heading opens, matched case-insensitively, or None."""
    return _KNOWN.get(section_name(text))


def read_card_body(markdown: str) -> CardBody:
    """Sort the body's lines into known sections; the rest is the body unless "Article" exists."""
    parts: dict[str, list[str]] = {}
    rest: list[str] = []
    current: str | None = None
    current_level = 0
    for section in split_sections(markdown):
        if section.level:
            key = heading_key(section.heading)
            # The original text keeps its own headings, even one called "Method" or "Summary".
            nested = current is not None and section.level > current_level
            if key and not (nested and current == "article"):
                current, current_level = key, section.level
                parts.setdefault(key, []).extend(section.lines)
                continue
            if not nested:
                current = None
        lines = [section.line, *section.lines] if section.level else section.lines
        (parts[current] if current else rest).extend(lines)

    text = {key: "\n".join(lines).strip() for key, lines in parts.items()}
    body = text["article"] if "article" in text else _rest_text(rest)
    return CardBody(
        summary=text.get("summary", ""),
        key_takeaway=" ".join(text.get("key_takeaway", "").split()),
        key_insights=bullet_items(text.get("key_insights", "")),
        sections={name: text[name] for name in EDITORIAL_SECTIONS if text.get(name)},
        body=body,
    )


def _rest_text(lines: list[str]) -> str:
    """Text outside known sections; headings alone (a title line) are not a body."""
    has_text = any(line.strip() and not HEADING.match(line) for line in lines)
    return "\n".join(lines).strip() if has_text else ""


def bullet_items(text: str) -> list[str]:
    """Items of a bullet or numbered list, continuation lines joined; paragraphs if no list."""
    items: list[str] = []
    in_item = False
    for line in text.splitlines():
        bullet = _BULLET.match(line)
        if bullet:
            items.append(bullet.group(1).strip())
            in_item = True
        elif in_item and line.strip() and (line[:1].isspace() or not HEADING.match(line)):
            items[-1] = f"{items[-1]} {line.strip()}"
        else:
            in_item = False
    if items:
        return [" ".join(item.split()) for item in items if item.strip()]
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return [" ".join(p.split()) for p in paragraphs if p.strip()]
