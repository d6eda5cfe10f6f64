"""Shared parts of the operator tests (web endpoint, CLI operations, progress): a tiny news site on
127.0.0.1, a config writer and an in-process CLI runner. Nothing leaves the machine.

The two articles are written for these tests: one reports a development no seed carries (a new ILRS
partner), so a cycle raises exactly one alert; the other is off-topic and raises nothing.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from click.testing import CliRunner, Result

from monitor.cli import cli

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
FEED_SOURCE = "moon-desk"
BROKEN_SOURCE = "gone-desk"


@dataclass
class Article:
    slug: str
    title: str
    published: str  # ISO 8601, UTC
    paragraphs: list[str]


NEW_PARTNER = Article("uruguay-joins-ilrs", "Uruguay joins the International Lunar Research Station",
                      "2024-10-02T09:00:00Z", [
    "Uruguay signed an agreement with the China National Space Administration in Montevideo on Tuesday to join "
    "the International Lunar Research Station, becoming the first South American partner of the project.",
    "Uruguayan engineers will help design a lunar dust monitor for the Chang'e-8 mission, which is scheduled "
    "to launch around 2028, the agency said.",
])
OFF_TOPIC = Article("harbour-festival", "Harbour festival draws record crowds", "2024-10-03T10:00:00Z", [
    "The annual harbour festival drew a record number of visitors on Saturday, the organisers said, with "
    "boat parades, food stalls and a fireworks display over the bay.",
    "Local restaurants reported their busiest weekend of the year, and the city plans to extend the festival "
    "to three days next summer.",
])


def page_html(a: Article) -> bytes:
    body = "\n".join(f"<p>{escape(p)}</p>" for p in a.paragraphs)
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{escape(a.title)} | Moon Desk</title>
<meta property="og:title" content="{escape(a.title)}">
<meta property="article:published_time" content="{a.published}">
</head><body><header><a href="/">Moon Desk</a></header>
<main><article><h1>{escape(a.title)}</h1>
{body}
</article></main><footer>Copyright Moon Desk.</footer></body></html>""".encode()


class Site:
    """A ThreadingHTTPServer on 127.0.0.1: /feed.xml lists `articles`, /news/<slug>.html serves them,
    anything else (the broken source's /gone.xml) is 404."""

    def __init__(self, articles: list[Article]) -> None:
        self.articles = {a.slug: a for a in articles}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                status, ctype, body = site.respond(self.path)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def respond(self, path: str) -> tuple[int, str, bytes]:
        if path == "/feed.xml":
            return 200, "application/rss+xml; charset=utf-8", self.feed()
        slug = path.removeprefix("/news/").removesuffix(".html")
        if path.startswith("/news/") and slug in self.articles:
            return 200, "text/html; charset=utf-8", page_html(self.articles[slug])
        return 404, "text/plain", b"not found"

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def feed(self) -> bytes:
        items = []
        for a in self.articles.values():
            when = format_datetime(datetime.fromisoformat(a.published.replace("Z", "+00:00")))
            items.append(f"<item><title>{escape(a.title)}</title><link>{self.url(f'/news/{a.slug}.html')}</link>"
                         f"<guid isPermaLink=\"false\">moon-desk-{a.slug}</guid><pubDate>{when}</pubDate></item>")
        return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Moon Desk</title>'
                f"<link>{self.url('/')}</link><description>Moon news</description>"
                + "".join(items) + "</channel></rss>").encode()

    def __enter__(self) -> Site:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def write_config(folder: Path, site: Site, webhook_url: str | None = None, broken: bool = False,
                 web_port: int | None = None) -> Path:
    """A config with the site's feed (and optionally a source that answers 404, a webhook, the web
    endpoint), state in `folder`."""
    broken_src = f'\n[[sources]]\nname = "{BROKEN_SOURCE}"\nkind = "feed"\nurl = "{site.url("/gone.xml")}"\n' \
        if broken else ""
    hook = f'\n[[alerts.webhooks]]\nurl = "{webhook_url}"\ntimeout_s = 10\n' if webhook_url else ""
    web = f'\n[web]\nhost = "127.0.0.1"\nport = {web_port}\n' if web_port else ""
    cfg = folder / "monitor.toml"
    cfg.write_text(f"""
[monitor]
state_dir = "state"
seeds_dir = {json.dumps(SEEDS.as_posix())}
interval_minutes = 30
{web}

[fetch]
connect_timeout_s = 5
read_timeout_s = 30
total_timeout_s = 60

[[sources]]
name = "{FEED_SOURCE}"
kind = "feed"
url = "{site.url('/feed.xml')}"
{broken_src}
[alerts]
retry_base_s = 0
{hook}""", encoding="utf-8")
    return cfg


@contextmanager
def kept_logging() -> Iterator[None]:
    """The CLI points the root logger at the runner's stream; put the old handlers back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def run_cli(cfg: Path, *args: str) -> Result:
    """`monitor --config cfg ARGS` in-process (stderr is not a terminal here, as in CI and containers)."""
    with kept_logging():
        return CliRunner().invoke(cli, ["--config", str(cfg), *args], obj={}, catch_exceptions=False)


def status_json(cfg: Path) -> dict:
    result = run_cli(cfg, "status", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)
