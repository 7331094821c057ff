"""Markdown links in answers shown so that what a member sees is where they go.

Article text reaches answers (quoted in extractive mode, repeated by an obedient model), and an
article can hold `[https://www.nature.com/…](https://evil.example/…)`: the reader sees one
address and is taken to another. A link whose visible text is an address is kept only when that
address is where it goes; otherwise the plain target is shown instead, so the member sees it.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from knowledge.markdown_code import code_regions, map_prose

# [label](target "optional title"); not images (![alt](…)), not nested brackets.
_LINK = re.compile(
    r"(?<!!)\[(?P<label>[^\[\]\n]{1,500})\]"
    r"\(\s*<?(?P<target>[^\s()<>]+(?:\([^\s()<>]*\)[^\s()<>]*)*)>?"
    r"(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'))?\s*\)"
)
_URL_IN_TEXT = re.compile(r"(?:[a-z][a-z0-9+.-]*://|www\.)[^\s<>]+", re.IGNORECASE)
_BARE_DOMAIN = re.compile(
    r"^(?:[\w-]+\.)+[^\W\d_]{2,24}\.?(?::\d+)?(?:[/?#]\S*)?$", re.IGNORECASE | re.UNICODE
)
_WEB_SCHEMES = ("http://", "https://")


@dataclass(frozen=True)
class SafeLinks:
    """Text with its masked links replaced, and how many were."""

    text: str
    rewritten: int = 0


def _host(address: str) -> str:
    """Lower-case host of an address (with or without scheme), ASCII (punycode), no 'www.'."""
    if "://" not in address:
        address = "http://" + address
    try:
        host = urlsplit(address).hostname or ""
    except ValueError:
        return ""
    host = host.rstrip(".").lower()
    with contextlib.suppress(UnicodeError):
        host = host.encode("idna").decode("ascii")
    return host.removeprefix("www.")


def _normal_url(address: str) -> str:
    """A URL for equality: scheme-less, host normalised, no trailing slash."""
    if "://" not in address:
        address = "http://" + address
    try:
        parts = urlsplit(address)
    except ValueError:
        return address
    rest = parts.path.rstrip("/") + (f"?{parts.query}" if parts.query else "")
    return f"{_host(address)}{rest}"


def shown_address(label: str) -> tuple[str, bool] | None:
    """The address a link's visible text shows, and whether it is a whole URL (not just a
    domain); None when the text shows no address ("the paper", "[1]")."""
    text = label.strip().strip("<>`*_ ")
    found = _URL_IN_TEXT.search(text)
    if found:
        return found.group(0).rstrip(".,;:!?)"), True
    if _BARE_DOMAIN.match(text):
        has_path = any(ch in text for ch in "/?#")
        return text, has_path
    return None


def _plain_target(target: str) -> str:
    """The target as a member should read it: the host in punycode when it is not ASCII, so a
    look-alike address does not pass for the real one."""
    try:
        parts = urlsplit(target)
        host = parts.hostname or ""
        if host and not host.isascii():
            ascii_host = host.encode("idna").decode("ascii")
            netloc = parts.netloc.replace(host, ascii_host)
            return parts._replace(netloc=netloc).geturl()
    except (ValueError, UnicodeError):
        pass
    return target


def _leads_where_it_shows(label: str, target: str) -> bool:
    shown = shown_address(label)
    if shown is None:
        return True
    address, whole_url = shown
    if whole_url:
        return _normal_url(address) == _normal_url(target)
    label_host, target_host = _host(address), _host(target)
    return bool(label_host) and (
        target_host == label_host or target_host.endswith("." + label_host)
    )


def _replace(match: re.Match[str]) -> tuple[str, bool]:
    label, target = match.group("label"), match.group("target")
    if not target.lower().startswith(_WEB_SCHEMES):
        # javascript:, data:, file: … are never shown as links; the words stay.
        return label, True
    if _leads_where_it_shows(label, target):
        return match.group(0), False
    return _plain_target(target), True


def defuse_masked_links(text: str) -> SafeLinks:
    """Replace each markdown link whose visible text shows another address than its target
    (or whose target is not http/https) by what it really is; backtick code is left alone."""
    rewritten = 0

    def one(match: re.Match[str]) -> str:
        nonlocal rewritten
        replacement, changed = _replace(match)
        rewritten += changed
        return replacement

    # Code is shown as written and Discord renders no link inside it: left alone. What Discord
    # may show as text with live links is checked like prose: a `~~~` block (Discord knows only
    # backtick fences) and a code span over several lines.
    shown_as_code = [
        region
        for region in code_regions(text)
        if region.marker[0] == "`"
        and (region.fenced or "\n" not in text[region.start : region.end])
    ]
    return SafeLinks(map_prose(text, lambda prose: _LINK.sub(one, prose), shown_as_code), rewritten)
