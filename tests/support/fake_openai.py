"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests, scriptable per test.

It speaks the subset of the API Curator uses: ``POST /v1/chat/completions`` (plain JSON and SSE
streaming with ``data: {...}`` chunks ending in ``data: [DONE]``) and ``POST /v1/embeddings``.
The server runs an aiohttp app on its own event loop in a background thread, so the same fixture
serves sync tests, async tests and code that calls it through ``asyncio.to_thread``.

Use it from any test package by importing the fixture in that package's ``conftest.py``::

    from tests.support.fake_openai import fake_openai  # noqa: F401

then in a test::

    def test_answer(fake_openai, tmp_path):
        fake_openai.script("Paris is the capital [1].")   # next chat call answers this
        fake_openai.script(Fail(429), Reply("ok [1]"))     # then a 429, then an answer
        fake_openai.always(Fail(500))                      # what every unscripted call gets
        settings = make_settings(tmp_path, llm={"base_url": fake_openai.base_url})  # ends in /v1
        ...
        assert fake_openai.chat_requests == []             # e.g. "the LLM was not called"
        prompt = fake_openai.chat_requests[0].json["messages"]

Behaviours (each chat request takes the next scripted one; when the script is empty it gets the
``always`` behaviour, which is a 500 error naming the problem until a test sets it, so a test that
forgets to script a call sees a failure rather than a made-up answer):

- ``Reply(text)``: a normal answer; streamed in small chunks when the request asks to stream.
- ``Fail(status)``: an OpenAI-style error body (``{"error": {"message", "type", "code"}}``) with
  a short ``retry-after-ms`` header so the SDK's retries do not slow tests down.
- ``CutStream(text, after=N)``: sends N chunks of the stream, then drops the connection
  (``abort=True``), ends the body without ``[DONE]`` (``abort=False``) or goes silent
  (``stall=True``).
- ``Endless(delta, every=0.5)``: a stream that sends ``delta`` every ``every`` seconds and never
  finishes (until ``seconds`` or shutdown).
- ``EndlessLine(piece_bytes, total_bytes)``: one SSE line that never ends, sent piece by piece.
- ``Hang(seconds)``: accepts the request and never answers (until ``seconds`` or shutdown).
- ``Raw(body, status=200)``: exactly this body, e.g. malformed JSON or a broken SSE stream.
- any behaviour takes ``delay=`` seconds to wait before answering.
- a plain ``str`` is short for ``Reply(str)``; a callable gets the ``RecordedRequest`` and returns
  a behaviour, for answers that depend on the prompt.

``/v1/embeddings`` answers deterministic unit vectors (a hash of each input; ``embedding_dim``
wide) unless ``script_embeddings(...)`` queued a ``Fail``/``Hang``. Every request received, on any
path, is appended to ``.requests`` before it is answered.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import math
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web


@dataclass
class Reply:
    """Answer with `text` (as one message, or as SSE chunks of `chunk_chars` characters)."""

    text: str
    delay: float = 0.0
    chunk_chars: int = 8
    finish_reason: str = "stop"


@dataclass
class Fail:
    """Answer with an HTTP error and an OpenAI-style error body."""

    status: int = 500
    message: str = ""
    type: str = ""
    delay: float = 0.0
    retry_after_ms: int | None = 5


@dataclass
class CutStream:
    """Stream the first `after` chunks of `text`, then drop the connection (`abort`), end the
    body without a finish reason or [DONE] (`abort=False`), or go silent (`stall=True`)."""

    text: str
    after: int = 2
    abort: bool = True
    stall: bool = False
    delay: float = 0.0
    chunk_chars: int = 8


@dataclass
class Endless:
    """Stream `delta` every `every` seconds and never finish (until `seconds` or shutdown)."""

    delta: str = "more "
    every: float = 0.5
    seconds: float = 120.0
    delay: float = 0.0


@dataclass
class EndlessLine:
    """Start one SSE data line and never end it: `piece_bytes` of text at a time, up to
    `total_bytes` (a server that would make a line-buffering client hold everything)."""

    piece_bytes: int = 64 * 1024
    total_bytes: int = 64 * 1024 * 1024
    delay: float = 0.0


@dataclass
class Hang:
    """Accept the request and send nothing for `seconds` (or until the server stops)."""

    seconds: float = 60.0
    delay: float = 0.0


@dataclass
class Raw:
    """Answer with exactly this body (e.g. malformed JSON or a broken SSE line)."""

    body: str
    status: int = 200
    content_type: str = "application/json"
    delay: float = 0.0


Behaviour = Reply | Fail | CutStream | Hang | Raw | Endless | EndlessLine
Scripted = Behaviour | str | Callable[["RecordedRequest"], "Behaviour | str"]


