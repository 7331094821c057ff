"""`curator run`: the token check, exit status 2, and a log that never shows the token."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import discord
import pytest
from typer.testing import CliRunner

from bot.cli.app import app
from bot.cli.run_command import check_token
from bot.discord.curator_bot import CuratorBot
from knowledge.errors import ConfigError
from knowledge.logging_setup import RedactingFilter
from knowledge.settings import get_settings

# Shaped like a real token (id . timestamp . hmac) but made up.
GOOD_SHAPE = "MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.GAbCdE.abcdefghijklmnopqrstuvwxyz0123456789AB"


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("CURATOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CURATOR_DISCORD__TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    get_settings.cache_clear()
    root = logging.getLogger()
    level, filters = root.level, {h: list(h.filters) for h in root.handlers}
    yield
    get_settings.cache_clear()
    # `curator run` configures process-wide logging; leave it as other tests expect it.
    root.setLevel(level)
    for handler, kept in filters.items():
        handler.filters = kept


def test_check_token_accepts_the_bot_token_shape() -> None:
    assert check_token(f"  {GOOD_SHAPE}\n") == GOOD_SHAPE
    assert check_token(f"Bot {GOOD_SHAPE}") == GOOD_SHAPE


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (None, "No Discord bot token"),
        ("   ", "No Discord bot token"),
        ("not-a-token", "does not look like a bot token"),
        ("abc.def", "does not look like a bot token"),
        ("MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.GAbCdE.has spaces in the hmac part!!", "does not look like"),
        ("a.b.c.d", "does not look like a bot token"),
    ],
)
def test_check_token_rejects_missing_and_malformed(token: str | None, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        check_token(token)


def test_run_without_a_token_exits_2_with_a_clear_message() -> None:
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 2
    assert "No Discord bot token: set CURATOR_DISCORD__TOKEN" in result.output


def test_run_with_a_malformed_token_exits_2_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CURATOR_DISCORD__TOKEN", "hunter2-secret")
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 2
    assert "does not look like a bot token" in result.output
    assert "hunter2-secret" not in result.output


def test_run_starts_the_bot_and_the_log_never_shows_the_token(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CURATOR_DISCORD__TOKEN", GOOD_SHAPE)
    started: list[str] = []

    def fake_run(self: CuratorBot, token: str, **kwargs: object) -> None:
        started.append(token)
        # A careless library line: the filter must still keep the token out of the log.
        logging.getLogger("discord.http").warning("logging in using static token %s", token)

    monkeypatch.setattr(CuratorBot, "run", fake_run)
    with caplog.at_level(logging.INFO):
        result = CliRunner().invoke(app, ["run"])

    assert result.exit_code == 0, result.output
    assert started == [GOOD_SHAPE]
    assert GOOD_SHAPE not in caplog.text
    assert "[redacted]" in caplog.text


def test_a_token_discord_rejects_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURATOR_DISCORD__TOKEN", GOOD_SHAPE)

    def rejected(self: CuratorBot, token: str, **kwargs: object) -> None:
        raise discord.LoginFailure("Improper token has been passed.")

    monkeypatch.setattr(CuratorBot, "run", rejected)
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 2
    assert "Discord rejected CURATOR_DISCORD__TOKEN" in result.output


def test_redaction_filter_rewrites_records() -> None:
    record = logging.LogRecord("x", logging.INFO, "f", 1, "token=%s ok", ("s3cr3t",), None)
    assert RedactingFilter(["s3cr3t"]).filter(record)
    assert "s3cr3t" not in record.getMessage()
    assert record.getMessage().startswith("token=") and record.getMessage().endswith(" ok")
