from __future__ import annotations

import hashlib
import io
import logging
import socket
import tarfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2
from pydantic import SecretStr

from knowledge.embeddings import HashEmbedder, create_embedder, factory
from knowledge.embeddings.onnx import OnnxMiniLMEmbedder
from knowledge.embeddings.openai import OpenAIEmbedder
from knowledge.errors import EmbedderUnavailableError
from knowledge.settings import EmbeddingSettings, LLMSettings
from tests.knowledge.embeddings.openai_server import EmbeddingsServer
from tests.knowledge.embeddings.tiny_encoder import DIM, write_tiny_encoder

FALLBACK = "using the deterministic hash embedder"


@pytest.fixture(autouse=True)
def fresh_factory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A new 'process' for the once-only warning, and Chroma's cache moved into tmp_path."""
    factory.PROCESS_CACHE.clear()
    monkeypatch.setattr(ONNXMiniLM_L6_V2, "DOWNLOAD_PATH", tmp_path / "chroma-cache")
    # Any download a test did not arrange goes to a closed port, never to the internet.
    monkeypatch.setattr(
        ONNXMiniLM_L6_V2, "MODEL_DOWNLOAD_URL", f"http://127.0.0.1:{_closed_port()}/"
    )


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings(**values: object) -> EmbeddingSettings:
    return EmbeddingSettings(**values)  # type: ignore[arg-type]


def fallback_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_hash_provider(caplog: pytest.LogCaptureFixture) -> None:
    embedder = create_embedder(settings(provider="hash", hash_dim=128), LLMSettings())
    assert isinstance(embedder, HashEmbedder) and embedder.name == "hash-128"
    assert fallback_warnings(caplog) == []


def test_auto_without_a_model_falls_back_to_hash_and_warns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for _ in range(3):
        embedder = create_embedder(settings(provider="auto", model_dir=empty), LLMSettings())
        assert isinstance(embedder, HashEmbedder)
    warnings = fallback_warnings(caplog)
    assert len(warnings) == 1
    assert warnings[0].startswith("embeddings: all-MiniLM-L6-v2 not available (")
    assert str(empty) in warnings[0] and FALLBACK in warnings[0]
    assert "dense search quality is reduced" in warnings[0]


def test_auto_with_download_off_does_not_try_to_download(
    caplog: pytest.LogCaptureFixture,
) -> None:
    embedder = create_embedder(settings(provider="auto", download_timeout=0), LLMSettings())
    assert isinstance(embedder, HashEmbedder)
    assert factory.PROCESS_CACHE.download is None
    [warning] = fallback_warnings(caplog)
    assert "downloading is off" in warning


