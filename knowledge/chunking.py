"""Article -> Chunks: one summary record, then body chunks sized to the embedder's window.

Chunks are cut on headings first, then paragraphs, then sentences, and packed up to a token
budget with a small overlap. The budget counts the title/heading prefix the embedder reads too,
because all-MiniLM-L6-v2 silently drops everything past 256 word pieces.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from knowledge.models import Article, Chunk, RecordKind, date_to_number

CHUNKER_VERSION = "1"
# CLS and SEP take two of the model's positions; keep a few more for tokenizer drift.
_SPECIAL_TOKEN_MARGIN = 6

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.MULTILINE)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")

TokenCounter = Callable[[str], int]


@dataclass(frozen=True)
class ChunkingPolicy:
    """How big chunks are; `fingerprint` is part of each article's content hash."""

    target_tokens: int
    overlap_tokens: int
    count_tokens: TokenCounter
    max_tokens: int | None = None

    @property
    def fingerprint(self) -> str:
        return f"v{CHUNKER_VERSION}:{self.target_tokens}:{self.overlap_tokens}:{self.max_tokens}"

    def budget_for(self, prefix: str) -> int:
        """Tokens left for text once the embedder has read `prefix`."""
        budget = self.target_tokens
        if self.max_tokens is not None:
            room = self.max_tokens - self.count_tokens(prefix) - _SPECIAL_TOKEN_MARGIN
            budget = min(budget, room)
        return max(budget, 32)


def summary_text(article: Article) -> str:
    """The editorial part of a card, which is what members ask about most."""
    parts: list[str] = []
    if article.summary:
        parts.append(article.summary.strip())
    if article.key_takeaway:
        parts.append(f"Key takeaway: {article.key_takeaway.strip()}")
    if article.key_insights:
        parts.append("Key insights:\n" + "\n".join(f"- {i.strip()}" for i in article.key_insights))
    if article.best_for:
        parts.append("Best for: " + ", ".join(article.best_for))
    return "\n\n".join(parts)


def split_sections(markdown: str) -> list[tuple[str, str]]:
    """Split text on markdown headings into (heading, text) pairs; text before any heading is ''."""
    sections: list[tuple[str, str]] = []
    last_end = 0
    heading = ""
    for match in _HEADING.finditer(markdown):
        text = markdown[last_end : match.start()].strip()
        if text:
            sections.append((heading, text))
        heading = match.group(2).strip()
        last_end = match.end()
    tail = markdown[last_end:].strip()
    if tail:
        sections.append((heading, tail))
    return sections


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of a paragraph; good enough for English prose, never loses text."""
    parts = [p.strip() for p in _SENTENCE_END.split(paragraph)]
    return [p for p in parts if p]


def _pieces(text: str, budget: int, count: TokenCounter) -> Iterator[str]:
    """Paragraphs, or sentences of over-long paragraphs, or word runs of over-long sentences."""
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        if count(paragraph) <= budget:
            yield paragraph
            continue
        for sentence in split_sentences(paragraph):
            if count(sentence) <= budget:
                yield sentence
                continue
            words = sentence.split()
            step = max(8, len(words) * budget // max(count(sentence), 1))
            for i in range(0, len(words), step):
                yield " ".join(words[i : i + step])


def pack(text: str, budget: int, overlap: int, count: TokenCounter) -> list[str]:
    """Greedily pack pieces into chunks of at most `budget` tokens, carrying a small overlap."""
    chunks: list[str] = []
    current: list[str] = []
    used = 0
    for piece in _pieces(text, budget, count):
        size = count(piece)
        if current and used + size > budget:
            chunks.append("\n\n".join(current))
            # Carry trailing sentences of the last chunk forward, within the overlap budget.
            carried: list[str] = []
            carried_size = 0
            for sentence in reversed(split_sentences(current[-1])):
                s = count(sentence)
                if carried_size + s > overlap or carried_size + s + size > budget:
                    break
                carried.insert(0, sentence)
                carried_size += s
            current = [" ".join(carried)] if carried else []
            used = carried_size
        current.append(piece)
        used += size
    if current:
        chunks.append("\n\n".join(current))
    return chunks


def record_id(article_id: str, position: int) -> str:
    """Stable record id: re-ingesting an article upserts over its old records."""
    return f"{article_id}-{position:04d}"


def chunk_article(article: Article, policy: ChunkingPolicy) -> list[Chunk]:
    """The records an article is indexed as: summary record(s) first, then body chunks."""
    aid = article.id
    base = {
        "article_id": aid,
        "title": article.title,
        "url": article.url,
        "source": article.source,
        "author": article.author,
        "published": date_to_number(article.published),
        "curated": date_to_number(article.curated),
        "topics": list(article.topics),
    }
    records: list[Chunk] = []

    def add(kind: RecordKind, heading: str, text: str) -> None:
        records.append(
            Chunk(
                id=record_id(aid, len(records)),
                kind=kind,
                position=len(records),
                heading=heading,
                text=text,
                **base,  # type: ignore[arg-type]
            )
        )

    summary = summary_text(article)
    if summary:
        budget = policy.budget_for(article.title)
        for piece in pack(summary, budget, 0, policy.count_tokens):
            add("summary", "", piece)

    body_sections = [(name, text) for name, text in article.sections.items() if text.strip()]
    body_sections += split_sections(article.body)
    for heading, text in body_sections:
        prefix = f"{article.title} — {heading}" if heading else article.title
        budget = policy.budget_for(prefix)
        for piece in pack(text, budget, policy.overlap_tokens, policy.count_tokens):
            add("chunk", heading, piece)

    if not records:
        # A card with a title and nothing else is still findable by its title.
        add("summary", "", article.title)
    return records
