from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from knowledge.embeddings.onnx import (
    DEFAULT_MODEL_DIR,
    MAX_TOKENS,
    OnnxMiniLMEmbedder,
    mean_pool,
    missing_model_files,
    plan_batches,
)
from knowledge.errors import EmbedderUnavailableError
from tests.knowledge.embeddings.tiny_encoder import DIM, TABLE, expected_vector, tokenizer

TEXTS = [
    "the cat sat on the mat.",
    "attention is all you need",
    "",
    "indexing vectors, the search model?",
    "unknown words only",
    " ".join(["the dog sat on the mat"] * 60),  # 360 pieces: truncated
]


def test_missing_model_names_the_files_and_the_remedy(tmp_path: Path) -> None:
    with pytest.raises(EmbedderUnavailableError) as caught:
        OnnxMiniLMEmbedder(tmp_path)
    message = caught.value.user_message
    assert str(tmp_path) in message
    assert "model.onnx" in message and "tokenizer.json" in message
    assert "CURATOR_EMBEDDINGS__MODEL_DIR" in message


def test_an_empty_model_file_counts_as_missing(tiny_model_dir: Path) -> None:
    (tiny_model_dir / "model.onnx").write_bytes(b"")
    assert missing_model_files(tiny_model_dir) == ["model.onnx"]
    with pytest.raises(EmbedderUnavailableError, match=r"missing: model\.onnx\)"):
        OnnxMiniLMEmbedder(tiny_model_dir)


def test_a_corrupt_model_is_unavailable_not_a_crash(tiny_model_dir: Path) -> None:
    (tiny_model_dir / "model.onnx").write_bytes(b"this is not a protobuf")
    with pytest.raises(EmbedderUnavailableError, match="cannot be loaded by onnxruntime"):
        OnnxMiniLMEmbedder(tiny_model_dir)


def test_a_corrupt_tokenizer_is_unavailable_not_a_crash(tiny_model_dir: Path) -> None:
    (tiny_model_dir / "tokenizer.json").write_text("{ not json")
    with pytest.raises(EmbedderUnavailableError, match="cannot be read as a tokenizer"):
        OnnxMiniLMEmbedder(tiny_model_dir)


def test_embeds_the_masked_mean_of_token_states(tiny_model_dir: Path) -> None:
    embedder = OnnxMiniLMEmbedder(tiny_model_dir, batch_size=2)
    assert embedder.name == "minilm-l6-v2"
    assert embedder.dim == DIM
    assert embedder.max_tokens == MAX_TOKENS
    vectors = embedder.embed(TEXTS)
    assert vectors.shape == (len(TEXTS), DIM) and vectors.dtype == np.float32
    for text, row in zip(TEXTS, vectors, strict=True):
        np.testing.assert_allclose(row, expected_vector(text), atol=1e-5)


def test_a_vector_does_not_depend_on_its_batch_companions(tiny_model_dir: Path) -> None:
    embedder = OnnxMiniLMEmbedder(tiny_model_dir, batch_size=4)
    alone = np.vstack([embedder.embed_query(text) for text in TEXTS])
    together = embedder.embed(TEXTS)
    reversed_order = embedder.embed(TEXTS[::-1])[::-1]
    np.testing.assert_allclose(together, alone, atol=1e-6)
    np.testing.assert_allclose(reversed_order, alone, atol=1e-6)


def test_batches_run_side_by_side_give_the_same_rows_in_order(tiny_model_dir: Path) -> None:
    texts = [f"{'the cat sat ' * (i % 9)} vectors {i}" for i in range(40)] + TEXTS
    one_core = OnnxMiniLMEmbedder(tiny_model_dir, batch_size=3, threads=1)
    two_cores = OnnxMiniLMEmbedder(tiny_model_dir, batch_size=3, threads=2)
    assert two_cores.threads == 2
    sequential = one_core.embed(texts)
    parallel = two_cores.embed(texts)
    np.testing.assert_array_equal(parallel, sequential)
    for text, row in zip(texts, parallel, strict=True):
        np.testing.assert_allclose(row, expected_vector(text), atol=1e-5)


