"""Processed articles: URL, metadata, verdict summary and the MinHash bands for near-duplicates."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime, timedelta

from monitor.judge import duplicates
from monitor.model import Judgement
from monitor.store.sources import now_iso


def known_article(conn: sqlite3.Connection, url: str) -> int | None:
    r = conn.execute("SELECT id FROM articles WHERE url = ? OR canonical_url = ?", (url, url)).fetchone()
    return r[0] if r else None


def find_near_duplicate(conn: sqlite3.Connection, sig: tuple[int, ...], threshold: float) -> sqlite3.Row | None:
    """The earliest processed article whose text is a near-copy of this one (LSH, then MinHash check).

    Articles recorded by 1.0 carry scheme-1 signatures: while one of them is recent enough to be copied
    (LEGACY_DAYS), a scheme-1 signature of this text is computed too and checked against those."""
    checks = [(duplicates.bands(sig), sig, False)]
    text = getattr(sig, "text", None)
    if text is not None and _recent_legacy(conn):
        old = duplicates.legacy_signature(text)
        checks.append((duplicates.legacy_bands(old), old, True))
    found: list[tuple[int, sqlite3.Row, tuple[int, ...], bool]] = []
    for keys, s, legacy in checks:
        rows = conn.execute(
            f"SELECT DISTINCT a.* FROM article_bands b JOIN articles a ON a.id = b.article_id "
            f"WHERE b.band IN ({','.join('?' * len(keys))}) ORDER BY a.id", keys).fetchall()
        found += [(r["id"], r, s, legacy) for r in rows]
    for _, r, s, legacy in sorted(found, key=lambda x: x[0]):
        blob = r["minhash"]
        if not blob or duplicates.is_legacy(blob) != legacy:
            continue
        stored = duplicates.legacy_unpack(blob) if legacy else duplicates.unpack(blob)
        if duplicates.similarity(s, stored) >= threshold:
            return r
    return None


LEGACY_DAYS = 30  # a copy of a story comes within days; older 1.0 articles are not checked as originals
_LEGACY_TTL_S = 3600.0
_legacy_cache: dict[int, tuple[sqlite3.Connection, float, bool]] = {}


def _recent_legacy(conn: sqlite3.Connection) -> bool:
    """Does the state hold a scheme-1 (1.0) article processed within LEGACY_DAYS? One index probe when
    there is none; otherwise one scan, remembered for an hour per connection."""
    if conn.execute("SELECT 1 FROM article_bands WHERE band < 'm' LIMIT 1").fetchone() is None:
        return False  # scheme-1 band keys start with a digit, scheme-2 ones with 'm2:'
    now = time.monotonic()
    hit = _legacy_cache.get(id(conn))
    if hit and hit[0] is conn and now - hit[1] < _LEGACY_TTL_S:
        return hit[2]
    cutoff = (datetime.now(UTC) - timedelta(days=LEGACY_DAYS)).isoformat().replace("+00:00", "Z")
    recent = conn.execute("SELECT 1 FROM articles WHERE length(minhash) = ? AND processed_at >= ? LIMIT 1",
                          (duplicates.LEGACY_SIZE, cutoff)).fetchone() is not None
    if len(_legacy_cache) >= 8:
        _legacy_cache.clear()
    _legacy_cache[id(conn)] = (conn, now, recent)
    return recent


def insert_article(conn: sqlite3.Connection, j: Judgement, key: str, body_hash: str,
                   sig: tuple[int, ...] | None, duplicate_of: int | None) -> int:
    """Record a processed article under `key` (its URL, or a watched page's URL plus content hash)."""
    d = j.document
    cur = conn.execute(
        "INSERT INTO articles(url, canonical_url, title, source, published, processed_at, relevant, topics, "
        "duplicate_of, body_hash, minhash, reason) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (key, d.canonical_url, d.title, d.source, d.published.isoformat() if d.published else None, now_iso(),
         int(j.relevant), json.dumps(j.topics), duplicate_of, body_hash,
         duplicates.pack(sig) if sig else None, j.reason[:500]))
    aid = int(cur.lastrowid)
    if sig and j.relevant and duplicate_of is None:
        conn.executemany("INSERT INTO article_bands(band, article_id) VALUES (?,?)",
                         [(b, aid) for b in duplicates.bands(sig)])
    return aid


def set_alert(conn: sqlite3.Connection, article_id: int, alert_id: str) -> None:
    conn.execute("UPDATE articles SET alert_id = ? WHERE id = ?", (alert_id, article_id))