@dataclass
class RecordedRequest:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    received_at: float = field(default_factory=time.monotonic)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The chat messages of a chat request (empty for other requests)."""
        if isinstance(self.json, dict):
            return list(self.json.get("messages") or [])
        return []

    @property
    def prompt_text(self) -> str:
        """All message contents joined, to search a prompt for a phrase."""
        return "\n".join(str(m.get("content", "")) for m in self.messages)

    @property
    def streamed(self) -> bool:
        return isinstance(self.json, dict) and bool(self.json.get("stream"))


_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_exceeded",
    500: "server_error",
    503: "service_unavailable",
}


def _chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def fake_embedding(text: str, dim: int) -> list[float]:
    """A deterministic unit vector for `text` (same text, same vector)."""
    values: list[float] = []
    counter = 0
    while len(values) < dim:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        values.extend((b - 127.5) / 127.5 for b in digest)
        counter += 1
    values = values[:dim]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def _encode(vector: list[float], as_base64: bool) -> list[float] | str:
    if not as_base64:
        return vector
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


class FakeOpenAI:
    """The server and its script; start() binds a free port on 127.0.0.1."""

    def __init__(self, embedding_dim: int = 32) -> None:
        self.embedding_dim = embedding_dim
        self.requests: list[RecordedRequest] = []
        self._chat_script: deque[Scripted] = deque()
        self._embedding_script: deque[Scripted] = deque()
        self._always: Scripted = Fail(500, "fake_openai: no scripted behaviour left for this call")
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self._port = 0
        self._counter = 0

    # -- scripting -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The URL to give an OpenAI client, ending in /v1."""
        return f"http://127.0.0.1:{self._port}/v1"

    def script(self, *behaviours: Scripted) -> FakeOpenAI:
        """Queue behaviours for the next chat completion requests, in order."""
        with self._lock:
            self._chat_script.extend(behaviours)
        return self

    def always(self, behaviour: Scripted) -> FakeOpenAI:
        """What every chat request gets once the script is used up."""
        self._always = behaviour
        return self

    def script_embeddings(self, *behaviours: Scripted) -> FakeOpenAI:
        """Queue behaviours (usually Fail or Hang) for the next embedding requests."""
        with self._lock:
            self._embedding_script.extend(behaviours)
        return self

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def embedding_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/embeddings")]

    @property
    def pending(self) -> int:
        """Scripted chat behaviours not yet used."""
        return len(self._chat_script)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeOpenAI:
        """Start serving in a background thread; returns once the port is bound."""
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._serve())
            except BaseException as exc:  # surfaced to start() below
                errors.append(exc)
            finally:
                ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-openai", daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            raise RuntimeError("fake_openai could not start") from errors[0]
        return self

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    def stop(self) -> None:
        """Release hanging handlers, close the server and join the thread."""
        loop = self._loop
        if loop is None or self._thread is None:
            return

        async def shutdown() -> None:
            if self._stopping is not None:
                self._stopping.set()
            if self._runner is not None:
                await self._runner.cleanup()

        future = asyncio.run_coroutine_threadsafe(shutdown(), loop)
        try:
            future.result(timeout=10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(timeout=10)
            self._loop = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- handlers --------------------------------------------------------------------------

    async def _record(self, request: web.Request) -> RecordedRequest:
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        recorded = RecordedRequest(
            method=request.method, path=request.path, headers=dict(request.headers), json=body
        )
        self.requests.append(recorded)
        return recorded

    def _next(self, queue: deque[Scripted], default: Scripted, req: RecordedRequest) -> Behaviour:
        with self._lock:
            item = queue.popleft() if queue else default
        if callable(item) and not isinstance(
            item, Reply | Fail | CutStream | Hang | Raw | Endless | EndlessLine
        ):
            item = item(req)
        if isinstance(item, str):
            return Reply(item)
        return item

    async def _not_found(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        return self._error_response(Fail(404, f"fake_openai has no route {request.path}"))

    def _error_response(self, fail: Fail) -> web.Response:
        body = {
            "error": {
                "message": fail.message or f"fake_openai scripted error {fail.status}",
                "type": fail.type or _ERROR_TYPES.get(fail.status, "api_error"),
                "param": None,
                "code": fail.type or _ERROR_TYPES.get(fail.status, "api_error"),
            }
        }
        headers = {}
        if fail.retry_after_ms is not None:
            headers["retry-after-ms"] = str(fail.retry_after_ms)
        return web.json_response(body, status=fail.status, headers=headers)

    async def _hang(self, seconds: float) -> None:
        assert self._stopping is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        req = await self._record(request)
        behaviour = self._next(self._chat_script, self._always, req)
        if behaviour.delay:
            await asyncio.sleep(behaviour.delay)
        if isinstance(behaviour, Fail):
            return self._error_response(behaviour)
        if isinstance(behaviour, Hang):
            await self._hang(behaviour.seconds)
            return self._drop(request)
        if isinstance(behaviour, Raw):
            return web.Response(
                status=behaviour.status, text=behaviour.body, content_type=behaviour.content_type
            )
        self._counter += 1
        ident = f"chatcmpl-fake-{self._counter}"
        model = str(req.json.get("model", "fake-model")) if isinstance(req.json, dict) else ""
        if isinstance(behaviour, EndlessLine):
            return await self._endless_line(request, behaviour)
        if isinstance(behaviour, CutStream | Endless):
            return await self._stream(request, ident, model, behaviour)
        if req.streamed:
            return await self._stream(request, ident, model, behaviour)
        return web.json_response(
            {
                "id": ident,
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": behaviour.text},
                        "finish_reason": behaviour.finish_reason,
                        "logprobs": None,
                    }
                ],
                "usage": {
                    "prompt_tokens": len(req.prompt_text.split()),
                    "completion_tokens": len(behaviour.text.split()),
                    "total_tokens": len(req.prompt_text.split()) + len(behaviour.text.split()),
                },
            }
        )

    def _drop(self, request: web.Request) -> web.StreamResponse:
        if request.transport is not None:
            request.transport.abort()
        # aiohttp needs a response object; the client never sees it.
        return web.Response(status=499)

    async def _stream(
        self, request: web.Request, ident: str, model: str, behaviour: Reply | CutStream | Endless
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            status=200, headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)

        async def send(delta: dict[str, str], finish: str | None) -> None:
            chunk = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())

        await send({"role": "assistant", "content": ""}, None)
        if isinstance(behaviour, Endless):
            assert self._stopping is not None
            ends = time.monotonic() + behaviour.seconds
            try:
                while time.monotonic() < ends and not self._stopping.is_set():
                    await send({"content": behaviour.delta}, None)
                    await asyncio.sleep(behaviour.every)
            except (ConnectionResetError, RuntimeError):
                pass  # the client hung up, as it should
            return self._drop(request)
        pieces = _chunks(behaviour.text, behaviour.chunk_chars)
        if isinstance(behaviour, CutStream):
            for piece in pieces[: behaviour.after]:
                await send({"content": piece}, None)
            if behaviour.stall:
                await self._hang(60.0)
                return self._drop(request)
            if behaviour.abort:
                # Give the chunks time to leave before the connection is torn down mid-body.
                await asyncio.sleep(0.05)
                return self._drop(request)
            await response.write_eof()
            return response
        for piece in pieces:
            await send({"content": piece}, None)
        await send({}, behaviour.finish_reason)
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def _endless_line(
        self, request: web.Request, behaviour: EndlessLine
    ) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        piece = b"x" * behaviour.piece_bytes
        sent = 0
        try:
            await response.write(b'data: {"choices": [{"index": 0, "delta": {"content": "')
            while sent < behaviour.total_bytes:
                await response.write(piece)
                sent += len(piece)
        except (ConnectionResetError, RuntimeError):
            pass  # the client hung up, as it should
        return self._drop(request)

    async def _embeddings(self, request: web.Request) -> web.StreamResponse:
        req = await self._record(request)
        default: Scripted = Reply("")
        behaviour = self._next(self._embedding_script, default, req)
        if behaviour.delay:
            await asyncio.sleep(behaviour.delay)
        if isinstance(behaviour, Fail):
            return self._error_response(behaviour)
        if isinstance(behaviour, Raw):
            return web.Response(
                status=behaviour.status, text=behaviour.body, content_type=behaviour.content_type
            )
        if isinstance(behaviour, Hang | CutStream):
            await self._hang(behaviour.seconds if isinstance(behaviour, Hang) else 0)
            return self._drop(request)
        body = req.json if isinstance(req.json, dict) else {}
        inputs = body.get("input", [])
        if isinstance(inputs, str):
            inputs = [inputs]
        dim = int(body.get("dimensions") or self.embedding_dim)
        # The SDK asks for base64 (little-endian float32) unless the caller chose "float".
        as_base64 = body.get("encoding_format") == "base64"
        data = [
            {
                "object": "embedding",
                "index": i,
                "embedding": _encode(fake_embedding(str(text), dim), as_base64),
            }
            for i, text in enumerate(inputs)
        ]
        tokens = sum(len(str(t).split()) for t in inputs)
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "model": str(body.get("model", "fake-embedding")),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A started FakeOpenAI server for one test; stopped (hanging calls released) afterwards."""
    server = FakeOpenAI().start()
    try:
        yield server
    finally:
        server.stop()