def test_batches_use_as_many_worker_threads_as_cores_given(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from knowledge.embeddings import onnx

    embedder = OnnxMiniLMEmbedder(tiny_model_dir, batch_size=2, threads=3)
    seen: set[str] = set()
    pool = onnx.mean_pool

    def recording_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        # Every batch's output is pooled on the thread that ran the batch.
        seen.add(threading.current_thread().name)
        return pool(hidden, mask)

    monkeypatch.setattr(onnx, "mean_pool", recording_pool)
    embedder.embed([f"cat {i}" for i in range(30)])
    assert seen and all(name.startswith("curator-embed") for name in seen)
    assert len(seen) <= 3
    seen.clear()
    embedder.embed_query("one question runs on the caller's thread")
    assert seen == {threading.current_thread().name}


def test_threads_below_one_is_refused(tiny_model_dir: Path) -> None:
    with pytest.raises(ValueError, match="threads must be at least 1"):
        OnnxMiniLMEmbedder(tiny_model_dir, threads=0)


def test_long_texts_are_cut_at_256_word_pieces_like_chroma(tiny_model_dir: Path) -> None:
    embedder = OnnxMiniLMEmbedder(tiny_model_dir)
    long_text = " ".join(["cat"] * 300 + ["dog"] * 100)
    # [CLS] + 254 pieces + [SEP]: every "dog" falls beyond the cut.
    np.testing.assert_allclose(
        embedder.embed_query(long_text),
        embedder.embed_query(" ".join(["cat"] * 254)),
        atol=1e-6,
    )
    assert not np.allclose(embedder.embed_query(long_text), embedder.embed_query("cat dog"))


def test_count_tokens_uses_the_real_tokenizer_without_special_tokens(
    tiny_model_dir: Path,
) -> None:
    embedder = OnnxMiniLMEmbedder(tiny_model_dir)
    assert embedder.count_tokens("indexing vectors") == 4  # index ##ing vector ##s
    assert embedder.count_tokens("") == 0
    # Not truncated: the chunker must see how long a text really is.
    assert embedder.count_tokens(" ".join(["cat"] * 1000)) == 1000
    # Counting must not change what embed() reads.
    assert len(tokenizer().encode("cat " * 10).ids) == 12
    np.testing.assert_allclose(
        embedder.embed_query(" ".join(["cat"] * 300)), expected_vector("cat " * 300), atol=1e-5
    )


def test_an_empty_batch_gives_an_empty_array(tiny_model_dir: Path) -> None:
    assert OnnxMiniLMEmbedder(tiny_model_dir).embed([]).shape == (0, DIM)


def test_width_is_found_by_running_the_model_when_not_declared(tmp_path: Path) -> None:
    from tests.knowledge.embeddings.tiny_encoder import write_tiny_encoder

    embedder = OnnxMiniLMEmbedder(write_tiny_encoder(tmp_path / "m", dim_param=True))
    assert embedder.dim == DIM


def test_plan_batches_groups_similar_lengths_and_covers_every_text() -> None:
    lengths = [5, 256, 7, 256, 30, 6, 256, 8]
    batches = plan_batches(lengths, batch_size=3, max_batch_tokens=512)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(len(lengths)))
    # Longest first; never more than batch_size texts or (beyond one) the token budget.
    assert [lengths[i] for i in flat] == sorted(lengths, reverse=True)
    for batch in batches:
        longest = max(lengths[i] for i in batch)
        assert len(batch) <= 3
        assert len(batch) == 1 or len(batch) * longest <= 512
    assert [len(b) for b in batches] == [2, 2, 3, 1]


def test_mean_pool_ignores_padding_and_keeps_unit_length() -> None:
    hidden = np.stack([TABLE[:3], TABLE[3:6]]).astype(np.float32)
    mask = np.array([[1, 1, 0], [1, 1, 1]])
    pooled = mean_pool(hidden, mask)
    expected = TABLE[:2].mean(axis=0)
    np.testing.assert_allclose(pooled[0], expected / np.linalg.norm(expected), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(pooled, axis=1), 1.0, rtol=1e-6)


def test_default_model_dir_is_chromas_cache() -> None:
    from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2

    chroma_dir = Path(ONNXMiniLM_L6_V2.DOWNLOAD_PATH) / ONNXMiniLM_L6_V2.EXTRACTED_FOLDER_NAME
    assert chroma_dir == DEFAULT_MODEL_DIR


# The real model: present on a seeded machine, absent in CI.
real_model = pytest.mark.skipif(
    bool(missing_model_files(DEFAULT_MODEL_DIR)),
    reason=f"all-MiniLM-L6-v2 is not in {DEFAULT_MODEL_DIR} (seed it to run this test)",
)

REAL_TEXTS = [
    "How does attention work in transformers?",
    "",
    "What's new this week?",
    "Hidden technical debt in machine learning systems: glue code, pipeline jungles, "
    "dead experimental code paths and configuration debt all make ML systems costly. " * 8,
    "Über café naïve — 東京 🤖 mixed scripts and emoji",
    "a",
    "word " * 600,
]


def fusion_tools_missing() -> str | None:
    """Why the fused model cannot be built here (None when it can)."""
    import importlib.util

    missing = [name for name in ("onnx", "sympy") if importlib.util.find_spec(name) is None]
    return f"{', '.join(missing)} not installed" if missing else None


@real_model
@pytest.mark.parametrize("fuse", [False, True], ids=["plain", "fused"])
def test_same_vectors_as_chromas_default_embedding_function(fuse: bool, tmp_path: Path) -> None:
    from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2

    if fuse and fusion_tools_missing():
        pytest.skip(f"the fused model cannot be built: {fusion_tools_missing()}")
    chroma = np.asarray(ONNXMiniLM_L6_V2()(REAL_TEXTS), dtype=np.float32)
    embedder = OnnxMiniLMEmbedder(batch_size=3, fuse=fuse, fused_cache_dir=tmp_path)
    # The fused copy is really built and run, not silently replaced by the plain model.
    assert (embedder.model_path != DEFAULT_MODEL_DIR / "model.onnx") == fuse
    assert embedder.model_path.parent == (tmp_path if fuse else DEFAULT_MODEL_DIR)
    ours = embedder.embed(REAL_TEXTS)
    assert embedder.dim == 384 and ours.shape == chroma.shape
    cosines = (ours * chroma).sum(axis=1)
    assert cosines.min() >= 0.9999, cosines
    singles = np.vstack([embedder.embed_query(text) for text in REAL_TEXTS])
    assert (singles * chroma).sum(axis=1).min() >= 0.9999


@real_model
def test_real_tokenizer_counts_word_pieces() -> None:
    embedder = OnnxMiniLMEmbedder(fuse=False)
    assert embedder.count_tokens("embeddings") == 4  # em ##bed ##ding ##s
    assert embedder.count_tokens("the cat sat") == 3
    assert embedder.count_tokens("word " * 600) == 600
