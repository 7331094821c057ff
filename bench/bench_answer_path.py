"""Latency of the answer path without the LLM call: clean the question, embed it, hybrid search,
decide on refusal, build the prompt, validate the citations of a canned reply.

Runs on the sample articles (with bench/data/sample_questions.tsv) and on a synthetic corpus of
`--chunks` chunks (bench/synthetic.py, with questions drawn from its articles). Indexes are
kept under bench/out/ and reused, so only the first run pays for embedding the corpus.

    .venv/bin/python -m bench.bench_answer_path --embedder onnx --chunks 10000
    .venv/bin/python -m bench.bench_answer_path --embedder hash --chunks 10000
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

from bench.calibrate_refusal import SAMPLE_DIR, SAMPLE_QUESTIONS, make_embedder, tsv_questions
from bench.measure import ROOT, machine_line, percentile, reproduce_command
from bench.synthetic import CorpusSpec, SyntheticCorpus
from knowledge.answers.citations import validate_citations
from knowledge.answers.prompt import build_messages, number_articles
from knowledge.answers.question import clean_question
from knowledge.answers.refusal import RefusalPolicy, assess
from knowledge.embeddings.base import Embedder
from knowledge.index import KnowledgeIndex
from knowledge.settings import load_settings

# What a model typically sends back: a few cited claims, one citation out of range.
CANNED_REPLY = (
    "The sources describe this directly [1]. A second point is supported elsewhere [2][3]. "
    "One detail comes from a source that was not given [12]. In short, see [1-2]."
)
STAGES = ("clean", "embed", "search", "refusal", "prompt", "validate", "total")


def run_path(index: KnowledgeIndex, questions: Sequence[str]) -> dict[str, list[float]]:
    """Time each stage for every question; 'embed' is measured on its own, 'search' includes it."""
    policy = RefusalPolicy.for_embedder(index.embedder.name)
    times: dict[str, list[float]] = {stage: [] for stage in STAGES}
    clock = time.perf_counter
    for question in questions:
        t0 = clock()
        text = clean_question(question, 1500).text
        t1 = clock()
        index.embedder.embed_query(text)
        t2 = clock()
        hits = index.search(text)
        t3 = clock()
        policy.should_refuse(assess(text, hits))
        t4 = clock()
        numbered = number_articles(hits)
        build_messages(text, numbered)
        t5 = clock()
        validate_citations(CANNED_REPLY, [s.n for s in numbered])
        t6 = clock()
        # The separately measured embedding is not part of the path: search embeds again.
        stages = (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5, t6 - t0 - (t2 - t1))
        for stage, seconds in zip(STAGES, stages, strict=True):
            times[stage].append(seconds * 1000)
    return times


def report(label: str, times: dict[str, list[float]]) -> None:
    n = len(times["total"])
    print(f"\n{label} ({n} questions)")
    print(f"  {'stage':10} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for stage in STAGES:
        values = times[stage]
        print(
            f"  {stage:10} {percentile(values, 50):8.2f} {percentile(values, 95):8.2f} "
            f"{max(values):8.2f}"
        )


def sample_index(embedder: Embedder, out: Path) -> KnowledgeIndex:
    index = KnowledgeIndex(load_settings(data_dir=out / f"path-sample-{embedder.name}"), embedder)
    index.ingest([str(SAMPLE_DIR)])
    return index


def synthetic_index(
    embedder: Embedder, out: Path, chunks: int
) -> tuple[KnowledgeIndex, SyntheticCorpus]:
    corpus = SyntheticCorpus(CorpusSpec(chunks=chunks))
    settings = load_settings(data_dir=out / f"path-synthetic-{chunks}-{embedder.name}")
    index = KnowledgeIndex(settings, embedder)
    if index.stats()["articles"] != len(corpus):
        started = time.perf_counter()
        index.add_articles(list(corpus))
        print(f"indexed {len(corpus)} synthetic articles in {time.perf_counter() - started:.0f}s")
    return index, corpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", default="onnx", choices=["hash", "onnx"])
    parser.add_argument("--chunks", type=int, default=10_000, help="Synthetic chunks (0: skip).")
    parser.add_argument("--questions", type=int, default=200, help="Synthetic questions.")
    parser.add_argument("--repeat", type=int, default=5, help="Passes over the sample questions.")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args()

    print("answer path without the LLM call")
    print(machine_line())
    print("reproduce: " + reproduce_command("bench.bench_answer_path"))
    embedder = make_embedder(args.embedder)
    print(f"embedder: {embedder.name}")

    index = sample_index(embedder, args.out)
    questions = [q for _, q in tsv_questions(SAMPLE_QUESTIONS)]
    run_path(index, questions[:5])  # warm-up: sessions, caches, lazy loads
    report(
        f"sample: {index.stats()['articles']} articles, {index.stats()['chunks']} chunks",
        run_path(index, questions * args.repeat),
    )
    index.close()

    if args.chunks:
        big, corpus = synthetic_index(embedder, args.out, args.chunks)
        synthetic_questions = [q for q, _ in corpus.queries(args.questions)]
        run_path(big, synthetic_questions[:5])
        report(
            f"synthetic: {big.stats()['articles']} articles, {big.stats()['chunks']} chunks",
            run_path(big, synthetic_questions),
        )
        big.close()


if __name__ == "__main__":
    main()
