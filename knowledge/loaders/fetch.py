"""Fetching one URL with httpx: every redirect hop checked by the guard, size and time capped."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from knowledge.errors import SourceError
from knowledge.loaders.conditional import active_conditional_requests
from knowledge.loaders.deadline import deadline_transport
from knowledge.loaders.files import too_large
from knowledge.loaders.url_safety import (
    HostLookupError,
    IPAddress,
    Resolver,
    URLRefusedError,
    check_url,
    resolve_host,
)

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_HEADERS = {
    "User-Agent": "Curator/0.1 (article loader)",
    "Accept": "text/html, application/xhtml+xml, application/rss+xml, application/atom+xml, "
    "application/xml;q=0.9, */*;q=0.5",
}


@dataclass(frozen=True)
class FetchedDocument:
    """A successful response: where it finally came from and its bytes."""

    url: str
    media_type: str
    charset: str | None
    body: bytes


def fetch(
    url: str,
    *,
    timeout: float,
    max_bytes: int,
    allow_private: bool,
    resolve: Resolver = resolve_host,
) -> FetchedDocument:
    """GET `url`, following at most MAX_REDIRECTS redirects; SourceError names `url` on failure.

    Inside `conditional_requests(...)` (a refresh) the request carries the URL's validators, and
    a 304 raises NotModifiedError before any body is read.
    """
    deadline = time.monotonic() + timeout
    current = url
    conditional = active_conditional_requests()
    extra_headers = conditional.request_headers(url) if conditional else {}
    for hop in range(MAX_REDIRECTS + 1):
        if time.monotonic() > deadline:
            raise SourceError(url, f"timed out after {timeout:g} s")
        try:
            addresses = check_url(current, allow_private=allow_private, resolve=resolve)
        except URLRefusedError as exc:
            via = f"redirect to {current}: " if hop else ""
            raise SourceError(url, f"refused: {via}{exc}") from None
        except HostLookupError as exc:
            raise SourceError(url, str(exc)) from None
        # A fresh client per hop: a pooled connection to the same address would be reused for
        # another host name without a new certificate check.
        with httpx.Client(
            timeout=httpx.Timeout(timeout),
            # Every read, the status line and headers included, ends by the one deadline.
            transport=deadline_transport(deadline),
            follow_redirects=False,
            # Proxies from the environment would resolve names themselves, past the guard.
            trust_env=False,
            headers=_HEADERS,
        ) as client:
            response = _send(client, url, current, addresses, timeout, extra_headers)
            try:
                if response.status_code == 304 and conditional is not None:
                    raise conditional.not_modified_for(url)
                location = response.headers.get("location")
                if response.status_code in _REDIRECTS and location:
                    log.debug("redirect %s -> %s", current, location)
                    current = urljoin(current, location.strip())
                    continue
                if response.status_code >= 400:
                    raise SourceError(
                        url, f"HTTP {response.status_code} {response.reason_phrase}".strip()
                    )
                body = _read_body(response, url, max_bytes, deadline, timeout)
            except httpx.HTTPError as exc:
                raise SourceError(url, _describe(exc, timeout)) from None
            finally:
                response.close()
        content_type = response.headers.get("content-type", "")
        media_type = content_type.split(";", 1)[0].strip().lower()
        if conditional is not None:
            conditional.accept(url, response.headers)
        return FetchedDocument(current, media_type, response.charset_encoding, body)
    raise SourceError(url, f"too many redirects (more than {MAX_REDIRECTS})")


def _send(
    client: httpx.Client,
    origin: str,
    url: str,
    addresses: list[IPAddress],
    timeout: float,
    headers: dict[str, str],
) -> httpx.Response:
    """Open a streamed response, connecting to the checked addresses when there are some."""
    try:
        if not addresses:
            return client.send(client.build_request("GET", url, headers=headers), stream=True)
        return _send_pinned(client, url, addresses, headers)
    except httpx.HTTPError as exc:
        raise SourceError(origin, _describe(exc, timeout)) from None


def _send_pinned(
    client: httpx.Client, url: str, addresses: list[IPAddress], headers: dict[str, str]
) -> httpx.Response:
    target = httpx.URL(url)
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    for index, address in enumerate(addresses):
        # The URL names the checked address; Host and SNI keep the real name for the server
        # and for the certificate check.
        request = client.build_request(
            "GET",
            target.copy_with(host=str(address)),
            headers={**headers, "Host": target.netloc.decode("ascii")},
            extensions=extensions,
        )
        try:
            return client.send(request, stream=True)
        except httpx.ConnectError:
            if index == len(addresses) - 1:
                raise
            log.debug("cannot connect to %s for %s; trying the next address", address, url)
    raise AssertionError("check_url never returns an empty list of addresses to pin")


def _read_body(
    response: httpx.Response, url: str, max_bytes: int, deadline: float, timeout: float
) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise SourceError(url, f"page {too_large(int(declared), max_bytes)}")
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if total > max_bytes:
            raise SourceError(url, f"page {too_large(None, max_bytes)}; download stopped")
        if time.monotonic() > deadline:
            # A server trickling bytes never trips the per-read timeout; this bounds the whole.
            raise SourceError(url, f"timed out after {timeout:g} s")
        chunks.append(chunk)
    return b"".join(chunks)


def _describe(exc: httpx.HTTPError, timeout: float) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out after {timeout:g} s"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {exc}"
    return f"fetch failed: {type(exc).__name__}: {exc}"
