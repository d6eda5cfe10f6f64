"""Per-source health, HTTP validators per URL, and feed entries already seen."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from monitor.store.knowledge import parse_time


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class SourceHealth:
    name: str
    url: str
    kind: str
    last_success_at: datetime | None
    last_error_code: str | None
    last_error_message: str | None
    last_error_at: datetime | None
    consecutive_failures: int
    next_attempt_at: datetime | None
    failing_since: datetime | None
    failing_alerted: bool
    items_seen: int


def upsert_source(conn: sqlite3.Connection, name: str, url: str, kind: str) -> None:
    conn.execute("INSERT INTO sources(name, url, kind) VALUES (?,?,?) ON CONFLICT(name) DO UPDATE SET "
                 "url = excluded.url, kind = excluded.kind", (name, url, kind))


def get_source(conn: sqlite3.Connection, name: str) -> SourceHealth | None:
    r = conn.execute("SELECT * FROM sources WHERE name = ?", (name,)).fetchone()
    return _health(r) if r else None


def all_sources(conn: sqlite3.Connection) -> list[SourceHealth]:
    return [_health(r) for r in conn.execute("SELECT * FROM sources ORDER BY name")]


def _health(r: sqlite3.Row) -> SourceHealth:
    return SourceHealth(r["name"], r["url"], r["kind"], parse_time(r["last_success_at"]), r["last_error_code"],
                        r["last_error_message"], parse_time(r["last_error_at"]), r["consecutive_failures"],
                        parse_time(r["next_attempt_at"]), parse_time(r["failing_since"]),
                        bool(r["failing_alerted"]), r["items_seen"])


def record_success(conn: sqlite3.Connection, name: str, new_items: int) -> None:
    """Success resets the failure counter and the backoff."""
    t = now_iso()
    conn.execute("UPDATE sources SET last_attempt_at = ?, last_success_at = ?, consecutive_failures = 0, "
                 "next_attempt_at = NULL, failing_since = NULL, failing_alerted = 0, "
                 "items_seen = items_seen + ? WHERE name = ?", (t, t, new_items, name))


def record_failure(conn: sqlite3.Connection, name: str, code: str, message: str,
                   next_attempt: datetime | None) -> int:
    """Store the typed error; return the new count of consecutive failures."""
    t = now_iso()
    nxt = next_attempt.astimezone(UTC).isoformat().replace("+00:00", "Z") if next_attempt else None
    conn.execute("UPDATE sources SET last_attempt_at = ?, last_error_code = ?, last_error_message = ?, "
                 "last_error_at = ?, consecutive_failures = consecutive_failures + 1, next_attempt_at = ?, "
                 "failing_since = COALESCE(failing_since, ?) WHERE name = ?",
                 (t, code, message[:500], t, nxt, t, name))
    return conn.execute("SELECT consecutive_failures FROM sources WHERE name = ?", (name,)).fetchone()[0]


def mark_failing_alerted(conn: sqlite3.Connection, name: str) -> None:
    conn.execute("UPDATE sources SET failing_alerted = 1 WHERE name = ?", (name,))


def reset_errors(conn: sqlite3.Connection, name: str) -> bool:
    cur = conn.execute("UPDATE sources SET consecutive_failures = 0, next_attempt_at = NULL, failing_since = NULL, "
                       "failing_alerted = 0, last_error_code = NULL, last_error_message = NULL WHERE name = ?",
                       (name,))
    return cur.rowcount > 0


def get_validators(conn: sqlite3.Connection, url: str) -> tuple[str | None, str | None, str | None]:
    r = conn.execute("SELECT etag, last_modified, body_hash FROM http_cache WHERE url = ?", (url,)).fetchone()
    return (r["etag"], r["last_modified"], r["body_hash"]) if r else (None, None, None)


def save_validators(conn: sqlite3.Connection, url: str, etag: str | None, last_modified: str | None,
                    body_hash: str | None) -> None:
    conn.execute("INSERT INTO http_cache(url, etag, last_modified, body_hash, fetched_at) VALUES (?,?,?,?,?) "
                 "ON CONFLICT(url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified, "
                 "body_hash = COALESCE(excluded.body_hash, http_cache.body_hash), fetched_at = excluded.fetched_at",
                 (url, etag, last_modified, body_hash, now_iso()))


def forget_validators(conn: sqlite3.Connection, url: str) -> None:
    """Drop a URL's validators and body hash, so the next fetch is unconditional and fully parsed.

    Used when a feed still has entries to retry: a 304 or an unchanged body would otherwise hide them.
    """
    conn.execute("DELETE FROM http_cache WHERE url = ?", (url,))


def unseen_keys(conn: sqlite3.Connection, source: str, keys: list[str]) -> set[str]:
    if not keys:
        return set()
    q = f"SELECT key FROM entries WHERE source = ? AND key IN ({','.join('?' * len(keys))})"
    seen = {r[0] for r in conn.execute(q, [source, *keys])}
    return set(keys) - seen


def mark_seen(conn: sqlite3.Connection, source: str, key: str, url: str, article_id: int | None) -> None:
    conn.execute("INSERT OR IGNORE INTO entries(source, key, url, seen_at, article_id) VALUES (?,?,?,?,?)",
                 (source, key, url, now_iso(), article_id))
