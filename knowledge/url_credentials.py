"""URLs shown without their credentials: a configured URL (a feed, the LLM or embeddings base
URL, a Chroma host) may carry `user:password@`, and it must never reach a message, a report or
a log line with them."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

#: What stands where the credentials were, so a reader sees that some were configured.
HIDDEN = "***"

# scheme://userinfo@ — the userinfo stops at the first "/", "?", "#" or space; a raw "@" in a
# password (which should have been percent-encoded) is taken in too, up to the last one.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)(?:[^\s/?#@\"'<>]*@)+")


def url_without_credentials(url: str) -> str:
    """`url` with any `user:password@` replaced by `***@`; an unparsable URL gives
    "(invalid URL)" rather than risking the original text."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "(invalid URL)"
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    netloc = f"{HIDDEN}@{host}" + (f":{port}" if port is not None else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def without_url_credentials(text: str) -> str:
    """`text` with the credentials of every URL in it (`scheme://user:password@`) replaced by
    `***`: for messages that quote a URL among other words, such as an error's text."""
    return _USERINFO.sub(lambda m: f"{m.group(1)}{HIDDEN}@", text)
