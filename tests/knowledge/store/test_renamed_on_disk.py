"""An index written before "source" became "publisher" and "records" became "chunks" keeps
answering, and is brought to the new names in place: nothing is re-read or re-embedded."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from knowledge.index import KnowledgeIndex, SearchMode
from knowledge.models import Article, SearchFilters
from knowledge.settings import Settings
from knowledge.store.builds import BuildRegistry, catalog_counts
from knowledge.store.filter_keys import FILTER_SCHEMA
from tests.knowledge.test_index import CountingEmbedder
from tests.support.cards import zebra_corpus
from tests.support.chroma_server import ChromaServer
from tests.support.settings import make_settings

QUERY = "stripes valleys bread"
MODES: tuple[SearchMode, ...] = ("dense", "bm25", "hybrid")


def cards_settings(root: Path, **chroma: object) -> Settings:
    """make_settings indexing root/cards into root/data, with these Chroma settings."""
    return make_settings(root / "data", knowledge={"sources": [str(root / "cards")]}, chroma=chroma)


def _renamed_key(blob: str, new: str, old: str) -> str:
    data = json.loads(blob)
    data[old] = data.pop(new)
    return json.dumps(data)


def make_pre_rename(index: KnowledgeIndex) -> None:
    """Turn a freshly built index into what the release before the renames wrote: the catalog
    column and the stored JSON say "source", its chunks sit in a `records` table with
    `records_*` indexes, the vectors carry `source`/`source_key` under filter schema 2, and
    the BM25 arrays are named "sources"."""
    vectors = index.vectors
    chroma = vectors.collection()
    got = chroma.get(include=["metadatas"])
    chroma.update(
        ids=got["ids"],
        metadatas=[
            {
                "source": m["publisher"],
                "source_key": m["publisher_key"],
                "publisher": None,
                "publisher_key": None,
            }
            for m in got["metadatas"]
        ],
    )
    epoch = index.catalog.get_meta("store_epoch")
    assert epoch
    vectors.set_marks(epoch, 2)
    catalog_path = index.catalog.path
    folder = index.lexical.folder
    index.close()

    with contextlib.closing(sqlite3.connect(catalog_path)) as db, db:
        db.execute("ALTER TABLE articles RENAME COLUMN publisher TO source")
        db.execute("ALTER TABLE chunks RENAME TO records")
        db.execute("DROP INDEX chunks_article")
        db.execute("DROP INDEX chunks_article_of")
        db.execute("CREATE INDEX records_article ON records(article_id)")
        db.execute("CREATE INDEX records_article_of ON records(id, article_id)")
        for table, column in (("articles", "card"), ("records", "chunk")):
            rows = db.execute(f"SELECT id, {column} FROM {table}").fetchall()
            db.executemany(
                f"UPDATE {table} SET {column} = ? WHERE id = ?",
                [(_renamed_key(blob, "publisher", "source"), rid) for rid, blob in rows],
            )
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    meta["sources"] = meta.pop("publishers")
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    (folder / "publishers.npy").rename(folder / "sources.npy")


def titles(index: KnowledgeIndex, mode: SearchMode, publisher: str) -> set[str]:
    filters = SearchFilters(publisher=publisher)
    return {h.chunk.title for h in index.search(QUERY, k=10, filters=filters, mode=mode)}


def stored_keys(index: KnowledgeIndex) -> set[str]:
    metadatas = index.vectors.metadatas().values()
    return {key for m in metadatas for key in m if "source" in key or "publisher" in key}


def built_before_rename(settings: Settings) -> Settings:
    index = KnowledgeIndex(settings)
    assert index.reindex().added == 3
    make_pre_rename(index)
    return settings


@pytest.fixture
def pre_rename(tmp_path: Path) -> Settings:
    zebra_corpus(tmp_path / "cards")
    return built_before_rename(cards_settings(tmp_path))


SAVANNA = {"Why zebras have stripes", "How glaciers carve valleys"}


@pytest.mark.parametrize("mode", MODES)
def test_a_pre_rename_index_answers_publisher_filters_before_and_after_reindex(
    pre_rename: Settings, mode: SearchMode
) -> None:
    counting = CountingEmbedder(dim=384)
    index = KnowledgeIndex(pre_rename, embedder=counting)
    try:
        # Before any reindex: the old vectors, catalog and BM25 arrays still filter.
        assert stored_keys(index) == {"source", "source_key"}
        assert titles(index, mode, "savanna review") == SAVANNA
        assert titles(index, mode, "Kitchen Notes") == {"Baking sourdough bread"}
        assert index.catalog.publishers() == ["Kitchen Notes", "Savanna Review"]
        article = index.catalog.list_articles(topic="cooking")[0]
        assert article.publisher == "Kitchen Notes"
        texts_before = counting.texts

        report = index.reindex()
        assert (report.unchanged, report.updated, report.added, report.repaired) == (3, 0, 0, 0)
        assert counting.texts == texts_before  # nothing re-embedded
        assert stored_keys(index) == {"publisher", "publisher_key"}
        assert index.vectors.marks()[1] == FILTER_SCHEMA
        assert titles(index, mode, "savanna review") == SAVANNA
        hits = index.search(QUERY, k=10, filters=SearchFilters(publisher="Kitchen Notes"))
        assert {h.chunk.publisher for h in hits} == {"Kitchen Notes"}
        assert index.stats()["vectors_match"]
    finally:
        index.close()


def test_the_catalog_is_renamed_in_place_when_opened(pre_rename: Settings) -> None:
    registry = BuildRegistry(pre_rename.data_dir, pre_rename.chroma.collection_prefix)
    record = registry.read()
    assert record is not None
    path = registry.folder(record.collection) / "catalog.sqlite3"
    # Read-only, as for another build not opened yet: the old table is counted.
    assert catalog_counts(path) == (3, 6)
    index = KnowledgeIndex(pre_rename)
    assert (index.catalog.article_count(), index.catalog.chunk_count()) == (3, 6)
    index.close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(articles)")}
        publishers = {row[0] for row in db.execute("SELECT publisher FROM articles")}
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert "publisher" in columns and "source" not in columns
    assert publishers == {"Savanna Review", "Kitchen Notes"}
    assert {"chunks", "chunks_article", "chunks_article_of"} <= names
    assert not {n for n in names if n.startswith("records")}
    assert catalog_counts(path) == (3, 6)


def test_a_relabel_done_by_another_process_is_followed(pre_rename: Settings) -> None:
    serving = KnowledgeIndex(pre_rename)  # stands for the bot, its handle opened on schema 2
    assert titles(serving, "dense", "Kitchen Notes") == {"Baking sourdough bread"}
    reindexing = KnowledgeIndex(pre_rename)
    reindexing.reindex()
    assert stored_keys(reindexing) == {"publisher", "publisher_key"}
    reindexing.close()
    assert titles(serving, "dense", "Kitchen Notes") == {"Baking sourdough bread"}
    serving.close()


def test_an_article_keeps_the_content_hash_it_had_before_the_rename() -> None:
    # Computed by the release before the rename (field `source`): an unchanged card must keep
    # its hash, or every article of an existing index would be re-chunked and re-embedded.
    article = Article(
        title="Why zebras have stripes",
        url="https://example.org/zebras",
        publisher="Savanna Review",
        curated=datetime(2026, 11, 20, 8, tzinfo=UTC),
        topics=["biology"],
        body="Stripes deter flies.",
    )
    assert article.content_hash() == (
        "edb2d7d5808461ea4fa469d543fc943fcac1b99ac2f03ce9d5fae0ad5b7796d2"
    )


@pytest.mark.server
def test_a_pre_rename_collection_on_a_server_is_relabelled(
    tmp_path: Path, chroma_server: ChromaServer
) -> None:
    zebra_corpus(tmp_path / "cards")
    prefix = f"renamed-{tmp_path.name[-12:]}".replace("_", "-")
    settings = built_before_rename(
        cards_settings(
            tmp_path, host=chroma_server.host, port=chroma_server.port, collection_prefix=prefix
        )
    )
    counting = CountingEmbedder(dim=384)
    index = KnowledgeIndex(settings, embedder=counting)
    try:
        assert titles(index, "dense", "Kitchen Notes") == {"Baking sourdough bread"}
        queries_embedded = counting.texts
        assert index.reindex().repaired == 0 and counting.texts == queries_embedded
        # Over HTTP too, the old keys are removed, not left beside the new ones.
        assert stored_keys(index) == {"publisher", "publisher_key"}
        assert titles(index, "dense", "savanna review") == SAVANNA
    finally:
        index.close()
