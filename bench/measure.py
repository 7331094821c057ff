"""What every benchmark measures with: percentiles, resident memory, the reproduce line."""

from __future__ import annotations

import math
import os
import resource
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from knowledge.evaluation.metrics import percentile as eval_percentile

MIB = 1024.0


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
