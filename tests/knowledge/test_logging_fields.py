"""Log lines carry their `extra=` fields, as key=value text or as JSON, secrets redacted in both."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from knowledge.logging_setup import REDACTED, configure_logging
from tests.support.settings import make_settings

API_KEY = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4"
LOCAL_KEY = "local-" + "gateway-key-42"  # no known shape: only known by value


def logged(tmp_path: Path, log_format: str, *, exception: bool = False) -> str:
    """What one 'answered' line looks like in `log_format`, with a secret in its fields."""
    settings = make_settings(tmp_path, log_format=log_format, llm={"api_key": LOCAL_KEY})
    out = io.StringIO()
    configure_logging(settings, level="INFO", stream=out)
    log = logging.getLogger("knowledge.answers.service")
    fields = {
        "mode": "llm",
        "citations": 3,
        "total_ms": 412.5,
        "question": "why is the sky blue?",
        "grounded": True,
        "headers": {"Authorization": f"Bearer {API_KEY}"},
        "keys": [LOCAL_KEY],
    }
    if exception:
        try:
            raise RuntimeError(f"endpoint refused key {API_KEY}")
        except RuntimeError:
            log.exception("answer failed", extra=fields)
    else:
        log.info("answered", extra=fields)
    return out.getvalue()


def test_text_lines_show_the_fields_after_the_message(tmp_path: Path) -> None:
    line = logged(tmp_path, "text")
    assert line.count("\n") == 1
    assert "INFO knowledge.answers.service: answered mode=llm citations=3 total_ms=412.5" in line
    assert 'question="why is the sky blue?" grounded=true' in line
    assert f'headers={{"Authorization": "Bearer {REDACTED}"}}' in line
    assert f'keys=["{REDACTED}"]' in line


def test_json_lines_carry_the_same_fields(tmp_path: Path) -> None:
    written = logged(tmp_path, "json")
    assert written.count("\n") == 1
    record = json.loads(written)
    assert record["message"] == "answered"
    assert record["level"] == "INFO" and record["logger"] == "knowledge.answers.service"
    assert "time" in record
    assert record["mode"] == "llm" and record["citations"] == 3 and record["total_ms"] == 412.5
    assert record["grounded"] is True and record["question"] == "why is the sky blue?"
    assert record["headers"] == {"Authorization": f"Bearer {REDACTED}"}
    assert record["keys"] == [REDACTED]


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_secrets_never_reach_either_format_even_in_a_traceback(
    tmp_path: Path, log_format: str
) -> None:
    written = logged(tmp_path, log_format, exception=True)
    for secret in (API_KEY, LOCAL_KEY):
        assert secret not in written and secret[6:18] not in written
    assert "RuntimeError" in written and "mode" in written
    if log_format == "json":
        record = json.loads(written)
        assert "Traceback" in record["exc_info"] and REDACTED in record["exc_info"]


def test_the_format_can_come_from_the_environment_before_settings_load(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CURATOR_LOG_FORMAT", "json")
    out = io.StringIO()
    configure_logging(level="INFO", stream=out)
    logging.getLogger("bot").info("starting", extra={"commands": 6})
    assert json.loads(out.getvalue())["commands"] == 6
    # Called again with settings (as `curator run` does), the settings decide.
    configure_logging(make_settings(Path("data"), log_format="text"), level="INFO", stream=out)
    logging.getLogger("bot").info("ready", extra={"guilds": 2})
    assert out.getvalue().splitlines()[-1].endswith("bot: ready guilds=2")


def test_a_line_without_fields_is_unchanged(tmp_path: Path) -> None:
    out = io.StringIO()
    configure_logging(make_settings(tmp_path), level="INFO", stream=out)
    logging.getLogger("x").info("plain %s", "message")
    assert out.getvalue().rstrip().endswith("INFO x: plain message")


def test_bm25s_debug_lines_stay_off_whenever_bm25s_is_imported(tmp_path: Path) -> None:
    """bm25s sets its logger to DEBUG when first imported, which may be after logging is
    configured: its chatter is held back at our handler, its warnings still show."""
    out = io.StringIO()
    configure_logging(make_settings(tmp_path), level="INFO", stream=out)
    library = logging.getLogger("bm25s")
    level = library.level
    library.setLevel(logging.DEBUG)  # what `import bm25s` does
    try:
        library.debug("building the index")
        logging.getLogger("bm25s.tokenization").info("tokenizing 10 texts")
        library.warning("corpus is empty")
        logging.getLogger("knowledge.store.lexical_index").info("our own line")
    finally:
        library.setLevel(level)
    written = out.getvalue()
    assert "building the index" not in written and "tokenizing" not in written
    assert "corpus is empty" in written and "our own line" in written
