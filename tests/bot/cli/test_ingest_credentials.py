"""`curator ingest` of a feed configured with user:password@ that fails: the output names the
feed with its password hidden, as text and as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.app import app
from knowledge.settings import get_settings
from tests.support.feed_server import FeedServer, running_feed_server

PASSWORD = "hunter2secret"


@pytest.fixture
def feed_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A feed on 127.0.0.1 that answers 503, named with credentials."""
    monkeypatch.setenv("CURATOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CURATOR_EMBEDDINGS__PROVIDER", "hash")
    monkeypatch.setenv("CURATOR_KNOWLEDGE__ALLOW_PRIVATE_URLS", "true")
    monkeypatch.setenv("CURATOR_LOG_LEVEL", "DEBUG")
    get_settings.cache_clear()
    server: FeedServer
    with running_feed_server() as server:
        server.put("/feed.xml", b"<rss/>").status = 503
        yield server.url("/feed.xml").replace("http://", f"http://bob:{PASSWORD}@")
    get_settings.cache_clear()


@pytest.mark.parametrize("as_json", [False, True])
def test_a_failing_feed_is_named_without_its_password(feed_url: str, as_json: bool) -> None:
    result = CliRunner().invoke(app, ["ingest", feed_url, *(["--json"] if as_json else [])])
    assert result.exit_code == 1, result.output
    assert PASSWORD not in result.output
    shown = feed_url.replace(f"bob:{PASSWORD}@", "***@")
    if as_json:
        failed = json.loads(result.stdout)["failed"]
        assert failed == [{"path": shown, "reason": "HTTP 503 Service Unavailable"}]
    else:
        assert f"{shown}: HTTP 503" in result.stdout
