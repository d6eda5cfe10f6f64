"""Sources -> entries: feeds parsed by feedparser from bytes plus response headers, never a URL."""

from __future__ import annotations

import html as htmllib
import io
import json
import logging
import re
from datetime import UTC, datetime
from urllib.parse import urljoin

import feedparser

from monitor.errors import ParseError
from monitor.model import Entry

log = logging.getLogger(__name__)
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.S)


def parse_feed(body: bytes, headers: dict[str, str], source: str, url: str, limit: int) -> list[Entry]:
    """Entries of an RSS/Atom/JSON feed, oldest first. A broken feed with entries is a warning;
    one that is not a feed at all is an error (code feed_invalid); an empty feed has no entries."""
    if body.lstrip()[:1] == b"{":
        return _newest(parse_json_feed(body, source, url), limit)
    response_headers = {k: v for k, v in headers.items() if k in ("content-type", "content-location", "etag")}
    response_headers.setdefault("content-location", url)
    parsed = feedparser.parse(io.BytesIO(body), response_headers=response_headers, sanitize_html=True,
                              resolve_relative_uris=True)
    if parsed.bozo and not parsed.entries and not (parsed.get("version") or parsed.feed.get("title")):
        exc = parsed.get("bozo_exception")
        raise ParseError(f"not a readable feed: {type(exc).__name__}: {exc}"[:300], "feed_invalid")
    if parsed.bozo:
        log.warning("feed %s is malformed but readable (%s)", source, type(parsed.get("bozo_exception")).__name__)
    return _newest([e for e in (_entry(raw, source, url) for raw in parsed.entries) if e is not None], limit)


def _newest(entries: list[Entry], limit: int) -> list[Entry]:
    """The `limit` newest entries, oldest first (undated ones count as newest)."""
    entries.sort(key=lambda e: e.published or datetime.max.replace(tzinfo=UTC))
    return entries[-limit:]


def parse_json_feed(body: bytes, source: str, url: str) -> list[Entry]:
    """JSON Feed 1.0/1.1 (jsonfeed.org), which feedparser 6 does not read."""
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ParseError(f"not a readable JSON feed: {e}"[:300], "feed_invalid") from e
    if not isinstance(data, dict) or "jsonfeed.org" not in str(data.get("version", "")):
        raise ParseError("JSON document is not a JSON Feed (no jsonfeed.org version)", "feed_invalid")
    out = []
    for item in data.get("items") or []:
        if not isinstance(item, dict):
            continue
        raw_link = str(item.get("url") or item.get("external_url") or "").strip()
        link = urljoin(url, raw_link) if raw_link else ""  # no link: nothing to fetch, not the feed itself
        key = str(item.get("id") or link)
        if not key or not link.startswith(("http://", "https://")):
            continue
        html = str(item.get("content_html") or "") or htmllib.escape(str(item.get("content_text") or
                                                                         item.get("summary") or ""))
        out.append(Entry(source=source, key=key, url=link, title=str(item.get("title") or "").strip(),
                         published=_json_time(item.get("date_published") or item.get("date_modified")),
                         summary_html=_COMMENT.sub("", html)))
    return out


def _json_time(value: object) -> datetime | None:
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


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
                 published=_time(raw), summary_html=_COMMENT.sub("", html))


def _time(raw: dict) -> datetime | None:
    for field in ("published_parsed", "updated_parsed", "created_parsed"):
        t = raw.get(field)
        if t:
            try:
                return datetime(*t[:6], tzinfo=UTC)
            except (TypeError, ValueError):
                continue
    return None
