"""Known claims in SQLite: provenance, slots (JSON), an FTS5 index for retrieval and a vocabulary
of known names, numbers and dates. Implements the engine's KnowledgeView without loading the base.

Retrieval (`candidates`) ranks known claims by BM25 over the claim's index tokens. Up to
EXACT_MAX_CLAIMS known claims, FTS5's own bm25() ranks every match: exact, and cheap at that size.
Past it bm25() gets slow, because it scores every row that shares any token (and a word such as
'lunar' is in a fifth of a topic's claims): 85 ms a claim at 100k claims. So:
  1. document frequencies: counted on at most COMMON_DF + 1 postings per token (cached per instance);
  2. a pool of POOL x limit claims: the best IDF sums over the rarest tokens, taken while they add up to
     no more than 2 x COMMON_DF postings; or, when even the rarest token is in more than COMMON_DF
     claims, the newest claims that hold the two rarest tokens;
  3. the pool re-ranked by BM25 (k1 = 1.2, b = 0.75, tf = 1, as FTS5) over all of the claim's tokens.
Each claim then reads a bounded number of postings, whatever the size of the base (about 2 ms at
100k claims). With COMMON_DF = 250 the best candidate found was the exact one's, or as similar, for 96%
of claims on the bench/kb_scale.py base at 100k and for all of them at 10k; COMMON_DF = 100 was then
chosen for speed (the per-article cost at 100k fell from about 50 to 38 ms) and that share was not
measured again.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterable
from dataclasses import asdict
from datetime import UTC, date, datetime

from monitor.judge.knowledge import index_tokens, vocabulary_keys
from monitor.model import Claim, DateValue, KnownClaim, Provenance, Quantity

MAX_QUERY_TOKENS = 40
EXACT_MAX_CLAIMS = 2000  # up to this many known claims FTS5's own bm25() ranks every match
COMMON_DF = 100  # a token in more known claims than this only re-ranks (see the module docstring)
POOL = 16  # claims re-ranked per candidate asked for
BM25_K1, BM25_B = 1.2, 0.75  # FTS5's bm25() parameters
GET_CACHE = 2048  # decoded known claims kept per instance


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
        self._top: int | None = None  # highest claim id, kept up to date by add()
        self._df: dict[str, int] = {}  # token -> known claims holding it (estimated past COMMON_DF)
        self._avgdl: float | None = None
        self._claims: dict[int, KnownClaim] = {}  # decoded claims by id (GET_CACHE at most)

    def add(self, claim: Claim, prov: Provenance, article_id: int | None = None) -> int:
        """Store one claim (caller holds the transaction)."""
        cur = self.conn.execute(
            "INSERT INTO claims(origin, source, url, published, seen_at, article_id, text, evidence, data) "
            "VALUES (?,?,?,?,?,?,?,?,?)",
            (prov.origin, prov.source, prov.url, _iso(prov.published),
             _iso(prov.seen_at or datetime.now(UTC)), article_id, claim.text, claim.evidence, claim_to_json(claim)))
        cid = cur.lastrowid
        tokens = index_tokens(claim)
        self.conn.execute("INSERT INTO claims_fts(rowid, tokens) VALUES (?, ?)", (cid, " ".join(tokens)))
        self.learn_vocabulary(vocabulary_keys(claim))
        if self._top is not None:
            self._top = max(self._top, int(cid))
        for t in tokens:
            if t in self._df:
                self._df[t] += 1
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
        if not tokens or limit <= 0:
            return []
        n = self._size()
        if n <= EXACT_MAX_CLAIMS:
            rows = self.conn.execute(
                "SELECT rowid FROM claims_fts WHERE claims_fts MATCH ? ORDER BY bm25(claims_fts) LIMIT ?",
                (" OR ".join(tokens), limit)).fetchall()
            return self.get([r[0] for r in rows])
        df = self._doc_freq(tokens, n)
        idf = {t: max(math.log((n - df[t] + 0.5) / (df[t] + 0.5)), 1e-6) for t in tokens if df[t]}
        rarest = sorted(idf, key=lambda t: df[t])
        if not rarest:
            return []
        if df[rarest[0]] > COMMON_DF:
            pool = self._newest(rarest[:2], limit * POOL)
        else:
            chosen, spent = [], 0
            for t in rarest:
                if spent + df[t] > COMMON_DF * 2:
                    break
                chosen.append(t)
                spent += df[t]
            pool = self._pool(chosen, idf, limit * POOL)
        return self.get(self._rerank(pool, idf, limit))

    def _size(self) -> int:
        """How many claims are known, as the highest id: claims are only deleted when the seeds are
        rebuilt, so it is close, and it costs one index probe where COUNT(*) reads the whole table."""
        if self._top is None:
            self._top = int(self.conn.execute("SELECT COALESCE(MAX(id), 0) FROM claims").fetchone()[0])
        return self._top

    def _doc_freq(self, tokens: list[str], max_id: int) -> dict[str, int]:
        """Known claims per token: exact up to COMMON_DF, else estimated from where the first
        COMMON_DF + 1 postings end (postings come in id order). Reads at most COMMON_DF + 1 per token."""
        todo = [t for t in tokens if t not in self._df]
        if todo:
            part = (f"SELECT ? AS t, COUNT(*), MAX(id) FROM (SELECT rowid AS id FROM claims_fts "
                    f"WHERE claims_fts MATCH ? ORDER BY rowid LIMIT {COMMON_DF + 1})")
            params = [x for t in todo for x in (t, t)]
            for t, count, last in self.conn.execute(" UNION ALL ".join([part] * len(todo)), params):
                self._df[t] = count if count <= COMMON_DF else max(count, round(count * max_id / max(last, 1)))
        return {t: self._df[t] for t in tokens}

    def _pool(self, rare: list[str], idf: dict[str, float], size: int) -> list[tuple[int, str]]:
        """(id, tokens) of the claims with the best IDF sums over the claim's uncommon tokens."""
        part = "SELECT rowid AS id, ? AS w FROM claims_fts WHERE claims_fts MATCH ?"
        params = [x for t in rare for x in (idf[t], t)]
        q = f"SELECT id FROM ({' UNION ALL '.join([part] * len(rare))}) GROUP BY id ORDER BY SUM(w) DESC, id DESC LIMIT ?"
        ids = [r[0] for r in self.conn.execute(q, [*params, size])]
        if not ids:
            return []
        return self.conn.execute(f"SELECT rowid, tokens FROM claims_fts WHERE rowid IN ({','.join('?' * len(ids))})",
                                 ids).fetchall()

    def _newest(self, tokens: list[str], size: int) -> list[tuple[int, str]]:
        """For a claim made only of common tokens: the newest claims holding its rarest two (or one)."""
        found: dict[int, str] = {}
        q = "SELECT rowid, tokens FROM claims_fts WHERE claims_fts MATCH ? ORDER BY rowid DESC LIMIT ?"
        for query in (" AND ".join(tokens), tokens[0]) if len(tokens) > 1 else (tokens[0],):
            for rid, text in self.conn.execute(q, (query, size)):
                found.setdefault(rid, text)
            if len(found) >= size:
                break
        return list(found.items())[:size]

    def _rerank(self, pool: list[tuple[int, str]], idf: dict[str, float], limit: int) -> list[int]:
        """BM25 of each pooled claim over all the query's tokens (each token once per claim, tf = 1)."""
        avgdl = self._average_length()
        weight = idf.get
        scored = []
        for rid, text in pool:
            toks = text.split()
            norm = (BM25_K1 + 1) / (1 + BM25_K1 * (1 - BM25_B + BM25_B * len(toks) / avgdl))
            scored.append((sum(filter(None, map(weight, toks))) * norm, rid))
        scored.sort(key=lambda x: (-x[0], -x[1]))
        return [rid for _, rid in scored[:limit]]

    def _average_length(self) -> float:
        """Tokens per known claim, from the newest thousand (BM25's length normalisation)."""
        if self._avgdl is None:
            r = self.conn.execute("SELECT AVG(LENGTH(tokens) - LENGTH(REPLACE(tokens, ' ', '')) + 1) FROM "
                                  "(SELECT tokens FROM claims_fts ORDER BY rowid DESC LIMIT 1000)").fetchone()
            self._avgdl = float(r[0] or 1.0)
        return self._avgdl

    def get(self, ids: list[int]) -> list[KnownClaim]:
        if not ids:
            return []
        missing = [i for i in ids if i not in self._claims]
        if missing:
            if len(self._claims) + len(missing) > GET_CACHE:
                self._claims.clear()
            q = f"SELECT * FROM claims WHERE id IN ({','.join('?' * len(missing))})"
            self._claims.update((r["id"], _known(r)) for r in self.conn.execute(q, missing))
        return [self._claims[i] for i in ids if i in self._claims]

    def count(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM claims").fetchone()[0]

    def all(self, origin: str | None = None) -> list[KnownClaim]:
        q = "SELECT * FROM claims" + (" WHERE origin = ?" if origin else "") + " ORDER BY id"
        return [_known(r) for r in self.conn.execute(q, (origin,) if origin else ())]

    def mark_disputed(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        self.conn.executemany("UPDATE claims SET disputed = 1 WHERE id = ?", [(i,) for i in ids])
        for i in ids:
            self._claims.pop(i, None)

    def supersede(self, old_id: int, new_id: int) -> None:
        self.conn.execute("UPDATE claims SET superseded_by = ? WHERE id = ?", (new_id, old_id))
        self._claims.pop(old_id, None)

    def delete_origin(self, origin: str) -> None:
        ids = [r[0] for r in self.conn.execute("SELECT id FROM claims WHERE origin = ?", (origin,))]
        self.conn.executemany("DELETE FROM claims_fts WHERE rowid = ?", [(i,) for i in ids])
        self.conn.execute("DELETE FROM claims WHERE origin = ?", (origin,))
        self.conn.execute("DELETE FROM seed_conflicts")
        self._top, self._avgdl = None, None
        self._df.clear()
        self._claims.clear()


def _known(r: sqlite3.Row) -> KnownClaim:
    prov = Provenance(r["origin"], r["source"], r["url"], parse_time(r["published"]), parse_time(r["seen_at"]))
    return KnownClaim(r["id"], claim_from_json(r["data"]), prov, bool(r["disputed"]), r["superseded_by"] is not None)
