"""`curator ingest` and `curator ask` on the seed pair: one article, cited without a link."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import knowledge
from bot.cli.app import app
from knowledge.settings import get_settings
from tests.support.seeds import seed_files

SAMPLE_DIR = Path(knowledge.__file__).parent / "sample"
TITLE = "The Evolving Role of the ML Engineer"
runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("CURATOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CURATOR_EMBEDDINGS__PROVIDER", "hash")
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "CURATOR_LLM__API_KEY",
        "CURATOR_LLM__BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    card, article = seed_files()
    result = runner.invoke(app, ["ingest", str(card), str(article), str(SAMPLE_DIR), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["failed"] == []
    seed = {"title": TITLE, "card": str(card), "article": str(article), "by": "title"}
    assert seed in payload["paired"]
    yield tmp_path
    get_settings.cache_clear()


def test_ask_cites_the_seed_by_title_and_publisher_with_no_link(env: Path) -> None:
    result = runner.invoke(app, ["ask", "Is AI a bubble?", "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert not answer["refused"]
    cited = [c for c in answer["citations"] if c["title"] == TITLE]
    assert cited, answer["citations"]
    assert all(c["publisher"] == "Towards Data Science" and c["url"] == "" for c in cited)


def test_the_terminal_shows_title_and_publisher_and_no_link(env: Path) -> None:
    result = runner.invoke(app, ["ask", "Is AI a bubble?", "--no-stream"])
    assert result.exit_code == 0, result.output
    sources = result.stdout.split("Sources:")[1]
    lines = [line.strip() for line in sources.splitlines() if TITLE in line]
    assert lines and all(f"] {TITLE} — Towards Data Science" in line for line in lines)
    assert "http" not in sources and "[link" not in sources
