"""Extractive answers read the sentence vectors of the build that serves now: after a reindex
switches embedders, the new build's stored vectors are used (nothing is embedded at question
time but the question) and the retired build's store is neither read nor written."""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path

import pytest

from knowledge.answers.service import AnswerService
from knowledge.embeddings.hash import HashEmbedder
from knowledge.index import KnowledgeIndex
from knowledge.store.sentence_store import SentenceStore
from tests.faults.conftest import generated_cards
from tests.knowledge.embeddings.tiny_encoder import write_tiny_encoder
from tests.support.counting_embedder import CountingEmbedder
from tests.support.settings import make_settings, with_overrides

QUESTION = "How does LoRA reduce the number of trainable parameters?"


def test_after_an_embedder_switch_answers_read_the_served_builds_sentences(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    # Built with one hash dimension, then configured with another: a reindex re-embeds.
    first = KnowledgeIndex(make_settings(data, embeddings={"hash_dim": 384}))
    first.reindex()
    old_dir = first.index_dir
    first.close()

    counted = CountingEmbedder(HashEmbedder(dim=128))
    index = KnowledgeIndex(make_settings(data, embeddings={"hash_dim": 128}), counted)
    service = AnswerService(index.settings, index)  # no model configured: extractive
    try:
        assert index.reembed_pending == ("hash-384", "hash-128")
        before = asyncio.run(service.answer(QUESTION))  # served by the old build
        assert not before.refused and before.citations

        index.reindex()  # re-embeds into the hash-128 build and serves it
        assert index.embedder is counted and index.index_dir != old_dir
        new_store = SentenceStore.in_dir(index.index_dir)
        old_store = SentenceStore.in_dir(old_dir)
        try:
            assert new_store.count() > 0  # the re-embed stored the new build's sentences
            old_rows = old_store.count()
        finally:
            new_store.close()
            old_store.close()

        counted.reset()
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            after = asyncio.run(service.answer(QUESTION))
        assert not after.refused and after.citations and after.mode == "extractive"
        # Only the question was embedded: every quoted unit's vector came from the new store.
        assert set(counted.embedded) == {QUESTION}, sorted(counted.embedded)
        assert "embedding sentences failed" not in caplog.text
        assert not [r for r in caplog.records if r.exc_info]

        retired = SentenceStore.in_dir(old_dir)
        try:
            assert retired.count() == old_rows  # nothing written into the retired build
        finally:
            retired.close()
    finally:
        asyncio.run(service.aclose())
        index.close()


def test_a_build_served_without_its_embedder_lends_no_sentence_vectors(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    generated_cards(tmp_path / "cards", 8)
    model = write_tiny_encoder(tmp_path / "model")
    settings = make_settings(
        tmp_path / "data",
        embeddings={"provider": "onnx", "model_dir": str(model)},
        knowledge={"sources": [str(tmp_path / "cards")]},
    )
    first = KnowledgeIndex(settings)
    first.reindex()
    built_dir = first.index_dir
    first.close()
    shutil.rmtree(model)
    # The model is gone: the MiniLM build keeps serving (BM25 only), answers rank with hash-384,
    # whose vectors its sentence store does not hold.
    counted = CountingEmbedder(HashEmbedder(dim=384))
    index = KnowledgeIndex(with_overrides(settings, embeddings={"provider": "hash"}), counted)
    service = AnswerService(index.settings, index)
    try:
        assert index.stats()["embedder"] == "(unavailable)" and index.embedder is counted
        assert index.sentences is None
        with caplog.at_level(logging.WARNING):
            answer = asyncio.run(
                service.answer("Which field note recorded the saffron measurement?")
            )
        assert not answer.refused and answer.mode == "extractive"
        assert "embedding sentences failed" not in caplog.text
        assert len(counted.embedded) > 1  # the quoted units were embedded by hash-384 instead
    finally:
        asyncio.run(service.aclose())
        index.close()
    store = SentenceStore.in_dir(built_dir)
    try:
        assert store.count() > 0  # the MiniLM build's rows are still there, unread
    finally:
        store.close()
