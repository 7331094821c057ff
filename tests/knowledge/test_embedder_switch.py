"""Changing embedders never empties the index: the old build answers until the new one holds
every article, re-embedded from the stored text (the sources are not read again)."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from knowledge.index import KnowledgeIndex
from knowledge.indexing import Indexer
from knowledge.settings import Settings, load_settings
from knowledge.store.builds import BuildRegistry
from tests.faults.conftest import generated_cards
from tests.knowledge.embeddings.tiny_encoder import write_tiny_encoder

CARDS = 60


def make_settings(root: Path, provider: str, model_dir: Path | None = None) -> Settings:
    embeddings: dict[str, object] = {"provider": provider}
    if model_dir is not None:
        embeddings["model_dir"] = str(model_dir)
    return load_settings(
        data_dir=root / "data",
        embeddings=embeddings,
        knowledge={"sources": [str(root / "cards")]},
    )


@pytest.fixture
def hash_index_built(tmp_path: Path) -> Path:
    """A data dir indexed by the hash embedder (CARDS articles); returns the root."""
    generated_cards(tmp_path / "cards", CARDS)
    index = KnowledgeIndex(make_settings(tmp_path, "hash"))
    assert index.reindex().added == CARDS
    index.close()
    return tmp_path


def test_questions_are_answered_throughout_a_switch_to_the_onnx_model(
    hash_index_built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = hash_index_built
    model = write_tiny_encoder(root / "model")
    index = KnowledgeIndex(make_settings(root, "onnx", model))
    assert index.stats()["articles"] == CARDS  # not an empty new collection
    assert index.stats()["embedder"] == "hash-384"
    # The sources are gone: re-embedding must work from the stored text alone.
    shutil.rmtree(root / "cards")
    # Small batches, so the re-embed takes long enough for searches to run beside it.
    monkeypatch.setattr(Indexer, "batch_records", 4)

    stages: list[tuple[str, int, int]] = []
    errors: list[BaseException] = []

    def reembed() -> None:
        try:
            index.reembed(progress=lambda s, d, t: stages.append((s, d, t)))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    worker = threading.Thread(target=reembed)
    worker.start()
    answered = 0
    while worker.is_alive():
        hits = index.search("saffron measurement", k=3)
        assert hits, "a question went unanswered during the re-embed"
        answered += 1
    worker.join()
    assert not errors, errors
    assert answered > 0
    reembedded = [s for s in stages if s[0] == "reembed"]
    assert reembedded and reembedded[-1][1:] == (CARDS, CARDS)

    stats = index.stats()
    assert stats["embedder"] == "minilm-l6-v2"
    assert stats["articles"] == CARDS and stats["vectors_match"]
    assert stats["reembed_pending"] == ""
    assert index.search("saffron measurement", k=3, mode="dense")
    index.close()

    # A fresh process keeps serving the new build, without re-embedding again.
    again = KnowledgeIndex(make_settings(root, "onnx", model))
    assert again.stats()["collection"] == stats["collection"]
    assert again.reembed() == 0
    again.close()


def test_auto_keeps_the_hash_build_when_the_model_appears(hash_index_built: Path) -> None:
    root = hash_index_built
    # Built under `auto` with no model: pinned to the hash embedder.
    settings = make_settings(root, "auto", root / "no-model-yet")
    first = KnowledgeIndex(settings)
    assert first.embedder.name == "hash-384"
    first.close()
    write_tiny_encoder(root / "no-model-yet")
    index = KnowledgeIndex(settings)
    assert index.embedder.name == "hash-384"
    assert index.stats()["articles"] == CARDS
    assert index.stats()["reembed_pending"] == ""
    assert index.search("saffron measurement", k=3)
    index.close()


def test_an_index_of_an_earlier_release_is_adopted_not_emptied(tmp_path: Path) -> None:
    generated_cards(tmp_path / "cards", 5)
    settings = make_settings(tmp_path, "hash")
    index = KnowledgeIndex(settings)
    index.reindex()
    collection = index.vectors.name
    index.close()
    # An earlier release: no record of the build, its folder named the old way.
    registry = BuildRegistry(settings.data_dir, "curator")
    registry.path.unlink()
    legacy = registry.folder("curator-hash-384")
    registry.folder(collection).rename(legacy)
    adopted = KnowledgeIndex(settings)
    assert adopted.index_dir == legacy
    assert adopted.stats()["articles"] == 5
    adopted.close()
