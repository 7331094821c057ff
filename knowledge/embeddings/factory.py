"""Builds the embedder the settings ask for, falling back to the hash embedder under `auto`."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from knowledge.embeddings.base import Embedder
from knowledge.embeddings.hash import HashEmbedder
from knowledge.embeddings.onnx import REMEDY, OnnxMiniLMEmbedder, missing_model_files
from knowledge.errors import EmbedderUnavailableError
from knowledge.settings import EmbeddingSettings, LLMSettings, with_overrides

log = logging.getLogger(__name__)


def create_embedder(
    embeddings: EmbeddingSettings, llm: LLMSettings, built_with: str | None = None
) -> Embedder:
    """The embedder for `embeddings.provider`; raises EmbedderUnavailableError naming the fix.

    Under `auto`, `built_with` (the name of the embedder that built the index) is kept while it
    is available, so a model appearing later never moves the index to an empty collection."""
    if embeddings.provider == "hash":
        return HashEmbedder(dim=embeddings.hash_dim)
    if embeddings.provider == "openai":
        return _openai_embedder(embeddings, llm)
    if embeddings.provider == "onnx":
        return _onnx_embedder(embeddings)
    dim = hash_dim_of(built_with)
    if dim is not None:
        return HashEmbedder(dim=dim)
    try:
        return _onnx_embedder(embeddings)
    except EmbedderUnavailableError as exc:
        _warn_fallback(str(exc))
        return HashEmbedder(dim=embeddings.hash_dim)


def hash_dim_of(name: str | None) -> int | None:
    """The dimension in a hash embedder's name (`hash-384`), or None for other names."""
    if not name or not name.startswith("hash-"):
        return None
    tail = name.removeprefix("hash-")
    return int(tail) if tail.isdigit() and 16 <= int(tail) <= 4096 else None


def configured_name(embeddings: EmbeddingSettings, built_with: str | None = None) -> str | None:
    """The name of the embedder create_embedder would build, without building it; None when
    that depends on whether the model loads (`auto` with no hash build to keep)."""
    if embeddings.provider == "hash":
        return f"hash-{embeddings.hash_dim}"
    if embeddings.provider == "onnx":
        return OnnxMiniLMEmbedder.name
    if embeddings.provider == "openai":
        from knowledge.embeddings.openai import embedder_name

        return embedder_name(embeddings.model)
    dim = hash_dim_of(built_with)
    return f"hash-{dim}" if dim is not None else None


def likely_names(embeddings: EmbeddingSettings, explicit: str | None = None) -> list[str]:
    """Names an index in this data dir was probably built with, the configured one first."""
    first = explicit or configured_name(embeddings)
    names = [first] if first else []
    names += [OnnxMiniLMEmbedder.name, f"hash-{embeddings.hash_dim}"]
    return list(dict.fromkeys(names))


def embedder_named(
    name: str, model: str, embeddings: EmbeddingSettings, llm: LLMSettings
) -> Embedder:
    """The embedder that built a collection, to keep serving it (query vectors only).

    Raises EmbedderUnavailableError when it cannot be had here (model gone, no endpoint)."""
    dim = hash_dim_of(name)
    if dim is not None:
        return HashEmbedder(dim=dim)
    if name == OnnxMiniLMEmbedder.name:
        return _onnx_embedder(embeddings)
    if name.startswith("openai-") and model:
        return _openai_embedder(with_overrides(embeddings, model=model), llm)
    raise EmbedderUnavailableError(f"the embedder {name!r} that built the index is not known here")


def chroma_model_dir() -> Path:
    """The folder Chroma's own ONNXMiniLM_L6_V2 reads and downloads the model to."""
    from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2

    return Path(ONNXMiniLM_L6_V2.DOWNLOAD_PATH) / ONNXMiniLM_L6_V2.EXTRACTED_FOLDER_NAME


def _warn_fallback(reason: str) -> None:
    if not PROCESS_CACHE.first_fallback():
        log.debug("embeddings: still using the hash embedder (%s)", reason)
        return
    log.warning(
        "embeddings: all-MiniLM-L6-v2 not available (%s); using the deterministic hash "
        "embedder — dense search quality is reduced",
        reason,
    )


