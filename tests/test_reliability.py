"""Issue #4, reliability: hostile servers, a failing receiver, failing sources, two monitors at once,
SIGTERM, secrets, and article pages that fail. Real servers on 127.0.0.1/127.0.0.2 and the real CLI.

127.0.0.2 plays "the internet": the SSRF guard treats it as the configured source's own host, and a
redirect from there to 127.0.0.1 or 169.254.169.254 must be refused (a twin server on 127.0.0.1 at
the same port proves that no connection was made).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.alert_samples import Receiver
from tests.faultserver import FaultServer, public_pair
from tests.reliability_kit import (
    FALCON,
    NUCLEAR,
    THAILAND,
    Article,
    Blackhole,
    Setup,
    Site,
    Source,
    clean_env,
    integrity,
    monitor,
    monitor_cmd,
    posted,
    query,
    status,
)

FAST = {"MONITOR_FETCH__TOTAL_TIMEOUT_S": "3", "MONITOR_FETCH__CONNECT_TIMEOUT_S": "2",
        "MONITOR_FETCH__READ_TIMEOUT_S": "2"}
CYCLE_BOUND_S = 90  # generous: the slowest endpoint (one byte a second) is cut at 3 s

# Configured sources on the fault server: (name, kind, path, expected error code; None = no error).
FAULT_SOURCES = [
    ("f-500", "feed", "/500", "http_500"),
    ("f-404", "feed", "/404", "http_404"),
    ("f-410", "feed", "/410", "http_410"),
    ("f-reset", "feed", "/reset", "connection"),
    ("f-drip", "feed", "/drip", "timeout"),
    ("f-huge", "feed", "/huge", "too_large"),
    ("f-huge-declared", "feed", "/huge?length=1", "too_large"),
    ("f-gzip-bomb", "feed", "/gzip-bomb", "too_large"),
    ("f-loop", "feed", "/loop", "redirect_loop"),
    ("f-chain", "feed", "/chain/9", "too_many_redirects"),
    ("f-redirect-loopback", "feed", "/redirect-loopback", "ssrf_blocked"),
    ("f-redirect-metadata", "feed", "/redirect-metadata", "ssrf_blocked"),
    ("f-binary", "feed", "/binary", "feed_invalid"),
    ("p-binary", "page", "/binary", "not_html"),
    ("f-empty", "feed", "/empty", "empty_body"),
    ("p-empty", "page", "/empty", "empty_body"),
    ("p-no-article", "page", "/no-article", "no_article"),
    ("p-latin1", "page", "/latin1", "no_article"),  # decoded, but under the extractor's 200 characters
]
# Links inside the good feed, on the fault server (same host as the feed): (path, code, outcome).
# (/429 and /503 make the fetcher hold back their whole origin, so they get servers of their own.)
FAULT_LINKS = [
    ("/500", "http_500", "retrying"),
    ("/404", "http_404", "gave_up"),
    ("/410", "http_410", "gave_up"),
    ("/reset", "connection", "retrying"),
    ("/drip", "timeout", "retrying"),
    ("/huge", "too_large", "retrying"),
    ("/gzip-bomb", "too_large", "retrying"),
    ("/loop", "redirect_loop", "retrying"),
    ("/empty", "empty_body", "retrying"),
    ("/redirect-loopback", "ssrf_blocked", "gave_up"),
    ("/redirect-metadata", "ssrf_blocked", "gave_up"),
]
# Links whose page is useless but whose feed entry has text: the feed's text is used instead.
FALLBACK_LINKS = [
    ("/binary", "not_html", "Officials of Roscosmos and the China National Space Administration met in Harbin "
                            "to review the ILRS roadmap and the schedule of the Chang'e-8 lander."),
    ("/no-article", "no_article", "The Lunar Gateway's HALO module arrived at Northrop Grumman's plant in "
                                  "Gilbert, Arizona, for the installation of its secondary structures."),
]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture
def fault_server_local() -> Iterator[FaultServer]:
    with FaultServer("127.0.0.1") as server:
        yield server


@pytest.fixture
def faults() -> Iterator[FaultServer]:
    with public_pair() as server:
        yield server


# Served as Latin-1 with no charset anywhere (header, BOM or <meta>): detection must get it right.
LATIN1 = Article("quebec-canadarm-operations", "Canadarm3 to be flown from Saint-Hubert, Québec, says l'Agence "
                 "spatiale canadienne", "2024-12-02T10:00:00Z", [
    "SAINT-HUBERT, Québec - Controllers at the John H. Chapman Space Centre will fly Canadarm3 on the Lunar "
    "Gateway when no crew is aboard, the Canadian Space Agency (l'Agence spatiale canadienne) said on Monday.",
    "The agency said the control room, which already supports the Canadarm2 on the International Space "
    "Station, will be extended for lunar operations, with a team of about forty engineers.",
], charset="latin-1")


def link_article(server: FaultServer, path: str, description: str = "") -> Article:
    slug = "link" + path.replace("/", "-").replace("?", "-").replace("=", "-")
    return Article(slug, f"Link to {path}", "2024-01-02T00:00:00Z", [], description=description,
                   link=server.url(path))


# Each on a server of its own: (name for a source, or None for a link; path; code).
POLITE = [("f-503", "/503", "http_503"), ("f-429", "/429", "http_429"),
          (None, "/503", "http_503"), (None, "/429", "http_429")]


@pytest.fixture
def spare() -> Iterator[list[FaultServer]]:
    """One more FaultServer on 127.0.0.2 per POLITE row."""
    servers = [FaultServer("127.0.0.2").start() for _ in POLITE]
    yield servers
    for server in servers:
        server.stop()


def test_one_cycle_over_every_fault(tmp_path: Path, faults: FaultServer, spare: list[FaultServer],
                                    receiver: Receiver) -> None:
    twin = faults.loopback_twin
    assert twin is not None
    polite = list(zip(POLITE, spare, strict=True))
    articles = [THAILAND, LATIN1] + [link_article(faults, p) for p, _, _ in FAULT_LINKS]
    articles += [link_article(srv, p) for (name, p, _), srv in polite if name is None]
    articles += [link_article(faults, p, text) for p, _, text in FALLBACK_LINKS]
    # A link straight to a private address on another host than the feed's: refused, never connected.
    articles.append(Article("link-private", "Private", "2024-01-03T00:00:00Z", [],
                            link=twin.url("/ok-feed")))
    with Site("127.0.0.2", articles) as site:
        sources = [Source(n, faults.url(p), kind) for n, kind, p, _ in FAULT_SOURCES]
        sources += [Source(name, srv.url(p)) for (name, p, _), srv in polite if name]
        sources.append(Source("orbit-ledger", site.url("/feed.xml")))
        setup = Setup(tmp_path, sources, webhooks=[(receiver.url(), "")])
        setup.write()
        start = time.monotonic()
        res = monitor(setup.config, "run", "--once", env=clean_env(**FAST))
        elapsed = time.monotonic() - start

    assert res.returncode == 0, res.stderr[-3000:]
    assert elapsed < CYCLE_BOUND_S, f"the cycle took {elapsed:.0f} s"
    alerts = posted(receiver)
    thai = [a for a in alerts if a.get("article", {}).get("url") == site.article_url(THAILAND)]
    assert len(thai) == 1 and thai[0]["type"] == "new_development", alerts
    failing = [a for a in alerts if a["type"] == "source_failing"]
    assert [a["source_status"]["name"] for a in failing] == ["f-410"]

    report = status(setup.config)
    by_name = {s["name"]: s for s in report["sources"]}
    for (name, _, code), _srv in polite:
        if name:
            assert (by_name[name]["last_error"], by_name[name]["state"]) == (code, "error"), by_name[name]
    for name, _, _, code in FAULT_SOURCES:
        assert by_name[name]["last_error"] == code, (name, by_name[name])
        assert by_name[name]["state"] == ("ok" if code is None else
                                          "failing" if code == "http_410" else "error"), by_name[name]
    assert by_name["orbit-ledger"]["state"] == "ok"
    assert twin.connections == 0, "a refused redirect reached 127.0.0.1"

    by_url = {f["url"]: f for f in report["link_failures"]}
    for path, code, outcome in FAULT_LINKS:
        f = by_url[faults.url(path)]
        assert (f["code"], f["outcome"]) == (code, outcome), f
    for (name, path, code), srv in polite:
        if name is None:
            assert (by_url[srv.url(path)]["code"], by_url[srv.url(path)]["outcome"]) == (code, "retrying")
    assert by_url[twin.url("/ok-feed")]["code"] == "ssrf_blocked"
    for path, code, _ in FALLBACK_LINKS:
        assert (by_url[faults.url(path)]["code"], by_url[faults.url(path)]["outcome"]) == (code, "feed_text")
        assert query(setup.db, "SELECT COUNT(*) FROM articles WHERE url = ?", faults.url(path)) == [(1,)]
    latin = query(setup.db, "SELECT title FROM articles WHERE url = ?", site.article_url(LATIN1))
    assert latin == [(LATIN1.title,)], (latin, [ln for ln in res.stderr.splitlines() if "quebec" in ln])
    assert integrity(setup.db) == "ok"


def test_a_server_that_says_slow_down_is_not_asked_again_in_the_same_run(faults: FaultServer) -> None:
    """429 (or 503 with Retry-After) holds back the whole origin for this run: later requests to it,
    queued or new, fail at once with `deferred` and the wait left; other origins are unaffected."""
    import asyncio

    from monitor.config import FetchSection
    from monitor.errors import FetchError
    from monitor.fetch import Fetcher

    async def go() -> list[str]:
        codes = []
        async with Fetcher(FetchSection(per_host_concurrency=1)) as fetcher:
            for url in (faults.url("/429"), faults.url("/page"), faults.url("/ok-feed"),
                        faults.loopback_twin.url("/page")):
                try:
                    await fetcher.fetch(url, trusted=True)
                    codes.append("ok")
                except FetchError as e:
                    codes.append(e.code)
                    assert e.code != "deferred" or 0 < (e.retry_after or 0) <= 30
        return codes

    assert asyncio.run(go()) == ["http_429", "deferred", "deferred", "ok"]
    assert faults.paths == ["/429"]


# -- 3. the receiver is down, then up; a permanent refusal --------------------------------------------


def test_receiver_down_three_cycles_then_up(tmp_path: Path, receiver: Receiver) -> None:
    env = clean_env(MONITOR_ALERTS__RETRY_BASE_S="0")  # retry at every run, not after a minute
    with Site("127.0.0.1", [THAILAND, NUCLEAR, FALCON]) as site:
        setup = Setup(tmp_path, [Source("orbit-ledger", site.url("/feed.xml"))], webhooks=[(receiver.url(), "s3")])
        setup.write()
        receiver.status = 503
        for cycle in range(3):
            res = monitor(setup.config, "run", "--once", env=env)
            assert res.returncode == 3, (cycle, res.stderr[-2000:])
        down = posted(receiver)
        receiver.status = 200
        res = monitor(setup.config, "run", "--once", env=env)
        assert res.returncode == 0, res.stderr[-2000:]
        again = monitor(setup.config, "run", "--once", env=env)
        assert again.returncode == 0, again.stderr[-2000:]

    bodies = [r["body"] for r in receiver.requests]
    up = posted(receiver)[len(down):]
    ids = [a["id"] for a in up]
    assert len(ids) >= 2 and len(ids) == len(set(ids)), ids  # each acknowledged once, never again
    assert len(down) == 3 * len(ids) and {a["id"] for a in down} == set(ids)  # 3 tries each, same ids
    for i, body in zip(ids, bodies[len(down):], strict=True):  # byte for byte what was tried before
        assert all(b == body for b, a in zip(bodies, posted(receiver), strict=True) if a["id"] == i)
    deliveries = status(setup.config)["alerts"]["deliveries"]
    assert deliveries == {"delivered": len(ids)}, deliveries
    assert query(setup.db, "SELECT MIN(attempts), MAX(attempts) FROM outbox") == [(4, 4)]


def test_failed_delivery_waits_for_its_backoff(tmp_path: Path, receiver: Receiver) -> None:
    """With the default retry_base_s a failed delivery is not retried by a run a moment later."""
    with Site("127.0.0.1", [THAILAND]) as site:
        setup = Setup(tmp_path, [Source("orbit-ledger", site.url("/feed.xml"))], webhooks=[(receiver.url(), "")])
        setup.write()
        receiver.status = 503
        assert monitor(setup.config, "run", "--once").returncode == 3
        tried = len(receiver.requests)
        assert tried >= 1
        receiver.status = 200
        assert monitor(setup.config, "run", "--once").returncode == 3  # still queued, not yet due
    assert len(receiver.requests) == tried
    rows = query(setup.db, "SELECT status, attempts, next_attempt_at > strftime('%Y-%m-%dT%H:%M:%S', 'now', "
                           "'+30 seconds') FROM outbox")
    assert rows and all(r == ("pending", 1, 1) for r in rows), rows


def test_permanent_refusal_is_recorded_not_retried(tmp_path: Path, receiver: Receiver) -> None:
    with Site("127.0.0.1", [THAILAND]) as site:
        setup = Setup(tmp_path, [Source("orbit-ledger", site.url("/feed.xml"))], webhooks=[(receiver.url(), "")])
        setup.write()
        receiver.status = 410
        env = clean_env(MONITOR_ALERTS__RETRY_BASE_S="0")
        first = monitor(setup.config, "run", "--once", env=env)
        assert first.returncode == 3, first.stderr[-2000:]  # not every alert was delivered
        refused = len(receiver.requests)
        assert refused >= 1
        receiver.status = 200
        for _ in range(2):
            assert monitor(setup.config, "run", "--once", env=env).returncode == 0
    assert len(receiver.requests) == refused  # never retried
    report = status(setup.config)
    assert report["alerts"]["deliveries"] == {"failed": refused}
    errors = query(setup.db, "SELECT last_error FROM outbox")
    assert all(e[0].startswith("http_410") for e in errors), errors


# -- 4. source health ----------------------------------------------------------------------------------


def _minutes_until_next(src: dict) -> float:
    from datetime import datetime

    fmt = "%Y-%m-%d %H:%M:%SZ"
    return (datetime.strptime(src["next_attempt"], fmt) - datetime.strptime(src["last_error_at"], fmt)
            ).total_seconds() / 60


def test_backoff_delay_is_exponential_jittered_and_capped() -> None:
    import random

    from monitor.cycle import backoff_delay

    rng = random.Random(7)
    assert backoff_delay(1, 30, 1440, rng=rng) is None  # first failure: the next regular cycle
    for n, full in ((2, 60), (3, 120), (5, 480), (7, 1440), (40, 1440)):
        waits = {backoff_delay(n, 30, 1440, rng=rng).total_seconds() / 60 for _ in range(20)}
        assert all(0.9 * full <= w <= full for w in waits), (n, waits)
        assert len(waits) > 1, "no jitter"
    assert 0.9 * 1440 <= backoff_delay(1, 30, 1440, failing=True, rng=rng).total_seconds() / 60 <= 1440
    assert backoff_delay(1, 30, 1440, retry_after_s=600, rng=rng).total_seconds() == 600  # Retry-After
    assert backoff_delay(2, 30, 1440, retry_after_s=7200, rng=rng).total_seconds() == 7200
    assert backoff_delay(1, 30, 1440, retry_after_s=10 ** 9, rng=rng).total_seconds() == 1440 * 60


def test_source_health_backoff_reset_and_one_failing_alert(tmp_path: Path, receiver: Receiver,
                                                           fault_server_local: FaultServer) -> None:
    env = clean_env(MONITOR_FETCH__MAX_CONSECUTIVE_FAILURES="3")
    with Site("127.0.0.1", [THAILAND]) as site:
        setup = Setup(tmp_path, [Source("flaky", site.url("/feed.xml")),
                                 Source("gone", fault_server_local.url("/410"))],
                      webhooks=[(receiver.url(), "")])
        setup.write()
        site.feed_status = 503

        def run(*args: str, report: bool = True) -> dict[str, dict]:
            res = monitor(setup.config, "run", "--once", *args, env=env)
            assert res.returncode == 0, res.stderr[-2000:]
            return {s["name"]: s for s in status(setup.config, env=env)["sources"]} if report else {}

        s = run()
        assert (s["flaky"]["consecutive_failures"], s["flaky"]["last_error"], s["flaky"]["next_attempt"]) == \
            (1, "http_503", None)
        assert s["gone"]["state"] == "failing" and s["gone"]["last_error"] == "http_410"  # at once on 410
        assert 0.9 * 1440 <= _minutes_until_next(s["gone"]) <= 1440
        s = run()
        assert s["flaky"]["consecutive_failures"] == 2 and s["flaky"]["state"] == "error"
        assert 0.9 * 60 - 0.1 <= _minutes_until_next(s["flaky"]) <= 60 + 0.1  # interval 30 x 2
        feed_requests = site.requests.count("/feed.xml")
        s = run()  # inside the backoff: not fetched, nothing counted
        assert site.requests.count("/feed.xml") == feed_requests
        assert s["flaky"]["consecutive_failures"] == 2 and s["gone"]["consecutive_failures"] == 1
        for n in (3, 4):
            s = run("--force")
            assert s["flaky"]["consecutive_failures"] == n
            assert s["flaky"]["state"] == "failing"
        failing = [a for a in posted(receiver) if a["type"] == "source_failing"]
        assert sorted(a["source_status"]["name"] for a in failing) == ["flaky", "gone"], failing
        flaky = next(a for a in failing if a["source_status"]["name"] == "flaky")
        assert flaky["source_status"]["consecutive_failures"] == 3
        assert flaky["source_status"]["error_code"] == "http_503"

        site.feed_status = None  # back: success resets everything
        s = run("--force")
        assert (s["flaky"]["state"], s["flaky"]["consecutive_failures"], s["flaky"]["next_attempt"]) == \
            ("ok", 0, None)
        site.feed_status = 500  # a new streak says so again, once, under a new id
        for _ in range(3):
            run("--force", report=False)
    failing = [a for a in posted(receiver) if a["type"] == "source_failing"]
    assert [a["source_status"]["name"] for a in failing].count("flaky") == 2
    assert len({a["id"] for a in failing}) == len(failing) == 3
    assert [a for a in posted(receiver) if a.get("article")], "the good article was alerted in between"


# -- 5. two monitors on one state ----------------------------------------------------------------------


class LineReader:
    """Collects a subprocess's stderr lines in a thread, so a test can wait for one of them."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self.thread.start()

    def _read(self, proc: subprocess.Popen) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self.lines.append(line)

    def wait_for(self, text: str, timeout: float = 60) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return True
            time.sleep(0.05)
        return False

    @property
    def text(self) -> str:
        self.thread.join(5)
        return "".join(self.lines)


