"""Latency of a whole extractive answer (`AnswerService.answer`, no LLM) beside search alone.

On the sample articles (bench/data/sample_questions.tsv) and on xquad-en (its questions spread
over the file). Indexes are built under bench/out/ and reused; every figure is taken after a
warm-up pass, as the bot answers after its first question.

    .venv/bin/python -m bench.bench_extractive_answer --embedder onnx
    .venv/bin/python -m bench.bench_extractive_answer --embedder onnx --xquad PATH --questions 300
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

from bench.calibrate_refusal import (
    SAMPLE_DIR,
    SAMPLE_QUESTIONS,
    XQUAD,
    make_embedder,
    tsv_questions,
)
from bench.measure import ROOT, machine_line, percentile, reproduce_command
from knowledge.answers.service import AnswerService
from knowledge.embeddings.base import Embedder
from knowledge.evaluation import load_squad
from knowledge.evaluation.answer_quality import without_llm
from knowledge.evaluation.runner import spread
from knowledge.index import KnowledgeIndex
from knowledge.settings import load_settings


async def _time_answers(
    service: AnswerService, questions: Sequence[str]
) -> tuple[list[float], list[float]]:
    """Milliseconds per answer: all of them, and those that were not refusals."""
    times: list[float] = []
    answered: list[float] = []
    for question in questions:
        started = time.perf_counter()
        answer = await service.answer(question)
        elapsed = (time.perf_counter() - started) * 1000
        times.append(elapsed)
        if not answer.refused:
            answered.append(elapsed)
            assert answer.mode == "extractive", "an LLM is configured: unset CURATOR_LLM__*"
    return times, answered


def _time_search(index: KnowledgeIndex, questions: Sequence[str]) -> list[float]:
    times = []
    for question in questions:
        started = time.perf_counter()
        index.search(question)
        times.append((time.perf_counter() - started) * 1000)
    return times


def measure(label: str, index: KnowledgeIndex, questions: Sequence[str], repeat: int) -> None:
    """Warm up, then print p50/p95/max of search alone and of the whole answer."""
    service = AnswerService(without_llm(index.settings), index)
    asked = list(questions) * repeat
    _time_search(index, questions[:5])
    asyncio.run(_time_answers(service, questions[:5]))
    search = _time_search(index, asked)
    answers, answered = asyncio.run(_time_answers(service, asked))
    print(f"\n{label}: {len(asked)} questions ({len(asked) - len(answered)} refused)")
    print(f"  {'':26} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    rows = [("search alone", search), ("whole answer", answers)]
    rows += [("whole answer, not refused", answered)] if answered else []
    for name, values in rows:
        print(
            f"  {name:26} {percentile(values, 50):8.2f} {percentile(values, 95):8.2f} "
            f"{max(values):8.2f}"
        )


def _index(embedder: Embedder, data_dir: Path) -> KnowledgeIndex:
    return KnowledgeIndex(load_settings(data_dir=data_dir), embedder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", default="onnx", choices=["hash", "onnx"])
    parser.add_argument(
        "--xquad", type=Path, default=XQUAD if XQUAD.is_file() else None, help="xquad.en.json"
    )
    parser.add_argument("--questions", type=int, default=300, help="xquad questions asked.")
    parser.add_argument("--repeat", type=int, default=5, help="Passes over the sample questions.")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args()

    print("extractive answer path")
    print(machine_line())
    print("reproduce: " + reproduce_command("bench.bench_extractive_answer"))
    embedder = make_embedder(args.embedder)
    print(f"embedder: {embedder.name}")

    sample = _index(embedder, args.out / f"extractive-sample-{embedder.name}")
    sample.ingest([str(SAMPLE_DIR)])
    questions = [q for _, q in tsv_questions(SAMPLE_QUESTIONS)]
    measure(f"sample ({sample.stats()['articles']} articles)", sample, questions, args.repeat)
    sample.close()

    if args.xquad is None:
        print("\nxquad-en not found; pass --xquad PATH to measure on it too")
        return
    corpus = load_squad(args.xquad)
    xquad = _index(embedder, args.out / f"extractive-xquad-{embedder.name}")
    if xquad.catalog.article_count() != len(corpus.articles):
        xquad.add_articles(corpus.articles)
    asked = [q.question for q in spread(corpus.questions, args.questions)]
    measure(f"xquad-en ({len(corpus.articles)} articles)", xquad, asked, 1)
    xquad.close()


if __name__ == "__main__":
    main()
