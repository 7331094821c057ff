"""Process-wide logging for the CLI and the bot: one level, a text or JSON format that carries
each record's `extra=` fields, and no secret in any line.

`configure_logging` puts a `RedactingFilter` on every handler, so whatever logs a record — our
modules, discord.py, httpx, openai, chromadb — the keys are replaced before anything is written,
in either format: in the message and its arguments, the traceback, the stack and `extra` fields.
Secrets are recognised two ways: by value (the configured keys, plus any the front end adds),
and by shape (a signed three-part token, an `sk-...` key, a bearer header, `api_key=...`, a
URL's `user:password@`, plus any shapes the front end adds), so a secret that reaches a log
line from somewhere unexpected is caught too. The front end (bot/) adds what it alone knows,
such as its Discord token.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping
from typing import IO, Any

from pydantic import SecretStr
from pythonjsonlogger.json import JsonFormatter

from knowledge.settings import LogFormat, Settings
from knowledge.url_credentials import without_url_credentials

REDACTED = "[redacted]"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Read before settings are loaded, so the very first lines already have the chosen format.
LOG_FORMAT_VARIABLE = "CURATOR_LOG_FORMAT"
#: Variables whose values are secrets even before settings are loaded.
SECRET_VARIABLES = ("CURATOR_LLM__API_KEY", "OPENAI_API_KEY")

_SHAPES = [
    # Signed tokens in three base64url parts (JWTs; a Discord bot token has this shape too).
    re.compile(r"\b[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}"),
    # OpenAI-style keys: sk-..., sk-proj-..., and the like.
    re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"),
]
# Keep the label ("Bearer", "api_key=") so the line still says what was removed. A value that
# is already the marker is left alone: a record passes every handler's filter, and redacting
# must give the same line however many times it runs.
_LABELLED = re.compile(
    r"(?i)(\bbearer\s+|\b(?:api[_-]?key|access[_-]?token|auth[_-]?token|bot[_-]?token|token|"
    r"secret|password|authorization)\b[\"']?\s*[:=]\s*[\"']?(?:bot\s+|bearer\s+)?)"
    r"(?!\[redacted\])([^\s\"',;)}\]]{6,})"
)
# Attributes every LogRecord has; anything else came from `extra=` and is scrubbed too.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}
_formatter = logging.Formatter()
#: Libraries that set their own logger's level when imported (bm25s sets DEBUG, at whatever
#: moment it is first imported), so their records are held back at the handler instead.
QUIET_LIBRARIES = {"bm25s": logging.WARNING}


def redact_text(
    text: str, secrets: Iterable[str] = (), shapes: Iterable[re.Pattern[str]] = ()
) -> str:
    """`text` with every known secret and every secret-shaped string (built-in or given)
    replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    for shape in [*_SHAPES, *shapes]:
        text = shape.sub(REDACTED, text)
    text = without_url_credentials(text)
    return _LABELLED.sub(lambda m: m.group(1) + REDACTED, text)


def _secret_values(settings: Settings | None, extra: Iterable[str] = ()) -> list[str]:
    values = [os.environ.get(name, "") for name in SECRET_VARIABLES] + list(extra)
    if settings is not None and settings.llm.api_key is not None:
        values.append(settings.llm.api_key.get_secret_value())
    # Too short a value would blank out ordinary words; those are left to the shape rules.
    cleaned = {v.strip() for v in values if len(v.strip()) >= 6}
    return sorted(cleaned, key=len, reverse=True)


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a call passed with `extra=`: every attribute a plain LogRecord lacks."""
    # logging keeps `extra=` values as plain attributes of the record (Logger.makeRecord).
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRIBUTES}


def _field_text(value: Any) -> str:
    """One field value for a text line: bare when it is one plain word, else as JSON."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str) and value and not re.search(r"[\s\"'=\\]", value):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


class FieldsFormatter(logging.Formatter):
    """The text format, with the record's `extra=` fields as key=value after the message."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        fields = extra_fields(record)
        if not fields:
            return line
        return line + " " + " ".join(f"{k}={_field_text(v)}" for k, v in fields.items())


def json_formatter() -> logging.Formatter:
    """One JSON object per line: time, level, logger, message, the `extra=` fields, and the
    (already scrubbed) traceback as `exc_info`."""
    return JsonFormatter(
        "%(levelname)s %(name)s %(message)s",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",
        json_ensure_ascii=False,
    )


def make_formatter(log_format: LogFormat) -> logging.Formatter:
    """The formatter for `log_format`."""
    return json_formatter() if log_format == "json" else FieldsFormatter(LOG_FORMAT)


def _chosen_format(settings: Settings | None, log_format: LogFormat | None) -> LogFormat:
    if log_format is not None:
        return log_format
    if settings is not None:
        return settings.log_format
    # Before settings load, a bad value falls back to text; loading the settings then names it.
    raw = os.environ.get(LOG_FORMAT_VARIABLE, "").strip().lower()
    return "json" if raw == "json" else "text"


class QuietLibrariesFilter(logging.Filter):
    """Drops records of a QUIET_LIBRARIES logger (or its children) below that library's level."""

    def filter(self, record: logging.LogRecord) -> bool:
        library = record.name.split(".", 1)[0]
        return record.levelno >= QUIET_LIBRARIES.get(library, logging.NOTSET)


class RedactingFilter(logging.Filter):
    """Scrubs secrets from a record in place; put it on handlers so it sees every record."""

    def __init__(self, secrets: Iterable[str] = (), shapes: Iterable[re.Pattern[str]] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]
        self.shapes = list(shapes)

    def redact(self, text: str) -> str:
        """`text` without secrets."""
        return redact_text(text, self.secrets, self.shapes)

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
        for key, value in extra_fields(record).items():
            setattr(record, key, self._value(value))
        return True


def install_redaction(
    secrets: Iterable[str] = (), shapes: Iterable[re.Pattern[str]] = ()
) -> RedactingFilter:
    """Put one RedactingFilter on every handler that exists now (replacing an older one)."""
    redacting = RedactingFilter(secrets, shapes)
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
    log_format: LogFormat | None = None,
    secrets: Iterable[str] = (),
    shapes: Iterable[re.Pattern[str]] = (),
) -> RedactingFilter:
    """Log to stderr at `level` (default: settings.log_level, else WARNING), secrets redacted.

    The format is `log_format`, else settings.log_format, else CURATOR_LOG_FORMAT (text or
    json). `secrets` and `shapes` add what the front end knows to the built-in redaction.
    Safe to call more than once: the handler is added once and its formatter and filter
    replaced, so the bot can call it again with its settings after the CLI configured logging.
    """
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "curator_handler", False)]
    if not ours:
        handler: logging.StreamHandler[IO[str]] = logging.StreamHandler(stream or sys.stderr)
        handler.curator_handler = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    else:
        handler = ours[0]  # type: ignore[assignment]
        if stream is not None:
            handler.setStream(stream)
    handler.setFormatter(make_formatter(_chosen_format(settings, log_format)))
    if not any(isinstance(f, QuietLibrariesFilter) for f in handler.filters):
        handler.addFilter(QuietLibrariesFilter())
    chosen = level if level is not None else (settings.log_level if settings else "WARNING")
    root.setLevel(chosen)
    # Library warnings (warnings.warn) go through logging too, and so through the filter.
    logging.captureWarnings(True)
    return install_redaction(_secret_values(settings, secrets), shapes)
