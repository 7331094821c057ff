"""Changing embedders never empties the index: the old build answers until the new one holds
every article, re-embedded from the stored text (the sources are not read again)."""

from __future__ import annotations

import asyncio
import shutil
import threading
from pathlib import Path

import pytest

from knowledge.answers.service import AnswerService
from knowledge.index import KnowledgeIndex
from knowledge.index_writer import Indexer
from knowledge.settings import Settings
from knowledge.store.builds import BuildRegistry
from tests.faults.conftest import generated_cards
from tests.knowledge.embeddings.tiny_encoder import write_tiny_encoder
from tests.support.chroma_server import ChromaServer
from tests.support.settings import make_settings

CARDS = 60


def cards_settings(root: Path, provider: str, model_dir: Path | None = None) -> Settings:
    """make_settings indexing root/cards into root/data with this embedder."""
    embeddings: dict[str, object] = {"provider": provider}
    if model_dir is not None:
        embeddings["model_dir"] = str(model_dir)
    return make_settings(
        root / "data", embeddings=embeddings, knowledge={"sources": [str(root / "cards")]}
    )


@pytest.fixture
def hash_index_built(tmp_path: Path) -> Path:
    """A data dir indexed by the hash embedder (CARDS articles); returns the root."""
    generated_cards(tmp_path / "cards", CARDS)
    index = KnowledgeIndex(cards_settings(tmp_path, "hash"))
    assert index.reindex().added == CARDS
    index.close()
    return tmp_path


