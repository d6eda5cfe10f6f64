"""Fetcher against real misbehaving servers on loopback, plus respx for protocol edge cases.

The fault server binds 127.0.0.2 and plays "the public internet" (address_allowed lets exactly that
address through); its twin on 127.0.0.1 stands for the private network a redirect must never reach.
"""

from __future__ import annotations

import asyncio
import gzip
import shutil
import socket
import ssl
import subprocess
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from email.utils import formatdate

import httpcore
import httpx
import pytest
import respx

from monitor.config import FetchSection
from monitor.errors import FetchError
from monitor.fetch import Fetcher, FetchResult, Validators, decode_body, is_public_address, parse_retry_after
from tests.faultserver import (
    ARTICLE_TEXT,
    ETAG,
    LAST_MODIFIED,
    LATIN1_WORDS,
    PAGE,
    RSS,
    FaultServer,
    gzip_bomb,
    public_pair,
)

PUBLIC_IP = "127.0.0.2"


def allow_public(ip: str) -> bool:
    return ip == PUBLIC_IP or is_public_address(ip)


def make_settings(**overrides) -> FetchSection:
    values = {"connect_timeout_s": 2, "read_timeout_s": 3, "total_timeout_s": 2, "max_body_mb": 1,
              "max_redirects": 3, "concurrency": 4, "per_host_concurrency": 2}
    values.update(overrides)
    return FetchSection(**values)


def fetch(url: str, *, settings: FetchSection | None = None, resolver=None, allowed=allow_public,
          **kwargs) -> FetchResult:
    async def run() -> FetchResult:
        async with Fetcher(settings or make_settings(), resolver=resolver, address_allowed=allowed) as f:
            return await f.fetch(url, **kwargs)

    return asyncio.run(run())


def fetch_error(url: str, **kwargs) -> FetchError:
    with pytest.raises(FetchError) as info:
        fetch(url, **kwargs)
    return info.value


@pytest.fixture
def srv() -> Iterator[FaultServer]:
    """The fault server on 127.0.0.2 ("public"), with its 127.0.0.1 twin as `.loopback_twin`."""
    with public_pair() as server:
        yield server


@pytest.fixture
def dialled(monkeypatch) -> list[str]:
    """Addresses actually dialled by the socket layer (the real connect still happens)."""
    seen: list[str] = []
    original = httpcore.AnyIOBackend.connect_tcp

    async def spy(self, host, port, **kwargs):
        seen.append(host)
        return await original(self, host, port, **kwargs)

    monkeypatch.setattr(httpcore.AnyIOBackend, "connect_tcp", spy)
    return seen


# --- the happy path ------------------------------------------------------------------------------

def test_ok_feed(srv):
    result = fetch(srv.url("/ok-feed"))
    assert result.status == 200 and not result.not_modified
    assert result.body == RSS
    assert result.content_type.startswith("application/rss+xml")
    assert result.url == srv.url("/ok-feed")
    assert "content-length" in result.headers  # names are lower-cased
    sent = srv.requests[0].headers
    assert sent["user-agent"] == FetchSection().user_agent
    assert sent["accept-encoding"] == "gzip, deflate"


def test_accept_header_is_passed(srv):
    fetch(srv.url("/ok-feed"), accept="application/atom+xml")
    assert srv.requests[0].headers["accept"] == "application/atom+xml"


def test_page_and_no_article_pages_are_fetched_intact(srv):
    page = fetch(srv.url("/page"))
    assert ARTICLE_TEXT in decode_body(page.body, page.content_type)
    nav = fetch(srv.url("/no-article"))
    assert nav.content_type.startswith("text/html") and b"<nav>" in nav.body


def test_gzip_body_is_decompressed(srv):
    result = fetch(srv.url("/gzip-page"))
    assert result.body == PAGE
    assert result.headers["content-encoding"] == "gzip"


def test_latin1_page_decodes(srv):
    result = fetch(srv.url("/latin1"))
    assert "charset" not in result.content_type
    text = decode_body(result.body, result.content_type)
    for word in LATIN1_WORDS:
        assert word in text


