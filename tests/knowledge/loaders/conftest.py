"""Fixtures for the loader tests: card files on disk and a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from knowledge.settings import KnowledgeSettings

CardWriter = Callable[..., Path]


def card_text(body: str = "## Summary\nA short summary.\n", **fields: object) -> str:
    """A Markdown card with the given front-matter lines (values written as YAML as given)."""
    lines = [f"{key}: {value}" for key, value in fields.items()]
    return "---\n" + "\n".join(lines) + "\n---\n\n" + body


@pytest.fixture
def settings() -> KnowledgeSettings:
    return KnowledgeSettings()


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str | bytes], Path]:
    """Write text or bytes to a file under tmp_path (folders created) and return its path."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return _write


ARTICLE_HTML = """<!doctype html>
<html lang="en"><head>
<meta charset="utf-8">
<title>Evaluating Retrieval Before Generation</title>
<meta property="og:site_name" content="Test Journal">
<meta name="author" content="Ada Example">
<meta name="description" content="Why retrieval quality bounds answer quality.">
<meta property="article:published_time" content="2025-03-04">
</head><body>
<nav><a href="/">Home</a> <a href="/about">About</a></nav>
<article>
<h1>Evaluating Retrieval Before Generation</h1>
<p>Teams that build question answering over their own documents often start by tuning prompts.
The better first step is to measure retrieval on its own, with a small set of real questions and
the passages that answer them, because a generator cannot cite what the retriever never found.</p>
<p>Recall at k tells you whether the right passage is among the candidates at all. Reciprocal rank
tells you how high it sits. Both are cheap to compute once the judged set exists, and both react
quickly when chunking, embeddings or keyword weighting change.</p>
<p>Hybrid retrieval, which fuses keyword and dense rankings, usually helps on exact names and rare
terms. Measuring it against the judged set shows whether it helps on your collection too.</p>
</article>
<footer>Copyright Test Journal</footer>
</body></html>
"""

RSS_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel>
<title>Test Journal Feed</title>
<link>https://journal.example/</link>
<description>Articles</description>
<item>
  <title>Chunking for Retrieval</title>
  <link>https://journal.example/chunking</link>
  <author>ada@example.com (Ada Example)</author>
  <pubDate>Tue, 04 Mar 2025 10:00:00 GMT</pubDate>
  <category>Retrieval</category><category>RAG</category>
  <description><![CDATA[<p>Split documents at <b>headings</b> first.</p>
    <p>Then by paragraphs.</p>]]></description>
</item>
<item>
  <title>Evals First</title>
  <link>https://journal.example/evals</link>
  <pubDate>Wed, 05 Mar 2025 09:30:00 +0100</pubDate>
  <description>Measure before you tune.</description>
</item>
<item>
  <title>An entry without a link</title>
  <description>Nothing to point at.</description>
</item>
</channel></rss>
"""

ATOM_FEED = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Atom Notes</title>
  <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
  <updated>2025-02-01T12:00:00Z</updated>
  <entry>
    <title>Reranking with Cross-Encoders</title>
    <link href="https://notes.example/rerank"/>
    <id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>
    <updated>2025-02-01T12:00:00Z</updated>
    <author><name>Grace Example</name></author>
    <category term="retrieval"/>
    <summary>Rerank the top candidates.</summary>
    <content type="html"><![CDATA[<h2>Why</h2>
      <p>A cross-encoder reads query and passage together.</p>
      <ul><li>accurate</li><li>slow</li></ul>]]></content>
  </entry>
</feed>
"""


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    stream_bytes: int = 0  # send this many extra bytes in chunks, with no Content-Length
    delay: float = 0.0


@dataclass
class WebServer:
    base_url: str
    port: int
    routes: dict[str, Route]
    requests: list[tuple[str, str]]  # (path, Host header) of every request received

    def url(self, path: str) -> str:
        return self.base_url + path


def _routes() -> dict[str, Route]:
    html = {"Content-Type": "text/html; charset=utf-8"}
    return {
        "/article.html": Route(body=ARTICLE_HTML.encode(), headers=html),
        "/feed.xml": Route(body=RSS_FEED.encode(), headers={"Content-Type": "application/rss+xml"}),
        "/atom-as-text": Route(body=ATOM_FEED.encode(), headers={"Content-Type": "text/plain"}),
        "/redirect": Route(status=302, headers={"Location": "/article.html"}),
        "/redirect-metadata": Route(
            status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
        ),
        "/redirect-file": Route(status=301, headers={"Location": "file:///etc/passwd"}),
        "/loop": Route(status=302, headers={"Location": "/loop"}),
        "/huge": Route(body=b"<html><body>", headers=html, stream_bytes=600_000),
        "/huge-declared": Route(
            body=b"<html></html>", headers={**html, "Content-Length": "10000000"}
        ),
        "/missing": Route(status=404, body=b"not here", headers={"Content-Type": "text/plain"}),
        "/report.pdf": Route(body=b"%PDF-1.7 ...", headers={"Content-Type": "application/pdf"}),
        "/slow": Route(body=ARTICLE_HTML.encode(), headers=html, delay=2.0),
    }


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.requests.append((self.path, self.headers.get("Host", "")))
        route = self.server.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        if route.delay:
            time.sleep(route.delay)
        try:
            self.send_response(route.status)
            for name, value in route.headers.items():
                self.send_header(name, value)
            if "Content-Length" not in route.headers and not route.stream_bytes:
                self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            self.wfile.write(route.body)
            chunk = b"<p>" + b"x" * 8_000 + b"</p>\n"
            for _ in range(route.stream_bytes // len(chunk)):
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # The client stopped reading, which is what the size limit is for.

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, Route]
    requests: list[tuple[str, str]]


@pytest.fixture(scope="module")
def _server_instance() -> Iterator[_Server]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.routes = _routes()
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def web(_server_instance: _Server) -> WebServer:
    """The module's server, with the request log emptied for this test."""
    _server_instance.requests.clear()
    port = _server_instance.server_address[1]
    return WebServer(
        base_url=f"http://127.0.0.1:{port}",
        port=port,
        routes=_server_instance.routes,
        requests=_server_instance.requests,
    )
