"""A small client for any OpenAI-compatible chat endpoint (OpenAI, Ollama, vLLM, llama.cpp)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import Any

import openai

from knowledge.errors import CuratorError
from knowledge.settings import LLMSettings

log = logging.getLogger(__name__)

# Local servers (Ollama, llama.cpp, vLLM) ignore the key, but the SDK insists on one.
KEYLESS_PLACEHOLDER = "not-needed"
UNREADABLE = "The language model sent a reply that could not be read."


class LLMUnavailableError(CuratorError):
    """The language model did not answer, after its retries and within its time budget."""

    def __init__(self, message: str, partial: str = "") -> None:
        super().__init__(message)
        self.partial = partial


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
        )

    @classmethod
    def from_settings(cls, llm: LLMSettings) -> LLMClient | None:
        """A client when a key or base URL is configured, else None (extractive answers)."""
        return cls(llm) if llm.configured else None

    @property
    def model(self) -> str:
        return self.settings.model

    @property
    def deadline(self) -> float:
        """Most seconds one call may take, retries and back-off included."""
        return self.settings.timeout * (self.settings.retries + 1)

    def _request(self, messages: list[dict[str, str]], max_tokens: int | None) -> dict[str, Any]:
        return {
            "model": self.settings.model,
            "messages": messages,
            "temperature": self.settings.temperature,
            "max_tokens": max_tokens or self.settings.max_tokens,
        }

    async def complete(
        self, messages: list[dict[str, str]], *, max_tokens: int | None = None
    ) -> str:
        """The model's whole reply; raises LLMUnavailableError when it cannot be had in time."""
        try:
            async with asyncio.timeout(self.deadline):
                result = await self._client.chat.completions.create(
                    **self._request(messages, max_tokens)
                )
            content = result.choices[0].message.content if result.choices else None
        except TimeoutError as exc:
            raise LLMUnavailableError(
                f"The language model did not answer within {self.deadline:g} seconds."
            ) from exc
        except openai.APIError as exc:
            raise LLMUnavailableError(_describe(exc)) from exc
        except Exception as exc:
            # A malformed reply from a third-party server must degrade like an outage.
            log.warning("unreadable reply from the language model", exc_info=True)
            raise LLMUnavailableError(UNREADABLE) from exc
        if not content or not content.strip():
            raise LLMUnavailableError("The language model returned an empty answer.")
        return content

    async def stream(self, messages: list[dict[str, str]]) -> AsyncGenerator[str, None]:
        """Text deltas as they arrive; a broken or truncated stream raises LLMUnavailableError."""
        received: list[str] = []
        finished = False
        response: Any = None
        try:
            # The SDK retries only the opening request; once text flows a failure is final.
            async with asyncio.timeout(self.deadline):
                response = await self._client.chat.completions.create(
                    **self._request(messages, None), stream=True
                )
            iterator = aiter(response)
            while True:
                # Between two chunks the model gets one request timeout, not the whole budget.
                async with asyncio.timeout(self.settings.timeout):
                    try:
                        chunk = await anext(iterator)
                    except StopAsyncIteration:
                        break
                for choice in chunk.choices:
                    if choice.delta and choice.delta.content:
                        received.append(choice.delta.content)
                        yield choice.delta.content
                    if choice.finish_reason:
                        finished = True
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
