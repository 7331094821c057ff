from __future__ import annotations

import socket

import numpy as np
import pytest

from knowledge.embeddings.openai import OpenAIEmbedder, embedder_name
from knowledge.errors import EmbedderUnavailableError
from tests.knowledge.embeddings.openai_server import DIM, EmbeddingsServer, server_vector

SECRET = "sk-test-never-log-me"


def make(server: EmbeddingsServer, **kwargs: object) -> OpenAIEmbedder:
    options: dict[str, object] = {
        "model": "text-embedding-3-small",
        "api_key": SECRET,
        "base_url": server.base_url,
        "timeout": 5.0,
        "max_retries": 0,
    }
    options.update(kwargs)
    return OpenAIEmbedder(**options)  # type: ignore[arg-type]


def unit(vector: list[float]) -> np.ndarray:
    array = np.asarray(vector, dtype=np.float32)
    return array / np.linalg.norm(array)


def test_embeds_in_batches_in_the_order_given(embeddings_server: EmbeddingsServer) -> None:
    embedder = make(embeddings_server, batch_size=3)
    texts = [f"text number {i}" for i in range(7)]
    vectors = embedder.embed(texts)
    assert [len(r["input"]) for r in embeddings_server.requests] == [3, 3, 1]  # type: ignore[arg-type]
    assert all(r["model"] == "text-embedding-3-small" for r in embeddings_server.requests)
    assert embeddings_server.authorizations[0] == f"Bearer {SECRET}"
    assert vectors.shape == (7, DIM) and vectors.dtype == np.float32
    for text, row in zip(texts, vectors, strict=True):
        np.testing.assert_allclose(row, unit(server_vector(text)), atol=1e-6)


def test_dimension_is_learnt_from_the_first_response(embeddings_server: EmbeddingsServer) -> None:
    embedder = make(embeddings_server)
    assert embeddings_server.requests == []
    assert embedder.dim == DIM
    assert len(embeddings_server.requests) == 1
    embedder.embed(["again"])
    assert embedder.dim == DIM and len(embeddings_server.requests) == 2


def test_name_is_safe_for_a_collection_name() -> None:
    assert embedder_name("text-embedding-3-small") == "openai-text-embedding-3-small"
    assert (
        embedder_name("nomic-ai/nomic-embed-text:v1.5") == "openai-nomic-ai-nomic-embed-text-v1.5"
    )
    assert embedder_name("///") == "openai-model"


def test_empty_texts_are_sent_as_a_space(embeddings_server: EmbeddingsServer) -> None:
    vectors = make(embeddings_server).embed(["", "hello"])
    assert embeddings_server.requests[0]["input"] == [" ", "hello"]
    np.testing.assert_allclose(vectors[0], unit(server_vector(" ")), atol=1e-6)


def test_a_refused_key_says_so_without_showing_it(embeddings_server: EmbeddingsServer) -> None:
    embeddings_server.status = 401
    with pytest.raises(EmbedderUnavailableError) as caught:
        make(embeddings_server).embed(["hello"])
    message = caught.value.user_message
    assert "401" in message and "CURATOR_LLM__API_KEY" in message
    assert SECRET not in message


def test_a_server_error_names_the_status(embeddings_server: EmbeddingsServer) -> None:
    embeddings_server.status = 500
    with pytest.raises(EmbedderUnavailableError, match=r"HTTP 500: .*backend exploded"):
        make(embeddings_server).embed(["hello"])


def test_an_unreachable_endpoint_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on `port` once the socket is closed.
    embedder = OpenAIEmbedder(
        "m", api_key="k", base_url=f"http://127.0.0.1:{port}/v1", timeout=2, max_retries=0
    )
    with pytest.raises(EmbedderUnavailableError, match="cannot be reached"):
        embedder.embed(["hello"])


def test_a_short_answer_is_rejected(embeddings_server: EmbeddingsServer) -> None:
    embeddings_server.drop_last = True
    with pytest.raises(EmbedderUnavailableError, match="returned 1 vectors for 2 texts"):
        make(embeddings_server).embed(["a", "b"])


def test_a_keyless_local_server_needs_no_key(embeddings_server: EmbeddingsServer) -> None:
    embedder = make(embeddings_server, api_key=None)
    assert embedder.embed(["hi"]).shape == (1, DIM)
    assert embedder.embed([]).shape == (0, DIM)


@pytest.mark.parametrize("status", [401, 500, None])
def test_credentials_in_the_base_url_never_reach_the_error(
    embeddings_server: EmbeddingsServer, status: int | None
) -> None:
    """401, a server error, and an endpoint that cannot be reached: the message names the
    endpoint, its password hidden."""
    if status is None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        base_url = f"http://curator:hunter2secret@127.0.0.1:{port}/v1"
    else:
        embeddings_server.status = status
        base_url = embeddings_server.base_url.replace("http://", "http://curator:hunter2secret@")
    with pytest.raises(EmbedderUnavailableError) as caught:
        make(embeddings_server, base_url=base_url).embed(["hello"])
    message = caught.value.user_message
    assert "hunter2secret" not in message and "hunter2secret" not in str(caught.value)
    assert "http://***@127.0.0.1:" in message
