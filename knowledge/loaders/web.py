"""Articles from a URL: a feed when the response is one, else the main text of a web page."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from knowledge.errors import SourceError
from knowledge.loaders.feeds import looks_like_feed, parse_feed
from knowledge.loaders.fetch import FetchedDocument, fetch
from knowledge.loaders.page_text import extract_article
from knowledge.loaders.result import SourceBatch
from knowledge.loaders.url_safety import Resolver, resolve_host
from knowledge.models import Article

if TYPE_CHECKING:
    from knowledge.settings import KnowledgeSettings

log = logging.getLogger(__name__)

_PAGE_TYPES = ("text/html", "application/xhtml+xml", "")


def load_url(
    url: str,
    settings: KnowledgeSettings,
    resolve: Resolver = resolve_host,
    *,
    expect_feed: bool = False,
) -> SourceBatch:
    """Fetch `url` (guarded) and read it as a feed or as one web page.

    With `expect_feed` (the URL served a feed before), anything but a feed fails the source, so a
    maintenance page or a login wall never replaces the feed's articles.
    """
    document = fetch(
        url,
        timeout=settings.fetch_timeout,
        max_bytes=settings.max_article_bytes,
        allow_private=settings.allow_private_urls,
        resolve=resolve,
    )
    if looks_like_feed(document.media_type, document.body):
        return parse_feed(document.body, url, base_url=document.url)
    if expect_feed:
        got = "an HTML page" if _is_page(document) else f"{document.media_type or 'no type'!r}"
        raise SourceError(url, f"expected a feed, got {got}")
    if not _is_page(document):
        raise SourceError(
            url,
            f"unsupported content type {document.media_type!r} "
            "(expected an HTML page or an RSS/Atom feed)",
        )
    batch = SourceBatch()
    batch.add(url, page_to_article(document, origin=url))
    return batch


def _is_page(document: FetchedDocument) -> bool:
    return document.media_type in _PAGE_TYPES or _looks_like_html(document.body)


def _looks_like_html(data: bytes) -> bool:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html"))


def page_to_article(document: FetchedDocument, origin: str) -> Article:
    """The main text and metadata of a fetched HTML page, extracted by trafilatura."""
    html: str | bytes = document.body
    if document.charset:
        # The HTTP header is authoritative; without it trafilatura detects the encoding.
        html = document.body.decode(document.charset, errors="replace")
    return extract_article(html, document.url, origin)
