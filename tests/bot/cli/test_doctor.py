"""`curator doctor`: one line per check, the remedy under problems, exit status 0 only when safe,
and never a token or key in what it prints."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.app import app
from knowledge.index import KnowledgeIndex
from tests.knowledge.test_health import API_KEY, TOKEN, ModelsEndpoint
from tests.support.settings import make_settings

runner = CliRunner()


@pytest.fixture
def endpoint() -> Iterator[ModelsEndpoint]:
    server = ModelsEndpoint().start()
    yield server
    server.stop()


@pytest.fixture
def healthy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, endpoint: ModelsEndpoint) -> None:
    """Everything in order: an indexed data dir, the hash embedder, an LLM endpoint, a token."""
    monkeypatch.setenv("CURATOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CURATOR_EMBEDDINGS__PROVIDER", "hash")
    monkeypatch.setenv("CURATOR_LLM__BASE_URL", endpoint.base_url)
    monkeypatch.setenv("CURATOR_LLM__API_KEY", API_KEY)
    monkeypatch.setenv("CURATOR_DISCORD__TOKEN", TOKEN)
    index = KnowledgeIndex(make_settings(tmp_path / "data"))  # the sample articles
    index.reindex()
    index.close()


def doctor(*args: str) -> tuple[int, str]:
    """Exit code and output, with rich's line wrapping undone."""
    result = runner.invoke(app, ["doctor", *args])
    output = result.output if "--json" in args else " ".join(result.output.split())
    return result.exit_code, output


def test_a_healthy_set_up_is_safe_to_start(healthy: None) -> None:
    code, output = doctor("--run")
    assert code == 0, output
    assert output.count("ok ") == 8
    for name in ("settings", "data dir", "chroma", "index", "store", "embedder", "llm", "token"):
        assert name in output
    assert "Safe to start." in output


def test_json_output_lists_every_check(healthy: None) -> None:
    result = runner.invoke(app, ["doctor", "--json"])
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert payload["safe_to_start"] is True
    assert payload["checks"][0]["name"] == "settings"
    assert {c["status"] for c in payload["checks"]} == {"ok"}
    assert set(payload["checks"][0]) == {"name", "status", "detail", "remedy"}


def test_without_an_llm_and_token_the_cli_is_still_safe_with_warnings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CURATOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CURATOR_EMBEDDINGS__PROVIDER", "hash")
    code, output = doctor()
    assert code == 0, output
    assert "extractive answers only" in output
    assert "→ Set CURATOR_DISCORD__TOKEN" in output
    assert "holds no articles yet" in output
    assert "Safe to start, 3 warnings." in output


def test_for_run_a_missing_token_makes_it_unsafe(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CURATOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CURATOR_EMBEDDINGS__PROVIDER", "hash")
    code, output = doctor("--run")
    assert code == 1
    assert "fail discord token" in output and "`curator run` cannot log in" in output
    assert "Not safe to start: 1 failed" in output


def test_vectors_missing_from_the_store_make_it_unsafe(healthy: None, tmp_path: Path) -> None:
    index = KnowledgeIndex(make_settings(tmp_path / "data"))
    index.vectors.reset()  # the store lost every vector; the catalog still has the chunks
    index.close()
    code, output = doctor()
    assert code == 1
    assert "fail store" in output and "vectors (0) ≠ chunks" in output
    assert "repairs the vector store from the catalog" in output


def test_an_invalid_setting_exits_1_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURATOR_DISCORD__MAX_CONCURRENT", "zero")
    code, output = doctor()
    assert code == 1
    assert "CURATOR_DISCORD__MAX_CONCURRENT" in output
    assert "The other checks need valid settings." in output


def test_quiet_prints_nothing_when_safe_and_only_failures_otherwise(
    healthy: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert doctor("--quiet", "--run") == (0, "")
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("CURATOR_DATA_DIR", str(tmp_path / "file" / "data"))
    code, output = doctor("--quiet", "--run")
    assert code == 1
    assert "data dir" in output and "is a file" in output
    assert "ok " not in output and "llm" not in output


@pytest.mark.parametrize("args", [(), ("--json",), ("--quiet",), ("--run",)])
def test_secrets_never_appear_in_any_output(
    healthy: None,
    monkeypatch: pytest.MonkeyPatch,
    endpoint: ModelsEndpoint,
    args: tuple[str, ...],
) -> None:
    # A malformed token and a rejected key: both are mentioned, neither is shown.
    bad_token = TOKEN.replace(".", "-", 1)
    monkeypatch.setenv("CURATOR_DISCORD__TOKEN", bad_token)
    endpoint.status = 401
    code, output = doctor(*args)
    assert code == 1
    assert bad_token not in output and API_KEY not in output
    assert bad_token[4:10] not in output and API_KEY[4:10] not in output
    if "--json" in args:
        checks = json.loads(output)["checks"]
        token_check = next(c for c in checks if c["name"] == "discord token")
        assert "MTIz…" in token_check["detail"]
