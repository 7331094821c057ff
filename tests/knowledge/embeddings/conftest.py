from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.knowledge.embeddings import openai_server
from tests.knowledge.embeddings.tiny_encoder import write_tiny_encoder


@pytest.fixture
def tiny_model_dir(tmp_path: Path) -> Path:
    """A folder with a tiny but real model.onnx and tokenizer.json."""
    return write_tiny_encoder(tmp_path / "tiny-model")


@pytest.fixture
def embeddings_server() -> Iterator[openai_server.EmbeddingsServer]:
    """An OpenAI-compatible /v1/embeddings server on 127.0.0.1."""
    state = openai_server.EmbeddingsServer()
    server = openai_server.start(state)
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
