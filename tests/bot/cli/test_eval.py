"""`curator eval` through typer's runner: JSON shape, table, modes and bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.app import app
from knowledge.settings import get_settings

runner = CliRunner()

SQUAD = {
    "version": "1.1",
    "data": [
        {
            "title": "Plains_zebra",
            "paragraphs": [
                {
                    "context": "Zebra stripes deter biting horseflies from landing on the herd.",
                    "qas": [
                        {
                            "id": "z1",
                            "question": "What do zebra stripes deter?",
                            "answers": [{"text": "biting horseflies", "answer_start": 20}],
                        }
                    ],
                }
            ],
        },
        {
            "title": "Sourdough",
            "paragraphs": [
                {
                    "context": "Sourdough bread rises with a starter of wild yeast.",
                    "qas": [
                        {
                            "id": "s1",
                            "question": "What makes sourdough bread rise?",
                            "answers": [{"text": "wild yeast", "answer_start": 40}],
                        }
                    ],
                }
            ],
        },
    ],
}


@pytest.fixture
def squad_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "tiny-squad.json"
    path.write_text(json.dumps(SQUAD), encoding="utf-8")
    monkeypatch.setenv("CURATOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CURATOR_EMBEDDINGS__PROVIDER", "hash")
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def test_eval_json_has_the_documented_shape(squad_file: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", str(squad_file), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload) == {
        "embedder", "chunks", "articles", "questions", "k", "per_article", "modes"
    }  # fmt: skip
    assert payload["embedder"].startswith("hash")
    assert (payload["articles"], payload["questions"], payload["k"]) == (2, 2, 10)
    assert payload["per_article"] == 3  # the configured default
    assert list(payload["modes"]) == ["bm25", "dense", "hybrid"]
    for figures in payload["modes"].values():
        assert set(figures) == {"article_hits", "answer_hits", "mrr10", "latency_ms"}
        assert set(figures["article_hits"]) == set(figures["answer_hits"]) == {"1", "5", "10"}
        assert set(figures["latency_ms"]) == {"p50", "p95"}
    assert payload["modes"]["bm25"]["article_hits"]["1"] == 1.0
    assert payload["modes"]["bm25"]["answer_hits"]["1"] == 1.0
    # The throwaway store lives in a temporary folder, not in the configured data dir.
    assert not (tmp_path / "data").exists()


def test_eval_one_mode_with_options(squad_file: Path) -> None:
    result = runner.invoke(
        app,
        ["eval", str(squad_file), "--mode", "bm25", "-k", "3", "--per-article", "0", "--json"],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert list(payload["modes"]) == ["bm25"]
    assert (payload["k"], payload["per_article"]) == (3, 0)


def test_eval_limit_and_titles_shrink_the_run(squad_file: Path) -> None:
    limited = runner.invoke(app, ["eval", str(squad_file), "--mode", "bm25", "--limit", "1",
                                  "--json"])  # fmt: skip
    assert limited.exit_code == 0, limited.output
    assert json.loads(limited.stdout)["questions"] == 1
    one_title = runner.invoke(app, ["eval", str(squad_file), "--mode", "bm25", "--titles", "1",
                                    "--json"])  # fmt: skip
    assert one_title.exit_code == 0, one_title.output
    payload = json.loads(one_title.stdout)
    assert (payload["articles"], payload["questions"]) == (1, 1)


def test_eval_prints_a_table_per_mode(squad_file: Path) -> None:
    result = runner.invoke(app, ["eval", str(squad_file), "--mode", "hybrid"])
    assert result.exit_code == 0, result.output
    assert "hybrid" in result.stdout and "art@1" in result.stdout and "ans@10" in result.stdout
    assert "MRR@10" in result.stdout and "per_article=3" in result.stdout


def test_eval_rejects_an_unknown_mode(squad_file: Path) -> None:
    result = runner.invoke(app, ["eval", str(squad_file), "--mode", "fuzzy"])
    assert result.exit_code == 2
    assert "fuzzy" in result.output


def test_eval_names_the_problem_in_a_malformed_file(squad_file: Path) -> None:
    squad_file.write_text(json.dumps({"data": [{"title": "T"}]}), encoding="utf-8")
    result = runner.invoke(app, ["eval", str(squad_file)])
    assert result.exit_code == 1
    assert 'data[0]: no "paragraphs" list' in result.output


def test_eval_reports_a_missing_file(squad_file: Path) -> None:
    result = runner.invoke(app, ["eval", str(squad_file.with_name("nope.json"))])
    assert result.exit_code == 1
    assert "Cannot read" in result.output and "nope.json" in result.output


def test_eval_answers_json_scores_whole_answers(squad_file: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", str(squad_file), "--answers", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload) == {"embedder", "chunks", "articles", "questions", "modes"}
    # No LLM is configured: extractive answers only.
    assert list(payload["modes"]) == ["extractive"]
    figures = payload["modes"]["extractive"]
    assert set(figures) == {
        "questions",
        "gold_in_text",
        "gold_in_cited_passage",
        "answers_listing_an_article_twice",
        "dangling_markers",
        "refusals",
        "latency_ms",
    }
    assert figures["questions"] == 2
    assert figures["answers_listing_an_article_twice"] == 0
    assert figures["dangling_markers"] == 0
    assert not (tmp_path / "data").exists()


def test_eval_answers_prints_a_table(squad_file: Path) -> None:
    result = runner.invoke(app, ["eval", str(squad_file), "--answers", "--limit", "1"])
    assert result.exit_code == 0, result.output
    assert "Answers on tiny-squad.json" in result.stdout
    assert "extractive" in result.stdout and "dangling" in result.stdout
