"""A threaded stdlib HTTP server that misbehaves on purpose, for fetcher tests. Loopback only.

Use it as a context manager (`with FaultServer("127.0.0.2") as srv: srv.url("/ok-feed")`), through
`public_pair()` (a server on 127.0.0.2 with `.loopback_twin`, a second server on 127.0.0.1 at the same
port: the target of /redirect-loopback, so a test can prove that a refused redirect never connected),
or through the fixtures `fault_server` / `public_fault_server` below: list `"tests.faultserver"` in
`pytest_plugins` (in a module that does not also import from this one, or pytest warns that it cannot
rewrite asserts here). Every server records `requests`, `connections` and `max_inflight`.
"""

from __future__ import annotations

import gzip
import random
import socket
import ssl
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Fault feed</title><link>http://example.test/</link>
<description>test feed</description>
<item><title>Gateway HALO module shipped</title><link>http://example.test/a1</link>
<guid>a1</guid><pubDate>Mon, 06 Jan 2025 10:00:00 GMT</pubDate><description>First item.</description></item>
<item><title>ILRS partners meet</title><link>http://example.test/a2</link>
<guid>a2</guid><pubDate>Tue, 07 Jan 2025 10:00:00 GMT</pubDate><description>Second item.</description></item>
</channel></rss>
"""

ARTICLE_TEXT = ("The power and propulsion element of the Lunar Gateway completed its thermal vacuum test "
                "campaign this week, engineers said, clearing the way for integration with the habitation "
                "module later this year.")
PAGE = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Gateway milestone</title></head>
<body><nav><a href="/">Home</a> <a href="/news">News</a></nav>
<article><h1>Gateway milestone</h1><p>{ARTICLE_TEXT}</p>
<p>A second paragraph adds detail about the schedule, the partners involved and the next steps for the
programme, so that an extractor has enough text to work with.</p></article>
<footer>Copyright</footer></body></html>
""".encode()

NO_ARTICLE = b"""<!DOCTYPE html><html><head><title>Menu</title></head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/a">About</a></li><li><a href="/c">Contact</a></li></ul></nav>
</body></html>
"""

LATIN1_WORDS = ("café", "Zürich")
LATIN1_PAGE = ("<html><head><title>Nouvelles du café</title></head><body><p>Le café de la gare à Zürich "
               "a fermé. Les habitués de Zürich regrettent déjà ce café où l'on parlait des étoiles, de la "
               "Lune et des fusées, après une dernière soirée très animée.</p></body></html>").encode("latin-1")

ETAG = '"v1"'
LAST_MODIFIED = "Mon, 06 Jan 2025 10:00:00 GMT"
HUGE_BYTES = 50 * 1024 * 1024
BOMB_INFLATED = 120 * 1024 * 1024
_bomb: bytes | None = None
_bomb_lock = threading.Lock()


def gzip_bomb() -> bytes:
    """~120 KB of gzip that inflates to 120 MB of zeros (deflate tops out near 1:1000).

    Built 1 MB at a time so that making the bomb does not itself allocate 120 MB.
    """
    global _bomb
    with _bomb_lock:
        if _bomb is None:
            packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
            block = bytes(1024 * 1024)
            parts = [packer.compress(block) for _ in range(BOMB_INFLATED // len(block))]
            _bomb = b"".join(parts) + packer.flush()
        return _bomb


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], fault: FaultServer, tls: ssl.SSLContext | None):
        self.fault = fault
        self.tls = tls
        super().__init__(address, _Handler)

    def verify_request(self, request: object, client_address: object) -> bool:
        self.fault._count_connection()
        return True

    def finish_request(self, request: socket.socket, client_address: object) -> None:
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        try:
            wrapped = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # the client refused our certificate: that is what the TLS tests expect
        try:
            super().finish_request(wrapped, client_address)
        finally:
            wrapped.close()  # the raw socket was detached into `wrapped`; shutdown_request cannot close it

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients hanging up mid-body is the point of these endpoints: stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 30

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        fault = self.server.fault
        parts = urlsplit(self.path)
        fault._record(parts.path, dict(self.headers.items()))
        handler = ROUTES.get(parts.path) or _prefix_route(parts.path)
        fault._enter()
        try:
            handler(self, parse_qs(parts.query))
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, ssl.SSLError):
            self.close_connection = True
        finally:
            fault._leave()

    # helpers -----------------------------------------------------------------------------------
    def send(self, status: int, body: bytes = b"", ctype: str = "text/plain; charset=utf-8",
             headers: dict[str, str] | None = None, length: bool = True) -> None:
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def redirect(self, location: str, status: int = 302) -> None:
        self.send(status, b"", headers={"Location": location})


