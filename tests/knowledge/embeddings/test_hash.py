from __future__ import annotations

import os
import random
import subprocess
import sys
import time

import numpy as np
import pytest

from knowledge.embeddings import Embedder, HashEmbedder
from knowledge.embeddings.hash import hashed_words
from knowledge.text import light_stem

DOCS = [
    "The Transformer replaces recurrence with self-attention, so every position attends to "
    "every other position and training runs in parallel.",
    "Machine learning systems accumulate hidden technical debt: glue code, pipeline jungles "
    "and undeclared consumers make them costly to maintain.",
    "Sourdough bread needs a lively starter, a long cold fermentation and a very hot oven.",
    "Vector databases index embeddings for nearest-neighbour search over millions of records.",
]
QUESTIONS = [
    ("How does self-attention work in a transformer?", 0),
    ("What causes technical debt in machine learning pipelines?", 1),
    ("How long should I ferment sourdough bread?", 2),
    ("Which database indexes embeddings for nearest neighbour search?", 3),
]


def test_is_an_embedder_named_after_its_dimension() -> None:
    embedder = HashEmbedder(dim=256)
    assert isinstance(embedder, Embedder)
    assert embedder.name == "hash-256"
    assert embedder.dim == 256
    assert HashEmbedder().name == "hash-384"


def test_rejects_a_useless_dimension() -> None:
    with pytest.raises(ValueError, match="dimension"):
        HashEmbedder(dim=1)


def test_vectors_are_unit_length_float32_rows_in_input_order() -> None:
    embedder = HashEmbedder()
    vectors = embedder.embed(DOCS)
    assert vectors.shape == (len(DOCS), 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    # Each text gets the same vector alone as in a batch, in the order given.
    for text, row in zip(DOCS, vectors, strict=True):
        np.testing.assert_allclose(embedder.embed_query(text), row, atol=1e-6)


def test_each_question_is_closest_to_its_related_document() -> None:
    embedder = HashEmbedder()
    docs = embedder.embed(DOCS)
    for question, expected in QUESTIONS:
        scores = docs @ embedder.embed_query(question)
        assert int(np.argmax(scores)) == expected, (question, scores)
        unrelated = np.delete(scores, expected)
        assert scores[expected] > unrelated.max() + 0.1, (question, scores)


def test_inflections_and_case_do_not_hide_a_match() -> None:
    embedder = HashEmbedder()
    a = embedder.embed_query("Indexing documents, and the index that was indexed")
    b = embedder.embed_query("index DOCUMENT")
    c = embedder.embed_query("bakery opening hours")
    assert float(a @ b) > 0.6
    assert float(a @ b) > float(a @ c) + 0.5


def test_stemmer_joins_common_english_forms() -> None:
    assert (
        light_stem("indexes")
        == light_stem("indexing")
        == light_stem("indexed")
        == light_stem("index")
    )
    assert light_stem("running") == light_stem("runs") == "run"
    assert light_stem("studies") == light_stem("study")
    assert light_stem("model's") == light_stem("model")
    assert hashed_words("The cat, the hat!") == ["cat", "hat"]


def test_empty_and_punctuation_only_texts_still_get_unit_vectors() -> None:
    embedder = HashEmbedder()
    vectors = embedder.embed(["", "?!...", "the of and", "real words here"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert embedder.embed([]).shape == (0, 384)


def test_non_latin_scripts_are_words_too() -> None:
    embedder = HashEmbedder()
    tokyo = embedder.embed_query("東京 タワー 観光")
    assert float(tokyo @ embedder.embed_query("東京 タワー")) > 0.5
    assert float(tokyo @ embedder.embed_query("Париж музей")) < 0.3


def test_vectors_are_identical_in_another_process() -> None:
    # Python salts str hashes per process; the embedder must not depend on that.
    code = (
        "from knowledge.embeddings.hash import HashEmbedder;"
        "import sys; sys.stdout.write(HashEmbedder(64).embed_query(sys.argv[1]).tobytes().hex())"
    )
    text = "stable vectors across restarts, déjà vu"
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run(
        [sys.executable, "-c", code, text], capture_output=True, text=True, env=env, check=True
    )
    theirs = np.frombuffer(bytes.fromhex(out.stdout), dtype=np.float32)
    np.testing.assert_array_equal(theirs, HashEmbedder(64).embed_query(text))


def test_embeds_thousands_of_texts_per_second() -> None:
    rng = random.Random(0)
    vocabulary = [f"word{i}" for i in range(5000)]
    texts = [" ".join(rng.choices(vocabulary, k=80)) for _ in range(2000)]
    embedder = HashEmbedder()
    # CPU time, not wall time: other processes on a busy CI box must not fail this test.
    start = time.process_time()
    vectors = embedder.embed(texts)
    elapsed = time.process_time() - start
    assert vectors.shape == (2000, 384)
    # About 10,000 texts/s on one core here; the bound only catches a collapse.
    assert elapsed < 1.0, f"{len(texts) / elapsed:.0f} texts/s"
