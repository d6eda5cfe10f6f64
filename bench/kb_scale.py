"""Knowledge-base scale: grow the known claims to 1k, 10k and 100k and time judging the same 50
articles at each size (monitor.judge.engine.Engine.judge over monitor.store.knowledge.SqliteKnowledge
on a temporary state database).

    python bench/kb_scale.py                  # 1k, 10k, 100k claims, 3 passes over the 50 articles each
    python bench/kb_scale.py --quick          # a small smoke run (200 and 400 claims, 5 articles)

The claims are varied copies of real ones (the seeds' and the dev articles'): names swapped for other
real or composed names, dates moved, numbers changed, and the content words recomputed.
Goal (issue #5): per-article cost at 100k <= 1.5 x the cost at 1k.
"""

from __future__ import annotations

import argparse
import random
import re
import sqlite3
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c  # noqa: E402

GOAL = 1.5
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]


def engine_and_settings():
    from monitor.config import load_settings
    from monitor.judge.engine import Engine

    settings = load_settings(None)  # the embedded defaults: topics and judgement thresholds
    return Engine.from_settings(settings.topics, settings.judge), settings


def documents(shared: Path) -> list:
    """The dev articles as extracted Documents (what the monitor judges)."""
    from monitor.extract import extract_document
    from monitor.fetch import decode_body

    return [extract_document(decode_body(raw, "text/html"), f"https://dev.example/{name}", "dev")
            for name, raw in c.dev_articles(shared)]


def judged_set(shared: Path, n: int) -> list:
    """n articles to judge: the dev articles, then lightly edited copies of them (bench._common.variant)."""
    from monitor.extract import extract_document
    from monitor.fetch import decode_body

    base = c.dev_articles(shared)
    out = []
    for i in range(n):
        copy, (name, raw) = i // len(base), base[i % len(base)]
        out.append(extract_document(decode_body(c.variant(raw, copy), "text/html"),
                                    f"https://judge.example/{copy}/{name}", "judge"))
    return out


def base_claims(engine, shared: Path) -> list:
    """Real claims: every claim of the seed documents and of the dev articles."""
    from monitor.judge.baseline import seed_document

    claims = []
    for p in sorted(c.SEEDS.glob("*.txt")):
        claims += engine.claims(seed_document(p.name, p.read_text(encoding="utf-8", errors="replace")))
    for doc in documents(shared):
        claims += engine.claims(doc)
    return claims


class Generator:
    """Varied copies of real claims: names, dates and numbers changed, deterministic per index."""

    def __init__(self, claims: list, engine):
        from monitor.judge.entities import entity_key

        self.claims = claims
        self.topic_keys = {k for k, _, role in engine.gazetteer.phrases.values() if role in ("alias", "ambiguous")}
        names = sorted({n for cl in claims for k, n in cl.entity_names.items() if k not in self.topic_keys})
        self.names = names
        self.tokens = sorted({t for n in names for t in n.split() if t[:1].isupper() and len(t) > 2})
        self.key = entity_key

    def name(self, rnd: random.Random) -> str:
        if rnd.random() < 0.5:
            return rnd.choice(self.names)
        return f"{rnd.choice(self.tokens)} {rnd.choice(self.tokens)}"

    def claim(self, i: int):
        from monitor.judge.text import content_terms
        from monitor.model import DateValue, Quantity

        src = self.claims[i % len(self.claims)]
        rnd = random.Random(f"claim-{i}")
        text, names, places = src.text, dict(src.entity_names), set(src.places)
        for key, name in list(names.items()):
            if key in self.topic_keys or rnd.random() < 0.4:
                continue
            new = self.name(rnd)
            text = text.replace(name, new)
            del names[key]
            names[self.key(new)] = new
            places = {p for p in places if not p.endswith(":" + key)}
        dates = []
        for d in src.dates:
            shift = timedelta(days=rnd.randint(-3000, 3000))
            start, end = _shift(d.start, shift), _shift(d.end, shift)
            label = _date_text(d.granularity, start) or d.text
            if d.text and label != d.text:
                text = text.replace(d.text, label)
            dates.append(DateValue(start, end, d.granularity, d.qualifier, label, d.relative))
        quantities = []
        for q in src.quantities:
            value = round(q.value * rnd.choice([0.5, 0.8, 1.25, 1.5, 2, 3]) + rnd.randint(1, 9), 2)
            label = re.sub(r"\d[\d,.]*", _num(value), q.text, count=1) if q.text else _num(value)
            if q.text and label != q.text:
                text = text.replace(q.text, label)
            quantities.append(Quantity(value, q.unit, label, q.approximate, q.ordinal))
        subject = src.subject if src.subject in names else next(iter(names), "")
        return replace(src, text=text, evidence=text, entities=frozenset(names), entity_names=names,
                       terms=frozenset(content_terms(text)), dates=tuple(dates), quantities=tuple(quantities),
                       places=frozenset(places), subject=subject)


