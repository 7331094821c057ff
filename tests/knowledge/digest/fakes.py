"""Test doubles for the digest: a fake article index, card factories, settings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from knowledge.digest.contents import Digest
from knowledge.digest.engine import DigestService
from knowledge.models import Article
from knowledge.settings import Settings
from tests.support.settings import make_settings


class FakeArticleIndex:
    """The index's list_articles contract over a list: curated in [since, until), newest first."""

    def __init__(self, articles: list[Article]) -> None:
        self.articles = articles
        self.calls: list[tuple[datetime | None, datetime | None]] = []

    def list_articles(
        self,
        topic: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Article]:
        self.calls.append((since, until))
        found = [
            a
            for a in self.articles
            if a.curated is not None
            and (since is None or a.curated >= since)
            and (until is None or a.curated < until)
            and (topic is None or topic.casefold() in (t.casefold() for t in a.topics))
        ]
        return sorted(found, key=lambda a: a.curated or datetime.min, reverse=True)


def card(
    slug: str,
    curated: datetime,
    topics: list[str] | None = None,
    title: str | None = None,
    takeaway: str | None = None,
    best_for: list[str] | None = None,
) -> Article:
    """An article card curated at `curated` (an aware datetime)."""
    return Article(
        title=title or f"Article {slug}",
        url=f"https://articles.example/{slug}",
        publisher="Example Review",
        curated=curated,
        topics=topics if topics is not None else ["Retrieval"],
        key_takeaway=takeaway if takeaway is not None else f"The point of {slug}.",
        best_for=best_for if best_for is not None else ["engineers"],
        summary=f"A summary of {slug}. It has two sentences.",
    )


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An aware UTC datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def digest_settings(
    tmp_path: Path,
    time: str = "09:00",
    timezone: str = "UTC",
    llm_base_url: str | None = None,
    **digest: object,
) -> Settings:
    """make_settings on tmp_path/data with this digest group, an LLM only when a base URL is given.

    No sources: a digest reads a fake or an explicitly ingested index, and a bot built on these
    settings schedules no refresh of the sample articles.
    """
    llm = {"base_url": llm_base_url, "retries": 0, "timeout": 5} if llm_base_url else {}
    return make_settings(
        tmp_path / "data",
        knowledge={"sources": []},
        llm=llm,
        digest={"time": time, "timezone": timezone, **digest},
    )


async def built(service: DigestService, **request: Any) -> Digest:
    """`service.build(**request)`, then its LLM client closed on this event loop (a test's
    loop ends with the test, and a client left open leaks its sockets)."""
    try:
        return await service.build(**request)
    finally:
        await service.aclose()
