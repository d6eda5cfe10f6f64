"""Processed articles: URL, metadata, verdict summary and the MinHash bands for near-duplicates."""

from __future__ import annotations

import json
import sqlite3

from monitor.judge import duplicates
from monitor.model import Judgement
from monitor.store.sources import now_iso


def known_article(conn: sqlite3.Connection, url: str) -> int | None:
    r = conn.execute("SELECT id FROM articles WHERE url = ? OR canonical_url = ?", (url, url)).fetchone()
    return r[0] if r else None


def find_near_duplicate(conn: sqlite3.Connection, sig: tuple[int, ...], threshold: float) -> sqlite3.Row | None:
    """The earliest processed article whose text is a near-copy of this one (LSH, then MinHash check)."""
    bands = duplicates.bands(sig)
    rows = conn.execute(
        f"SELECT DISTINCT a.* FROM article_bands b JOIN articles a ON a.id = b.article_id "
        f"WHERE b.band IN ({','.join('?' * len(bands))}) ORDER BY a.id", bands).fetchall()
    for r in rows:
        if r["minhash"] and duplicates.similarity(sig, duplicates.unpack(r["minhash"])) >= threshold:
            return r
    return None


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