def _shift(d: date, delta: timedelta) -> date:
    try:
        return d + delta
    except OverflowError:
        return d


def _date_text(granularity: str, d: date) -> str:
    if d.year < 1900:
        return ""
    if granularity == "day":
        return f"{MONTHS[d.month - 1]} {d.day}, {d.year}"
    if granularity == "month":
        return f"{MONTHS[d.month - 1]} {d.year}"
    if granularity == "year":
        return str(d.year)
    return ""


def _num(v: float) -> str:
    return f"{v:,.0f}" if v == int(v) else f"{v:,.2f}"


def grow(conn: sqlite3.Connection, gen: Generator, target: int, batch: int = 2000) -> float:
    """Add generated claims until the claims table holds `target`; seconds spent."""
    from monitor.model import Provenance
    from monitor.store.db import transaction
    from monitor.store.knowledge import SqliteKnowledge

    kb = SqliteKnowledge(conn)
    have = kb.count()
    start = time.perf_counter()
    i = have
    while i < target:
        with transaction(conn):
            for j in range(i, min(target, i + batch)):
                when = c.BASE_DATE - timedelta(hours=target - j)
                kb.add(gen.claim(j), Provenance("article", "bench", f"https://kb.example/{j}", when,
                                                datetime.now(UTC)))
        i = min(target, i + batch)
    return time.perf_counter() - start


def judge_pass(engine, docs: list, conn: sqlite3.Connection) -> float:
    from monitor.store.knowledge import SqliteKnowledge

    kb = SqliteKnowledge(conn)
    start = time.perf_counter()
    for d in docs:
        engine.judge(d, kb)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000,100000", help="claim counts (default 1000,10000,100000)")
    ap.add_argument("--articles", type=int, default=50, help="articles judged at each size (default 50)")
    ap.add_argument("--runs", type=int, default=3, help="timed passes over the articles at each size")
    ap.add_argument("--quick", action="store_true", help="tiny sizes for a smoke test")
    args = ap.parse_args(argv)
    if args.quick:
        args.sizes, args.articles, args.runs = "200,400", 5, 1
    sizes = sorted(int(s) for s in args.sizes.split(","))
    shared = c.require_shared("kb_scale")

    from monitor.baseline import build_baseline
    from monitor.store.db import open_state

    engine, _ = engine_and_settings()
    docs = judged_set(shared, args.articles)
    gen = Generator(base_claims(engine, shared), engine)
    print(f"kb_scale: judging {len(docs)} articles at {', '.join(f'{s:,}' for s in sizes)} known claims "
          f"({len(gen.claims)} real claims varied), {args.runs} pass(es) each")
    per_article: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="lw-bench-") as tmp:
        conn = open_state(Path(tmp) / "state")
        build_baseline(conn, engine, c.SEEDS)
        rows = []
        for size in sizes:
            grew = grow(conn, gen, size)
            conn.execute("PRAGMA optimize")
            judge_pass(engine, docs[:5], conn)  # warm the page cache
            passes = [judge_pass(engine, docs, conn) for _ in range(args.runs)]
            per_article[size] = c.median(passes) / len(docs)
            rows.append((f"{size:>7,} claims", f"{per_article[size] * 1000:7.1f} ms/article  "
                                               f"passes {c.runs_text(passes)}  (grown in {grew:.1f} s)"))
            print(f"  {rows[-1][0]}: {rows[-1][1]}", flush=True)
        conn.close()
    lo, hi = sizes[0], sizes[-1]
    ratio = per_article[hi] / per_article[lo]
    rows.append((f"ratio {hi:,}/{lo:,}", f"{ratio:.2f} (goal <= {GOAL}) {'OK' if ratio <= GOAL else 'ABOVE GOAL'}"))
    print("summary (median pass / articles):")
    c.show(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
