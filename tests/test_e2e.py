"""End to end with real parts only, all on 127.0.0.1: an HTTP site serving an RSS feed and article
pages, a webhook receiver, an aiosmtpd SMTP server, and the real CLI run as a subprocess.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
from email import message_from_bytes
from email.policy import default as default_policy
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from aiosmtpd.controller import Controller

from tests.alert_samples import Receiver

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
SECRET = "whsec-e2e-7Hq2pLx9Vb"
SMTP_PASSWORD = "smtp-e2e-Kd82mZ0q"
SOURCE = "lunar-desk"
SENDER = "monitor@lunarwatch.test"
RECIPIENTS = ["analyst@lunarwatch.test"]
RUN_TIMEOUT = 300


def page(title: str, published: str, paragraphs: list[str], section: str = "space") -> bytes:
    body = "\n".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{escape(title)} | Lunar Desk</title>
<meta property="og:title" content="{escape(title)}">
<meta property="article:published_time" content="{published}">
</head><body>
<header><a href="/">Lunar Desk</a> <nav><a href="/{section}">{section.title()}</a> <a href="/about">About</a></nav></header>
<main><article>
<h1>{escape(title)}</h1>
<p class="byline">By Lunar Desk staff</p>
{body}
</article></main>
<aside><h2>Most read</h2><ul><li><a href="/x">Ten ways to photograph the Moon</a></li></ul></aside>
<footer>Copyright Lunar Desk. All rights reserved.</footer>
</body></html>
""".encode()


# Restates the Interfax seed (004_...): Roscosmos and CNSA signed the ILRS memorandum on March 9, 2021.
KNOWN_ARTICLE = ("Russia and China sign memorandum on lunar research station", "2021-03-10T08:00:00Z", [
    "Russia and China have signed a memorandum to build an international lunar research station, the Roscosmos "
    "state corporation said.",
    "Roscosmos General Director Dmitry Rogozin and CNSA head Zhang Kejian signed the memorandum of "
    "understanding on the construction of the International Lunar Research Station (ILRS) during a "
    "videoconference held on March 9, 2021.",
])
# A development no seed carries: a new partner country, a city, officials, a mission.
NEW_ARTICLE = ("Senegal joins the International Lunar Research Station", "2024-09-05T09:30:00Z", [
    "Senegal signed an agreement with the China National Space Administration in Dakar on Wednesday to join "
    "the International Lunar Research Station, becoming the first West African partner of the project.",
    "Senegalese engineers will take part in payload design for the Chang'e-8 mission, which is scheduled to "
    "launch around 2028, the agency said.",
])
OFF_TOPIC_ARTICLE = ("Gateway Arch reopens to visitors after renovation", "2024-09-06T10:00:00Z", [
    "The Gateway Arch in St. Louis reopened to visitors on Monday after a two-year renovation of its museum "
    "and visitor centre, the National Park Service said.",
    "The tram that carries visitors to the top of the 630-foot monument was fitted with new cabins, and "
    "tickets for the first weekend sold out within hours.",
    "Park rangers expect more than two million visitors this year, drawn by the riverfront park and the new "
    "exhibits on the westward expansion of the United States.",
])
# Batch 2: the same development, told again a week later in other words.
FOLLOW_UP_ARTICLE = ("Senegal is now a partner of the International Lunar Research Station",
                     "2024-09-12T07:00:00Z", [
    "Senegal has joined the International Lunar Research Station after signing an agreement with the China "
    "National Space Administration in Dakar, officials said this week.",
    "Under the accord, Senegalese engineers will take part in payload design for the Chang'e-8 mission, the "
    "China National Space Administration said.",
])

BATCH1 = {"known": KNOWN_ARTICLE, "senegal": NEW_ARTICLE, "arch": OFF_TOPIC_ARTICLE}
BATCH2 = {**BATCH1, "senegal-follow-up": FOLLOW_UP_ARTICLE}


