"""The intro written without an LLM: counts, topics and one article to start with."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from knowledge.digest.contents import DigestSection
from knowledge.digest.window import DigestWindow

_MAX_TOPICS_NAMED = 6
_HIGHLIGHT_LIMIT = 200


def human_date(day: date) -> str:
    """'23 Nov 2026': unambiguous in every locale."""
    return f"{day.day} {day:%b %Y}"


def period_phrase(window: DigestWindow) -> str:
    """How the intro names the window: 'since the last digest' or 'between 10 and 23 Nov 2026'."""
    if window.daily:
        return "since the last digest"
    first, last = window.first_day, window.last_day
    if first == last:
        return f"on {human_date(first)}"
    return f"between {human_date(first)} and {human_date(last)}"


def _join(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _count(n: int, noun: str) -> str:
    return f"{'One' if n == 1 else n} {noun}{'' if n == 1 else 's'}"


def empty_intro(window: DigestWindow) -> str:
    """The 'nothing new' message of a window without articles."""
    if window.daily:
        return "Nothing new today: no articles were curated since the last digest."
    return f"Nothing to report: no articles were curated {period_phrase(window)}."


def template_intro(sections: Sequence[DigestSection], window: DigestWindow) -> str:
    """A short, plain intro from the sections alone."""
    total = sum(len(s.articles) for s in sections)
    if total == 0:
        return empty_intro(window)
    verb = "was" if total == 1 else "were"
    adjective = "new " if window.daily else ""
    opening = f"{_count(total, adjective + 'article')} {verb} curated {period_phrase(window)}"
    if len(sections) == 1:
        topic = sections[0].topic
        opening += f", on {topic}." if total == 1 else f", all on {topic}."
    else:
        named = [f"{s.topic} ({len(s.articles)})" for s in sections[:_MAX_TOPICS_NAMED]]
        rest = len(sections) - len(named)
        if rest:
            named.append(f"{rest} more")
        opening += f", across {len(sections)} topics: {_join(named)}."
    return f"{opening} {_highlight(sections)}".strip()


def _highlight(sections: Sequence[DigestSection]) -> str:
    first = sections[0].articles[0]
    takeaway = first.takeaway
    if len(takeaway) > _HIGHLIGHT_LIMIT:
        takeaway = takeaway[: _HIGHLIGHT_LIMIT - 1].rstrip() + "…"
    if not takeaway:
        return f"Start with “{first.title}”."
    end = "" if takeaway[-1] in ".!?…" else "."
    return f"Start with “{first.title}”: {takeaway}{end}"
