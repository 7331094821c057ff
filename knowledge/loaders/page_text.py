"""The main text and metadata of an HTML page, fetched or saved to a file, by trafilatura."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from urllib.parse import urlsplit

from knowledge.errors import SourceError
from knowledge.loaders.fields import FieldError, checked_url, is_date_only
from knowledge.models import Article

log = logging.getLogger(__name__)


def extract_article(html: str | bytes, url: str, origin: str) -> Article:
    """An Article from a page; `url` '' for a saved file (its canonical link is used if any)."""
    # Imported here: trafilatura is slow to import and only web pages need it.
    import trafilatura

    extracted = trafilatura.bare_extraction(
        html, url=url or None, with_metadata=True, include_comments=False
    )
    text = getattr(extracted, "text", None) or ""
    if not text.strip():
        raise SourceError(origin, "no article text found on the page")
    title = " ".join((getattr(extracted, "title", None) or "").split())
    if not title:
        raise SourceError(origin, "the page has no title")
    link = url or _canonical(getattr(extracted, "url", None))
    host = urlsplit(link).hostname or ""
    date_text = getattr(extracted, "date", None)
    published = page_date(date_text)
    return Article(
        title=title,
        url=link,
        publisher=(getattr(extracted, "sitename", None) or "").strip() or _site_of(host),
        author=" ".join((getattr(extracted, "author", None) or "").split()),
        published=published,
        # A page's curated date is its own date; without one, the index uses first-seen time.
        curated=published,
        curated_is_date=published is not None and is_date_only({"date": date_text}, "date"),
        summary=(getattr(extracted, "description", None) or "").strip(),
        body=text.strip(),
        origin=origin,
    )


def _canonical(value: object) -> str:
    """A saved page's canonical URL when it names an http(s) one, else ''."""
    if not isinstance(value, str) or not value.strip():
        return ""
    try:
        return checked_url(value.strip(), "url")
    except FieldError:
        return ""


def _site_of(host: str) -> str:
    return host.removeprefix("www.")


def page_date(value: object) -> datetime | None:
    """The page date trafilatura found (YYYY-MM-DD); a guess that does not parse is dropped."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        log.debug("ignoring unparseable page date %r", value)
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
