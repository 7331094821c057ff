"""The `curator` index commands through typer's runner, with their documented JSON shapes."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

import bot.cli.index_commands as index_commands
from bot.cli.app import app
from knowledge.index import KnowledgeIndex
from knowledge.settings import RetrievalSettings, get_settings
from tests.support.cards import zebra_env
from tests.support.seeds import seeds_dir

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield zebra_env(monkeypatch, tmp_path)
    get_settings.cache_clear()


def run_json(*args: str) -> Any:
    """The command's stdout parsed as JSON (whatever shape the command documents)."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_ingest_json_counts_articles(env: Path) -> None:
    (env / "broken.md").write_text("---\nurl: https://example.com/x\n---\ntext", encoding="utf-8")
    result = runner.invoke(app, ["ingest", str(env), "--json"])
    assert result.exit_code == 1, result.output
    payload = json.loads(result.stdout)
    assert payload["added"] == 3 and payload["updated"] == 0 and payload["removed"] == 0
    assert payload["unchanged"] == 0
    assert [f["path"] for f in payload["failed"]] == [str(env / "broken.md")]
    assert set(payload) == {
        "added",
        "updated",
        "unchanged",
        "removed",
        "repaired",
        "failed",
        "skipped",
        "warnings",
        "paired",
    }
    assert payload["skipped"] == []


def test_reindex_dry_run_then_real(env: Path) -> None:
    assert run_json("reindex", "--dry-run", "--json")["added"] == 3
    assert run_json("stats", "--json")["articles"] == 0
    assert run_json("reindex", "--json")["added"] == 3
    assert run_json("reindex", "--json")["unchanged"] == 3


def test_search_json_hits_have_the_documented_fields(env: Path) -> None:
    run_json("reindex", "--json")
    hits = run_json("search", "zebra stripes horseflies", "-k", "3", "--json")
    assert isinstance(hits, list) and hits
    assert set(hits[0]) == {
        "rank",
        "score",
        "article_id",
        "title",
        "url",
        "publisher",
        "kind",
        "chunk_id",
        "text",
    }
    assert hits[0]["title"] == "Why zebras have stripes" and hits[0]["rank"] == 1
    only_cooking = run_json("search", "zebra stripes bread", "--topic", "cooking", "--json")
    assert {h["title"] for h in only_cooking} == {"Baking sourdough bread"}


