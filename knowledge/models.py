"""Typed models that flow through Curator: Article -> Chunk -> Hit -> Answer."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, field_validator

from knowledge.url_credentials import without_url_credentials

ChunkKind = Literal["summary", "chunk"]

#: Part of every article's content hash. Bump it when the loaders make different text of the same
#: source (e.g. a new normalisation), so the next reindex re-chunks and re-embeds every article.
#: 2: NFKC, format/control characters and terminal escapes removed at ingest.
ARTICLE_FORMAT_VERSION = "2"


def article_id_for(url: str) -> str:
    """Stable id of an article: derived from its canonical URL."""
    return hashlib.sha1(url.strip().encode("utf-8")).hexdigest()[:16]


def title_key(text: str) -> str:
    """A title (or publisher) compared loosely: case, punctuation, quotes and spacing ignored."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = (ch if ch.isalnum() else " " for ch in folded)
    return " ".join("".join(kept).split())


def unlinked_article_id(title: str, publisher: str) -> str:
    """Stable id of an article without a URL: its normalised title and publisher."""
    key = f"no-link:{title_key(title)}|{title_key(publisher)}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def date_to_number(value: date | datetime | None) -> int:
    """A sortable number for Chroma metadata filters: YYYYMMDD, 0 when unknown."""
    if value is None:
        return 0
    return value.year * 10_000 + value.month * 100 + value.day


def to_utc_datetime(value: date | datetime) -> datetime:
    """Dates become midnight UTC; naive datetimes are taken as UTC."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, time.min, tzinfo=UTC)


class Article(BaseModel):
    """One curated article card: the editorial fields plus the original text."""

    title: str
    url: str = Field(
        default="", description="The original article's URL; '' when the source gave none."
    )
    publisher: str = Field(
        default="",
        # Catalogs written before the rename hold the publisher under "source".
        validation_alias=AliasChoices("publisher", "source"),
        description="The publisher of the original article.",
    )
    author: str = ""
    curator: str = Field(default="", description="Who curated the card, e.g. the curation site.")
    published: datetime | None = None
    curated: datetime | None = None
    curated_is_date: bool = Field(
        default=False,
        description="`curated` was given as a calendar date (stored as its midnight UTC).",
    )
    topics: list[str] = Field(default_factory=list)
    depth: str = ""
    length: str = Field(default="", description="Reading length from a card export: short, long…")
    best_for: list[str] = Field(default_factory=list)
    summary: str = ""
    key_takeaway: str = ""
    key_insights: list[str] = Field(default_factory=list)
    sections: dict[str, str] = Field(
        default_factory=dict,
        description="Other editorial sections by name: Principles, Method, In practice.",
    )
    body: str = ""
    origin: str = Field(default="", description="The file or URL the card was read from.")
    text_origin: str = Field(
        default="", description="The file the original text came from, when paired with a card."
    )

    @property
    def id(self) -> str:
        """From the URL; from the normalised title and publisher when there is no URL."""
        return article_id_for(self.url) if self.url else self.unlinked_id

    @property
    def unlinked_id(self) -> str:
        """The id this article has (or would have) without its URL."""
        return unlinked_article_id(self.title, self.publisher)

    def content_hash(self) -> str:
        """Hash of everything indexed, so an unchanged card is never re-embedded."""
        payload: dict[str, object] = self.model_dump(mode="json", exclude={"origin", "text_origin"})
        # Hashed under the field's name before the rename to "publisher", so articles indexed
        # then keep their hash and are not re-embedded.
        payload["source"] = payload.pop("publisher")
        payload["format_version"] = ARTICLE_FORMAT_VERSION
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")
        return hashlib.sha256(blob).hexdigest()


class Chunk(BaseModel):
    """One indexed chunk: the article summary or a piece of its body."""

    id: str
    article_id: str
    kind: ChunkKind
    position: int
    text: str
    title: str
    url: str
    publisher: str = Field(
        default="",
        # Catalogs written before the rename hold the publisher under "source".
        validation_alias=AliasChoices("publisher", "source"),
    )
    author: str = ""
    published: int = 0
    curated: int = 0
    topics: list[str] = Field(default_factory=list)
    heading: str = ""

    def embedding_text(self) -> str:
        """What the embedder reads: the title gives every chunk its context."""
        head = self.title if not self.heading else f"{self.title} — {self.heading}"
        return f"{head}\n{self.text}"


class SearchFilters(BaseModel):
    """Restrictions on what search may return."""

    topic: str | None = None
    publisher: str | None = None  # matched by filter_key
    since: date | None = None
    until: date | None = None

    def is_empty(self) -> bool:
        return not (self.topic or self.publisher or self.since or self.until)


class Hit(BaseModel):
    """A retrieved chunk with its fused score and the signals behind it."""

    rank: int
    score: float
    chunk: Chunk
    dense_similarity: float | None = Field(
        default=None, description="Cosine similarity to the query (1 is identical)."
    )
    lexical_score: float | None = Field(default=None, description="BM25 score, when it matched.")

    @property
    def article_id(self) -> str:
        return self.chunk.article_id

    def as_json(self) -> dict[str, object]:
        """The stable shape of `curator search --json`."""
        c = self.chunk
        return {
            "rank": self.rank,
            "score": round(self.score, 6),
            "article_id": c.article_id,
            "title": c.title,
            "url": c.url,
            "publisher": c.publisher,
            "kind": c.kind,
            "chunk_id": c.id,
            "text": c.text,
        }


class IngestFailure(BaseModel):
    """One source, record or entry that could not be used; a URL's credentials are hidden
    (`scheme://***@host`), since reports are printed, posted and logged."""

    path: str
    reason: str

    _hide_credentials = field_validator("path", "reason")(without_url_credentials)


class IngestWarning(BaseModel):
    """Something an ingest accepted but a person should know about (credentials hidden, as in
    IngestFailure)."""

    path: str
    message: str

    _hide_credentials = field_validator("path", "message")(without_url_credentials)


class Pairing(BaseModel):
    """A card export and its original article's text, indexed as one article."""

    title: str
    card: str = Field(description="Where the card was read from.")
    article: str = Field(description="Where the original article's text was read from.")
    by: Literal["title", "manifest"] = Field(description="Matched by title or named in pairs.yaml.")


