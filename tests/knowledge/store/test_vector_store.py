from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from knowledge.settings import ChromaSettings
from knowledge.store.vector_store import VectorStore, bound_requests
from tests.support.chroma_server import ChromaServer


@pytest.mark.server
def test_requests_to_a_chroma_server_carry_the_configured_timeout(
    chroma_server: ChromaServer, tmp_path: Path
) -> None:
    settings = ChromaSettings(
        host=chroma_server.host, port=chroma_server.port, timeout=3.5, collection_prefix="bound"
    )
    store = VectorStore(settings, tmp_path, "hash-8")
    try:
        assert store.count() == 0
        session = store.collection()._client._session  # the collection holds the FastAPI transport
        assert session.timeout == httpx.Timeout(3.5)
    finally:
        store.close()
    # Closing releases the pooled connections instead of leaving them to the garbage collector.
    assert session.is_closed


def test_a_client_without_the_expected_session_is_left_alone_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        assert not bound_requests(object(), 2.0)
    assert "stalled Chroma server may hang searches" in caplog.text
