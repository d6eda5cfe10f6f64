"""The one HTTP fetcher: bounded in time and size, SSRF-guarded per hop, polite per host.

Why it is built this way (see shared/notes/fetch-reliability.md, section 5):
- redirects are followed here, not by httpx, so every hop is re-checked by the guard;
- the address check lives in the network backend (guard.PinnedBackend), on the address dialled;
- gzip/deflate are inflated here with a bounded output size, so a compression bomb stops at the cap
  instead of inflating a whole 64 KB network chunk (up to ~64 MB) at once as httpx's decoder would;
- Retry-After is reported, never slept on: the scheduler decides when to come back; until then this
  Fetcher asks that origin nothing more (code `deferred`), so a 429 is not answered with more requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import math
import socket
import ssl
import time
import zlib
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

import httpcore
import httpx

from monitor.config import FetchSection
from monitor.errors import FetchError
from monitor.fetch.guard import (
    AddressPolicy,
    PinnedBackend,
    Resolver,
    check_url,
    is_public_address,
    system_resolve,
)

DEFAULT_ACCEPT = ("application/rss+xml, application/atom+xml, application/xml;q=0.9, "
                  "text/html;q=0.9, application/xhtml+xml;q=0.9, */*;q=0.5")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({401, 403, 404, 410})
_RETRY_AFTER = frozenset({429, 503})
_CHUNK = 64 * 1024
DEFAULT_429_WAIT_S = 60.0  # a 429 without Retry-After still means "slow down"
_TRANSPORT_ERRORS = (httpx.RequestError, httpcore.NetworkError, httpcore.ProtocolError,
                     httpcore.TimeoutException, httpcore.UnsupportedProtocol, OSError, zlib.error)


@dataclass(frozen=True)
class Validators:
    """Conditional-GET validators stored per URL."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FetchResult:
    """A successful fetch: 2xx with a non-empty body, or 304 with an empty one."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    validators: Validators

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


@dataclass(frozen=True)
class _Redirect:
    location: str


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: AsyncIterable[bytes]):
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._stream:
            yield part

    async def aclose(self) -> None:
        aclose = getattr(self._stream, "aclose", None)
        if aclose is not None:
            await aclose()


class _PinnedTransport(httpx.AsyncBaseTransport):
    """An httpx transport over an httpcore pool that dials through PinnedBackend (public APIs only).

    httpx 0.28's AsyncHTTPTransport has no network_backend parameter; building the pool here avoids
    patching its private `_pool`, and also means no proxy from the environment can bypass the pin.
    """

    def __init__(self, backend: PinnedBackend, ssl_context: ssl.SSLContext, max_connections: int):
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context, max_connections=max_connections,
            max_keepalive_connections=max_connections, keepalive_expiry=30.0,
            http1=True, http2=False, network_backend=backend)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = httpcore.URL(scheme=request.url.raw_scheme, host=request.url.raw_host,
                           port=request.url.port, target=request.url.raw_path)
        core_request = httpcore.Request(method=request.method, url=url, headers=request.headers.raw,
                                        content=request.stream, extensions=request.extensions)
        response = await self._pool.handle_async_request(core_request)
        return httpx.Response(status_code=response.status, headers=response.headers,
                              stream=_ResponseStream(response.stream), extensions=response.extensions)

    async def aclose(self) -> None:
        await self._pool.aclose()


class _Budget:
    """Seconds left of the whole-request deadline; spent only while a hop holds its slots."""

    def __init__(self, seconds: float):
        self.left = seconds


class _HostSlot:
    def __init__(self, limit: int):
        self.semaphore = asyncio.Semaphore(limit)
        self.users = 0


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP date); None if absent or junk."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _host(url: str) -> str:
    return httpx.URL(url).host.rstrip(".").lower()


def _origin(url: str) -> str:
    u = httpx.URL(url)
    return f"{u.scheme}://{u.host.rstrip('.').lower()}:{u.port or (443 if u.scheme == 'https' else 80)}"


def _without_fragment(url: str) -> str:
    return str(httpx.URL(url).copy_with(fragment=None))


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, kind):
            return True
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return False


def _classify(url: str, exc: BaseException) -> FetchError:
    """Map a transport exception to a stable code: timeout, tls, dns, bad_encoding or connection."""
    if isinstance(exc, httpx.TimeoutException | httpcore.TimeoutException):
        return FetchError(f"{url}: timed out ({type(exc).__name__})", code="timeout")
    if _caused_by(exc, ssl.SSLError):
        return FetchError(f"{url}: TLS failure: {exc}", code="tls")
    if _caused_by(exc, socket.gaierror):
        return FetchError(f"{url}: cannot resolve host: {exc}", code="dns")
    if isinstance(exc, httpx.DecodingError | zlib.error):
        return FetchError(f"{url}: cannot decode the response body: {exc}", code="bad_encoding")
    return FetchError(f"{url}: connection failed: {exc or type(exc).__name__}", code="connection")


def _http_error(url: str, response: httpx.Response) -> FetchError:
    status = response.status_code
    retry = parse_retry_after(response.headers.get("retry-after")) if status in _RETRY_AFTER else None
    return FetchError(f"{url}: HTTP {status} {response.reason_phrase}".rstrip(), code=f"http_{status}",
                      retry_after=retry, permanent=status in _PERMANENT)


def _validators(headers: httpx.Headers, old: Validators | None = None) -> Validators:
    """Validators of a response; on 304 the old ones updated field by field (RFC 9111 4.3.4).

    `Expires: 0` means the server wants no caching at all, so its validators are not kept (miniflux).
    """
    if headers.get("expires", "").strip() == "0":
        return Validators()
    old = old or Validators()
    return Validators(etag=headers.get("etag") or old.etag,
                      last_modified=headers.get("last-modified") or old.last_modified)


def _inflater(encoding: str, first: bytes) -> zlib._Decompress:
    if encoding == "deflate":
        # "deflate" is zlib-wrapped per RFC 9110, but some servers send raw deflate.
        looks_zlib = len(first) >= 2 and first[0] & 0x0F == 8 and (first[0] << 8 | first[1]) % 31 == 0
        return zlib.decompressobj(zlib.MAX_WBITS if looks_zlib else -zlib.MAX_WBITS)
    return zlib.decompressobj(zlib.MAX_WBITS | 16)


async def _inflate(raw: AsyncIterable[bytes], encoding: str) -> AsyncIterator[bytes]:
    """Decompress gzip/deflate yielding at most _CHUNK bytes at a time, so the size cap stays exact."""
    inflater: zlib._Decompress | None = None
    members = 0
    async for chunk in raw:
        data = chunk
        while data:
            if inflater is None:
                if members and not (encoding == "gzip" and data[:2] == b"\x1f\x8b"):
                    return  # bytes after the compressed stream: ignored, as httpx does
                inflater = _inflater(encoding, data)
                members += 1  # concatenated gzip members are legal (RFC 1952)
            out = inflater.decompress(data, _CHUNK)
            if out:
                yield out
            data = inflater.unconsumed_tail
            if inflater.eof:
                data, inflater = inflater.unused_data, None
    if inflater is not None:
        tail = inflater.flush()  # only what zlib still buffers: bounded by its window
        if tail:
            yield tail


class Fetcher:
    """Fetch URLs for the monitor. One instance per run; close it with `aclose()` or `async with`."""

    def __init__(self, settings: FetchSection, *, resolver: Resolver | None = None,
                 address_allowed: AddressPolicy | None = None):
        self._settings = settings
        self._cap = int(settings.max_body_mb * 1024 * 1024)
        resolve = resolver or system_resolve
        policy = None if settings.allow_private_networks else (address_allowed or is_public_address)
        self._guarded = self._client(PinnedBackend(resolve, policy))
        self._open = self._client(PinnedBackend(resolve, None))
        self._all = asyncio.Semaphore(settings.concurrency)
        self._hosts: dict[str, _HostSlot] = {}
        self._not_before: dict[str, float] = {}  # origin -> loop time it may be asked again (429/Retry-After)

    def _client(self, backend: PinnedBackend) -> httpx.AsyncClient:
        s = self._settings
        timeout = httpx.Timeout(connect=s.connect_timeout_s, read=s.read_timeout_s,
                                write=s.read_timeout_s, pool=s.total_timeout_s)
        transport = _PinnedTransport(backend, httpx.create_ssl_context(), max(s.concurrency * 2, 4))
        return httpx.AsyncClient(transport=transport, timeout=timeout, follow_redirects=False, trust_env=False)

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._guarded.aclose()
        await self._open.aclose()

    async def fetch(self, url: str, *, validators: Validators | None = None, trusted: bool = False,
                    trusted_host: str | None = None, accept: str | None = None) -> FetchResult:
        """GET url, following redirects by hand. Raises FetchError with a stable `code`.

        trusted=True (a configured source) lifts the address check for hops on that URL's host;
        trusted_host does the same for another host (links on the same host as their source).
        """
        check_url(url)
        trusted_hosts = {h.rstrip(".").lower() for h in (trusted_host, _host(url) if trusted else None) if h}
        headers = self._headers(validators, accept)
        budget = _Budget(self._settings.total_timeout_s)
        current, seen = _without_fragment(url), set()
        for _ in range(self._settings.max_redirects + 1):
            seen.add(current)
            outcome = await self._hop(current, headers, validators, trusted_hosts, budget)
            if isinstance(outcome, FetchResult):
                return outcome
            current = _next_hop(current, outcome, seen)
        raise FetchError(f"{url}: more than {self._settings.max_redirects} redirects",
                         code="too_many_redirects")

    def _headers(self, validators: Validators | None, accept: str | None) -> dict[str, str]:
        headers = {"User-Agent": self._settings.user_agent, "Accept": accept or DEFAULT_ACCEPT,
                   "Accept-Encoding": "gzip, deflate"}
        if validators and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        return headers

    @contextlib.asynccontextmanager
    async def _slot(self, host: str) -> AsyncIterator[None]:
        """Per-host then global slot (in that order, so waiting for a busy host holds no global slot)."""
        slot = self._hosts.get(host)
        if slot is None:
            slot = self._hosts[host] = _HostSlot(self._settings.per_host_concurrency)
        slot.users += 1
        try:
            async with slot.semaphore, self._all:
                yield
        finally:
            slot.users -= 1
            if slot.users == 0:
                self._hosts.pop(host, None)

    async def _hop(self, url: str, headers: dict[str, str], validators: Validators | None,
                   trusted_hosts: set[str], budget: _Budget) -> FetchResult | _Redirect:
        """One request under the deadline; transport failures become FetchError."""
        host = _host(url)
        open_ = self._settings.allow_private_networks or host in trusted_hosts
        client = self._open if open_ else self._guarded
        loop = asyncio.get_running_loop()
        async with self._slot(host):
            self._check_not_before(url, loop.time())
            start = loop.time()
            try:
                async with asyncio.timeout(max(budget.left, 0.0)):
                    return await self._exchange(client, url, headers, validators)
            except FetchError as e:
                self._note_retry_after(url, e, loop.time())
                raise
            except TimeoutError:
                raise FetchError(f"{url}: no complete response within {self._settings.total_timeout_s:g} s",
                                 code="timeout") from None
            except _TRANSPORT_ERRORS as e:
                raise _classify(url, e) from e
            finally:
                budget.left -= loop.time() - start

    def _check_not_before(self, url: str, now: float) -> None:
        """Refuse to ask a server again while it has asked us to wait (checked once a slot is held, so
        requests queued behind the one that got the 429 do not go out either)."""
        wait = self._not_before.get(_origin(url), 0.0) - now
        if wait > 0:
            raise FetchError(f"{url}: not asked, {_origin(url)} asked to wait {wait:.0f} s more (Retry-After)",
                             code="deferred", retry_after=wait)

    def _note_retry_after(self, url: str, error: FetchError, now: float) -> None:
        """A 429 (with or without Retry-After) or a 503 with Retry-After holds back the whole origin."""
        wait = error.retry_after
        if error.code == "http_429" and wait is None:
            wait = DEFAULT_429_WAIT_S
        if error.code in ("http_429", "http_503") and wait:
            origin = _origin(url)
            self._not_before[origin] = max(self._not_before.get(origin, 0.0), now + wait)

    async def _exchange(self, client: httpx.AsyncClient, url: str, headers: dict[str, str],
                        validators: Validators | None) -> FetchResult | _Redirect:
        response = await client.send(client.build_request("GET", url, headers=headers), stream=True)
        try:
            status = response.status_code
            location = response.headers.get("location")
            if status in _REDIRECTS and location:
                return _Redirect(location)
            if status == 304:
                return self._result(url, response, b"", _validators(response.headers, validators))
            if not 200 <= status < 300:
                raise _http_error(url, response)
            body = await self._read_body(url, response)
            if not body:
                raise FetchError(f"{url}: HTTP {status} with an empty body", code="empty_body")
            return self._result(url, response, body, _validators(response.headers))
        finally:
            await response.aclose()

    async def _read_body(self, url: str, response: httpx.Response) -> bytes:
        """The decompressed body, refused as soon as it (or its declared length) exceeds the cap."""
        declared = response.headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > self._cap:
            raise self._too_large(url, f"declares {int(declared)} bytes")
        encoding = response.headers.get("content-encoding", "").strip().lower()
        if encoding in ("", "identity"):
            chunks: AsyncIterable[bytes] = response.aiter_raw()
        elif encoding in ("gzip", "x-gzip", "deflate"):
            chunks = _inflate(response.aiter_raw(), "deflate" if encoding == "deflate" else "gzip")
        else:  # anything else we did not ask for: httpx decodes what it can, still counted
            chunks = response.aiter_bytes()
        body = bytearray()
        async for chunk in chunks:
            body += chunk
            if len(body) > self._cap:
                raise self._too_large(url, "body exceeds the limit after decompression")
        return bytes(body)

    def _too_large(self, url: str, why: str) -> FetchError:
        return FetchError(f"{url}: {why} (max_body_mb={self._settings.max_body_mb:g})", code="too_large")

    @staticmethod
    def _result(url: str, response: httpx.Response, body: bytes, validators: Validators) -> FetchResult:
        headers = {k.lower(): v for k, v in response.headers.items()}
        return FetchResult(url=url, status=response.status_code, headers=headers, body=body,
                           validators=validators)


def _next_hop(current: str, redirect: _Redirect, seen: set[str]) -> str:
    """The absolute next URL, refused on a loop, a downgrade to http, or anything check_url refuses."""
    base = httpx.URL(current)
    try:
        target = base.join(redirect.location.strip()).copy_with(fragment=None)
    except (httpx.InvalidURL, ValueError, UnicodeError) as e:
        raise FetchError(f"{current}: unusable redirect {redirect.location[:200]!r}: {e}",
                         code="url_refused") from None
    nxt = str(target)
    if base.scheme == "https" and target.scheme == "http":
        raise FetchError(f"{current}: redirect from https to http refused ({nxt})", code="insecure_redirect")
    if nxt in seen:
        raise FetchError(f"{current}: redirect loop back to {nxt}", code="redirect_loop")
    check_url(nxt)
    return nxt
