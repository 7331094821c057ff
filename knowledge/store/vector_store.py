"""Chroma, in-process or over HTTP: one collection per embedder, vectors supplied by us."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from knowledge.embeddings.base import Vectors
from knowledge.errors import StoreUnavailableError
from knowledge.models import Chunk, SearchFilters, date_to_number
from knowledge.settings import ChromaSettings
from knowledge.store.embedded_lock import EmbeddedStoreLock
from knowledge.store.filter_keys import (
    FILTER_SCHEMA,
    PUBLISHER_KEY_SCHEMA,
    filter_key,
    topic_key,
)
from knowledge.url_credentials import url_without_credentials

log = logging.getLogger(__name__)

_UPSERT_BATCH = 1000


#: Chroma accepts 3-63 characters, starting and ending with a letter or digit.
_MAX_NAME = 63
_DIGEST = 8


def collection_name(prefix: str, embedder_name: str) -> str:
    """A Chroma-valid name saying which vector space the collection holds.

    `<prefix>-<readable part of the embedder name>-<8 hex of sha256(full name)>`: the readable
    part is cut to fit 63 characters, and the hash keeps models that share a long common
    beginning (or differ only in characters Chroma refuses) apart."""
    digest = hashlib.sha256(embedder_name.encode()).hexdigest()[:_DIGEST]
    room = _MAX_NAME - len(prefix) - len(digest) - 2
    slug = re.sub(r"[^a-zA-Z0-9_-]+", "-", embedder_name)[: max(room, 0)]
    slug = re.sub(r"[^a-zA-Z0-9]+$", "", re.sub(r"^[^a-zA-Z0-9]+", "", slug))
    return f"{prefix}-{slug}-{digest}" if slug else f"{prefix}-{digest}"


def legacy_collection_name(prefix: str, embedder_name: str) -> str:
    """The name releases before collection names carried a hash used (to adopt their data)."""
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


def text_hash(chunk: Chunk) -> str:
    """What a chunk's vector was computed from, as 16 hex: stored with the vector so a store
    restored from an older backup is told apart from the catalog's chunks."""
    return hashlib.sha256(chunk.embedding_text().encode()).hexdigest()[:16]


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


def chunk_metadata(chunk: Chunk) -> dict[str, str | int | bool]:
    """Filterable fields of a chunk, plus `h` (its text hash)."""
    meta: dict[str, str | int | bool] = {
        "h": text_hash(chunk),
        "article_id": chunk.article_id,
        "kind": chunk.kind,
        "position": chunk.position,
        "title": chunk.title,
        "url": chunk.url,
        "publisher": chunk.publisher,
        "publisher_key": filter_key(chunk.publisher),
        "author": chunk.author,
        "published": chunk.published,
        "curated": chunk.curated,
        "topics": "|".join(chunk.topics),
        "heading": chunk.heading,
    }
    for topic in chunk.topics:
        meta[topic_key(topic)] = True
    return meta


#: Metadata keys of earlier filter schemas, removed when a vector is relabelled.
RETIRED_KEYS: dict[str, None] = {"source": None, "source_key": None}


def where_clause(
    filters: SearchFilters | None, schema: int | None = FILTER_SCHEMA
) -> dict[str, Any] | None:
    """The Chroma `where` for our filters (None when unfiltered), for vectors labelled under
    filter schema `schema` (the collection's mark; None when it has none)."""
    if filters is None or filters.is_empty():
        return None
    terms: list[dict[str, Any]] = []
    if filters.topic:
        terms.append({topic_key(filters.topic): True})
    if filters.publisher:
        key = filter_key(filters.publisher)
        if schema is not None and schema >= PUBLISHER_KEY_SCHEMA:
            terms.append({"publisher_key": key})
        else:
            # Not yet relabelled: old vectors carry `source_key`, and a relabel half done (or
            # done by another process since this handle opened) leaves some of each.
            terms.append({"$or": [{"publisher_key": key}, {"source_key": key}]})
    if filters.since:
        terms.append({"curated": {"$gte": date_to_number(filters.since)}})
    if filters.until:
        terms.append({"curated": {"$lte": date_to_number(filters.until)}})
    return terms[0] if len(terms) == 1 else {"$and": terms}


