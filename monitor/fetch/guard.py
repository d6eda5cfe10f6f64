"""SSRF guard: which URLs and addresses a fetch may reach, and a network backend that pins the check.

The address check runs in the network backend, on the very addresses the socket will use: the host is
resolved once, every address is checked, and the connection goes to a checked address. httpx never
resolves the name a second time, so DNS rebinding between "check" and "connect" is impossible.
"""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from monitor.errors import FetchError

Resolver = Callable[[str, int], Awaitable[list[str]] | list[str]]
AddressPolicy = Callable[[str], bool]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges Python's is_global does not (or not in every version) refuse, plus explicit metadata hosts.
_BLOCKED_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
        "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
        "::/96", "::ffff:0:0/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32",
        "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
    )
)
_METADATA = frozenset(ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _parse(ip: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(ip.strip().strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _plain_public(addr: IPAddress) -> bool:
    """One address, no unwrapping: global and outside every special-purpose block."""
    if addr in _METADATA or any(addr in net for net in _BLOCKED_NETWORKS if net.version == addr.version):
        return False
    flags = (addr.is_loopback, addr.is_private, addr.is_link_local, addr.is_multicast, addr.is_reserved,
             addr.is_unspecified)
    if any(flags):
        return False
    return bool(addr.is_global)


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address] | None:
    """IPv4 addresses an IPv6 address carries (mapped, 6to4, NAT64, Teredo), or None if none."""
    if addr.ipv4_mapped is not None:
        return [addr.ipv4_mapped]
    if addr.sixtofour is not None:
        return [addr.sixtofour]
    if addr in _NAT64:
        return [ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)]
    if addr.teredo is not None:
        server, client = addr.teredo
        return [server, client]
    return None


def is_public_address(ip: str) -> bool:
    """True only for a globally routable unicast address; anything unparsable is refused."""
    addr = _parse(ip)
    if addr is None:
        return False
    if isinstance(addr, ipaddress.IPv6Address):
        inner = _embedded_ipv4(addr)
        if inner is not None:
            # The wrapper itself is usually "non-global" (::ffff:0:0/96, 2001::/32): judge what it carries.
            return all(_plain_public(a) for a in inner)
    return _plain_public(addr)


def _refuse(url: str, why: str) -> FetchError:
    return FetchError(f"refused URL {url[:200]!r}: {why}", code="url_refused", permanent=True)


def check_url(url: str) -> None:
    """Refuse anything but a plain http(s) URL whose host two parsers agree on (no userinfo tricks)."""
    if not isinstance(url, str) or not url:
        raise _refuse(str(url), "empty")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in url) or "\\" in url:
        raise _refuse(url, "control character or backslash")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a bad port
        parsed = httpx.URL(url)
    except (ValueError, httpx.InvalidURL) as e:
        raise _refuse(url, f"unparsable ({e})") from None
    if parts.scheme.lower() not in ("http", "https") or parsed.scheme not in ("http", "https"):
        raise _refuse(url, "only http and https are fetched")
    if "@" in parts.netloc or parsed.userinfo or parts.username is not None:
        raise _refuse(url, "credentials in the URL")
    if any(c.isspace() for c in parts.netloc):
        raise _refuse(url, "whitespace in the host")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host or not parsed.host:
        raise _refuse(url, "no host")
    if host != parsed.host.rstrip(".").lower():
        raise _refuse(url, "ambiguous host")


async def system_resolve(host: str, port: int) -> list[str]:
    """All addresses of host, in resolver order, without duplicates."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    out: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        ip = str(sockaddr[0])
        if ip not in out:
            out.append(ip)
    return out


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Resolve once, refuse if any address is not allowed, then connect to a checked address.

    `allowed=None` means no address policy (trusted sources, or allow_private_networks).
    """

    def __init__(self, resolve: Resolver, allowed: AddressPolicy | None):
        self._resolve = resolve
        self._allowed = allowed
        self._inner = httpcore.AnyIOBackend()

    async def _addresses(self, host: str, port: int) -> list[str]:
        try:
            result = self._resolve(host, port)
            ips = list(await result) if inspect.isawaitable(result) else list(result)
        except (OSError, UnicodeError) as e:
            raise FetchError(f"cannot resolve {host}: {e}", code="dns") from e
        if not ips:
            raise FetchError(f"cannot resolve {host}: no addresses", code="dns")
        return ips

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        ips = await self._addresses(host, port)
        if self._allowed is not None:
            refused = [ip for ip in ips if not self._allowed(ip)]
            if refused:
                raise FetchError(f"{host} resolves to a non-public address ({refused[0]}); not fetched",
                                 code="ssrf_blocked", permanent=True)
        last: Exception | None = None
        for ip in ips:
            try:
                return await self._inner.connect_tcp(ip, port, timeout=timeout, local_address=local_address,
                                                     socket_options=socket_options)
            except httpcore.ConnectError as e:
                last = e
        assert last is not None
        raise last

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        raise FetchError("unix sockets are never fetched", code="url_refused", permanent=True)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
