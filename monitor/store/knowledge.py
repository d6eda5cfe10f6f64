"""Known claims in SQLite: provenance, slots (JSON), an FTS5 index for retrieval and a vocabulary
of known names, numbers and dates. Implements the engine's KnowledgeView without loading the base."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import asdict
from datetime import UTC, date, datetime

from monitor.judge.knowledge import index_tokens, vocabulary_keys
from monitor.model import Claim, DateValue, KnownClaim, Provenance, Quantity

MAX_QUERY_TOKENS = 40


def claim_to_json(c: Claim) -> str:
    d = asdict(c)
    for k in ("entities", "terms", "events", "places", "topics"):
        d[k] = sorted(d[k])
    d["dates"] = [{**asdict(v), "start": v.start.isoformat(), "end": v.end.isoformat()} for v in c.dates]
    return json.dumps(d, ensure_ascii=False)


def claim_from_json(text: str) -> Claim:
    d = json.loads(text)
    for k in ("entities", "terms", "events", "places", "topics"):
        d[k] = frozenset(d[k])
    d["dates"] = tuple(DateValue(**{**v, "start": date.fromisoformat(v["start"]), "end": date.fromisoformat(v["end"])})
                       for v in d["dates"])
    d["quantities"] = tuple(Quantity(**q) for q in d["quantities"])
    return Claim(**d)


def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z") if dt else None


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class SqliteKnowledge:
    """The engine's view of the knowledge base, backed by the state database."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def add(self, claim: Claim, prov: Provenance, article_id: int | None = None) -> int:
        """Store one claim (caller holds the transaction)."""
        cur = self.conn.execute(
            "INSERT INTO claims(origin, source, url, published, seen_at, article_id, text, evidence, data) "
            "VALUES (?,?,?,?,?,?,?,?,?)",
            (prov.origin, prov.source, prov.url, _iso(prov.published),
             _iso(prov.seen_at or datetime.now(UTC)), article_id, claim.text, claim.evidence, claim_to_json(claim)))
        cid = cur.lastrowid
        self.conn.execute("INSERT INTO claims_fts(rowid, tokens) VALUES (?, ?)", (cid, " ".join(index_tokens(claim))))
        self.learn_vocabulary(vocabulary_keys(claim))
        return int(cid)

    def learn_vocabulary(self, keys: Iterable[str]) -> None:
        self.conn.executemany("INSERT OR IGNORE INTO vocabulary(key) VALUES (?)", [(k,) for k in keys])

    def known(self, keys: Iterable[str]) -> set[str]:
        keys = list(set(keys))
        out: set[str] = set()
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            q = f"SELECT key FROM vocabulary WHERE key IN ({','.join('?' * len(chunk))})"
            out |= {r[0] for r in self.conn.execute(q, chunk)}
        return out

    def candidates(self, claim: Claim, limit: int) -> list[KnownClaim]:
        tokens = index_tokens(claim)[:MAX_QUERY_TOKENS]
        if not tokens:
            return []
        rows = self.conn.execute(
            "SELECT rowid FROM claims_fts WHERE claims_fts MATCH ? ORDER BY bm25(claims_fts) LIMIT ?",
            (" OR ".join(tokens), limit)).fetchall()
        return self.get([r[0] for r in rows])

    def get(self, ids: list[int]) -> list[KnownClaim]:
        if not ids:
            return []
        rows = self.conn.execute(f"SELECT * FROM claims WHERE id IN ({','.join('?' * len(ids))})", ids).fetchall()
        by_id = {r["id"]: _known(r) for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    def count(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM claims").fetchone()[0]

    def all(self, origin: str | None = None) -> list[KnownClaim]:
        q = "SELECT * FROM claims" + (" WHERE origin = ?" if origin else "") + " ORDER BY id"
        return [_known(r) for r in self.conn.execute(q, (origin,) if origin else ())]

    def mark_disputed(self, ids: Iterable[int]) -> None:
        self.conn.executemany("UPDATE claims SET disputed = 1 WHERE id = ?", [(i,) for i in ids])

    def supersede(self, old_id: int, new_id: int) -> None:
        self.conn.execute("UPDATE claims SET superseded_by = ? WHERE id = ?", (new_id, old_id))

    def delete_origin(self, origin: str) -> None:
        ids = [r[0] for r in self.conn.execute("SELECT id FROM claims WHERE origin = ?", (origin,))]
        self.conn.executemany("DELETE FROM claims_fts WHERE rowid = ?", [(i,) for i in ids])
        self.conn.execute("DELETE FROM claims WHERE origin = ?", (origin,))
        self.conn.execute("DELETE FROM seed_conflicts")


def _known(r: sqlite3.Row) -> KnownClaim:
    prov = Provenance(r["origin"], r["source"], r["url"], parse_time(r["published"]), parse_time(r["seen_at"]))
    return KnownClaim(r["id"], claim_from_json(r["data"]), prov, bool(r["disputed"]), r["superseded_by"] is not None)
