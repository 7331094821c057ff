"""bench/ is a package: its scripts import as modules, share one helpers module, edit no docs."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import numpy as np
import pytest

from bench.measure import (
    ROOT,
    current_rss_mib,
    machine,
    machine_line,
    peak_rss_mib,
    percentile,
    reproduce_command,
)

BENCH = Path(__file__).resolve().parents[1] / "bench"
SCRIPTS = sorted(p.stem for p in BENCH.glob("*.py") if p.stem not in {"__init__", "measure"})
#: The scripts a person runs (`python -m bench.<name>`); the others are helpers they import.
BENCHMARKS = [
    name for name in SCRIPTS if "__main__" in (BENCH / f"{name}.py").read_text(encoding="utf-8")
]


@pytest.mark.parametrize("name", SCRIPTS)
def test_each_script_imports_as_a_module_without_path_tricks(name: str) -> None:
    source = (BENCH / f"{name}.py").read_text(encoding="utf-8")
    assert "sys.path" not in source
    tree = ast.parse(source)
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    # The shared helpers are imported, never copied again.
    assert not defined & {"percentile", "rss_mib", "current_rss_mb", "peak_rss_mb"}, name
    # ... and taken from bench.measure, whose percentile is NaN (not 0 ms) for no values.
    elsewhere = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.module != "bench.measure"
        and any(alias.name == "percentile" for alias in node.names)
    }
    assert not elsewhere, (name, elsewhere)
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


def _printed_text(call: ast.Call) -> str:
    """The literal text of a print() call's arguments (f-string parts and constants)."""
    return " ".join(
        node.value
        for arg in call.args
        for node in ast.walk(arg)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    )


def test_there_are_benchmarks_to_check() -> None:
    assert {"bench_crash", "bench_scale", "bench_load"} <= set(BENCHMARKS)


@pytest.mark.parametrize("name", BENCHMARKS)
def test_every_benchmark_prints_its_machine_and_the_command_that_reproduces_it(name: str) -> None:
    """Read from the source: running them takes minutes, so the tests never do."""
    source = (BENCH / f"{name}.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    called = {c.func.id for c in calls}  # type: ignore[attr-defined]
    printed = [_printed_text(c) for c in calls if c.func.id == "print"]  # type: ignore[attr-defined]
    assert "reproduce_command" in called, f"{name} builds no reproduce line"
    assert any("reproduce:" in text for text in printed), f"{name} prints no 'reproduce:' line"
    # One description of the machine, from bench.measure, never rebuilt by hand.
    assert called & {"machine", "machine_line"}, f"{name} does not say what it ran on"
    assert "platform." not in source, name
    # The repository's root is bench.measure.ROOT, defined once.
    assert "Path(__file__)" not in source, name


def test_the_machine_says_what_the_figures_depend_on() -> None:
    info = machine()
    assert {"cpu", "cores", "usable_cores", "memory_gib", "load_avg_1m", "python", "date"} <= set(
        info
    )
    assert info["chromadb"] and 1 <= info["usable_cores"] <= info["cores"]
    line = machine_line(info)
    assert line.startswith(f"machine: {info['cpu']}, {info['cores']} cores")
    assert f"chromadb {info['chromadb']}" in line and info["date"] in line
    assert (ROOT / "bench" / "measure.py").is_file()
