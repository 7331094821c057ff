"""Parsing the options of /ask: the `since` date and the topic choices offered while typing."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, timedelta

from knowledge.errors import InputError

MAX_CHOICES = 25
CHOICE_LIMIT = 100

_RELATIVE = re.compile(
    r"^(?P<n>\d{1,4})\s*(?P<unit>d|day|days|w|week|weeks|m|month|months|y|year|years)$"
)
_UNIT_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}


def parse_since(text: str | None, today: date) -> date | None:
    """'2024-05-01', '7d', '2w', '3m' or '1y' -> a date; empty -> None; else InputError."""
    if text is None or not text.strip():
        return None
    value = text.strip().lower()
    match = _RELATIVE.match(value)
    if match:
        days = int(match.group("n")) * _UNIT_DAYS[match.group("unit")[0]]
        return today - timedelta(days=days)
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"I couldn't read `since: {text.strip()[:40]}`: use a date like 2024-05-01 "
            "or a period like 7d, 2w, 3m or 1y."
        ) from None
    if parsed > today:
        raise InputError(f"`since: {parsed.isoformat()}` is in the future.")
    return parsed


def topic_choices(topics: Sequence[str], typed: str) -> list[str]:
    """At most 25 topics matching what is typed: prefix matches first, then substring matches."""
    needle = typed.strip().casefold()
    unique = sorted({t for t in topics if t and len(t) <= CHOICE_LIMIT}, key=str.casefold)
    if not needle:
        return unique[:MAX_CHOICES]
    starts = [t for t in unique if t.casefold().startswith(needle)]
    contains = [t for t in unique if needle in t.casefold() and t not in starts]
    return (starts + contains)[:MAX_CHOICES]
