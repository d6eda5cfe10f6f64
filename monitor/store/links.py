"""Article links (found in feeds) whose page could not be used, per (source, entry key).

Why a table: a page failure is not a source failure (the feed itself was fine), but a person still
needs to see it (`monitor status`), and the cycle needs the attempt count to stop retrying a link
that keeps failing transiently instead of refetching it every cycle forever.
"""

from __future__ import annotations

import sqlite3

from monitor.store.sources import now_iso

RETRYING = "retrying"  # transient failure, no feed text: the entry stays unseen and is fetched again
GAVE_UP = "gave_up"  # permanent failure (or too many attempts), no feed text: the entry is marked seen
FEED_TEXT = "feed_text"  # the page failed but the feed entry's own text was used instead


def attempts(conn: sqlite3.Connection, source: str, key: str) -> int:
    """How many times this entry's page has failed so far (0 if never)."""
    r = conn.execute("SELECT attempts FROM link_failures WHERE source = ? AND key = ?", (source, key)).fetchone()
    return int(r[0]) if r else 0


def record(conn: sqlite3.Connection, source: str, key: str, url: str, code: str, message: str,
           outcome: str) -> None:
    """Count one more failed attempt and remember its code (caller holds the transaction)."""
    t = now_iso()
    conn.execute(
        "INSERT INTO link_failures(source, key, url, code, message, attempts, outcome, first_at, last_at) "
        "VALUES (?,?,?,?,?,1,?,?,?) ON CONFLICT(source, key) DO UPDATE SET url = excluded.url, "
        "code = excluded.code, message = excluded.message, attempts = attempts + 1, "
        "outcome = excluded.outcome, last_at = excluded.last_at",
        (source, key, url, code, message[:500], outcome, t, t))


def clear(conn: sqlite3.Connection, source: str, key: str) -> None:
    """The page worked after all: forget its earlier failures."""
    conn.execute("DELETE FROM link_failures WHERE source = ? AND key = ?", (source, key))


def recent(conn: sqlite3.Connection, limit: int = 50) -> list[dict]:
    """The most recent link failures, newest first, as plain data for `monitor status`."""
    rows = conn.execute("SELECT source, url, code, message, attempts, outcome, first_at, last_at "
                        "FROM link_failures ORDER BY last_at DESC, rowid DESC LIMIT ?", (limit,))
    return [dict(r) for r in rows]
