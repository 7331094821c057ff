"""Scale benchmark: ingest and search synthetic corpora of 10k to 1M chunks.

    .venv/bin/python -m bench.bench_scale --sizes 10000,100000 --queries 200 \
        [--figures scale.json] [--plot scale.png] [--markdown]

For each size, one child process builds the index (hash embedder, embedded Chroma, BM25) and a
second, fresh one opens it and searches, as the bot does after a restart, so each peak RSS
belongs to one job. Prints the tables and the command that reproduces them. It never edits the
docs: --figures keeps the raw figures in a JSON file (sizes measured earlier are kept unless
remeasured, so a 1M run can be added later), --plot draws the charts, and --markdown prints the
whole "## Scale" section for a person to paste into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from bench.measure import (
    ROOT,
    current_rss_mib,
    machine,
    peak_rss_mib,
    percentile,
    reproduce_command,
)
from bench.synthetic import CorpusSpec, SyntheticCorpus
from knowledge.embeddings.hash import HashEmbedder
from knowledge.index import KnowledgeIndex, SearchMode
from knowledge.settings import Settings, load_settings, with_overrides

MODES: tuple[SearchMode, ...] = ("hybrid", "dense", "bm25")
GOAL_P95_MS = 100.0
SECTION = "## Scale"
DATA_MARK = "scale-data:"


# -- measuring -------------------------------------------------------------------------------


def disk_mb(folder: Path) -> float:
    """Space the files under `folder` occupy on disk (allocated blocks, as du counts)."""
    total = 0
    for base, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(base, name)).st_blocks * 512
            except FileNotFoundError:
                continue
    return total / 2**20


class Stopwatch:
    """Seconds spent inside wrapped methods, by label."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._wrapped: list[tuple[object, str]] = []

    def wrap(self, owner: object, method: str, label: str) -> None:
        """Shadow `owner.method` with a timed version (instance attribute, class untouched)."""
        inner: Callable[..., Any] = getattr(owner, method)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - start

        setattr(owner, method, timed)
        self._wrapped.append((owner, method))

    def unwrap(self) -> None:
        """Put the original methods back."""
        for owner, method in self._wrapped:
            vars(owner).pop(method, None)
        self._wrapped.clear()

    def take(self) -> dict[str, float]:
        out, self.seconds = self.seconds, {}
        return out


@contextmanager
def profiled(enabled: bool, title: str, limit: int = 25) -> Iterator[None]:
    """cProfile the block and print the top functions by cumulative and own time to stderr."""
    if not enabled:
        yield
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        for order in ("cumulative", "tottime"):
            text = io.StringIO()
            pstats.Stats(profile, stream=text).sort_stats(order).print_stats(limit)
            sys.stderr.write(f"\n=== profile: {title} (by {order}) ===\n{text.getvalue()}")


def bench_settings(data_dir: Path, chroma_port: int | None = None) -> Settings:
    """Hash embedder; the embedded store in the benchmark's own folder, whatever the
    environment says, or the `chroma run` server on 127.0.0.1:`chroma_port`."""
    settings = load_settings(data_dir=data_dir, embeddings={"provider": "hash"})
    host = "127.0.0.1" if chroma_port else None
    return with_overrides(
        settings, chroma={"host": host, "port": chroma_port or settings.chroma.port}
    )


def corpus_for(size: int) -> SyntheticCorpus:
    return SyntheticCorpus(CorpusSpec(chunks=size))


