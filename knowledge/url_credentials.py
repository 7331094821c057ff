"""URLs shown without their credentials: a configured URL (a feed, the LLM or embeddings base
URL, a Chroma host) may carry `user:password@` or a secret in its query string (`?token=...`),
and it must never reach a message, a report or a log line with them."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

#: What stands where the credentials were, so a reader sees that some were configured.
HIDDEN = "***"

# scheme://userinfo@ — the userinfo stops at the first "/", "?", "#" or space; a raw "@" in a
# password (which should have been percent-encoded) is taken in too, up to the last one.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)(?:[^\s/?#@\"'<>]*@)+")

#: Query parameters whose value is a secret (matched whatever their case): feeds and APIs take
#: keys, tokens and signatures there as often as in the userinfo.
SECRET_PARAMETERS = ("token", "key", "api_key", "access_token", "sig", "signature", "password")
_SECRET_PARAMETER = re.compile(rf"(?i)((?:^|[&;])(?:{'|'.join(SECRET_PARAMETERS)})=)[^&;#]+")
# A URL among other words: it ends at a space or a quote, and punctuation closing the sentence
# ("...?token=abc: HTTP 503") is not part of it.
_URL = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^\s\"'<>]*[^\s\"'<>.,:;!?)\]]")


def _masked_query(query: str) -> str:
    """A query string with the value of each secret parameter replaced by `***`."""
    return _SECRET_PARAMETER.sub(rf"\g<1>{HIDDEN}", query)


def _url_with_masked_query(url: str) -> str:
    """`url` as written, with its query's secret values replaced (the fragment is kept)."""
    head, question, rest = url.partition("?")
    if not question:
        return url
    query, hash_mark, fragment = rest.partition("#")
    return f"{head}?{_masked_query(query)}{hash_mark}{fragment}"


def url_without_credentials(url: str) -> str:
    """`url` with any `user:password@` replaced by `***@` and the value of each secret query
    parameter (`token`, `key`, `api_key`, `access_token`, `sig`, `signature`, `password`) by
    `***`; an unparsable URL gives "(invalid URL)" rather than risking the original text."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "(invalid URL)"
    if parts.username is None and parts.password is None:
        return _url_with_masked_query(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    netloc = f"{HIDDEN}@{host}" + (f":{port}" if port is not None else "")
    query = _masked_query(parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def without_url_credentials(text: str) -> str:
    """`text` with the credentials of every URL in it (`scheme://user:password@`, and the
    values of secret query parameters such as `?token=`) replaced by `***`: for messages that
    quote a URL among other words, such as an error's text."""
    text = _USERINFO.sub(lambda m: f"{m.group(1)}{HIDDEN}@", text)
    return _URL.sub(lambda m: _url_with_masked_query(m.group(0)), text)
