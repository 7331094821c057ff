from __future__ import annotations

import sqlite3

from knowledge.index import KnowledgeIndex
from knowledge.models import Chunk
from knowledge.settings import Settings


def test_a_catalog_from_before_the_covering_index_is_upgraded_and_searchable(
    settings: Settings,
) -> None:
    index = KnowledgeIndex(settings)
    index.reindex()
    question = "What does LoRA train instead of the full weights?"
    before = [hit.chunk.id for hit in index.search(question)]
    assert before
    path = index.catalog.path
    index.close()
    # A data dir written by an earlier Curator has no chunks_article_of index.
    with sqlite3.connect(path) as conn:
        conn.execute("DROP INDEX chunks_article_of")

    reopened = KnowledgeIndex(settings)
    try:
        assert [hit.chunk.id for hit in reopened.search(question)] == before
        with sqlite3.connect(path) as conn:
            names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        assert "chunks_article_of" in names
    finally:
        reopened.close()


def test_candidates_not_in_the_catalog_are_left_out(settings: Settings) -> None:
    index = KnowledgeIndex(settings)
    try:
        index.reindex()
        known = index.search("attention")[0].chunk
        found = index.catalog.articles_of([known.id, "no-such-chunk", ""])
        assert found == {known.id: known.article_id}
        assert index.catalog.chunks_by_id([known.id, "no-such-chunk"]) == {known.id: known}
        raw = index.catalog.chunk_json(["no-such-chunk", known.id])
        assert list(raw) == [known.id] and Chunk.model_validate_json(raw[known.id]) == known
    finally:
        index.close()
