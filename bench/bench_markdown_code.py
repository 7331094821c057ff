"""Markdown code reader: the line walker and code regions against markdown-it-py, on one big
document and on the chunker's hot path (every article at ingest).

    .venv/bin/python -m bench.bench_markdown_code                 # 5 MB document, 300 articles
    .venv/bin/python -m bench.bench_markdown_code --megabytes 1 --articles 50 --repeat 3

The document is generated (seeded): headings, paragraphs with inline code and citation markers,
backtick, tilde and four-backtick fences, and list items holding fences. Timings are the best of
`--repeat` runs. markdown-it-py is timed block-level only (inline rules off), which is all a
fence finder needs from it, and in full (what code spans would take; it gives them no offsets).
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

from markdown_it import MarkdownIt

from bench.measure import machine_line, reproduce_command
from knowledge.chunking import ChunkingPolicy, chunk_article
from knowledge.markdown_code import code_regions, markdown_lines
from knowledge.models import Article

_WORDS = [
    "the", "model", "index", "chunk", "vector", "of", "and", "to", "training", "loss", "data",
    "for", "retrieval", "a", "in", "is", "with", "`x[1]`", "``a`b``", "[1]", "[2]", "**bold**",
    "_word_", "https://example.com",
]  # fmt: skip


def _paragraph(rng: random.Random) -> str:
    return " ".join(rng.choices(_WORDS, k=rng.randint(20, 120)))


def _fenced(rng: random.Random, indent: str = "") -> str:
    marker = rng.choice(["```", "~~~", "````"])
    lines = [f"{indent}{marker}python"]
    lines += [f"{indent}x_{i} = f({i})  # step [{i}]" for i in range(rng.randint(3, 30))]
    return "\n".join([*lines, f"{indent}{marker}"])


def markdown_document(size: int, seed: int = 7) -> str:
    """About `size` characters of generated Markdown."""
    rng = random.Random(seed)
    blocks: list[str] = []
    total = 0
    while total < size:
        roll = rng.random()
        if roll < 0.1:
            block = "#" * rng.randint(1, 3) + " " + " ".join(rng.choices(_WORDS, k=4))
        elif roll < 0.25:
            block = _fenced(rng)
        elif roll < 0.3:
            block = "1. Install it:\n\n" + _fenced(rng, "   ") + "\n\n2. Then run it."
        else:
            block = _paragraph(rng)
        blocks.append(block)
        total += len(block) + 2
    return "\n\n".join(blocks)


def best_seconds(run: Callable[[], object], repeat: int) -> float:
    """The fastest of `repeat` runs of `run`, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=5.0)
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--article-kb", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    document = markdown_document(int(args.megabytes * 1_000_000))
    blocks_only = MarkdownIt("commonmark").disable(["inline", "text_join"])
    full = MarkdownIt("commonmark")
    print(f"document: {len(document) / 1e6:.1f} MB, {document.count(chr(10)) + 1:,} lines")
    rows = [
        ("markdown_lines (fences, list items)", lambda: list(markdown_lines(document))),
        ("code_regions (fences + code spans)", lambda: code_regions(document)),
        ("markdown-it-py, block rules only", lambda: blocks_only.parse(document)),
        ("markdown-it-py, full parse", lambda: full.parse(document)),
    ]
    for label, run in rows:
        seconds = best_seconds(run, 1 if "full" in label else args.repeat)
        print(f"  {label:<38} {seconds * 1000:8.0f} ms  {len(document) / 1e6 / seconds:6.1f} MB/s")

    size = int(args.article_kb * 1000)
    articles = [
        Article(title=f"Article {i}", body=markdown_document(size, seed=i))
        for i in range(args.articles)
    ]
    policy = ChunkingPolicy(
        target_tokens=200, overlap_tokens=20, count_tokens=lambda s: len(s) // 4
    )
    chunking = best_seconds(lambda: [chunk_article(a, policy) for a in articles], args.repeat)
    walking = best_seconds(lambda: [list(markdown_lines(a.body)) for a in articles], args.repeat)
    other = best_seconds(lambda: [blocks_only.parse(a.body) for a in articles], args.repeat)
    per = 1000 / args.articles
    print(f"chunker hot path: {args.articles} articles of {args.article_kb:.0f} kB")
    print(f"  chunk_article (cheap token counter)    {chunking * per:8.2f} ms/article")
    print(f"  of which markdown_lines, once per pass {walking * per:8.2f} ms/article")
    print(f"  markdown-it-py block rules instead     {other * per:8.2f} ms/article")
    print(machine_line())
    print(f"reproduce: {reproduce_command('bench.bench_markdown_code', argv)}")


if __name__ == "__main__":
    main()
