"""Where one search spends its time, step by step, on an existing data dir.

    .venv/bin/python -m bench.bench_scale --sizes 100000 --work /tmp/scale --keep
    .venv/bin/python -m bench.bench_search --data /tmp/scale/scale-100000 --synthetic 100000

Times, over the same queries: the whole `KnowledgeIndex.search` per mode, then each step of the
hybrid path on its own (query embedding, the Chroma query as the store makes it and with
distances only, BM25, the catalog fetch split into SQL and model parsing), so a change to any one
step can be checked in isolation. `--profile` adds a cProfile of the hybrid searches.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.bench_scale import bench_settings
from bench.measure import machine_line, percentile, reproduce_command
from bench.synthetic import CorpusSpec, SyntheticCorpus
from knowledge.embeddings.hash import HashEmbedder
from knowledge.index import KnowledgeIndex
from knowledge.models import Chunk
from knowledge.settings import load_settings


def timed(label: str, queries: list[str], step: Callable[[str], object]) -> dict[str, Any]:
    """Run `step` once per query (after two warm-up calls); latency percentiles in ms."""
    for q in queries[:2]:
        step(q)
    times = []
    for q in queries:
        start = time.perf_counter()
        step(q)
        times.append((time.perf_counter() - start) * 1000)
    return {
        "step": label,
        "p50": percentile(times, 50),
        "p95": percentile(times, 95),
        "mean": float(np.mean(times)),
    }


def load_queries(args: argparse.Namespace) -> list[str]:
    if args.queries_file:
        lines = args.queries_file.read_text(encoding="utf-8").splitlines()
        return [line for line in lines if line.strip()][: args.queries]
    if args.synthetic:
        corpus = SyntheticCorpus(CorpusSpec(chunks=args.synthetic))
        return [q for q, _ in corpus.queries(args.queries)]
    sys.exit("give --synthetic SIZE (a bench_scale data dir) or --queries-file FILE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a Curator data dir")
    parser.add_argument("--synthetic", type=int, help="chunks of the bench_scale corpus in it")
    parser.add_argument("--queries-file", type=Path, help="one query per line")
    parser.add_argument("--queries", type=int, default=200, help="how many queries")
    parser.add_argument("--candidates", type=int, default=None,
                        help="results per retriever (default: as search asks)")  # fmt: skip
    parser.add_argument("--profile", action="store_true", help="cProfile the hybrid searches")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not args.data.is_dir():
        sys.exit(f"no data dir at {args.data}")

    queries = load_queries(args)
    if args.synthetic:
        index = KnowledgeIndex(bench_settings(args.data), embedder=HashEmbedder(384))
    else:
        index = KnowledgeIndex(load_settings(data_dir=args.data))
    r = index.settings.retrieval
    n = args.candidates or max(r.candidates, r.k * 3)
    vectors = {q: index.embedder.embed_query(q) for q in queries}
    # The raw collection, to compare what the store asks Chroma for with distances alone.
    collection = index.vectors.collection()
    candidate_ids = {
        q: list(
            dict.fromkeys(
                [m.id for m in index.vectors.query(vectors[q], n)]
                + [m.id for m in index.lexical.search(q, n)]
            )
        )
        for q in queries
    }

    def catalog_sql(q: str) -> dict[str, str]:
        return index.catalog.chunk_json(candidate_ids[q])

    rows = {q: catalog_sql(q) for q in queries}
    results = [
        timed("search(hybrid)", queries, lambda q: index.search(q, mode="hybrid")),
        timed("search(dense)", queries, lambda q: index.search(q, mode="dense")),
        timed("search(bm25)", queries, lambda q: index.search(q, mode="bm25")),
        timed("embed_query", queries, index.embedder.embed_query),
        timed(
            f"chroma query, as the store asks (n={n})",
            queries,
            lambda q: index.vectors.query(vectors[q], n),
        ),
        timed(
            f"chroma query, distances only (n={n})",
            queries,
            lambda q: collection.query(
                query_embeddings=[vectors[q]], n_results=n, include=["distances"]
            ),
        ),
        timed(f"bm25 search (n={n})", queries, lambda q: index.lexical.search(q, n)),
        timed(
            "catalog.articles_of, all candidates",
            queries,
            lambda q: index.catalog.articles_of(candidate_ids[q]),
        ),
        timed(
            "catalog.chunks_by_id, all candidates",
            queries,
            lambda q: index.catalog.chunks_by_id(candidate_ids[q]),
        ),
        # The rows below run with the catalog pages the line above brought into cache.
        timed("  again: SQL only", queries, catalog_sql),
        timed(
            "  again: Chunk parsing only",
            queries,
            lambda q: [Chunk.model_validate_json(raw) for raw in rows[q].values()],
        ),
        timed(
            f"  again: full chunks of the top {r.k} only",
            queries,
            lambda q: index.catalog.chunks_by_id(candidate_ids[q][: r.k]),
        ),
    ]
    stats = index.stats()
    per_query = np.mean([len(v) for v in candidate_ids.values()])
    print(
        f"\n{stats['chunks']:,} chunks, embedder {stats['embedder']}, {len(queries)} queries, "
        f"{per_query:.0f} candidate ids per query\n"
    )
    print(f"| {'step':<40} | p50 ms | p95 ms | mean ms |\n|{'-' * 42}|---:|---:|---:|")
    for res in results:
        print(f"| {res['step']:<40} | {res['p50']:6.2f} | {res['p95']:6.2f} | {res['mean']:7.2f} |")

    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for q in queries:
            index.search(q, mode="hybrid")
        profile.disable()
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(20)
        print(text.getvalue())
    index.close()
    print(machine_line())
    print("reproduce: " + reproduce_command("bench.bench_search"))


if __name__ == "__main__":
    main()
