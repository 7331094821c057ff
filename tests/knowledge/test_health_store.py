"""`curator doctor` checks the index and the vector store as the bot would meet them: an empty
active collection beside a full one, vectors ≠ chunks, and a store that crashes its opener."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from knowledge.health import check_index, check_store, probe_command, run_checks, served_index
from knowledge.index import KnowledgeIndex
from knowledge.settings import Settings
from knowledge.store.builds import BuildRecord, BuildRegistry
from knowledge.store.vector_store import collection_name
from tests.faults.conftest import generated_cards
from tests.knowledge.embeddings.tiny_encoder import write_tiny_encoder
from tests.support.chroma_server import ChromaServer
from tests.support.settings import make_settings


def cards_settings(root: Path, **embeddings: object) -> Settings:
    """make_settings indexing root/cards into root/data, `embeddings` over the hash embedder."""
    return make_settings(
        root / "data", embeddings=embeddings, knowledge={"sources": [str(root / "cards")]}
    )


@pytest.fixture
def indexed(tmp_path: Path) -> Settings:
    """12 cards indexed with the hash embedder; the index closed again."""
    generated_cards(tmp_path / "cards", 12)
    settings = cards_settings(tmp_path)
    index = KnowledgeIndex(settings)
    index.reindex()
    index.close()
    return settings


def test_a_healthy_store_passes_with_one_real_query(indexed: Settings) -> None:
    served = served_index(indexed)
    assert check_index(served).status == "ok"
    check = check_store(indexed, served)
    assert check.status == "ok", check
    assert "vectors = chunks" in check.detail and "one query answered" in check.detail


def test_vectors_missing_from_the_store_fail_with_the_counts(indexed: Settings) -> None:
    index = KnowledgeIndex(indexed)
    ids = index.vectors.ids()[:5]
    index.vectors.delete(ids)
    chunks = index.catalog.chunk_count()
    index.close()
    checks = run_checks(load=lambda: indexed)
    store = next(c for c in checks if c.name == "store")
    assert store.status == "fail"
    assert f"vectors ({chunks - 5}) ≠ chunks ({chunks})" in store.detail
    assert "curator reindex" in store.remedy


def test_a_store_that_crashes_whoever_opens_it_fails_the_check(indexed: Settings) -> None:
    served = served_index(indexed)
    # The real probe, with opening the store made to die the way a damaged HNSW file does.
    crash = (
        "import os, signal, sys, chromadb; "
        "chromadb.PersistentClient = lambda *a, **k: os.kill(os.getpid(), signal.SIGSEGV); "
        "from knowledge.store.probe import main; sys.exit(main(sys.argv))"
    )
    real = probe_command(indexed, served.collection)
    check = check_store(indexed, served, command=[sys.executable, "-c", crash, real[-1]])
    assert check.status == "fail"
    assert "died (SIGSEGV)" in check.detail and "--rebuild" in check.remedy


def test_an_empty_active_collection_beside_a_full_one_fails(
    indexed: Settings, tmp_path: Path
) -> None:
    model = write_tiny_encoder(tmp_path / "model")
    settings = cards_settings(tmp_path, provider="onnx", model_dir=str(model))
    # What releases before recorded builds did: serve the new embedder's empty collection.
    BuildRegistry(settings.data_dir, "curator").write(
        BuildRecord("minilm-l6-v2", collection_name("curator", "minilm-l6-v2"))
    )
    check = check_index(served_index(settings))
    assert check.status == "fail"
    assert "is empty while" in check.detail and "12 articles" in check.detail
    assert "curator reindex" in check.remedy


def test_a_pending_re_embed_is_a_warning_naming_both_embedders(
    indexed: Settings, tmp_path: Path
) -> None:
    model = write_tiny_encoder(tmp_path / "model")
    settings = cards_settings(tmp_path, provider="onnx", model_dir=str(model))
    check = check_index(served_index(settings))
    assert check.status == "warn"
    assert "built with hash-384" in check.detail and "minilm-l6-v2" in check.detail


def test_the_probe_prints_counts_as_json(indexed: Settings) -> None:
    import subprocess

    served = served_index(indexed)
    done = subprocess.run(
        probe_command(indexed, served.collection), capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == {"vectors": served.chunks, "queried": True}


@pytest.mark.server
def test_the_store_probe_against_a_chroma_server(
    tmp_path: Path, chroma_server: ChromaServer
) -> None:
    generated_cards(tmp_path / "cards", 5)
    settings = make_settings(
        tmp_path / "data",
        knowledge={"sources": [str(tmp_path / "cards")]},
        chroma={
            "host": chroma_server.host,
            "port": chroma_server.port,
            "collection_prefix": "probe" + tmp_path.name[-6:].replace("-", "").replace("_", ""),
        },
    )
    index = KnowledgeIndex(settings)
    index.reindex()
    chunks = index.catalog.chunk_count()
    index.close()
    check = check_store(settings, served_index(settings))
    assert check.status == "ok", check
    assert f"{chunks} vectors = chunks, one query answered" in check.detail


def test_a_hash_built_index_beside_an_available_model_warns_with_the_way_to_move(
    indexed: Settings, tmp_path: Path
) -> None:
    model = write_tiny_encoder(tmp_path / "model")
    settings = cards_settings(tmp_path, provider="auto", model_dir=str(model))
    checks = {c.name: c for c in run_checks(load=lambda: settings)}
    index = checks["index"]
    assert index.status == "warn"
    assert "built with the hash embedder (hash-384)" in index.detail
    assert "all-MiniLM-L6-v2 is available but `auto` keeps" in index.detail
    assert "CURATOR_EMBEDDINGS__PROVIDER=onnx" in index.remedy and "curator reindex" in index.remedy
    assert "old index keeps answering" in index.remedy
    embedder = checks["embedder"]
    assert embedder.status == "ok"
    assert "not used: the index was built with hash-384" in embedder.detail


def test_a_hash_built_index_without_the_model_is_simply_ok(
    indexed: Settings, tmp_path: Path
) -> None:
    empty = tmp_path / "no-model"
    empty.mkdir()
    settings = cards_settings(tmp_path, provider="auto", model_dir=str(empty))
    check = check_index(served_index(settings))
    assert check.status == "ok" and "(hash-384)" in check.detail
