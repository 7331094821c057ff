"""What a question says about who published its answer, or when: soft hints for ranking.

"What did the arXiv paper say about…" names a publisher the catalog knows; "articles from last
week on…" names a period. Search then favours candidates from that publisher or period by a
share of the candidates' score range: a strong match from elsewhere still wins, so a hint never
hides the only article that answers (it is not a filter; `SearchFilters` are).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from knowledge.candidate import Candidate
from knowledge.models import Chunk, date_to_number
from knowledge.store.filter_keys import filter_key

#: How much a matching candidate's lead over the median candidate grows, per hint it matches.
BOOST_SHARE = 0.75
#: Publisher names shorter than this are too likely to be ordinary words in a question.
_MIN_NAME = 3
#: "Recent" means about a month in a collection curated daily.
_RECENT_DAYS = 30

_NUMBERS = {
    "a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "few": 3, "couple of": 2,
}  # fmt: skip
_LAST_N = re.compile(
    r"\b(?:last|past|previous)\s+(\d{1,3}|" + "|".join(_NUMBERS) + r")\s+(day|week|month|year)s?\b"
)
_LAST_UNIT = re.compile(r"\b(last|past|previous|this)\s+(week|month|year)\b")
# A year on its own ("in 2024", "a 2022 paper"), not part of a number, a decade or a name.
_YEAR = re.compile(r"(?<![\w.,-])((?:19|20)\d\d)(?![\w.,%-])")
_RECENT = re.compile(r"\b(recent|recently|latest|newest)\b")


@dataclass(frozen=True)
class Period:
    """Days from `start` (inclusive) to `end` (exclusive)."""

    start: date
    end: date

    def holds(self, day_number: int) -> bool:
        """Whether a YYYYMMDD number (0: unknown) falls in the period."""
        return bool(day_number) and (
            date_to_number(self.start) <= day_number < date_to_number(self.end)
        )


@dataclass(frozen=True)
class QueryHints:
    """Publishers (as filter keys) and a period a question names; both may be empty."""

    publishers: frozenset[str] = frozenset()
    period: Period | None = None

    def __bool__(self) -> bool:
        return bool(self.publishers) or self.period is not None


def _aliases(publisher: str) -> set[str]:
    """How a question may name `publisher`: its name, or a host name's main label."""
    # "The Gradient" is not named by "gradient descent": a leading "The" stays part of the name.
    name = filter_key(publisher)
    aliases = {name}
    host = re.fullmatch(r"(?:www\.)?([a-z0-9-]+)\.[a-z.]{2,}", name)
    if host:
        aliases.add(host.group(1))
    return {a for a in aliases if len(a) >= _MIN_NAME}


class PublisherNames:
    """Finds the catalog's publishers named in a question: one compiled pattern for them all."""

    def __init__(self, publishers: Iterable[str]) -> None:
        self._publisher_of: dict[str, str] = {}
        for publisher in publishers:
            stored = filter_key(publisher)
            for alias in _aliases(publisher):
                self._publisher_of.setdefault(alias, stored)
        # Longest first, so "the gradient" wins over a shorter alias inside it.
        aliases = sorted(self._publisher_of, key=len, reverse=True)
        self._pattern = (
            re.compile(r"(?<!\w)(" + "|".join(map(re.escape, aliases)) + r")(?!\w)")
            if aliases
            else None
        )

    def find(self, question: str) -> frozenset[str]:
        """The publishers (as filter keys) the question names as whole words."""
        if self._pattern is None:
            return frozenset()
        text = filter_key(question)
        return frozenset(self._publisher_of[m.group(1)] for m in self._pattern.finditer(text))


def find_publishers(question: str, publishers: Iterable[str]) -> frozenset[str]:
    """The publishers (as filter keys) `question` names; build PublisherNames once to reuse it."""
    return PublisherNames(publishers).find(question)


def _back(today: date, n: int, unit: str) -> date:
    """`n` days, weeks, months or years before `today` (calendar months, clamped to month end)."""
    if unit in ("day", "week"):
        return today - timedelta(days=n * (7 if unit == "week" else 1))
    months = n * (12 if unit == "year" else 1)
    index = today.year * 12 + today.month - 1 - months
    year, month = divmod(index, 12)
    first_of_next = date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    return date(year, month + 1, min(today.day, (first_of_next - timedelta(days=1)).day))


def find_period(question: str, today: date) -> Period | None:
    """The period a question names ("last week", "past 3 months", "in 2024", "recently"…)."""
    text = " ".join(question.casefold().split())
    tomorrow = today + timedelta(days=1)
    if match := _LAST_N.search(text):
        amount = match.group(1)
        n = int(amount) if amount.isdigit() else _NUMBERS[amount]
        return Period(_back(today, n, match.group(2)), tomorrow)
    if match := _LAST_UNIT.search(text):
        which, unit = match.groups()
        if which == "this":
            starts = {
                "week": today - timedelta(days=today.weekday()),
                "month": today.replace(day=1),
                "year": today.replace(month=1, day=1),
            }
            return Period(starts[unit], tomorrow)
        if unit == "year":
            return Period(date(today.year - 1, 1, 1), date(today.year, 1, 1))
        return Period(_back(today, 1, unit), tomorrow)
    # Not "today": "LLMs today" means the present, not one day's articles.
    if re.search(r"\byesterday\b", text):
        return Period(today - timedelta(days=1), today)
    if match := _YEAR.search(text):
        year = int(match.group(1))
        return Period(date(year, 1, 1), date(year + 1, 1, 1))
    if _RECENT.search(text):
        return Period(today - timedelta(days=_RECENT_DAYS), tomorrow)
    return None


def read_hints(question: str, publishers: PublisherNames, today: date) -> QueryHints:
    """Publisher and period hints of `question`, given the publishers the catalog holds."""
    return QueryHints(publishers.find(question), find_period(question, today))


def favour_hinted(
    candidates: Sequence[Candidate], chunks: Mapping[str, Chunk], hints: QueryHints
) -> list[Candidate]:
    """Candidates re-ranked so those whose article matches a hint gain; best first.

    A matching candidate's lead over the median candidate (the level of chunks that merely
    share a word with the question) grows by BOOST_SHARE per hint it matches. Scale-free, so it
    works on z-score and reciprocal-rank scores alike; it tips the balance between comparable
    matches, and leaves a candidate at or below the median where it was, so naming a
    publisher never brings up its unrelated articles.
    """
    if not candidates or not hints:
        return list(candidates)
    scores = sorted(c.score for c in candidates)
    median = scores[len(scores) // 2]
    for candidate in candidates:
        chunk = chunks.get(candidate.id)
        if chunk is None or candidate.score <= median:
            continue
        matched = 0
        if hints.publishers and filter_key(chunk.publisher) in hints.publishers:
            matched += 1
        period = hints.period
        if period is not None and (period.holds(chunk.published) or period.holds(chunk.curated)):
            matched += 1
        if matched:
            boost = matched * BOOST_SHARE * (candidate.score - median)
            candidate.extra["hint_boost"] = boost
            candidate.score += boost
    return sorted(candidates, key=lambda c: (-c.score, c.id))
