"""A small client for any OpenAI-compatible chat endpoint (OpenAI, Ollama, vLLM, llama.cpp)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, Literal

import openai

try:
    # The HTTP library the installed openai SDK builds its clients on (its own fork of httpx in
    # recent releases); the capped transport below must speak the same one.
    import httpx2 as wire
except ImportError:  # pragma: no cover - older SDKs use httpx itself
    import httpx as wire  # type: ignore[no-redef]

from knowledge.errors import CuratorError
from knowledge.settings import LLMSettings

log = logging.getLogger(__name__)

# Local servers (Ollama, llama.cpp, vLLM) ignore the key, but the SDK insists on one.
KEYLESS_PLACEHOLDER = "not-needed"
UNREADABLE = "The language model sent a reply that could not be read."
# A non-streamed reply is read as bytes up to this many per allowed character (JSON escapes
# take up to six) plus room for the envelope, so a huge body is never held in memory.
_BYTES_PER_CHAR = 6
_ENVELOPE_BYTES = 64 * 1024
# Any response body, streamed ones included, is cut after this many bytes per allowed character:
# a stream of one-character deltas spends ~250 bytes of JSON on each, and a server that sends one
# endless SSE line must not be buffered whole by the SDK's line decoder.
_WIRE_BYTES_PER_CHAR = 512


class LLMUnavailableError(CuratorError):
    """The language model did not answer, after its retries and within its time budget."""

    def __init__(self, message: str, partial: str = "") -> None:
        super().__init__(message)
        self.partial = partial


class ReplyLimitError(LLMUnavailableError):
    """The reply ran past the overall deadline or the size cap; `partial` is what arrived
    (cut at the cap). A subclass, so callers that only fall back keep working."""

    def __init__(self, limit: Literal["deadline", "size"], partial: str = "") -> None:
        what = "took too long" if limit == "deadline" else "was too long"
        super().__init__(f"The language model's answer {what} and was stopped.", partial)
        self.limit = limit


class _CappedBody(wire.AsyncByteStream):
    """A response body that raises ReplyLimitError once more than `limit` bytes arrived."""

    def __init__(self, inner: wire.AsyncByteStream, limit: int) -> None:
        self._inner = inner
        self._limit = limit

    async def __aiter__(self) -> AsyncIterator[bytes]:
        seen = 0
        async for block in self._inner:
            seen += len(block)
            if seen > self._limit:
                raise ReplyLimitError("size")
            yield block

    async def aclose(self) -> None:
        await self._inner.aclose()


class _CappedTransport(wire.AsyncBaseTransport):
    """The default transport, with every response body capped (see _CappedBody)."""

    def __init__(self, limit: int) -> None:
        self._inner = wire.AsyncHTTPTransport()
        self._limit = limit

    async def handle_async_request(self, request: wire.Request) -> wire.Response:
        response = await self._inner.handle_async_request(request)
        assert isinstance(response.stream, wire.AsyncByteStream)
        response.stream = _CappedBody(response.stream, self._limit)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class LLMClient:
    """Chat completions with the SDK's retries (429/5xx/timeouts) under one overall deadline."""

    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        api_key = settings.api_key.get_secret_value() if settings.api_key else KEYLESS_PLACEHOLDER
        self._client = openai.AsyncOpenAI(
            api_key=api_key,
            base_url=settings.base_url or None,
            timeout=settings.timeout,
            max_retries=settings.retries,
            http_client=openai.DefaultAsyncHttpxClient(
                transport=_CappedTransport(
                    settings.max_reply_chars * _WIRE_BYTES_PER_CHAR + _ENVELOPE_BYTES
                )
            ),
        )

    def is_closed(self) -> bool:
        """True once `aclose()` ran: the client sends nothing more."""
        return self._client.is_closed()

    @classmethod
    def from_settings(cls, llm: LLMSettings) -> LLMClient | None:
        """A client when a key or base URL is configured, else None (extractive answers)."""
        return cls(llm) if llm.configured else None

    @property
    def model(self) -> str:
        return self.settings.model

    @property
    def deadline(self) -> float:
        """Most seconds one call may take, retries and back-off included, within the overall
        reply deadline."""
        per_call = self.settings.timeout * (self.settings.retries + 1)
        return min(per_call, self.settings.reply_deadline)

    def _request(self, messages: list[dict[str, str]], max_tokens: int | None) -> dict[str, Any]:
        return {
            "model": self.settings.model,
            "messages": messages,
            "temperature": self.settings.temperature,
            "max_tokens": min(max_tokens or self.settings.max_tokens, self.settings.max_tokens),
        }

    async def _read_bounded(self, request: dict[str, Any]) -> str | None:
        """The text of one non-streamed completion, its body read up to the size cap."""
        limit = self.settings.max_reply_chars * _BYTES_PER_CHAR + _ENVELOPE_BYTES
        body = bytearray()
        async with self._client.chat.completions.with_streaming_response.create(
            **request
        ) as response:
            async for block in response.iter_bytes():
                body += block
                if len(body) > limit:
                    # A JSON body cut anywhere cannot be read: nothing of it is usable.
                    raise ReplyLimitError("size")
        # Read as leniently as the SDK would: local servers omit or null fields it never checks.
        payload = json.loads(bytes(body))
        choices = payload.get("choices") or []
        content = choices[0]["message"].get("content") if choices else None
        if content is not None and not isinstance(content, str):
            raise TypeError("the reply's content is not text")
        return content

    async def complete(
        self, messages: list[dict[str, str]], *, max_tokens: int | None = None
    ) -> str:
        """The model's whole reply; raises LLMUnavailableError when it cannot be had in time,
        ReplyLimitError (partial empty) when its body is past the size cap. A reply within the
        cap in bytes but longer than `max_reply_chars` is cut there."""
        try:
            async with asyncio.timeout(self.deadline):
                content = await self._read_bounded(self._request(messages, max_tokens))
        except TimeoutError as exc:
            raise LLMUnavailableError(
                f"The language model did not answer within {self.deadline:g} seconds."
            ) from exc
        except ReplyLimitError:
            raise
        except openai.APIError as exc:
            raise LLMUnavailableError(_describe(exc)) from exc
        except Exception as exc:
            # A malformed reply from a third-party server must degrade like an outage.
            log.warning("unreadable reply from the language model", exc_info=True)
            raise LLMUnavailableError(UNREADABLE) from exc
        if not content or not content.strip():
            raise LLMUnavailableError("The language model returned an empty answer.")
        if len(content) > self.settings.max_reply_chars:
            raise ReplyLimitError("size", content[: self.settings.max_reply_chars])
        return content

    async def stream(self, messages: list[dict[str, str]]) -> AsyncGenerator[str, None]:
        """Text deltas as they arrive; a broken or truncated stream raises LLMUnavailableError,
        one that runs past `reply_deadline` or `max_reply_chars` stops there and raises
        ReplyLimitError after the last delta allowed."""
        received: list[str] = []
        size = 0
        cap = self.settings.max_reply_chars
        finished = False
        response: Any = None
        loop = asyncio.get_running_loop()
        # One deadline for the whole reply, however steadily deltas keep coming. The timeouts
        # wrap each await only: a timeout around a `yield` would fire in the caller's code.
        ends_at = loop.time() + self.settings.reply_deadline
        try:
            # The SDK retries only the opening request; once text flows a failure is final.
            async with asyncio.timeout(self.deadline):
                response = await self._client.chat.completions.create(
                    **self._request(messages, None), stream=True
                )
            iterator = aiter(response)
            while True:
                # Between two chunks the model gets one request timeout, not the whole budget.
                wait = min(self.settings.timeout, ends_at - loop.time())
                if wait <= 0:
                    raise ReplyLimitError("deadline", "".join(received))
                try:
                    async with asyncio.timeout(wait):
                        chunk = await anext(iterator)
                except StopAsyncIteration:
                    break
                except TimeoutError as exc:
                    if loop.time() >= ends_at - 0.01:
                        raise ReplyLimitError("deadline", "".join(received)) from exc
                    raise
                for choice in chunk.choices:
                    if choice.delta and choice.delta.content:
                        delta = choice.delta.content[: cap - size]
                        size += len(delta)
                        received.append(delta)
                        if delta:
                            yield delta
                        if size >= cap:
                            raise ReplyLimitError("size", "".join(received))
                    if choice.finish_reason:
                        finished = True
        except ReplyLimitError as exc:
            log.warning("language model reply stopped at its %s limit", exc.limit)
            if exc.partial or not received:
                raise
            # Cut on the wire (one endless line): what was decoded before still counts.
            raise ReplyLimitError(exc.limit, "".join(received)) from exc
        except TimeoutError as exc:
            raise LLMUnavailableError(
                "The language model stopped answering.", partial="".join(received)
            ) from exc
        except openai.APIError as exc:
            raise LLMUnavailableError(_describe(exc), partial="".join(received)) from exc
        except Exception as exc:
            log.warning("unreadable stream from the language model", exc_info=True)
            raise LLMUnavailableError(UNREADABLE, partial="".join(received)) from exc
        finally:
            # Also when the caller stops early: the connection goes back instead of lingering.
            if response is not None:
                await response.close()
        if not finished:
            # Servers end every complete stream with a finish_reason; none means it was cut.
            raise LLMUnavailableError(
                "The language model's answer was cut off.", partial="".join(received)
            )
        if not "".join(received).strip():
            raise LLMUnavailableError("The language model returned an empty answer.")

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._client.close()


def _describe(exc: openai.APIError) -> str:
    # The SDK's messages can quote the request; keep only what says what went wrong.
    if isinstance(exc, openai.APITimeoutError):
        return "The language model timed out."
    if isinstance(exc, openai.APIConnectionError):
        return "The language model could not be reached."
    if isinstance(exc, openai.RateLimitError):
        return "The language model is rate limited right now."
    if isinstance(exc, openai.AuthenticationError):
        return "The language model rejected the API key."
    if isinstance(exc, openai.APIStatusError):
        return f"The language model failed (HTTP {exc.status_code})."
    return "The language model failed."
