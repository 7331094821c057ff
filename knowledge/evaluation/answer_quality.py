"""End-to-end answer evaluation: every question through AnswerService, scored as members see it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from knowledge.answers.citations import cited_numbers
from knowledge.answers.service import AnswerMode, AnswerService
from knowledge.embeddings.base import Embedder
from knowledge.evaluation.metrics import contains_answer, percentile
from knowledge.evaluation.runner import EvalStore, spread, throwaway_index
from knowledge.evaluation.squad import EvalCorpus, EvalQuestion
from knowledge.index import KnowledgeIndex
from knowledge.index_writer import Progress
from knowledge.models import Answer
from knowledge.settings import Settings, with_overrides

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnswerOutcome:
    """What one answer got right or wrong."""

    gold_in_text: bool
    gold_in_cited: bool
    lists_an_article_twice: bool
    dangling_markers: int
    refused: bool
    latency_ms: float


def score_answer(answer: Answer, question: EvalQuestion, latency_ms: float) -> AnswerOutcome:
    """Gold answer in the text and in a cited passage; an article cited twice; dangling markers."""
    listed = {c.n for c in answer.citations}
    articles = Counter(c.article_id for c in answer.citations)
    passages = [p for c in answer.citations for p in (c.passages or [c.passage])]
    return AnswerOutcome(
        gold_in_text=not answer.refused and contains_answer(answer.text, question.answers),
        gold_in_cited=any(contains_answer(p, question.answers) for p in passages),
        lists_an_article_twice=any(count > 1 for count in articles.values()),
        dangling_markers=sum(1 for n in cited_numbers(answer.text) if n not in listed),
        refused=answer.refused,
        latency_ms=latency_ms,
    )


@dataclass
class AnswerModeResult:
    """The figures of one answer mode over every question."""

    mode: str
    questions: int
    gold_in_text: float
    gold_in_cited: float
    articles_listed_twice: int
    dangling_markers: int
    refusals: int
    latency_p50_ms: float
    latency_p95_ms: float

    def as_json(self) -> dict[str, object]:
        return {
            "questions": self.questions,
            "gold_in_text": round(self.gold_in_text, 4),
            "gold_in_cited_passage": round(self.gold_in_cited, 4),
            "answers_listing_an_article_twice": self.articles_listed_twice,
            "dangling_markers": self.dangling_markers,
            "refusals": self.refusals,
            "latency_ms": {
                "p50": round(self.latency_p50_ms, 2),
                "p95": round(self.latency_p95_ms, 2),
            },
        }


def summarise_answers(mode: str, outcomes: Sequence[AnswerOutcome]) -> AnswerModeResult:
    """Shares of gold answers found, counts of faults, latency percentiles."""
    n = len(outcomes)
    latencies = [o.latency_ms for o in outcomes]
    return AnswerModeResult(
        mode=mode,
        questions=n,
        gold_in_text=sum(o.gold_in_text for o in outcomes) / n if n else 0.0,
        gold_in_cited=sum(o.gold_in_cited for o in outcomes) / n if n else 0.0,
        articles_listed_twice=sum(o.lists_an_article_twice for o in outcomes),
        dangling_markers=sum(o.dangling_markers for o in outcomes),
        refusals=sum(o.refused for o in outcomes),
        latency_p50_ms=percentile(latencies, 50),
        latency_p95_ms=percentile(latencies, 95),
    )


@dataclass
class AnswerEvalReport(EvalStore):
    """What `curator eval --answers` prints: the store that was built and one result per mode."""

    modes: dict[str, AnswerModeResult] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        """The stable shape of `curator eval --answers --json`."""
        return {
            **self.store_json(),
            "modes": {name: result.as_json() for name, result in self.modes.items()},
        }


async def evaluate_answers(
    service: AnswerService,
    questions: Sequence[EvalQuestion],
    mode: AnswerMode,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> AnswerModeResult:
    """Ask every question; latency is the whole `AnswerService.answer` call."""
    if questions:
        # Model sessions and caches load on the first question, as they do before the bot's.
        await service.answer(questions[0].question)
    outcomes: list[AnswerOutcome] = []
    for done, question in enumerate(questions, start=1):
        start = clock()
        answer = await service.answer(question.question)
        outcomes.append(score_answer(answer, question, (clock() - start) * 1000))
        if answer.mode != mode and not answer.refused:
            log.warning("asked in %s mode, answered in %s mode", mode, answer.mode)
        if progress and (done % 20 == 0 or done == len(questions)):
            progress(f"answers ({mode})", done, len(questions))
    return summarise_answers(mode, outcomes)


def without_llm(settings: Settings) -> Settings:
    """The same settings with no language model, so answers are extractive."""
    return with_overrides(settings, llm={"api_key": None, "base_url": None})


def run_answer_eval(
    corpus: EvalCorpus,
    settings: Settings,
    limit: int | None = None,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
    modes: Sequence[AnswerMode] | None = None,
) -> AnswerEvalReport:
    """Index the corpus in a temporary data dir and answer its questions in each mode.

    `modes` defaults to extractive, plus LLM when one is configured in `settings`.
    """
    if modes is None:
        modes = ["extractive", "llm"] if settings.llm.configured else ["extractive"]
    questions = spread(corpus.questions, limit)
    with throwaway_index(corpus, settings, embedder, progress) as (index, local):
        report = AnswerEvalReport(
            embedder=index.embedder.name,
            chunks=index.catalog.chunk_count(),
            articles=index.catalog.article_count(),
            questions=len(questions),
        )
        for mode in modes:
            report.modes[mode] = asyncio.run(_run_mode(local, index, questions, mode, progress))
    return report


async def _run_mode(
    settings: Settings,
    index: KnowledgeIndex,
    questions: Sequence[EvalQuestion],
    mode: AnswerMode,
    progress: Progress | None,
) -> AnswerModeResult:
    service = AnswerService(without_llm(settings) if mode == "extractive" else settings, index)
    try:
        result = await evaluate_answers(service, questions, mode, progress)
    finally:
        await service.aclose()
    log.info(
        "answer eval mode done",
        extra={"mode": mode, "gold_in_text": result.gold_in_text, "p95_ms": result.latency_p95_ms},
    )
    return result