def child_ingest(
    size: int, data_dir: Path, profile: bool, chroma_port: int | None = None
) -> dict[str, Any]:
    """Generate the corpus, index it, and report where the time and memory went."""
    started = time.perf_counter()
    corpus = corpus_for(size)
    articles = list(corpus)
    generated_s = time.perf_counter() - started
    rss_corpus = current_rss_mib()

    index = KnowledgeIndex(bench_settings(data_dir, chroma_port), embedder=HashEmbedder(384))
    watch = Stopwatch()
    watch.wrap(index.embedder, "embed", "embed")
    watch.wrap(index.vectors, "upsert", "chroma_upsert")
    watch.wrap(index.catalog, "commit_article", "catalog_commit")
    marks: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        marks.setdefault(f"{stage}_first", now)
        marks[f"{stage}_last"] = now
        step = max(1, total // 10)
        if stage == "embed" and (done == total or done % step < 60):
            sys.stderr.write(f"  [{size}] embedded {done}/{total} articles\n")

    begin = time.perf_counter()
    with profiled(profile, f"ingest {size}"):
        index.add_articles(articles, progress=progress)
    ingest_s = time.perf_counter() - begin
    chunks = index.catalog.chunk_count()
    bm25_s = marks.get("bm25_last", begin) - marks.get("bm25_first", begin)
    parts = watch.take()
    index.close()
    return {
        "size": size,
        "chunks": chunks,
        "articles": len(articles),
        "generate_s": round(generated_s, 2),
        "ingest_s": round(ingest_s, 2),
        "ingest_chunks_per_s": round(chunks / ingest_s, 1),
        "ingest_parts_s": {
            **{k: round(v, 2) for k, v in parts.items()},
            "bm25_rebuild": round(bm25_s, 2),
            "other": round(ingest_s - bm25_s - sum(parts.values()), 2),
        },
        "corpus_rss_mb": round(rss_corpus, 1),
        "ingest_peak_rss_mb": round(peak_rss_mib(), 1),
    }


def child_search(
    size: int, data_dir: Path, queries: int, profile: bool, chroma_port: int | None = None
) -> dict[str, Any]:
    """Open the index in a fresh process and time every mode over the same queries."""
    corpus = corpus_for(size)
    asked = corpus.queries(queries)
    index = KnowledgeIndex(bench_settings(data_dir, chroma_port), embedder=HashEmbedder(384))
    rss_before = current_rss_mib()
    start = time.perf_counter()
    # Each store loads on first use: BM25 arrays, then Chroma's HNSW, so RSS splits by part.
    index.lexical.search(asked[0][0], 1)
    rss_bm25 = current_rss_mib()
    index.search(asked[0][0], mode="hybrid")
    cold_ms = (time.perf_counter() - start) * 1000
    rss_loaded = current_rss_mib()

    result: dict[str, Any] = {
        "size": size,
        "queries": len(asked),
        "k": index.settings.retrieval.k,
        "cold_first_query_ms": round(cold_ms, 1),
        "rss_loaded_mb": round(rss_loaded, 1),
        "rss_index_mb": round(rss_loaded - rss_before, 1),
        "rss_bm25_mb": round(rss_bm25 - rss_before, 1),
        "rss_chroma_and_rest_mb": round(rss_loaded - rss_bm25, 1),
        "modes": {},
    }
    for mode in MODES:
        for query, _ in asked[:5]:  # warm caches the way a running bot has them
            index.search(query, mode=mode)
        watch = Stopwatch()
        if mode == "hybrid":
            watch.wrap(index.embedder, "embed_query", "embed_query")
            watch.wrap(index.vectors, "query", "chroma_query")
            watch.wrap(index.lexical, "search", "bm25_search")
            watch.wrap(index.catalog, "articles_of", "catalog_check")
            watch.wrap(index.catalog, "chunks_by_id", "catalog_fetch")
        latencies: list[float] = []
        found = 0
        with profiled(profile and mode == "hybrid", f"hybrid search {size}"):
            for query, article_id in asked:
                start = time.perf_counter()
                hits = index.search(query, mode=mode)
                latencies.append((time.perf_counter() - start) * 1000)
                found += any(h.article_id == article_id for h in hits)
        figures: dict[str, Any] = {
            "p50_ms": round(percentile(latencies, 50), 2),
            "p95_ms": round(percentile(latencies, 95), 2),
            "mean_ms": round(float(np.mean(latencies)), 2),
            "article_in_top_k": round(found / len(asked), 3),
        }
        if mode == "hybrid":
            total = sum(latencies)
            parts = {k: v * 1000 / len(asked) for k, v in watch.take().items()}
            parts["fusion_and_rest"] = total / len(asked) - sum(parts.values())
            figures["mean_parts_ms"] = {k: round(v, 2) for k, v in parts.items()}
        watch.unwrap()
        result["modes"][mode] = figures
    result["search_peak_rss_mb"] = round(peak_rss_mib(), 1)
    index.close()
    return result


# -- orchestration ---------------------------------------------------------------------------


def run_child(args: list[str], timeout: float | None) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.bench_scale", *args]
    done = subprocess.run(
        cmd, stdout=subprocess.PIPE, stderr=None, text=True, timeout=timeout, check=False, cwd=ROOT
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed with exit code {done.returncode}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def measure(size: int, queries: int, work: Path, keep: bool, profile: bool) -> dict[str, Any]:
    data_dir = work / f"scale-{size}"
    shutil.rmtree(data_dir, ignore_errors=True)
    extra = ["--profile"] if profile else []
    load_at_start = round(os.getloadavg()[0], 2)
    try:
        sys.stderr.write(f"[{size}] ingesting...\n")
        ingest = run_child(["--child", "ingest", "--size", str(size), "--data", str(data_dir),
                            *extra], None)  # fmt: skip
        size_mb = disk_mb(data_dir)
        parts = {p.name: round(disk_mb(p), 1) for p in sorted(data_dir.rglob("*")) if p.is_dir()
                 and p.parent in (data_dir, data_dir / "index")}  # fmt: skip
        sys.stderr.write(f"[{size}] ingested in {ingest['ingest_s']} s; searching...\n")
        search = run_child(
            ["--child", "search", "--size", str(size), "--data", str(data_dir),
             "--queries", str(queries), *extra],
            None,
        )  # fmt: skip
    finally:
        if not keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    return {
        **ingest,
        **search,
        "disk_mb": round(size_mb, 1),
        "disk_parts_mb": parts,
        "load_avg_1m_at_start": load_at_start,
    }


# -- reporting -------------------------------------------------------------------------------


def _n(chunks: int) -> str:
    return f"{chunks // 1_000_000}M" if chunks >= 1_000_000 else f"{chunks // 1000}k"


def results_table(rows: list[dict[str, Any]]) -> str:
    """The headline figures, one row per corpus size."""
    head = (
        "| chunks | ingest | hybrid p50 / p95 | dense p50 / p95 | bm25 p50 / p95 "
        "| first query (cold) | peak RSS: ingest / search | disk | article in top k |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = []
    for r in rows:
        m = r["modes"]
        lines.append(
            f"| {r['chunks']:,} | {r['ingest_s']:,.0f} s ({r['ingest_chunks_per_s']:,.0f}/s) "
            + "".join(f"| {m[mode]['p50_ms']:.1f} / {m[mode]['p95_ms']:.1f} ms " for mode in MODES)
            + f"| {r['cold_first_query_ms']:,.0f} ms "
            f"| {r['ingest_peak_rss_mb']:,.0f} / {r['search_peak_rss_mb']:,.0f} MiB "
            f"| {r['disk_mb']:,.0f} MiB | {m['hybrid']['article_in_top_k']:.2f} |"
        )
    return head + "\n".join(lines) + "\n"


def _mib(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} MiB"


SEARCH_PARTS = (
    "embed_query",
    "chroma_query",
    "bm25_search",
    "catalog_check",
    "catalog_fetch",
    "fusion_and_rest",
)
INGEST_PARTS = ("embed", "chroma_upsert", "catalog_commit", "bm25_rebuild", "other")


def parts_tables(rows: list[dict[str, Any]]) -> str:
    """Where one hybrid search, one ingest and the serving process's memory go."""
    search = (
        "| chunks | hybrid mean | " + " | ".join(SEARCH_PARTS) + " |\n"
        + "|---:" * (2 + len(SEARCH_PARTS)) + "|\n"
    )  # fmt: skip
    ingest = (
        "| chunks | ingest | " + " | ".join(INGEST_PARTS) + " |\n"
        + "|---:" * (2 + len(INGEST_PARTS)) + "|\n"
    )  # fmt: skip
    memory = (
        "| chunks | RSS before loading | + BM25 | + Chroma (HNSW, SQLite) "
        "| disk: chroma / index |\n|---:|---:|---:|---:|---:|\n"
    )
    for r in rows:
        hybrid = r["modes"]["hybrid"]
        s = hybrid.get("mean_parts_ms", {})
        search += (
            f"| {r['chunks']:,} | {hybrid['mean_ms']:.1f} ms | "
            # A step missing from an older run was not timed on its own ("—"), not free.
            + " | ".join(f"{s[k]:.1f} ms" if k in s else "—" for k in SEARCH_PARTS)
            + " |\n"
        )
        i = r["ingest_parts_s"]
        ingest += (
            f"| {r['chunks']:,} | {r['ingest_s']:,.0f} s | "
            + " | ".join(f"{i.get(k, 0):,.0f} s" for k in INGEST_PARTS)
            + " |\n"
        )
        before = r["rss_loaded_mb"] - r["rss_index_mb"]
        d = r.get("disk_parts_mb", {})
        memory += (
            f"| {r['chunks']:,} | {before:,.0f} MiB | {_mib(r.get('rss_bm25_mb'))} "
            f"| {_mib(r.get('rss_chroma_and_rest_mb'))} "
            f"| {d.get('chroma', 0):,.0f} / {d.get('index', 0):,.0f} MiB |\n"
        )
    return (
        "Mean time per hybrid search, by step (\"—\": not timed on its own in that run, so "
        "inside fusion_and_rest):\n\n" + search
        + "\nIngest time, by step:\n\n" + ingest
        + "\nMemory of the serving process and disk, by part:\n\n" + memory
    )  # fmt: skip


def _slope_kib(rows: list[dict[str, Any]], key: str) -> float | None:
    """KiB per extra chunk of `key` (MiB) between the two largest sizes measured with it."""
    have = [r for r in rows if r.get(key) is not None]
    if len(have) < 2:
        return None
    a, b = have[-2], have[-1]
    return float((b[key] - a[key]) * 1024 / (b["chunks"] - a["chunks"]))


def _bullet(text: str) -> str:
    return textwrap.fill(" ".join(text.split()), width=100, initial_indent="- ",
                         subsequent_indent="  ")  # fmt: skip


def limits_text(rows: list[dict[str, Any]]) -> str:
    """Where the embedded set-up stops, from the per-chunk costs measured above."""
    big = rows[-1]
    million = 1_000_000
    bm25 = _slope_kib(rows, "rss_bm25_mb")
    chroma = _slope_kib(rows, "rss_chroma_and_rest_mb")
    index = _slope_kib(rows, "rss_index_mb") or big["rss_index_mb"] * 1024 / big["chunks"]
    serving_1m = big["rss_loaded_mb"] + index * (million - big["chunks"]) / 1024
    disk_kib = big["disk_mb"] * 1024 / big["chunks"]
    rate = big["ingest_chunks_per_s"]
    hybrid = big["modes"]["hybrid"]
    parts = hybrid.get("mean_parts_ms", {})
    upsert_share = 100 * big["ingest_parts_s"].get("chroma_upsert", 0) / big["ingest_s"]
    verdict = "stays under" if hybrid["p95_ms"] < GOAL_P95_MS else "misses"
    split = (
        f" (BM25 {bm25:.1f} KiB, Chroma {chroma:.1f} KiB)" if bm25 is not None and chroma else ""
    )
    measured = (
        f"Measured up to {_n(big['chunks'])} chunks, each extra chunk costs the serving "
        f"process {index:.1f} KiB of RAM{split} and the data dir {disk_kib:.1f} KiB of disk; "
        f"ingest runs at {rate:,.0f} chunks/s, {upsert_share:.0f}% of it inside Chroma's "
        f"upsert. Hybrid search {verdict} the {GOAL_P95_MS:.0f} ms p95 goal: "
        f"{hybrid['p50_ms']:.0f} ms p50 / {hybrid['p95_ms']:.0f} ms p95 at "
        f"{_n(big['chunks'])}, of which the Chroma query is {parts.get('chroma_query', 0):.0f} ms "
        f"and BM25 {parts.get('bm25_search', 0):.1f} ms."
    )
    if len(rows) >= 2:
        a = rows[-2]
        before = a["modes"]["hybrid"].get("mean_parts_ms", {}).get("chroma_query", 0)
        after = parts.get("chroma_query", 0)
        change = (
            f"stayed at {after:.0f} ms"
            if round(before) == round(after)
            else f"went from {before:.0f} to {after:.0f} ms"
        )
        measured += (
            f" From {_n(a['chunks'])} to {_n(big['chunks'])} chunks the Chroma query {change} "
            "(HNSW search grows logarithmically, and only ids and distances are fetched) and "
            "BM25-only search from "
            f"{a['modes']['bm25']['p50_ms']:.1f} to {big['modes']['bm25']['p50_ms']:.1f} ms p50 "
            f"(posting lists grow with the corpus)."
        )
    if big["chunks"] >= million:
        outlook = (
            f"At {_n(big['chunks'])} chunks the serving process holds "
            f"{big['rss_loaded_mb'] / 1024:.1f} GiB once loaded (peak "
            f"{big['search_peak_rss_mb'] / 1024:.1f} GiB while searching), ingest peaks at "
            f"{big['ingest_peak_rss_mb'] / 1024:.1f} GiB, the data dir takes "
            f"{big['disk_mb'] / 1024:.1f} GiB and a full ingest takes "
            f"{big['ingest_s'] / 3600:.1f} hours on this machine."
        )
    else:
        outlook = (
            f"Projected to 1M chunks from those slopes: about {serving_1m / 1024:.1f} GiB of "
            f"RAM for the serving process, {disk_kib * million / 2**20:.0f} GiB of disk, and "
            f"{million / rate / 3600:.1f} hours of ingest on this machine (1M not measured)."
        )
    projected = _wrap(
        outlook + " Search latency is not what limits one machine; memory, disk and above all "
        "ingest time are."
    )
    guidance = "\n".join(
        _bullet(b)
        for b in (
            "Keep the embedded store (the default) for one bot process on one machine, up to a "
            "few hundred thousand chunks: search is tens of milliseconds and the whole index is "
            "a folder to back up.",
            "Move the vectors to a Chroma server (`CURATOR_CHROMA__HOST`) when more than one "
            "process must use the index (a second bot replica, or reindexing from another "
            "machine: an embedded Chroma belongs to one process), when a large reindex must not "
            "take the bot's cores for hours (a server on its own machine does the HNSW and "
            "SQLite work), or when the vector side no longer fits beside the bot (around 1M "
            "chunks and up).",
            "The BM25 index and the catalog stay in the bot's data dir with either store. BM25 "
            "is rebuilt from the catalog after every ingest (O(chunks): "
            f"{big['ingest_parts_s'].get('bm25_rebuild', 0):.0f} s at {_n(big['chunks'])}) and "
            "held in RAM, so past a few million chunks it is the lexical side, not Chroma, that "
            "needs to become incremental or move out.",
        )
    )
    return f"{_wrap(measured)}\n\n{projected}\n\n{guidance}"


def write_plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    chunks = [r["chunks"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    ax = axes[0]
    for mode, colour in zip(MODES, ("tab:blue", "tab:orange", "tab:green"), strict=True):
        ax.plot(chunks, [r["modes"][mode]["p50_ms"] for r in rows], "o--", color=colour,
                label=f"{mode} p50")  # fmt: skip
        ax.plot(chunks, [r["modes"][mode]["p95_ms"] for r in rows], "o-", color=colour,
                label=f"{mode} p95")  # fmt: skip
    ax.axhline(GOAL_P95_MS, color="grey", linestyle=":", label="goal: hybrid p95 100 ms")
    ax.set(xscale="log", yscale="log", xlabel="chunks", ylabel="ms per search",
           title="Search latency (warm, one query at a time)")  # fmt: skip
    ax.legend(fontsize=7)
    ax = axes[1]
    ax.plot(chunks, [r["ingest_s"] for r in rows], "o-", label="ingest, hash embedder")
    ax.set(xscale="log", yscale="log", xlabel="chunks", ylabel="seconds", title="Ingest time")
    for r in rows:
        ax.annotate(f"{r['ingest_chunks_per_s']:,.0f} chunks/s", (r["chunks"], r["ingest_s"]),
                    textcoords="offset points", xytext=(6, -10), fontsize=8)  # fmt: skip
    ax.margins(x=0.3)
    ax.legend(fontsize=8)
    ax = axes[2]
    ax.plot(chunks, [r["ingest_peak_rss_mb"] for r in rows], "o-", label="peak RSS, ingest")
    ax.plot(chunks, [r["search_peak_rss_mb"] for r in rows], "o-", label="peak RSS, search")
    ax.plot(chunks, [r["disk_mb"] for r in rows], "s-", label="data dir on disk")
    ax.set(xscale="log", yscale="log", xlabel="chunks", ylabel="MiB", title="Memory and disk")
    ax.legend(fontsize=8)
    fig.suptitle("Curator at scale: synthetic corpora, hash embedder, embedded Chroma + BM25")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def read_previous(path: Path) -> tuple[dict[int, dict[str, Any]], dict[str, Any] | None]:
    """Figures of an earlier run, by size, and that run's machine: from a --figures JSON file,
    or from the data comment of a pasted "## Scale" section (e.g. docs/benchmarks.md)."""
    if not path.exists():
        return {}, None
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".json":
        found = re.search(r"<!-- " + DATA_MARK + r" (.*?) -->", text, re.S)
        if not found:
            return {}, None
        text = found.group(1)
    try:
        data = json.loads(text)
        rows = [_renamed(r) for r in data["rows"]]
        return {int(r["size"]): r for r in rows}, data.get("machine")
    except (ValueError, KeyError, TypeError):
        return {}, None


#: Figure keys as runs before "records" became "chunks" wrote them.
_OLD_KEYS = {"records": "chunks", "ingest_records_per_s": "ingest_chunks_per_s"}


def _renamed(row: dict[str, Any]) -> dict[str, Any]:
    """A row of figures under today's keys, whichever release measured it."""
    row = {_OLD_KEYS.get(k, k): v for k, v in row.items()}
    for mode in row.get("modes", {}).values():
        if "source_in_top_k" in mode:
            mode["article_in_top_k"] = mode.pop("source_in_top_k")
    return row


def write_figures(path: Path, rows: list[dict[str, Any]], host: dict[str, Any]) -> None:
    """The raw figures as JSON, as `read_previous` reads them back."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"machine": host, "rows": rows}, indent=1) + "\n", encoding="utf-8")


def _wrap(text: str) -> str:
    return textwrap.fill(" ".join(text.split()), width=100)


def render_section(
    rows: list[dict[str, Any]], host: dict[str, Any], command: str, notes: str
) -> str:
    """The whole "## Scale" section, with the raw figures kept in a comment for later runs."""
    payload = json.dumps({"machine": host, "rows": rows}, separators=(",", ":"))
    intro = _wrap(
        "Synthetic corpora (bench/synthetic.py): Zipf-distributed words with English function "
        "words at the head, 300 topics, articles of 10 chunks (one summary chunk and nine "
        "~200-word paragraphs); vectors from the `hash` embedder (384 dimensions); embedded "
        "Chroma, BM25 and the catalog in one data dir; default retrieval settings (k=8, 50 "
        "candidates per retriever, per_article=3). Each size is indexed by one process and "
        "searched by a fresh one, as the bot after a restart; latencies are per query, one at "
        'a time, after 5 warm-up queries, query embedding included. "article in top k" is the '
        "share of queries whose article (the one each was drawn from) came back: a check that "
        "search still finds things at that size."
    )
    loads = sorted({r.get("load_avg_1m_at_start", host["load_avg_1m"]) for r in rows})
    load = f"{loads[0]:.1f}" if len(loads) == 1 else f"{loads[0]:.1f} to {loads[-1]:.1f}"
    machine_line = _wrap(
        f"Machine: {host['cpu']}, {host['cores']} cores, {host['memory_gib']} GiB, Python "
        f"{host['python']}, chromadb {host['chromadb']}, bm25s {host['bm25s']}; measured "
        f"{host['date']}. The machine was shared with other jobs (1-minute load average "
        f"{load} on {host['cores']} cores when a size started), so absolute times are "
        "pessimistic and vary by tens of percent between runs."
    )
    return (
        f"{SECTION}\n\n{intro}\n\nReproduce (ingesting {_n(rows[-1]['chunks'])} chunks "
        f"took {rows[-1]['ingest_s'] / 60:.0f} minutes here):\n\n"
        f"    {command}\n\n{machine_line}\n\n"
        + results_table(rows)
        + "".join(
            "\n" + _wrap(f"{_n(r['chunks'])}: {r['note']}") + "\n" for r in rows if r.get("note")
        )
        + "\n![Search latency, ingest time, memory and disk by corpus size](scale.png)\n\n"
        + parts_tables(rows)
        + "\n"
        + _wrap(
            "To time each step of a search on a data dir kept with `--keep --work DIR` "
            "(for instance after changing one of them): `.venv/bin/python -m bench.bench_search "
            "--data DIR/scale-100000 --synthetic 100000`."
        )
        + "\n\n### Where one machine stops\n\n"
        + limits_text(rows)
        + ("\n\n" + notes.strip() if notes.strip() else "")
        + f"\n\n<!-- {DATA_MARK} {payload} -->\n\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        help="chunks per corpus, comma separated")  # fmt: skip
    parser.add_argument("--queries", type=int, default=200, help="queries per mode")
    parser.add_argument("--figures", type=Path, default=None,
                        help="JSON file of raw figures: sizes in it are kept unless remeasured, "
                        "then it is rewritten with them all")  # fmt: skip
    parser.add_argument("--plot", type=Path, default=None, help="draw the charts to this PNG")
    parser.add_argument("--markdown", action="store_true",
                        help='also print the "## Scale" section to paste')  # fmt: skip
    parser.add_argument("--work", type=Path, default=None,
                        help="where data dirs are built (default: a temp dir)")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the data dirs afterwards")
    parser.add_argument("--profile", action="store_true", help="cProfile ingest and hybrid search")
    parser.add_argument("--notes", type=Path, default=None,
                        help="markdown appended to the 'Where one machine stops' text")  # fmt: skip
    parser.add_argument("--render-only", action="store_true",
                        help="print (and plot) the --figures file without measuring")  # fmt: skip
    parser.add_argument("--child", choices=["ingest", "search"], help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--chroma-port", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    if args.child:
        if args.child == "ingest":
            figures = child_ingest(args.size, args.data, args.profile, args.chroma_port)
        else:
            figures = child_search(
                args.size, args.data, args.queries, args.profile, args.chroma_port
            )
        sys.stdout.write(json.dumps(figures) + "\n")
        return

    if args.render_only and args.figures is None:
        parser.error("--render-only needs --figures FILE from an earlier run")
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    rows_by_size, previous_host = read_previous(args.figures) if args.figures else ({}, None)
    host = machine()
    if args.render_only:
        host = previous_host or host
    else:
        rows_by_size.update(measure_all(sizes, args))
    if not rows_by_size:
        sys.exit(f"no figures to show: {args.figures} holds no scale data yet")
    rows = [rows_by_size[s] for s in sorted(rows_by_size)]
    all_sizes = ",".join(str(s) for s in sorted(rows_by_size))
    command = reproduce_command(
        "bench.bench_scale",
        ["--sizes", all_sizes, "--queries", str(rows[-1].get("queries", args.queries))],
    )
    notes = args.notes.read_text(encoding="utf-8") if args.notes else ""
    print()
    print(results_table(rows))
    print(parts_tables(rows))
    print(limits_text(rows))
    if args.markdown:
        print("\n" + render_section(rows, host, command, notes))
    if args.figures and not args.render_only:
        write_figures(args.figures, rows, host)
        print(f"figures kept in {args.figures}")
    if args.plot:
        write_plot(rows, args.plot)
        print(f"charts drawn in {args.plot}")
    print(f"reproduce: {command}")


def measure_all(sizes: list[int], args: argparse.Namespace) -> dict[int, dict[str, Any]]:
    """Measure each size in its own pair of processes, in a temporary or given work dir."""
    rows: dict[int, dict[str, Any]] = {}
    work_ctx = tempfile.TemporaryDirectory(prefix="curator-scale-") if args.work is None else None
    work = Path(work_ctx.name) if work_ctx else args.work
    work.mkdir(parents=True, exist_ok=True)
    try:
        for size in sizes:
            rows[size] = measure(size, args.queries, work, args.keep, args.profile)
            sys.stderr.write(json.dumps(rows[size]) + "\n")
    finally:
        if work_ctx:
            work_ctx.cleanup()
    return rows


if __name__ == "__main__":
    main()
