"""An Atom 1.0 feed of recent alerts, for analysts who prefer a feed reader to mail or chat.

Built with xml.etree so every text and attribute is XML-escaped; characters XML 1.0 forbids
are dropped first (feed text is hostile and may carry them). The file is replaced atomically
so a reader or web server never sees a half-written feed.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor import __version__
from monitor.alerts.render import alert_html_fragment, email_subject, one_line, parse_time, safe_url

ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_ID = "urn:lunarwatch:alerts"
DEFAULT_MAX_ENTRIES = 100
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

ET.register_namespace("", ATOM_NS)


def _xml_text(value: Any, limit: int = 200_000) -> str:
    """Text XML 1.0 can carry: forbidden characters removed, length bounded."""
    return _XML_INVALID.sub("", "" if value is None else str(value))[:limit]


def _rfc3339(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", {k: _xml_text(v, 4000) for k, v in attrs.items()})
    if text is not None:
        el.text = _xml_text(text)
    return el


def feed_html(payload: dict[str, Any]) -> str:
    """The entry's HTML content: the same rows as the e-mail body, in a table of their own."""
    return ('<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">'
            f"{alert_html_fragment(payload)}</table>")


def _entry(feed: ET.Element, payload: dict[str, Any], fallback: datetime) -> None:
    entry = _sub(feed, "entry")
    _sub(entry, "id", f"urn:lunarwatch:alert:{payload.get('id')}")
    _sub(entry, "title", one_line(payload.get("summary"), 300) or email_subject(payload))
    _sub(entry, "updated", _rfc3339(parse_time(payload.get("created_at")) or fallback))
    article = payload.get("article") if isinstance(payload.get("article"), dict) else {}
    url = safe_url(article.get("url"))
    if url:
        _sub(entry, "link", rel="alternate", type="text/html", href=url)
    labels = payload.get("topic_labels") if isinstance(payload.get("topic_labels"), list) else []
    for i, topic in enumerate(t for t in payload.get("topics") or [] if isinstance(t, str)):
        label = labels[i] if i < len(labels) and isinstance(labels[i], str) else topic
        _sub(entry, "category", term=topic, label=label)
    _sub(entry, "summary", email_subject(payload))
    _sub(entry, "content", feed_html(payload), type="html")


def _recent(payloads: list[dict[str, Any]], max_entries: int) -> list[dict[str, Any]]:
    """Newest first (undated last), at most max_entries."""
    epoch = datetime.min.replace(tzinfo=UTC)
    return sorted(payloads, key=lambda p: parse_time(p.get("created_at")) or epoch, reverse=True)[:max_entries]


def atom_bytes(payloads: list[dict[str, Any]], feed_url: str = "",
               max_entries: int = DEFAULT_MAX_ENTRIES) -> bytes:
    """The feed document as UTF-8 bytes (with XML declaration), for writing or serving."""
    items = _recent([p for p in payloads if isinstance(p, dict)], max_entries)
    now = datetime.now(UTC)
    newest = max((parse_time(p.get("created_at")) for p in items if parse_time(p.get("created_at"))), default=None)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    self_url = safe_url(feed_url)
    _sub(feed, "id", self_url or FEED_ID)
    _sub(feed, "title", "lunarwatch alerts")
    _sub(feed, "subtitle", "New developments and contradictions about the monitored lunar programmes")
    _sub(feed, "updated", _rfc3339(newest or now))
    _sub(_sub(feed, "author"), "name", "lunarwatch")
    _sub(feed, "generator", "lunarwatch", version=__version__)
    if self_url:
        _sub(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    for p in items:
        _entry(feed, p, newest or now)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def write_atom_feed(path: Path, payloads: list[dict[str, Any]], feed_url: str = "",
                    max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
    """Write the feed to `path` atomically: a temp file in the same folder, fsync, os.replace."""
    data = atom_bytes(payloads, feed_url, max_entries)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a feed is meant to be read by a web server
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
