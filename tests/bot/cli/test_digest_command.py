"""`curator digest` through typer's runner, on the real index built from the sample cards."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

import knowledge
from bot.cli.app import app
from knowledge.settings import get_settings

SAMPLE_DIR = Path(knowledge.__file__).parent / "sample"
runner = CliRunner()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with the sample cards indexed (hash embedder), shared by this module."""
    path = tmp_path_factory.mktemp("digest-cli") / "data"
    with pytest.MonkeyPatch.context() as patch:
        _isolate(patch, path)
        result = runner.invoke(app, ["ingest", str(SAMPLE_DIR), "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["added"] >= 2
    get_settings.cache_clear()
    return path


def _isolate(patch: pytest.MonkeyPatch, data: Path) -> None:
    patch.setenv("CURATOR_DATA_DIR", str(data))
    patch.setenv("CURATOR_EMBEDDINGS__PROVIDER", "hash")
    patch.setenv("CURATOR_DIGEST__TIME", "09:00")
    patch.setenv("CURATOR_DIGEST__TIMEZONE", "UTC")
    # No LLM: the template intro, and no chance of a network call.
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "CURATOR_LLM__API_KEY",
        "CURATOR_LLM__BASE_URL",
    ):
        patch.delenv(name, raising=False)
    get_settings.cache_clear()


@pytest.fixture
def env(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    _isolate(monkeypatch, data_dir)
    yield data_dir
    get_settings.cache_clear()


def test_json_shape_on_the_sample_cards(env: Path) -> None:
    result = runner.invoke(app, ["digest", "--date", "2026-11-23", "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload) == {"date", "window", "intro", "sections", "article_count"}
    assert payload["date"] == "2026-11-23"
    assert payload["window"] == {
        "start": "2026-11-22T09:00:00+00:00",
        "end": "2026-11-23T09:00:00+00:00",
    }
    assert payload["article_count"] >= 1
    assert payload["article_count"] == sum(len(s["articles"]) for s in payload["sections"])
    for section in payload["sections"]:
        assert set(section) == {"topic", "articles"} and section["topic"]
        for article in section["articles"]:
            assert set(article) == {"title", "url", "publisher", "key_takeaway", "best_for"}
            assert article["url"].startswith("https://") and article["title"]
            assert isinstance(article["best_for"], list)
    assert payload["intro"].startswith(f"{payload['article_count']} new article") or (
        payload["intro"].startswith("One new article")
    )


def test_json_flag_prints_what_format_json_prints(env: Path) -> None:
    """`--json`, as on every other command, is `--format json`."""
    flag = runner.invoke(app, ["digest", "--date", "2026-11-23", "--json"])
    option = runner.invoke(app, ["digest", "--date", "2026-11-23", "--format", "json"])
    assert flag.exit_code == 0 and option.exit_code == 0, flag.output + option.output
    assert json.loads(flag.stdout) == json.loads(option.stdout)
    assert json.loads(flag.stdout)["article_count"] >= 1


def test_markdown_and_text_formats(env: Path) -> None:
    md = runner.invoke(app, ["digest", "--date", "2026-11-23"])
    assert md.exit_code == 0, md.output
    assert md.stdout.startswith("# Daily digest — 23 Nov 2026")
    text = runner.invoke(app, ["digest", "--date", "2026-11-23", "--format", "text"])
    assert text.exit_code == 0 and "https://" in text.stdout and "](" not in text.stdout


def test_range_and_empty_day(env: Path) -> None:
    ranged = runner.invoke(
        app, ["digest", "--since", "2026-11-01", "--until", "2026-11-30", "-f", "json"]
    )
    assert ranged.exit_code == 0, ranged.output
    everything = json.loads(ranged.stdout)
    empty = runner.invoke(app, ["digest", "--date", "2026-01-01", "-f", "json"])
    assert empty.exit_code == 0, empty.output
    nothing = json.loads(empty.stdout)
    assert everything["article_count"] >= 2
    assert nothing["article_count"] == 0 and nothing["sections"] == []
    assert nothing["intro"].startswith("Nothing new today")


def test_range_takes_periods_back_from_today(env: Path) -> None:
    """--since/--until read dates and periods as Discord's `since:` does (knowledge.periods)."""
    today = datetime.now(UTC).date()
    result = runner.invoke(app, ["digest", "--since", "2w", "--until", "1w", "-f", "json"])
    assert result.exit_code == 0, result.output
    window = json.loads(result.stdout)["window"]
    assert window["start"] == f"{today - timedelta(days=14)}T00:00:00+00:00"
    assert window["end"] == f"{today - timedelta(days=6)}T00:00:00+00:00"


def test_a_range_starting_in_the_future_is_refused_as_on_discord(env: Path) -> None:
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    result = runner.invoke(app, ["digest", "--since", tomorrow])
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.replace("│", " ").split())
    assert "--since" in said and f"{tomorrow} is in the future" in said


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--date", "23/11/2026"], "--date"),
        (["--since", "last week"], "--since"),
        (["--since", "2026-11-01", "--until", "2026-11-31"], "--until"),
        (["--until", "2026-11-20"], "--until needs --since"),
        (["--date", "2026-11-20", "--since", "2026-11-01"], "not both"),
        (["--since", "2026-11-20", "--until", "2026-11-01"], "before --since"),
        (["--format", "pdf"], "--format"),
        (["--format", "text", "--json"], "--json prints JSON, not text"),
    ],
)
def test_bad_options_exit_2_naming_the_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], named: str
) -> None:
    _isolate(monkeypatch, tmp_path / "data")
    result = runner.invoke(app, ["digest", *args])
    get_settings.cache_clear()
    assert result.exit_code == 2, result.output
    # The error box wraps lines; compare words, not layout.
    assert named in " ".join(result.output.replace("│", " ").split())
