"""Collection names: valid for Chroma and distinct for every embedder name, however long."""

from __future__ import annotations

from pathlib import Path

import pytest
from chromadb.api.segment import check_index_name

from knowledge.embeddings.openai import embedder_name
from knowledge.settings import ChromaSettings
from knowledge.store.vector_store import VectorStore, collection_name

REAL_MODELS = [
    "text-embedding-3-small",
    "text-embedding-3-large",
    "text-embedding-ada-002",
    "sentence-transformers/multi-qa-MiniLM-L6-cos-v1",
    "sentence-transformers/all-MiniLM-L6-v2",
    "sentence-transformers/all-mpnet-base-v2",
    "sentence-transformers/paraphrase-multilingual-mpnet-base-v2",
    "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2",
    "BAAI/bge-small-en-v1.5",
    "BAAI/bge-m3",
    "intfloat/multilingual-e5-large-instruct",
    "nomic-ai/nomic-embed-text-v1.5",
    "mixedbread-ai/mxbai-embed-large-v1",
    "Alibaba-NLP/gte-Qwen2-7B-instruct",
    "nomic-embed-text:latest",
    "jina-embeddings-v3",
]
EMBEDDER_NAMES = [
    "minilm-l6-v2",
    "hash-384",
    "hash-16",
    *(embedder_name(m) for m in REAL_MODELS),
    # Names only Chroma would refuse as they are: leading and trailing punctuation, no letters.
    "-leading-and-trailing-",
    "日本語モデル",
    "x" * 300,
]


@pytest.mark.parametrize("prefix", ["curator", "c", "a" * 31])
def test_every_embedder_gets_a_distinct_chroma_valid_name(prefix: str) -> None:
    names = [collection_name(prefix, n) for n in EMBEDDER_NAMES]
    for name in names:
        check_index_name(name)  # Chroma's own rule: raises ValueError on an invalid name
    assert len(set(names)) == len(names)


def test_models_sharing_their_first_sixty_characters_get_different_collections() -> None:
    mpnet, minilm = (
        embedder_name("sentence-transformers/paraphrase-multilingual-mpnet-base-v2"),
        embedder_name("sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2"),
    )
    assert collection_name("curator", mpnet) != collection_name("curator", minilm)


def test_the_name_that_chroma_refused_now_opens_a_store(tmp_path: Path) -> None:
    name = embedder_name("sentence-transformers/multi-qa-MiniLM-L6-cos-v1")
    store = VectorStore(ChromaSettings(), tmp_path, name)
    try:
        assert store.count() == 0
        assert store.name.startswith("curator-openai-sentence-transformers-multi-qa")
    finally:
        store.close()
