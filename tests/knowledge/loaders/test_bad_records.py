"""One bad record, line or file fails alone, with its place and a reason; its neighbours load."""

from __future__ import annotations

import json
import os
import resource
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from knowledge.loaders import LoadResult, load_sources
from knowledge.models import IngestFailure
from knowledge.settings import KnowledgeSettings
from tests.knowledge.loaders.conftest import card_text

Write = Callable[[str, str | bytes], Path]

GOOD = {"title": "Good neighbour", "url": "https://example.com/good"}


def _reasons(failures: Sequence[IngestFailure]) -> dict[str, str]:
    return {f.path: f.reason for f in failures}


def test_a_lone_surrogate_in_a_json_lines_record_fails_that_line_only(write: Write) -> None:
    # json.dumps writes "\ud800" as an escape, which json.loads turns into a lone surrogate.
    bad = json.dumps({"title": "Broken \ud800 title", "url": "https://example.com/bad"})
    path = write("records.jsonl", json.dumps(GOOD) + "\n" + bad + "\n")
    result = load_sources([str(path)], KnowledgeSettings())
    assert [a.title for a in result.articles] == ["Good neighbour"]
    reason = _reasons(result.failures)[f"{path}:line 2"]
    assert "'title'" in reason and "lone surrogate" in reason and "U+D800" in reason


def test_a_lone_surrogate_in_a_yaml_title_fails_that_card_only(write: Write) -> None:
    bad = write("bad.md", card_text(title='"Broken \\ud800"', url="https://example.com/bad"))
    good = write("good.md", card_text(title="Fine", url="https://example.com/fine"))
    result = load_sources([str(bad), str(good)], KnowledgeSettings())
    assert [a.title for a in result.articles] == ["Fine"]
    assert "lone surrogate" in _reasons(result.failures)[str(bad)]


def test_a_control_character_in_a_title_fails_that_record_with_the_field_named(
    write: Write,
) -> None:
    bad = json.dumps({"title": "Bell \x07 title", "url": "https://example.com/bell"})
    path = write("records.jsonl", bad + "\n" + json.dumps(GOOD) + "\n")
    result = load_sources([str(path)], KnowledgeSettings())
    assert [a.title for a in result.articles] == ["Good neighbour"]
    assert _reasons(result.failures)[f"{path}:line 1"] == (
        "'title' contains the control character U+0007 at character 5"
    )


def test_a_deeply_nested_json_line_fails_that_line_only(write: Write) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    path = write("records.jsonl", deep + "\n" + json.dumps(GOOD) + "\n")
    result = load_sources([str(path)], KnowledgeSettings())
    assert [a.title for a in result.articles] == ["Good neighbour"]
    assert _reasons(result.failures)[f"{path}:line 1"] == "invalid JSON: nested too deeply to read"


def test_a_json_line_python_refuses_to_convert_fails_that_line_only(write: Write) -> None:
    # Integers past sys.int_info.str_digits_check_threshold raise ValueError, not JSONDecodeError.
    huge = '{"title": "Big", "url": "https://example.com/big", "n": ' + "9" * 5_000 + "}"
    path = write("records.jsonl", huge + "\n" + json.dumps(GOOD) + "\n")
    result = load_sources([str(path)], KnowledgeSettings())
    assert [a.title for a in result.articles] == ["Good neighbour"]
    assert _reasons(result.failures)[f"{path}:line 1"].startswith("invalid JSON: ")


def test_a_deeply_nested_json_file_fails_by_name(write: Write) -> None:
    deep = write("deep.json", "[" * 100_000 + "]" * 100_000)
    good = write("good.json", json.dumps(GOOD))
    result = load_sources([str(deep), str(good)], KnowledgeSettings())
    assert [a.title for a in result.articles] == ["Good neighbour"]
    assert _reasons(result.failures)[str(deep)] == "invalid JSON: nested too deeply to read"


BILLION_LAUGHS = """---
title: Laughs
url: https://example.com/laughs
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
published: [*h,*h,*h,*h,*h,*h,*h,*h,*h]
---
## Summary
Ha.
"""


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_a_billion_laughs_card_is_refused_quickly_and_small(write: Write) -> None:
    bad = write("laughs.md", BILLION_LAUGHS)
    good = write("good.md", card_text(title="Fine", url="https://example.com/fine"))
    before = _peak_rss_mb()
    started = time.perf_counter()
    result = load_sources([str(bad), str(good)], KnowledgeSettings())
    elapsed = time.perf_counter() - started
    assert [a.title for a in result.articles] == ["Fine"]
    reason = _reasons(result.failures)[str(bad)]
    assert reason.startswith("broken YAML front matter: aliases (*name) are not allowed")
    assert "line 5 of the file" in reason
    # Bounds, not a timing benchmark: the unguarded loader took minutes and gigabytes.
    assert elapsed < 1.0
    assert _peak_rss_mb() - before < 100


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need a POSIX system")
def test_a_named_pipe_in_a_folder_is_reported_and_never_opened(tmp_path: Path) -> None:
    folder = tmp_path / "cards"
    folder.mkdir()
    (folder / "good.md").write_text(card_text(title="Fine", url="https://example.com/fine"))
    pipe = folder / "pipe.md"
    os.mkfifo(pipe)
    outcome: dict[str, LoadResult] = {}

    def run() -> None:
        outcome["result"] = load_sources([str(folder)], KnowledgeSettings())

    # A loader that opens the pipe blocks forever; a thread keeps that from hanging the suite.
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=10)
    if worker.is_alive():
        # Release the blocked reader so the thread can end, then fail.
        with open(pipe, "wb"):
            pass
        pytest.fail("loading a folder with a named pipe hung")
    result = outcome["result"]
    assert [a.title for a in result.articles] == ["Fine"]
    assert _reasons(result.failures) == {str(pipe): "not a regular file"}