Route = Callable[[_Handler, dict[str, list[str]]], None]


def _ok_feed(h: _Handler, q: dict) -> None:
    h.send(200, RSS, "application/rss+xml; charset=utf-8")


def _status(code: int, headers: dict[str, str] | None = None) -> Route:
    return lambda h, q: h.send(code, f"status {code}\n".encode(), headers=headers)


def _reset(h: _Handler, q: dict) -> None:
    """Close with RST (SO_LINGER 0) before sending anything."""
    h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    h.connection.close()
    h.close_connection = True


def _drip(h: _Handler, q: dict) -> None:
    """One byte a second: never idle long enough for a read timeout, only a deadline stops it."""
    total = 60
    h.send_response(200)
    h.send_header("Content-Type", "text/plain")
    h.send_header("Content-Length", str(total))
    h.end_headers()
    for _ in range(total):
        h.wfile.write(b"x")
        h.wfile.flush()
        time.sleep(1)


def _huge(h: _Handler, q: dict) -> None:
    """50 MB streamed; without Content-Length unless ?length=1."""
    headers = {"Content-Length": str(HUGE_BYTES)} if q.get("length") else {}
    h.send(200, b"", "application/octet-stream", headers=headers, length=False)
    block = b"A" * 65536
    for _ in range(HUGE_BYTES // len(block)):
        h.wfile.write(block)
    h.close_connection = True


def _gzip_bomb(h: _Handler, q: dict) -> None:
    h.send(200, gzip_bomb(), "text/html", headers={"Content-Encoding": "gzip"})


def _gzip_page(h: _Handler, q: dict) -> None:
    h.send(200, gzip.compress(PAGE), "text/html; charset=utf-8", headers={"Content-Encoding": "gzip"})


def _loop(h: _Handler, q: dict) -> None:
    h.redirect("/loop")


def _chain(h: _Handler, q: dict) -> None:
    """/chain/N redirects N times, then lands on /ok-feed."""
    n = int(h.path.rsplit("/", 1)[-1] or 0)
    h.redirect(f"/chain/{n - 1}" if n > 0 else "/ok-feed", 301)


def _redirect_loopback(h: _Handler, q: dict) -> None:
    h.redirect(f"http://127.0.0.1:{h.server.server_address[1]}/ok-feed")


def _redirect_metadata(h: _Handler, q: dict) -> None:
    h.redirect("http://169.254.169.254/latest/meta-data/")


def _redirect_to(h: _Handler, q: dict) -> None:
    h.redirect(q.get("to", ["/ok-feed"])[0])


def _binary(h: _Handler, q: dict) -> None:
    h.send(200, random.Random(1234).randbytes(8192), "text/html")


def _latin1(h: _Handler, q: dict) -> None:
    h.send(200, LATIN1_PAGE, "text/html")


def _etag(h: _Handler, q: dict) -> None:
    headers = {"ETag": ETAG, "Last-Modified": LAST_MODIFIED}
    if h.headers.get("If-None-Match") == ETAG:
        h.send(304, b"", "", headers={"ETag": ETAG}, length=False)
        return
    h.send(200, RSS, "application/rss+xml; charset=utf-8", headers=headers)


def _expires0(h: _Handler, q: dict) -> None:
    h.send(200, RSS, "application/rss+xml", headers={"ETag": ETAG, "Expires": "0",
                                                      "Last-Modified": LAST_MODIFIED})


def _slow(h: _Handler, q: dict) -> None:
    time.sleep(float(q.get("s", ["0.3"])[0]))
    h.send(200, b"slow but fine\n")


ROUTES: dict[str, Route] = {
    "/ok-feed": _ok_feed,
    "/500": _status(500),
    "/503": _status(503, {"Retry-After": "120"}),
    "/429": _status(429, {"Retry-After": "30"}),
    "/429-date": lambda h, q: h.send(429, b"slow down", headers={
        "Retry-After": formatdate(time.time() + 90, usegmt=True)}),
    "/404": _status(404),
    "/410": _status(410),
    "/reset": _reset,
    "/drip": _drip,
    "/huge": _huge,
    "/gzip-bomb": _gzip_bomb,
    "/gzip-page": _gzip_page,
    "/loop": _loop,
    "/redirect-loopback": _redirect_loopback,
    "/redirect-metadata": _redirect_metadata,
    "/redirect": _redirect_to,
    "/binary": _binary,
    "/latin1": _latin1,
    "/empty": lambda h, q: h.send(200, b"", "text/html"),
    "/no-article": lambda h, q: h.send(200, NO_ARTICLE, "text/html; charset=utf-8"),
    "/etag": _etag,
    "/expires0": _expires0,
    "/page": lambda h, q: h.send(200, PAGE, "text/html; charset=utf-8"),
    "/slow": _slow,
}


def _prefix_route(path: str) -> Route:
    if path.startswith("/chain/"):
        return _chain
    return _status(404)


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


class FaultServer:
    """The server plus what it saw. Bind any 127/8 address; port 0 picks a free one."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None):
        self.requests: list[Seen] = []
        self.connections = 0
        self.max_inflight = 0
        self._inflight = 0
        self._lock = threading.Lock()
        self._httpd = _Server((host, port), self, tls)
        self._thread: threading.Thread | None = None
        self.scheme = "https" if tls else "http"
        self.loopback_twin: FaultServer | None = None  # set by start_public_pair

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str = "/", host: str | None = None) -> str:
        return f"{self.scheme}://{host or self.host}:{self.port}{path}"

    @property
    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def start(self) -> FaultServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _record(self, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append(Seen(path, {k.lower(): v for k, v in headers.items()}))

    def _count_connection(self) -> None:
        with self._lock:
            self.connections += 1

    def _enter(self) -> None:
        with self._lock:
            self._inflight += 1
            self.max_inflight = max(self.max_inflight, self._inflight)

    def _leave(self) -> None:
        with self._lock:
            self._inflight -= 1


def start_public_pair(attempts: int = 20) -> FaultServer:
    """A started server on 127.0.0.2 ("the internet") with `.loopback_twin` on 127.0.0.1, same port."""
    for _ in range(attempts):
        public = FaultServer("127.0.0.2")
        try:
            twin = FaultServer("127.0.0.1", public.port)
        except OSError:  # that port is taken on 127.0.0.1: try another
            public._httpd.server_close()
            continue
        public.loopback_twin = twin.start()
        return public.start()
    raise RuntimeError("no port free on both 127.0.0.1 and 127.0.0.2")


@contextmanager
def public_pair() -> Iterator[FaultServer]:
    """start_public_pair() as a context manager that stops both servers."""
    server = start_public_pair()
    try:
        yield server
    finally:
        server.stop()
        if server.loopback_twin is not None:
            server.loopback_twin.stop()


@pytest.fixture
def fault_server() -> Iterator[FaultServer]:
    """A FaultServer on 127.0.0.1 (for callers that fetch with trusted=True or private networks on)."""
    with FaultServer() as server:
        yield server


@pytest.fixture
def public_fault_server() -> Iterator[FaultServer]:
    """A FaultServer on 127.0.0.2 that tests treat as public, with its 127.0.0.1 twin."""
    with public_pair() as server:
        yield server