def start(cfg: Path, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, LineReader]:
    proc = subprocess.Popen(monitor_cmd(cfg, *args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=env if env is not None else clean_env(), cwd=cfg.parent)
    return proc, LineReader(proc)


def test_two_runs_at_once_lock_wait_or_exit_2(tmp_path: Path, receiver: Receiver) -> None:
    with Site("127.0.0.1", [THAILAND, NUCLEAR]) as site:
        setup = Setup(tmp_path, [Source("orbit-ledger", site.url("/feed.xml"))], webhooks=[(receiver.url(), "")])
        setup.write()
        site.hold["/feed.xml"] = threading.Event()
        site.requested["/feed.xml"] = threading.Event()
        first, first_log = start(setup.config, "run", "--once")
        try:
            assert site.requested["/feed.xml"].wait(120), first_log.text  # the first is mid-cycle, locked
            busy = monitor(setup.config, "run", "--once", env=clean_env(MONITOR_MONITOR__LOCK_WAIT_S="1"))
            assert busy.returncode == 2, busy.stderr
            assert "in use by another monitor" in busy.stderr and "Traceback" not in busy.stderr, busy.stderr
            waiter, waiter_log = start(setup.config, "run", "--once",
                                       env=clean_env(MONITOR_MONITOR__LOCK_WAIT_S="120"))
            assert waiter_log.wait_for("waiting up to 120 s"), waiter_log.text
        finally:
            site.hold["/feed.xml"].set()
        assert first.wait(120) == 0, first_log.text[-2000:]
        assert waiter.wait(120) == 0, waiter_log.text[-2000:]
    ids = [a["id"] for a in posted(receiver)]
    assert len(ids) >= 2 and len(ids) == len(set(ids)), ids  # the second run found nothing left to send
    assert integrity(setup.db) == "ok"


# -- 6. SIGTERM in `monitor run` -------------------------------------------------------------------------

SIGTERM_BOUND_S = 10


def stop_with_sigterm(proc: subprocess.Popen) -> tuple[int, float]:
    start_t = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(SIGTERM_BOUND_S + 20)
    finally:
        if proc.poll() is None:
            proc.kill()
    return code, time.monotonic() - start_t


def test_sigterm_during_a_cycle_exits_0_quickly_and_keeps_committed_work(tmp_path: Path,
                                                                        receiver: Receiver) -> None:
    with Site("127.0.0.1", [THAILAND]) as site:
        setup = Setup(tmp_path, [Source("orbit-ledger", site.url("/feed.xml"))], webhooks=[(receiver.url(), "")])
        setup.write()
        assert monitor(setup.config, "run", "--once").returncode == 0  # committed and delivered
        before = posted(receiver)
        site.articles.append(NUCLEAR)
        path = f"/news/{NUCLEAR.slug}.html"
        site.hold[path], site.requested[path] = threading.Event(), threading.Event()
        proc, log = start(setup.config, "run")
        try:
            assert site.requested[path].wait(120), log.text  # mid-cycle: the new article's page hangs
        finally:
            code, took = stop_with_sigterm(proc)
        assert code == 0, log.text[-2000:]
        assert took < SIGTERM_BOUND_S, f"took {took:.1f} s"
        assert "Traceback" not in log.text and "fetching cancelled" in log.text, log.text[-2000:]
        print(f"SIGTERM during a cycle: exited 0 after {took:.1f} s")
        assert query(setup.db, "SELECT url FROM articles") == [(site.article_url(THAILAND),)]
        assert query(setup.db, "SELECT status FROM runs ORDER BY id DESC LIMIT 1") == [("stopped",)]
        assert integrity(setup.db) == "ok"
        site.hold[path].set()
        assert monitor(setup.config, "run", "--once").returncode == 0  # the interrupted article is not lost
    after = posted(receiver)[len(before):]
    assert [a["article"]["url"] for a in after] == [site.article_url(NUCLEAR)]
    assert [a["id"] for a in before] == [a["id"] for a in posted(receiver)[:1]]


def test_sigterm_between_cycles_exits_0(tmp_path: Path, receiver: Receiver) -> None:
    with Site("127.0.0.1", [THAILAND]) as site:
        setup = Setup(tmp_path, [Source("orbit-ledger", site.url("/feed.xml"))], webhooks=[(receiver.url(), "")])
        setup.write()
        proc, log = start(setup.config, "run")
        try:
            assert log.wait_for("cycle done", 120), log.text
        finally:
            code, took = stop_with_sigterm(proc)
    assert (code, took < SIGTERM_BOUND_S) == (0, True), (took, log.text[-2000:])
    assert len(posted(receiver)) == 1


def test_sigterm_while_a_send_hangs_still_exits_in_time(tmp_path: Path) -> None:
    """A receiver that never answers (30 s timeout) cannot hold `monitor run` past 10 s; the alert stays
    queued and goes out on the next run."""
    with Site("127.0.0.1", [THAILAND]) as site, Blackhole() as hole:
        setup = Setup(tmp_path, [Source("orbit-ledger", site.url("/feed.xml"))], webhooks=[(hole.url(), "")],
                      webhook_timeout_s=30)
        setup.write()
        proc, log = start(setup.config, "run")
        try:
            deadline = time.monotonic() + 120
            while not (setup.db.exists() and _alerts(setup.db)) and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.5)  # the POST is under way
        finally:
            code, took = stop_with_sigterm(proc)
        assert code == 0, log.text[-2000:]
        assert took < SIGTERM_BOUND_S, f"took {took:.1f} s"
        assert "did not finish within" in log.text, log.text[-2000:]  # the grace ran out, as intended
        assert query(setup.db, "SELECT status FROM outbox") == [("pending",)]
        assert integrity(setup.db) == "ok"
        with Receiver() as receiver:
            setup.webhooks = [(receiver.url(), "")]
            setup.write()
            assert monitor(setup.config, "run", "--once").returncode == 0
        assert [a["article"]["url"] for a in posted(receiver)] == [site.article_url(THAILAND)]


