"""Cards curated on a calendar date (no time) land in digests by day, in every timezone."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import date, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from knowledge.digest.engine import DigestService
from knowledge.digest.window import daily_window, range_window
from knowledge.index import KnowledgeIndex
from knowledge.settings import DigestSettings
from tests.knowledge.digest.fakes import digest_settings, utc

ZONES = ("UTC", "America/Los_Angeles", "Asia/Tokyo")
DAY = date(2026, 11, 20)
DATED = {  # title -> date-only curated value
    "Dated the 19th": "2026-11-19",
    "Dated the 20th": "2026-11-20",
    "Also the 20th": "2026-11-20",
    "Dated the 21st": "2026-11-21",
}


def write_records(folder: Path) -> Path:
    path = folder / "cards.jsonl"
    lines = [
        json.dumps({"title": title, "url": f"https://d.example/{n}", "curated": day})
        for n, (title, day) in enumerate(DATED.items())
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One data dir with the dated cards indexed; each test opens it with its own timezone."""
    root = tmp_path_factory.mktemp("calendar-dates")
    index = KnowledgeIndex(digest_settings(root))
    report = index.ingest([str(write_records(root))])
    assert report.added == len(DATED) and not report.failed
    index.close()
    yield root


def _titles(indexed: Path, zone: str, **build: object) -> set[str]:
    index = KnowledgeIndex(digest_settings(indexed, timezone=zone))
    try:
        service = DigestService(index.settings, index, llm=None)
        digest = asyncio.run(service.build(**build))  # type: ignore[arg-type]
    finally:
        index.close()
    return {e.title for e in digest.entries()}


@pytest.mark.parametrize("zone", ZONES)
def test_a_one_day_range_lists_exactly_the_cards_dated_that_day(indexed: Path, zone: str) -> None:
    assert _titles(indexed, zone, since=DAY, until=DAY) == {"Dated the 20th", "Also the 20th"}


@pytest.mark.parametrize("zone", ZONES)
def test_a_range_lists_every_day_in_it_inclusive(indexed: Path, zone: str) -> None:
    found = _titles(indexed, zone, since=date(2026, 11, 19), until=DAY)
    assert found == {"Dated the 19th", "Dated the 20th", "Also the 20th"}


@pytest.mark.parametrize("zone", ZONES)
def test_the_daily_digest_of_a_day_lists_the_cards_dated_the_day_before(
    indexed: Path, zone: str
) -> None:
    assert _titles(indexed, zone, date=date(2026, 11, 21)) == {"Dated the 20th", "Also the 20th"}
    assert _titles(indexed, zone, date=date(2026, 11, 22)) == {"Dated the 21st"}


@pytest.mark.parametrize("zone", ZONES)
def test_each_dated_card_is_in_exactly_one_daily_digest(zone: str) -> None:
    settings = DigestSettings(time=time(9, 0), timezone=ZoneInfo(zone))
    for day in DATED.values():
        curated = utc(*map(int, day.split("-")))  # date-only values are stored as midnight UTC
        hits = [
            offset
            for offset in range(-3, 4)
            if daily_window(date(2026, 11, 20 + offset), settings).lists(curated, is_date=True)
        ]
        assert len(hits) == 1, (zone, day, hits)


def test_timed_cards_still_follow_the_local_clock() -> None:
    window = range_window(
        DAY, DAY, DigestSettings(time=time(9, 0), timezone=ZoneInfo("America/Los_Angeles"))
    )
    # 20 Nov 03:00 UTC is still 19 Nov in Los Angeles.
    assert not window.lists(utc(2026, 11, 20, 3, 0), is_date=False)
    assert window.lists(utc(2026, 11, 20, 9, 0), is_date=False)