def test_binary_body_is_returned_and_decodes_without_error(srv):
    result = fetch(srv.url("/binary"))
    assert len(result.body) == 8192
    assert isinstance(decode_body(result.body, result.content_type), str)


# --- conditional GET -----------------------------------------------------------------------------

def test_etag_round_trip(srv):
    first = fetch(srv.url("/etag"))
    assert first.status == 200
    assert first.validators == Validators(etag=ETAG, last_modified=LAST_MODIFIED)
    second = fetch(srv.url("/etag"), validators=first.validators)
    assert second.not_modified and second.status == 304 and second.body == b""
    assert second.validators == first.validators  # 304 without Last-Modified keeps the stored one
    sent = srv.requests[1].headers
    assert sent["if-none-match"] == ETAG and sent["if-modified-since"] == LAST_MODIFIED


def test_expires_zero_drops_validators(srv):
    result = fetch(srv.url("/expires0"))
    assert result.status == 200
    assert result.validators == Validators()


# --- failures with codes -------------------------------------------------------------------------

@pytest.mark.parametrize("path, code, permanent, retry_after", [
    ("/500", "http_500", False, None),
    ("/503", "http_503", False, 120),
    ("/429", "http_429", False, 30),
    ("/404", "http_404", True, None),
    ("/410", "http_410", True, None),
])
def test_http_errors(srv, path, code, permanent, retry_after):
    err = fetch_error(srv.url(path))
    assert (err.code, err.permanent, err.retry_after) == (code, permanent, retry_after)


def test_retry_after_as_http_date(srv):
    err = fetch_error(srv.url("/429-date"))
    assert err.code == "http_429"
    assert err.retry_after is not None and 30 < err.retry_after <= 91


def test_empty_body(srv):
    assert fetch_error(srv.url("/empty")).code == "empty_body"


def test_connection_reset(srv):
    assert fetch_error(srv.url("/reset")).code == "connection"


def test_connection_refused():
    with socket.socket() as s:
        s.bind((PUBLIC_IP, 0))
        port = s.getsockname()[1]
    assert fetch_error(f"http://{PUBLIC_IP}:{port}/").code == "connection"


def test_dns_failure_is_dns():
    def resolver(host, port):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    err = fetch_error("http://no-such-host.test/feed", resolver=resolver)
    assert err.code == "dns"


def test_drip_feed_hits_the_whole_request_deadline(srv):
    """One byte a second never trips the 3 s read timeout; the 2 s deadline must stop it."""
    start = time.monotonic()
    err = fetch_error(srv.url("/drip"))
    elapsed = time.monotonic() - start
    assert err.code == "timeout"
    assert "no complete response" in err.message
    assert elapsed < 10  # generous: the point is that it does not run for the drip's 60 s


def test_huge_streamed_body_stops_at_the_cap(srv):
    err = fetch_error(srv.url("/huge"))
    assert err.code == "too_large" and "after decompression" in err.message


def test_huge_declared_length_is_refused_before_reading(srv):
    err = fetch_error(srv.url("/huge?length=1"))
    assert err.code == "too_large" and "declares" in err.message


