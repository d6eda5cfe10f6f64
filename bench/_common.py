"""What the benchmarks share: the page corpus (read from ../shared, never copied), a loopback site
that serves feeds and pages with conditional-GET support, a temporary monitor setup, and medians.

Only the standard library and the installed `monitor` package are used.
"""

from __future__ import annotations

import email.utils
import hashlib
import html
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
BASE_DATE = datetime(2024, 1, 1, tzinfo=UTC)


# -- corpus ----------------------------------------------------------------------------------------

def shared_dir() -> Path | None:
    """The shared folder beside the checkout (or $LUNARWATCH_SHARED), if it holds the corpora."""
    for cand in (os.environ.get("LUNARWATCH_SHARED"), REPO.parent / "shared", "/work/shared"):
        if cand and (Path(cand) / "eval" / "dev" / "articles").is_dir() \
                and (Path(cand) / "corpora" / "webpages").is_dir():
            return Path(cand)
    return None


def require_shared(name: str) -> Path:
    """The shared folder, or a clear message and exit 0 (the benchmark is skipped, not failed)."""
    found = shared_dir()
    if found is None:
        print(f"{name}: SKIPPED: the page corpora are not here (looked for ../shared/corpora/webpages and "
              f"../shared/eval/dev/articles beside {REPO}; set LUNARWATCH_SHARED=/path/to/shared)")
        sys.exit(0)
    return found


def source_pages(shared: Path) -> list[tuple[str, bytes]]:
    """(name, bytes) of every HTML page of the web-page corpus and of the dev articles, in a fixed order."""
    web = sorted(p for p in (shared / "corpora" / "webpages").rglob("*.html") if p.is_file())
    dev = sorted(p for p in (shared / "eval" / "dev" / "articles").glob("*.html") if p.is_file())
    return [(p.stem, p.read_bytes()) for p in web + dev]


def dev_articles(shared: Path) -> list[tuple[str, bytes]]:
    return [(p.stem, p.read_bytes()) for p in sorted((shared / "eval" / "dev" / "articles").glob("*.html"))]


_TITLE = re.compile(rb"(<title[^>]*>)", re.I)
_PARA = re.compile(rb"(<p(?:\s[^>]*)?>)", re.I)
_NUMBER = re.compile(rb"(?<![\w#&%./-])([1-9]\d{0,2})(?![\w%/-])")


def variant(raw: bytes, copy: int) -> bytes:
    """A light edit of a page: copy-numbered title and opening words, and small numbers shifted, so that
    every copy has its own body hash and text (ASCII edits: safe in any ASCII-compatible charset)."""
    if copy == 0:
        return raw
    out = _TITLE.sub(lambda m: m.group(1) + f"[{copy}] ".encode(), raw, count=1)
    out = _PARA.sub(lambda m: m.group(1) + f"Edition {copy}. ".encode(), out, count=1)
    return _NUMBER.sub(lambda m: str(int(m.group(1)) + copy).encode(), out)


@dataclass(frozen=True)
class Page:
    path: str  # URL path on the site
    title: str
    published: datetime
    body: bytes
    origin: str  # corpus page it was made from


def make_pages(base: list[tuple[str, bytes]], n: int, prefix: str = "/a") -> list[Page]:
    """n pages cycling over the corpus; copy k of page i lives at its own URL with its own edit."""
    pages = []
    for i in range(n):
        copy, (name, raw) = divmod(i, len(base))[0], base[i % len(base)]
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "page"
        pages.append(Page(f"{prefix}/{copy}/{i}/{slug}", f"{name} ({copy})", BASE_DATE + timedelta(hours=i),
                          variant(raw, copy), name))
    return pages


def rss(site: str, items: list[Page]) -> bytes:
    parts = [f"<item><title>{html.escape(p.title)}</title><link>{site}{p.path}</link>"
             f"<guid isPermaLink=\"true\">{site}{p.path}</guid>"
             f"<pubDate>{email.utils.format_datetime(p.published)}</pubDate></item>" for p in items]
    return ("<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>bench</title>"
            f"<link>{site}/</link><description>bench feed</description>{''.join(parts)}</channel></rss>").encode()


# -- loopback site ---------------------------------------------------------------------------------

