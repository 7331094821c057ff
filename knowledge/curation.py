"""Serving the curated collection itself: the latest cards, reading recommendations, one card.

Everything here reads the catalog's cards (title, topics, depth, best for, summary); nothing is
embedded or searched. Front ends (Discord, CLI) render what these functions return.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from knowledge.answers.terms import key_terms
from knowledge.errors import InputError
from knowledge.models import Article
from knowledge.store.filter_keys import filter_key
from knowledge.text import stems

MAX_DAYS = 3_650
MAX_RESULTS = 25
DEPTHS = ("intro", "intermediate", "deep")
CHOICE_LIMIT = 100


class ArticleIndex(Protocol):
    """What curation and the digest read of an index: its cards, newest curated first."""

    def list_articles(
        self,
        topic: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Article]: ...


class CardCache:
    """Every card, read once per `ttl` seconds: autocomplete runs on each keystroke.

    Filtered reads (a topic, a period) go straight to the index; a reindex shows up in the
    cached list within `ttl` seconds.
    """

    def __init__(
        self, index: ArticleIndex, ttl: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._index = index
        self._ttl = ttl
        self._clock = clock
        self._cards: list[Article] | None = None
        self._read_at = 0.0

    def list_articles(
        self,
        topic: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Article]:
        """The cards, newest first (the cached list when unfiltered)."""
        if topic is not None or since is not None or until is not None:
            return self._index.list_articles(topic=topic, since=since, until=until)
        now = self._clock()
        if self._cards is None or now - self._read_at >= self._ttl:
            self._cards = self._index.list_articles()
            self._read_at = now
        return list(self._cards)


@dataclass(frozen=True)
class Recommendation:
    """An article recommended for a reader, with why: the 'best for' line and fit scores."""

    article: Article
    best_for: str
    role_fit: float
    topic_fit: float


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_RESULTS:
        raise InputError(f"Ask for between 1 and {MAX_RESULTS} articles, not {limit}.")


def _known_topic(articles: Sequence[Article], topic: str) -> str | None:
    # Compared as every filter compares topics (filter_key), so a topic the search filter
    # accepts is one this finds.
    wanted = filter_key(topic)
    return next((t for a in articles for t in a.topics if filter_key(t) == wanted), None)


def latest(
    index: ArticleIndex,
    topic: str | None = None,
    days: int | None = None,
    *,
    limit: int = 10,
    now: datetime | None = None,
) -> list[Article]:
    """The newest curated articles, optionally on a topic and within the last `days` days.

    Raises InputError for days outside 1..3650 or a limit outside 1..25.
    """
    _check_limit(limit)
    since = None
    if days is not None:
        if not 1 <= days <= MAX_DAYS:
            raise InputError(f"`days` must be between 1 and {MAX_DAYS}, not {days}.")
        since = (now or datetime.now(UTC)) - timedelta(days=days)
    topic = topic.strip() if topic and topic.strip() else None
    return index.list_articles(topic=topic, since=since)[:limit]


def _stemmed(text: str) -> set[str]:
    return stems(key_terms(text))


def _role_fit(role_terms: set[str], best_for: str) -> float:
    """Share of the role's words found in one 'best for' line (1.0: all of them)."""
    if not role_terms:
        return 0.0
    return len(role_terms & _stemmed(best_for)) / len(role_terms)


def _topic_fit(article: Article, topic: str, topic_terms: set[str]) -> float:
    """1.0 for an article tagged with the topic, else the share of its words in the card."""
    if any(t.casefold() == topic.casefold() for t in article.topics):
        return 1.0
    if not topic_terms:
        return 0.0
    card = " ".join([article.title, " ".join(article.topics), article.summary])
    return 0.8 * len(topic_terms & _stemmed(card)) / len(topic_terms)


def recommend(
    index: ArticleIndex,
    role: str | None = None,
    depth: str | None = None,
    topic: str | None = None,
    *,
    limit: int = 5,
) -> list[Recommendation]:
    """Articles whose 'best for' fits `role` and whose depth is `depth`, ranked by topic fit.

    Without a topic, the best role fit comes first, then the newest. An unknown depth raises
    InputError naming the valid ones; a role or topic nothing matches gives an empty list.
    """
    _check_limit(limit)
    depth = depth.strip().casefold() if depth and depth.strip() else None
    if depth is not None and depth not in DEPTHS:
        raise InputError(f"Depth must be one of {', '.join(DEPTHS)}, not “{depth[:40]}”.")
    role = role.strip() if role and role.strip() else None
    topic = topic.strip() if topic and topic.strip() else None
    role_terms = _stemmed(role) if role else set()
    topic_terms = _stemmed(topic) if topic else set()
    found: list[tuple[int, Recommendation]] = []
    for order, article in enumerate(index.list_articles()):
        if depth is not None and article.depth.casefold() != depth:
            continue
        best_for, role_fit = "", 0.0
        for line in article.best_for:
            fit = (
                1.0 if role and line.casefold() == role.casefold() else _role_fit(role_terms, line)
            )
            if fit > role_fit or not best_for:
                best_for, role_fit = line, fit
        if role is not None and role_fit == 0:
            continue
        topic_fit = _topic_fit(article, topic, topic_terms) if topic else 0.0
        if topic is not None and topic_fit == 0:
            continue
        found.append((order, Recommendation(article, best_for, role_fit, topic_fit)))
    # list_articles is newest first, so `order` breaks ties in favour of newer cards.
    found.sort(key=lambda item: (-item[1].topic_fit, -item[1].role_fit, item[0]))
    return [rec for _, rec in found[:limit]]


