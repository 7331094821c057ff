"""Answers without a language model: the passages' best sentences, quoted with their [n]."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from knowledge.answers.prompt import Source
from knowledge.answers.terms import WORD, key_terms, stems
from knowledge.embeddings.base import Embedder
from knowledge.models import Article

log = logging.getLogger(__name__)

EXTRACTIVE_LABEL = "From the curated articles (quoted passages, no AI summary):"

# Sentences end at . ! ? followed by space. Source files wrap lines inside sentences, so a line
# break ends a piece only before a blank line, a list item or a heading.
_SENTENCE_END = re.compile(r"(?<=[.!?…。！？])\s+")
_LIST_MARK = re.compile(r"^\s*(?:[-*+•]|\d+[.)]|#+)\s+")
_BLOCK_BREAK = re.compile(r"\n\s*\n|\n(?=\s*(?:[-*+•]|\d+[.)]|#+)\s)")
_MIN_CHARS = 25
_ENDINGS = frozenset('.!?…。！？:;"”’)*')
_MAX_CHARS = 400


@dataclass(frozen=True)
class Candidate:
    source: Source
    sentence: str


def _whole(sentence: str) -> bool:
    # Chunks overlap and are cut by token count, so their first and last "sentences" are often
    # fragments: a sentence must start like one (not lower-case) and end with punctuation.
    return not sentence[0].islower() and sentence[-1] in _ENDINGS


def candidate_sentences(sources: Sequence[Source]) -> list[Candidate]:
    """Whole sentences of the passages worth quoting: not too short, not repeated."""
    seen: set[str] = set()
    out: list[Candidate] = []
    for source in sources:
        pieces = (
            piece
            for block in _BLOCK_BREAK.split(source.hit.chunk.text)
            for piece in _SENTENCE_END.split(" ".join(_LIST_MARK.sub("", block).split()))
        )
        for piece in pieces:
            sentence = piece.strip()
            if len(sentence) < _MIN_CHARS or not _whole(sentence):
                continue
            if len(sentence) > _MAX_CHARS:
                sentence = sentence[:_MAX_CHARS].rsplit(" ", 1)[0] + " …"
            key = sentence.lower()
            if key in seen:
                continue
            seen.add(key)
            out.append(Candidate(source, sentence))
    return out


def _lexical_scores(question: str, candidates: Sequence[Candidate]) -> list[float]:
    wanted = stems(key_terms(question))
    if not wanted:
        return [0.0] * len(candidates)
    return [len(stems(WORD.findall(c.sentence)) & wanted) / len(wanted) for c in candidates]


def rank_sentences(
    question: str, candidates: Sequence[Candidate], embedder: Embedder | None
) -> list[float]:
    """Similarity of each sentence to the question: cosine plus the share of the question's
    words it contains (cosine alone favours short sentences that share one common word)."""
    if not candidates:
        return []
    overlap = _lexical_scores(question, candidates)
    if embedder is not None:
        try:
            vectors = embedder.embed([question] + [c.sentence for c in candidates])
            cosines = np.asarray(vectors[1:] @ vectors[0], dtype=np.float32)
            return [float(c) + o for c, o in zip(cosines, overlap, strict=True)]
        except Exception:
            # This is the path of last resort: it must answer even when the embedder cannot.
            log.warning("embedding sentences failed; ranking by word overlap", exc_info=True)
    return overlap


def extractive_answer(
    question: str,
    sources: Sequence[Source],
    embedder: Embedder | None,
    get_article: Callable[[str], Article | None],
    max_sentences: int = 3,
    max_passages: int = 4,
) -> str:
    """Quoted best sentences with [n], then each cited article's key takeaway; never raises."""
    pool = list(sources[:max_passages])
    candidates = candidate_sentences(pool)
    scores = rank_sentences(question, candidates, embedder)
    # Ties go to the better-ranked passage, so the order is stable.
    order = sorted(range(len(candidates)), key=lambda i: (-scores[i], candidates[i].source.n))
    chosen = [candidates[i] for i in order[:max_sentences]]
    if not chosen and pool:
        # Passages with no full sentence (lists, headings): quote the best one's start.
        text = " ".join(pool[0].hit.chunk.text.split())
        short = text[:_MAX_CHARS].rsplit(" ", 1)[0] + " …" if len(text) > _MAX_CHARS else text
        chosen = [Candidate(pool[0], short)]

    lines = [EXTRACTIVE_LABEL, ""]
    lines += [f"- {c.sentence} [{c.source.n}]" for c in chosen]

    takeaways: list[str] = []
    seen_articles: set[str] = set()
    for c in chosen:
        article_id = c.source.hit.article_id
        if article_id in seen_articles:
            continue
        seen_articles.add(article_id)
        try:
            article = get_article(article_id)
        except Exception:
            log.warning("could not read article %s for its takeaway", article_id, exc_info=True)
            article = None
        if article is not None and article.key_takeaway.strip():
            takeaway = " ".join(article.key_takeaway.split())
            takeaways.append(f"- {article.title}: {takeaway} [{c.source.n}]")
    if takeaways:
        lines += ["", "Key takeaways:", *takeaways]
    return "\n".join(lines)
