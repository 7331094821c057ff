"""Run an evaluation corpus through the bot's own search path and score every mode."""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.embeddings.base import Embedder
from knowledge.evaluation.metrics import contains_answer, first_rank, hits_at, mrr_at, percentile
from knowledge.evaluation.squad import EvalCorpus, EvalQuestion
from knowledge.index import KnowledgeIndex, SearchMode
from knowledge.index_writer import Progress
from knowledge.models import Hit
from knowledge.settings import Settings, with_overrides

log = logging.getLogger(__name__)

MODES: tuple[SearchMode, ...] = ("bm25", "dense", "hybrid")
CUTOFFS = (1, 5, 10)
MRR_CUTOFF = 10


@dataclass(frozen=True)
class QuestionOutcome:
    """Where one question's gold article and gold answer first appeared (None: not retrieved)."""

    article_rank: int | None
    answer_rank: int | None
    latency_ms: float


@dataclass
class ModeResult:
    """The figures of one search mode over every question."""

    mode: str
    article_hits: dict[int, float]
    answer_hits: dict[int, float]
    mrr10: float
    latency_p50_ms: float
    latency_p95_ms: float

    def as_json(self) -> dict[str, object]:
        return {
            "article_hits": {str(k): round(v, 4) for k, v in self.article_hits.items()},
            "answer_hits": {str(k): round(v, 4) for k, v in self.answer_hits.items()},
            "mrr10": round(self.mrr10, 4),
            "latency_ms": {
                "p50": round(self.latency_p50_ms, 2),
                "p95": round(self.latency_p95_ms, 2),
            },
        }


@dataclass
class EvalStore:
    """The throwaway store an evaluation built, and how many questions it asked of it."""

    embedder: str
    chunks: int
    articles: int
    questions: int

    def store_json(self) -> dict[str, object]:
        """The leading keys every evaluation report's JSON shares."""
        return {
            "embedder": self.embedder,
            "chunks": self.chunks,
            "articles": self.articles,
            "questions": self.questions,
        }


@dataclass
class EvalReport(EvalStore):
    """What `curator eval` prints: the store that was built and one result per mode."""

    k: int
    per_article: int
    modes: dict[str, ModeResult] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        """The stable shape of `curator eval --json`."""
        return {
            **self.store_json(),
            "k": self.k,
            "per_article": self.per_article,
            "modes": {name: result.as_json() for name, result in self.modes.items()},
        }


def score_hits(hits: Sequence[Hit], question: EvalQuestion) -> tuple[int | None, int | None]:
    """Rank of the first chunk from the gold article, and of the first holding a gold answer."""
    article_rank = first_rank(hits, lambda h: h.article_id == question.article_id)
    answer_rank = first_rank(hits, lambda h: contains_answer(h.chunk.text, question.answers))
    return article_rank, answer_rank


def summarise(mode: str, outcomes: Sequence[QuestionOutcome]) -> ModeResult:
    """Aggregate per-question outcomes into hits@1/5/10, MRR@10 and latency percentiles."""
    article_ranks = [o.article_rank for o in outcomes]
    answer_ranks = [o.answer_rank for o in outcomes]
    latencies = [o.latency_ms for o in outcomes]
    return ModeResult(
        mode=mode,
        article_hits={k: hits_at(article_ranks, k) for k in CUTOFFS},
        answer_hits={k: hits_at(answer_ranks, k) for k in CUTOFFS},
        mrr10=mrr_at(article_ranks, MRR_CUTOFF),
        latency_p50_ms=percentile(latencies, 50),
        latency_p95_ms=percentile(latencies, 95),
    )


def evaluate_mode(
    index: KnowledgeIndex,
    questions: Sequence[EvalQuestion],
    mode: SearchMode,
    k: int,
    per_article: int,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> ModeResult:
    """Ask every question in one mode; latency is the whole `search` call, embedding included."""
    if questions:
        # Loading BM25 and Chroma happens once per process; the bot pays it before its first
        # question, so it is kept out of the per-question figures.
        index.search(questions[0].question, k=k, per_article=per_article, mode=mode)
    outcomes: list[QuestionOutcome] = []
    for done, question in enumerate(questions, start=1):
        start = clock()
        hits = index.search(question.question, k=k, per_article=per_article, mode=mode)
        elapsed_ms = (clock() - start) * 1000
        article_rank, answer_rank = score_hits(hits, question)
        outcomes.append(QuestionOutcome(article_rank, answer_rank, elapsed_ms))
        if progress and (done % 50 == 0 or done == len(questions)):
            progress(f"search ({mode})", done, len(questions))
    return summarise(mode, outcomes)


def spread(questions: Sequence[EvalQuestion], limit: int | None) -> list[EvalQuestion]:
    """At most `limit` questions, taken evenly across the file so every article is asked about."""
    if limit is None or limit >= len(questions):
        return list(questions)
    if limit <= 0:
        return []
    return [questions[i * len(questions) // limit] for i in range(limit)]


def eval_settings(settings: Settings, data_dir: Path) -> Settings:
    """The user's settings pointed at a throwaway embedded store (never their server or data)."""
    return with_overrides(settings, data_dir=data_dir, chroma={"host": None})


@contextmanager
def throwaway_index(
    corpus: EvalCorpus,
    settings: Settings,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
) -> Iterator[tuple[KnowledgeIndex, Settings]]:
    """The corpus indexed in a temporary data dir, with the settings pointing there; both go
    away on exit."""
    with tempfile.TemporaryDirectory(prefix="curator-eval-") as tmp:
        local = eval_settings(settings, Path(tmp) / "data")
        index = KnowledgeIndex(local, embedder)
        try:
            index.add_articles(corpus.articles, progress=progress)
            yield index, local
        finally:
            index.close()


def run_eval(
    corpus: EvalCorpus,
    settings: Settings,
    modes: Sequence[SearchMode] = MODES,
    k: int = 10,
    per_article: int | None = None,
    limit: int | None = None,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
) -> EvalReport:
    """Index the corpus in a temporary data dir, ask its questions in each mode, and score them.

    `per_article` defaults to the configured `retrieval.per_article`, as the bot uses it.
    """
    per_article = settings.retrieval.per_article if per_article is None else per_article
    questions = spread(corpus.questions, limit)
    with throwaway_index(corpus, settings, embedder, progress) as (index, _):
        report = EvalReport(
            embedder=index.embedder.name,
            chunks=index.catalog.chunk_count(),
            articles=index.catalog.article_count(),
            questions=len(questions),
            k=k,
            per_article=per_article,
        )
        for mode in modes:
            result = evaluate_mode(index, questions, mode, k, per_article, progress)
            report.modes[mode] = result
            log.info(
                "eval mode done",
                extra={"mode": mode, "mrr10": result.mrr10, "p95_ms": result.latency_p95_ms},
            )
    return report
