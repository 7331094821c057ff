"""Process-wide logging for the CLI and the bot: one format, one level, no secret in any line.

`configure_logging` puts a `RedactingFilter` on every handler, so whatever logs a record — our
modules, discord.py, httpx, openai, chromadb — the token and keys are replaced before anything
is written: in the message and its arguments, the traceback, the stack and `extra` fields.
Secrets are recognised two ways: by value (the configured token and keys), and by shape (a
Discord token, an `sk-...` key, a bearer header, `api_key=...`), so a secret that reaches a log
line from somewhere unexpected is caught too.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping
from typing import IO, Any

from pydantic import SecretStr

from knowledge.settings import Settings

REDACTED = "[redacted]"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Variables whose values are secrets even before settings are loaded.
SECRET_VARIABLES = ("CURATOR_DISCORD__TOKEN", "CURATOR_LLM__API_KEY", "OPENAI_API_KEY")

_SHAPES = [
    # Discord bot tokens (id.timestamp.hmac) and JWTs share this three-part shape.
    re.compile(r"\b[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}"),
    # Old Discord user tokens with MFA.
    re.compile(r"\bmfa\.[A-Za-z0-9_-]{20,}"),
    # OpenAI-style keys: sk-..., sk-proj-..., and the like.
    re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"),
]
# Keep the label ("Bearer", "api_key=") so the line still says what was removed.
_LABELLED = re.compile(
    r"(?i)(\bbearer\s+|\b(?:api[_-]?key|access[_-]?token|auth[_-]?token|bot[_-]?token|token|"
    r"secret|password|authorization)\b[\"']?\s*[:=]\s*[\"']?(?:bot\s+|bearer\s+)?)"
    r"([^\s\"',;)}\]]{6,})"
)
# Attributes every LogRecord has; anything else came from `extra=` and is scrubbed too.
_STANDARD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}
_formatter = logging.Formatter()


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every known secret and every secret-shaped string replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    for shape in _SHAPES:
        text = shape.sub(REDACTED, text)
    return _LABELLED.sub(lambda m: m.group(1) + REDACTED, text)


def _secret_values(settings: Settings | None) -> list[str]:
    values = [os.environ.get(name, "") for name in SECRET_VARIABLES]
    if settings is not None:
        for secret in (settings.discord.token, settings.llm.api_key):
            if secret is not None:
                values.append(secret.get_secret_value())
    # Too short a value would blank out ordinary words; those are left to the shape rules.
    cleaned = {v.strip() for v in values if len(v.strip()) >= 6}
    return sorted(cleaned, key=len, reverse=True)


class RedactingFilter(logging.Filter):
    """Scrubs secrets from a record in place; put it on handlers so it sees every record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def redact(self, text: str) -> str:
        """`text` without secrets."""
        return redact_text(text, self.secrets)

    def _value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, SecretStr) or value is None or isinstance(value, int | float):
            return value
        if isinstance(value, Mapping):
            return {k: self._value(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set):
            return type(value)(self._value(v) for v in value)
        shown = str(value)
        cleaned = self.redact(shown)
        # An arbitrary object is kept as is unless its text would show a secret.
        return value if cleaned == shown else cleaned

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # bad %-arguments: keep both parts, scrubbed, rather than the error
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when it is set, so the traceback is scrubbed once here.
            record.exc_text = _formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        # The exception object still holds the secret in its message; handlers that format it
        # themselves (JSON formatters) would print it, so only the scrubbed text is kept.
        record.exc_info = None
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRIBUTES:
                record.__dict__[key] = self._value(value)
        return True


def install_redaction(secrets: Iterable[str] = ()) -> RedactingFilter:
    """Put one RedactingFilter on every handler that exists now (replacing an older one)."""
    redacting = RedactingFilter(secrets)
    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers += [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            for old in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
                handler.removeFilter(old)
            handler.addFilter(redacting)
    return redacting


def configure_logging(
    settings: Settings | None = None,
    *,
    level: str | int | None = None,
    stream: IO[str] | None = None,
) -> RedactingFilter:
    """Log to stderr at `level` (default: settings.log_level, else WARNING), secrets redacted.

    Safe to call more than once: the handler is added once and the filter replaced, so the bot
    can call it again with its settings after the CLI configured logging at start.
    """
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "curator_handler", False)]
    if not ours:
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler.curator_handler = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    elif stream is not None:
        ours[0].setStream(stream)  # type: ignore[attr-defined]
    chosen = level if level is not None else (settings.log_level if settings else "WARNING")
    root.setLevel(chosen)
    # Library warnings (warnings.warn) go through logging too, and so through the filter.
    logging.captureWarnings(True)
    return install_redaction(_secret_values(settings))