#: Collection metadata keys: a token changed on every completed write (compared with the
#: catalog's copy) and the FILTER_SCHEMA the chunks' metadata follows.
EPOCH_KEY = "curator_epoch"
SCHEMA_KEY = "curator_filter_schema"


def _schema_of(collection: Any) -> int | None:
    """The filter schema mark of an open collection handle, as of when it was opened."""
    schema = (collection.metadata or {}).get(SCHEMA_KEY)
    return int(schema) if schema is not None else None


def forget_embedded_client(path: Path) -> None:
    """Drop chromadb's cached in-process client for `path`.

    chromadb keeps one client per folder for the life of the process; once this process lets
    the store go, another may write it, and a cached client would keep serving its old view."""
    from chromadb.api.shared_system_client import SharedSystemClient

    system = SharedSystemClient._identifier_to_system.pop(str(path), None)
    SharedSystemClient._identifier_to_refcount.pop(str(path), None)
    if system is not None:
        try:
            system.stop()
        except Exception as exc:  # stopping is tidying up; the lock is released regardless
            log.debug("stopping the chromadb client for %s failed: %s", path, exc)


@dataclass(frozen=True)
class DenseMatch:
    id: str
    similarity: float


@dataclass
class StoredState:
    """What `VectorStore.stored_state` found: id -> (dim,) vector still valid for the chunk's
    text, and id -> metadata keys held, for every id the store holds."""

    vectors: dict[str, Vectors] = field(default_factory=dict)
    keys: dict[str, frozenset[str]] = field(default_factory=dict)


