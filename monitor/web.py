"""The optional HTTP endpoint of `monitor run` ([web] port): /healthz, /metrics, /alerts.atom.

Why stdlib http.server: three read-only GET routes do not justify a web framework, and a
ThreadingHTTPServer in a daemon thread keeps the scheduler loop untouched. Every request opens its
own read-only SQLite connection, so the endpoint can never write to the state or hold a write lock
that the running cycle needs; WAL lets it read while a cycle commits.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from monitor import __version__, service
from monitor.alerts.atom import atom_bytes
from monitor.config import Settings
from monitor.errors import MonitorError, StateError
from monitor.store import outbox
from monitor.store.db import DB_NAME

log = logging.getLogger(__name__)

PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
# Label values that always appear (as 0 until seen), so rate() and alert rules work from the first scrape.
CYCLE_STATUSES = ("ok", "stopped", "interrupted")
ALERT_TYPES = ("new_development", "contradiction", "source_failing")
OUTBOX_STATUSES = ("pending", "digest", "delivered", "failed")


@dataclass
class Response:
    status: int
    content_type: str
    body: bytes


@dataclass
class Metric:
    """One metric family: name, type, help line and its samples (labels, value)."""

    name: str
    kind: str  # "counter" or "gauge"
    help: str
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)


# -- state access ----------------------------------------------------------------------------------


def open_readonly(settings: Settings) -> sqlite3.Connection:
    """A read-only connection to the state database (mode=ro): a request can never change the state."""
    path = settings.monitor.state_dir / DB_NAME
    if not path.is_file():
        raise StateError(f"no state database at {path} yet")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5,
                               check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA query_only = ON")
    except sqlite3.Error as e:
        raise StateError(f"cannot open state database {path} read-only: {e}") from e
    return conn


# -- metrics -----------------------------------------------------------------------------------------


def _counts(conn: sqlite3.Connection, sql: str, always: tuple[str, ...], label: str) -> list[tuple[dict, float]]:
    """Rows of (key, count) as samples labelled `label`, with every value of `always` present."""
    found = {str(k): float(n) for k, n in conn.execute(sql) if k is not None}
    keys = list(always) + sorted(set(found) - set(always))
    return [({label: k}, found.get(k, 0.0)) for k in keys]


def _scalar(conn: sqlite3.Connection, sql: str) -> float:
    return float(conn.execute(sql).fetchone()[0] or 0)


def _epoch(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _stats(text: str | None) -> dict:
    """A run's stats JSON as a dict; a damaged value counts as empty rather than failing the scrape."""
    try:
        stats = json.loads(text) if text else {}
    except ValueError:
        return {}
    return stats if isinstance(stats, dict) else {}


def _run_stats(conn: sqlite3.Connection) -> list[dict]:
    """The stats of every finished run (a run killed mid-way has none)."""
    return [_stats(text) for (text,) in conn.execute("SELECT stats FROM runs WHERE stats IS NOT NULL")]


def cycle_metrics(conn: sqlite3.Connection) -> list[Metric]:
    """Cycles by status, fetch failures summed over runs, and the last finished cycle's timing and stats."""
    stats = _run_stats(conn)
    metrics = [
        Metric("lunarwatch_cycles_total", "counter", "Cycles started, by final status (running: in progress).",
               _counts(conn, "SELECT status, COUNT(*) FROM runs GROUP BY status", CYCLE_STATUSES, "status")),
        Metric("lunarwatch_source_fetch_failures_total", "counter",
               "Failed source fetches, summed over all finished cycles.",
               [({}, float(sum(s.get("sources_failed", 0) for s in stats
                                if isinstance(s.get("sources_failed", 0), int))))]),
    ]
    last = conn.execute("SELECT started_at, finished_at, stats FROM runs WHERE finished_at IS NOT NULL "
                        "ORDER BY id DESC LIMIT 1").fetchone()
    if last is None:
        return metrics
    started, finished = _epoch(last["started_at"]), _epoch(last["finished_at"])
    if started is not None and finished is not None:
        metrics.append(Metric("lunarwatch_last_cycle_duration_seconds", "gauge",
                              "Wall time of the last finished cycle.", [({}, max(0.0, finished - started))]))
    if finished is not None:
        metrics.append(Metric("lunarwatch_last_cycle_finished_timestamp_seconds", "gauge",
                              "Unix time at which the last cycle finished.", [({}, finished)]))
    numeric = sorted((k, float(v)) for k, v in _stats(last["stats"]).items()
                     if isinstance(v, int | float) and not isinstance(v, bool))
    metrics.append(Metric("lunarwatch_last_cycle_stat", "gauge",
                          "Counters of the last finished cycle (articles, alerts, delivered, ...).",
                          [({"stat": k}, v) for k, v in numeric]))
    return metrics


def content_metrics(conn: sqlite3.Connection) -> list[Metric]:
    """What the monitor holds: articles, known claims, alerts and the delivery queue."""
    return [
        Metric("lunarwatch_articles_processed_total", "counter", "Articles judged (near-copies included).",
               [({}, _scalar(conn, "SELECT COUNT(*) FROM articles"))]),
        Metric("lunarwatch_knowledge_claims", "gauge", "Claims in the knowledge base, by origin.",
               _counts(conn, "SELECT origin, COUNT(*) FROM claims GROUP BY origin", ("seed", "article"), "origin")),
        Metric("lunarwatch_alerts_total", "counter", "Alerts raised, by type.",
               _counts(conn, "SELECT type, COUNT(*) FROM alerts GROUP BY type", ALERT_TYPES, "type")),
        Metric("lunarwatch_outbox_deliveries", "gauge", "Deliveries (alert x channel) in the outbox, by status.",
               _counts(conn, "SELECT status, COUNT(*) FROM outbox GROUP BY status", OUTBOX_STATUSES, "status")),
    ]


