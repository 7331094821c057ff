"""Chroma, in-process or over HTTP: one collection per embedder, vectors supplied by us."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from knowledge.embeddings.base import Vectors
from knowledge.errors import StoreUnavailableError
from knowledge.models import Chunk, SearchFilters, date_to_number
from knowledge.settings import ChromaSettings

log = logging.getLogger(__name__)

_UPSERT_BATCH = 1000


def collection_name(prefix: str, embedder_name: str) -> str:
    """A valid Chroma name that says which vector space the collection holds."""
    slug = re.sub(r"[^a-zA-Z0-9_-]+", "-", embedder_name).strip("-_") or "default"
    return f"{prefix}-{slug}"[:60]


def bound_requests(client: Any, seconds: float) -> bool:
    """Give the HTTP session under a chromadb HttpClient a timeout; True when it took.

    chromadb (1.5) builds that session with timeout=None and no client setting changes it, so
    a server that accepts connections and then stalls would hang every call, and with it every
    question, forever. Its session is private: when a chromadb release moves it, this says so
    and leaves the client as it is."""
    session = getattr(getattr(client, "_server", None), "_session", None)
    if not isinstance(session, httpx.Client):
        log.warning(
            "cannot set a timeout on this chromadb client's requests (%s): a stalled Chroma "
            "server may hang searches",
            type(client).__name__,
        )
        return False
    session.timeout = httpx.Timeout(seconds)
    return True


def release_http_client(client: Any) -> None:
    """Close a chromadb HttpClient and the HTTP sessions under it: chromadb (1.5) gives a client
    and its admin client a session each (never shared with another client) and closes
    neither, so their pooled sockets would stay open until garbage collection."""
    owners = (client, getattr(client, "_admin_client", None))
    sessions = [getattr(getattr(owner, "_server", None), "_session", None) for owner in owners]
    client.close()
    for session in sessions:
        if isinstance(session, httpx.Client):
            session.close()


def topic_key(topic: str) -> str:
    """Metadata key flagging a topic; Chroma filters scalars, not list members."""
    return "t_" + re.sub(r"[^a-z0-9]+", "_", topic.casefold()).strip("_")


def chunk_metadata(chunk: Chunk) -> dict[str, str | int | bool]:
    meta: dict[str, str | int | bool] = {
        "article_id": chunk.article_id,
        "kind": chunk.kind,
        "position": chunk.position,
        "title": chunk.title,
        "url": chunk.url,
        "source": chunk.source,
        "author": chunk.author,
        "published": chunk.published,
        "curated": chunk.curated,
        "topics": "|".join(chunk.topics),
        "heading": chunk.heading,
    }
    for topic in chunk.topics:
        meta[topic_key(topic)] = True
    return meta


def where_clause(filters: SearchFilters | None) -> dict[str, Any] | None:
    """The Chroma `where` for our filters (None when unfiltered)."""
    if filters is None or filters.is_empty():
        return None
    terms: list[dict[str, Any]] = []
    if filters.topic:
        terms.append({topic_key(filters.topic): True})
    if filters.source:
        terms.append({"source": filters.source})
    if filters.since:
        terms.append({"curated": {"$gte": date_to_number(filters.since)}})
    if filters.until:
        terms.append({"curated": {"$lte": date_to_number(filters.until)}})
    return terms[0] if len(terms) == 1 else {"$and": terms}


@dataclass(frozen=True)
class DenseMatch:
    id: str
    similarity: float


class VectorStore:
    """The Chroma collection of one embedder."""

    def __init__(self, settings: ChromaSettings, data_dir: Path, embedder_name: str) -> None:
        self.settings = settings
        self.name = collection_name(settings.collection_prefix, embedder_name)
        self.location = settings.server_url or str(data_dir / "chroma")
        self._data_dir = data_dir
        self._collection: Any = None
        self._server_client: Any = None

    @property
    def mode(self) -> str:
        return "server" if self.settings.host else "embedded"

    def _get(self) -> Any:
        if self._collection is None:
            self._collection = self._open()
        return self._collection

    def _open(self) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaClientSettings

        client_settings = ChromaClientSettings(anonymized_telemetry=False)
        try:
            if self.settings.host:
                # Reopening after a failure: the old client's connections go first.
                stale, self._server_client = self._server_client, None
                if stale is not None:
                    release_http_client(stale)
                # HttpClient() itself makes requests with no timeout: a stalled server must
                # fail this heartbeat first.
                httpx.get(
                    str(self.settings.heartbeat_url), timeout=self.settings.timeout
                ).raise_for_status()
                client = chromadb.HttpClient(
                    host=self.settings.host,
                    port=self.settings.port,
                    ssl=self.settings.ssl,
                    settings=client_settings,
                )
                bound_requests(client, self.settings.timeout)
                self._server_client = client
            else:
                path = self._data_dir / "chroma"
                path.mkdir(parents=True, exist_ok=True)
                client = chromadb.PersistentClient(path=str(path), settings=client_settings)
            return client.get_or_create_collection(
                self.name,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
            )
        except Exception as exc:
            problem = "cannot be reached" if self.settings.host else "cannot be opened"
            raise StoreUnavailableError(
                f"The vector store at {self.location} {problem}: {exc}"
            ) from exc

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        collection = self._get()
        try:
            return fn(collection, *args, **kwargs)
        except StoreUnavailableError:
            raise
        except Exception as exc:
            # A server restart invalidates the handle; reopen on the next call.
            if self.settings.host:
                self._collection = None
            raise StoreUnavailableError(
                f"The vector store at {self.location} failed to {what}: {exc}"
            ) from exc

    def upsert(self, chunks: Sequence[Chunk], vectors: Vectors) -> None:
        """Write records (vectors and filterable metadata) in as few calls as possible."""
        for start in range(0, len(chunks), _UPSERT_BATCH):
            batch = chunks[start : start + _UPSERT_BATCH]
            documents = (
                {"documents": [x.text for x in batch]} if self.settings.store_documents else {}
            )
            self._call(
                "store vectors",
                lambda c, b=batch, s=start, d=documents: c.upsert(
                    ids=[x.id for x in b],
                    embeddings=vectors[s : s + len(b)],
                    metadatas=[chunk_metadata(x) for x in b],
                    **d,
                ),
            )

    def delete(self, ids: Sequence[str]) -> None:
        for start in range(0, len(ids), _UPSERT_BATCH):
            batch = list(ids[start : start + _UPSERT_BATCH])
            self._call("delete vectors", lambda c, b=batch: c.delete(ids=b))

    def delete_articles(self, article_ids: Sequence[str]) -> None:
        """Remove every record of these articles, including ones the catalog never saw."""
        for aid in article_ids:
            self._call("delete vectors", lambda c, a=aid: c.delete(where={"article_id": a}))

    def ids_of_article(self, article_id: str) -> list[str]:
        got = self._call(
            "list vectors", lambda c: c.get(where={"article_id": article_id}, include=[])
        )
        return list(got["ids"])

    def query(
        self, vector: Vectors, n: int, filters: SearchFilters | None = None
    ) -> list[DenseMatch]:
        where = where_clause(filters)
        got = self._call(
            "search",
            # Distances only: fetching metadata for every candidate costs more than HNSW itself.
            lambda c: c.query(
                query_embeddings=[np.asarray(vector, dtype=np.float32)],
                n_results=n,
                where=where,
                include=["distances"],
            ),
        )
        ids = got["ids"][0] if got["ids"] else []
        distances = got["distances"][0] if got.get("distances") else []
        # Chroma's cosine distance is 1 - cosine similarity.
        return [
            DenseMatch(id=i, similarity=1.0 - float(d))
            for i, d in zip(ids, distances, strict=False)
        ]

    def count(self) -> int:
        return int(self._call("count vectors", lambda c: c.count()))

    def ping(self) -> None:
        """Raise StoreUnavailableError unless the store answers."""
        self.count()

    def close(self) -> None:
        self._collection = None
        client, self._server_client = self._server_client, None
        if client is not None:
            release_http_client(client)
