"""One cycle, top to bottom: due sources -> fetch -> extract -> judge -> record (one transaction per
article, alert included) -> deliver.

Fetching runs concurrently (per-host limits live in the Fetcher); judging runs in publication order
so that the first report of a development alerts and later repeats learn from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import random
import sqlite3
import threading
from collections.abc import Awaitable, Callable
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
from monitor.fetch import Fetcher, FetchResult, Validators, decode_body
from monitor.judge import duplicates
from monitor.judge.engine import Engine, learnable
from monitor.model import Document, Entry, Judgement, Provenance, Verdict
from monitor.sources import parse_feed
from monitor.store import articles, links, outbox
from monitor.store import sources as health
from monitor.store.db import transaction
from monitor.store.knowledge import SqliteKnowledge

log = logging.getLogger(__name__)
ATOM_FILE = "alerts.atom"
FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, */*;q=0.8"


@dataclass
class Item:
    """A fetched article waiting for judgement, with what to mark once it is recorded."""

    source: str
    key: str  # identity of the article (entry URL, or page URL + body hash)
    document: Document | None  # None: nothing to judge (known already, or the page was given up)
    entry: Entry | None = None
    body_hash: str | None = None
    error: MonitorError | None = None  # the page failed: feed text used instead, or given up


@dataclass
class Retry:
    """A feed entry whose page failed transiently with no feed text to fall back on.

    It is left unseen (and its feed's validators unsaved) so that the next cycle fetches it again.
    """

    entry: Entry
    error: MonitorError


@dataclass
class SourceResult:
    config: SourceConfig
    items: list[Item] = field(default_factory=list)
    retry: list[Retry] = field(default_factory=list)
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
    retry_later: int = 0
    delivered: int = 0
    delivery_failures: int = 0
    delivery_permanent: int = 0
    queued: int = 0

    @property
    def exit_code(self) -> int:
        """0 all delivered; 3 some alert is queued for retry, or was refused for good in this cycle.

        A permanent refusal is not "every alert was delivered" (CONTRACT), so it is not 0 either;
        later cycles exit 0 again since that alert is recorded as failed, not queued.
        """
        return 3 if self.queued or self.delivery_permanent else 0


class Cycle:
    def __init__(self, settings: Settings, conn: sqlite3.Connection, engine: Engine, fetcher: Fetcher,
                 stop: threading.Event | None = None, progress: Callable[[int, int], None] | None = None):
        self.settings = settings
        self.conn = conn
        self.engine = engine
        self.fetcher = fetcher
        self.stop = stop or threading.Event()
        self.kb = SqliteKnowledge(conn)
        self.stats = CycleStats()
        self.labels = {t.name: t.label or t.name for t in settings.topics}
        self.progress = progress  # (articles recorded, articles fetched): drives a terminal progress bar

    async def run(self, force: bool = False) -> CycleStats:
        run_id = self._start_run()
        if not has_baseline(self.conn):
            build_baseline(self.conn, self.engine, self.settings.monitor.seeds_dir)
        due = self._due_sources(force)
        results = await self._unless_stopped(asyncio.gather(*(self._collect(s) for s in due)))
        fault_point("after_fetch")
        if results is not None:
            self._record_results(results)
        self._deliver()
        self.stats.queued = outbox.queued_count(self.conn)
        self._write_atom()
        self._finish_run(run_id)
        return self.stats

    async def _unless_stopped(self, work: Awaitable[list[SourceResult]]) -> list[SourceResult] | None:
        """The fetches' results, or None if a stop was requested first (in-flight fetches are cancelled).

        Why: a fetch may legitimately take up to total_timeout_s (60 s by default), but SIGTERM must end
        `monitor run` within 10 s. Nothing fetched is committed yet, so dropping it loses nothing.
        """
        task = asyncio.ensure_future(work)
        while not task.done():
            if self.stop.is_set():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                log.info("stop requested: fetching cancelled, nothing of this cycle recorded")
                return None
            await asyncio.wait({task}, timeout=0.1)
        return task.result()

    def _deliver(self) -> None:
        """Send what the outbox holds (this cycle's alerts and earlier ones due for a retry)."""
        d = deliver_due(self.conn, self.settings.alerts, stop=self.stop)
        self.stats.delivered, self.stats.delivery_failures = d.delivered, d.failed
        self.stats.delivery_permanent = d.permanent

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

    async def _fetch_changed(self, src: SourceConfig, result: SourceResult,
                             accept: str | None = None) -> tuple[FetchResult, str] | None:
        """The source's body and its hash, or None when a 304 or an identical body says nothing changed."""
        etag, modified, old_hash = health.get_validators(self.conn, src.url)
        res = await self.fetcher.fetch(src.url, validators=Validators(etag, modified), trusted=True, accept=accept)
        body_hash = "" if res.not_modified else hashlib.sha256(res.body).hexdigest()
        if not res.not_modified:
            result.validators = (res.validators.etag, res.validators.last_modified, body_hash)
        if res.not_modified or body_hash == old_hash:
            self.stats.not_modified += 1
            return None
        return res, body_hash

    async def _collect_feed(self, src: SourceConfig, result: SourceResult) -> None:
        changed = await self._fetch_changed(src, result, FEED_ACCEPT)
        if changed is None:
            return
        res, _ = changed
        entries = parse_feed(res.body, res.headers, src.name, res.url, self.settings.fetch.max_entries_per_feed)
        fresh = health.unseen_keys(self.conn, src.name, [e.key for e in entries])
        new = [e for e in entries if e.key in fresh]
        self.stats.entries_new += len(new)
        host = urlsplit(src.url).hostname
        outcomes = await asyncio.gather(*(self._article(e, host) for e in new))
        result.items = [o for o in outcomes if isinstance(o, Item)]
        result.retry = [o for o in outcomes if isinstance(o, Retry)]

    async def _article(self, entry: Entry, host: str | None) -> Item | Retry:
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

    def _fallback(self, entry: Entry, error: MonitorError) -> Item | Retry:
        """The page failed: use the feed's own text; with none, retry later unless the failure is final."""
        try:
            doc = document_from_entry(entry)
        except ExtractError:
            return self._page_lost(entry, error)
        log.info("article %s: %s (%s); using the feed's content", entry.url, error.code, error)
        return Item(entry.source, entry.url, doc, entry, error=error)

    def _page_lost(self, entry: Entry, error: MonitorError) -> Item | Retry:
        """No page and no feed text: a transient failure is retried on later cycles, up to a limit."""
        tries = links.attempts(self.conn, entry.source, entry.key) + 1
        final = (isinstance(error, ExtractError) or getattr(error, "permanent", False)
                 or tries >= self.settings.fetch.max_article_attempts)
        if not final:
            log.warning("article %s: %s (%s); no feed text, will retry next cycle (attempt %d)",
                        entry.url, error.code, error, tries)
            return Retry(entry, error)
        log.warning("article %s: %s (%s); no feed text, given up after %d attempt(s)",
                    entry.url, error.code, error, tries)
        return Item(entry.source, entry.url, None, entry, error=error)

    async def _collect_page(self, src: SourceConfig, result: SourceResult) -> None:
        changed = await self._fetch_changed(src, result)
        if changed is None:
            return
        res, body_hash = changed
        self.stats.pages_fetched += 1
        self.stats.extractions += 1
        doc = extract_document(decode_body(res.body, res.content_type), res.url, src.name)
        result.items = [Item(src.name, f"{src.url}#sha256={body_hash[:16]}", doc, body_hash=body_hash)]

    # -- recording ---------------------------------------------------------------------------

    def _record_results(self, results: list[SourceResult]) -> None:
        items = [i for r in results for i in r.items]
        items.sort(key=lambda i: (i.document.published if i.document and i.document.published
                                  else datetime.max.replace(tzinfo=UTC)))
        for n, item in enumerate(items):
            if self.stop.is_set():
                log.info("stop requested: leaving %d article(s) for the next cycle", len(items) - n)
                break
            self._record(item)
            if self.progress:
                self.progress(n + 1, len(items))
        for r in results:
            if r.error:
                self._source_failed(r.config, r.error)
            elif not self.stop.is_set():  # a stopped cycle saves no validators: nothing is skipped later
                self._source_succeeded(r)

    def _source_succeeded(self, r: SourceResult) -> None:
        """Reset the source's health; keep its validators only if no entry is waiting for a retry."""
        with transaction(self.conn):
            for rt in r.retry:
                links.record(self.conn, rt.entry.source, rt.entry.key, rt.entry.url, rt.error.code,
                             str(rt.error), links.RETRYING)
            health.record_success(self.conn, r.config.name, len(r.items))
            if r.retry:  # a 304 or an unchanged body next time would hide the entries left to retry
                health.forget_validators(self.conn, r.config.url)
            elif r.validators:
                health.save_validators(self.conn, r.config.url, *r.validators)
        self.stats.retry_later += len(r.retry)

    def record_document(self, document: Document, key: str) -> None:
        """Judge and record a document that did not come from a fetch (replay of saved articles)."""
        self._record(Item(document.source, key, document))

    def _record(self, item: Item) -> None:
        """Judge one article and commit its claims, its alert and its 'seen' mark together."""
        doc = item.document
        if doc is None or articles.known_article(self.conn, item.key):
            with transaction(self.conn):
                self._mark_entry(item, None)
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
            self._mark_entry(item, aid)
            fault_point("before_commit")
        fault_point("after_commit")
        log.info("article %s: %s", doc.url, _verdict_line(judgement))

    def _mark_entry(self, item: Item, article_id: int | None) -> None:
        """Mark a feed entry seen and keep its link-failure record in step (caller holds the transaction)."""
        if item.entry is None:
            return
        e = item.entry
        health.mark_seen(self.conn, item.source, e.key, item.key, article_id)
        if item.error is not None:
            outcome = links.FEED_TEXT if item.document is not None else links.GAVE_UP
            links.record(self.conn, item.source, e.key, e.url, item.error.code, str(item.error), outcome)
        else:
            links.clear(self.conn, item.source, e.key)

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
        """Record the typed error, schedule the next attempt, and say once when the source is failing."""
        self.stats.sources_failed += 1
        log.warning("source %s failed: %s: %s", src.name, error.code, error)
        fetch = self.settings.fetch
        with transaction(self.conn):
            prev = health.get_source(self.conn, src.name)
            n = (prev.consecutive_failures if prev else 0) + 1
            failing = n >= fetch.max_consecutive_failures or error.code == "http_410"
            delay = backoff_delay(n, self.settings.monitor.interval_minutes, fetch.backoff_max_minutes,
                                  getattr(error, "retry_after", None), failing)
            health.record_failure(self.conn, src.name, error.code, str(error),
                                  datetime.now(UTC) + delay if delay else None)
            if failing:
                self._alert_failing(src, error, n)

    def _alert_failing(self, src: SourceConfig, error: MonitorError, failures: int) -> None:
        """One source_failing alert per failing streak: `failing_alerted` is reset only by a success."""
        h = health.get_source(self.conn, src.name)
        if h is None or h.failing_alerted:
            return
        payload = source_failing_payload(src.name, src.url, error.code, str(error), failures,
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
        """Open a run record; runs left open by a killed process are marked 'interrupted'."""
        with transaction(self.conn):
            self.conn.execute("UPDATE runs SET status = 'interrupted' WHERE finished_at IS NULL")
            cur = self.conn.execute("INSERT INTO runs(started_at, status) VALUES (?, 'running')",
                                    (health.now_iso(),))
        return int(cur.lastrowid)

    def _finish_run(self, run_id: int) -> None:
        status = "stopped" if self.stop.is_set() else "ok"
        with transaction(self.conn):
            self.conn.execute("UPDATE runs SET finished_at = ?, status = ?, stats = ? WHERE id = ?",
                              (health.now_iso(), status, json.dumps(asdict(self.stats)), run_id))


def backoff_delay(failures: int, interval_minutes: int, cap_minutes: int, retry_after_s: float | None = None,
                  failing: bool = False, rng: random.Random | None = None) -> timedelta | None:
    """How long a failing source waits before its next attempt; None means the next regular cycle.

    Why this shape: a first failure is usually a blip, so it is retried at the next cycle. After that
    the wait doubles per consecutive failure (interval x 2^(n-1)), capped, and a source marked failing
    waits the whole cap. Jitter (-10 %..0, so the cap is never exceeded) keeps sources that failed
    together from retrying in lockstep. A server's Retry-After is a floor, up to the cap.
    """
    rng = rng or random.Random()
    delay: timedelta | None = None
    if failing or failures >= 2:
        exponent = 30 if failing else min(failures - 1, 30)
        minutes = min(float(cap_minutes), interval_minutes * 2.0 ** exponent)
        delay = timedelta(minutes=minutes * rng.uniform(0.9, 1.0))
    if retry_after_s:
        floor = timedelta(seconds=min(retry_after_s, cap_minutes * 60.0))
        delay = max(delay or floor, floor)
    return delay


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
