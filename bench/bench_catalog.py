"""The catalog check every search makes: which of ~100 candidate ids are committed, and whose.

    .venv/bin/python -m bench.bench_catalog [--chunks 1000000] [--without-covering-index]
        [--drop-page-cache]

Builds a catalog of N chunks with ~1.4 KB of text each (as the scale benchmark's chunks
are), then times `Catalog.articles_of` on 100 random ids, 3 x 200 times: first with whatever the
OS page cache holds (with --drop-page-cache, run as root, the whole cache is dropped first: this
slows every process on the machine for a while), then as it warms. With
--without-covering-index it drops the chunks_article_of index first and queries the table the
way Curator did before that index existed.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import tempfile
import time
from pathlib import Path

from bench.measure import machine_line, percentile, reproduce_command
from knowledge.store.catalog import Catalog, connect

CHUNKS_PER_ARTICLE = 10


def chunk_id(article: int, position: int) -> str:
    return f"{article:016x}{position:04d}0123456789ab"


def build(path: Path, chunks: int) -> None:
    Catalog(path).close()
    conn = sqlite3.connect(path)
    text = "x" * 1400
    for article in range(chunks // CHUNKS_PER_ARTICLE):
        aid = f"{article:016x}"
        conn.execute(
            "INSERT INTO articles (id, url, title, content_hash, card, indexed_at) "
            "VALUES (?, '', '', '', '{}', 0)",
            (aid,),
        )
        conn.executemany(
            "INSERT INTO chunks (id, article_id, position, chunk) VALUES (?, ?, ?, ?)",
            [(chunk_id(article, p), aid, p, text) for p in range(CHUNKS_PER_ARTICLE)],
        )
    conn.commit()
    conn.close()


def old_articles_of(conn: sqlite3.Connection, ids: list[str]) -> dict[str, str]:
    marks = ",".join("?" * len(ids))
    rows = conn.execute(f"SELECT id, article_id FROM chunks WHERE id IN ({marks})", ids)
    return dict(rows.fetchall())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--without-covering-index", action="store_true")
    parser.add_argument(
        "--drop-page-cache",
        action="store_true",
        help="drop the whole OS page cache before the first round (needs root; affects every "
        "process on the machine)",
    )
    args = parser.parse_args()
    if args.drop_page_cache and os.geteuid() != 0:
        parser.error("--drop-page-cache needs root (it writes /proc/sys/vm/drop_caches)")
    rng = random.Random(1)
    articles = args.chunks // CHUNKS_PER_ARTICLE

    def candidates() -> list[str]:
        return [chunk_id(rng.randrange(articles), rng.randrange(10)) for _ in range(100)]

    with tempfile.TemporaryDirectory(prefix="curator-catalog-") as work:
        path = Path(work) / "catalog.sqlite3"
        started = time.perf_counter()
        build(path, args.chunks)
        print(f"built {args.chunks:,} chunks in {time.perf_counter() - started:.0f} s")
        catalog = Catalog(path)
        if args.without_covering_index:
            raw = connect(path)  # tuned as the catalog's own connection
            raw.execute("DROP INDEX chunks_article_of")

            def lookup(ids: list[str]) -> dict[str, str]:
                return old_articles_of(raw, ids)
        else:
            lookup = catalog.articles_of
        if args.drop_page_cache:
            os.sync()
            Path("/proc/sys/vm/drop_caches").write_text("3\n")
        first = "first 200 (OS cache dropped)" if args.drop_page_cache else "first 200"
        for label in (first, "next 200", "third 200"):
            times = []
            for _ in range(200):
                ids = candidates()
                start = time.perf_counter()
                lookup(ids)
                times.append((time.perf_counter() - start) * 1000)
            print(
                f"{label}: p50 {percentile(times, 50):.2f} ms, p95 {percentile(times, 95):.2f} ms"
            )
        catalog.close()
    print(machine_line())
    print("reproduce: " + reproduce_command("bench.bench_catalog"))


if __name__ == "__main__":
    main()