@dataclass
class Site:
    """Feeds and pages on 127.0.0.1 with ETag/Last-Modified; counts what it served."""

    feeds: dict[str, list[Page]] = field(default_factory=dict)  # feed path -> its pages
    pages: dict[str, Page] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: {"feed_200": 0, "feed_304": 0, "page_200": 0,
                                                             "page_304": 0, "missing": 0})
    base: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _bodies: dict[str, tuple[bytes, str, str, str]] = field(default_factory=dict)

    def add_feed(self, path: str, items: list[Page]) -> None:
        self.feeds[path] = items
        for p in items:
            self.pages[p.path] = p

    def count(self, key: str) -> None:
        with self._lock:
            self.counts[key] += 1

    def reset_counts(self) -> None:
        with self._lock:
            for k in self.counts:
                self.counts[k] = 0

    def body(self, path: str) -> tuple[bytes, str, str, str] | None:
        """(body, content type, etag, last-modified) of a path; feeds are rendered once."""
        if path in self._bodies:
            return self._bodies[path]
        if path in self.feeds:
            body, ctype = rss(self.base, self.feeds[path]), "application/rss+xml"
            modified = max((p.published for p in self.feeds[path]), default=BASE_DATE)
        elif path in self.pages:
            body, ctype, modified = self.pages[path].body, "text/html", self.pages[path].published
        else:
            return None
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        entry = (body, ctype, etag, email.utils.format_datetime(modified, usegmt=True))
        self._bodies[path] = entry
        return entry


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real servers
        disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms delayed-ACK stalls

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            path = self.path.split("?", 1)[0]
            found = site.body(path)
            kind = "feed" if path in site.feeds else "page"
            if found is None:
                site.count("missing")
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body, ctype, etag, modified = found
            inm, ims = self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
            if (inm and etag in [t.strip() for t in inm.split(",")]) or (not inm and ims == modified):
                site.count(kind + "_304")
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", modified)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            site.count(kind + "_200")
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", modified)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's name)
            pass

    return Handler


@contextmanager
def serve(site: Site):
    """Serve `site` on 127.0.0.1 (an ephemeral port) in a background thread; stops on exit."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    server.daemon_threads = True
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


# -- the monitor as a user runs it -----------------------------------------------------------------

def write_config(folder: Path, state_dir: Path, sources: list[tuple[str, str]]) -> Path:
    lines = ["[monitor]", f"state_dir = {json.dumps(str(state_dir))}", f"seeds_dir = {json.dumps(str(SEEDS))}", ""]
    for name, url in sources:
        lines += ["[[sources]]", f"name = {json.dumps(name)}", 'kind = "feed"', f"url = {json.dumps(url)}", ""]
    cfg = folder / "monitor.toml"
    cfg.write_text("\n".join(lines))
    return cfg


def monitor_cmd(cfg: Path, *args: str) -> list[str]:
    """`monitor --config CFG ...`: the installed console script next to this interpreter, else -m."""
    script = Path(sys.executable).parent / "monitor"
    head = [str(script)] if script.is_file() else [sys.executable, "-m", "monitor.cli"]
    return [*head, "--config", str(cfg), *args]


@dataclass
class Run:
    seconds: float
    returncode: int
    max_rss_mb: float
    stderr: str


def run_monitor(cfg: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 1800) -> Run:
    """Run the monitor in a child process; wall time and that child's own peak RSS (wait4)."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(monitor_cmd(cfg, *args), stdout=subprocess.DEVNULL, stderr=err, env=full_env)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.01)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    return Run(seconds, proc.returncode, usage.ru_maxrss / 1024, stderr)


def check_ok(run: Run, what: str) -> None:
    if run.returncode not in (0, 3):
        sys.stderr.write(run.stderr[-4000:])
        raise SystemExit(f"{what}: the monitor exited {run.returncode}")


def last_run_stats(state_dir: Path) -> dict:
    """The stats JSON of the last finished cycle (the `runs` table)."""
    conn = sqlite3.connect(state_dir / "monitor.db")
    try:
        row = conn.execute("SELECT stats FROM runs WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1").fetchone()
    finally:
        conn.close()
    return json.loads(row[0]) if row and row[0] else {}


def prebuilt_baseline(folder: Path) -> tuple[Path, float]:
    """A state database with the seed baseline built (by `monitor baseline`), and how long that took."""
    state = folder / "baseline-state"
    cfg = write_config(folder, state, [])
    run = run_monitor(cfg, "baseline")
    check_ok(run, "baseline build")
    return state / "monitor.db", run.seconds


def fresh_state(folder: Path, name: str, baseline_db: Path | None) -> Path:
    """An empty state directory, holding a copy of the prebuilt baseline when one is given."""
    state = folder / name
    if state.exists():
        shutil.rmtree(state)
    state.mkdir(parents=True)
    if baseline_db is not None:
        src = sqlite3.connect(baseline_db)
        dst = sqlite3.connect(state / "monitor.db")
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
    return state


# -- figures ---------------------------------------------------------------------------------------

def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def show(rows: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")


def runs_text(values: list[float], unit: str = "s", digits: int = 2) -> str:
    return "[" + ", ".join(f"{v:.{digits}f}" for v in values) + f"] {unit}"
