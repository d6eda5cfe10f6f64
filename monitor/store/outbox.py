"""The durable outbox: alerts and one delivery row per (alert, channel).

Rows are written in the same transaction as the claims that caused them; a delivery is marked
done only after the channel acknowledged it, so a crash can repeat a send (same id) but never lose one.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from monitor.store.sources import now_iso


@dataclass
class Delivery:
    row_id: int
    alert_id: str
    channel: str
    attempts: int
    payload: dict


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def enqueue(conn: sqlite3.Connection, payload: dict, channels: list[str], article_id: int | None = None,
            digest_channels: frozenset[str] = frozenset()) -> None:
    """Store an alert and one pending delivery per channel (caller holds the transaction)."""
    conn.execute("INSERT INTO alerts(id, type, created_at, article_id, payload) VALUES (?,?,?,?,?)",
                 (payload["id"], payload["type"], payload["created_at"], article_id,
                  json.dumps(payload, ensure_ascii=False)))
    for ch in channels:
        status = "digest" if ch in digest_channels else "pending"
        conn.execute("INSERT OR IGNORE INTO outbox(alert_id, channel, status, next_attempt_at) VALUES (?,?,?,?)",
                     (payload["id"], ch, status, now_iso()))


def due(conn: sqlite3.Connection, now: datetime, limit: int = 1000) -> list[Delivery]:
    rows = conn.execute(
        "SELECT o.id, o.alert_id, o.channel, o.attempts, a.payload FROM outbox o JOIN alerts a ON a.id = o.alert_id "
        "WHERE o.status = 'pending' AND o.next_attempt_at <= ? ORDER BY o.id LIMIT ?", (_iso(now), limit)).fetchall()
    return [Delivery(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]


def digest_pending(conn: sqlite3.Connection, channel: str) -> list[Delivery]:
    rows = conn.execute(
        "SELECT o.id, o.alert_id, o.channel, o.attempts, a.payload FROM outbox o JOIN alerts a ON a.id = o.alert_id "
        "WHERE o.status = 'digest' AND o.channel = ? ORDER BY o.id", (channel,)).fetchall()
    return [Delivery(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]


def mark_delivered(conn: sqlite3.Connection, row_ids: list[int]) -> None:
    conn.executemany("UPDATE outbox SET status = 'delivered', delivered_at = ?, attempts = attempts + 1, "
                     "last_error = NULL WHERE id = ?", [(now_iso(), i) for i in row_ids])


def mark_failed(conn: sqlite3.Connection, row_id: int, error: str, permanent: bool, retry_in_s: float) -> None:
    status = "failed" if permanent else "pending"
    nxt = _iso(datetime.now(UTC) + timedelta(seconds=retry_in_s))
    conn.execute("UPDATE outbox SET status = ?, attempts = attempts + 1, last_error = ?, next_attempt_at = ? "
                 "WHERE id = ?", (status, error[:500], nxt, row_id))


def queued_count(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT COUNT(*) FROM outbox WHERE status = 'pending'").fetchone()[0]


def status_counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {r[0]: r[1] for r in conn.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status")}


def add_also_at(conn: sqlite3.Connection, alert_id: str, url: str) -> None:
    """A syndicated copy joins the first alert instead of raising its own."""
    r = conn.execute("SELECT payload FROM alerts WHERE id = ?", (alert_id,)).fetchone()
    if not r:
        return
    payload = json.loads(r[0])
    art = payload.get("article") or {}
    if url != art.get("url") and url not in art.get("also_at", []):
        art.setdefault("also_at", []).append(url)
        conn.execute("UPDATE alerts SET payload = ? WHERE id = ?", (json.dumps(payload, ensure_ascii=False), alert_id))


def recent_alerts(conn: sqlite3.Connection, limit: int) -> list[dict]:
    rows = conn.execute("SELECT payload FROM alerts ORDER BY created_at DESC, rowid DESC LIMIT ?", (limit,))
    return [json.loads(r[0]) for r in rows]


def get_alert(conn: sqlite3.Connection, alert_id: str) -> dict | None:
    r = conn.execute("SELECT payload FROM alerts WHERE id = ?", (alert_id,)).fetchone()
    return json.loads(r[0]) if r else None


def requeue(conn: sqlite3.Connection, alert_id: str) -> int:
    """Send an alert again on every channel (same id: receivers may deduplicate)."""
    return conn.execute("UPDATE outbox SET status = 'pending', next_attempt_at = ? WHERE alert_id = ?",
                        (now_iso(), alert_id)).rowcount


def last_digest(conn: sqlite3.Connection, channel: str) -> datetime | None:
    r = conn.execute("SELECT last_sent_at FROM digests WHERE channel = ?", (channel,)).fetchone()
    return datetime.fromisoformat(r[0].replace("Z", "+00:00")) if r and r[0] else None


def set_last_digest(conn: sqlite3.Connection, channel: str, when: datetime) -> None:
    conn.execute("INSERT INTO digests(channel, last_sent_at) VALUES (?,?) ON CONFLICT(channel) DO UPDATE SET "
                 "last_sent_at = excluded.last_sent_at", (channel, _iso(when)))
