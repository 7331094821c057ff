"""What a reindex embeds when articles change but their chunks' text does not: seconds and texts.

    .venv/bin/python -m bench.bench_reembed [--articles 300] [--embedder hash|onnx]

N Markdown cards are indexed; then a tenth of them get a new topic (metadata only), then the
chunker's version changes while it still cuts every article alike (what a chunker fix does to
the articles it does not concern). Each reindex updates those articles; a stored vector whose
chunk text is unchanged is kept, so both embed nothing (and the topic filter follows the edit).
Before 2026-11-30 both re-embedded every chunk of every updated article: the first ingest's
cost. Goal: 0 texts embedded in both steps.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import knowledge.chunking as chunking
from bench.bench_refresh import count_embeddings, write_card
from bench.measure import machine_line, reproduce_command
from bench.synthetic import CorpusSpec, SyntheticCorpus
from knowledge.index import KnowledgeIndex
from knowledge.models import SearchFilters
from knowledge.settings import load_settings

NEW_TOPIC = "bench-moved"


def run(articles: int, embedder: str, root: Path) -> None:
    corpus = SyntheticCorpus(CorpusSpec(chunks=articles * 5, chunks_per_article=5))
    folder = root / "cards"
    folder.mkdir()
    for n in range(articles):
        write_card(folder, n, corpus[n])
    settings = load_settings(
        data_dir=root / "data",
        embeddings={"provider": embedder},
        knowledge={"sources": [str(folder)]},
    )
    index = KnowledgeIndex(settings)
    try:
        counter = count_embeddings(index)

        def step(label: str) -> None:
            before = counter.texts
            start = time.perf_counter()
            report = index.reindex()
            seconds = time.perf_counter() - start
            print(
                f"{label:<34} {seconds:7.2f} s, {counter.texts - before:6d} texts embedded "
                f"(chunks + sentences), {report.added} added, {report.updated} updated"
            )

        step("first ingest (embeds everything):")
        print(f"  {index.catalog.chunk_count()} chunks; embedder {index.embedder.name}")
        moved = range(0, articles, 10)
        for n in moved:
            article = corpus[n]
            write_card(folder, n, article.model_copy(update={"topics": [NEW_TOPIC]}))
        step("a tenth get a new topic:")
        found = index.search(corpus[0].title, k=5, filters=SearchFilters(topic=NEW_TOPIC))
        print(f"  topic filter finds a moved article: {bool(found)}")
        chunking.CHUNKER_VERSION += "-bench"
        step("chunker version change, same cuts:")
    finally:
        index.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--articles", type=int, default=300, help="Cards indexed (>= 10).")
    parser.add_argument("--embedder", choices=["hash", "onnx"], default="hash")
    args = parser.parse_args(argv)
    if args.articles < 10:
        parser.error("--articles must be at least 10")
    print(machine_line())
    print("reproduce: " + reproduce_command("bench.bench_reembed", argv))
    with tempfile.TemporaryDirectory() as tmp:
        run(args.articles, args.embedder, Path(tmp))


if __name__ == "__main__":
    main()
