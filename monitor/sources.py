"""Sources -> entries: feeds parsed by feedparser from bytes plus response headers, never a URL."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime
from urllib.parse import urljoin

import feedparser

from monitor.errors import ParseError
from monitor.model import Entry

log = logging.getLogger(__name__)


def parse_feed(body: bytes, headers: dict[str, str], source: str, url: str, limit: int) -> list[Entry]:
    """Entries of an RSS/Atom/JSON feed, oldest first. A broken feed with entries is a warning;
    one without any is an error (code feed_invalid)."""
    response_headers = {k: v for k, v in headers.items() if k in ("content-type", "content-location", "etag")}
    response_headers.setdefault("content-location", url)
    parsed = feedparser.parse(io.BytesIO(body), response_headers=response_headers, sanitize_html=True,
                              resolve_relative_uris=True)
    if parsed.bozo and not parsed.entries:
        exc = parsed.get("bozo_exception")
        raise ParseError(f"not a readable feed: {type(exc).__name__}: {exc}"[:300], "feed_invalid")
    if parsed.bozo:
        log.warning("feed %s is malformed but readable (%s)", source, type(parsed.get("bozo_exception")).__name__)
    entries = [e for e in (_entry(raw, source, url) for raw in parsed.entries) if e is not None]
    entries.sort(key=lambda e: e.published or datetime.max.replace(tzinfo=UTC))
    return entries[-limit:]


def _entry(raw: dict, source: str, feed_url: str) -> Entry | None:
    link = str(raw.get("link") or "").strip()
    if link:
        link = urljoin(feed_url, link)
    key = str(raw.get("id") or raw.get("guid") or link or "").strip()
    if not key or not link.startswith(("http://", "https://")):
        return None
    content = raw.get("content") or []
    html = str(content[0].get("value", "")) if content else str(raw.get("summary") or "")
    return Entry(source=source, key=key, url=link, title=str(raw.get("title") or "").strip(),
                 published=_time(raw), summary_html=html)


def _time(raw: dict) -> datetime | None:
    for field in ("published_parsed", "updated_parsed", "created_parsed"):
        t = raw.get(field)
        if t:
            try:
                return datetime(*t[:6], tzinfo=UTC)
            except (TypeError, ValueError):
                continue
    return None