class VectorStore:
    """The Chroma collection of one embedder."""

    def __init__(
        self,
        settings: ChromaSettings,
        data_dir: Path,
        embedder_name: str,
        collection: str | None = None,
        create: bool = True,
    ) -> None:
        self.settings = settings
        #: False: never create the collection (a read-only look, as doctor takes).
        self.create = create
        self.name = collection or collection_name(settings.collection_prefix, embedder_name)
        self.location = url_without_credentials(settings.server_url or "") or str(
            data_dir / "chroma"
        )
        self._data_dir = data_dir
        self._collection: Any = None
        self._client: Any = None
        self._lock: EmbeddedStoreLock | None = None
        self._server_client: Any = None

    @property
    def mode(self) -> str:
        """ "server" when CURATOR_CHROMA__HOST names a Chroma server, else "embedded"."""
        return "server" if self.settings.host else "embedded"

    def collection(self) -> Any:
        """The Chroma collection itself, opened on first use (StoreUnavailableError when it
        cannot be): for benchmarks timing Chroma's own calls and tests that write what an
        older release left. Everything else goes through the methods below."""
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
                if self._lock is None:
                    # Two processes writing one embedded store damage it: hold it alone.
                    self._lock = EmbeddedStoreLock.acquire(
                        self._data_dir / "chroma.lock",
                        on_last_release=lambda: forget_embedded_client(path),
                    )
                path.mkdir(parents=True, exist_ok=True)
                client = chromadb.PersistentClient(path=str(path), settings=client_settings)
            self._client = client
            if not self.create:
                return client.get_collection(self.name, embedding_function=None)
            return client.get_or_create_collection(
                self.name,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
            )
        except StoreUnavailableError:
            raise
        except Exception as exc:
            problem = "cannot be reached" if self.settings.host else "cannot be opened"
            raise StoreUnavailableError(
                f"The vector store at {self.location} {problem}: {exc}"
            ) from exc

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        # A server restarted on another volume no longer knows the handle's collection: reopen
        # it (get_or_create) and try once more; every call here is idempotent.
        from chromadb.errors import NotFoundError

        attempts = 2 if self.settings.host else 1
        for attempt in range(attempts):
            collection = self.collection()
            try:
                return fn(collection, *args, **kwargs)
            except StoreUnavailableError:
                raise
            except Exception as exc:
                if self.settings.host:
                    self._collection = None
                if attempt + 1 < attempts and isinstance(exc, NotFoundError):
                    continue
                raise StoreUnavailableError(
                    f"The vector store at {self.location} failed to {what}: {exc}"
                ) from exc
        raise AssertionError("unreachable")

    def upsert(
        self,
        chunks: Sequence[Chunk],
        vectors: Vectors,
        stored_keys: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        """Write chunks (vectors and filterable metadata) in as few calls as possible.

        Chroma merges an upserted chunk's metadata into what it held, so the keys in
        `stored_keys` (id -> keys held now, see `stored_state`) that the new metadata lacks
        are removed: a topic taken off a card stops matching its filter."""
        retired = stored_keys or {}

        def metadata(chunk: Chunk) -> dict[str, str | int | bool | None]:
            meta: dict[str, str | int | bool | None] = dict(chunk_metadata(chunk))
            return {**dict.fromkeys(retired.get(chunk.id, ())), **meta}

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
                    metadatas=[metadata(x) for x in b],
                    **d,
                ),
            )

    def delete(self, ids: Sequence[str]) -> None:
        """Remove these chunks' vectors (ids the store lacks are ignored); StoreUnavailableError."""
        for start in range(0, len(ids), _UPSERT_BATCH):
            batch = list(ids[start : start + _UPSERT_BATCH])
            self._call("delete vectors", lambda c, b=batch: c.delete(ids=b))

    def delete_articles(self, article_ids: Sequence[str]) -> None:
        """Remove every chunk of these articles, including ones the catalog never saw."""
        for aid in article_ids:
            self._call("delete vectors", lambda c, a=aid: c.delete(where={"article_id": a}))

    def ids_of_article(self, article_id: str) -> list[str]:
        """Ids of every vector stored for this article, in no particular order."""
        got = self._call(
            "list vectors", lambda c: c.get(where={"article_id": article_id}, include=[])
        )
        return list(got["ids"])

    def query(
        self, vector: Vectors, n: int, filters: SearchFilters | None = None
    ) -> list[DenseMatch]:
        """The `n` nearest chunks to `vector` (shape (dim,)) that pass `filters`, nearest first;
        similarity is 1 - Chroma's cosine distance (1.0: same direction)."""
        got = self._call(
            "search",
            # Distances only: fetching metadata for every candidate costs more than HNSW itself.
            lambda c: c.query(
                query_embeddings=[np.asarray(vector, dtype=np.float32)],
                n_results=n,
                where=where_clause(filters, _schema_of(c)),
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
        """Vectors in the collection."""
        return int(self._call("count vectors", lambda c: c.count()))

    def ping(self) -> None:
        """Raise StoreUnavailableError unless the store answers."""
        self.count()

    def probe_query(self) -> bool:
        """Run one real nearest-neighbour query (with a stored vector); False when empty."""
        got = self._call("read vectors", lambda c: c.get(limit=1, include=["embeddings"]))
        embeddings = got.get("embeddings")
        if embeddings is None or len(embeddings) == 0:
            return False
        vector = np.asarray(embeddings[0], dtype=np.float32)
        return bool(self.query(vector, 1))

    # -- consistency with the catalog -------------------------------------------------------

    @property
    def collection_id(self) -> str:
        """Chroma's id of the collection: a new one whenever the collection was recreated."""
        return str(self.collection().id)

    def marks(self) -> tuple[str | None, int | None]:
        """(epoch, filter schema) as last written with `set_marks`, None when never set."""
        # The handle caches the metadata it was opened with; another process may have written
        # since (a CLI reindex against the same server), so read it afresh.
        self._collection = None
        epoch, schema = self._call(
            "read collection metadata",
            lambda c: ((c.metadata or {}).get(EPOCH_KEY), _schema_of(c)),
        )
        return (str(epoch) if epoch is not None else None), schema

    def set_marks(self, epoch: str, schema: int) -> None:
        """Record the epoch and filter schema in the collection's own metadata."""
        self._call(
            "write collection metadata",
            lambda c: c.modify(metadata={EPOCH_KEY: epoch, SCHEMA_KEY: schema}),
        )
        self._collection = None  # reopen: the handle caches the old metadata

    def _stored_field(self, ids: Sequence[str], key: str) -> dict[str, str]:
        """id -> the metadata `key` stored with it ('' when it has none), for the ids held."""
        return {i: str(meta.get(key, "")) for i, meta in self.metadatas(ids).items()}

    def hashes_of(self, ids: Sequence[str]) -> dict[str, str]:
        """id -> stored text hash ('' when the vector has none) for the ids the store holds."""
        return self._stored_field(ids, "h")

    def stored_state(self, chunks: Sequence[Chunk]) -> StoredState:
        """What the store holds for these chunks: their metadata keys, and their vectors where
        computed from the current embedding text (the `h` stored beside it matches)."""
        state = StoredState()
        if not chunks:
            return state
        wanted = {c.id: text_hash(c) for c in chunks}
        got = self._call(
            "read vectors",
            lambda c: c.get(ids=list(wanted), include=["metadatas", "embeddings"]),
        )
        embeddings = got.get("embeddings")
        metadatas = got.get("metadatas") or [{} for _ in got["ids"]]
        vectors = [None] * len(got["ids"]) if embeddings is None else embeddings
        for i, meta, vector in zip(got["ids"], metadatas, vectors, strict=True):
            state.keys[i] = frozenset(meta or {})
            if vector is not None and (meta or {}).get("h") == wanted.get(i):
                state.vectors[i] = np.asarray(vector, dtype=np.float32)
        return state

    def article_ids_of(self, ids: Sequence[str]) -> dict[str, str]:
        """id -> article id stored with it, for the ids the store holds."""
        return self._stored_field(ids, "article_id")

    def iter_ids(self, batch: int = 5000) -> Iterator[list[str]]:
        """Every id in the store, `batch` at a time."""
        offset = 0
        while True:
            got = self._call(
                "list vectors",
                lambda c, o=offset: c.get(include=[], limit=batch, offset=o),
            )
            ids = list(got["ids"])
            if not ids:
                return
            yield ids
            offset += len(ids)

    def ids(self) -> list[str]:
        """Every id in the store."""
        return [i for batch in self.iter_ids() for i in batch]

    def metadatas(self, ids: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
        """id -> the metadata stored with it, for `ids` the store holds (default: every id)."""
        if ids is not None and not ids:
            return {}
        got = self._call(
            "read vectors",
            lambda c: c.get(ids=list(ids) if ids is not None else None, include=["metadatas"]),
        )
        return {i: dict(m or {}) for i, m in zip(got["ids"], got["metadatas"] or [], strict=False)}

    def update_metadata(self, chunks: Sequence[Chunk]) -> None:
        """Rewrite the filter metadata of stored chunks without touching their vectors."""
        for start in range(0, len(chunks), _UPSERT_BATCH):
            batch = chunks[start : start + _UPSERT_BATCH]
            # Chroma merges updated metadata into the old; a None value removes a key.
            self._call(
                "update metadata",
                lambda c, b=batch: c.update(
                    ids=[x.id for x in b],
                    metadatas=[{**RETIRED_KEYS, **chunk_metadata(x)} for x in b],
                ),
            )

    def reset(self) -> None:
        """Drop the collection and start an empty one (for a rebuild from the catalog)."""
        self.collection()
        client = self._client
        try:
            client.delete_collection(self.name)
        except Exception as exc:
            raise StoreUnavailableError(
                f"The vector store at {self.location} failed to drop {self.name}: {exc}"
            ) from exc
        self._collection = None

    def close(self) -> None:
        self._collection = None
        self._client = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        client, self._server_client = self._server_client, None
        if client is not None:
            release_http_client(client)
