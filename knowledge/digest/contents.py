"""The Digest model: an intro, then the window's articles grouped by topic."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field


class DigestEntry(BaseModel):
    """One article as the digest lists it."""

    n: int = Field(description="Position in the digest, 1-based; the intro's [n] refers to it.")
    title: str
    url: str
    publisher: str = ""
    takeaway: str = ""
    best_for: list[str] = Field(default_factory=list)
    article_id: str = ""
    curated: datetime | None = None


class DigestSection(BaseModel):
    """The articles of one topic (an article's primary topic is its first one)."""

    topic: str
    articles: list[DigestEntry] = Field(default_factory=list)


class IntroCitation(BaseModel):
    """An article the LLM-written intro cites as [n]."""

    n: int
    title: str
    url: str
    publisher: str = ""


class Digest(BaseModel):
    """What a digest says, independent of where it is shown."""

    date: date
    start: datetime = Field(description="Window start (inclusive), aware, in the digest timezone.")
    end: datetime = Field(description="Window end (exclusive), aware, in the digest timezone.")
    timezone: str = "UTC"
    daily: bool = Field(default=True, description="A daily digest, not an explicit date range.")
    intro: str
    intro_mode: Literal["llm", "template"] = "template"
    sections: list[DigestSection] = Field(default_factory=list)
    article_count: int = 0
    citations: list[IntroCitation] = Field(
        default_factory=list, description="Articles the LLM-written intro cites; empty otherwise."
    )

    @property
    def empty(self) -> bool:
        return self.article_count == 0

    def entries(self) -> Iterator[DigestEntry]:
        """Every listed article in reading order."""
        for section in self.sections:
            yield from section.articles
