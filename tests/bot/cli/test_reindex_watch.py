"""`curator reindex --watch`: the bot's scheduled refresh, from the terminal."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

import bot.cli.index_commands as index_commands
import knowledge
from bot.cli.app import app
from knowledge.settings import get_settings
from tests.support.cards import zebra_env
from tests.support.feed_server import Entry, FeedServer, rss, running_feed_server

runner = CliRunner()
FEED = "/feed.xml"


def entry(n: int) -> Entry:
    return Entry(
        title=f"Terminal note {n}",
        link=f"https://journal.example/terminal/{n}",
        text=f"Terminal note {n} covers index upkeep number {n}.",
    )


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with running_feed_server() as running:
        running.put(FEED, rss([entry(1), entry(2)]))
        yield running


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: FeedServer) -> Iterator[Path]:
    cards = zebra_env(monkeypatch, tmp_path)
    monkeypatch.setenv("CURATOR_KNOWLEDGE__SOURCES", f"{cards},{server.url(FEED)}")
    monkeypatch.setenv("CURATOR_KNOWLEDGE__ALLOW_PRIVATE_URLS", "true")
    monkeypatch.setenv("CURATOR_KNOWLEDGE__REFRESH_MINUTES", "1")
    get_settings.cache_clear()
    yield cards
    get_settings.cache_clear()


def test_watch_refreshes_until_interrupted(
    env: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    sleeps: list[float] = []
    clock = [datetime(2026, 3, 2, 6, 0, tzinfo=UTC)]

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock[0] += timedelta(seconds=seconds)
        if len(sleeps) == 1:
            server.put(FEED, rss([entry(1), entry(2), entry(3)]))
        elif len(sleeps) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(index_commands, "_sleep", sleep)
    monkeypatch.setattr(index_commands, "_now", lambda: clock[0])
    result = runner.invoke(app, ["reindex", "--watch", "--json"])
    assert result.exit_code == 0, result.output
    runs = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(runs) == 3
    assert runs[0]["added"] == 5 and runs[0]["failed"] == [] and runs[0]["skipped"] == []
    assert all(run["run_skipped"] is None for run in runs)
    assert runs[1]["added"] == 1 and runs[1]["not_modified"] == []
    # The third run: the feed answers 304, the cards are unchanged, nothing is re-embedded.
    assert runs[2]["added"] == runs[2]["updated"] == runs[2]["removed"] == 0
    assert runs[2]["not_modified"] == [server.url(FEED)] and runs[2]["unchanged"] == 6
    assert sleeps == [60, 60, 60], "one refresh a minute, as configured"


def test_watch_shows_failures_in_plain_text(
    env: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    server.documents[FEED].status = 503

    def stop(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(index_commands, "_sleep", stop)
    with caplog.at_level(logging.INFO):
        result = runner.invoke(app, ["reindex", "--watch"])
    assert result.exit_code == 0, result.output
    shown = result.stdout
    # The feed never held articles: nothing is said to be kept.
    assert "3 added" in shown and "1 failed, in" in shown and "kept" not in shown
    assert shown.count(server.url(FEED)) == 1 and f"{server.url(FEED)}: HTTP 503" in shown
    assert not [r for r in caplog.records if r.name == "knowledge.refresh"], "no log dump"


def test_watch_says_a_failed_sources_articles_are_kept(
    env: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [datetime(2026, 3, 2, 6, 0, tzinfo=UTC)]

    def sleep(seconds: float) -> None:
        if server.documents[FEED].status == 503:
            raise KeyboardInterrupt
        clock[0] += timedelta(seconds=seconds)
        server.documents[FEED].status = 503  # the feed, read once, now fails

    monkeypatch.setattr(index_commands, "_sleep", sleep)
    monkeypatch.setattr(index_commands, "_now", lambda: clock[0])
    result = runner.invoke(app, ["reindex", "--watch"])
    assert result.exit_code == 0, result.output
    second = result.stdout.splitlines()[-2:]
    assert "1 failed (their " in second[0] and "article(s) are kept)" in second[0], second
    assert "HTTP 503" in second[1]


def test_watch_refuses_when_refresh_is_off(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURATOR_KNOWLEDGE__REFRESH_MINUTES", "0")
    get_settings.cache_clear()
    for args in (["reindex", "--watch"], ["reindex", "--watch", "--json"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and result.stdout == ""
        # One message, naming only what is missing: the sources are set.
        assert result.stderr.count("\n") == 1, result.stderr
        assert "Scheduled refresh is off" in result.stderr
        assert "CURATOR_KNOWLEDGE__REFRESH_MINUTES" in result.stderr
        assert "CURATOR_KNOWLEDGE__SOURCES" not in result.stderr
        assert "Refresh is off." not in result.stderr


def test_watch_without_sources_names_only_the_sources(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CURATOR_KNOWLEDGE__SOURCES", "")
    get_settings.cache_clear()
    result = runner.invoke(app, ["reindex", "--watch"])
    assert result.exit_code == 2
    assert "set CURATOR_KNOWLEDGE__SOURCES" in result.stderr
    assert "REFRESH_MINUTES" not in result.stderr


def test_watch_and_dry_run_do_not_mix(env: Path) -> None:
    result = runner.invoke(app, ["reindex", "--watch", "--dry-run"])
    assert result.exit_code == 2
    assert "--dry-run" in result.output


def test_watch_json_reports_warnings_and_pairings_as_reindex_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = Path(knowledge.__file__).parent / "sample"
    monkeypatch.setenv("CURATOR_EMBEDDINGS__PROVIDER", "hash")
    monkeypatch.setenv("CURATOR_KNOWLEDGE__SOURCES", str(sample))
    monkeypatch.setenv("CURATOR_KNOWLEDGE__REFRESH_MINUTES", "1")

    def stop(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(index_commands, "_sleep", stop)
    reports = []
    for data, args in (("watched", ["--watch", "--json"]), ("reindexed", ["--json"])):
        monkeypatch.setenv("CURATOR_DATA_DIR", str(tmp_path / data))
        get_settings.cache_clear()
        result = runner.invoke(app, ["reindex", *args])
        assert result.exit_code == 0, result.output
        reports.append(
            json.loads(result.stdout.splitlines()[0] if "--watch" in args else result.stdout)
        )
    get_settings.cache_clear()
    watched, reindexed = reports
    # The sample's card export without a URL, paired with its original article.
    assert watched["paired"] and watched["warnings"]
    for key in ("added", "failed", "skipped", "warnings", "paired"):
        assert watched[key] == reindexed[key], key
