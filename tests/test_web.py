"""The optional web endpoint against a real server on 127.0.0.1, over a state made by a real cycle
(the CLI's `run --once` on a local feed): /healthz, Prometheus /metrics, /alerts.atom; and `monitor
run` serving it while it runs and closing it on SIGTERM."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import datetime

import feedparser
import httpx
import pytest

from monitor.config import load_settings
from monitor.errors import MonitorError
from monitor.store.db import open_state
from monitor.web import Metric, WebServer, exposition, open_readonly, serving
from tests.alert_samples import Receiver
from tests.ops_kit import BROKEN_SOURCE, NEW_PARTNER, OFF_TOPIC, Site, run_cli, write_config

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')
METRIC_NAMES = {
    "lunarwatch_cycles_total", "lunarwatch_articles_processed_total", "lunarwatch_knowledge_claims",
    "lunarwatch_alerts_total", "lunarwatch_source_errors", "lunarwatch_source_fetch_failures_total",
    "lunarwatch_outbox_deliveries", "lunarwatch_last_cycle_duration_seconds",
    "lunarwatch_last_cycle_finished_timestamp_seconds", "lunarwatch_last_cycle_stat", "lunarwatch_sources",
}


def parse_labels(text: str) -> dict[str, str]:
    """`a="x",b="y\\"z"` -> {"a": "x", "b": 'y"z'}; fails the test on anything malformed."""
    out, pos = {}, 0
    while pos < len(text):
        m = LABEL.match(text, pos)
        assert m, f"malformed labels at {text[pos:]!r}"
        out[m.group(1)] = re.sub(r"\\(.)", lambda e: "\n" if e.group(1) == "n" else e.group(1), m.group(2))
        pos = m.end()
    return out


def parse_exposition(text: str) -> dict[tuple[str, frozenset], float]:
    """Every line is HELP, TYPE or `name{labels} value`; a family's TYPE comes before its samples."""
    typed: set[str] = set()
    samples: dict[tuple[str, frozenset], float] = {}
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# HELP "):
            assert len(line.split(" ", 3)) == 4, line
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in {"counter", "gauge"}, line
            typed.add(name)
        else:
            m = SAMPLE.match(line)
            assert m, f"not a sample line: {line!r}"
            assert m.group(1) in typed, f"{m.group(1)} has no TYPE line before it"
            key = (m.group(1), frozenset(parse_labels(m.group(3) or "").items()))
            assert key not in samples, f"duplicate sample {line!r}"
            samples[key] = float(m.group(4))
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http() -> httpx.Client:
    return httpx.Client(trust_env=False, timeout=30)  # no proxy from the environment: 127.0.0.1 only


@pytest.fixture(scope="module")
def cycled(tmp_path_factory):
    """A state after one real cycle: one alert delivered to a webhook, one source failing with a 404."""
    folder = tmp_path_factory.mktemp("web")
    with Site([NEW_PARTNER, OFF_TOPIC]) as site, Receiver() as receiver:
        cfg = write_config(folder, site, receiver.url(), broken=True)
        result = run_cli(cfg, "run", "--once")
        assert result.exit_code == 0, result.output
        assert len(receiver.requests) == 1
        yield load_settings(cfg), site


@pytest.fixture
def server(cycled):
    settings, _ = cycled
    with WebServer(settings, "127.0.0.1", 0) as srv:
        yield srv


def test_healthz_is_200_after_a_cycle(server):
    with http() as c:
        r = c.get(f"{server.url}/healthz")
    assert r.status_code == 200
    assert r.text.startswith("healthy:")


def test_healthz_is_503_before_any_cycle_and_when_the_last_is_stale(tmp_path, cycled):
    settings = cycled[0].model_copy(deep=True)
    settings.monitor.state_dir = tmp_path / "state"
    open_state(settings.monitor.state_dir).close()
    with WebServer(settings, "127.0.0.1", 0) as srv, http() as c:
        first = c.get(f"{srv.url}/healthz")
        conn = open_state(settings.monitor.state_dir)
        conn.execute("INSERT INTO runs(started_at, finished_at, status, stats) VALUES "
                     "('2020-01-01T00:00:00Z', '2020-01-01T00:01:00Z', 'ok', '{}')")
        conn.close()
        stale = c.get(f"{srv.url}/healthz")
    assert first.status_code == 503 and "no cycle has completed" in first.text
    assert stale.status_code == 503 and "ago" in stale.text


