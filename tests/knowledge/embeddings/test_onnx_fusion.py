from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from knowledge.embeddings.onnx import OnnxMiniLMEmbedder
from knowledge.embeddings.onnx_fusion import FusionError, build_fused_model, fused_model_path
from tests.knowledge.embeddings.tiny_encoder import TABLE, expected_vector, model_bytes

TEXTS = ["the cat sat on the mat.", "attention is all you need", ""]


def plant_fused_model(model_dir: Path, cache: Path, data: bytes) -> Path:
    """Put `data` where the fused copy of the model in `model_dir` is looked for."""
    target = fused_model_path(model_dir / "model.onnx", cache)
    target.parent.mkdir(parents=True)
    target.write_bytes(data)
    return target


def test_a_graph_without_attention_runs_unfused_and_says_so_once(
    tiny_model_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = tmp_path / "fused"
    with caplog.at_level(logging.INFO, logger="knowledge.embeddings.onnx"):
        first = OnnxMiniLMEmbedder(tiny_model_dir, fused_cache_dir=cache)
        second = OnnxMiniLMEmbedder(tiny_model_dir, fused_cache_dir=cache)
    assert first.model_path == second.model_path == tiny_model_dir / "model.onnx"
    reports = [r for r in caplog.records if "unfused" in r.getMessage()]
    assert len(reports) == 1 and reports[0].levelno == logging.INFO
    assert str(tiny_model_dir / "model.onnx") in reports[0].getMessage()
    # Nothing half-built is left behind to be mistaken for a fused model later.
    assert not cache.exists() or not any(cache.iterdir())
    for text, row in zip(TEXTS, first.embed(TEXTS), strict=True):
        np.testing.assert_allclose(row, expected_vector(text), atol=1e-5)


def test_building_a_fused_copy_of_a_graph_without_attention_fails_cleanly(
    tiny_model_dir: Path,
) -> None:
    # Either the onnx package is absent or the graph has no Softmax: a FusionError both ways.
    with pytest.raises(FusionError):
        build_fused_model(tiny_model_dir / "model.onnx")


def test_a_cached_fused_model_is_run_instead_of_the_plain_one(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "fused"
    # A stand-in "fused" model with its own table, so the test can tell which one ran.
    other = TABLE[::-1].copy()
    target = plant_fused_model(tiny_model_dir, cache, model_bytes(table=other))
    embedder = OnnxMiniLMEmbedder(tiny_model_dir, fused_cache_dir=cache)
    assert embedder.model_path == target
    vector = embedder.embed_query("cat")
    ids = [2, 5, 3]  # [CLS] cat [SEP]
    expected = other[ids].mean(axis=0)
    np.testing.assert_allclose(vector, expected / np.linalg.norm(expected), atol=1e-5)
    assert OnnxMiniLMEmbedder(tiny_model_dir, fuse=False).model_path == (
        tiny_model_dir / "model.onnx"
    )


def test_the_cache_key_follows_the_model_bytes_and_the_runtime(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    import onnxruntime

    model = tiny_model_dir / "model.onnx"
    before = fused_model_path(model, tmp_path)
    assert before.parent == tmp_path and f"ort{onnxruntime.__version__}" in before.name
    assert fused_model_path(model, tmp_path) == before
    model.write_bytes(model_bytes(table=TABLE * 2))
    assert fused_model_path(model, tmp_path) != before


def test_a_corrupt_cached_fused_model_falls_back_to_the_plain_one(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "fused"
    plant_fused_model(tiny_model_dir, cache, b"not a model")
    embedder = OnnxMiniLMEmbedder(tiny_model_dir, fused_cache_dir=cache)
    assert embedder.model_path == tiny_model_dir / "model.onnx"
    np.testing.assert_allclose(embedder.embed_query("cat"), expected_vector("cat"), atol=1e-5)