def test_auto_uses_the_model_when_its_files_are_there(
    tiny_model_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    embedder = create_embedder(
        settings(provider="auto", model_dir=tiny_model_dir, batch_size=5), LLMSettings()
    )
    assert isinstance(embedder, OnnxMiniLMEmbedder)
    assert embedder.dim == DIM and embedder.batch_size == 5
    assert fallback_warnings(caplog) == []


def test_onnx_threads_come_from_the_settings_and_zero_means_every_core(
    tiny_model_dir: Path,
) -> None:
    from knowledge.embeddings.onnx import default_threads

    pinned = create_embedder(
        settings(provider="onnx", model_dir=tiny_model_dir, threads=1), LLMSettings()
    )
    every = create_embedder(settings(provider="onnx", model_dir=tiny_model_dir), LLMSettings())
    assert isinstance(pinned, OnnxMiniLMEmbedder) and isinstance(every, OnnxMiniLMEmbedder)
    assert pinned.threads == 1
    assert every.threads == default_threads()


def test_auto_with_a_corrupt_model_falls_back(
    tiny_model_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tiny_model_dir / "model.onnx").write_bytes(b"garbage")
    embedder = create_embedder(settings(provider="auto", model_dir=tiny_model_dir), LLMSettings())
    assert isinstance(embedder, HashEmbedder)
    [warning] = fallback_warnings(caplog)
    assert "cannot be loaded by onnxruntime" in warning


def test_onnx_with_an_empty_custom_folder_explains_the_remedy(tmp_path: Path) -> None:
    with pytest.raises(EmbedderUnavailableError) as caught:
        create_embedder(settings(provider="onnx", model_dir=tmp_path), LLMSettings())
    message = caught.value.user_message
    assert str(tmp_path) in message and "model.onnx" in message
    assert "all-MiniLM-L6-v2 ONNX files" in message and "CURATOR_EMBEDDINGS__MODEL_DIR" in message
    assert "shared/tools" not in message  # not in a released Curator


def test_the_fallback_notice_names_remedies_a_released_curator_has(
    caplog: pytest.LogCaptureFixture,
) -> None:
    create_embedder(settings(provider="auto", download_timeout=0), LLMSettings())
    [warning] = fallback_warnings(caplog)
    assert "shared/tools" not in warning and "seed-minilm" not in warning
    assert "CURATOR_EMBEDDINGS__MODEL_DIR" in warning
    assert "~/.cache/chroma/onnx_models/all-MiniLM-L6-v2/onnx" in warning
    assert "allow the download" in warning


def test_onnx_reports_a_failed_download(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(EmbedderUnavailableError, match="the download failed"):
        create_embedder(settings(provider="onnx", download_timeout=5), LLMSettings())
    assert fallback_warnings(caplog) == []  # onnx was asked for: no silent fallback


class ArchiveServer:
    """Serves one file on 127.0.0.1, optionally stalling first."""

    def __init__(self, payload: bytes, stall: float = 0.0) -> None:
        outer = self
        self.hits = 0

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                outer.hits += 1
                if stall:
                    time.sleep(stall)
                    self.close_connection = True  # hang up without an answer
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/onnx.tar.gz"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def model_archive(tmp_path: Path) -> bytes:
    """onnx.tar.gz laid out like Chroma's, holding the tiny model."""
    folder = write_tiny_encoder(tmp_path / "archive-src" / "onnx")
    for name in ("config.json", "special_tokens_map.json", "tokenizer_config.json", "vocab.txt"):
        (folder / name).write_text("{}")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(folder, arcname="onnx")
    return buffer.getvalue()


@pytest.fixture
def archive_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ArchiveServer]:
    payload = model_archive(tmp_path)
    server = ArchiveServer(payload)
    monkeypatch.setattr(ONNXMiniLM_L6_V2, "MODEL_DOWNLOAD_URL", server.url)
    monkeypatch.setattr(ONNXMiniLM_L6_V2, "_MODEL_SHA256", hashlib.sha256(payload).hexdigest())
    yield server
    server.close()


def test_auto_downloads_the_model_with_chromas_downloader(
    archive_server: ArchiveServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    embedder = create_embedder(settings(provider="auto", download_timeout=10), LLMSettings())
    assert isinstance(embedder, OnnxMiniLMEmbedder)
    assert embedder.model_dir == tmp_path / "chroma-cache" / "onnx"
    assert archive_server.hits == 1
    assert embedder.embed(["the cat sat"]).shape == (1, DIM)
    assert fallback_warnings(caplog) == []


def test_a_slow_download_does_not_hold_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    server = ArchiveServer(b"", stall=1.0)
    monkeypatch.setattr(ONNXMiniLM_L6_V2, "MODEL_DOWNLOAD_URL", server.url)
    try:
        start = time.perf_counter()
        embedder = create_embedder(settings(provider="auto", download_timeout=0.2), LLMSettings())
        assert time.perf_counter() - start < 1.0
        assert isinstance(embedder, HashEmbedder)
        [warning] = fallback_warnings(caplog)
        assert "did not finish within 0.2 s" in warning
    finally:
        # Let the background download end while the URL still points at the test server.
        thread = factory.PROCESS_CACHE.download
        assert thread is not None
        thread.join(10)
        server.close()


def test_openai_provider_uses_the_llm_endpoint(embeddings_server: EmbeddingsServer) -> None:
    llm = LLMSettings(api_key=SecretStr("sk-x"), base_url=embeddings_server.base_url, retries=0)
    embedder = create_embedder(settings(provider="openai", model="embed-small", batch_size=2), llm)
    assert isinstance(embedder, OpenAIEmbedder)
    assert embedder.name == "openai-embed-small" and embedder.batch_size == 2
    assert embedder.embed(["a", "b", "c"]).shape[0] == 3
    assert len(embeddings_server.requests) == 2
    assert embeddings_server.authorizations[0] == "Bearer sk-x"


def test_openai_provider_without_an_endpoint_says_what_to_set() -> None:
    with pytest.raises(EmbedderUnavailableError, match="CURATOR_LLM__API_KEY"):
        create_embedder(settings(provider="openai"), LLMSettings())
