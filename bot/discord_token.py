"""The Discord bot token: its variable, its shape, its doctor check, and its redaction in logs.

Only the front end knows what a Discord token looks like; knowledge/ redacts generic secrets
and takes these values and shapes from here (`configure_bot_logging`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import IO

from pydantic import SecretStr

from knowledge.health import Check, redact
from knowledge.logging_setup import RedactingFilter, configure_logging
from knowledge.settings import LogFormat, Settings

TOKEN_VARIABLE = "CURATOR_DISCORD__TOKEN"

# A bot token is three base64url parts: the bot's id, a timestamp, and an HMAC.
_BOT_TOKEN_PARTS = r"[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}"
_BOT_TOKEN = re.compile(rf"^{_BOT_TOKEN_PARTS}$")
#: Discord token shapes redacted wherever they appear in a log line.
TOKEN_SHAPES = (
    # Bot tokens (id.timestamp.hmac), with an id part shorter than the generic rule's.
    re.compile(rf"\b{_BOT_TOKEN_PARTS}"),
    # Old user tokens with MFA.
    re.compile(r"\bmfa\.[A-Za-z0-9_-]{20,}"),
)


def normalise_bot_token(raw: str | None) -> str:
    """The token as Discord wants it: stripped, without a pasted 'Bot ' prefix."""
    value = (raw or "").strip()
    if value.lower().startswith("bot "):
        value = value[4:].strip()
    return value


def looks_like_bot_token(token: str) -> bool:
    """Whether `token` (stripped, without a 'Bot ' prefix) has the shape of a bot token."""
    return bool(_BOT_TOKEN.match(token))


def check_discord_token(token: SecretStr | None, required: bool) -> Check:
    """The bot token is set and shaped like one; it is shown only as its first characters."""
    value = normalise_bot_token(token.get_secret_value() if token is not None else None)
    portal = "copy it from the Developer Portal (your application → Bot → Reset Token)"
    if not value:
        if required:
            return Check(
                "discord token",
                "fail",
                f"{TOKEN_VARIABLE} is not set; `curator run` cannot log in",
                f"Set {TOKEN_VARIABLE}: {portal}.",
            )
        return Check(
            "discord token",
            "warn",
            f"{TOKEN_VARIABLE} is not set: fine for CLI commands, `curator run` needs it",
            f"Set {TOKEN_VARIABLE} before `curator run`: {portal}.",
        )
    if not looks_like_bot_token(value):
        return Check(
            "discord token",
            "fail",
            f"{TOKEN_VARIABLE} ({redact(value)}) does not look like a bot token: expected three "
            "dot-separated parts of letters, digits, '-' and '_'",
            f"Set it again: {portal}.",
        )
    return Check(
        "discord token", "ok", f"{TOKEN_VARIABLE} is set ({redact(value)}) and shaped like a token"
    )


def token_check(required: bool) -> Callable[[Settings], Check]:
    """The token check as `run_checks` takes front-end checks: a function of the settings."""
    return lambda settings: check_discord_token(settings.discord.token, required)


def token_values(settings: Settings | None) -> list[str]:
    """The token as configured, in the environment and in settings (raw and normalised)."""
    raw = [os.environ.get(TOKEN_VARIABLE, "")]
    if settings is not None and settings.discord.token is not None:
        raw.append(settings.discord.token.get_secret_value())
    return [v for value in raw for v in (value, normalise_bot_token(value)) if v.strip()]


def configure_bot_logging(
    settings: Settings | None = None,
    *,
    level: str | int | None = None,
    stream: IO[str] | None = None,
    log_format: LogFormat | None = None,
) -> RedactingFilter:
    """`configure_logging` that also redacts the Discord token, by value and by shape."""
    return configure_logging(
        settings,
        level=level,
        stream=stream,
        log_format=log_format,
        secrets=token_values(settings),
        shapes=TOKEN_SHAPES,
    )
