"""The SSRF guard: address classification, URL checks, and the pinned backend's resolve-check-connect."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import httpcore
import pytest

from monitor.errors import FetchError
from monitor.fetch import guard
from monitor.fetch.guard import PinnedBackend, check_url, is_public_address, system_resolve

TEREDO_LOOPBACK_CLIENT = "2001:0:4136:e378:8000:63bf:80ff:fffe"  # client bits encode 127.0.0.1

REFUSED = [
    "127.0.0.1", "127.8.9.10", "::1", "0.0.0.0", "::", "10.1.2.3", "172.16.0.1", "192.168.1.1",
    "100.64.0.1", "100.127.255.254", "169.254.169.254", "169.254.1.1", "fd00:ec2::254", "100.100.100.200",
    "198.18.0.1", "198.19.255.255", "192.0.2.1", "198.51.100.7", "203.0.113.9", "240.0.0.1",
    "255.255.255.255", "224.0.0.1", "239.255.255.250",
    "fe80::1", "fe80::1%eth0", "ff02::1", "ff0e::1", "fc00::1", "fd12:3456::1", "fec0::1", "2001:db8::1",
    "::ffff:127.0.0.1", "::ffff:100.64.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1",
    "2002:7f00:1::", "2002:a9fe:a9fe::1", TEREDO_LOOPBACK_CLIENT,
    "64:ff9b::7f00:1", "::7f00:1",
    "", "not-an-ip", "999.1.1.1", "example.com",
]
ALLOWED = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700::", "2606:4700:4700::1111",
           "2a00:1450:4001:80b::200e", "::ffff:8.8.8.8", "2002:808:808::", "64:ff9b::808:808"]


@pytest.mark.parametrize("ip", REFUSED)
def test_non_public_addresses_are_refused(ip):
    assert is_public_address(ip) is False


@pytest.mark.parametrize("ip", ALLOWED)
def test_public_addresses_are_allowed(ip):
    assert is_public_address(ip) is True


def test_tricky_forms_fool_is_global_but_not_the_guard():
    """The reason for unwrapping: Python calls these global although they reach loopback or CGNAT."""
    for ip in ("::ffff:100.64.0.1", "2002:7f00:1::", "64:ff9b::7f00:1", "::7f00:1", "ff02::1"):
        assert ipaddress.ip_address(ip).is_global is True
        assert is_public_address(ip) is False
    assert ipaddress.ip_address(TEREDO_LOOPBACK_CLIENT).teredo[1] == ipaddress.IPv4Address("127.0.0.1")


@pytest.mark.parametrize("url", [
    "http://example.com/feed", "https://example.com:8443/a?b=c#frag", "HTTPS://Example.COM/",
    "http://[2606:4700::1]/x", "http://bücher.example/", "http://example.com/path with space",
])
def test_check_url_accepts_plain_http_urls(url):
    assert check_url(url) is None


@pytest.mark.parametrize("url", [
    "", "ftp://example.com/x", "file:///etc/passwd", "javascript:alert(1)", "gopher://example.com/",
    "feed://example.com/rss", "http://user:pass@example.com/", "http://example.com@169.254.169.254/",
    "http://INTERNAL:8888\\@PUBLIC/", "http:///nohost", "http://", "http://exa mple.com/",
    "http://example.com:99999/", "http://example.com\t.evil/", "http://example.com\n/x",
    "http://[::1/", "//example.com/x", "example.com/x",
])
def test_check_url_refuses(url):
    with pytest.raises(FetchError) as info:
        check_url(url)
    assert info.value.code == "url_refused"


def test_system_resolve_returns_literal_address():
    assert asyncio.run(system_resolve("127.0.0.1", 80)) == ["127.0.0.1"]


@pytest.fixture
def spy(monkeypatch) -> list[str]:
    """Every address the real backend is asked to dial; it refuses instead of dialling."""
    dialled: list[str] = []

    async def fake_connect(self, host, port, **kwargs):
        dialled.append(host)
        raise httpcore.ConnectError("spy: not dialling")

    monkeypatch.setattr(httpcore.AnyIOBackend, "connect_tcp", fake_connect)
    return dialled


def _connect(backend: PinnedBackend, host: str = "feeds.example.test") -> FetchError | Exception:
    try:
        asyncio.run(backend.connect_tcp(host, 80, timeout=1))
    except Exception as e:  # the test inspects which error came out
        return e
    raise AssertionError("connect_tcp unexpectedly succeeded")


def test_backend_refuses_when_any_address_is_not_allowed(spy):
    backend = PinnedBackend(lambda h, p: ["93.184.216.34", "127.0.0.1"], is_public_address)
    err = _connect(backend)
    assert isinstance(err, FetchError) and err.code == "ssrf_blocked"
    assert spy == []  # refused before any socket was opened


def test_backend_dials_the_checked_address_not_the_name(spy):
    calls = []

    def resolver(host, port):
        calls.append(host)
        return ["93.184.216.34"]

    err = _connect(PinnedBackend(resolver, is_public_address))
    assert isinstance(err, httpcore.ConnectError)
    assert spy == ["93.184.216.34"]
    assert calls == ["feeds.example.test"]  # resolved exactly once


def test_backend_tries_each_checked_address_in_order(spy):
    _connect(PinnedBackend(lambda h, p: ["93.184.216.34", "2606:4700::1"], is_public_address))
    assert spy == ["93.184.216.34", "2606:4700::1"]


def test_backend_accepts_async_resolver_and_no_policy(spy):
    async def resolver(host, port):
        return ["10.0.0.5"]

    _connect(PinnedBackend(resolver, None))
    assert spy == ["10.0.0.5"]


@pytest.mark.parametrize("resolver", [
    lambda h, p: (_ for _ in ()).throw(socket.gaierror(socket.EAI_NONAME, "Name or service not known")),
    lambda h, p: [],
])
def test_backend_maps_resolution_failure_to_dns(resolver, spy):
    err = _connect(PinnedBackend(resolver, is_public_address))
    assert isinstance(err, FetchError) and err.code == "dns"
    assert spy == []


def test_backend_never_opens_unix_sockets():
    with pytest.raises(FetchError) as info:
        asyncio.run(PinnedBackend(guard.system_resolve, None).connect_unix_socket("/var/run/docker.sock"))
    assert info.value.code == "url_refused"
