"""RSS and Atom feeds, from a file or a fetched URL: one article per entry."""

from __future__ import annotations

import io
import time
from calendar import timegm
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import feedparser

from knowledge.errors import SourceError
from knowledge.loaders.fields import FieldError, checked_url
from knowledge.loaders.files import read_limited
from knowledge.loaders.html_text import html_to_text
from knowledge.loaders.result import SourceBatch
from knowledge.models import Article

FEED_MEDIA_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
        "text/rss+xml",
    }
)
_FEED_STARTS = (b"<?xml", b"<rss", b"<feed", b"<rdf:rdf")
_HTML_TYPES = ("text/html", "application/xhtml+xml")


def looks_like_feed(media_type: str, data: bytes) -> bool:
    """Whether a response is a feed: by its declared type, else by how the document starts."""
    if media_type in FEED_MEDIA_TYPES:
        return True
    if media_type in _HTML_TYPES:
        return False
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(_FEED_STARTS) and b"<html" not in head


def load_feed_file(path: Path, max_bytes: int) -> SourceBatch:
    """Entries of an RSS or Atom file."""
    return parse_feed(read_limited(path, max_bytes), str(path))


def parse_feed(data: bytes, origin: str, base_url: str | None = None) -> SourceBatch:
    """One article per feed entry; an entry without a title or link fails alone."""
    headers = {"content-location": base_url} if base_url else None
    # Bytes would first be tried as a file name, so a body reading "/etc/x.xml" would make
    # feedparser read that local file; a stream is only ever read.
    parsed: Any = feedparser.parse(io.BytesIO(data), response_headers=headers)
    entries = list(parsed.get("entries") or [])
    if not parsed.get("version") and not entries:
        problem = parsed.get("bozo_exception")
        detail = f": {problem}" if problem else ""
        raise SourceError(origin, f"not an RSS or Atom feed{detail}")
    if not entries:
        raise SourceError(origin, "the feed has no entries")
    feed_title = _plain(parsed.feed.get("title_detail")) or parsed.feed.get("title", "")
    batch = SourceBatch(is_feed=True)
    for number, entry in enumerate(entries, start=1):
        where = f"{origin}[#{number}]"
        try:
            article = entry_to_article(entry, feed_title, origin)
        except FieldError as exc:
            batch.fail(where, str(exc))
            continue
        unread = _unread_date(entry)
        if unread:
            batch.warn(where, f"cannot read the date {unread!r}: curated when first seen instead")
        batch.add(where, article)
    return batch


def entry_to_article(entry: Any, feed_title: str, origin: str) -> Article:
    """Build an Article from one feedparser entry; FieldError when title or link is missing."""
    title = " ".join((_plain(entry.get("title_detail")) or entry.get("title") or "").split())
    link = (entry.get("link") or "").strip()
    if not title:
        raise FieldError(f"entry has no title (link {link!r})" if link else "entry has no title")
    if not link:
        raise FieldError(f"entry {title!r} has no link")
    url = checked_url(link, "link")
    summary = _plain(entry.get("summary_detail")) or html_to_text(entry.get("summary") or "")
    contents = [_plain(c) for c in entry.get("content") or []]
    content = max(contents, key=len, default="")
    if not content:
        # Many feeds carry only a summary: it is then the text to index.
        content, summary = summary, ""
    elif summary and content.startswith(summary[:200]):
        summary = ""
    published = _entry_date(entry)
    return Article(
        title=title,
        url=url,
        publisher=" ".join(feed_title.split()),
        author=" ".join((entry.get("author") or "").split()),
        published=published,
        # Curated when the feed published it; undated entries get the time first seen (index).
        curated=published,
        topics=_tags(entry),
        summary=summary,
        body=content,
        origin=origin,
    )


def _plain(detail: Any) -> str:
    """Text of a feedparser text construct, HTML stripped when it is HTML."""
    if not detail:
        return ""
    value = detail.get("value") or ""
    kind = (detail.get("type") or "text/html").lower()
    return html_to_text(value) if "html" in kind else value.strip()


def _entry_date(entry: Any) -> datetime | None:
    """The entry's published (else updated) date, in UTC; None when it has none we can read."""
    for key in ("published", "updated"):
        stamp: time.struct_time | None = entry.get(f"{key}_parsed")
        if stamp:
            # feedparser normalises dates to UTC struct_time.
            return datetime.fromtimestamp(timegm(stamp), tz=UTC)
        raw = entry.get(key)
        if raw:
            parsed = _parse_raw_date(str(raw))
            if parsed is not None:
                return parsed
    return None


def _parse_raw_date(text: str) -> datetime | None:
    """A date feedparser gave up on: RFC 822 without a zone ("Mon, 23 Nov 2026 08:30:00") or
    ISO 8601, a missing zone read as UTC (what RFC 822 calls -0000: "UTC, zone unknown")."""
    text = " ".join(text.split())
    parsed: datetime | None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _unread_date(entry: Any) -> str | None:
    """The raw date text of an entry that has one but left it undated, for the report."""
    if _entry_date(entry) is not None:
        return None
    raw = entry.get("published") or entry.get("updated")
    return " ".join(str(raw).split()) if raw else None


def _tags(entry: Any) -> list[str]:
    seen: dict[str, None] = {}
    for tag in entry.get("tags") or []:
        term = " ".join(str(tag.get("term") or tag.get("label") or "").split()).lower()
        if term:
            seen.setdefault(term, None)
    return list(seen)