def test_questions_are_answered_throughout_a_switch_to_the_onnx_model(
    hash_index_built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = hash_index_built
    model = write_tiny_encoder(root / "model")
    index = KnowledgeIndex(cards_settings(root, "onnx", model))
    assert index.stats()["articles"] == CARDS  # not an empty new collection
    assert index.stats()["embedder"] == "hash-384"
    # The sources are gone: re-embedding must work from the stored text alone.
    shutil.rmtree(root / "cards")
    # Small batches, so the re-embed takes long enough for searches to run beside it.
    monkeypatch.setattr(Indexer, "batch_chunks", 4)

    stages: list[tuple[str, int, int]] = []
    errors: list[BaseException] = []

    def reembed() -> None:
        try:
            index.reembed(progress=lambda s, d, t: stages.append((s, d, t)))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    service = AnswerService(index.settings, index)  # no LLM: extractive answers
    question = "Which field note recorded the saffron measurement?"
    assert not asyncio.run(service.answer(question)).refused  # answered before the switch

    worker = threading.Thread(target=reembed)
    worker.start()
    answered = 0
    while worker.is_alive():
        hits = index.search("saffron measurement", k=3)
        assert hits, "a search came back empty during the re-embed"
        answer = asyncio.run(service.answer(question))
        assert not answer.refused, f"a question was refused during the re-embed: {answer.text}"
        answered += 1
    worker.join()
    assert not errors, errors
    assert answered > 0
    reembedded = [s for s in stages if s[0] == "reembed"]
    assert reembedded and reembedded[-1][1:] == (CARDS, CARDS)

    stats = index.stats()
    assert stats["embedder"] == "minilm-l6-v2"
    assert stats["articles"] == CARDS and stats["vectors_match"]
    assert stats["reembed_pending"] is None
    assert index.search("saffron measurement", k=3, mode="dense")
    index.close()

    # A fresh process keeps serving the new build, without re-embedding again.
    again = KnowledgeIndex(cards_settings(root, "onnx", model))
    assert again.stats()["collection"] == stats["collection"]
    assert again.reembed() == 0
    again.close()


def test_auto_keeps_the_hash_build_when_the_model_appears(hash_index_built: Path) -> None:
    root = hash_index_built
    # Built under `auto` with no model: pinned to the hash embedder.
    settings = cards_settings(root, "auto", root / "no-model-yet")
    first = KnowledgeIndex(settings)
    assert first.embedder.name == "hash-384"
    first.close()
    write_tiny_encoder(root / "no-model-yet")
    index = KnowledgeIndex(settings)
    assert index.embedder.name == "hash-384"
    assert index.stats()["articles"] == CARDS
    assert index.stats()["reembed_pending"] is None
    assert index.search("saffron measurement", k=3)
    index.close()


def make_legacy(settings: Settings) -> None:
    """Turn the index in `settings.data_dir` into what an earlier release left: no build
    record, the folder and the Chroma collection named without a hash."""
    index = KnowledgeIndex(settings)
    collection = index.vectors.name
    chroma = index.vectors.collection()
    ids = chroma.get(include=[])["ids"]
    # Vectors without their text hash, a collection without marks, a catalog without epoch.
    chroma.update(ids=ids, metadatas=[{"h": None, "publisher_key": None}] * len(ids))
    chroma.modify(name="curator-hash-384", metadata={"legacy": True})
    for key in ("store_epoch", "collection_id", "build"):
        index.catalog.set_meta(key, "")
    index.close()
    registry = BuildRegistry(settings.data_dir, "curator")
    registry.path.unlink()
    registry.folder(collection).rename(registry.folder("curator-hash-384"))


def test_an_index_of_an_earlier_release_is_adopted_not_emptied(tmp_path: Path) -> None:
    generated_cards(tmp_path / "cards", 5)
    settings = cards_settings(tmp_path, "hash")
    index = KnowledgeIndex(settings)
    index.reindex()
    index.close()
    make_legacy(settings)
    adopted = KnowledgeIndex(settings)
    assert adopted.vectors.name == "curator-hash-384"
    assert adopted.stats()["articles"] == 5 and adopted.stats()["vectors_match"]
    # Trusted as before, given their text hashes and current filter fields: nothing re-embedded.
    assert adopted.reindex().repaired == 0
    held = adopted.vectors.metadatas().values()
    assert all(m["h"] and "publisher_key" in m for m in held)
    assert adopted.reindex().repaired == 0 and adopted.stats()["vectors_match"]
    adopted.close()


def test_the_reported_case_auto_on_an_old_hash_index_once_minilm_appears(
    hash_index_built: Path,
) -> None:
    """The issue's case: built by `auto` without the model, then the model became available;
    stats showed 0 articles and every question was refused."""
    root = hash_index_built
    make_legacy(cards_settings(root, "hash"))
    write_tiny_encoder(root / "model")
    index = KnowledgeIndex(cards_settings(root, "auto", root / "model"))
    assert index.embedder.name == "hash-384"
    assert index.stats()["articles"] == CARDS and index.stats()["vectors_match"]
    assert index.search("saffron measurement", k=3, mode="dense")
    index.close()


def test_a_lost_build_record_is_recovered_from_the_catalogs(
    hash_index_built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = hash_index_built
    model = write_tiny_encoder(root / "model")
    settings = cards_settings(root, "onnx", model)
    index = KnowledgeIndex(settings)
    index.reembed()
    collection = index.vectors.name
    index.close()
    BuildRegistry(settings.data_dir, "curator").path.unlink()
    # Both builds hold every article; the one of the configured embedder is served again.
    again = KnowledgeIndex(settings)
    assert again.vectors.name == collection
    assert again.stats()["articles"] == CARDS and again.stats()["reembed_pending"] is None
    again.close()


def test_a_build_whose_embedder_is_gone_answers_by_bm25_until_re_embedded(
    tmp_path: Path,
) -> None:
    generated_cards(tmp_path / "cards", 8)
    model = write_tiny_encoder(tmp_path / "model")
    first = KnowledgeIndex(cards_settings(tmp_path, "onnx", model))
    first.reindex()
    assert first.embedder.name == "minilm-l6-v2"
    first.close()
    shutil.rmtree(model)
    # auto, with the model gone: falls back to hash, keeps answering from the MiniLM build.
    index = KnowledgeIndex(cards_settings(tmp_path, "auto", model))
    assert index.stats()["embedder"] == "(unavailable)"
    hits = index.search("saffron measurement", k=3)
    assert hits and all(h.dense_similarity is None for h in hits)
    assert index.search("saffron measurement", mode="dense") == []
    index.reindex()
    assert index.stats()["embedder"] == "hash-384" and index.stats()["articles"] == 8
    assert index.search("saffron measurement", k=3, mode="dense")
    index.close()


def test_a_re_embed_cut_short_keeps_the_old_build_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from knowledge.embeddings.hash import HashEmbedder
    from tests.knowledge.test_index import CountingEmbedder

    generated_cards(tmp_path / "cards", 30)
    settings = cards_settings(tmp_path, "hash")
    first = KnowledgeIndex(settings, embedder=HashEmbedder(dim=64))
    first.reindex()
    first.close()
    monkeypatch.setattr(Indexer, "batch_chunks", 6)
    # What a re-embed costs when nothing cuts it short (chunks and their sentences), on a copy.
    shutil.copytree(tmp_path / "data", tmp_path / "copy" / "data")
    shutil.copytree(tmp_path / "cards", tmp_path / "copy" / "cards")
    whole = CountingEmbedder(dim=32)
    uncut = KnowledgeIndex(cards_settings(tmp_path / "copy", "hash"), embedder=whole)
    assert uncut.reembed() == 30
    uncut.close()

    dying = KnowledgeIndex(settings, embedder=CountingEmbedder(fail_after_calls=3, dim=32))
    with pytest.raises(KeyboardInterrupt):
        dying.reembed()
    # Still the complete old build, still answering.
    assert dying.stats()["embedder"] == "hash-64" and dying.stats()["articles"] == 30
    assert dying.search("saffron measurement", k=3)
    dying.close()

    counting = CountingEmbedder(dim=32)
    resumed = KnowledgeIndex(settings, embedder=counting)
    assert resumed.reembed() == 30
    assert 0 < counting.texts < whole.texts  # what was committed before the cut is not redone
    assert resumed.stats()["embedder"] == "hash-32" and resumed.stats()["vectors_match"]
    resumed.close()


def test_another_index_object_follows_the_switch(hash_index_built: Path) -> None:
    root = hash_index_built
    model = write_tiny_encoder(root / "model")
    settings = cards_settings(root, "onnx", model)
    serving = KnowledgeIndex(settings)  # stands for the bot; the other for a reindex
    assert serving.stats()["embedder"] == "hash-384"
    reindexing = KnowledgeIndex(settings)
    reindexing.reembed()
    # The record changed on disk: the serving index moves to the new build on its next call.
    assert serving.stats()["embedder"] == "minilm-l6-v2"
    assert serving.search("saffron measurement", k=3, mode="dense")
    reindexing.close()
    serving.close()


@pytest.mark.server
def test_the_switch_against_a_chroma_server(tmp_path: Path, chroma_server: ChromaServer) -> None:
    from knowledge.embeddings.hash import HashEmbedder

    generated_cards(tmp_path / "cards", 12)
    prefix = "sw" + tmp_path.name[-6:].replace("-", "").replace("_", "")
    settings = make_settings(
        tmp_path / "data",
        knowledge={"sources": [str(tmp_path / "cards")]},
        chroma={
            "host": chroma_server.host,
            "port": chroma_server.port,
            "collection_prefix": prefix,
        },
    )
    first = KnowledgeIndex(settings, embedder=HashEmbedder(dim=64))
    first.reindex()
    first.close()
    index = KnowledgeIndex(settings, embedder=HashEmbedder(dim=32))
    assert index.stats()["embedder"] == "hash-64" and index.stats()["articles"] == 12
    assert index.reembed() == 12
    stats = index.stats()
    assert stats["embedder"] == "hash-32" and stats["vectors_match"] and stats["articles"] == 12
    assert str(stats["collection"]).startswith(f"{prefix}-hash-32-")
    index.close()
