"""One deadline for a whole URL fetch: a server trickling its headers is cut off in time."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from knowledge.errors import SourceError
from knowledge.loaders.fetch import fetch

HEADERS = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello"


class TricklingServer:
    """Answers every connection with `HEADERS`, one byte every `pause` seconds (bounded)."""

    def __init__(self, pause: float) -> None:
        self.pause = pause
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/slow"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(4096)
                for byte in HEADERS:
                    if self.stop.wait(self.pause):
                        break
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        break


@pytest.fixture
def trickling() -> Iterator[TricklingServer]:
    server = TricklingServer(pause=0.2)
    server.thread.start()
    yield server
    server.stop.set()
    server.thread.join(timeout=5)
    server.listener.close()


def test_headers_sent_a_byte_at_a_time_are_cut_at_the_deadline(trickling: TricklingServer) -> None:
    # Each byte arrives well within the per-read timeout; only the whole is too slow
    # (the full answer would take ~14 s).
    started = time.monotonic()
    with pytest.raises(SourceError) as caught:
        fetch(trickling.url, timeout=1.0, max_bytes=1_000_000, allow_private=True)
    elapsed = time.monotonic() - started
    assert "timed out after 1 s" in str(caught.value)
    assert elapsed < 2.0


def test_a_prompt_server_is_read_whole_within_the_deadline() -> None:
    server = TricklingServer(pause=0.0)
    server.thread.start()
    try:
        page = fetch(server.url, timeout=5.0, max_bytes=1_000_000, allow_private=True)
    finally:
        server.stop.set()
        server.thread.join(timeout=5)
        server.listener.close()
    assert page.body == b"hello" and page.media_type == "text/html"
