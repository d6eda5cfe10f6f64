"""One cycle, top to bottom: due sources -> fetch -> extract -> judge -> record (one transaction per
article, alert included) -> deliver.

Fetching runs concurrently (per-host limits live in the Fetcher); judging runs in publication order
so that the first report of a development alerts and later repeats learn from it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import sqlite3
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from monitor.alerts.atom import write_atom_feed
from monitor.alerts.deliver import channels, deliver_due, digest_channels
from monitor.alerts.payload import article_payload, source_failing_payload
from monitor.baseline import build_baseline, has_baseline
from monitor.config import Settings, SourceConfig
from monitor.errors import ExtractError, FetchError, MonitorError, ParseError
from monitor.extract import document_from_entry, extract_document
from monitor.faults import fault_point
from monitor.fetch import Fetcher, Validators, decode_body
from monitor.judge import duplicates
from monitor.judge.engine import Engine, learnable
from monitor.model import Document, Entry, Judgement, Provenance, Verdict
from monitor.sources import parse_feed
from monitor.store import articles, outbox
from monitor.store import sources as health
from monitor.store.db import transaction
from monitor.store.knowledge import SqliteKnowledge

log = logging.getLogger(__name__)
ATOM_FILE = "alerts.atom"


@dataclass
class Item:
    """A fetched article waiting for judgement, with what to mark once it is recorded."""

    source: str
    key: str  # identity of the article (entry URL, or page URL + body hash)
    document: Document | None
    entry: Entry | None = None
    body_hash: str | None = None


@dataclass
class SourceResult:
    config: SourceConfig
    items: list[Item] = field(default_factory=list)
    error: MonitorError | None = None
    validators: tuple[str | None, str | None, str | None] | None = None  # saved after items are recorded


@dataclass
class CycleStats:
    sources: int = 0
    sources_failed: int = 0
    skipped_backoff: int = 0
    not_modified: int = 0
    entries_new: int = 0
    pages_fetched: int = 0
    extractions: int = 0
    articles: int = 0
    relevant: int = 0
    duplicates: int = 0
    alerts: int = 0
    delivered: int = 0
    delivery_failures: int = 0
    queued: int = 0

    @property
    def exit_code(self) -> int:
        return 3 if self.queued else 0


class Cycle:
    def __init__(self, settings: Settings, conn: sqlite3.Connection, engine: Engine, fetcher: Fetcher,
                 stop: threading.Event | None = None):
        self.settings = settings
        self.conn = conn
        self.engine = engine
        self.fetcher = fetcher
        self.stop = stop or threading.Event()
        self.kb = SqliteKnowledge(conn)
        self.stats = CycleStats()
        self.labels = {t.name: t.label or t.name for t in settings.topics}

    async def run(self, force: bool = False) -> CycleStats:
        run_id = self._start_run()
        if not has_baseline(self.conn):
            build_baseline(self.conn, self.engine, self.settings.monitor.seeds_dir)
        due = self._due_sources(force)
        results = await asyncio.gather(*(self._collect(s) for s in due))
        fault_point("after_fetch")
        self._record_results(results)
        if not self.stop.is_set() or True:  # deliveries of committed alerts always go out
            d = deliver_due(self.conn, self.settings.alerts)
            self.stats.delivered, self.stats.delivery_failures = d.delivered, d.failed
        self.stats.queued = outbox.queued_count(self.conn)
        self._write_atom()
        self._finish_run(run_id)
        return self.stats

    # -- sources -----------------------------------------------------------------------------

    def _due_sources(self, force: bool) -> list[SourceConfig]:
        now = datetime.now(UTC)
        due = []
        with transaction(self.conn):
            for s in self.settings.sources:
                if s.enabled:
                    health.upsert_source(self.conn, s.name, s.url, s.kind)
        for s in (s for s in self.settings.sources if s.enabled):
            h = health.get_source(self.conn, s.name)
            if not force and h and h.next_attempt_at and h.next_attempt_at > now:
                self.stats.skipped_backoff += 1
                log.info("source %s: backing off until %s (%s)", s.name, h.next_attempt_at, h.last_error_code)
                continue
            due.append(s)
        self.stats.sources = len(due)
        return due

    async def _collect(self, src: SourceConfig) -> SourceResult:
        result = SourceResult(src)
        try:
            if src.kind == "feed":
                await self._collect_feed(src, result)
            else:
                await self._collect_page(src, result)
        except (FetchError, ParseError, ExtractError) as e:
            result.error = e
        return result

    async def _collect_feed(self, src: SourceConfig, result: SourceResult) -> None:
        etag, modified, old_hash = health.get_validators(self.conn, src.url)
        res = await self.fetcher.fetch(src.url, validators=Validators(etag, modified), trusted=True,
                                       accept="application/rss+xml, application/atom+xml, application/feed+json, "
                                              "application/xml;q=0.9, */*;q=0.8")
        if res.not_modified:
            self.stats.not_modified += 1
            return
        body_hash = hashlib.sha256(res.body).hexdigest()
        result.validators = (res.validators.etag, res.validators.last_modified, body_hash)
        if body_hash == old_hash:
            self.stats.not_modified += 1
            return
        entries = parse_feed(res.body, res.headers, src.name, res.url, self.settings.fetch.max_entries_per_feed)
        fresh = health.unseen_keys(self.conn, src.name, [e.key for e in entries])
        new = [e for e in entries if e.key in fresh]
        self.stats.entries_new += len(new)
        host = urlsplit(src.url).hostname
        result.items = [i for i in await asyncio.gather(*(self._article(e, host) for e in new)) if i]

    async def _article(self, entry: Entry, host: str | None) -> Item | None:
        if self.stop.is_set():
            return None
        if articles.known_article(self.conn, entry.url):
            return Item(entry.source, entry.url, None, entry)  # carried by another feed already
        try:
            res = await self.fetcher.fetch(entry.url, trusted_host=host, accept="text/html,*/*;q=0.8")
            self.stats.pages_fetched += 1
            self.stats.extractions += 1
            doc = extract_document(decode_body(res.body, res.content_type), res.url, entry.source, entry)
            return Item(entry.source, entry.url, doc, entry)
        except (FetchError, ExtractError) as e:
            return self._fallback(entry, e)

    def _fallback(self, entry: Entry, error: MonitorError) -> Item | None:
        """The page failed: use the feed's own text; with none, retry later unless the failure is final."""
        try:
            doc = document_from_entry(entry)
            log.info("article %s: %s (%s); using the feed's content", entry.url, error.code, error)
            return Item(entry.source, entry.url, doc, entry)
        except ExtractError:
            final = isinstance(error, ExtractError) or getattr(error, "permanent", False)
            log.warning("article %s: %s (%s)%s", entry.url, error.code, error, "" if final else "; will retry")
            return Item(entry.source, entry.url, None, entry) if final else None

    async def _collect_page(self, src: SourceConfig, result: SourceResult) -> None:
        etag, modified, old_hash = health.get_validators(self.conn, src.url)
        res = await self.fetcher.fetch(src.url, validators=Validators(etag, modified), trusted=True)
        if res.not_modified:
            self.stats.not_modified += 1
            return
        body_hash = hashlib.sha256(res.body).hexdigest()
        result.validators = (res.validators.etag, res.validators.last_modified, body_hash)
        if body_hash == old_hash:
            self.stats.not_modified += 1
            return
        self.stats.pages_fetched += 1
        self.stats.extractions += 1
        doc = extract_document(decode_body(res.body, res.content_type), res.url, src.name)
        result.items = [Item(src.name, f"{src.url}#sha256={body_hash[:16]}", doc, body_hash=body_hash)]

    # -- recording ---------------------------------------------------------------------------

    def _record_results(self, results: list[SourceResult]) -> None:
        items = [i for r in results for i in r.items]
        items.sort(key=lambda i: (i.document.published if i.document and i.document.published
                                  else datetime.max.replace(tzinfo=UTC)))
        for item in items:
            if self.stop.is_set():
                log.info("stop requested: leaving %d article(s) for the next cycle", len(items))
                break
            self._record(item)
        for r in results:
            if r.error:
                self._source_failed(r.config, r.error)
            elif not self.stop.is_set():
                with transaction(self.conn):
                    health.record_success(self.conn, r.config.name, len(r.items))
                    if r.validators:
                        health.save_validators(self.conn, r.config.url, *r.validators)

    def record_document(self, document: Document, key: str) -> None:
        """Judge and record a document that did not come from a fetch (replay of saved articles)."""
        self._record(Item(document.source, key, document))

    def _record(self, item: Item) -> None:
        """Judge one article and commit its claims, its alert and its 'seen' mark together."""
        doc = item.document
        if doc is None or articles.known_article(self.conn, item.key):
            with transaction(self.conn):
                health.mark_seen(self.conn, item.source, item.entry.key if item.entry else item.key, item.key, None)
            return
        sig = duplicates.signature(doc.text)
        original = articles.find_near_duplicate(self.conn, sig, self.settings.judge.duplicate_jaccard)
        judgement = (Judgement(doc, True, [], [], duplicate_of=original["url"], reason="near-duplicate")
                     if original else self.engine.judge(doc, self.kb))
        self.stats.articles += 1
        with transaction(self.conn):
            aid = articles.insert_article(self.conn, judgement, item.key, item.body_hash or "", sig,
                                          original["id"] if original else None)
            if original is not None:
                self.stats.duplicates += 1
                if original["alert_id"]:
                    outbox.add_also_at(self.conn, original["alert_id"], doc.url)
            elif judgement.relevant:
                self.stats.relevant += 1
                self._learn(judgement, aid)
                self._alert(judgement, aid)
            if item.entry:
                health.mark_seen(self.conn, item.source, item.entry.key, item.key, aid)
            fault_point("before_commit")
        fault_point("after_commit")
        log.info("article %s: %s", doc.url, _verdict_line(judgement))

    def _learn(self, j: Judgement, article_id: int) -> None:
        prov = Provenance("article", j.document.source, j.document.url, j.document.published, datetime.now(UTC))
        ids = {id(c): self.kb.add(c, prov, article_id) for c in learnable(j)}
        for f in j.findings:
            if f.verdict is Verdict.UPDATE and f.previous is not None and id(f.claim) in ids:
                self.kb.supersede(f.previous.id, ids[id(f.claim)])
            if f.verdict is Verdict.CONTRADICTION and id(f.claim) in ids:
                self.kb.mark_disputed([ids[id(f.claim)], *(k.id for k in f.matched)])  # neither side is settled

    def _alert(self, j: Judgement, article_id: int) -> None:
        payload = article_payload(j, self.labels, datetime.now(UTC))
        if payload is None:
            return
        self._enqueue(payload, article_id)
        articles.set_alert(self.conn, article_id, payload["id"])

    def _enqueue(self, payload: dict, article_id: int | None) -> None:
        names = list(channels(self.settings.alerts))
        if outbox.get_alert(self.conn, payload["id"]):
            return  # the same alert exists (a crash repeated the cycle): keep its id, send it once
        outbox.enqueue(self.conn, payload, names, article_id, digest_channels(self.settings.alerts))
        self.stats.alerts += 1

    def _source_failed(self, src: SourceConfig, error: MonitorError) -> None:
        self.stats.sources_failed += 1
        log.warning("source %s failed: %s: %s", src.name, error.code, error)
        fetch = self.settings.fetch
        with transaction(self.conn):
            prev = health.get_source(self.conn, src.name)
            n = (prev.consecutive_failures if prev else 0) + 1
            retry_after = getattr(error, "retry_after", None)
            backoff = min(fetch.backoff_max_minutes, self.settings.monitor.interval_minutes * 2 ** min(n, 6))
            delay = timedelta(minutes=backoff * random.uniform(0.9, 1.1))
            if retry_after:
                delay = max(delay, timedelta(seconds=retry_after))
            count = health.record_failure(self.conn, src.name, error.code, str(error),
                                          datetime.now(UTC) + delay if n > 1 or retry_after else None)
            h = health.get_source(self.conn, src.name)
            if h and not h.failing_alerted and (count >= fetch.max_consecutive_failures or error.code == "http_410"):
                payload = source_failing_payload(src.name, src.url, error.code, str(error), count,
                                                 h.failing_since, datetime.now(UTC))
                self._enqueue(payload, None)
                health.mark_failing_alerted(self.conn, src.name)

    # -- bookkeeping -------------------------------------------------------------------------

    def _write_atom(self) -> None:
        try:
            write_atom_feed(self.settings.monitor.state_dir / ATOM_FILE,
                            outbox.recent_alerts(self.conn, self.settings.alerts.atom_feed_entries))
        except OSError as e:
            log.warning("cannot write the alert feed: %s", e)

    def _start_run(self) -> int:
        with transaction(self.conn):
            cur = self.conn.execute("INSERT INTO runs(started_at, status) VALUES (?, 'running')",
                                    (health.now_iso(),))
        return int(cur.lastrowid)

    def _finish_run(self, run_id: int) -> None:
        status = "stopped" if self.stop.is_set() else "ok"
        with transaction(self.conn):
            self.conn.execute("UPDATE runs SET finished_at = ?, status = ?, stats = ? WHERE id = ?",
                              (health.now_iso(), status, json.dumps(asdict(self.stats)), run_id))


def _verdict_line(j: Judgement) -> str:
    if j.duplicate_of:
        return f"near-duplicate of {j.duplicate_of}"
    if not j.relevant:
        return j.reason
    counts: dict[str, int] = {}
    for f in j.findings:
        key = f.verdict.value + (" (minor)" if f.minor else "")
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{v}={n}" for v, n in sorted(counts.items())) or "no claims"
