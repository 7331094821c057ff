"""The embedder interface every provider implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


class Embedder(ABC):
    """Turns texts into L2-normalised float32 vectors (one row per text)."""

    #: Stable name; the Chroma collection is named after it so vector spaces never mix.
    name: str
    #: Vector length.
    dim: int
    #: Most word pieces the model reads, or None when input length does not matter.
    max_tokens: int | None = None
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
        """Approximate word pieces in `text`, used to size chunks to `max_tokens`."""
        # ~1.3 word pieces per English word is what BERT tokenizers give on prose.
        return int(len(text.split()) * 1.3) + 1
