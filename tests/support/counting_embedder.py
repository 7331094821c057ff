"""An Embedder that gives another embedder's vectors and counts every text it embeds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from knowledge.embeddings.base import Embedder, Vectors


class CountingEmbedder(Embedder):
    """`inner`'s vectors under `inner`'s name (so refusal calibration and collections match).

    `embedded` counts each text by how often it was embedded, through `embed` or
    `embed_query` alike; `query_calls` counts the `embed_query` calls.
    """

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.max_tokens = inner.max_tokens
        self.max_input_bytes = inner.max_input_bytes
        self.fusion_weight = inner.fusion_weight
        self.embedded: Counter[str] = Counter()
        self.query_calls = 0

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.embedded.update(texts)
        return self.inner.embed(texts)

    def embed_query(self, text: str) -> Vectors:
        self.query_calls += 1
        return super().embed_query(text)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def reset(self) -> None:
        """Forget what was counted (between the steps of a test)."""
        self.embedded.clear()
        self.query_calls = 0
