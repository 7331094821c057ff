"""The vector store is checked against the catalog on every reindex and repaired from the
stored text: a deleted store, a store recreated empty and an older backup restored beside a
newer catalog all end exactly equal to the catalog after one reindex."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from knowledge.index import KnowledgeIndex
from knowledge.settings import Settings
from knowledge.store.vector_store import text_hash
from tests.faults.conftest import generated_cards
from tests.support.cards import write_card
from tests.support.chroma_server import ChromaServer
from tests.support.settings import make_settings

CARDS = 40


def cards_settings(root: Path, **chroma: object) -> Settings:
    """make_settings indexing root/cards into root/data, with these Chroma settings."""
    return make_settings(root / "data", knowledge={"sources": [str(root / "cards")]}, chroma=chroma)


def assert_store_matches_catalog(index: KnowledgeIndex) -> None:
    """Same ids, and every vector built from the text the catalog holds for its chunk."""
    expected = {c.id: text_hash(c) for c in index.catalog.iter_chunks()}
    held = {i: m["h"] for i, m in index.vectors.metadatas().items()}
    assert held == expected
    assert index.stats()["vectors_match"]


def edit_corpus(cards: Path) -> None:
    """Edit five cards, delete three, add two."""
    for i in range(5):
        write_card(
            cards,
            f"note-{i:04d}",
            title=f"Note {i}: rewritten",
            topics=("edited",),
            summary=f"Card {i} now covers obsidian lanterns.",
            body=f"Rewritten note {i} about obsidian lanterns.",
        )
    for i in range(5, 8):
        (cards / f"note-{i:04d}.md").unlink()
    for i in range(100, 102):
        write_card(cards, f"note-{i:04d}", title=f"New note {i}", summary=f"Fresh card {i}.")


def test_a_deleted_store_is_rebuilt_by_one_reindex(tmp_path: Path) -> None:
    generated_cards(tmp_path / "cards", CARDS)
    settings = cards_settings(tmp_path)
    index = KnowledgeIndex(settings)
    index.reindex()
    chunks = index.stats()["chunks"]
    index.close()
    shutil.rmtree(settings.data_dir / "chroma")

    index = KnowledgeIndex(settings)
    assert index.stats()["vectors"] == 0 and not index.stats()["vectors_match"]
    report = index.reindex()
    assert report.repaired == chunks and report.unchanged == CARDS
    assert_store_matches_catalog(index)
    assert index.search("saffron measurement", k=3, mode="dense")
    # Once repaired, the next reindex trusts the store after its cheap check.
    assert index.reindex().repaired == 0
    index.close()


def test_an_older_backup_restored_beside_a_newer_catalog_is_repaired(tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    generated_cards(cards, CARDS)
    settings = cards_settings(tmp_path)
    chroma = settings.data_dir / "chroma"
    index = KnowledgeIndex(settings)
    index.reindex()
    index.close()
    shutil.copytree(chroma, tmp_path / "backup")

    edit_corpus(cards)
    index = KnowledgeIndex(settings)
    index.reindex()
    index.close()
    shutil.rmtree(chroma)
    shutil.copytree(tmp_path / "backup", chroma)

    index = KnowledgeIndex(settings)
    report = index.reindex()
    # 5 edited cards hold stale vectors, 2 new ones are missing, 3 deleted ones are extra.
    assert report.repaired >= 10 and report.unchanged == CARDS - 1
    assert_store_matches_catalog(index)
    # The edited card's old text no longer finds it first.
    top = index.search("Card 0 summarises amber, amber and dahlia.", k=1, mode="dense")
    assert top and not top[0].chunk.url.endswith("/note-0000")
    index.close()


def test_reindex_rebuild_re_embeds_every_chunk_from_stored_text(tmp_path: Path) -> None:
    generated_cards(tmp_path / "cards", 10)
    settings = cards_settings(tmp_path)
    index = KnowledgeIndex(settings)
    index.reindex()
    chunks = index.stats()["chunks"]
    shutil.rmtree(tmp_path / "cards")
    report = index.rebuild()
    assert report.repaired == chunks
    assert_store_matches_catalog(index)
    index.close()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[ChromaServer]:
    """A Chroma server of this test alone, so its volume can be swapped under it."""
    server = ChromaServer(tmp_path / "volume")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.server
def test_a_server_restarted_on_an_empty_or_older_volume_is_repaired(
    tmp_path: Path, own_server: ChromaServer
) -> None:
    cards = tmp_path / "cards"
    generated_cards(cards, CARDS)
    settings = cards_settings(tmp_path, host=own_server.host, port=own_server.port)
    index = KnowledgeIndex(settings)
    index.reindex()
    own_server.stop()
    shutil.copytree(own_server.path, tmp_path / "backup")
    own_server.start()
    edit_corpus(cards)
    index.reindex()

    # An empty volume.
    own_server.stop()
    shutil.move(own_server.path, tmp_path / "newest")
    own_server.start()
    report = index.reindex()
    assert report.repaired == index.stats()["chunks"]
    assert_store_matches_catalog(index)

    # The older backup.
    own_server.stop()
    shutil.rmtree(own_server.path)
    shutil.copytree(tmp_path / "backup", own_server.path)
    own_server.start()
    report = index.reindex()
    assert report.repaired >= 10
    assert_store_matches_catalog(index)
    index.close()
