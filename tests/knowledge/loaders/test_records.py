"""JSON and JSON Lines records: good records load, each bad one fails alone and is located."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from knowledge.loaders import LoadResult, load_sources
from knowledge.settings import KnowledgeSettings

Write = Callable[[str, str | bytes], Path]


def _load(path: Path, settings: KnowledgeSettings | None = None) -> LoadResult:
    return load_sources([str(path)], settings or KnowledgeSettings())


def _record(n: int, **extra: object) -> dict[str, object]:
    return {"title": f"Record {n}", "url": f"https://example.com/r{n}", **extra}


def test_json_array_records_fill_the_article_fields(write: Write) -> None:
    records = [
        _record(
            1,
            body="The original text.",
            summary="A summary.",
            key_takeaway="One  line\ntakeaway.",
            key_insights="- first\n- second",
            topics="Retrieval, LLM",
            author="Ada Example",
            publisher="Example Blog",
            published_at="2025-01-02",
            curated_at="2026-11-22T08:30:00Z",
            best_for=["engineers"],
            depth="deep",
            sections={"In practice": "Do this."},
        ),
        _record(2, key_insights=["alpha", "beta"], topics=["agents"]),
    ]
    path = write("records.json", json.dumps(records))
    result = _load(path)
    assert result.failures == []
    first, second = result.articles
    assert first.title == "Record 1"
    assert first.body == "The original text."
    assert first.summary == "A summary."
    assert first.key_takeaway == "One line takeaway."
    assert first.key_insights == ["first", "second"]
    assert first.topics == ["retrieval", "llm"]
    assert first.author == "Ada Example"
    assert first.publisher == "Example Blog"
    assert first.published == datetime(2025, 1, 2, tzinfo=UTC)
    assert first.curated == datetime(2026, 11, 22, 8, 30, tzinfo=UTC)
    assert first.best_for == ["engineers"]
    assert first.depth == "deep"
    assert first.sections == {"In practice": "Do this."}
    assert first.origin == str(path)
    assert second.key_insights == ["alpha", "beta"]
    assert second.topics == ["agents"]


def test_a_record_source_key_is_still_read_as_the_publisher(write: Write) -> None:
    records = [
        _record(1, source="Old Key Blog"),
        _record(2, publisher="New Key Blog", source="Ignored"),
        _record(3),
    ]
    path = write("old.jsonl", "\n".join(json.dumps(r) for r in records))
    result = _load(path)
    assert result.failures == []
    assert [a.publisher for a in result.articles] == ["Old Key Blog", "New Key Blog", ""]


def test_a_single_json_object_is_one_record(write: Write) -> None:
    path = write("one.json", json.dumps(_record(1)))
    assert [a.title for a in _load(path).articles] == ["Record 1"]


def test_bad_json_array_records_fail_with_their_position(write: Write) -> None:
    records: list[object] = [
        _record(1),
        {"url": "https://example.com/no-title"},
        _record(3, url="mailto:someone@example.com"),
        _record(4, published_at="soon"),
        "not an object",
        _record(6, body=["not", "text"]),
        _record(7),
    ]
    path = write("mixed.json", json.dumps(records))
    result = _load(path)
    assert [a.title for a in result.articles] == ["Record 1", "Record 7"]
    failures = {f.path: f.reason for f in result.failures}
    assert failures == {
        f"{path}[#2]": "missing required field 'title'",
        f"{path}[#3]": "'url' must be an http(s) URL, got 'mailto:someone@example.com'",
        f"{path}[#4]": failures[f"{path}[#4]"],
        f"{path}[#5]": "expected a JSON object, got a string",
        f"{path}[#6]": "'body' must be text, not a list",
    }
    assert failures[f"{path}[#4]"].startswith("invalid date in 'published_at': 'soon'")


def test_whole_file_json_problems_are_reported_once(write: Write) -> None:
    broken = write("broken.json", '[{"title": "x",\n "url": }]')
    scalar = write("scalar.json", "42")
    empty_array = write("empty-array.json", "[]")
    empty = write("empty.json", "")
    result = load_sources(
        [str(p) for p in (broken, scalar, empty_array, empty)], KnowledgeSettings()
    )
    reasons = {f.path: f.reason for f in result.failures}
    assert reasons[str(broken)] == "invalid JSON: Expecting value at line 2 column 9"
    assert reasons[str(scalar)] == "expected an array of objects or one object, got a number"
    assert reasons[str(empty_array)] == "no records: the JSON array is empty"
    assert reasons[str(empty)] == "empty file"
    assert result.articles == []


def test_json_file_over_the_limit_suggests_json_lines(write: Write) -> None:
    records = [_record(n, body="text " * 50) for n in range(10)]
    path = write("big.json", json.dumps(records))
    [failure] = _load(path, KnowledgeSettings(max_article_bytes=1_000)).failures
    assert failure.reason.startswith("too large (")
    assert "use JSON Lines" in failure.reason


def test_jsonl_bad_lines_fail_with_their_line_number(write: Write) -> None:
    lines = [
        json.dumps(_record(1)).encode(),
        b"{not json",
        b"",
        json.dumps(_record(4, url="https://")).encode(),
        json.dumps(_record(5, curated_at="2026-11-31")).encode(),
        '{"title": "Caf\xe9", "url": "https://example.com/cafe"}'.encode("latin-1"),
        b"[1, 2]",
        json.dumps(_record(8)).encode(),
    ]
    path = write("records.jsonl", b"\n".join(lines) + b"\n")
    result = _load(path)
    assert [a.title for a in result.articles] == ["Record 1", "Record 8"]
    assert all(a.origin == str(path) for a in result.articles)
    reasons = {f.path: f.reason for f in result.failures}
    assert set(reasons) == {f"{path}:line {n}" for n in (2, 4, 5, 6, 7)}
    assert reasons[f"{path}:line 2"].startswith("invalid JSON: Expecting property name")
    assert reasons[f"{path}:line 4"] == "'url' must be an http(s) URL, got 'https://'"
    assert reasons[f"{path}:line 5"].startswith("invalid date in 'curated_at'")
    assert reasons[f"{path}:line 6"].startswith("not UTF-8 text (byte 0xe9")
    assert reasons[f"{path}:line 7"] == "expected a JSON object, got an array"


def test_ndjson_extension_and_oversize_lines(write: Write) -> None:
    long_line = json.dumps(_record(2, body="word " * 400))
    path = write(
        "feed.ndjson", "\n".join([json.dumps(_record(1)), long_line, json.dumps(_record(3))])
    )
    result = _load(path, KnowledgeSettings(max_article_bytes=1_000))
    assert [a.title for a in result.articles] == ["Record 1", "Record 3"]
    [failure] = result.failures
    assert failure.path == f"{path}:line 2"
    assert failure.reason.startswith("too large (over the 1.0 KB limit")


def test_jsonl_with_only_blank_lines_is_an_empty_file(write: Write) -> None:
    path = write("blank.jsonl", "\n  \n\n")
    [failure] = _load(path).failures
    assert (failure.path, failure.reason) == (str(path), "empty file")


def test_duplicate_url_across_formats_names_the_first_record(write: Write) -> None:
    first = write("a.json", json.dumps([_record(1), _record(2)]))
    second = write("b.jsonl", json.dumps(_record(9, url="https://example.com/r2")) + "\n")
    result = load_sources([str(first), str(second)], KnowledgeSettings())
    assert [a.title for a in result.articles] == ["Record 1", "Record 2"]
    [failure] = result.failures
    assert failure.path == f"{second}:line 1"
    assert (
        failure.reason == f"duplicate url https://example.com/r2: already loaded from {first}[#2]"
    )
