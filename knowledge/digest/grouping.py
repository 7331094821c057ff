"""Articles -> topic sections, numbered in the order a reader meets them."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

from knowledge.digest.contents import DigestEntry, DigestSection
from knowledge.models import Article, to_utc_datetime

GENERAL_TOPIC = "General"
_TAKEAWAY_LIMIT = 280
_FIRST_SENTENCE = re.compile(r"^(.+?[.!?])(?:\s|$)", re.DOTALL)
_OLDEST = datetime.min.replace(tzinfo=UTC)


def primary_topic(article: Article) -> str:
    """The first non-blank topic of a card, or "General"."""
    for topic in article.topics:
        if topic.strip():
            return topic.strip()
    return GENERAL_TOPIC


def one_line_takeaway(article: Article) -> str:
    """The card's key takeaway on one line; the summary's first sentence when a card has none."""
    text = article.key_takeaway.strip()
    if not text:
        summary = " ".join(article.summary.split())
        match = _FIRST_SENTENCE.match(summary)
        text = match.group(1) if match else summary
    text = " ".join(text.split())
    if len(text) > _TAKEAWAY_LIMIT:
        text = text[: _TAKEAWAY_LIMIT - 1].rstrip() + "…"
    return text


def _curated_key(article: Article) -> datetime:
    return to_utc_datetime(article.curated) if article.curated is not None else _OLDEST


def group_by_topic(articles: Sequence[Article]) -> list[DigestSection]:
    """Sections by primary topic: biggest first, then A-Z, "General" last; newest article first.

    Topics differing only in case are one section, named with its most used spelling
    (capitalised preferred on a tie, so "retrieval" and "Retrieval" show as "Retrieval").
    """
    buckets: dict[str, list[Article]] = {}
    spellings: dict[str, Counter[str]] = {}
    seen_ids: set[str] = set()
    for article in articles:
        # An index may hold the same card twice under different origins; list it once.
        if article.id in seen_ids:
            continue
        seen_ids.add(article.id)
        topic = primary_topic(article)
        buckets.setdefault(topic.casefold(), []).append(article)
        spellings.setdefault(topic.casefold(), Counter())[topic] += 1

    def section_order(item: tuple[str, list[Article]]) -> tuple[bool, int, str]:
        key, members = item
        return (key == GENERAL_TOPIC.casefold(), -len(members), key)

    def display_name(key: str) -> str:
        counts = spellings[key]
        return max(counts, key=lambda name: (counts[name], name != name.lower(), name))

    sections: list[DigestSection] = []
    n = 0
    for key, members in sorted(buckets.items(), key=section_order):
        members.sort(key=lambda a: a.title.casefold())
        members.sort(key=_curated_key, reverse=True)
        entries = []
        for article in members:
            n += 1
            entries.append(
                DigestEntry(
                    n=n,
                    title=" ".join(article.title.split()) or article.url or "(untitled)",
                    url=article.url,
                    publisher=article.publisher.strip(),
                    takeaway=one_line_takeaway(article),
                    best_for=[b.strip() for b in article.best_for if b.strip()],
                    article_id=article.id,
                    curated=article.curated,
                )
            )
        sections.append(DigestSection(topic=display_name(key), articles=entries))
    return sections
