"""Latest, recommend and one card, over a real catalog holding the sample cards."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

import knowledge
from knowledge.curation import (
    CardCache,
    depth_choices,
    find_article,
    latest,
    recommend,
    role_choices,
    title_choices,
    topic_of,
)
from knowledge.errors import InputError
from knowledge.loaders import load_sources
from knowledge.models import Article
from knowledge.settings import KnowledgeSettings
from knowledge.store.catalog import Catalog

SAMPLE = Path(knowledge.__file__).parent / "sample"
# The day after the newest sample card was curated (2026-11-23).
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catalog]:
    loaded = load_sources([str(SAMPLE)], KnowledgeSettings())
    assert len(loaded.articles) == 15 and not loaded.failures
    catalog = Catalog(tmp_path_factory.mktemp("curation") / "catalog.sqlite3")
    for article in loaded.articles:
        catalog.commit_article(article, article.content_hash(), [], 0.0)
    yield catalog
    catalog.close()


def test_latest_is_newest_first(catalog: Catalog) -> None:
    titles = [a.title for a in latest(catalog, limit=3, now=NOW)]
    assert titles == [
        "Retrieval-Augmented Generation for Knowledge-Intensive NLP Tasks",
        "Patterns for Building LLM-based Systems & Products",
        "Building effective agents",
    ]


def test_latest_by_topic_and_days(catalog: Catalog) -> None:
    recent_agents = latest(catalog, topic="Agents", days=3, now=NOW)
    assert {a.title for a in recent_agents} == {
        "Building effective agents",
        "LLM Powered Autonomous Agents",
        "ReAct: Synergizing Reasoning and Acting in Language Models",
    }
    assert latest(catalog, topic="agents", days=1, now=NOW) == []


def test_a_topic_typed_as_the_search_filter_reads_it_is_known(catalog: Catalog) -> None:
    # Full-width letters and doubled spaces: the filters' normalisation (NFKC, spaces) matches.
    assert topic_of(catalog, "  Ａgents ") == topic_of(catalog, "agents") == "agents"


@pytest.mark.parametrize(("days", "limit"), [(0, 5), (4000, 5), (7, 0), (7, 26)])
def test_latest_refuses_out_of_range_values(catalog: Catalog, days: int, limit: int) -> None:
    with pytest.raises(InputError):
        latest(catalog, days=days, limit=limit, now=NOW)


def test_recommend_matches_best_for_and_depth_ranked_by_topic_fit(catalog: Catalog) -> None:
    picks = recommend(catalog, role="engineers", depth="intermediate", topic="agents")
    titles = [p.article.title for p in picks]
    # Tagged with the topic first; every pick is intermediate and names engineers.
    assert titles[0] == "LLM Powered Autonomous Agents"
    assert all(p.article.depth == "intermediate" for p in picks)
    assert all("engineer" in p.best_for.casefold() for p in picks)
    assert [p.topic_fit for p in picks] == sorted((p.topic_fit for p in picks), reverse=True)
    assert "Building effective agents" not in titles  # an intro card


def test_recommend_with_a_best_for_line_from_autocomplete(catalog: Catalog) -> None:
    line = "engineers fine-tuning open models on modest hardware"
    assert line in role_choices(catalog, "fine-tuning")
    [first, *_] = recommend(catalog, role=line)
    assert first.article.title.startswith("LoRA") and first.role_fit == 1.0
    assert first.best_for == line


def test_recommend_unknown_depth_names_the_valid_ones(catalog: Catalog) -> None:
    with pytest.raises(InputError, match="intro, intermediate, deep"):
        recommend(catalog, depth="expert")
    assert recommend(catalog, role="pastry chefs") == []
    assert depth_choices(catalog, "") == ["intro", "intermediate", "deep"]


def test_find_article_by_title_prefix_or_substring(catalog: Catalog) -> None:
    assert find_article(catalog, "lora").title.startswith("LoRA")
    assert find_article(catalog, "compute-optimal").title.startswith("Training Compute-Optimal")
    with pytest.raises(InputError, match="Several articles match"):
        find_article(catalog, "agents")
    with pytest.raises(InputError, match="No article is titled"):
        find_article(catalog, "banana bread")
    assert title_choices(catalog, "atten") == ["Attention Is All You Need"]


class CountingIndex:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.reads = 0

    def list_articles(
        self, topic: str | None = None, since: datetime | None = None, until: datetime | None = None
    ) -> list[Article]:
        self.reads += 1
        return self.catalog.list_articles(topic=topic, since=since, until=until)


def test_card_cache_reads_the_catalog_once_per_ttl(catalog: Catalog) -> None:
    index = CountingIndex(catalog)
    now = [0.0]
    cards = CardCache(index, ttl=60, clock=lambda: now[0])

    for typed in ("l", "lo", "lor", "lora"):
        title_choices(cards, typed)
    assert index.reads == 1
    now[0] = 61
    assert title_choices(cards, "lora") == ["LoRA: Low-Rank Adaptation of Large Language Models"]
    assert index.reads == 2
    # Filtered reads are never cached.
    assert len(cards.list_articles(topic="agents")) == 3 and index.reads == 3
