"""Untrusted article text printed by the CLI as written: rich markup in titles, URLs and
passages is never interpreted, and terminal escape sequences never reach the terminal."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import common
from bot.cli.app import app
from knowledge.index import KnowledgeIndex
from knowledge.models import Article
from knowledge.settings import get_settings
from tests.support.settings import make_settings

runner = CliRunner()
TITLE = "Bold [/b] moves [link=https://evil.example]in[/link] [red]retrieval"
URL = "https://articles.example/odd[/b]?q=[bold]"
ESCAPE = "\x1b]8;;https://evil.example\x1b\\"  # a terminal hyperlink escape sequence
QUESTION = "How do bold moves in retrieval ranking work?"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("markup-data")
    index = KnowledgeIndex(make_settings(data))
    index.add_articles(
        [
            Article(
                title=TITLE,
                url=URL,
                publisher="Pub [/i] lisher",
                topics=["[b]ranking"],
                curated=datetime(2024, 5, 1, tzinfo=UTC),
                summary="Bold moves in retrieval ranking work by [/b] reordering passages.",
                body=(
                    f"Bold moves in retrieval ranking work by reordering passages{ESCAPE}. "
                    "Ranking [/bold] with bold moves keeps the best passages first."
                ),
            )
        ]
    )
    index.close()
    return data


@pytest.fixture
def env(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CURATOR_DATA_DIR", str(data_dir))
    monkeypatch.setenv("CURATOR_EMBEDDINGS__PROVIDER", "hash")
    monkeypatch.setenv("CURATOR_ANSWERS__MIN_RELEVANCE", "0.0")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    # Wide enough that tables do not fold a title across lines.
    monkeypatch.setattr(common.console, "width", 500)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize(
    "args",
    [
        ["articles"],
        ["search", QUESTION],
        ["ask", QUESTION, "--no-stream"],
        ["ask", QUESTION],
        ["latest"],
        ["article", "Bold"],
    ],
    ids=["articles", "search", "ask-no-stream", "ask-stream", "latest", "article"],
)
def test_markup_in_article_text_is_printed_as_written(env: None, args: list[str]) -> None:
    result = runner.invoke(app, args)

    assert result.exit_code == 0, result.output
    assert result.exception is None
    flat = " ".join(result.stdout.split())
    if args[0] != "ask":
        assert "[/b]" in flat and "[link=https://evil.example]" in flat
    else:
        assert "[/b]" in flat  # the source's title in the Sources list
    assert "\x1b]8" not in result.stdout


def test_ask_sources_show_the_url_with_its_brackets(env: None) -> None:
    result = runner.invoke(app, ["ask", QUESTION, "--no-stream"])
    assert result.exit_code == 0, result.output
    assert URL in result.stdout and TITLE in result.stdout


def test_ingest_report_prints_paths_holding_markup(env: None, tmp_path: Path) -> None:
    folder = tmp_path / "src" / "notes["
    folder.mkdir(parents=True)
    (folder / "red].md").write_text("", encoding="utf-8")  # empty: fails, path is printed
    (folder / "b].xyz").write_text("x", encoding="utf-8")  # unsupported: listed as skipped

    result = runner.invoke(app, ["ingest", str(tmp_path / "src")])

    assert result.exit_code == 1, result.output  # the empty file failed
    flat = " ".join(result.stdout.split())
    assert "notes[/red].md" in flat and "notes[/b].xyz" in flat