def test_search_returns_as_many_hits_as_the_bot_retrieves(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without -k, `search` takes CURATOR_RETRIEVAL__K, the number the bot answers from."""
    run_json("reindex", "--json")
    query = "zebra stripes horseflies glaciers valleys sourdough bread"
    everything = run_json("search", query, "-k", "100", "--json")
    assert len(everything) > 3
    for k in (2, 3):
        monkeypatch.setenv("CURATOR_RETRIEVAL__K", str(k))
        get_settings.cache_clear()
        hits = run_json("search", query, "--json")
        assert [h["rank"] for h in hits] == list(range(1, k + 1))
    assert len(run_json("search", query, "-k", "1", "--json")) == 1


def test_what_search_retrieves_is_called_chunks_as_in_its_json(env: Path) -> None:
    """One word per concept: -k counts chunks in search and eval, as CURATOR_RETRIEVAL__K
    does; the table's column is named like the JSON key it shows."""
    run_json("reindex", "--json")
    # In a terminal search prints a table (piped, plain lines: see the test below).
    index = KnowledgeIndex(get_settings())
    try:
        found = index.search("zebra stripes", k=2)
    finally:
        index.close()
    terminal = Console(record=True, width=160, force_terminal=True)
    terminal.print(index_commands._hits_table("zebra stripes", found))
    table = terminal.export_text()
    header = next(line for line in table.splitlines() if "score" in line)
    assert header.split("┃")[-2].strip() == "text" and "passage" not in table
    for command in ("search", "eval"):
        shown = runner.invoke(app, [command, "--help"])
        words = " ".join(shown.output.replace("│", " ").split())
        assert "-k" in words and "chunks" in words.lower() and "passage" not in words.lower()
    assert RetrievalSettings.model_fields["k"].description == "Chunks retrieved per question."


def test_piped_search_prints_plain_lines_with_whole_urls(env: Path) -> None:
    run_json("reindex", "--json")
    result = runner.invoke(app, ["search", "zebra stripes", "-k", "2"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert not any(ch in result.stdout for ch in "┃│━─┏")
    assert lines[1].startswith("1. ") and "Why zebras have stripes — Savanna Review" in lines[1]
    assert lines[2].strip() == "https://example.org/zebras"
    assert all(line == line.rstrip() for line in lines), "a piped line is padded"


def test_search_many_queries_writes_one_json_line_each(env: Path, tmp_path: Path) -> None:
    run_json("reindex", "--json")
    queries = tmp_path / "q.txt"
    queries.write_text("zebra stripes\n\nglacier valleys\n", encoding="utf-8")
    result = runner.invoke(app, ["search", "--queries", str(queries), "-k", "2"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 3
    assert lines[0][0]["title"] == "Why zebras have stripes"
    assert lines[1] == []
    assert lines[2][0]["title"] == "How glaciers carve valleys"


def test_bad_date_option_is_named(env: Path) -> None:
    result = runner.invoke(app, ["search", "zebra", "--since", "yesterday"])
    assert result.exit_code == 2
    assert "--since" in result.output and "YYYY-MM-DD" in result.output


def test_invalid_setting_names_the_variable(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURATOR_RETRIEVAL__K", "many")
    get_settings.cache_clear()
    result = runner.invoke(app, ["stats"])
    assert result.exit_code == 2
    assert "CURATOR_RETRIEVAL__K" in result.output


def test_stats_and_articles(env: Path) -> None:
    run_json("reindex", "--json")
    figures = run_json("stats", "--json")
    assert figures["articles"] == 3 and figures["embedder"].startswith("hash")
    assert figures["store_mode"] == "embedded" and figures["chunks"] == figures["vectors"]
    listed = run_json("articles", "--since", "2026-11-21", "--json")
    assert [a["title"] for a in listed] == ["How glaciers carve valleys", "Baking sourdough bread"]
    table = runner.invoke(app, ["articles", "--topic", "cooking"])
    assert "Baking sourdough bread" in table.stdout


def test_reindex_rebuild_re_embeds_from_stored_text_and_stats_flag_a_short_store(
    env: Path, tmp_path: Path
) -> None:
    run_json("reindex", "--json")
    stats = run_json("stats", "--json")
    assert stats["vectors_match"] is True and stats["vectors"] == stats["chunks"]

    from knowledge.index import KnowledgeIndex

    index = KnowledgeIndex(get_settings())  # the settings the commands read from CURATOR_*
    index.vectors.reset()  # the store lost its vectors; the catalog kept the chunks
    index.close()
    result = runner.invoke(app, ["stats"])
    said = " ".join(result.output.split())
    assert f"vectors (0) ≠ chunks ({stats['chunks']})" in said
    assert "run `curator reindex` to repair" in said

    report = run_json("reindex", "--rebuild", "--json")
    assert report["repaired"] == stats["chunks"] and report["unchanged"] == 3
    again = run_json("stats", "--json")
    assert again["vectors_match"] is True and again["vectors"] == stats["chunks"]


def test_an_article_without_a_link_is_listed_and_searched_by_title(env: Path) -> None:
    (env / "interview.txt").write_text(
        "Zebra keepers talk shop\n\nThe keepers explained how zebras are fed at dawn.\n",
        encoding="utf-8",
    )
    report = run_json("ingest", str(env / "interview.txt"), "--json")
    assert report["warnings"] == [
        {
            "path": str(env / "interview.txt"),
            "message": "no link to the original: citations will name it without a link",
        }
    ]
    listed = {a["title"]: a["url"] for a in run_json("articles", "--json")}
    assert listed["Zebra keepers talk shop"] == ""
    table = runner.invoke(app, ["articles"])
    assert table.exit_code == 0 and "Zebra keepers talk shop" in table.stdout
    hits = runner.invoke(app, ["search", "zebra keepers dawn"])
    assert hits.exit_code == 0 and "Zebra keepers" in hits.stdout


def test_a_failed_source_makes_ingest_and_reindex_exit_1(env: Path, tmp_path: Path) -> None:
    missing = tmp_path / "does-not-exist.md"
    result = runner.invoke(app, ["ingest", str(missing), str(env)])
    assert result.exit_code == 1
    assert "3 added" in result.stdout and "1 failed" in result.stdout
    assert str(missing) in result.stdout
    assert run_json("stats", "--json")["articles"] == 3
    (env / "broken.md").write_text("---\nurl: https://example.com/x\n---\ntext", encoding="utf-8")
    again = runner.invoke(app, ["reindex", "--json"])
    assert again.exit_code == 1
    assert [f["path"] for f in json.loads(again.stdout)["failed"]] == [str(env / "broken.md")]
    (env / "broken.md").unlink()
    assert runner.invoke(app, ["reindex"]).exit_code == 0


@pytest.mark.parametrize("with_sources", [True, False])
def test_rebuilding_a_healthy_index_says_what_it_re_embedded(
    env: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, with_sources: bool
) -> None:
    run_json("ingest", str(env), "--json")
    chunks = run_json("stats", "--json")["chunks"]
    if not with_sources:  # cards ingested by hand: --rebuild re-embeds the catalog alone
        monkeypatch.delenv("CURATOR_KNOWLEDGE__SOURCES")
        get_settings.cache_clear()
    with caplog.at_level(logging.INFO):
        result = runner.invoke(app, ["reindex", "--rebuild"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.stdout.split())
    assert "0 added, 0 updated, 3 unchanged" in said
    assert f"re-embedded {chunks} chunks" in said and "repaired" not in said
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_an_empty_search_query_is_named(env: Path) -> None:
    result = runner.invoke(app, ["search", " "])
    assert result.exit_code == 2
    assert "The query is empty" in result.stderr and "No results" not in result.stdout
    as_json = runner.invoke(app, ["search", "", "--json"])
    assert as_json.exit_code == 2 and json.loads(as_json.stdout)["code"] == "empty_query"


def test_a_folders_readme_license_and_changelog_are_skipped_not_failed(env: Path) -> None:
    (env / "README.md").write_text("# Cards\n\nHow this folder is kept.\n", encoding="utf-8")
    (env / "LICENSE").write_text("MIT License\n", encoding="utf-8")
    (env / "CHANGELOG.txt").write_text("1.0: first cards\n", encoding="utf-8")
    result = runner.invoke(app, ["ingest", str(env)])
    assert result.exit_code == 0, result.output
    assert "3 added" in result.stdout and "0 failed" in result.stdout
    for name in ("README.md", "LICENSE", "CHANGELOG.txt"):
        assert str(env / name) in result.stdout
    # --json lists the same files the text does.
    (env / "notes.csv").write_text("a,b\n", encoding="utf-8")
    payload = run_json("ingest", str(env), "--json")
    assert sorted(payload["skipped"]) == sorted(
        str(env / name) for name in ("CHANGELOG.txt", "LICENSE", "README.md", "notes.csv")
    )
    assert payload["failed"] == [] and payload["unchanged"] == 3
    # Named on the command line, a README is read like any other file.
    named = runner.invoke(app, ["ingest", str(env / "README.md"), "--json"])
    assert named.exit_code == 1
    assert [f["path"] for f in json.loads(named.stdout)["failed"]] == [str(env / "README.md")]


def test_the_seed_folder_ingests_without_failures(env: Path) -> None:
    seeds = seeds_dir()
    result = runner.invoke(app, ["ingest", str(seeds)])
    assert result.exit_code == 0, result.output
    assert "0 failed" in result.stdout and str(seeds / "README.md") in result.stdout


def test_a_text_articles_section_label_is_not_indexed(env: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "opinion.txt").write_text(
        "Markets after the merger\nOpinion\nPrices of striped blankets rose for a year.\n",
        encoding="utf-8",
    )
    assert runner.invoke(app, ["ingest", str(notes)]).exit_code == 0
    hits = run_json("search", "striped blankets prices", "--json")
    texts = [h["text"] for h in hits if h["title"] == "Markets after the merger"]
    assert texts and not any("Opinion" in t for t in texts)


def test_ingest_a_loopback_url_says_which_setting_allows_it(env: Path) -> None:
    url = "http://127.0.0.1:9/feed.xml"
    result = runner.invoke(app, ["ingest", url])
    assert result.exit_code == 1
    # The summary is the first thing printed, on either stream: no stray blank line before it.
    assert result.stdout.startswith("Indexed: 0 added") and result.stderr == ""
    assert "127.0.0.1 is a loopback address" in result.stdout
    assert "CURATOR_KNOWLEDGE__ALLOW_PRIVATE_URLS" in result.stdout
    failed = json.loads(runner.invoke(app, ["ingest", url, "--json"]).stdout)["failed"]
    assert "CURATOR_KNOWLEDGE__ALLOW_PRIVATE_URLS=true" in failed[0]["reason"]
