"""A feed server on 127.0.0.1 whose documents change between requests and that honours
conditional GETs (ETag / If-None-Match, Last-Modified / If-Modified-Since), as real ones do."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass(frozen=True)
class Entry:
    title: str
    link: str
    text: str
    published: str = "Tue, 04 Mar 2025 10:00:00 GMT"


def rss(entries: Sequence[Entry], title: str = "Local Journal") -> bytes:
    """An RSS 2.0 document with one item per entry."""
    items = "".join(
        f"<item><title>{escape(e.title)}</title><link>{escape(e.link)}</link>"
        f"<pubDate>{e.published}</pubDate><description>{escape(e.text)}</description></item>"
        for e in entries
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://journal.example/</link>"
        f"<description>Articles</description>{items}</channel></rss>"
    ).encode()


@dataclass
class Document:
    body: bytes
    content_type: str = "application/rss+xml"
    #: Unix time of the last change; sent as Last-Modified when `last_modified` is on.
    changed_at: float = field(default_factory=time.time)
    etag: bool = True
    last_modified: bool = True
    #: Answer with this status (e.g. 503) instead of the document while set.
    status: int | None = None
    delay: float = 0.0

    @property
    def tag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'

    @property
    def modified(self) -> str:
        return format_datetime(datetime.fromtimestamp(int(self.changed_at), tz=UTC), usegmt=True)


@dataclass(frozen=True)
class Request:
    path: str
    status: int
    if_none_match: str | None
    if_modified_since: str | None


class FeedServer:
    """Serves `documents` by path; `requests` logs what every request asked and got."""

    def __init__(self) -> None:
        self.documents: dict[str, Document] = {}
        self.requests: list[Request] = []
        self.started = threading.Event()  # set when a request arrives (for overlap tests)
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def put(self, path: str, body: bytes, content_type: str = "application/rss+xml") -> Document:
        """Publish (or change) the document at `path`; its validators change with its body."""
        old = self.documents.get(path)
        changed_at = time.time()
        if old is not None and changed_at < old.changed_at + 1:
            changed_at = old.changed_at + 1  # HTTP dates have whole seconds
        doc = Document(body=body, content_type=content_type, changed_at=changed_at)
        if old is not None:
            doc.etag, doc.last_modified, doc.delay = old.etag, old.last_modified, old.delay
        self.documents[path] = doc
        return doc

    def statuses(self, path: str) -> list[int]:
        return [r.status for r in self.requests if r.path == path]

    def start(self) -> FeedServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                owner.started.set()
                doc = owner.documents.get(self.path)
                status = self._status(doc)
                owner.requests.append(
                    Request(
                        self.path,
                        status,
                        self.headers.get("If-None-Match"),
                        self.headers.get("If-Modified-Since"),
                    )
                )
                if doc is not None and doc.delay:
                    time.sleep(doc.delay)
                body = b"" if doc is None or status != 200 else doc.body
                if doc is None or status not in (200, 304):
                    body = b"<html><body>Service unavailable</body></html>"
                self.send_response(status)
                if doc is not None and status in (200, 304):
                    if doc.etag:
                        self.send_header("ETag", doc.tag)
                    if doc.last_modified:
                        self.send_header("Last-Modified", doc.modified)
                content_type = doc.content_type if doc and status == 200 else "text/html"
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)

            def _status(self, doc: Document | None) -> int:
                if doc is None:
                    return 404
                if doc.status is not None:
                    return doc.status
                match = self.headers.get("If-None-Match")
                if match is not None and doc.etag:
                    return 304 if match == doc.tag else 200
                since = self.headers.get("If-Modified-Since")
                if since and doc.last_modified:
                    try:
                        if int(doc.changed_at) <= parsedate_to_datetime(since).timestamp():
                            return 304
                    except (TypeError, ValueError):
                        pass
                return 200

        return Handler


@contextmanager
def running_feed_server() -> Iterator[FeedServer]:
    server = FeedServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A started FeedServer for one test."""
    with running_feed_server() as server:
        yield server
