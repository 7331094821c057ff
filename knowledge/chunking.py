"""Article -> Chunks: one summary chunk, then body chunks sized to the embedder's window.

Chunks are cut on headings first, then paragraphs and fenced code blocks, then sentences (Latin,
CJK and Indic marks), then words, and as a last resort by tokens, so text without spaces
(Chinese, Japanese, Thai, a long URL or base64 line) fits too. Pieces are packed up to a token
budget with a small overlap. The budget counts the title/heading prefix the embedder reads,
because all-MiniLM-L6-v2 silently drops everything past 256 word pieces. Embedders without a
local tokenizer also give a hard byte cap (`max_bytes`): byte-level BPE never makes more tokens
than bytes, so no input can exceed the provider's limit whatever the estimate says.

Markdown code fences (found by `knowledge.markdown_code`) are respected: a `#` line inside a fence
is not a heading, and a fenced block too big for one chunk is split between lines, each part
closed and reopened with its fence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from knowledge.headings import split_sections
from knowledge.markdown_code import Fence, markdown_lines
from knowledge.models import Article, Chunk, ChunkKind, date_to_number
from knowledge.tokens import utf8_size

# 3: no overlap carried out of a code block (it took a stray closing fence into the next chunk);
# fences found as CommonMark finds them (knowledge.markdown_code).
CHUNKER_VERSION = "3"
# CLS and SEP take two of the model's positions; keep a few more for tokenizer drift.
_SPECIAL_TOKEN_MARGIN = 6
#: Fewest tokens a piece may be given, however long the prefix.
_MIN_BUDGET = 32
#: Longest characters-per-token any tokenizer reaches; bounds the search for a hard cut.
_MAX_CHARS_PER_TOKEN = 24
#: Longest heading carried in the prefix of every chunk of its section.
_MAX_HEADING_CHARS = 120

_SENTENCE_END = re.compile(
    # Latin script: an end mark, closing quotes, then a space and a capital or a digit.
    r"[.!?][\"'’”)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])"
    # CJK: the full-width marks end a sentence whatever follows; no space comes after them.
    r"|[。！？｡．][」』）〕】〉》”’\"')\]]*"
    # Devanagari danda, Arabic and Urdu marks.
    r"|[।॥؟۔](?=\s)"
)
_BREAK_AFTER = re.compile(r"[\s,;:、，；：]")

TokenCounter = Callable[[str], int]


@dataclass(frozen=True)
class Budget:
    """How much text one piece may hold: tokens, and UTF-8 bytes when the embedder caps them."""

    tokens: int
    count: TokenCounter
    bytes: int | None = None

    def fits(self, text: str) -> bool:
        if self.bytes is not None and utf8_size(text) > self.bytes:
            return False
        return self.count(text) <= self.tokens


@dataclass(frozen=True)
class ChunkingPolicy:
    """How big chunks are; `fingerprint` is part of each article's index hash."""

    target_tokens: int
    overlap_tokens: int
    count_tokens: TokenCounter
    max_tokens: int | None = None
    #: Hard cap on one embedded input (prefix included), in UTF-8 bytes; None: no cap.
    max_bytes: int | None = None

    @property
    def fingerprint(self) -> str:
        return (
            f"v{CHUNKER_VERSION}:{self.target_tokens}:{self.overlap_tokens}:{self.max_tokens}"
            f":{self.max_bytes}"
        )

    def budget_for(self, prefix: str) -> int:
        """Tokens left for text once the embedder has read `prefix`."""
        budget = self.target_tokens
        if self.max_tokens is not None:
            room = self.max_tokens - self.count_tokens(prefix) - _SPECIAL_TOKEN_MARGIN
            budget = min(budget, room)
        return max(budget, _MIN_BUDGET)

    def bytes_for(self, prefix: str) -> int | None:
        """UTF-8 bytes left for text after `prefix` and its newline, or None without a cap."""
        if self.max_bytes is None:
            return None
        return max(self.max_bytes - utf8_size(prefix) - 1, _MIN_BUDGET)


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


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of a paragraph, ended by Latin, CJK or Indic marks; never loses text."""
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(paragraph):
        sentence = paragraph[start : match.end()].strip()
        if sentence:
            sentences.append(sentence)
        start = match.end()
    tail = paragraph[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def _blocks(text: str) -> Iterator[tuple[Fence | None, str]]:
    """(fence, block): fenced code blocks whole (closed if the text never closes them) with
    their fence, and paragraphs of the prose between them (fence None)."""
    prose: list[str] = []
    code: list[str] = []
    fence: Fence | None = None  # of the block being read

    def paragraphs() -> Iterator[tuple[Fence | None, str]]:
        for paragraph in re.split(r"\n\s*\n", "\n".join(prose)):
            if paragraph.strip():
                yield None, paragraph.strip()
        prose.clear()

    for line in markdown_lines(text):
        if line.kind == "prose":
            prose.append(line.text)
            continue
        if line.kind == "opening":
            yield from paragraphs()
        code.append(line.text)
        fence = line.fence
        if line.kind == "closing" and fence is not None:
            yield fence, "\n".join(code)
            code, fence = [], None
    if fence is not None:
        yield fence, "\n".join([*code, fence.marker])
    yield from paragraphs()


def hard_cut(text: str, budget: Budget) -> list[str]:
    """Cut `text` into the longest prefixes that fit, preferring a space or punctuation break."""
    parts: list[str] = []
    rest = text.strip()
    limit = budget.tokens * _MAX_CHARS_PER_TOKEN
    if budget.bytes is not None:
        limit = min(limit, budget.bytes)
    while rest:
        if len(rest) <= limit and budget.fits(rest):
            parts.append(rest)
            break
        # Largest n such that rest[:n] fits (fitting is monotone in the prefix length).
        low, high = 1, min(len(rest), limit)
        while low < high:
            middle = (low + high + 1) // 2
            if budget.fits(rest[:middle]):
                low = middle
            else:
                high = middle - 1
        cut = low
        breaks = [m.end() for m in _BREAK_AFTER.finditer(rest, cut // 2, cut)]
        if breaks:
            cut = breaks[-1]
        piece = rest[:cut].strip()
        if piece:
            parts.append(piece)
        rest = rest[cut:].strip()
    return parts


def _word_runs(sentence: str, budget: Budget) -> Iterator[str]:
    """Runs of whole words that fit; a word that does not fit alone is cut by tokens."""
    run: list[str] = []
    used = 0
    for word in sentence.split():
        size = budget.count(word)
        if run and used + size > budget.tokens:
            yield from _fitted(" ".join(run), budget)
            run, used = [], 0
        run.append(word)
        used += size
    if run:
        yield from _fitted(" ".join(run), budget)


def _fitted(text: str, budget: Budget) -> Iterator[str]:
    """`text` itself when it fits, else its hard cuts (counts of words may not add up)."""
    if budget.fits(text):
        yield text
    else:
        yield from hard_cut(text, budget)


def _split_code(block: str, fence: Fence, budget: Budget) -> Iterator[str]:
    """A fenced block too big for one piece, split between lines; every part keeps its fence
    (the first as written, the rest without a list marker before it)."""
    lines = block.split("\n")
    opener, closer, inner = lines[0], lines[-1], lines[1:-1]
    reopener = fence.opening_line
    wrap = budget.count(f"{opener}\n\n{closer}")
    inner_budget = Budget(
        tokens=max(budget.tokens - wrap, 1),
        count=budget.count,
        bytes=None if budget.bytes is None else budget.bytes - utf8_size(opener + closer) - 2,
    )
    part: list[str] = []
    for line in inner:
        candidate = [*part, line]
        if inner_budget.fits("\n".join(candidate)):
            part = candidate
            continue
        if part:
            yield "\n".join([opener, *part, closer])
            opener = reopener
        if inner_budget.fits(line):
            part = [line]
        else:
            # One line longer than a chunk (minified code, a data URL): cut it by tokens.
            for cut in hard_cut(line, inner_budget):
                yield "\n".join([opener, cut, closer])
                opener = reopener
            part = []
    if part:
        yield "\n".join([opener, *part, closer])


def _pieces(text: str, budget: Budget) -> Iterator[tuple[bool, str]]:
    """(is_code, piece): paragraphs and code blocks, or the sentences, word runs and token cuts
    of long ones."""
    for fence, block in _blocks(text):
        if budget.fits(block):
            yield fence is not None, block
        elif fence is not None:
            yield from ((True, part) for part in _split_code(block, fence, budget))
        else:
            for sentence in split_sentences(block):
                if budget.fits(sentence):
                    yield False, sentence
                else:
                    yield from ((False, run) for run in _word_runs(sentence, budget))


def pack(
    text: str, budget: int, overlap: int, count: TokenCounter, max_bytes: int | None = None
) -> list[str]:
    """Greedily pack pieces into chunks of at most `budget` tokens (and `max_bytes` UTF-8 bytes),
    carrying a small overlap of whole sentences from the previous chunk."""
    limit = Budget(tokens=budget, count=count, bytes=max_bytes)
    chunks: list[str] = []
    current: list[str] = []
    used = 0
    used_bytes = 0
    last_is_code = False
    for is_code, piece in _pieces(text, limit):
        size = count(piece)
        size_bytes = utf8_size(piece) + 2  # and the blank line that joins it
        too_big = max_bytes is not None and used_bytes + size_bytes > max_bytes
        if current and (used + size > budget or too_big):
            chunks.append("\n\n".join(current))
            # A code block's lines are no sentences, and a carried closing fence would open a
            # runaway block in the next chunk.
            carried = [] if last_is_code else _carry(current[-1], overlap, size, limit)
            if max_bytes is not None and utf8_size(" ".join(carried)) + size_bytes > max_bytes:
                carried = []  # Overlap is a nicety: drop it rather than break the byte cap.
            current = [" ".join(carried)] if carried else []
            used = count(current[0]) if current else 0
            used_bytes = utf8_size(current[0]) + 2 if current else 0
        current.append(piece)
        used += size
        used_bytes += size_bytes
        last_is_code = is_code
    if current:
        chunks.append("\n\n".join(current))
    return chunks


def _carry(previous: str, overlap: int, next_size: int, limit: Budget) -> list[str]:
    """Trailing sentences of `previous` within the overlap, leaving room for the next piece."""
    carried: list[str] = []
    carried_size = 0
    for sentence in reversed(split_sentences(previous)):
        s = limit.count(sentence)
        if carried_size + s > overlap or carried_size + s + next_size > limit.tokens:
            break
        carried.insert(0, sentence)
        carried_size += s
    return carried


def chunk_id_for(article_id: str, position: int) -> str:
    """Stable chunk id: re-ingesting an article upserts over its old chunks."""
    return f"{article_id}-{position:04d}"


def chunk_article(article: Article, policy: ChunkingPolicy) -> list[Chunk]:
    """The chunks an article is indexed as: summary chunk(s) first, then body chunks."""
    aid = article.id
    base = {
        "article_id": aid,
        "title": article.title,
        "url": article.url,
        "publisher": article.publisher,
        "author": article.author,
        "published": date_to_number(article.published),
        "curated": date_to_number(article.curated),
        "topics": list(article.topics),
    }
    chunks: list[Chunk] = []

    def add(kind: ChunkKind, heading: str, text: str) -> None:
        chunks.append(
            Chunk(
                id=chunk_id_for(aid, len(chunks)),
                kind=kind,
                position=len(chunks),
                heading=heading,
                text=text,
                **base,  # type: ignore[arg-type]
            )
        )

    summary = summary_text(article)
    if summary:
        budget = policy.budget_for(article.title)
        max_bytes = policy.bytes_for(article.title)
        for piece in pack(summary, budget, 0, policy.count_tokens, max_bytes):
            add("summary", "", piece)

    body_sections = [(name, text) for name, text in article.sections.items() if text.strip()]
    body_sections += [(s.heading, s.text) for s in split_sections(article.body) if s.text]
    for heading, text in body_sections:
        if len(heading) > _MAX_HEADING_CHARS:
            # A "heading" this long is a paragraph marked up as one: its text stays in the
            # chunk, and the prefix every chunk of the section carries stays short.
            text = f"{heading}\n\n{text}"
            heading = heading[: _MAX_HEADING_CHARS - 1].rstrip() + "…"
        prefix = f"{article.title} — {heading}" if heading else article.title
        budget = policy.budget_for(prefix)
        max_bytes = policy.bytes_for(prefix)
        for piece in pack(text, budget, policy.overlap_tokens, policy.count_tokens, max_bytes):
            add("chunk", heading, piece)

    if not chunks:
        # A card with a title and nothing else is still findable by its title.
        add("summary", "", article.title)
    return chunks