def find_article(
    index: ArticleIndex, title: str, *, hint: str = "start typing to pick one"
) -> Article:
    """The card titled `title` (exact, then prefix, then substring, case-insensitive), or its id.

    Raises InputError when no title matches, naming the closest ones when several do; `hint`
    (how this front end lists titles) ends the message for an empty or unknown title.
    """
    wanted = title.strip().casefold()
    if not wanted:
        raise InputError(f"Give the title of an article ({hint}).")
    articles = index.list_articles()
    for test in (
        lambda a: a.title.casefold() == wanted or a.id == wanted,
        lambda a: a.title.casefold().startswith(wanted),
        lambda a: wanted in a.title.casefold(),
    ):
        matches = [a for a in articles if test(a)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            names = "; ".join(f"“{a.title}”" for a in matches[:5])
            raise InputError(f"Several articles match “{title.strip()[:60]}”: {names}.")
    raise InputError(f"No article is titled “{title.strip()[:60]}”; {hint}.")


def matching_choices(values: Iterable[str], typed: str, limit: int = MAX_RESULTS) -> list[str]:
    """At most `limit` distinct values (of at most CHOICE_LIMIT characters, Discord's cap on a
    choice) matching what is typed, case-insensitively: prefix matches first, then substring
    matches, each sorted; all values (sorted) when nothing is typed."""
    needle = typed.strip().casefold()
    unique = sorted({v for v in values if v and len(v) <= CHOICE_LIMIT}, key=str.casefold)
    starts = [v for v in unique if v.casefold().startswith(needle)]
    contains = [v for v in unique if needle in v.casefold() and v not in starts]
    return (starts + contains)[:limit]


def role_choices(index: ArticleIndex, typed: str, limit: int = MAX_RESULTS) -> list[str]:
    """'Best for' lines of the indexed cards that match what is typed (for autocomplete)."""
    lines = (line for a in index.list_articles() for line in a.best_for)
    return matching_choices(lines, typed, limit)


def depth_choices(index: ArticleIndex, typed: str, limit: int = MAX_RESULTS) -> list[str]:
    """The depths indexed cards have, in reading order, matching what is typed."""
    present = {a.depth.casefold() for a in index.list_articles() if a.depth}
    ordered = [d for d in DEPTHS if d in present] + sorted(present - set(DEPTHS))
    needle = typed.strip().casefold()
    return [d for d in ordered if needle in d][:limit]


def title_choices(index: ArticleIndex, typed: str, limit: int = MAX_RESULTS) -> list[str]:
    """Titles of indexed cards matching what is typed (for autocomplete)."""
    return matching_choices((a.title for a in index.list_articles()), typed, limit)


def topic_of(index: ArticleIndex, topic: str) -> str:
    """The indexed spelling of `topic`; InputError when no article has it."""
    found = _known_topic(index.list_articles(), topic)
    if found is None:
        raise InputError(f"No article has the topic “{topic.strip()[:60]}”.")
    return found


def _closest(wanted: str, known: Iterable[str], limit: int = 3) -> list[str]:
    """Up to `limit` known values spelled most like `wanted` (difflib), in their own spelling;
    the first few known ones when none is close."""
    by_key: dict[str, str] = {}
    for value in sorted(known, key=str.casefold):
        by_key.setdefault(filter_key(value), value)
    close = difflib.get_close_matches(filter_key(wanted), list(by_key), n=limit, cutoff=0.5)
    if not close:
        # Also a word of the wanted value inside a known one: "ethics" → "AI ethics".
        words = set(filter_key(wanted).split())
        close = [k for k in by_key if words & set(k.split())][:limit]
    return [by_key[k] for k in close] or list(by_key.values())[:limit]


def unknown_filters(
    index: ArticleIndex, topic: str | None = None, publisher: str | None = None
) -> list[str]:
    """One sentence per filter value no indexed article has (a topic, a publisher), naming the
    closest known ones; empty when every given value is known."""
    articles = index.list_articles()
    problems = []
    if topic and topic.strip():
        topics = {t for a in articles for t in a.topics}
        if filter_key(topic) not in {filter_key(t) for t in topics}:
            problems.append(_unknown("topic", topic, _closest(topic, topics)))
    if publisher and publisher.strip():
        publishers = {a.publisher for a in articles if a.publisher}
        if filter_key(publisher) not in {filter_key(p) for p in publishers}:
            problems.append(_unknown("publisher", publisher, _closest(publisher, publishers)))
    return problems


def _unknown(what: str, value: str, closest: list[str]) -> str:
    sentence = f"No indexed article has the {what} “{value.strip()[:60]}”"
    if not closest:
        return sentence + " (the index is empty)."
    return sentence + "; closest: " + ", ".join(f"“{c}”" for c in closest) + "."
