"""The library behind the CLI: open the state safely, run cycles, dry-run checks, status reports."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.baseline import build_baseline, has_baseline, seed_files
from monitor.config import Settings
from monitor.cycle import Cycle, CycleStats
from monitor.errors import MonitorError, StateError
from monitor.extract import extract_document
from monitor.fetch import Fetcher, decode_body
from monitor.judge.baseline import seed_document
from monitor.judge.engine import Engine
from monitor.judge.knowledge import MemoryKnowledge
from monitor.model import Judgement, Provenance
from monitor.store import links, outbox
from monitor.store import sources as health
from monitor.store.db import StateLock, open_state
from monitor.store.knowledge import SqliteKnowledge

log = logging.getLogger(__name__)


@contextmanager
def state(settings: Settings, lock: bool = True) -> Iterator[sqlite3.Connection]:
    """The state database, locked against a second monitor when `lock` (readers need no lock)."""
    if lock:
        try:
            settings.monitor.state_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StateError(f"state directory {settings.monitor.state_dir} is not usable: {e.strerror}") from e
    guard = StateLock(settings.monitor.state_dir, settings.monitor.lock_wait_s) if lock else None
    if guard:
        guard.__enter__()
    try:
        conn = open_state(settings.monitor.state_dir)
        try:
            yield conn
        finally:
            conn.close()
    finally:
        if guard:
            guard.__exit__(None, None, None)


def engine_for(settings: Settings) -> Engine:
    return Engine.from_settings(settings.topics, settings.judge)


def run_once(settings: Settings, force: bool = False, stop: threading.Event | None = None,
             conn: sqlite3.Connection | None = None) -> CycleStats:
    """One full cycle; alerts of the cycle are delivered or safely queued before it returns."""
    if conn is None:
        with state(settings) as own:
            return run_once(settings, force, stop, own)
    engine = engine_for(settings)

    async def go() -> CycleStats:
        async with Fetcher(settings.fetch) as fetcher:
            return await Cycle(settings, conn, engine, fetcher, stop).run(force)

    stats = asyncio.run(go())
    log.info("cycle done: %s", ", ".join(f"{k}={v}" for k, v in vars(stats).items()))
    return stats


def rebuild_baseline(settings: Settings) -> tuple[int, list]:
    with state(settings) as conn:
        return build_baseline(conn, engine_for(settings), settings.monitor.seeds_dir)


def ensure_baseline(settings: Settings, conn: sqlite3.Connection) -> None:
    if not has_baseline(conn):
        build_baseline(conn, engine_for(settings), settings.monitor.seeds_dir)


def check(settings: Settings, target: str) -> Judgement:
    """Dry run: extract and judge one URL or file against what is known; nothing is stored or sent."""
    document = asyncio.run(_load(settings, target))
    engine = engine_for(settings)
    db = settings.monitor.state_dir / "monitor.db"
    if db.exists():
        with state(settings, lock=False) as conn:
            if has_baseline(conn):
                return engine.judge(document, SqliteKnowledge(conn))
    return engine.judge(document, seed_knowledge(settings, engine))


def seed_knowledge(settings: Settings, engine: Engine) -> MemoryKnowledge:
    """The baseline in memory, for dry runs before the first cycle has built it."""
    kb = MemoryKnowledge()
    for path in seed_files(settings.monitor.seeds_dir):
        doc = seed_document(path.name, path.read_text(encoding="utf-8", errors="replace"))
        for claim in engine.claims(doc):
            kb.add(claim, Provenance("seed", path.name, path.name, doc.published))
    return kb


async def _load(settings: Settings, target: str):
    if target.startswith(("http://", "https://")):
        async with Fetcher(settings.fetch) as fetcher:
            res = await fetcher.fetch(target, trusted=True)
        return extract_document(decode_body(res.body, res.content_type), res.url, "check")
    path = Path(target)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise MonitorError(f"cannot read {target}: {e.strerror}", "file_unreadable") from e
    return extract_document(decode_body(raw, "text/html"), path.resolve().as_uri(), "check")


def status_report(settings: Settings) -> dict:
    """Per source health, knowledge-base size and queued alerts, as plain data (secrets never included)."""
    with state(settings, lock=False) as conn:
        kb = SqliteKnowledge(conn)
        last_run = conn.execute("SELECT * FROM runs WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1").fetchone()
        return {
            "state_dir": str(settings.monitor.state_dir),
            "baseline_built": has_baseline(conn),
            "knowledge_base": {"claims": kb.count(),
                               "seed_claims": conn.execute("SELECT COUNT(*) FROM claims WHERE origin='seed'")
                               .fetchone()[0],
                               "articles": conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]},
            "alerts": {"total": conn.execute("SELECT COUNT(*) FROM alerts").fetchone()[0],
                       "deliveries": outbox.status_counts(conn)},
            "last_cycle": {"finished_at": last_run["finished_at"], "status": last_run["status"]} if last_run else None,
            "sources": [_source_row(h, settings) for h in health.all_sources(conn)
                        if h.name in {s.name for s in settings.sources}],
            "link_failures": links.recent(conn),
        }


def _source_row(h: health.SourceHealth, settings: Settings) -> dict:
    failing = h.consecutive_failures > 0 and (
        h.failing_alerted or h.consecutive_failures >= settings.fetch.max_consecutive_failures
        or h.last_error_code == "http_410")
    return {"name": h.name, "kind": h.kind, "url": h.url,
            "state": "failing" if failing else ("error" if h.consecutive_failures else "ok"),
            "last_success": _t(h.last_success_at), "last_error": h.last_error_code,
            "last_error_message": h.last_error_message, "last_error_at": _t(h.last_error_at),
            "consecutive_failures": h.consecutive_failures, "next_attempt": _t(h.next_attempt_at),
            "items_seen": h.items_seen}


def _t(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if dt else None


def healthy(settings: Settings) -> tuple[bool, str]:
    """For container probes: the state opens and a cycle finished within two intervals."""
    try:
        with state(settings, lock=False) as conn:
            r = conn.execute("SELECT finished_at FROM runs WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1")\
                .fetchone()
    except MonitorError as e:
        return False, f"state unusable: {e}"
    if not r:
        return False, "no cycle has completed yet"
    last = datetime.fromisoformat(r[0].replace("Z", "+00:00"))
    limit = timedelta(minutes=2 * settings.monitor.interval_minutes)
    age = datetime.now(UTC) - last
    if age > limit:
        return False, f"last cycle finished {age} ago (limit {limit})"
    return True, f"last cycle finished {int(age.total_seconds())} s ago"
