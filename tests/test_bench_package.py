"""bench/ is a package: its scripts import as modules, share one helpers module, edit no docs."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import numpy as np
import pytest

from bench.measure import current_rss_mib, peak_rss_mib, percentile, reproduce_command

BENCH = Path(__file__).resolve().parents[1] / "bench"
SCRIPTS = sorted(p.stem for p in BENCH.glob("*.py") if p.stem not in {"__init__", "measure"})


@pytest.mark.parametrize("name", SCRIPTS)
def test_each_script_imports_as_a_module_without_path_tricks(name: str) -> None:
    source = (BENCH / f"{name}.py").read_text(encoding="utf-8")
    assert "sys.path" not in source
    tree = ast.parse(source)
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    # The shared helpers are imported, never copied again.
    assert not defined & {"percentile", "rss_mib", "current_rss_mb", "peak_rss_mb"}, name
    importlib.import_module(f"bench.{name}")


def test_no_script_writes_into_docs() -> None:
    for path in BENCH.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert "replace_section" not in source and "doc.write_text" not in source, path.name


@pytest.mark.parametrize("q", [0, 5, 50, 90, 95, 99, 100])
def test_percentile_matches_numpy(q: float) -> None:
    values = [3.0, 1.0, 4.0, 1.5, 9.0, 2.6, 5.3, 5.8, 9.7]
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert np.isnan(percentile([], q))


def test_memory_readers_and_the_reproduce_line() -> None:
    assert 1 < current_rss_mib() <= peak_rss_mib() + 1
    assert reproduce_command("bench.bench_scale", ["--sizes", "10000", "--notes", "a b.md"]) == (
        ".venv/bin/python -m bench.bench_scale --sizes 10000 --notes 'a b.md'"
    )
