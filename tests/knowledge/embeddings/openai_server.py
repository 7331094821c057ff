"""A real HTTP server on 127.0.0.1 speaking the part of the OpenAI API the embedder uses."""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

DIM = 12


def server_vector(text: str) -> list[float]:
    """The deterministic, unnormalised vector the server returns for `text`."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    return (np.random.default_rng(seed).standard_normal(DIM) * 3.0).tolist()


@dataclass
class EmbeddingsServer:
    """Records requests; `status` makes it fail, `drop_last` makes it return too few rows;
    `max_input_tokens` rejects longer inputs as OpenAI does (tokens counted as UTF-8 bytes, at
    least what any byte-level BPE tokenizer makes of a text)."""

    status: int = 200
    drop_last: bool = False
    max_input_tokens: int | None = None
    requests: list[dict[str, object]] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def start(state: EmbeddingsServer) -> ThreadingHTTPServer:
    """Serve `state` on a free port in a daemon thread; stop it with `.shutdown()`."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _reply(self, status: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length))
            state.requests.append(body)
            state.authorizations.append(self.headers.get("Authorization", ""))
            if self.path != "/v1/embeddings":
                self._reply(404, {"error": {"message": "no such route", "type": "not_found"}})
                return
            if state.status != 200:
                messages = {401: "Incorrect API key provided", 500: "backend exploded"}
                error = {"message": messages.get(state.status, "error"), "type": "server_error"}
                self._reply(state.status, {"error": error})
                return
            inputs = body["input"]
            if isinstance(inputs, str):
                inputs = [inputs]
            if any(text == "" for text in inputs):
                # OpenAI rejects empty strings too.
                error = {"message": "'$.input' is invalid", "type": "invalid_request_error"}
                self._reply(400, {"error": error})
                return
            limit = state.max_input_tokens
            too_long = [t for t in inputs if limit is not None and len(t.encode()) > limit]
            if too_long:
                error = {
                    "message": f"This model's maximum context length is {limit} tokens, however "
                    f"you requested {len(too_long[0].encode())} tokens. Please reduce your input.",
                    "type": "invalid_request_error",
                }
                self._reply(400, {"error": error})
                return
            rows = [
                {"object": "embedding", "index": i, "embedding": server_vector(text)}
                for i, text in enumerate(inputs)
            ]
            rows.reverse()  # the API does not promise order; the index field does
            if state.drop_last:
                rows = rows[1:]
            self._reply(
                200,
                {
                    "object": "list",
                    "data": rows,
                    "model": body["model"],
                    "usage": {"prompt_tokens": 1, "total_tokens": 1},
                },
            )

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server
