"""What loading a batch of sources produced: articles, failures and skipped files."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field

from knowledge.models import Article, IngestFailure, IngestWarning, Pairing


class LoadResult(BaseModel):
    """Articles read from a batch of sources, with every problem named by file and reason."""

    articles: list[Article] = Field(default_factory=list)
    failures: list[IngestFailure] = Field(default_factory=list)
    skipped: list[str] = Field(
        default_factory=list, description="Files of an unsupported type found in directories."
    )
    warnings: list[IngestWarning] = Field(default_factory=list)
    paired: list[Pairing] = Field(default_factory=list)
    feeds: list[str] = Field(
        default_factory=list, description="URL sources that answered with a feed this time."
    )


#: What an entry is to pairing: a card export (editorial fields, no original text), an
#: original article's text (no editorial fields), or a complete article.
Role = Literal["article", "card", "text"]


@dataclass
class SourceBatch:
    """What one file or URL yielded, before batch-wide checks such as duplicate URLs.

    Each article comes with `where`: the most precise place to name in a report
    (``file``, ``file[#3]`` or ``file:line 7``), while `Article.origin` stays the file or URL.
    """

    entries: list[tuple[str, Article, Role]] = field(default_factory=list)
    failures: list[IngestFailure] = field(default_factory=list)
    warnings: list[IngestWarning] = field(default_factory=list)
    is_feed: bool = False

    def add(self, where: str, article: Article, role: Role = "article") -> None:
        """Record one article read from `where`, with its role in pairing."""
        self.entries.append((where, article, role))

    def warn(self, where: str, message: str) -> None:
        """Record something accepted that a person should know about."""
        self.warnings.append(IngestWarning(path=where, message=message))

    def fail(self, where: str, reason: str) -> None:
        """Record one record or entry that could not be used."""
        self.failures.append(IngestFailure(path=where, reason=reason))
