"""The SQLite state file: connection settings (WAL), a process lock, and schema migrations.

Each migration is a numbered SQL script run in its own transaction and recorded in
`schema_migrations`, so a container upgraded in place keeps its data.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from monitor.errors import StateError

log = logging.getLogger(__name__)
DB_NAME = "monitor.db"
LOCK_NAME = "monitor.lock"

MIGRATIONS: list[str] = [
    # 1: initial schema
    """
    CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
    CREATE TABLE sources(
        name TEXT PRIMARY KEY, url TEXT NOT NULL, kind TEXT NOT NULL,
        last_attempt_at TEXT, last_success_at TEXT,
        last_error_code TEXT, last_error_message TEXT, last_error_at TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0, next_attempt_at TEXT,
        failing_since TEXT, failing_alerted INTEGER NOT NULL DEFAULT 0,
        items_seen INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE http_cache(url TEXT PRIMARY KEY, etag TEXT, last_modified TEXT, body_hash TEXT,
        fetched_at TEXT);
    CREATE TABLE entries(source TEXT NOT NULL, key TEXT NOT NULL, url TEXT, seen_at TEXT NOT NULL,
        article_id INTEGER, PRIMARY KEY(source, key));
    CREATE TABLE articles(id INTEGER PRIMARY KEY, url TEXT NOT NULL UNIQUE, canonical_url TEXT,
        title TEXT, source TEXT, published TEXT, processed_at TEXT NOT NULL, relevant INTEGER NOT NULL,
        topics TEXT, duplicate_of INTEGER, alert_id TEXT, body_hash TEXT, minhash BLOB, reason TEXT);
    CREATE INDEX articles_canonical ON articles(canonical_url);
    CREATE TABLE article_bands(band TEXT NOT NULL, article_id INTEGER NOT NULL);
    CREATE INDEX article_bands_band ON article_bands(band);
    CREATE TABLE claims(id INTEGER PRIMARY KEY, origin TEXT NOT NULL, source TEXT NOT NULL,
        url TEXT NOT NULL, published TEXT, seen_at TEXT NOT NULL, article_id INTEGER,
        text TEXT NOT NULL, evidence TEXT NOT NULL, data TEXT NOT NULL,
        disputed INTEGER NOT NULL DEFAULT 0, superseded_by INTEGER);
    CREATE VIRTUAL TABLE claims_fts USING fts5(tokens);
    CREATE TABLE vocabulary(key TEXT PRIMARY KEY) WITHOUT ROWID;
    CREATE TABLE seed_conflicts(a INTEGER NOT NULL, b INTEGER NOT NULL, slot TEXT, detail TEXT);
    CREATE TABLE alerts(id TEXT PRIMARY KEY, type TEXT NOT NULL, created_at TEXT NOT NULL,
        article_id INTEGER, payload TEXT NOT NULL);
    CREATE TABLE outbox(id INTEGER PRIMARY KEY, alert_id TEXT NOT NULL, channel TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL, last_error TEXT, delivered_at TEXT,
        UNIQUE(alert_id, channel));
    CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
    CREATE TABLE runs(id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT,
        status TEXT, stats TEXT);
    CREATE TABLE digests(channel TEXT PRIMARY KEY, last_sent_at TEXT);
    """,
    # 2: article links that failed (retried on later cycles up to a limit, shown by `monitor status`)
    """
    CREATE TABLE link_failures(source TEXT NOT NULL, key TEXT NOT NULL, url TEXT NOT NULL,
        code TEXT NOT NULL, message TEXT, attempts INTEGER NOT NULL DEFAULT 0, outcome TEXT NOT NULL,
        first_at TEXT NOT NULL, last_at TEXT NOT NULL, PRIMARY KEY(source, key));
    CREATE INDEX link_failures_last ON link_failures(last_at);
    """,
]


def connect(path: Path) -> sqlite3.Connection:
    """Open the database with WAL and safe defaults; autocommit mode, explicit transactions."""
    try:
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
    except sqlite3.Error as e:
        raise StateError(f"cannot open state database {path}: {e}") from e
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to date; refuse a database written by a newer version."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations(version INTEGER PRIMARY KEY, applied_at TEXT)")
    current = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]
    if current > len(MIGRATIONS):
        raise StateError(f"state database has schema version {current}, newer than this monitor "
                         f"({len(MIGRATIONS)}); upgrade the monitor or use another state_dir")
    for version in range(current + 1, len(MIGRATIONS) + 1):
        with transaction(conn):
            for statement in _statements(MIGRATIONS[version - 1]):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations VALUES (?, datetime('now'))", (version,))
    return len(MIGRATIONS)


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error: all of it or none of it."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class StateLock:
    """An exclusive lock file: two monitors on one state directory never run at the same time."""

    def __init__(self, state_dir: Path, wait_s: float):
        self.path = state_dir / LOCK_NAME
        self.wait_s = wait_s
        self._fd: int | None = None

    def __enter__(self) -> StateLock:
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.wait_s
        waiting = False
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                if not waiting and self.wait_s > 0:
                    waiting = True  # say so once: a silent wait looks like a hang
                    log.info("state directory %s is in use by another monitor; waiting up to %g s",
                             self.path.parent, self.wait_s)
                if time.monotonic() >= deadline:
                    os.close(self._fd)
                    self._fd = None
                    raise StateError(f"state directory {self.path.parent} is in use by another monitor "
                                     f"(lock {self.path} held for more than {self.wait_s:g} s)") from None
                time.sleep(0.2)

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def open_state(state_dir: Path) -> sqlite3.Connection:
    """Create the state directory if needed, open and migrate its database."""
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        probe = state_dir / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as e:
        raise StateError(f"state directory {state_dir} is not usable: {e.strerror}") from e
    conn = connect(state_dir / DB_NAME)
    try:
        migrate(conn)
    except sqlite3.DatabaseError as e:
        raise StateError(f"state database {state_dir / DB_NAME} is unusable: {e}") from e
    return conn