def _alerts(db: Path) -> int:
    try:
        return query(db, "SELECT COUNT(*) FROM alerts")[0][0]
    except sqlite3.OperationalError:  # not migrated yet
        return 0


# -- 7. secrets ------------------------------------------------------------------------------------------

WEBHOOK_SECRET = "whsec-Zq81vLx2Nd7pR"
SMTP_PASSWORD = "smtp-Pw-Kx93mQ0zTe"
TOML_PASSWORD = "toml-Pw-Hh27cV5bWq"  # overridden by the *_FILE variable, so never used


class RefusingAuth:
    """aiosmtpd authenticator that records the password it was offered and refuses it (535)."""

    def __init__(self) -> None:
        self.passwords: list[bytes] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):  # aiosmtpd's signature
        from aiosmtpd.smtp import AuthResult, LoginPassword

        if isinstance(auth_data, LoginPassword):
            self.passwords.append(auth_data.password)
        return AuthResult(success=False, handled=False)


class Discard:
    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_secrets_never_appear(tmp_path: Path, receiver: Receiver) -> None:
    from aiosmtpd.controller import Controller

    auth, port = RefusingAuth(), _free_port()
    smtp = Controller(Discard(), hostname="127.0.0.1", port=port, authenticator=auth, auth_require_tls=False)
    smtp.start()
    secret_file = tmp_path / "smtp_password"
    secret_file.write_text(SMTP_PASSWORD + "\n")
    env = clean_env(MONITOR_ALERTS__EMAIL__PASSWORD_FILE=str(secret_file), MONITOR_ALERTS__RETRY_BASE_S="0")
    outputs: list[str] = []
    try:
        with Site("127.0.0.1", [THAILAND]) as site:
            setup = Setup(tmp_path, [Source("orbit-ledger", site.url("/feed.xml"))],
                          webhooks=[(receiver.url(), WEBHOOK_SECRET)], extra=f"""
[alerts.email]
host = "127.0.0.1"
port = {port}
starttls = false
username = "monitor"
password = "{TOML_PASSWORD}"
sender = "monitor@lunarwatch.test"
recipients = ["analyst@lunarwatch.test"]
""")
            setup.write()
            receiver.status = 401  # refused for good: its error is recorded and shown
            verbose = [sys.executable, "-m", "monitor.cli", "-v", "--config", str(setup.config), "run", "--once"]
            run = subprocess.run(verbose, capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path)
            assert run.returncode == 3, run.stderr[-2000:]
            outputs += [run.stdout, run.stderr]
            for args in (("status",), ("status", "--json"), ("config", "--show"), ("alerts", "list", "--json"),
                         ("sources", "list")):
                res = monitor(setup.config, *args, env=env)
                assert res.returncode == 0, (args, res.stderr)
                outputs += [res.stdout, res.stderr]
            # Error messages: a broken setting next to the secrets, and an unreadable secret file.
            for extra in ({"MONITOR_ALERTS__EMAIL__PORT": "not-a-port"},
                          {"MONITOR_ALERTS__EMAIL__PASSWORD_FILE": str(tmp_path / "missing")}):
                res = monitor(setup.config, "run", "--once", env={**env, **extra})
                assert res.returncode == 2 and res.stderr.startswith("Error:"), res.stderr
                outputs += [res.stdout, res.stderr]
    finally:
        smtp.stop()

    assert set(auth.passwords) == {SMTP_PASSWORD.encode()}  # the file's password was the one used
    hook = receiver.requests[0]
    body = hook["body"]
    assert hook["headers"]["X-Monitor-Signature"] == \
        "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    text = "\n".join(outputs)
    assert "535" in text and "http_401" in text  # the errors themselves are shown
    assert "**********" in text  # config --show says a secret is set without showing it
    stored = b"".join(p.read_bytes() for p in (tmp_path / "state").rglob("*") if p.is_file())
    for secret in (WEBHOOK_SECRET, SMTP_PASSWORD, TOML_PASSWORD):
        assert secret not in text, secret
        assert secret.encode() not in stored, secret
        assert base64.b64encode(secret.encode()).decode() not in text


