"""Deciding that the curated articles do not cover a question: from retrieval signals before
the model is called, and from what the model replies after."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from knowledge.answers.terms import key_terms
from knowledge.models import Hit
from knowledge.text import WORD, stems

# Thresholds on `relevance` (see `assess`), calibrated per embedder family on answerable
# questions of every length (XQuAD's, multi-part ones, bench/data/multipart_questions.tsv)
# against off-topic ones (bench/calibrate_refusal.py; figures in docs/benchmarks.md). Each
# refuses at most 3% of the answerable questions of any length; "other" (e.g. OpenAI
# embeddings) was not measured and is set low, so that it rarely refuses an answerable one.
CALIBRATED_MIN_RELEVANCE: dict[str, float] = {
    "hash": 0.28,
    "minilm": 0.40,
    "other": 0.25,
}

# How many of the best hits (retrieved chunks) are read for term coverage.
COVERAGE_TOP_HITS = 3


def embedder_family(embedder_name: str) -> str:
    """'hash', 'minilm' or 'other', from an embedder's name."""
    name = embedder_name.lower()
    if "hash" in name:
        return "hash"
    if "minilm" in name:
        return "minilm"
    return "other"


@dataclass(frozen=True)
class RetrievalStrength:
    """The signals a refusal is decided on."""

    top_similarity: float
    coverage: float
    relevance: float


# Where a question with several parts splits: after a sentence, or at ", and how/what/..." .
_PART_BREAK = re.compile(
    r"(?<=[?!.;:])\s+"
    r"|,\s+(?:and|or|but|also|plus)\s+"
    r"(?=(?:how|what|why|which|when|where|who|is|are|does|do|did|can|should)\b)",
    re.IGNORECASE,
)
# A part needs this many content words to stand alone ("Two questions:" does not).
_MIN_PART_TERMS = 2


def question_parts(question: str) -> list[str]:
    """The parts of a multi-part question (one item for a simple question)."""
    parts: list[str] = []
    for piece in _PART_BREAK.split(question):
        if not piece.strip():
            continue
        too_short = min(len(key_terms(piece)), len(key_terms(parts[-1])) if parts else 9)
        # "Two questions:" or "From the 2017 paper:" introduces what follows.
        lead_in = bool(parts) and parts[-1].rstrip().endswith(":")
        if parts and (too_short < _MIN_PART_TERMS or lead_in):
            parts[-1] = f"{parts[-1]} {piece}"
        else:
            parts.append(piece)
    return parts or [question]


def _best_passage_share(part: str, passage_stems: Sequence[set[str]]) -> float | None:
    wanted = stems(key_terms(part))
    if not wanted:
        return None
    return max((len(p & wanted) for p in passage_stems), default=0) / len(wanted)


def term_coverage(question: str, hits: Sequence[Hit], top: int = COVERAGE_TOP_HITS) -> float:
    """Largest share of the question's content words (stemmed) that one of the `top` best hits
    holds: an answer usually sits in one chunk, while an off-topic question's words scatter.

    A question in several parts ("How does LoRA work? And what did Chinchilla find?") is
    answered by several chunks, one per part: each part is scored on its own over the best
    `top` hits per part, and the shares averaged, so naming several articles is not penalised.
    """
    parts = question_parts(question)
    passage_stems = [
        stems(WORD.findall(f"{h.chunk.title} {h.chunk.heading} {h.chunk.text}".lower()))
        for h in hits[: top * len(parts)]
    ]
    if len(parts) > 1:
        shares = [
            s for s in (_best_passage_share(p, passage_stems) for p in parts) if s is not None
        ]
        if shares:
            return sum(shares) / len(shares)
    return _best_passage_share(question, passage_stems[:top]) or 0.0


def assess(question: str, hits: Sequence[Hit]) -> RetrievalStrength:
    """Best dense similarity, term coverage, and `relevance`, their mean (about 0..1)."""
    similarities = [h.dense_similarity for h in hits if h.dense_similarity is not None]
    top = max(similarities, default=0.0)
    coverage = term_coverage(question, hits)
    relevance = (max(top, 0.0) + coverage) / 2
    return RetrievalStrength(top_similarity=top, coverage=coverage, relevance=relevance)


@dataclass(frozen=True)
class RefusalPolicy:
    """Refuse when there are no hits or their relevance is below `min_relevance`."""

    min_relevance: float

    @classmethod
    def for_embedder(cls, embedder_name: str, override: float | None = None) -> RefusalPolicy:
        """The calibrated threshold of the embedder's family, unless a setting overrides it."""
        if override is not None:
            return cls(override)
        return cls(CALIBRATED_MIN_RELEVANCE[embedder_family(embedder_name)])

    def should_refuse(self, strength: RetrievalStrength | None) -> bool:
        """True when retrieval is too weak to answer from."""
        return strength is None or strength.relevance < self.min_relevance


# How a model says the sources do not answer, in the languages members are likely to ask in
# (it answers in the question's language). Only read when the reply cites nothing: a cited
# answer that notes one missing detail is still an answer.
_DECLINE = re.compile(
    r"\b(?:"
    # English
    r"(?:do|does|did)(?: not|n't) (?:cover|answer|address|contain|mention|discuss|include|say"
    r"|provide|explain|describe)"
    r"|(?:not|isn't|is not|aren't|are not) (?:covered|mentioned|addressed|discussed)"
    r"|no (?:relevant )?information|(?:cannot|can't|unable to) (?:answer|find)"
    r"|there is nothing"
    # French
    r"|ne (?:couvren?t|traiten?t|mentionnen?t|contiennen?t|abordent|parlent|fournissen?t"
    r"|répond(?:ent)?|disent)(?: \w+)? pas|aucune information|pas couverts?"
    # Spanish and Portuguese
    r"|no (?:cubren?|tratan?|mencionan?|contienen?|abordan?|hablan?|responden?)"
    r"|(?:ninguna|sin) información|no hay información"
    r"|não (?:cobrem?|tratam?|mencionam?|contêm|abordam?)|nenhuma informação"
    # German and Italian
    r"|nicht abgedeckt|keine informationen|nicht behandelt|nicht erwähnt"
    r"|non (?:coprono|trattano|menzionano|contengono)|nessuna informazione"
    r")\b",
    re.IGNORECASE,
)


def declines(reply: str) -> bool:
    """True when an (uncited) model reply says the sources do not answer the question."""
    flat = " ".join(reply.replace("’", "'").split())
    return bool(_DECLINE.search(flat))