def test_gzip_bomb_stops_at_the_cap_without_inflating_it(srv):
    assert len(gzip_bomb()) < 200_000  # built before measuring: only the client is traced below
    tracemalloc.start()
    try:
        err = fetch_error(srv.url("/gzip-bomb"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert err.code == "too_large"
    assert peak < 16 * 1024 * 1024  # cap is 1 MB; inflating one 64 KB chunk at once would be ~64 MB


# --- redirects -----------------------------------------------------------------------------------

def test_redirect_chain_is_followed(srv):
    result = fetch(srv.url("/chain/2"))
    assert result.url == srv.url("/ok-feed") and result.body == RSS
    assert srv.paths == ["/chain/2", "/chain/1", "/chain/0", "/ok-feed"]


def test_too_many_redirects(srv):
    assert fetch_error(srv.url("/chain/9")).code == "too_many_redirects"
    assert len(srv.requests) == 4  # max_redirects=3: the first request plus three hops


def test_zero_redirects_allowed(srv):
    assert fetch_error(srv.url("/chain/1"), settings=make_settings(max_redirects=0)).code == "too_many_redirects"


def test_redirect_loop(srv):
    assert fetch_error(srv.url("/loop")).code == "redirect_loop"
    assert srv.paths == ["/loop"]


# --- SSRF ----------------------------------------------------------------------------------------

def test_redirect_to_loopback_is_blocked_and_never_connects(srv):
    err = fetch_error(srv.url("/redirect-loopback"))
    assert err.code == "ssrf_blocked" and err.permanent
    assert srv.loopback_twin.connections == 0 and srv.loopback_twin.requests == []


def test_redirect_to_loopback_control_with_private_networks_allowed(srv):
    """Proves the twin would have noticed a connection: with the guard lifted, it is reached."""
    result = fetch(srv.url("/redirect-loopback"), settings=make_settings(allow_private_networks=True))
    assert result.status == 200
    assert srv.loopback_twin.paths == ["/ok-feed"]


def test_redirect_to_metadata_is_blocked_and_never_dialled(srv, dialled):
    err = fetch_error(srv.url("/redirect-metadata"))
    assert err.code == "ssrf_blocked"
    assert dialled == [PUBLIC_IP]


def test_trusted_source_does_not_trust_redirects_to_other_hosts(srv, dialled):
    err = fetch_error(srv.url("/redirect-metadata"), trusted=True)
    assert err.code == "ssrf_blocked"
    assert "169.254.169.254" not in dialled


def test_private_address_is_blocked_by_default_policy(srv):
    err = fetch_error(srv.loopback_twin.url("/ok-feed"), allowed=None)  # guard.is_public_address
    assert err.code == "ssrf_blocked"
    assert srv.loopback_twin.connections == 0


def test_trusted_source_on_a_private_address_is_fetched(srv):
    result = fetch(srv.loopback_twin.url("/ok-feed"), allowed=None, trusted=True)
    assert result.status == 200 and srv.loopback_twin.paths == ["/ok-feed"]


def test_trusted_host_lets_same_host_links_through(srv):
    twin = srv.loopback_twin
    assert fetch(twin.url("/page"), allowed=None, trusted_host="127.0.0.1").status == 200
    assert fetch_error(twin.url("/page"), allowed=None, trusted_host=PUBLIC_IP).code == "ssrf_blocked"
    assert twin.paths == ["/page"]


def test_any_private_address_in_the_answer_blocks(srv):
    err = fetch_error(srv.url("/ok-feed", host="mixed.test"), resolver=lambda h, p: [PUBLIC_IP, "127.0.0.1"])
    assert err.code == "ssrf_blocked"
    assert srv.connections == 0 and srv.loopback_twin.connections == 0


def test_redirect_to_a_name_that_resolves_private_is_blocked(srv):
    names = {"public.test": [PUBLIC_IP], "internal.test": ["127.0.0.1"]}
    target = srv.loopback_twin.url("/ok-feed", host="internal.test")
    err = fetch_error(srv.url(f"/redirect?to={target}", host="public.test"), resolver=lambda h, p: names[h])
    assert err.code == "ssrf_blocked"
    assert srv.paths == ["/redirect"] and srv.loopback_twin.connections == 0


def test_connection_is_pinned_to_the_checked_address_and_host_header_kept(srv, dialled):
    calls: list[str] = []

    def resolver(host, port):
        calls.append(host)
        return [PUBLIC_IP] if len(calls) == 1 else ["127.0.0.1"]  # a rebinding attempt

    result = fetch(srv.url("/ok-feed", host="feeds.example.test"), resolver=resolver)
    assert result.status == 200
    assert calls == ["feeds.example.test"]  # resolved once; httpx did not resolve again
    assert dialled == [PUBLIC_IP]
    assert srv.requests[0].headers["host"] == f"feeds.example.test:{srv.port}"


# --- TLS -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[str, str]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl command not available to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=feeds.example.test",
                    "-addext", "subjectAltName=DNS:feeds.example.test"],
                   check=True, capture_output=True)
    return str(cert), str(key)


