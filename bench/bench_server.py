"""The same scale benchmark with the vectors in a `chroma run` server instead of in-process.

    .venv/bin/python -m bench.bench_server --sizes 10000,100000 --queries 200

For each size it starts a Chroma server on 127.0.0.1 (its own folder, a free port), ingests the
synthetic corpus of bench/bench_scale.py through it and searches it from a fresh process, exactly
as bench_scale does in-process, and reads the server's peak memory. It prints a table beside the
embedded figures of a bench_scale run (read from docs/benchmarks.md, or from a --figures file
with --embedded) when that size was measured there, to paste under "Where one machine stops".
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.bench_scale import disk_mb, read_previous, run_child
from bench.measure import ROOT, machine_line, peak_rss_mib_of_group, reproduce_command
from tests.support.chroma_server import ChromaServer


def measure(size: int, queries: int, work: Path) -> dict[str, Any]:
    data_dir, server_dir = work / f"bot-{size}", work / f"server-{size}"
    for folder in (data_dir, server_dir):
        shutil.rmtree(folder, ignore_errors=True)
    server = ChromaServer(server_dir)
    server.start()
    try:
        port = ["--chroma-port", str(server.port)]
        sys.stderr.write(f"[{size}] ingesting through the server on port {server.port}...\n")
        ingest = run_child(["--child", "ingest", "--size", str(size), "--data", str(data_dir),
                            *port], None)  # fmt: skip
        sys.stderr.write(f"[{size}] ingested in {ingest['ingest_s']} s; searching...\n")
        search = run_child(["--child", "search", "--size", str(size), "--data", str(data_dir),
                            "--queries", str(queries), *port], None)  # fmt: skip
        assert server.process is not None
        server_peak = peak_rss_mib_of_group(server.process.pid)
    finally:
        server.stop()
    return {
        **ingest,
        **search,
        "server_peak_rss_mb": round(server_peak, 1),
        "disk_bot_mb": round(disk_mb(data_dir), 1),
        "disk_server_mb": round(disk_mb(server_dir), 1),
    }


def row(label: str, r: dict[str, Any], server_rss: str, disk: str) -> str:
    hybrid, dense = r["modes"]["hybrid"], r["modes"]["dense"]
    return (
        f"| {r['chunks']:,} | {label} "
        f"| {r['ingest_s']:,.0f} s ({r['ingest_chunks_per_s']:,.0f}/s) "
        f"| {hybrid['p50_ms']:.1f} / {hybrid['p95_ms']:.1f} ms "
        f"| {dense['p50_ms']:.1f} / {dense['p95_ms']:.1f} ms "
        f"| {r['search_peak_rss_mb']:,.0f} MiB | {server_rss} | {disk} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="chunks, comma separated")
    parser.add_argument("--queries", type=int, default=200, help="queries per mode")
    parser.add_argument("--embedded", type=Path, default=ROOT / "docs" / "benchmarks.md",
                        help="in-process figures to show beside: a bench_scale --figures JSON "
                        "file, or a page holding its pasted section")  # fmt: skip
    args = parser.parse_args()
    embedded, _ = read_previous(args.embedded)
    lines = [
        "| chunks | vectors | ingest | hybrid p50 / p95 | dense p50 / p95 "
        "| bot process peak RSS (search) | Chroma server peak RSS | disk |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory(prefix="curator-server-") as work:
        for size in (int(s) for s in args.sizes.split(",") if s.strip()):
            r = measure(size, args.queries, Path(work))
            if size in embedded:
                e = embedded[size]
                lines.append(row("in-process", e, "—", f"{e['disk_mb']:,.0f} MiB"))
            disk = f"{r['disk_bot_mb']:,.0f} + {r['disk_server_mb']:,.0f} MiB"
            lines.append(row("server", r, f"{r['server_peak_rss_mb']:,.0f} MiB", disk))
    print("\n".join(lines))
    print("\n" + machine_line())
    print("reproduce: " + reproduce_command("bench.bench_server"))


if __name__ == "__main__":
    main()