def source_metrics(conn: sqlite3.Connection) -> list[Metric]:
    """Per source: consecutive failures labelled with the last error code (only failing sources)."""
    rows = conn.execute("SELECT name, last_error_code, consecutive_failures FROM sources "
                        "WHERE consecutive_failures > 0 ORDER BY name").fetchall()
    return [
        Metric("lunarwatch_sources", "gauge", "Sources known to the state.",
               [({}, _scalar(conn, "SELECT COUNT(*) FROM sources"))]),
        Metric("lunarwatch_source_errors", "gauge",
               "Consecutive failed fetches of each failing source, labelled with its last error code.",
               [({"source": r["name"], "code": r["last_error_code"] or "unknown"}, float(r["consecutive_failures"]))
                for r in rows]),
    ]


def collect_metrics(conn: sqlite3.Connection) -> list[Metric]:
    return cycle_metrics(conn) + content_metrics(conn) + source_metrics(conn)


def _label_value(value: str) -> str:
    """Escape a label value as the text exposition format requires (backslash, quote, newline)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


def exposition(metrics: list[Metric]) -> str:
    """Prometheus text format 0.0.4: HELP and TYPE per family, one `name{labels} value` line per sample."""
    lines = []
    for m in metrics:
        lines += [f"# HELP {m.name} {m.help}", f"# TYPE {m.name} {m.kind}"]
        for labels, value in m.samples:
            text = ",".join(f'{k}="{_label_value(v)}"' for k, v in labels.items())
            lines.append(f"{m.name}{{{text}}} {_number(value)}" if text else f"{m.name} {_number(value)}")
    return "\n".join(lines) + "\n"


# -- routes ------------------------------------------------------------------------------------------


def healthz(settings: Settings) -> Response:
    """200 when a cycle finished within two intervals (the same rule as `monitor healthcheck`), else 503."""
    ok, why = service.healthy(settings)
    return Response(200 if ok else 503, TEXT_TYPE, (("healthy: " if ok else "unhealthy: ") + why + "\n").encode())


def metrics(settings: Settings) -> Response:
    with closing(open_readonly(settings)) as conn:
        return Response(200, PROMETHEUS_TYPE, exposition(collect_metrics(conn)).encode())


def alerts_atom(settings: Settings) -> Response:
    """The same feed as state/alerts.atom, built from the alerts table at request time."""
    limit = settings.alerts.atom_feed_entries
    with closing(open_readonly(settings)) as conn:
        payloads = outbox.recent_alerts(conn, limit)
    return Response(200, ATOM_TYPE, atom_bytes(payloads, max_entries=limit))


ROUTES: dict[str, Callable[[Settings], Response]] = {
    "/healthz": healthz,
    "/metrics": metrics,
    "/alerts.atom": alerts_atom,
}


def respond(settings: Settings, path: str) -> Response:
    """Route one GET; an unusable state is 503 (the monitor may be starting), a bug is 500 and logged."""
    route = ROUTES.get(urlsplit(path).path)
    if route is None:
        return Response(404, TEXT_TYPE, b"not found: try /healthz, /metrics or /alerts.atom\n")
    try:
        return route(settings)
    except MonitorError as e:
        return Response(503, TEXT_TYPE, f"unavailable: {e}\n".encode())
    except Exception:
        log.exception("web: %s failed", path)
        return Response(500, TEXT_TYPE, b"internal error (see the monitor's log)\n")


# -- server ------------------------------------------------------------------------------------------


def _handler(settings: Settings) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = f"lunarwatch/{__version__}"
        sys_version = ""
        timeout = 15  # a client that stalls cannot hold a thread for long

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._reply(respond(settings, self.path), body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._reply(respond(settings, self.path), body=False)

        def _reply(self, r: Response, body: bool) -> None:
            self.send_response(r.status)
            self.send_header("Content-Type", r.content_type)
            self.send_header("Content-Length", str(len(r.body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            if body:
                self.wfile.write(r.body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
            log.debug("web: %s %s", self.address_string(), format % args)

    return Handler


class WebServer:
    """The endpoint in a daemon thread: start() binds (failure is a MonitorError, exit 2), stop() joins."""

    def __init__(self, settings: Settings, host: str, port: int) -> None:
        self.settings = settings
        self.host, self.port = host, port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> WebServer:
        try:
            self._server = ThreadingHTTPServer((self.host, self.port), _handler(self.settings))
        except OSError as e:
            raise MonitorError(f"web: cannot listen on {self.host}:{self.port}: {e.strerror or e} "
                               "(web.host / web.port)", "web_bind") from e
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.2,), name="web", daemon=True)
        self._thread.start()
        log.info("web endpoint on http://%s:%d (/healthz, /metrics, /alerts.atom)", self.host, self.port)
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)
        self._server = None

    def __enter__(self) -> WebServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


@contextmanager
def serving(settings: Settings) -> Iterator[WebServer | None]:
    """Run the endpoint while the block runs, when `[web] port` is set; otherwise do nothing."""
    if settings.web.port is None:
        yield None
        return
    server = WebServer(settings, settings.web.host, settings.web.port).start()
    try:
        yield server
    finally:
        server.stop()
