"""The same scale benchmark with the vectors in a `chroma run` server instead of in-process.

    .venv/bin/python bench/bench_server.py --sizes 10000,100000 --queries 200

For each size it starts a Chroma server on 127.0.0.1 (its own folder, a free port), ingests the
synthetic corpus of bench/bench_scale.py through it and searches it from a fresh process, exactly
as bench_scale does in-process, and reads the server's peak memory. It prints a table beside the
embedded figures stored in docs/benchmarks.md (when that size was measured there), to paste under
"Where one machine stops".
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_scale import disk_mb, read_previous, run_child  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """One `chroma run` process and the peak memory of its process group."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.port = free_port()
        exe = Path(sys.executable).with_name("chroma")
        self.command = [str(exe if exe.exists() else "chroma"), "run", "--path", str(path),
                        "--host", "127.0.0.1", "--port", str(self.port)]  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        log = (self.path.parent / f"chroma-{self.port}.log").open("ab")
        self.process = subprocess.Popen(
            self.command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        )  # fmt: skip
        deadline = time.monotonic() + 60
        url = f"http://127.0.0.1:{self.port}/api/v2/heartbeat"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chroma run exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(url, timeout=1):
                    return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("chroma run did not answer its heartbeat within 60 s")

    def peak_rss_mb(self) -> float:
        """Peak resident memory (VmHWM) over the server's processes."""
        assert self.process is not None
        peak = 0.0
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                text = status.read_text()
                if os.getpgid(int(status.parent.name)) != self.process.pid:
                    continue
            except (OSError, ProcessLookupError):
                continue
            for line in text.splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
        return peak

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def measure(size: int, queries: int, work: Path) -> dict[str, Any]:
    data_dir, server_dir = work / f"bot-{size}", work / f"server-{size}"
    for folder in (data_dir, server_dir):
        shutil.rmtree(folder, ignore_errors=True)
    with Server(server_dir) as server:
        port = ["--chroma-port", str(server.port)]
        sys.stderr.write(f"[{size}] ingesting through the server on port {server.port}...\n")
        ingest = run_child(["--child", "ingest", "--size", str(size), "--data", str(data_dir),
                            *port], None)  # fmt: skip
        sys.stderr.write(f"[{size}] ingested in {ingest['ingest_s']} s; searching...\n")
        search = run_child(["--child", "search", "--size", str(size), "--data", str(data_dir),
                            "--queries", str(queries), *port], None)  # fmt: skip
        server_peak = server.peak_rss_mb()
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
        f"| {r['records']:,} | {label} "
        f"| {r['ingest_s']:,.0f} s ({r['ingest_records_per_s']:,.0f}/s) "
        f"| {hybrid['p50_ms']:.1f} / {hybrid['p95_ms']:.1f} ms "
        f"| {dense['p50_ms']:.1f} / {dense['p95_ms']:.1f} ms "
        f"| {r['search_peak_rss_mb']:,.0f} MiB | {server_rss} | {disk} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="records, comma separated")
    parser.add_argument("--queries", type=int, default=200, help="queries per mode")
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "benchmarks.md",
                        help="where the embedded figures are read from")  # fmt: skip
    args = parser.parse_args()
    embedded, _ = read_previous(args.doc)
    lines = [
        "| records | vectors | ingest | hybrid p50 / p95 | dense p50 / p95 "
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
    print(f"\nreproduce: .venv/bin/python bench/bench_server.py --sizes {args.sizes} "
          f"--queries {args.queries}")  # fmt: skip


if __name__ == "__main__":
    main()
