"""`curator digest --since D --until D` lists exactly the cards dated D, in every timezone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.app import app
from knowledge.settings import get_settings

runner = CliRunner()
CARDS = {
    "Dated the 19th": "2026-11-19",
    "Dated the 20th": "2026-11-20",
    "Dated the 21st": "2026-11-21",
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("digest-dates")
    cards = root / "cards.jsonl"
    cards.write_text(
        "".join(
            json.dumps({"title": t, "url": f"https://d.example/{n}", "curated": d}) + "\n"
            for n, (t, d) in enumerate(CARDS.items())
        ),
        encoding="utf-8",
    )
    with pytest.MonkeyPatch.context() as patch:
        _isolate(patch, root / "data", "UTC")
        result = runner.invoke(app, ["ingest", str(cards), "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["added"] == len(CARDS)
    get_settings.cache_clear()
    return root / "data"


def _isolate(patch: pytest.MonkeyPatch, data: Path, zone: str) -> None:
    patch.setenv("CURATOR_DATA_DIR", str(data))
    patch.setenv("CURATOR_EMBEDDINGS__PROVIDER", "hash")
    patch.setenv("CURATOR_DIGEST__TIME", "09:00")
    patch.setenv("CURATOR_DIGEST__TIMEZONE", zone)
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "CURATOR_LLM__API_KEY",
        "CURATOR_LLM__BASE_URL",
    ):
        patch.delenv(name, raising=False)
    get_settings.cache_clear()


@pytest.fixture(params=["UTC", "America/Los_Angeles", "Asia/Tokyo"])
def zone(
    request: pytest.FixtureRequest, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    _isolate(monkeypatch, data_dir, request.param)
    yield request.param
    get_settings.cache_clear()


def _titles(*args: str) -> list[str]:
    result = runner.invoke(app, ["digest", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    return [a["title"] for s in payload["sections"] for a in s["articles"]]


def test_a_one_day_range_lists_exactly_that_day(zone: str) -> None:
    assert _titles("--since", "2026-11-20", "--until", "2026-11-20") == ["Dated the 20th"]


def test_the_daily_digest_lists_the_day_before(zone: str) -> None:
    assert _titles("--date", "2026-11-21") == ["Dated the 20th"]
