"""The SSRF guard: only http(s) URLs whose host resolves to public addresses may be fetched."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

from knowledge.errors import InputError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[IPAddress]]

ALLOWED_SCHEMES = ("http", "https")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Said with every private-address refusal, so an admin fetching from their own network (a local
# feed, a test server) knows which setting allows it.
ALLOW_PRIVATE_HINT = "set CURATOR_KNOWLEDGE__ALLOW_PRIVATE_URLS=true to allow it"


class URLRefusedError(InputError):
    """A URL that must not be fetched; str() says why, e.g. '127.0.0.1 is a loopback address'."""


class HostLookupError(InputError):
    """The host of a URL does not resolve."""


def private_address_kind(address: IPAddress) -> str | None:
    """Why `address` must not be fetched ('a loopback address', ...), or None if it is public."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return private_address_kind(embedded)
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "a site-local address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        # E.g. 100.64.0.0/10, shared by carriers: reachable from here, not from the Internet.
        return "a non-public address"
    return None


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to, IPv4 and IPv6, in the resolver's order."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise HostLookupError(f"cannot resolve host {host!r}: {exc}") from None
    addresses: list[IPAddress] = []
    for info in infos:
        # IPv6 link-local results carry a zone ("fe80::1%eth0"); the zone does not matter here.
        text = str(info[4][0]).split("%", 1)[0]
        address = ipaddress.ip_address(text)
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise HostLookupError(f"cannot resolve host {host!r}: no addresses")
    return addresses


def check_url(
    url: str, *, allow_private: bool, resolve: Resolver = resolve_host
) -> list[IPAddress]:
    """Refuse a URL that is not http(s) or whose host has any non-public address.

    Returns the checked addresses, which the caller connects to so that a second DNS answer
    cannot swap in a private one; empty when `allow_private` is set (nothing to pin).
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError as exc:
        raise URLRefusedError(f"{url!r} is not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        shown = f"{scheme}://" if scheme else "a URL without a scheme"
        raise URLRefusedError(f"only http and https URLs can be fetched, not {shown}")
    if not host:
        raise URLRefusedError("the URL has no host")
    if allow_private:
        return []
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        kind = private_address_kind(literal)
        if kind:
            raise URLRefusedError(f"{literal} is {kind} ({ALLOW_PRIVATE_HINT})")
        return [literal]
    addresses = resolve(host, port or (443 if scheme == "https" else 80))
    for address in addresses:
        kind = private_address_kind(address)
        if kind:
            raise URLRefusedError(f"{host} resolves to {address}, {kind} ({ALLOW_PRIVATE_HINT})")
    return addresses
