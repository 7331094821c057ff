"""QueryVectorCache: the query vectors of one answer, so each distinct text is embedded once.

An answer needs its query's vector in several steps (hybrid search; the search again without
filters when the filtered one was too weak; the extractive ranking of quotable sentences).
The answer service makes one cache per answer and hands it to each of those steps; it is never
shared between answers, so it holds a handful of vectors and never goes stale.
"""

from __future__ import annotations

from knowledge.embeddings.base import Embedder, Vectors


class QueryVectorCache:
    """A cache of `embedder.embed_query(text)` results, keyed by embedder name and exact text.

    The name keys the vector space (collections are named after it), so a build switch in the
    middle of an answer gets a fresh vector rather than one from the other space. Vectors are
    handed out read-only: every step shares the same array. Meant for the steps of one answer,
    which run one after another; two threads asking for a new text at once would each embed it.
    """

    def __init__(self) -> None:
        self._vectors: dict[tuple[str, str], Vectors] = {}

    def vector(self, embedder: Embedder, text: str) -> Vectors:
        """The (dim,) query vector of `text`, embedded on the first request only; the
        embedder's errors propagate and nothing is kept for that text."""
        key = (embedder.name, text)
        vector = self._vectors.get(key)
        if vector is None:
            vector = embedder.embed_query(text)
            vector.flags.writeable = False
            self._vectors[key] = vector
        return vector
