"""`curator stats`: no re-embed pending is null in JSON and a word in the table, never ""."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.app import app
from knowledge.settings import get_settings
from tests.support.cards import zebra_env

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield zebra_env(monkeypatch, tmp_path)
    get_settings.cache_clear()


def test_no_pending_re_embed_is_null_in_json_and_none_in_the_table(env: Path) -> None:
    assert runner.invoke(app, ["reindex", "--json"]).exit_code == 0
    result = runner.invoke(app, ["stats", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["reembed_pending"] is None
    table = runner.invoke(app, ["stats"])
    assert table.exit_code == 0, table.output
    [row] = [line for line in table.stdout.splitlines() if "reembed pending" in line]
    assert row.split("│")[2].strip() == "none"
