"""Build the baseline from the seed folder into the state database (first run, or --rebuild)."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

from monitor.errors import ConfigError
from monitor.judge.baseline import SeedConflict, seed_conflicts, seed_document
from monitor.judge.engine import Engine
from monitor.judge.knowledge import MemoryKnowledge, vocabulary_keys
from monitor.model import Provenance
from monitor.store.db import transaction
from monitor.store.knowledge import SqliteKnowledge

log = logging.getLogger(__name__)
SEED_SUFFIXES = {".txt", ".md", ".text"}


def seed_files(seeds_dir: Path) -> list[Path]:
    if not seeds_dir.is_dir():
        raise ConfigError(f"seeds_dir {seeds_dir} is not a folder (monitor.seeds_dir)")
    return sorted(p for p in seeds_dir.iterdir() if p.is_file() and p.suffix.lower() in SEED_SUFFIXES)


def has_baseline(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM meta WHERE key = 'baseline_built'").fetchone() is not None


def build_baseline(conn: sqlite3.Connection, engine: Engine, seeds_dir: Path,
                   progress: Callable[[int, int], None] | None = None) -> tuple[int, list[SeedConflict]]:
    """Replace the seed claims with those of the current seed files; mark seed conflicts disputed.

    `progress(done, total)` is called after each seed file (claim extraction is the slow part).
    """
    mem = MemoryKnowledge()
    files = seed_files(seeds_dir)
    for n, path in enumerate(files, 1):
        doc = seed_document(path.name, path.read_text(encoding="utf-8", errors="replace"))
        for claim in engine.claims(doc):
            mem.add(claim, Provenance("seed", path.name, path.name, doc.published))
        if progress:
            progress(n, len(files))
    conflicts = seed_conflicts(mem, engine.thresholds.candidates)
    kb = SqliteKnowledge(conn)
    with transaction(conn):
        kb.delete_origin("seed")
        conn.execute("DELETE FROM vocabulary")
        ids = {kc.id: kb.add(kc.claim, kc.provenance) for kc in mem.claims}
        for kc in kb.all("article"):
            kb.learn_vocabulary(vocabulary_keys(kc.claim))
        for c in conflicts:
            conn.execute("INSERT INTO seed_conflicts(a, b, slot, detail) VALUES (?,?,?,?)",
                         (ids[c.a.id], ids[c.b.id], c.slot, c.detail))
        kb.mark_disputed({ids[c.a.id] for c in conflicts} | {ids[c.b.id] for c in conflicts})
        conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('baseline_built', datetime('now'))")
    log.info("baseline: %d claims from %s, %d seed conflict(s)", len(mem.claims), seeds_dir, len(conflicts))
    return len(mem.claims), conflicts


def stored_conflicts(conn: sqlite3.Connection) -> list[tuple[int, int, str, str]]:
    return [tuple(r) for r in conn.execute("SELECT a, b, slot, detail FROM seed_conflicts ORDER BY rowid")]
