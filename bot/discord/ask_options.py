"""The options of /ask: the `since` date (read by knowledge.periods) and the topic choices."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from discord.utils import escape_markdown

from knowledge import curation, periods
from knowledge.errors import InputError

MAX_CHOICES = 25


def parse_since(text: str | None, today: date) -> date | None:
    """The `since:` option read by knowledge.periods (like the CLI's `--since`); InputError
    naming the option otherwise."""
    try:
        return periods.parse_since(text, today)
    except InputError as exc:
        # The reason quotes what was typed: shown as typed, not as Markdown.
        raise InputError(f"`since:` {escape_markdown(str(exc))}.") from None


def topic_choices(topics: Sequence[str], typed: str) -> list[str]:
    """At most 25 topics matching what is typed: prefix matches first, then substring matches."""
    return curation.matching_choices(topics, typed, MAX_CHOICES)
