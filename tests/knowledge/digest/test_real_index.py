"""The digest over the real index, built from the sample cards with the hash embedder."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

import knowledge
from knowledge.digest.engine import DigestService
from knowledge.index import KnowledgeIndex
from tests.knowledge.digest.fakes import digest_settings, utc

SAMPLE_DIR = Path(knowledge.__file__).parent / "sample"


@pytest.fixture(scope="module")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnowledgeIndex]:
    settings = digest_settings(tmp_path_factory.mktemp("digest-real"))
    index = KnowledgeIndex(settings)
    report = index.ingest([str(SAMPLE_DIR)])
    assert report.added >= 2 and not report.failed, report
    yield index
    index.close()


async def test_daily_digest_lists_exactly_the_window_of_the_sample_cards(
    sample_index: KnowledgeIndex,
) -> None:
    day = date(2026, 11, 23)
    start, end = utc(2026, 11, 22, 9, 0), utc(2026, 11, 23, 9, 0)
    everything = sample_index.list_articles()
    expected = {a.title for a in everything if a.curated and start <= a.curated < end}
    assert expected, "the sample cards should have articles curated on 22-23 Nov 2026"
    # The same calendar days hold cards outside the window, so the bounds are really tested.
    near = {
        a.title
        for a in everything
        if a.curated and start - timedelta(hours=12) <= a.curated < end + timedelta(hours=12)
    }
    assert near - expected

    digest = await DigestService(sample_index.settings, sample_index).build(date=day)
    assert {e.title for e in digest.entries()} == expected
    assert digest.article_count == len(expected)
    for section in digest.sections:
        for entry in section.articles:
            article = next(a for a in everything if a.url == entry.url)
            assert section.topic.casefold() == article.topics[0].casefold()
            assert entry.takeaway and entry.url.startswith("http")


async def test_a_day_without_cards_is_empty(sample_index: KnowledgeIndex) -> None:
    digest = await DigestService(sample_index.settings, sample_index).build(date=date(2026, 1, 1))
    assert digest.empty and digest.intro.startswith("Nothing new today")


async def test_range_covers_the_whole_sample(sample_index: KnowledgeIndex) -> None:
    everything = sample_index.list_articles()
    days = sorted(a.curated.date() for a in everything if a.curated)
    digest = await DigestService(sample_index.settings, sample_index).build(
        since=days[0], until=days[-1]
    )
    assert digest.article_count == len(everything)
