"""Articles from a URL: a feed when the response is one, else the main text of a web page."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from knowledge.errors import SourceError
from knowledge.loaders.feeds import looks_like_feed, parse_feed
from knowledge.loaders.fetch import FetchedDocument, fetch
from knowledge.loaders.guard import Resolver, resolve_host
from knowledge.loaders.result import SourceBatch
from knowledge.models import Article

if TYPE_CHECKING:
    from knowledge.settings import KnowledgeSettings

log = logging.getLogger(__name__)

_PAGE_TYPES = ("text/html", "application/xhtml+xml", "")


def load_url(
    url: str, settings: KnowledgeSettings, resolve: Resolver = resolve_host
) -> SourceBatch:
    """Fetch `url` (guarded) and read it as a feed or as one web page."""
    document = fetch(
        url,
        timeout=settings.fetch_timeout,
        max_bytes=settings.max_article_bytes,
        allow_private=settings.allow_private_urls,
        resolve=resolve,
    )
    if looks_like_feed(document.media_type, document.body):
        return parse_feed(document.body, url, base_url=document.url)
    if document.media_type not in _PAGE_TYPES and not _looks_like_html(document.body):
        raise SourceError(
            url,
            f"unsupported content type {document.media_type!r} "
            "(expected an HTML page or an RSS/Atom feed)",
        )
    batch = SourceBatch()
    batch.add(url, page_to_article(document, origin=url))
    return batch


def _looks_like_html(data: bytes) -> bool:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html"))


def page_to_article(document: FetchedDocument, origin: str) -> Article:
    """The main text and metadata of a fetched HTML page, extracted by trafilatura."""
    # Imported here: trafilatura is slow to import and only web pages need it.
    import trafilatura

    html: str | bytes = document.body
    if document.charset:
        # The HTTP header is authoritative; without it trafilatura detects the encoding.
        html = document.body.decode(document.charset, errors="replace")
    extracted = trafilatura.bare_extraction(
        html, url=document.url, with_metadata=True, include_comments=False
    )
    text = getattr(extracted, "text", None) or ""
    if not text.strip():
        raise SourceError(origin, "no article text found on the page")
    title = " ".join((getattr(extracted, "title", None) or "").split())
    if not title:
        raise SourceError(origin, "the page has no title")
    host = urlsplit(document.url).hostname or ""
    return Article(
        title=title,
        url=document.url,
        source=(getattr(extracted, "sitename", None) or "").strip() or _site_of(host),
        author=" ".join((getattr(extracted, "author", None) or "").split()),
        published=_page_date(getattr(extracted, "date", None)),
        summary=(getattr(extracted, "description", None) or "").strip(),
        body=text.strip(),
        origin=origin,
    )


def _site_of(host: str) -> str:
    return host.removeprefix("www.")


def _page_date(value: object) -> datetime | None:
    """The page date trafilatura found (YYYY-MM-DD); a guess that does not parse is dropped."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        log.debug("ignoring unparseable page date %r", value)
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
