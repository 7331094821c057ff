"""The Discord token belongs to the front end: its doctor check and its redaction in logs."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.discord_token import check_discord_token, configure_bot_logging
from knowledge.logging_setup import REDACTED
from tests.support.settings import make_settings

# Shaped like a bot token (id . timestamp . hmac), made up; the id part is too short for the
# generic signed-token rule of knowledge/, so only the bot's shape catches it.
TOKEN = "MTIzNDU2Nzg5MDEy" + ".GAbCdE." + "abcdefghijklmnopqrstuvwxyz0123456789AB"
# A token of no known shape at all: only its value (from settings) can catch it.
ODD_TOKEN = "odd-" + "token-value-without-shape"
MFA_TOKEN = "mfa." + "abcdefghijklmnopqrstuvwxyz012345"


def test_a_missing_token_warns_for_the_cli_and_fails_for_run() -> None:
    cli = check_discord_token(None, required=False)
    assert cli.status == "warn" and "CURATOR_DISCORD__TOKEN" in cli.detail
    run = check_discord_token(SecretStr("  "), required=True)
    assert run.status == "fail" and "Reset Token" in run.remedy


@pytest.mark.parametrize("required", [False, True])
def test_a_malformed_token_fails_shown_only_by_its_start(required: bool) -> None:
    bad = "MTIzNDU2Nzg5MDEyMzQ1Njc4OQ-this-is-not-it"
    check = check_discord_token(SecretStr(bad), required=required)
    assert check.status == "fail" and "does not look like a bot token" in check.detail
    assert bad not in str(check) and "MTIz…" in check.detail


def test_a_well_shaped_token_passes_redacted() -> None:
    for given in (TOKEN, f"Bot {TOKEN}\n"):
        check = check_discord_token(SecretStr(given), required=True)
        assert check.status == "ok" and "MTIz…" in check.detail
        assert TOKEN not in str(check) and TOKEN[4:12] not in str(check)


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_bot_token_is_redacted_in_fields_in_both_formats(
    tmp_path: Path, log_format: str
) -> None:
    settings = make_settings(tmp_path, discord={"token": ODD_TOKEN}, log_format=log_format)
    out = io.StringIO()
    configure_bot_logging(settings, level="INFO", stream=out)
    logging.getLogger("bot.discord.curator_bot").info(
        "gateway", extra={"token": TOKEN, "auth": {"mfa": MFA_TOKEN, "raw": f"Bot {ODD_TOKEN}"}}
    )
    written = out.getvalue()
    for secret in (TOKEN, ODD_TOKEN, MFA_TOKEN):
        assert secret not in written
        assert secret[4:16] not in written
    if log_format == "json":
        record = json.loads(written)
        assert record["token"] == REDACTED
        assert record["auth"]["mfa"] == REDACTED
        assert record["message"] == "gateway"
    else:
        assert f"gateway token={REDACTED} auth=" in written