class IngestReport(BaseModel):
    """What an ingest or reindex did, counted in articles."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    repaired: int = Field(
        default=0,
        description="Chunks whose vectors were re-embedded or deleted to match the catalog.",
    )
    failed: list[IngestFailure] = Field(default_factory=list)
    skipped: list[str] = Field(
        default_factory=list, description="Files of an unsupported type found in directories."
    )
    warnings: list[IngestWarning] = Field(default_factory=list)
    paired: list[Pairing] = Field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "repaired": self.repaired,
            "failed": [f.model_dump() for f in self.failed],
            "skipped": list(self.skipped),
            "warnings": [w.model_dump() for w in self.warnings],
            "paired": [p.model_dump() for p in self.paired],
        }


class RefusalReason(StrEnum):
    """Why an answer was refused; front ends render from this, never from the text."""

    NOT_COVERED = "not_covered"
    NO_MATCH_FOR_FILTERS = "no_match_for_filters"
    LLM_DECLINED = "llm_declined"
    NOT_IN_LANGUAGE = "not_in_language"


# Refusals that tell moderators the collection lacks something; a filter that matched nothing
# or a question in a language the collection cannot be searched in says nothing about content.
GAP_REASONS = frozenset({RefusalReason.NOT_COVERED, RefusalReason.LLM_DECLINED})


class NoticeCode(StrEnum):
    """Something a member should know about an answer; front ends word it themselves."""

    QUESTION_TRUNCATED = "question_truncated"
    LLM_UNAVAILABLE = "llm_unavailable"
    LLM_WITHHELD = "llm_withheld"
    UNCITED = "uncited"
    REPLY_TIME_LIMIT = "reply_time_limit"
    REPLY_SIZE_LIMIT = "reply_size_limit"
    DROP_FILTERS = "drop_filters"
    LINKS_REWRITTEN = "links_rewritten"


class Citation(BaseModel):
    """One numbered citation of an answer: one article, with the passages that were used."""

    n: int
    title: str
    url: str
    publisher: str = ""
    article_id: str
    chunk_id: str
    passage: str
    curated: datetime | None = Field(default=None, description="When the article was curated.")
    key_takeaway: str = Field(default="", description="The card's one-line key takeaway.")
    passages: list[str] = Field(
        default_factory=list, description="Every retrieved passage of this article given."
    )

    def as_json(self) -> dict[str, object]:
        """The citation's fields, `curated` as ISO 8601 ("2026-11-15T00:00:00+00:00") or None,
        as `articles`, `latest` and `article` write it."""
        payload = self.model_dump()
        payload["curated"] = self.curated.isoformat() if self.curated else None
        return payload


class Timings(BaseModel):
    retrieve_ms: float = 0.0
    generate_ms: float = 0.0
    total_ms: float = 0.0


class Answer(BaseModel):
    """What members see: text with [n] markers and exactly the articles it cites."""

    text: str
    citations: list[Citation] = Field(default_factory=list)
    refused: bool = False
    refusal: RefusalReason | None = Field(
        default=None, description="Why the answer was refused; None when it was not."
    )
    mode: Literal["llm", "extractive"] = "extractive"
    timings: Timings = Field(default_factory=Timings)
    uncited: bool = Field(default=False, description="The answer kept no valid citation.")
    closest: list[Citation] = Field(
        default_factory=list, description="Nearest articles offered when refusing."
    )
    notices: list[NoticeCode] = Field(
        default_factory=list, description="What the member should know, as codes."
    )
    question: str = ""

    @property
    def is_gap(self) -> bool:
        """True when the refusal shows the collection lacks the topic (worth a moderator's look)."""
        return self.refused and self.refusal in GAP_REASONS

    def as_json(self) -> dict[str, object]:
        return {
            "text": self.text,
            "citations": [c.as_json() for c in self.citations],
            "refused": self.refused,
            "refusal": self.refusal.value if self.refusal else None,
            "mode": self.mode,
            "timings": self.timings.model_dump(),
            "uncited": self.uncited,
            "closest": [c.as_json() for c in self.closest],
            "notices": [n.value for n in self.notices],
        }


class Turn(BaseModel):
    """One earlier turn of a conversation, oldest first when passed as history."""

    role: Literal["user", "assistant"]
    content: str
