"""The embedder interface every provider implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from knowledge.tokens import estimate_tokens

Vectors = npt.NDArray[np.float32]


class Embedder(ABC):
    """Turns texts into L2-normalised float32 vectors (one row per text)."""

    #: Stable name; the Chroma collection is named after it so vector spaces never mix.
    name: str
    #: Vector length.
    dim: int
    #: Most word pieces the model reads, or None when input length does not matter.
    max_tokens: int | None = None
    #: Largest input in UTF-8 bytes, for providers whose tokenizer is not local: byte-level BPE
    #: never makes more tokens than bytes, so a cap at the token limit keeps inputs under it.
    max_input_bytes: int | None = None
    #: Weight of this embedder's ranking when fused with BM25 (measured on xquad-en: see
    #: docs/benchmarks.md). A weak embedder gets less say than a learned one.
    fusion_weight: float = 0.5

    @abstractmethod
    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed documents or queries; returns an array of shape (len(texts), dim)."""

    def embed_query(self, text: str) -> Vectors:
        """One query's vector, shape (dim,)."""
        return self.embed([text])[0]

    def count_tokens(self, text: str) -> int:
        """Approximate word pieces in `text` (any script), used to size chunks."""
        return estimate_tokens(text)
