"""The SSRF guard as pure functions: address classification and URL checks."""

from __future__ import annotations

import ipaddress

import pytest

from knowledge.loaders.url_safety import (
    ALLOW_PRIVATE_HINT as ALLOW,
)
from knowledge.loaders.url_safety import (
    IPAddress,
    Resolver,
    URLRefusedError,
    check_url,
    private_address_kind,
)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "a loopback address"),
        ("127.10.20.30", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("172.16.5.4", "a private address"),
        ("192.168.1.1", "a private address"),
        ("169.254.169.254", "a link-local address"),
        ("224.0.0.251", "a multicast address"),
        ("0.0.0.0", "an unspecified address"),
        ("240.0.0.1", "a reserved address"),
        ("100.64.0.1", "a non-public address"),
        ("::1", "a loopback address"),
        ("::", "an unspecified address"),
        ("fe80::1", "a link-local address"),
        ("fd12:3456::1", "a private address"),
        ("ff02::1", "a multicast address"),
        ("fec0::1", "a site-local address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("::ffff:10.0.0.1", "a private address"),
        ("2002:a9fe:a9fe::1", "a link-local address"),
        ("64:ff9b::7f00:1", "a loopback address"),
    ],
)
def test_non_public_addresses_are_named(address: str, kind: str) -> None:
    assert private_address_kind(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "1.1.1.1", "93.184.215.14", "2001:4860:4860::8888", "::ffff:8.8.8.8"],
)
def test_public_addresses_pass(address: str) -> None:
    assert private_address_kind(ipaddress.ip_address(address)) is None


def _resolver(table: dict[str, list[str]]) -> tuple[Resolver, list[str]]:
    """A resolver answering from `table`, and the list of lookups it was asked for."""
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[IPAddress]:
        calls.append(f"{host}:{port}")
        return [ipaddress.ip_address(a) for a in table[host]]

    return resolve, calls


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "only http and https URLs can be fetched, not file://"),
        ("ftp://example.com/feed.xml", "only http and https URLs can be fetched, not ftp://"),
        ("gopher://example.com/", "only http and https URLs can be fetched, not gopher://"),
        ("//example.com/x", "only http and https URLs can be fetched, not a URL without a scheme"),
        ("http:///path-only", "the URL has no host"),
        ("http://127.0.0.1:8080/admin", f"127.0.0.1 is a loopback address ({ALLOW})"),
        ("http://[::1]/", f"::1 is a loopback address ({ALLOW})"),
        (
            "http://169.254.169.254/latest/meta-data/",
            f"169.254.169.254 is a link-local address ({ALLOW})",
        ),
        ("https://[::ffff:192.168.0.1]/", f"::ffff:c0a8:1 is a private address ({ALLOW})"),
    ],
)
def test_refused_urls_say_why(url: str, reason: str) -> None:
    resolve, calls = _resolver({})
    with pytest.raises(URLRefusedError) as caught:
        check_url(url, allow_private=False, resolve=resolve)
    assert str(caught.value) == reason
    assert calls == []


def test_every_resolved_address_is_checked() -> None:
    resolve, calls = _resolver({"mixed.test": ["8.8.8.8", "2001:4860::1", "10.0.0.7"]})
    with pytest.raises(URLRefusedError) as caught:
        check_url("https://mixed.test/page", allow_private=False, resolve=resolve)
    assert str(caught.value) == f"mixed.test resolves to 10.0.0.7, a private address ({ALLOW})"
    assert calls == ["mixed.test:443"]


def test_public_host_returns_its_addresses_to_connect_to() -> None:
    resolve, calls = _resolver({"public.test": ["8.8.8.8", "2001:4860:4860::8888"]})
    addresses = check_url("http://public.test:8080/x", allow_private=False, resolve=resolve)
    assert [str(a) for a in addresses] == ["8.8.8.8", "2001:4860:4860::8888"]
    assert calls == ["public.test:8080"]


def test_allow_private_skips_address_checks_but_not_the_scheme() -> None:
    resolve, calls = _resolver({})
    assert check_url("http://127.0.0.1/", allow_private=True, resolve=resolve) == []
    assert calls == []
    with pytest.raises(URLRefusedError, match="not file://"):
        check_url("file:///etc/passwd", allow_private=True, resolve=resolve)
