"""What the speed work changed: MinHash scheme 2 (and its check against articles recorded by 1.0), and
knowledge-base retrieval past EXACT_MAX_CLAIMS (a bounded pool re-ranked by BM25)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config import load_settings
from monitor.judge import duplicates
from monitor.judge.engine import Engine
from monitor.model import Document, Judgement, Provenance
from monitor.store import articles
from monitor.store import knowledge as kn
from monitor.store.db import open_state, transaction

STORY = (
    "Roscosmos and the China National Space Administration signed a memorandum on the International Lunar "
    "Research Station in Moscow on Tuesday, the agencies said. The station is planned near the lunar south "
    "pole and the first modules should be in place by 2030, according to the roadmap presented at GLEX in "
    "St. Petersburg. Officials said other countries and organisations are invited to join the project, "
    "and that the two sides will share data from Chang'e-7 and Luna-27 as part of the programme. "
)
COPY = STORY.replace("on Tuesday", "this week").replace("Officials said", "Officials added")
OTHER = ("The city council approved a new budget for road repairs on Monday after a long debate about "
         "potholes, bus lanes and the cost of winter salt, and the mayor promised quicker work. ") * 2


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    c = open_state(tmp_path / "state")
    yield c
    c.close()


def _record(conn: sqlite3.Connection, url: str, text: str) -> int:
    doc = Document(url=url, title="t", text=text, source="s")
    with transaction(conn):
        return articles.insert_article(conn, Judgement(doc, True, ["ilrs"], []), url, "", duplicates.signature(text),
                                       None)


def _record_legacy(conn: sqlite3.Connection, url: str, text: str, processed: datetime) -> int:
    """An article as 1.0 recorded it: scheme-1 signature and band keys."""
    sig = duplicates.legacy_signature(text)
    with transaction(conn):
        cur = conn.execute("INSERT INTO articles(url, title, source, processed_at, relevant, minhash) "
                           "VALUES (?, 't', 's', ?, 1, ?)",
                           (url, processed.isoformat().replace("+00:00", "Z"), b"".join(
                               v.to_bytes(8, "little") for v in sig)))
        conn.executemany("INSERT INTO article_bands(band, article_id) VALUES (?,?)",
                         [(b, cur.lastrowid) for b in duplicates.legacy_bands(sig)])
    return int(cur.lastrowid)


def test_signature_estimates_jaccard() -> None:
    a, b, c = duplicates.signature(STORY), duplicates.signature(COPY), duplicates.signature(OTHER)
    assert duplicates.similarity(a, b) >= 0.5
    assert duplicates.similarity(a, c) <= 0.1
    assert set(duplicates.bands(a)) & set(duplicates.bands(b))
    assert duplicates.unpack(duplicates.pack(a)) == tuple(a)
    assert len(duplicates.pack(a)) == duplicates.SIZE
    assert duplicates.signature("") == duplicates.signature("")  # empty texts are stable


def test_near_copy_found_among_scheme_2_articles(conn: sqlite3.Connection) -> None:
    first = _record(conn, "https://a.example/1", STORY)
    _record(conn, "https://a.example/2", OTHER)
    found = articles.find_near_duplicate(conn, duplicates.signature(COPY), 0.5)
    assert found is not None and found["id"] == first
    assert articles.find_near_duplicate(conn, duplicates.signature(OTHER + " zebra"), 0.99) is None


def test_recent_article_from_1_0_is_still_an_original(conn: sqlite3.Connection) -> None:
    articles._legacy_cache.clear()
    old = _record_legacy(conn, "https://a.example/old", STORY, datetime.now(UTC) - timedelta(days=2))
    found = articles.find_near_duplicate(conn, duplicates.signature(COPY), 0.5)
    assert found is not None and found["id"] == old
    newer = _record(conn, "https://a.example/new", STORY)
    found = articles.find_near_duplicate(conn, duplicates.signature(COPY), 0.5)
    assert found is not None and found["id"] == old  # the earliest original wins, whatever its scheme
    assert newer > old


def test_old_articles_from_1_0_are_not_checked(conn: sqlite3.Connection) -> None:
    articles._legacy_cache.clear()
    _record_legacy(conn, "https://a.example/old", STORY, datetime.now(UTC) - timedelta(days=articles.LEGACY_DAYS + 5))
    assert articles.find_near_duplicate(conn, duplicates.signature(COPY), 0.5) is None


@pytest.fixture
def engine() -> Engine:
    s = load_settings(None)
    return Engine.from_settings(s.topics, s.judge)


SENTENCES = [
    "Roscosmos and CNSA signed an agreement on the International Lunar Research Station in Moscow in March 2021.",
    "NASA awarded SpaceX a contract worth 332 million dollars to launch the Gateway PPE and HALO in 2024.",
    "ESA signed a contract with Thales Alenia Space for the ESPRIT module of the Lunar Gateway in October 2020.",
    "South Africa joined the International Lunar Research Station as a partner in November 2023.",
    "Chang'e-7 will launch around 2026 to the lunar south pole with payloads from Egypt and Bahrain.",
    "Japan will provide a pressurized rover for Artemis and JAXA will send astronauts to the Gateway.",
]


def _kb_with(conn: sqlite3.Connection, engine: Engine, copies: int) -> kn.SqliteKnowledge:
    kb = kn.SqliteKnowledge(conn)
    claims = [c for s in SENTENCES for c in engine.claims(Document("u", "", s, "s"))]
    with transaction(conn):
        for i in range(copies):
            for c in claims:
                kb.add(c, Provenance("article", "s", f"https://k.example/{i}", datetime(2024, 1, 1, tzinfo=UTC)))
    return kb


@pytest.mark.parametrize("common_df", [1, 4, 1000])
def test_bounded_retrieval_finds_what_exact_bm25_finds(conn: sqlite3.Connection, engine: Engine,
                                                      monkeypatch: pytest.MonkeyPatch, common_df: int) -> None:
    _kb_with(conn, engine, copies=3)
    probes = [c for s in SENTENCES for c in engine.claims(Document("u", "", s, "s"))]
    exact = kn.SqliteKnowledge(conn)
    monkeypatch.setattr(kn, "EXACT_MAX_CLAIMS", 0)
    monkeypatch.setattr(kn, "COMMON_DF", common_df)
    bounded = kn.SqliteKnowledge(conn)
    for probe in probes:
        want = exact.candidates(probe, 8)
        got = bounded.candidates(probe, 8)
        assert got, probe.text
        assert got[0].claim.text == want[0].claim.text == probe.text  # its own restatements rank first
        assert len(got) == len(want)


def test_bounded_retrieval_follows_additions(conn: sqlite3.Connection, engine: Engine,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kn, "EXACT_MAX_CLAIMS", 0)
    kb = _kb_with(conn, engine, copies=1)
    probe = engine.claims(Document("u", "", "Bolivia joined the International Lunar Research Station in 2025.", "s"))[0]
    assert all("Bolivia" not in k.claim.text for k in kb.candidates(probe, 8))
    with transaction(conn):
        new_id = kb.add(probe, Provenance("article", "s", "https://k.example/b", None))
    assert kb.candidates(probe, 8)[0].id == new_id
    kb.mark_disputed([new_id])
    assert kb.candidates(probe, 8)[0].disputed  # the decoded-claim cache follows the change