def _openai_embedder(embeddings: EmbeddingSettings, llm: LLMSettings) -> Embedder:
    if not llm.configured:
        raise EmbedderUnavailableError(
            "The openai embeddings provider needs an endpoint: set CURATOR_LLM__API_KEY "
            "(or OPENAI_API_KEY), or CURATOR_LLM__BASE_URL for a keyless local server."
        )
    # Imported here: the SDK is slow to import and only this provider needs it.
    from knowledge.embeddings.openai import OpenAIEmbedder

    return OpenAIEmbedder(
        model=embeddings.model,
        api_key=llm.api_key.get_secret_value() if llm.api_key is not None else None,
        base_url=llm.base_url,
        timeout=llm.timeout,
        batch_size=embeddings.batch_size,
        max_retries=llm.retries,
    )


def _onnx_embedder(embeddings: EmbeddingSettings) -> Embedder:
    model_dir = embeddings.model_dir.expanduser() if embeddings.model_dir else chroma_model_dir()
    if missing_model_files(model_dir):
        _download_model(model_dir, embeddings.download_timeout)
    return OnnxMiniLMEmbedder(
        model_dir, batch_size=embeddings.batch_size, threads=embeddings.threads or None
    )


def _download_model(model_dir: Path, timeout: float) -> None:
    """Fetch the model with Chroma's downloader into its cache, waiting at most `timeout` s."""
    missing = ", ".join(missing_model_files(model_dir))
    problem = f"all-MiniLM-L6-v2 is not in {model_dir} (missing: {missing})"
    if model_dir.expanduser().resolve() != chroma_model_dir().expanduser().resolve():
        # Chroma's downloader only fills its own cache; a custom folder must be filled by hand.
        raise EmbedderUnavailableError(
            f"{problem}. Put the all-MiniLM-L6-v2 ONNX files there (model.onnx and "
            "tokenizer.json, as in Chroma's archive "
            "https://chroma-onnx-models.s3.amazonaws.com/all-MiniLM-L6-v2/onnx.tar.gz), or unset "
            "CURATOR_EMBEDDINGS__MODEL_DIR to use Chroma's model cache, which Curator can "
            "download into."
        )
    if timeout <= 0:
        raise EmbedderUnavailableError(
            f"{problem} and downloading is off (CURATOR_EMBEDDINGS__DOWNLOAD_TIMEOUT=0). " + REMEDY
        )
    thread = PROCESS_CACHE.start_download()
    thread.join(timeout)
    if thread.is_alive():
        raise EmbedderUnavailableError(
            f"{problem} and the download did not finish within {timeout:g} s "
            "(it goes on in the background and will be used next start). " + REMEDY
        )
    if thread.error is not None:
        raise EmbedderUnavailableError(
            f"{problem} and the download failed ({thread.error}). " + REMEDY
        )
    still_missing = missing_model_files(model_dir)
    if still_missing:
        raise EmbedderUnavailableError(
            f"{problem}; the download finished without {', '.join(still_missing)}. " + REMEDY
        )
    log.info("embeddings: downloaded all-MiniLM-L6-v2 to %s", model_dir)


class _ModelDownload(threading.Thread):
    """Chroma's downloader in a thread, keeping its failure for whoever waits on it."""

    def __init__(self) -> None:
        super().__init__(name="minilm-download", daemon=True)
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2

            ONNXMiniLM_L6_V2()._download_model_if_not_exists()
        except Exception as exc:  # network, disk, checksum: all mean "not available"
            self.error = exc


class ProcessCache:
    """What every embedder built in this process shares, kept on purpose for the process's life.

    The fallback warning is said once per process, not once per index or per command; and one
    model download runs at a time, because a timed-out download keeps running and a second one
    would write the same archive. Tests start a fresh 'process' with `clear()`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fallback_warned = False
        self.download: _ModelDownload | None = None

    def first_fallback(self) -> bool:
        """True the first time this process falls back to the hash embedder, then False."""
        with self._lock:
            first, self._fallback_warned = not self._fallback_warned, True
            return first

    def start_download(self) -> _ModelDownload:
        """The running download, or a new one when none is running."""
        with self._lock:
            if self.download is None or not self.download.is_alive():
                log.info("embeddings: downloading all-MiniLM-L6-v2 with Chroma's downloader")
                self.download = _ModelDownload()
                self.download.start()
            return self.download

    def clear(self) -> None:
        """Forget the warning and the download, as a new process would (for tests)."""
        with self._lock:
            self._fallback_warned = False
            self.download = None


#: The one ProcessCache: a cache by design (see the class).
PROCESS_CACHE = ProcessCache()
