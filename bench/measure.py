"""What every benchmark measures with: percentiles, resident memory, the machine it ran on,
the reproduce line, and the repository's root."""

from __future__ import annotations

import importlib.metadata
import math
import os
import platform
import re
import resource
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from knowledge.evaluation.metrics import percentile as eval_percentile

MIB = 1024.0
#: The repository's root: benchmarks find the sample articles, bench/data and bench/out here.
ROOT = Path(__file__).resolve().parents[1]
#: Libraries whose version changes the figures; a missing one is left out.
MEASURED_LIBRARIES = ("chromadb", "bm25s", "onnxruntime")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (clamped to 0..100) of `values`, as `curator eval` computes it
    (linear interpolation, numpy's default); NaN for no values, so an empty run never reads
    as 0 ms."""
    if not values:
        return math.nan
    return eval_percentile(values, min(max(q, 0.0), 100.0))


def _status_kib(status: str, field: str) -> float | None:
    """A `field:  N kB` line of a /proc/<pid>/status text, in KiB."""
    for line in status.splitlines():
        if line.startswith(field + ":"):
            return float(line.split()[1])
    return None


def current_rss_mib() -> float:
    """Resident memory of this process now, in MiB, from /proc (Linux); NaN elsewhere."""
    try:
        kib = _status_kib(Path("/proc/self/status").read_text(), "VmRSS")
    except OSError:
        return math.nan
    return kib / MIB if kib is not None else math.nan


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / MIB


def peak_rss_mib_of_group(pgid: int) -> float:
    """Largest peak resident memory (VmHWM) of any live process in process group `pgid`, MiB."""
    peak = 0.0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
            if os.getpgid(int(status.parent.name)) != pgid:
                continue
        except (OSError, ProcessLookupError):
            continue
        kib = _status_kib(text, "VmHWM")
        if kib is not None:
            peak = max(peak, kib / MIB)
    return peak


def reproduce_command(module: str, args: Sequence[str] | None = None) -> str:
    """The shell line that reruns benchmark `module` (e.g. 'bench.bench_scale') with `args`
    (default: this process's own arguments)."""
    given = list(sys.argv[1:] if args is None else args)
    return " ".join([".venv/bin/python", "-m", module, *(shlex.quote(a) for a in given)])


def _cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what platform reports."""
    fallback = platform.processor() or platform.machine()
    try:
        names = re.findall(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    except OSError:
        return fallback
    return names[0].strip() if names else fallback


def machine() -> dict[str, Any]:
    """What a figure depends on: cpu, cores (and those this process may use), memory in GiB,
    the 1-minute load average now, the Python and library versions, and the date."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 1
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    info: dict[str, Any] = {
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "memory_gib": round(memory, 1),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
    }
    for library in MEASURED_LIBRARIES:
        try:
            info[library] = importlib.metadata.version(library)
        except importlib.metadata.PackageNotFoundError:
            continue
    info["date"] = time.strftime("%Y-%m-%d")
    return info


def machine_line(info: dict[str, Any] | None = None) -> str:
    """'machine: <cpu>, 2 cores (2 usable), 7.8 GiB, load 0.52; python 3.11.9, chromadb …',
    from `info` (default: `machine()` now)."""
    info = info if info is not None else machine()
    versions = ", ".join(
        f"{name} {info[name]}" for name in ("python", *MEASURED_LIBRARIES) if name in info
    )
    return (
        f"machine: {info['cpu']}, {info['cores']} cores ({info['usable_cores']} usable), "
        f"{info['memory_gib']} GiB, load {info['load_avg_1m']:.2f}; {versions}; {info['date']}"
    )
