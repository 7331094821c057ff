"""Conditional requests for a refresh: validators (ETag / Last-Modified) sent with each source URL.

A refresh installs one `ConditionalRequests` with `conditional_requests(...)`; `fetch` consults
it, so loaders need no new parameter. While it is active:
- a URL fetched before is asked for with `If-None-Match` / `If-Modified-Since`; a 304 answer
  raises `NotModifiedError` (a `SourceError`, so the source's articles are kept, unparsed) and
  the URL is listed in `not_modified`;
- a 200 answer's validators are collected in `fresh`, for the caller to store once the index
  holds what they describe (storing them earlier would make a failed run skip new content).
A URL that served a feed and now answers something else fails in `load_url` (the index's known
feeds), on a refresh as on any reindex.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from knowledge.errors import SourceError


class NotModifiedError(SourceError):
    """The server answered 304: the source is as it was on the last refresh."""

    def __init__(self, url: str) -> None:
        super().__init__(url, "not modified since the last refresh")


@dataclass(frozen=True)
class Validators:
    """What a server said about a URL's last version."""

    etag: str | None = None
    last_modified: str | None = None

    def request_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


@dataclass
class ConditionalRequests:
    """Validators to send per source URL during one refresh, and what the servers answered."""

    known: Mapping[str, Validators]
    not_modified: set[str] = field(default_factory=set)
    fresh: dict[str, Validators] = field(default_factory=dict)

    def request_headers(self, url: str) -> dict[str, str]:
        """`If-None-Match` / `If-Modified-Since` for `url`, or nothing when never seen."""
        known = self.known.get(url)
        return known.request_headers() if known else {}

    def not_modified_for(self, url: str) -> NotModifiedError:
        """Note a 304 for `url`; the error to raise so its articles are kept unparsed."""
        self.not_modified.add(url)
        return NotModifiedError(url)

    def accept(self, url: str, headers: Mapping[str, str]) -> None:
        """Keep the validators of a 200 answer for `url`."""
        self.fresh[url] = Validators(
            etag=headers.get("etag") or None,
            last_modified=headers.get("last-modified") or None,
        )


_ACTIVE: ContextVar[ConditionalRequests | None] = ContextVar("conditional_requests", default=None)


@contextmanager
def conditional_requests(session: ConditionalRequests) -> Iterator[ConditionalRequests]:
    """Make `fetch` use `session` in this thread/context until the block ends."""
    token = _ACTIVE.set(session)
    try:
        yield session
    finally:
        _ACTIVE.reset(token)


def active_conditional_requests() -> ConditionalRequests | None:
    """The session installed by `conditional_requests`, if any."""
    return _ACTIVE.get()