class Site:
    """A ThreadingHTTPServer on 127.0.0.1 serving /feed.xml and /news/<slug>.html from `articles`.

    `hold_feed`, when set, makes the feed response wait until the event is set (to keep a monitor
    busy inside its cycle); `feed_requested` is set whenever the feed is asked for.
    """

    def __init__(self) -> None:
        self.articles: dict[str, tuple[str, str, list[str]]] = {}
        self.requests: list[str] = []
        self.hold_feed: threading.Event | None = None
        self.feed_requested = threading.Event()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                site.requests.append(self.path)
                if self.path == "/feed.xml":
                    site.feed_requested.set()
                    if site.hold_feed is not None:
                        site.hold_feed.wait(60)
                    self._reply(200, "application/rss+xml; charset=utf-8", site.feed())
                elif self.path.startswith("/news/") and self.path.endswith(".html") \
                        and self.path[6:-5] in site.articles:
                    title, published, paragraphs = site.articles[self.path[6:-5]]
                    self._reply(200, "text/html; charset=utf-8", page(title, published, paragraphs))
                else:
                    self._reply(404, "text/plain", b"not found")

            def _reply(self, status: int, ctype: str, body: bytes) -> None:
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

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def article_url(self, slug: str) -> str:
        return self.url(f"/news/{slug}.html")

    def feed(self) -> bytes:
        from datetime import datetime

        items = []
        for slug, (title, published, paragraphs) in self.articles.items():
            when = format_datetime(datetime.fromisoformat(published.replace("Z", "+00:00")))
            items.append(f"""<item><title>{escape(title)}</title><link>{self.article_url(slug)}</link>
<guid isPermaLink="false">lunar-desk-{slug}</guid><pubDate>{when}</pubDate>
<description>{escape(paragraphs[0][:120])}</description></item>""")
        return ("""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Lunar Desk</title><link>""" + self.url("/") + """</link>
<description>Moon news</description>
""" + "\n".join(items) + "\n</channel></rss>\n").encode()

    def __enter__(self) -> Site:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.hold_feed is not None:
            self.hold_feed.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


class Mailbox:
    """aiosmtpd handler keeping every accepted message."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        self.messages.append(envelope.original_content or envelope.content)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def site():
    with Site() as s:
        yield s


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


@pytest.fixture
def mailbox():
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    box.port = port
    yield box
    controller.stop()


def write_config(tmp_path: Path, site: Site, receiver: Receiver, mailbox: Mailbox | None = None,
                 extra: str = "", name: str = "monitor.toml") -> Path:
    email = f"""
[alerts.email]
host = "127.0.0.1"
port = {mailbox.port}
starttls = false
sender = "{SENDER}"
recipients = {json.dumps(RECIPIENTS)}
timeout_s = 10
""" if mailbox else ""
    cfg = tmp_path / name
    cfg.write_text(f"""
[monitor]
state_dir = "state"
seeds_dir = "{SEEDS.as_posix()}"
interval_minutes = 30
{extra}

[fetch]
connect_timeout_s = 5
read_timeout_s = 60
total_timeout_s = 90

[[sources]]
name = "{SOURCE}"
kind = "feed"
url = "{site.url('/feed.xml')}"

[alerts]
retry_base_s = 0

