"""Shared parts of the reliability and crash tests: a small news site, the article corpus, a config
writer and a CLI runner. Everything listens on 127.0.0.1 or 127.0.0.2; nothing leaves the machine.

The articles are written for these tests (invented but realistic facts, not copied from the eval
set): four raise new-development alerts against the seeds, one restates a seed, one is off-topic.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
RUN_TIMEOUT = 240


@dataclass
class Article:
    slug: str
    title: str
    published: str  # ISO 8601, UTC
    paragraphs: list[str]
    description: str = ""  # the feed entry's own text (empty: the feed carries only a link)
    link: str | None = None  # overrides the link to the article page (fault endpoints)
    charset: str = "utf-8"  # anything else: the page is encoded so, and declares no charset at all


THAILAND = Article("thailand-joins-ilrs", "Thailand joins the International Lunar Research Station",
                   "2024-05-29T08:15:00Z", [
    "BANGKOK — Thailand's Geo-Informatics and Space Technology Development Agency (GISTDA) signed an "
    "agreement with the China National Space Administration (CNSA) on Wednesday to take part in the "
    "International Lunar Research Station (ILRS), the agencies said.",
    "Under the agreement, Thai engineers will build a space-weather monitoring instrument that is to fly on "
    "the Chang'e-7 mission, which China plans to launch around 2026 toward the lunar south pole.",
    "GISTDA's director said the instrument would be assembled at a new laboratory in Chonburi province and "
    "delivered to Beijing for integration in 2025.",
    "Thailand is the first member of the Association of Southeast Asian Nations to join the Chinese-led "
    "programme.",
])
# Russia and China's plan for a reactor on the Moon (a new development against the seeds).
NUCLEAR = Article("ilrs-nuclear-power", "Russia and China plan a nuclear power plant on the Moon for the ILRS",
                  "2024-03-06T09:00:00Z", [
    "MOSCOW — Russia and China are considering delivering and installing a nuclear power unit on the lunar "
    "surface between 2033 and 2035 to supply the International Lunar Research Station, Roscosmos head Yuri "
    "Borisov said on Tuesday.",
    "Borisov told students in Kazan that solar panels would not be able to provide enough electricity for the "
    "planned station, and that the reactor would be built and installed by robots without human presence.",
    "He said Roscosmos engineers were also designing a nuclear-powered space tug to move cargo between orbits.",
])
FALCON = Article("gateway-falcon-heavy", "NASA picks Falcon Heavy to launch the first Gateway modules",
                 "2024-02-10T15:00:00Z", [
    "WASHINGTON — NASA has selected SpaceX to launch the Power and Propulsion Element and the Habitation and "
    "Logistics Outpost of the Lunar Gateway together on a Falcon Heavy rocket from Kennedy Space Center, the "
    "agency said on Friday.",
    "The contract for the launch service is worth about 331.8 million dollars, including the launch and other "
    "mission-related costs.",
    "The two integrated modules will spend about ten months travelling to a near-rectilinear halo orbit around "
    "the Moon before the first crew arrives on the Artemis IV mission.",
])
CANADARM = Article("canadarm3-design-review", "Canada's Canadarm3 robotic arm for Gateway passes its design review",
                   "2024-11-14T13:30:00Z", [
    "OTTAWA — The Canadian Space Agency said on Thursday that Canadarm3, the robotic arm it is building for "
    "the Lunar Gateway, passed its preliminary design review at MDA Space in Brampton, Ontario.",
    "The large arm, 8.5 metres long, will be able to replace its own parts and will be operated from "
    "Saint-Hubert, Quebec, when no astronauts are aboard the station.",
    "MDA Space said the arm would be shipped to NASA for integration in 2029.",
])
# Restates the Interfax seed (004_...): known, raises no alert.
RESTATED = Article("memorandum-restated", "Russia and China sign memorandum on lunar research station",
                   "2021-03-10T08:00:00Z", [
    "Russia and China have signed a memorandum to build an international lunar research station, the "
    "Roscosmos state corporation said.",
    "Roscosmos General Director Dmitry Rogozin and the head of the CNSA, Zhang Kejian, signed the memorandum "
    "of understanding between the government of the People's Republic of China and the government of the "
    "Russian Federation on cooperating in the construction of the international lunar research station.",
])
OFF_TOPIC = Article("gateway-arch-tram", "Gateway Arch reopens its observation tram after maintenance",
                    "2024-09-06T10:00:00Z", [
    "The Gateway Arch in St. Louis reopened its tram to the observation deck on Monday after six weeks of "
    "maintenance work on the cabins and cables, the National Park Service said.",
    "Park rangers expect long queues on the first weekend, and advise visitors to buy their tickets online "
    "before coming to the riverfront park.",
    "The museum beneath the monument, which tells the story of the westward expansion of the United States, "
    "stayed open throughout the works.",
])
CORPUS = [THAILAND, NUCLEAR, FALCON, CANADARM, RESTATED, OFF_TOPIC]


def page_html(a: Article) -> bytes:
    body = "\n".join(f"<p>{escape(p)}</p>" for p in a.paragraphs)
    meta = '<meta charset="utf-8">' if a.charset == "utf-8" else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head>{meta}
<title>{escape(a.title)} | Orbit Ledger</title>
<meta property="og:title" content="{escape(a.title)}">
<meta property="article:published_time" content="{a.published}">
</head><body>
<header><a href="/">Orbit Ledger</a> <nav><a href="/moon">Moon</a> <a href="/about">About</a></nav></header>
<main><article>
<h1>{escape(a.title)}</h1>
<p class="byline">By Orbit Ledger staff</p>
{body}
</article></main>
<aside><h2>Most read</h2><ul><li><a href="/x">How to watch the next lunar eclipse</a></li></ul></aside>
<footer>Copyright Orbit Ledger. All rights reserved.</footer>
</body></html>
""".encode(a.charset)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A monitor hanging up on a held response is expected (SIGTERM, timeouts): stay quiet."""


class Site:
    """A news site on `host` (127.0.0.1, or 127.0.0.2 to look public): /feed.xml and /news/<slug>.html.

    Knobs: `etag` makes the feed conditional (ETag, 304); `feed_status` answers the feed with that status instead; `page_status[slug]` does the same for
    one page; `hold[path]` makes that path wait for the event (to keep a monitor busy mid-cycle) and
    `requested[path]` is set when it is asked for. `requests` lists every path served.
    """

    def __init__(self, host: str = "127.0.0.1", articles: list[Article] | None = None) -> None:
        self.articles: list[Article] = list(articles or [])
        self.requests: list[str] = []
        self.feed_status: int | None = None
        self.etag = False  # True: the feed sends an ETag and answers If-None-Match with 304
        self.page_status: dict[str, int] = {}
        self.hold: dict[str, threading.Event] = {}
        self.requested: dict[str, threading.Event] = {}
        self.server = _QuietServer((host, 0), self._handler())
        self.host, self.port = host, self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                site.requests.append(self.path)
                site.requested.setdefault(self.path, threading.Event()).set()
                if self.path in site.hold:
                    site.hold[self.path].wait(120)
                status, ctype, body = site.respond(self.path)
                etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
                conditional = site.etag and self.path == "/feed.xml" and status == 200
                if conditional and self.headers.get("If-None-Match") == etag:
                    status, body = 304, b""
                self.send_response(status)
                if status != 304:
                    self.send_header("Content-Type", ctype)
                if site.etag and self.path == "/feed.xml":
                    self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def respond(self, path: str) -> tuple[int, str, bytes]:
        if path == "/feed.xml":
            if self.feed_status:
                return self.feed_status, "text/plain", f"status {self.feed_status}\n".encode()
            return 200, "application/rss+xml; charset=utf-8", self.feed()
        slug = path[len("/news/"):-len(".html")] if path.startswith("/news/") and path.endswith(".html") else ""
        article = next((a for a in self.articles if a.slug == slug), None)
        if article is None:
            return 404, "text/plain", b"not found\n"
        if slug in self.page_status:
            return self.page_status[slug], "text/plain", b"unavailable\n"
        ctype = "text/html; charset=utf-8" if article.charset == "utf-8" else "text/html"
        return 200, ctype, page_html(article)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def article_url(self, a: Article) -> str:
        return a.link or self.url(f"/news/{a.slug}.html")

    def feed(self) -> bytes:
        items = []
        for a in self.articles:
            when = format_datetime(datetime.fromisoformat(a.published.replace("Z", "+00:00")))
            desc = f"<description>{escape(a.description)}</description>" if a.description else ""
            items.append(f"<item><title>{escape(a.title)}</title><link>{escape(self.article_url(a))}</link>"
                         f"<guid isPermaLink=\"false\">orbit-ledger-{a.slug}</guid><pubDate>{when}</pubDate>"
                         f"{desc}</item>")
        return ("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel>"
                f"<title>Orbit Ledger</title><link>{self.url('/')}</link><description>Moon news</description>\n"
                + "\n".join(items) + "\n</channel></rss>\n").encode()

    def __enter__(self) -> Site:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for event in self.hold.values():
            event.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@dataclass
class Source:
    name: str
    url: str
    kind: str = "feed"


@dataclass
class Setup:
    """One monitor installation in a folder: its config file and state directory."""

    folder: Path
    sources: list[Source]
    webhooks: list[tuple[str, str]] = field(default_factory=list)  # (url, secret)
    extra: str = ""  # more TOML appended as is
    webhook_timeout_s: float = 5

    @property
    def config(self) -> Path:
        return self.folder / "monitor.toml"

    @property
    def db(self) -> Path:
        return self.folder / "state" / "monitor.db"

    def write(self) -> Path:
        parts = [f'[monitor]\nstate_dir = "state"\nseeds_dir = "{SEEDS.as_posix()}"\ninterval_minutes = 30\n']
        parts += [f'[[sources]]\nname = "{s.name}"\nkind = "{s.kind}"\nurl = "{s.url}"\n' for s in self.sources]
        parts += [f'[[alerts.webhooks]]\nurl = "{u}"\nsecret = "{sec}"\ntimeout_s = {self.webhook_timeout_s}\n'
                  for u, sec in self.webhooks]
        parts.append(self.extra)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.config.write_text("\n".join(parts), encoding="utf-8")
        return self.config


class Blackhole:
    """A TCP port that accepts connections (the kernel's backlog) but never answers: a hung receiver."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> Blackhole:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


def clean_env(**extra: str) -> dict[str, str]:
    """The test process's environment without any MONITOR_* setting, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env.update(extra)
    return env


def monitor_cmd(cfg: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "monitor.cli", "--config", str(cfg), *args]


def monitor(cfg: Path, *args: str, env: dict[str, str] | None = None,
            timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess and wait for it."""
    return subprocess.run(monitor_cmd(cfg, *args), capture_output=True, text=True, timeout=timeout,
                          env=env if env is not None else clean_env(), cwd=cfg.parent)


def status(cfg: Path, env: dict[str, str] | None = None) -> dict:
    res = monitor(cfg, "status", "--json", env=env)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def posted(receiver: Any) -> list[dict]:
    """Every alert body the webhook receiver got, in order (duplicates included)."""
    return [json.loads(r["body"]) for r in receiver.requests]


def posted_ids(receiver: Any) -> list[str]:
    return [p["id"] for p in posted(receiver)]


def integrity(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def query(db: Path, sql: str, *params: Any) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()
