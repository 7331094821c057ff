"""Validation shared by every format: required title, optional url, dates, topics, text lists."""

from __future__ import annotations

import re
import reprlib
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

_DATE_HINT = "use YYYY-MM-DD or an ISO 8601 datetime such as 2026-11-22T08:30:00Z"
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+")


class FieldError(ValueError):
    """A field of a card or record has a value that cannot be used; str() says which and why."""


def _bounded_repr() -> reprlib.Repr:
    shown = reprlib.Repr()
    shown.maxstring = shown.maxother = 80
    shown.maxlevel, shown.maxlist, shown.maxdict = 2, 4, 4
    return shown


# reprlib stops early on deep or long values: a huge field is never rendered whole to be cut.
_REPR = _bounded_repr()


def _shown(value: object, limit: int = 80) -> str:
    text = _REPR.repr(value) if not isinstance(value, str) else repr(value[: limit + 1])
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _type_name(value: object) -> str:
    return {dict: "a mapping", list: "a list", bool: "true/false"}.get(
        type(value), type(value).__name__
    )


def text_field(fields: Mapping[str, Any], name: str) -> str:
    """An optional single-line text field: '' when absent; numbers are accepted as text."""
    value = fields.get(name)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise FieldError(f"'{name}' must be text, not {_type_name(value)}")
    return " ".join(str(value).split())


def block_field(fields: Mapping[str, Any], name: str) -> str:
    """An optional multi-line text field (summary, body): line breaks are kept."""
    value = fields.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FieldError(f"'{name}' must be text, not {_type_name(value)}")
    return value.strip()


def required_title(fields: Mapping[str, Any]) -> str:
    """The title, which every article needs."""
    title = text_field(fields, "title")
    if not title:
        raise FieldError("missing required field 'title'")
    return title


def optional_url(fields: Mapping[str, Any]) -> str:
    """The canonical URL of the original article, http(s); '' when the card gives none."""
    value = fields.get("url")
    if value is None or (isinstance(value, str) and not value.strip()):
        return ""
    if not isinstance(value, str):
        raise FieldError(f"'url' must be text, not {_type_name(value)}")
    return checked_url(value.strip(), "url")


def checked_url(url: str, name: str) -> str:
    """`url` if it is an absolute http(s) URL with a host, else a FieldError naming `name`."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        raise FieldError(f"'{name}' is not a valid URL: {_shown(url)} ({exc})") from exc
    if parts.scheme.lower() not in ("http", "https") or not host or any(c.isspace() for c in url):
        raise FieldError(f"'{name}' must be an http(s) URL, got {_shown(url)}")
    return url


def when_field(fields: Mapping[str, Any], *names: str) -> datetime | None:
    """A date or datetime from the first of `names` that is set, as an aware UTC datetime."""
    for name in names:
        value = fields.get(name)
        if value is not None and value != "":
            return parse_when(value, name)
    return None


_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


def is_date_only(fields: Mapping[str, Any], *names: str) -> bool:
    """Whether the first of `names` that is set holds a calendar date (YYYY-MM-DD), no time."""
    for name in names:
        value = fields.get(name)
        if value is not None and value != "":
            if isinstance(value, datetime):
                return False
            if isinstance(value, date):
                return True
            return isinstance(value, str) and bool(_DATE_ONLY.fullmatch(value.strip()))
    return False


def parse_when(value: object, name: str) -> datetime:
    """Accept a date, a datetime or an ISO 8601 string; naive times are taken as UTC."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        parsed = _parse_iso(value.strip(), name)
    else:
        raise FieldError(f"invalid date in '{name}': {_shown(value)} ({_DATE_HINT})")
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _parse_iso(text: str, name: str) -> datetime:
    try:
        # Python 3.11 reads YYYY-MM-DD, "Z" offsets and a space instead of "T".
        return datetime.fromisoformat(text)
    except ValueError:
        raise FieldError(f"invalid date in '{name}': {_shown(text)} ({_DATE_HINT})") from None


def topics_field(fields: Mapping[str, Any], name: str = "topics") -> list[str]:
    """Topics from a list or a comma separated string: lower-cased, de-duplicated, in order."""
    items = _items(fields.get(name), name, split_commas=True)
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item.lower(), None)
    return list(seen)


def list_field(fields: Mapping[str, Any], name: str) -> list[str]:
    """A list of short texts from a list, or from a string holding one item per line."""
    return _items(fields.get(name), name, split_commas=False)


def _items(value: object, name: str, *, split_commas: bool) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        raw = value.split(",") if split_commas else value.splitlines()
    elif isinstance(value, list | tuple):
        raw = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                raise FieldError(f"'{name}' items must be text, not {_type_name(item)}")
            raw.append(str(item))
    else:
        raise FieldError(f"'{name}' must be a list or a text, not {_type_name(value)}")
    cleaned = (" ".join(_BULLET.sub("", item).split()) for item in raw)
    return [item for item in cleaned if item]


def sections_field(fields: Mapping[str, Any], name: str = "sections") -> dict[str, str]:
    """Extra editorial sections given as a mapping of heading to text."""
    value = fields.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise FieldError(f"'{name}' must map section names to text")
    return {k.strip(): v.strip() for k, v in value.items() if k.strip() and v.strip()}


def common_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The Article fields every format shares, validated; `published_at`/`curated_at` also work."""
    return {
        "title": required_title(fields),
        "url": optional_url(fields),
        # "source" is what earlier releases (and many existing cards) call the publisher.
        "publisher": text_field(fields, "publisher") or text_field(fields, "source"),
        "author": text_field(fields, "author"),
        "published": when_field(fields, "published", "published_at"),
        "curated": when_field(fields, "curated", "curated_at"),
        "curated_is_date": is_date_only(fields, "curated", "curated_at"),
        "topics": topics_field(fields),
        "depth": text_field(fields, "depth").lower(),
        "best_for": list_field(fields, "best_for"),
    }