[[alerts.webhooks]]
url = "{receiver.url('/hook')}"
secret = "{SECRET}"
timeout_s = 10
{email}
""", encoding="utf-8")
    return cfg


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env.update(extra)
    return env


def cli(cfg: Path | None, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "monitor.cli"] + (["--config", str(cfg)] if cfg else []) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT, env=env or clean_env(),
                          cwd=cfg.parent if cfg else None)


def popen(cfg: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "monitor.cli", "--config", str(cfg)] + list(args),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env(),
                            cwd=cfg.parent)


def webhook_alerts(receiver: Receiver) -> list[dict]:
    return [json.loads(r["body"]) for r in receiver.requests]


def assert_signed(request: dict) -> None:
    sig = {k.lower(): v for k, v in request["headers"].items()}.get("x-monitor-signature", "")
    expected = "sha256=" + hmac.new(SECRET.encode(), request["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(sig, expected), (sig, expected)


def assert_contract_payload(p: dict) -> None:
    assert set(p) >= {"version", "id", "type", "created_at", "article", "findings", "summary"}, sorted(p)
    assert p["version"] == 1
    assert isinstance(p["id"], str) and p["id"]
    assert p["type"] in ("new_development", "contradiction")
    assert p["created_at"].endswith("Z") and p["created_at"][:4].isdigit()
    assert set(p["article"]) >= {"url", "title", "published", "source", "also_at"}
    assert isinstance(p["article"]["also_at"], list)
    assert p["findings"], "an article alert carries findings"
    for f in p["findings"]:
        assert set(f) >= {"type", "claim", "evidence"}, sorted(f)
        assert f["type"] in ("new_development", "contradiction")
        assert f["claim"].strip() and f["evidence"].strip()
        if f["type"] == "contradiction":
            assert f["conflicts_with"] and all({"claim", "source", "published"} <= set(c) for c in f["conflicts_with"])
    if p["type"] == "new_development":
        assert all(f["type"] == "new_development" for f in p["findings"])
    assert isinstance(p["summary"], str) and p["summary"].strip() and "\n" not in p["summary"]


def mail_parts(raw: bytes) -> tuple[Any, dict[str, str]]:
    msg = message_from_bytes(raw, policy=default_policy)
    parts = {part.get_content_type(): part.get_content() for part in msg.walk() if not part.is_multipart()}
    return msg, parts


def db_rows(cfg: Path, sql: str, *params: Any) -> list[sqlite3.Row]:
    conn = sqlite3.connect(cfg.parent / "state" / "monitor.db")
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def integrity(cfg: Path) -> str:
    return db_rows(cfg, "PRAGMA integrity_check")[0][0]


# -- the main flow -------------------------------------------------------------------------------


def test_first_run_alerts_once_then_follow_up_and_rerun_stay_silent(tmp_path, site, receiver, mailbox):
    site.articles.update(BATCH1)
    cfg = write_config(tmp_path, site, receiver, mailbox)

    first = cli(cfg, "run", "--once")
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr

    # every page of the feed was fetched, and exactly one alert went out: the new development
    assert {f"/news/{s}.html" for s in BATCH1} <= set(site.requests)
    assert len(receiver.requests) == 1, [p["summary"] for p in webhook_alerts(receiver)]
    request = receiver.requests[0]
    assert_signed(request)
    assert {k.lower(): v for k, v in request["headers"].items()}["content-type"].startswith("application/json")
    alert = json.loads(request["body"].decode("utf-8"))
    assert_contract_payload(alert)
    assert alert["type"] == "new_development"
    assert alert["article"]["url"] == site.article_url("senegal")
    assert alert["article"]["title"].startswith(NEW_ARTICLE[0])
    assert alert["article"]["source"] == SOURCE
    assert alert["article"]["published"].startswith("2024-09-05")
    assert alert["article"]["also_at"] == []
    assert any("Senegal" in f["claim"] or "Senegal" in f["evidence"] for f in alert["findings"])
    assert all(f["evidence"] in " ".join(NEW_ARTICLE[2]) + " " + NEW_ARTICLE[0] for f in alert["findings"])
    assert {k.lower(): v for k, v in request["headers"].items()}.get("x-monitor-alert-id") == alert["id"]

    # the same alert by e-mail: multipart with a text and an HTML part
    assert len(mailbox.messages) == 1
    msg, parts = mail_parts(mailbox.messages[0])
    assert msg.get_content_type() == "multipart/alternative"
    assert {"text/plain", "text/html"} <= set(parts)
    assert "Senegal" in parts["text/plain"] and "Senegal" in parts["text/html"]
    assert msg["To"] == RECIPIENTS[0] and msg["From"] == SENDER
    assert SECRET not in mailbox.messages[0].decode("utf-8", "replace")

    # batch 2: the follow-up repeats the development in other words -> it is known now
    site.articles.update(BATCH2)
    second = cli(cfg, "run", "--once")
    assert second.returncode == 0, second.stderr
    assert "/news/senegal-follow-up.html" in site.requests
    assert len(receiver.requests) == 1, webhook_alerts(receiver)[1:]
    assert len(mailbox.messages) == 1
    row = db_rows(cfg, "SELECT relevant, duplicate_of, alert_id FROM articles WHERE url = ?",
                  site.article_url("senegal-follow-up"))
    assert len(row) == 1, "the follow-up was judged and recorded"
    assert row[0]["relevant"] == 1 and row[0]["duplicate_of"] is None and row[0]["alert_id"] is None

    # a rerun on the same feed raises nothing and refetches no article
    pages_before = [p for p in site.requests if p.startswith("/news/")]
    third = cli(cfg, "run", "--once")
    assert third.returncode == 0, third.stderr
    assert len(receiver.requests) == 1 and len(mailbox.messages) == 1
    assert [p for p in site.requests if p.startswith("/news/")] == pages_before
    assert integrity(cfg) == "ok"

    # status, text and JSON: the source and the size of the knowledge base
    status = cli(cfg, "status")
    assert status.returncode == 0, status.stderr
    assert SOURCE in status.stdout
    status_json = cli(cfg, "status", "--json")
    assert status_json.returncode == 0, status_json.stderr
    report = json.loads(status_json.stdout)
    assert [s["name"] for s in report["sources"]] == [SOURCE]
    assert report["sources"][0]["state"] == "ok" and report["sources"][0]["consecutive_failures"] == 0
    kb = report["knowledge_base"]
    assert kb["claims"] > kb["seed_claims"] > 0, kb
    assert kb["articles"] == 4
    assert f"{kb['claims']} claims" in status.stdout and f"{kb['seed_claims']} from seeds" in status.stdout
    assert report["alerts"]["total"] == 1 and report["alerts"]["deliveries"] == {"delivered": 2}

    # the recorded alert is listed with the id that went out
    listed = cli(cfg, "alerts", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [a["id"] for a in json.loads(listed.stdout)] == [alert["id"]]


def test_failed_webhook_is_retried_next_run_with_the_same_id(tmp_path, site, receiver, mailbox):
    site.articles.update(BATCH1)
    cfg = write_config(tmp_path, site, receiver, mailbox)
    receiver.status = 500

    first = cli(cfg, "run", "--once")
    assert first.returncode == 3, first.stderr
    assert len(receiver.requests) == 1
    failed = json.loads(receiver.requests[0]["body"])
    assert len(mailbox.messages) == 1, "the e-mail channel is independent of the failing webhook"
    report = json.loads(cli(cfg, "status", "--json").stdout)
    assert report["alerts"]["deliveries"].get("pending") == 1

    receiver.status = 200
    second = cli(cfg, "run", "--once")
    assert second.returncode == 0, second.stderr
    assert len(receiver.requests) == 2
    delivered = json.loads(receiver.requests[1]["body"])
    assert delivered["id"] == failed["id"]
    assert receiver.requests[1]["body"] == receiver.requests[0]["body"], "a redelivery sends the same bytes"
    assert_signed(receiver.requests[1])
    assert_contract_payload(delivered)
    assert len(mailbox.messages) == 1, "the delivered e-mail is not sent again"
    msg, _ = mail_parts(mailbox.messages[0])
    assert msg["Message-ID"] == f"<{failed['id']}@lunarwatch>", "the mail carries the alert id too"

    third = cli(cfg, "run", "--once")
    assert third.returncode == 0 and len(receiver.requests) == 2


# -- the other commands --------------------------------------------------------------------------


def write_article_file(tmp_path: Path, article: tuple[str, str, list[str]], name: str) -> Path:
    path = tmp_path / name
    path.write_bytes(page(*article))
    return path


def test_check_prints_every_claim_with_verdict_and_reason(tmp_path, site, receiver):
    cfg = write_config(tmp_path, site, receiver)
    article = write_article_file(tmp_path, NEW_ARTICLE, "senegal.html")

    out = cli(cfg, "check", str(article))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    verdicts = [ln for ln in lines if ln[:2] in ("! ", "  ") and ln[2:].split(" ")[0] in
                ("KNOWN", "NEW_DEVELOPMENT", "CONTRADICTION", "UPDATE", "SKIPPED")]
    claims = [ln for ln in lines if ln.strip().startswith("claim:")]
    reasons = [ln for ln in lines if ln.strip().startswith("why:")]
    assert claims and len(verdicts) == len(claims) == len(reasons), out.stdout
    assert any(v.startswith("! NEW_DEVELOPMENT") for v in verdicts)
    assert "would alert as a new development" in out.stdout

    as_json = cli(cfg, "check", "--json", str(article))
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert data["relevant"] is True and data["would_alert"] is True and "ilrs" in data["topics"]
    assert len(data["claims"]) == len(claims)
    assert all(c["verdict"] and c["reason"] and c["claim"] for c in data["claims"])
    assert any(c["verdict"] == "new_development" and c["alerting"] for c in data["claims"])

    # a dry run stores nothing and sends nothing
    assert not receiver.requests
    assert not (tmp_path / "state" / "monitor.db").exists()

    off = cli(cfg, "check", "--json", str(write_article_file(tmp_path, OFF_TOPIC_ARTICLE, "arch.html")))
    assert off.returncode == 0, off.stderr
    off_data = json.loads(off.stdout)
    assert off_data["relevant"] is False and off_data["would_alert"] is False and off_data["claims"] == []

    known = cli(cfg, "check", "--json", str(write_article_file(tmp_path, KNOWN_ARTICLE, "known.html")))
    assert known.returncode == 0, known.stderr
    known_data = json.loads(known.stdout)
    assert known_data["relevant"] is True and known_data["would_alert"] is False, known_data["claims"]


def test_check_missing_file_is_a_clear_error(tmp_path, site, receiver):
    cfg = write_config(tmp_path, site, receiver)
    out = cli(cfg, "check", str(tmp_path / "nope.html"))
    assert out.returncode == 2
    assert out.stderr.startswith("Error:") and "nope.html" in out.stderr and "Traceback" not in out.stderr


def test_baseline_report_lists_seed_conflicts_with_both_files(tmp_path, site, receiver):
    cfg = write_config(tmp_path, site, receiver)
    seed_names = {p.name for p in SEEDS.iterdir() if p.suffix == ".txt"}
    out = cli(cfg, "baseline", "--report")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    heads = [i for i, ln in enumerate(lines) if ln[:1].isdigit() and ". conflicting " in ln]
    assert heads, out.stdout
    for i in heads:
        a, b = lines[i + 1].strip(), lines[i + 2].strip()
        fa, fb = a.split(":", 1)[0], b.split(":", 1)[0]
        assert fa in seed_names and fb in seed_names and fa != fb, (a, b)
    assert f"{len(heads)} conflict(s) among the seeds" in out.stdout

    as_json = cli(cfg, "baseline", "--report", "--json")
    assert as_json.returncode == 0, as_json.stderr
    items = json.loads(as_json.stdout)
    assert len(items) == len(heads)
    assert all(it["a"]["source"] in seed_names and it["b"]["source"] in seed_names
               and it["a"]["source"] != it["b"]["source"] and it["slot"] for it in items)


def test_config_show_never_prints_secrets(tmp_path, site, receiver, mailbox):
    cfg = write_config(tmp_path, site, receiver, mailbox)
    text = cfg.read_text().replace("recipients = ", f'username = "analyst"\npassword = "{SMTP_PASSWORD}"\n'
                                                     "recipients = ")
    assert SMTP_PASSWORD in text
    cfg.write_text(text)
    apprise_secret = "tgram://123456:ABCdefSecretToken/987"
    out = cli(cfg, "config", "--show",
              env=clean_env(MONITOR_ALERTS__APPRISE=json.dumps([apprise_secret])))
    assert out.returncode == 0, out.stderr
    shown = json.loads(out.stdout)
    assert shown["alerts"]["webhooks"][0]["url"] == receiver.url("/hook")
    assert shown["alerts"]["email"]["username"] == "analyst"
    everything = out.stdout + out.stderr
    for secret in (SECRET, SMTP_PASSWORD, apprise_secret, "ABCdefSecretToken"):
        assert secret not in everything, secret
    assert shown["alerts"]["webhooks"][0]["secret"] not in ("", None)

    valid = cli(cfg, "config")
    assert valid.returncode == 0 and "valid" in valid.stdout


def assert_unusable(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    err = result.stderr.strip()
    assert err.startswith("Error:"), err
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert err.count("Error:") == 1 and "\n\n" not in err, err
    for w in words:
        assert w in err, (w, err)


def test_bad_config_value_exits_2_with_one_error_paragraph(tmp_path, site, receiver):
    cfg = write_config(tmp_path, site, receiver)
    cfg.write_text(cfg.read_text().replace("interval_minutes = 30", 'interval_minutes = "often"'))
    for args in (("run", "--once"), ("status",), ("config",)):
        assert_unusable(cli(cfg, *args), "interval_minutes", "often")
    assert not (tmp_path / "state" / "monitor.db").exists()


def test_bad_env_override_exits_2_naming_the_key(tmp_path, site, receiver):
    cfg = write_config(tmp_path, site, receiver)
    result = cli(cfg, "run", "--once", env=clean_env(MONITOR_MONITOR__INTERVAL_MINUTES="abc"))
    assert_unusable(result, "interval_minutes", "MONITOR_MONITOR__INTERVAL_MINUTES")
    assert not receiver.requests and "/feed.xml" not in site.requests


@pytest.mark.parametrize("broken, words", [
    ("[monitor\nstate_dir = 'x'", ["TOML"]),
    ("[[sources]]\nname = 'a'\nkind = 'rss'\nurl = 'http://127.0.0.1/f'", ["sources", "kind"]),
    ("[[sources]]\nname = 'a'\nkind = 'feed'\nurl = 'ftp://127.0.0.1/f'", ["url"]),
    ("[monitor]\nunknown_key = 1", ["unknown_key"]),
])
def test_other_bad_configs_exit_2(tmp_path, broken, words):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(broken)
    assert_unusable(cli(cfg, "run", "--once"), *words)


def test_missing_config_file_exits_2(tmp_path):
    assert_unusable(cli(tmp_path / "absent.toml", "run", "--once"), "absent.toml")


def test_concurrent_run_is_refused_while_the_state_is_locked(tmp_path, site, receiver):
    """The second monitor on one state exits 2 with a clear message; the first completes."""
    site.articles.update(BATCH1)
    cfg = write_config(tmp_path, site, receiver, extra="lock_wait_s = 0")
    site.hold_feed = threading.Event()
    first = popen(cfg, "run", "--once")
    try:
        assert site.feed_requested.wait(RUN_TIMEOUT), "the first monitor never fetched its feed"
        # the first monitor is inside its cycle now (the lock is taken before any fetch)
        second = cli(cfg, "run", "--once")
    finally:
        site.hold_feed.set()
        out, err = first.communicate(timeout=RUN_TIMEOUT)
    assert first.returncode == 0, err
    assert_unusable(second, "in use")
    assert len(receiver.requests) == 1
    assert integrity(cfg) == "ok"
    assert db_rows(cfg, "SELECT COUNT(*) FROM articles")[0][0] == 3


def test_concurrent_run_waits_for_the_lock_and_does_not_repeat_alerts(tmp_path, site, receiver):
    site.articles.update(BATCH1)
    cfg = write_config(tmp_path, site, receiver, extra="lock_wait_s = 240")
    site.hold_feed = threading.Event()
    first = popen(cfg, "run", "--once")
    second = None
    try:
        assert site.feed_requested.wait(RUN_TIMEOUT), "the first monitor never fetched its feed"
        second = popen(cfg, "run", "--once")
        with contextlib.suppress(subprocess.TimeoutExpired):  # it waits on the lock the first one holds
            second.wait(timeout=1.5)
    finally:
        site.hold_feed.set()
        _, err1 = first.communicate(timeout=RUN_TIMEOUT)
        _, err2 = second.communicate(timeout=RUN_TIMEOUT) if second else ("", "")
    assert first.returncode == 0, err1
    assert second.returncode in (0, 2), err2
    if second.returncode == 2:
        assert err2.strip().startswith("Error:") and "in use" in err2 and "Traceback" not in err2
    assert len(receiver.requests) == 1, "one alert, whichever monitor sent it"
    assert integrity(cfg) == "ok"
    assert db_rows(cfg, "SELECT COUNT(*) FROM articles")[0][0] == 3
    assert db_rows(cfg, "SELECT COUNT(*) FROM alerts")[0][0] == 1


def test_unusable_state_dir_exits_2(tmp_path, site, receiver):
    cfg = write_config(tmp_path, site, receiver)
    (tmp_path / "state").write_text("not a folder")
    assert_unusable(cli(cfg, "run", "--once"), "state")


def test_config_error_does_not_echo_a_secret(tmp_path, site, receiver, mailbox):
    cfg = write_config(tmp_path, site, receiver, mailbox)
    cfg.write_text(cfg.read_text().replace("recipients = ", "password = 987654321\nrecipients = "))
    result = cli(cfg, "config")
    assert_unusable(result, "password")
    assert "987654321" not in result.stderr + result.stdout