@pytest.fixture
def tls_server(certificate):
    names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    with FaultServer(PUBLIC_IP, tls=context) as server:
        server.sni_names = names  # type: ignore[attr-defined]
        yield server


def test_untrusted_certificate_is_tls_error(tls_server, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    err = fetch_error(tls_server.url("/ok-feed", host="feeds.example.test"), resolver=lambda h, p: [PUBLIC_IP])
    assert err.code == "tls"
    assert tls_server.requests == []


def test_tls_verifies_the_hostname_while_dialling_the_pinned_ip(tls_server, certificate, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", certificate[0])  # trust our test CA (httpx honours it)
    result = fetch(tls_server.url("/ok-feed", host="feeds.example.test"), resolver=lambda h, p: [PUBLIC_IP])
    assert result.status == 200 and result.body == RSS
    assert tls_server.sni_names == ["feeds.example.test"]
    # The same trusted certificate does not cover the bare IP: verification is really on.
    assert fetch_error(tls_server.url("/ok-feed")).code == "tls"


# --- politeness ----------------------------------------------------------------------------------

def _gather(settings: FetchSection, urls: list[str], resolver=None) -> list[FetchResult]:
    async def run() -> list[FetchResult]:
        async with Fetcher(settings, resolver=resolver, address_allowed=allow_public) as f:
            return list(await asyncio.gather(*(f.fetch(u) for u in urls)))

    return asyncio.run(run())


def test_per_host_concurrency_and_queueing_does_not_eat_the_deadline(srv):
    """5 x 0.5 s at one at a time is 2.5 s, beyond the 2 s deadline: only time in flight counts."""
    results = _gather(make_settings(per_host_concurrency=1), [srv.url("/slow?s=0.5")] * 5)
    assert [r.status for r in results] == [200] * 5
    assert srv.max_inflight == 1


def test_per_host_limit_allows_parallelism_up_to_the_limit(srv):
    results = _gather(make_settings(per_host_concurrency=2, concurrency=8), [srv.url("/slow?s=0.4")] * 6)
    assert len(results) == 6
    assert srv.max_inflight == 2


def test_global_concurrency_spans_hosts(srv):
    urls = [srv.url("/slow?s=0.3", host=h) for h in ("a.test", "b.test", "a.test", "b.test")]
    results = _gather(make_settings(concurrency=1, per_host_concurrency=4), urls,
                      resolver=lambda h, p: [PUBLIC_IP])
    assert len(results) == 4
    assert srv.max_inflight == 1


# --- protocol edge cases with respx (no sockets) ------------------------------------------------

def test_304_updates_validators_per_rfc_9111():
    old = Validators(etag='"a"', last_modified="Mon, 06 Jan 2025 10:00:00 GMT")
    newer = "Tue, 07 Jan 2025 10:00:00 GMT"
    with respx.mock:
        route = respx.get("https://feeds.example.test/rss").mock(
            return_value=httpx.Response(304, headers={"Last-Modified": newer}))
        result = fetch("https://feeds.example.test/rss", validators=old)
    assert result.not_modified and result.body == b""
    assert result.validators == Validators(etag='"a"', last_modified=newer)
    sent = route.calls.last.request.headers
    assert sent["if-none-match"] == '"a"' and sent["if-modified-since"] == old.last_modified


def test_304_with_expires_zero_forgets_validators():
    with respx.mock:
        respx.get("https://feeds.example.test/rss").mock(
            return_value=httpx.Response(304, headers={"ETag": '"b"', "Expires": "0"}))
        result = fetch("https://feeds.example.test/rss", validators=Validators(etag='"a"'))
    assert result.validators == Validators()


def test_no_validators_no_conditional_headers():
    with respx.mock:
        route = respx.get("https://feeds.example.test/rss").mock(return_value=httpx.Response(200, content=b"x"))
        fetch("https://feeds.example.test/rss")
    headers = route.calls.last.request.headers
    assert "if-none-match" not in headers and "if-modified-since" not in headers


def test_redirect_without_location_is_an_http_error():
    with respx.mock:
        respx.get("https://example.test/").mock(return_value=httpx.Response(302))
        err = fetch_error("https://example.test/")
    assert err.code == "http_302"


def test_relative_redirect_is_resolved():
    with respx.mock:
        respx.get("https://example.test/a/b").mock(
            return_value=httpx.Response(301, headers={"Location": "../c#frag"}))
        respx.get("https://example.test/c").mock(return_value=httpx.Response(200, content=b"landed"))
        result = fetch("https://example.test/a/b")
    assert result.url == "https://example.test/c" and result.body == b"landed"


def test_https_to_http_downgrade_is_refused():
    with respx.mock:
        respx.get("https://example.test/").mock(
            return_value=httpx.Response(302, headers={"Location": "http://example.test/plain"}))
        plain = respx.get("http://example.test/plain").mock(return_value=httpx.Response(200, content=b"x"))
        err = fetch_error("https://example.test/")
    assert err.code == "insecure_redirect"
    assert not plain.called


def test_redirect_to_a_refused_scheme():
    with respx.mock:
        respx.get("https://example.test/").mock(
            return_value=httpx.Response(302, headers={"Location": "file:///etc/passwd"}))
        err = fetch_error("https://example.test/")
    assert err.code == "url_refused"


def test_bad_url_is_refused_before_any_request():
    with respx.mock(assert_all_called=False) as router:
        err = fetch_error("http://user:pw@example.test/")
    assert err.code == "url_refused"
    assert router.calls.call_count == 0


def test_no_content_is_empty_body():
    with respx.mock:
        respx.get("https://example.test/").mock(return_value=httpx.Response(204))
        assert fetch_error("https://example.test/").code == "empty_body"


@pytest.mark.parametrize("encoding, payload", [
    ("gzip", gzip.compress(b"hello ") + gzip.compress(b"world")),  # two gzip members
    ("deflate", zlib.compress(b"hello world")),  # zlib-wrapped, as RFC 9110 says
    ("deflate", zlib.compress(b"hello world")[2:-4]),  # raw deflate, as some servers send
    ("x-gzip", gzip.compress(b"hello world")),
])
def test_content_encodings_are_inflated(encoding, payload):
    with respx.mock:
        respx.get("https://example.test/").mock(
            return_value=httpx.Response(200, stream=httpx.ByteStream(payload),
                                        headers={"Content-Encoding": encoding}))
        assert fetch("https://example.test/").body == b"hello world"


def test_corrupt_gzip_is_bad_encoding():
    with respx.mock:
        respx.get("https://example.test/").mock(
            return_value=httpx.Response(200, stream=httpx.ByteStream(b"\x1f\x8bnot gzip at all"),
                                        headers={"Content-Encoding": "gzip"}))
        assert fetch_error("https://example.test/").code == "bad_encoding"


def test_read_timeout_is_timeout():
    with respx.mock:
        respx.get("https://example.test/").mock(side_effect=httpx.ReadTimeout("slow"))
        assert fetch_error("https://example.test/").code == "timeout"


@pytest.mark.parametrize("value, expected", [
    ("120", 120.0), (" 30 ", 30.0), ("0", 0.0), ("-5", 0.0), ("", None), (None, None), ("soon", None),
    ("inf", None), ("nan", None),
])
def test_parse_retry_after_values(value, expected):
    assert parse_retry_after(value) == expected


def test_parse_retry_after_dates():
    now = 1_700_000_000.0
    assert parse_retry_after(formatdate(now + 60, usegmt=True), now=now) == pytest.approx(60, abs=1)
    assert parse_retry_after(formatdate(now - 60, usegmt=True), now=now) == 0.0