# -- 8. article pages that fail --------------------------------------------------------------------------


def test_transient_page_failure_is_retried_next_cycle(tmp_path: Path, receiver: Receiver) -> None:
    with Site("127.0.0.1", [THAILAND]) as site:
        site.etag = True  # a 304 for the unchanged feed must not hide the entry left to retry
        setup = Setup(tmp_path, [Source("orbit-ledger", site.url("/feed.xml"))], webhooks=[(receiver.url(), "")])
        setup.write()
        page = f"/news/{THAILAND.slug}.html"
        site.page_status[THAILAND.slug] = 503
        for attempt in (1, 2):
            assert monitor(setup.config, "run", "--once").returncode == 0
            assert site.requests.count(page) == attempt
            (failure,) = status(setup.config)["link_failures"]
            assert (failure["code"], failure["outcome"], failure["attempts"]) == ("http_503", "retrying", attempt)
        assert query(setup.db, "SELECT COUNT(*) FROM entries") == [(0,)]
        assert posted(receiver) == []
        del site.page_status[THAILAND.slug]
        assert monitor(setup.config, "run", "--once").returncode == 0
        assert monitor(setup.config, "run", "--once").returncode == 0  # now seen: the 304 is fine
    assert site.requests.count(page) == 3
    assert [a["article"]["url"] for a in posted(receiver)] == [site.article_url(THAILAND)]
    assert status(setup.config)["link_failures"] == []
    assert site.requests.count("/feed.xml") == 4


