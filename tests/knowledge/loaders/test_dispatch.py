"""load_sources as a whole: directories, dispatch by extension, and problems that span a batch."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from knowledge.loaders import SUPPORTED_EXTENSIONS, dispatch, load_sources
from knowledge.loaders.walk import walk_files
from knowledge.settings import KnowledgeSettings
from tests.knowledge.loaders.conftest import RSS_FEED, card_text

Write = Callable[[str, str | bytes], Path]


def _card(name: str) -> str:
    return card_text(title=name, url=f"https://example.com/{name}")


def test_directories_are_walked_sorted_skipping_hidden_and_listing_unsupported(
    tmp_path: Path, write: Write
) -> None:
    write("b.md", _card("b"))
    write("a.markdown", _card("a"))
    write("sub/c.md", _card("c"))
    write("sub/deeper/d.jsonl", json.dumps({"title": "d", "url": "https://example.com/d"}))
    write("sub/e.json", json.dumps([{"title": "e", "url": "https://example.com/e"}]))
    write("z-feed.rss", RSS_FEED)
    write(".hidden.md", _card("hidden"))
    write(".git/config.md", _card("git"))
    write("notes.csv", "not,a,card")
    write("sub/image.PNG", b"\x89PNG")
    result = load_sources([str(tmp_path)], KnowledgeSettings())
    titles = [a.title for a in result.articles]
    assert titles == ["a", "b", "c", "d", "e", "Chunking for Retrieval", "Evals First"]
    assert result.skipped == [str(tmp_path / "notes.csv"), str(tmp_path / "sub" / "image.PNG")]
    assert [f.path for f in result.failures] == [f"{tmp_path / 'z-feed.rss'}[#3]"]


def test_extensions_are_matched_case_insensitively(write: Write) -> None:
    path = write("UPPER.MD", _card("upper"))
    assert [a.title for a in load_sources([str(path)], KnowledgeSettings()).articles] == ["upper"]


def test_missing_paths_unsupported_files_and_empty_sources_fail_by_name(
    tmp_path: Path, write: Write
) -> None:
    good = write("good.md", _card("good"))
    text = write("notes.csv", "hello")
    missing = tmp_path / "nowhere" / "card.md"
    result = load_sources([str(missing), str(text), "  ", str(good)], KnowledgeSettings())
    assert [a.title for a in result.articles] == ["good"]
    reasons = {f.path: f.reason for f in result.failures}
    assert reasons[str(missing)] == "no such file or directory"
    assert reasons[str(text)] == (
        "unsupported file type .csv (expected " + ", ".join(SUPPORTED_EXTENSIONS) + ")"
    )
    assert reasons["'  '"] == "empty source"


def test_a_file_named_twice_is_read_once(tmp_path: Path, write: Write) -> None:
    path = write("one.md", _card("one"))
    result = load_sources([str(tmp_path), str(path), str(tmp_path)], KnowledgeSettings())
    assert [a.title for a in result.articles] == ["one"]
    assert result.failures == []


def test_an_unexpected_loader_error_fails_that_file_only(
    monkeypatch: pytest.MonkeyPatch, write: Write
) -> None:
    def explode(path: Path, max_bytes: int) -> dispatch.SourceBatch:
        raise RuntimeError("parser bug")

    monkeypatch.setitem(dispatch.LOADERS, ".json", explode)
    broken = write("a.json", "[]")
    good = write("b.md", _card("b"))
    result = load_sources([str(broken), str(good)], KnowledgeSettings())
    assert [a.title for a in result.articles] == ["b"]
    [failure] = result.failures
    assert (failure.path, failure.reason) == (
        str(broken),
        "unexpected error: RuntimeError: parser bug",
    )


def test_results_are_the_same_on_every_run(tmp_path: Path, write: Write) -> None:
    for name in ["m", "c", "x", "a"]:
        write(f"{name}/card.md", _card(name))
    runs = [load_sources([str(tmp_path)], KnowledgeSettings()) for _ in range(2)]
    assert [a.title for a in runs[0].articles] == ["a", "c", "m", "x"]
    assert runs[0] == runs[1]


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any folder")
def test_an_unreadable_folder_is_reported_and_the_walk_goes_on(
    tmp_path: Path, write: Write
) -> None:
    write("a/card.md", _card("a"))
    locked = tmp_path / "b"
    write("b/card.md", _card("b"))
    write("c/card.md", _card("c"))
    locked.chmod(0)
    try:
        result = load_sources([str(tmp_path)], KnowledgeSettings())
    finally:
        locked.chmod(0o755)
    assert [a.title for a in result.articles] == ["a", "c"]
    [failure] = result.failures
    assert failure.path == str(locked)
    assert failure.reason == "cannot read the folder: Permission denied"


def test_walk_reports_folders_it_cannot_list(tmp_path: Path) -> None:
    errors: list[OSError] = []
    assert walk_files(tmp_path / "vanished", on_error=errors.append) == []
    [error] = errors
    assert isinstance(error, FileNotFoundError)
    assert error.filename == str(tmp_path / "vanished")
