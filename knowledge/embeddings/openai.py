"""Embeddings from an OpenAI-compatible /v1/embeddings endpoint (OpenAI, Ollama, vLLM, ...)."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import numpy as np
import openai

from knowledge.embeddings.base import Embedder, Vectors
from knowledge.errors import EmbedderUnavailableError
from knowledge.url_credentials import url_without_credentials, without_url_credentials

log = logging.getLogger(__name__)

# Keyless local servers still need some key: the SDK refuses to build a client without one.
_PLACEHOLDER_KEY = "not-needed"


def embedder_name(model: str) -> str:
    """`openai-<model>` with only the characters Chroma allows in collection names."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", model).strip("-._")
    return f"openai-{cleaned or 'model'}"


class OpenAIEmbedder(Embedder):
    """Calls `embeddings.create` in batches; vectors come back L2-normalised float32."""

    max_tokens = None
    #: OpenAI's embedding models read at most 8,191 tokens of one input.
    max_input_bytes = 8191

    def __init__(
        self,
        model: str,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 30.0,
        batch_size: int = 256,
        max_retries: int = 2,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.model = model
        self.name = embedder_name(model)
        self.batch_size = batch_size
        self._dim: int | None = None
        self._client = openai.OpenAI(
            api_key=api_key or _PLACEHOLDER_KEY,
            base_url=base_url or None,
            timeout=timeout,
            max_retries=max_retries,
        )
        self._where = url_without_credentials(base_url) if base_url else "the OpenAI API"

    @property
    def dim(self) -> int:  # type: ignore[override]
        """Vector length, learnt from the first response (asked for now if none came yet)."""
        if self._dim is None:
            self.embed(["dimension probe"])
        assert self._dim is not None
        return self._dim

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed texts, `batch_size` per request, in the order given."""
        if len(texts) == 0:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        parts = [
            self._request(list(texts[i : i + self.batch_size]))
            for i in range(0, len(texts), self.batch_size)
        ]
        vectors = np.concatenate(parts)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return (vectors / norms).astype(np.float32)

    def _request(self, batch: list[str]) -> Vectors:
        # The API rejects empty strings; a single space embeds as "nothing" just as well.
        inputs = [text if text.strip() else " " for text in batch]
        try:
            response = self._client.embeddings.create(
                model=self.model, input=inputs, encoding_format="float"
            )
        except openai.AuthenticationError as exc:
            raise EmbedderUnavailableError(
                f"Embeddings endpoint {self._where} refused the API key (HTTP 401); "
                "check CURATOR_LLM__API_KEY."
            ) from exc
        except openai.PermissionDeniedError as exc:
            raise EmbedderUnavailableError(
                f"Embeddings endpoint {self._where} denied access to model {self.model!r} "
                "(HTTP 403)."
            ) from exc
        except openai.NotFoundError as exc:
            raise EmbedderUnavailableError(
                f"Embeddings endpoint {self._where} does not know model {self.model!r} "
                "(HTTP 404); check CURATOR_EMBEDDINGS__MODEL and CURATOR_LLM__BASE_URL."
            ) from exc
        except openai.APIStatusError as exc:
            raise EmbedderUnavailableError(
                f"Embeddings endpoint {self._where} failed with HTTP {exc.status_code}: "
                f"{_short(exc.message)}"
            ) from exc
        except openai.APITimeoutError as exc:
            raise EmbedderUnavailableError(
                f"Embeddings endpoint {self._where} did not answer in time."
            ) from exc
        except openai.APIConnectionError as exc:
            raise EmbedderUnavailableError(
                f"Embeddings endpoint {self._where} cannot be reached: {_short(str(exc))}"
            ) from exc
        except openai.OpenAIError as exc:  # e.g. a malformed response body
            raise EmbedderUnavailableError(
                f"Embeddings endpoint {self._where} gave an unusable answer: {_short(str(exc))}"
            ) from exc

        rows = sorted(response.data, key=lambda item: item.index)
        if len(rows) != len(batch):
            raise EmbedderUnavailableError(
                f"Embeddings endpoint {self._where} returned {len(rows)} vectors "
                f"for {len(batch)} texts."
            )
        try:
            vectors = np.asarray([row.embedding for row in rows], dtype=np.float32)
        except ValueError as exc:  # ragged rows
            raise EmbedderUnavailableError(
                f"Embeddings endpoint {self._where} returned vectors of different lengths."
            ) from exc
        if vectors.ndim != 2 or vectors.shape[1] == 0:
            raise EmbedderUnavailableError(
                f"Embeddings endpoint {self._where} returned empty vectors."
            )
        if self._dim is None:
            self._dim = int(vectors.shape[1])
        elif vectors.shape[1] != self._dim:
            raise EmbedderUnavailableError(
                f"Embeddings endpoint {self._where} switched from {self._dim} to "
                f"{vectors.shape[1]} dimensions; reindex after changing the model."
            )
        return vectors


def _short(message: str, limit: int = 300) -> str:
    # The SDK's text can quote the request URL, credentials and all.
    message = without_url_credentials(message)
    return message if len(message) <= limit else message[:limit] + "…"
