"""all-MiniLM-L6-v2 through onnxruntime: Chroma's default model and vectors, computed faster."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from knowledge.embeddings.base import Embedder, Vectors
from knowledge.embeddings.onnx_fusion import DEFAULT_CACHE_DIR, ensure_fused_model
from knowledge.errors import EmbedderUnavailableError

log = logging.getLogger(__name__)
#: A cache by design, for the process's life: model files whose fusion failed and was reported,
#: so the INFO line appears once each however many embedders open them.
UNFUSED_REPORTED_CACHE: set[Path] = set()

#: Where Chroma's ONNXMiniLM_L6_V2 keeps (and downloads) the model.
DEFAULT_MODEL_DIR = Path.home() / ".cache" / "chroma" / "onnx_models" / "all-MiniLM-L6-v2" / "onnx"
#: The files this embedder reads from the model folder.
MODEL_FILES = ("model.onnx", "tokenizer.json")
#: Word pieces the model reads, [CLS] and [SEP] included; Chroma truncates at the same length.
MAX_TOKENS = 256
#: Padded tokens (texts x longest) per batch: two full-length texts. Small batches keep a
#: layer's activations (and the batch x heads x length² attention scores) in cache: one core
#: embeds 256-token texts ~1.2x faster in batches of 512 tokens than of 8,192, as Chroma runs
#: them (bench/bench_embedder.py).
DEFAULT_MAX_BATCH_TOKENS = 2 * MAX_TOKENS

REMEDY = (
    "Put the all-MiniLM-L6-v2 ONNX files (model.onnx and tokenizer.json, as in Chroma's "
    "archive https://chroma-onnx-models.s3.amazonaws.com/all-MiniLM-L6-v2/onnx.tar.gz) in "
    "CURATOR_EMBEDDINGS__MODEL_DIR or in ~/.cache/chroma/onnx_models/all-MiniLM-L6-v2/onnx, "
    "or allow the download (network access and CURATOR_EMBEDDINGS__DOWNLOAD_TIMEOUT > 0)."
)


def missing_model_files(model_dir: Path) -> list[str]:
    """The files of MODEL_FILES that `model_dir` lacks (empty files count as missing)."""
    missing = []
    for name in MODEL_FILES:
        path = model_dir / name
        if not path.is_file() or path.stat().st_size == 0:
            missing.append(name)
    return missing


def default_threads() -> int:
    """CPU cores this process may use (its affinity mask, which containers restrict)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def plan_batches(
    lengths: Sequence[int], batch_size: int, max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS
) -> list[npt.NDArray[np.int64]]:
    """Group text positions by length so each batch pads little: longest first, at most
    `batch_size` texts and (beyond one text) `max_batch_tokens` padded tokens per batch."""
    order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")
    batches: list[npt.NDArray[np.int64]] = []
    start = 0
    while start < len(order):
        longest = int(lengths[order[start]])
        size = max(1, min(batch_size, max_batch_tokens // max(longest, 1)))
        batches.append(order[start : start + size])
        start += size
    return batches


def mean_pool(hidden: npt.NDArray[np.float32], mask: npt.NDArray[np.int64]) -> Vectors:
    """Average the token vectors the attention mask keeps, then L2-normalise (as Chroma does)."""
    weights = mask.astype(np.float32)
    summed = np.matmul(weights[:, None, :], hidden)[:, 0, :]
    counts = np.clip(weights.sum(axis=1, keepdims=True), 1e-9, None)
    pooled = summed / counts
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    # Chroma (after PyTorch) replaces a zero norm by 1e-12 rather than dividing by zero.
    norms[norms == 0] = 1e-12
    return (pooled / norms).astype(np.float32)


def load_tokenizer(path: Path, max_tokens: int | None = MAX_TOKENS) -> Any:
    """The model's word-piece tokenizer, truncating at `max_tokens` and never padding."""
    from tokenizers import Tokenizer

    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises a bare Exception on a malformed file
        raise EmbedderUnavailableError(f"{path} cannot be read as a tokenizer: {exc}") from exc
    # tokenizer.json itself asks for truncation and fixed padding at 128; Chroma overrides
    # the length to 256 and pads to it, we pad each batch ourselves to its longest text.
    tokenizer.no_padding()
    if max_tokens is None:
        tokenizer.no_truncation()
    else:
        tokenizer.enable_truncation(max_length=max_tokens)
    return tokenizer


class OnnxMiniLMEmbedder(Embedder):
    """all-MiniLM-L6-v2 with Chroma's model files and vectors: dynamic padding, small
    length-sorted batches run side by side on `threads` cores, one reused onnxruntime session.
    With `fuse`, it runs a fused copy of the model (built once and cached in
    `fused_cache_dir`), or the plain model if that cannot be had.

    Each batch runs single-threaded and the batches of one call are spread over the cores:
    splitting every small operator of a 6-layer model across cores costs a synchronisation per
    operator, while whole batches in parallel keep each core busy with no waiting."""

    name = "minilm-l6-v2"
    max_tokens = MAX_TOKENS

    def __init__(
        self,
        model_dir: Path | None = None,
        batch_size: int = 32,
        threads: int | None = None,
        max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS,
        fuse: bool = True,
        fused_cache_dir: Path | None = None,
    ) -> None:
        self.model_dir = Path(model_dir or DEFAULT_MODEL_DIR).expanduser()
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.batch_size = batch_size
        self.max_batch_tokens = max_batch_tokens
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        #: Batches embedded at once, one core each.
        self.threads = threads or default_threads()
        missing = missing_model_files(self.model_dir)
        if missing:
            raise EmbedderUnavailableError(
                f"all-MiniLM-L6-v2 is not in {self.model_dir} (missing: {', '.join(missing)}). "
                + REMEDY
            )
        self._tokenizer = load_tokenizer(self.model_dir / "tokenizer.json")
        # A second, untruncated copy, so count_tokens sees whole texts without reconfiguring
        # (and racing) the tokenizer that embed() uses.
        self._counter = load_tokenizer(self.model_dir / "tokenizer.json", max_tokens=None)
        plain = self.model_dir / "model.onnx"
        #: The model file the session runs: the fused copy, or model.onnx itself.
        self.model_path: Path = plain
        self._session: Any = None
        if fuse:
            self._session = self._open_fused(plain, fused_cache_dir or DEFAULT_CACHE_DIR)
        if self._session is None:
            self._session = self._open_session(plain)
        self._input_names = {node.name for node in self._session.get_inputs()}
        if not {"input_ids", "attention_mask"} <= self._input_names:
            raise EmbedderUnavailableError(
                f"{self.model_dir / 'model.onnx'} is not a BERT-style encoder: it takes "
                f"{sorted(self._input_names)}, not input_ids and attention_mask."
            )
        width = self._session.get_outputs()[0].shape[-1]
        self.dim = width if isinstance(width, int) else int(self.embed([""]).shape[1])

    def _open_fused(self, plain: Path, cache_dir: Path) -> Any:
        """A session on the fused model, or None (reported once per model) when it fails."""
        try:
            path = ensure_fused_model(plain, cache_dir)
            session = self._open_session(path)
        except Exception as exc:  # any failure only costs speed: the plain model still works
            if plain not in UNFUSED_REPORTED_CACHE:
                UNFUSED_REPORTED_CACHE.add(plain)
                log.info("running %s unfused (slower, same vectors): %s", plain, exc)
            return None
        self.model_path = path
        return session

    @staticmethod
    def _open_session(path: Path) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Every run computes on its caller's thread; embed() runs batches side by side itself.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        try:
            return ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types per failure
            raise EmbedderUnavailableError(
                f"{path} cannot be loaded by onnxruntime ({exc}). " + REMEDY
            ) from exc

    def count_tokens(self, text: str) -> int:
        """Word pieces of `text`, without the [CLS] and [SEP] the model adds around it, so
        counts add up; the model reads at most max_tokens - 2 pieces of one text."""
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed texts in length-sorted batches; rows come back in the order given."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(texts) == 1:
            # The bot embeds one question at a time: skip the batching bookkeeping.
            return self._run([self._tokenizer.encode(texts[0]).ids])
        encodings = self._tokenizer.encode_batch(list(texts))
        pieces = [encoding.ids for encoding in encodings]
        result = np.empty((len(texts), self.dim), dtype=np.float32)
        batches = plan_batches([len(ids) for ids in pieces], self.batch_size, self.max_batch_tokens)
        workers = min(self.threads, len(batches))
        if workers == 1:
            for batch in batches:
                result[batch] = self._run([pieces[i] for i in batch])
            return result
        # Longest batches first (plan_batches' order), so the cores finish close together.
        # onnxruntime releases the GIL while a session runs, and run() is thread-safe.
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="curator-embed") as pool:
            runs = pool.map(lambda batch: self._run([pieces[i] for i in batch]), batches)
            for batch, vectors in zip(batches, runs, strict=True):
                result[batch] = vectors
        return result

    def _run(self, pieces: list[list[int]]) -> Vectors:
        """One forward pass over texts padded to the longest of them."""
        longest = max(len(ids) for ids in pieces)
        input_ids = np.zeros((len(pieces), longest), dtype=np.int64)
        mask = np.zeros((len(pieces), longest), dtype=np.int64)
        for row, ids in enumerate(pieces):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        feed = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feed["token_type_ids"] = np.zeros_like(input_ids)
        hidden = self._session.run(None, feed)[0]
        return mean_pool(hidden, mask)