def test_metrics_parse_and_carry_the_state(server, cycled):
    settings, _ = cycled
    with http() as c:
        r = c.get(f"{server.url}/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = parse_exposition(r.text)
    names = {name for name, _ in samples}
    assert not METRIC_NAMES - names, METRIC_NAMES - names
    assert value(samples, "lunarwatch_cycles_total", status="ok") == 1
    assert value(samples, "lunarwatch_articles_processed_total") == 2
    assert value(samples, "lunarwatch_alerts_total", type="new_development") == 1
    assert value(samples, "lunarwatch_alerts_total", type="contradiction") == 0
    assert value(samples, "lunarwatch_outbox_deliveries", status="delivered") == 1
    assert value(samples, "lunarwatch_outbox_deliveries", status="pending") == 0
    assert value(samples, "lunarwatch_source_errors", source=BROKEN_SOURCE, code="http_404") == 1
    assert value(samples, "lunarwatch_source_fetch_failures_total") == 1
    assert value(samples, "lunarwatch_last_cycle_stat", stat="articles") == 2
    assert value(samples, "lunarwatch_sources") == 2
    with sqlite3.connect(settings.monitor.state_dir / "monitor.db") as db:
        seed, article = (db.execute("SELECT COUNT(*) FROM claims WHERE origin = ?", (o,)).fetchone()[0]
                         for o in ("seed", "article"))
        started, finished = db.execute("SELECT started_at, finished_at FROM runs").fetchone()
    assert value(samples, "lunarwatch_knowledge_claims", origin="seed") == seed > 0
    assert value(samples, "lunarwatch_knowledge_claims", origin="article") == article > 0
    ts = [datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() for t in (started, finished)]
    assert value(samples, "lunarwatch_last_cycle_finished_timestamp_seconds") == pytest.approx(ts[1])
    assert value(samples, "lunarwatch_last_cycle_duration_seconds") == pytest.approx(ts[1] - ts[0])


def test_label_values_are_escaped():
    text = exposition([Metric("m", "gauge", "x", [({"source": 'a"b\\c\nd'}, 1.5), ({}, 2.0)])])
    samples = parse_exposition(text)
    assert value(samples, "m", source='a"b\\c\nd') == 1.5
    assert value(samples, "m") == 2


def test_alerts_atom_parses_with_feedparser(server, cycled):
    settings, site = cycled
    listed = run_cli(settings.config_path, "alerts", "list", "--json")
    alert_id = json.loads(listed.stdout)[0]["id"]
    with http() as c:
        r = c.get(f"{server.url}/alerts.atom")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(r.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert len(feed.entries) == 1
    entry = feed.entries[0]
    assert entry.id.endswith(alert_id)
    assert entry.link == site.url(f"/news/{NEW_PARTNER.slug}.html")
    assert "Uruguay" in entry.title


def test_unknown_path_is_404_and_head_has_no_body(server):
    with http() as c:
        missing = c.get(f"{server.url}/admin")
        head = c.head(f"{server.url}/metrics")
    assert missing.status_code == 404
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) > 0


def test_without_a_state_metrics_and_feed_are_503_and_nothing_is_created(tmp_path, cycled):
    settings = cycled[0].model_copy(deep=True)
    settings.monitor.state_dir = tmp_path / "nothing-here"
    with WebServer(settings, "127.0.0.1", 0) as srv, http() as c:
        codes = [c.get(f"{srv.url}{p}").status_code for p in ("/metrics", "/alerts.atom")]
    assert codes == [503, 503]
    assert not (settings.monitor.state_dir / "monitor.db").exists()


def test_the_connection_is_read_only(cycled):
    conn = open_readonly(cycled[0])
    try:
        with pytest.raises(sqlite3.OperationalError):
            conn.execute("DELETE FROM alerts")
    finally:
        conn.close()


def test_off_by_default_and_a_taken_port_is_an_expected_error(cycled):
    settings = cycled[0].model_copy(deep=True)
    assert settings.web.port is None
    with serving(settings) as srv:
        assert srv is None
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(MonitorError, match="web: cannot listen"):
            WebServer(settings, "127.0.0.1", taken.getsockname()[1]).start()


def test_monitor_run_serves_while_running_and_closes_on_sigterm(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    with Site([NEW_PARTNER]) as site:
        cfg = write_config(tmp_path, site, web_port=port)
        proc = subprocess.Popen([sys.executable, "-m", "monitor.cli", "--config", str(cfg), "run"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            health = _wait_healthy(f"http://127.0.0.1:{port}/healthz", proc)
            with http() as c:
                samples = parse_exposition(c.get(f"http://127.0.0.1:{port}/metrics").text)
                feed = feedparser.parse(c.get(f"http://127.0.0.1:{port}/alerts.atom").content)
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert health.status_code == 200, err
    assert value(samples, "lunarwatch_cycles_total", status="ok") >= 1
    assert len(feed.entries) == 1
    assert proc.returncode == 0, err
    assert f"web endpoint on http://127.0.0.1:{port}" in err
    with socket.socket() as s, pytest.raises(ConnectionRefusedError):
        s.connect(("127.0.0.1", port))


def test_monitor_run_exits_2_when_the_port_is_taken(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    with socket.socket() as taken, Site([]) as site:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        cfg = write_config(tmp_path, site, web_port=taken.getsockname()[1])
        done = subprocess.run([sys.executable, "-m", "monitor.cli", "--config", str(cfg), "run"],
                              capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith("Error: web: cannot listen on 127.0.0.1:")
    assert "Traceback" not in done.stderr


# -- helpers -------------------------------------------------------------------------------------------


def _wait_healthy(url: str, proc: subprocess.Popen, limit_s: float = 180) -> httpx.Response:
    """Poll /healthz until the first cycle has finished (200), the process died, or the limit passed."""
    deadline = time.monotonic() + limit_s
    last: httpx.Response | None = None
    with http() as c:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                last = c.get(url)
            except httpx.TransportError:
                last = None
            if last is not None and last.status_code == 200:
                return last
            time.sleep(0.2)
    pytest.fail(f"no healthy answer from {url} (last: {last and last.status_code}, exit: {proc.poll()})")