def test_page_failing_for_good_is_given_up_after_max_attempts(tmp_path: Path) -> None:
    env = clean_env(MONITOR_FETCH__MAX_ARTICLE_ATTEMPTS="2")
    with Site("127.0.0.1", [THAILAND]) as site:
        setup = Setup(tmp_path, [Source("orbit-ledger", site.url("/feed.xml"))])
        setup.write()
        site.page_status[THAILAND.slug] = 500
        for _ in range(3):
            assert monitor(setup.config, "run", "--once", env=env).returncode == 0
    assert site.requests.count(f"/news/{THAILAND.slug}.html") == 2
    (failure,) = status(setup.config)["link_failures"]
    assert (failure["code"], failure["outcome"], failure["attempts"]) == ("http_500", "gave_up", 2)


def test_useless_page_falls_back_to_the_feed_text(tmp_path: Path, faults: FaultServer, receiver: Receiver) -> None:
    """An HTML page with no article, or binary served as text/html: the feed entry's own text is judged."""
    nuclear = link_article(faults, "/no-article", " ".join(NUCLEAR.paragraphs[:2]))
    nuclear.title = NUCLEAR.title
    thai = link_article(faults, "/binary", " ".join(THAILAND.paragraphs[:2]))
    thai.title = THAILAND.title
    with Site("127.0.0.2", [nuclear, thai]) as site:
        setup = Setup(tmp_path, [Source("orbit-ledger", site.url("/feed.xml"))], webhooks=[(receiver.url(), "")])
        setup.write()
        assert monitor(setup.config, "run", "--once").returncode == 0
    alerts = {a["article"]["url"]: a for a in posted(receiver)}
    assert set(alerts) == {faults.url("/no-article"), faults.url("/binary")}, list(alerts)
    assert alerts[faults.url("/binary")]["article"]["title"] == THAILAND.title
    assert any("GISTDA" in f["evidence"] for f in alerts[faults.url("/binary")]["findings"])
    outcomes = {f["url"]: (f["code"], f["outcome"]) for f in status(setup.config)["link_failures"]}
    assert outcomes == {faults.url("/no-article"): ("no_article", "feed_text"),
                        faults.url("/binary"): ("not_html", "feed_text")}
