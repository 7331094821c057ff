from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

from knowledge.models import Chunk, SearchFilters
from knowledge.store.lexical_index import LexicalIndex, tokenize


def chunk(rid: str, text: str, topics: list[str], publisher: str, curated: int) -> Chunk:
    return Chunk(
        id=rid,
        article_id=rid.split("-")[0],
        kind="chunk",
        position=0,
        text=text,
        title=f"Title {rid}",
        url=f"https://e.org/{rid}",
        publisher=publisher,
        topics=topics,
        curated=curated,
    )


CHUNKS = [
    chunk("a-0", "Running shoes for marathon runners", ["sport"], "Runner's World", 20261101),
    chunk("b-0", "The runner ran a marathon in Berlin", ["sport", "travel"], "Blog", 20261120),
    chunk("c-0", "Baking bread with sourdough starters", ["food"], "Blog", 20261122),
]


def test_tokenize_stems_and_drops_stop_words() -> None:
    assert tokenize("The runners and the running of marathons!") == ["runner", "run", "marathon"]


def test_tokenize_is_safe_across_threads() -> None:
    texts = [f"Connected connections connecting networks number {i}" for i in range(400)]
    expected = [tokenize(t) for t in texts]
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(tokenize, texts)) == expected


def test_search_ranks_and_filters(tmp_path: Path) -> None:
    index = LexicalIndex(tmp_path / "bm25")
    assert index.search("marathon", 5) == [] and index.ids() == []  # nothing built yet
    index.rebuild(CHUNKS)
    assert [m.id for m in index.search("marathon runners", 5)][:2] in (
        ["a-0", "b-0"],
        ["b-0", "a-0"],
    )
    assert index.search("zeppelin", 5) == []
    by_topic = index.search("marathon", 5, SearchFilters(topic="Travel"))
    assert [m.id for m in by_topic] == ["b-0"]
    by_source = index.search("marathon bread", 5, SearchFilters(publisher="blog"))
    assert {m.id for m in by_source} == {"b-0", "c-0"}
    recent = index.search("marathon bread", 5, SearchFilters(since=date(2026, 11, 21)))
    assert [m.id for m in recent] == ["c-0"]


def test_a_rebuild_by_another_process_is_picked_up(tmp_path: Path) -> None:
    reader = LexicalIndex(tmp_path / "bm25")
    writer = LexicalIndex(tmp_path / "bm25")
    writer.rebuild(CHUNKS[:1])
    assert [m.id for m in reader.search("marathon", 5)] == ["a-0"]
    assert reader.ids() == ["a-0"]
    writer.rebuild(CHUNKS)
    assert len(reader) == 3 and reader.ids() == [c.id for c in CHUNKS]
    assert {m.id for m in reader.search("marathon", 5)} == {"a-0", "b-0"}
    assert not (tmp_path / "bm25.tmp").exists() and not (tmp_path / "bm25.old").exists()
