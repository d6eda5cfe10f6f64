"""Operator commands on a real state (one cycle on a local feed, a real webhook receiver):
`sources list/test/reset` and `alerts list/redeliver`."""

from __future__ import annotations

import json

import pytest

from tests.alert_samples import Receiver
from tests.ops_kit import (
    BROKEN_SOURCE,
    FEED_SOURCE,
    NEW_PARTNER,
    OFF_TOPIC,
    Site,
    run_cli,
    status_json,
    write_config,
)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A cycle has run: one alert sent to the receiver, the broken source failed once."""
    with Site([NEW_PARTNER, OFF_TOPIC]) as site, Receiver() as receiver:
        cfg = write_config(tmp_path_factory.mktemp("ops"), site, receiver.url(), broken=True)
        first = run_cli(cfg, "run", "--once")
        assert first.exit_code == 0, first.output
        yield cfg, site, receiver


def source(cfg, name: str) -> dict:
    return next(s for s in status_json(cfg)["sources"] if s["name"] == name)


def alert_ids(cfg) -> list[str]:
    listed = run_cli(cfg, "alerts", "list", "--json")
    assert listed.exit_code == 0, listed.output
    return [a["id"] for a in json.loads(listed.stdout)]


# -- alerts --------------------------------------------------------------------------------------------


def test_alerts_list_shows_the_alert_of_the_cycle(setup):
    cfg, site, receiver = setup
    listed = json.loads(run_cli(cfg, "alerts", "list", "--json").stdout)
    assert [a["type"] for a in listed] == ["new_development"]
    assert listed[0]["article"]["url"] == site.url(f"/news/{NEW_PARTNER.slug}.html")
    assert listed[0]["id"] == receiver.requests[0]["headers"]["X-Monitor-Alert-Id"]
    text = run_cli(cfg, "alerts", "list")
    assert text.exit_code == 0
    assert listed[0]["id"] in text.stdout and "new_development" in text.stdout
    assert json.loads(run_cli(cfg, "alerts", "list", "--limit", "0", "--json").stdout) == []


def test_redeliver_sends_the_same_alert_again_with_the_same_id(setup):
    cfg, _, receiver = setup
    (alert_id,) = alert_ids(cfg)
    before = len(receiver.requests)
    result = run_cli(cfg, "alerts", "redeliver", alert_id)
    assert result.exit_code == 0, result.output
    assert f"Redelivered {alert_id}: 1 sent, 0 failed." in result.stdout
    assert len(receiver.requests) == before + 1
    first, again = receiver.requests[0], receiver.requests[-1]
    assert again["headers"]["X-Monitor-Alert-Id"] == alert_id
    assert json.loads(again["body"])["id"] == alert_id
    assert again["body"] == first["body"]  # byte for byte: receivers can deduplicate


def test_redeliver_reports_a_failing_channel_with_exit_3(setup):
    cfg, _, receiver = setup
    (alert_id,) = alert_ids(cfg)
    receiver.status = 503
    try:
        failed = run_cli(cfg, "alerts", "redeliver", alert_id)
    finally:
        receiver.status = 200
    assert failed.exit_code == 3
    assert "0 sent, 1 failed" in failed.stdout
    assert status_json(cfg)["alerts"]["deliveries"].get("pending") == 1  # kept for a retry
    again = run_cli(cfg, "alerts", "redeliver", alert_id)
    assert again.exit_code == 0
    assert status_json(cfg)["alerts"]["deliveries"] == {"delivered": 1}


def test_redeliver_of_an_unknown_id_is_an_error(setup):
    cfg, _, receiver = setup
    before = len(receiver.requests)
    result = run_cli(cfg, "alerts", "redeliver", "lw-000000000000000000000000")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: no alert with id 'lw-000000000000000000000000'")
    assert len(receiver.requests) == before


# -- sources -------------------------------------------------------------------------------------------


def test_sources_list_names_every_configured_source(setup):
    cfg, site, _ = setup
    out = run_cli(cfg, "sources", "list").stdout.splitlines()
    assert len(out) == 2
    assert any(line.startswith(FEED_SOURCE) and site.url("/feed.xml") in line for line in out)
    assert any(line.startswith(BROKEN_SOURCE) and site.url("/gone.xml") in line for line in out)


def test_sources_test_fetches_now_and_stores_nothing(setup):
    cfg, _, _ = setup
    seen = source(cfg, FEED_SOURCE)["items_seen"]
    result = run_cli(cfg, "sources", "test", FEED_SOURCE)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("200 ")
    assert NEW_PARTNER.title in result.stdout and OFF_TOPIC.title in result.stdout
    assert "2024-10-02" in result.stdout  # entry dates from the feed
    assert source(cfg, FEED_SOURCE)["items_seen"] == seen


def test_sources_test_of_a_failing_source_says_why(setup):
    cfg, _, _ = setup
    result = run_cli(cfg, "sources", "test", BROKEN_SOURCE)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and "404" in result.stderr
    assert "Traceback" not in result.output


def test_sources_reset_clears_errors_and_backoff(setup):
    cfg, _, _ = setup
    second = run_cli(cfg, "run", "--once")  # a second failure in a row also schedules a backoff
    assert second.exit_code == 0, second.output
    broken = source(cfg, BROKEN_SOURCE)
    assert broken["consecutive_failures"] == 2
    assert broken["last_error"] == "http_404"
    assert broken["next_attempt"] is not None
    assert broken["state"] != "ok"
    result = run_cli(cfg, "sources", "reset", BROKEN_SOURCE)
    assert result.exit_code == 0, result.output
    assert f"Reset errors of {BROKEN_SOURCE}." in result.stdout
    broken = source(cfg, BROKEN_SOURCE)
    assert (broken["consecutive_failures"], broken["last_error"], broken["next_attempt"], broken["state"]) \
        == (0, None, None, "ok")
    assert source(cfg, FEED_SOURCE)["consecutive_failures"] == 0


@pytest.mark.parametrize("command", ["test", "reset"])
def test_an_unknown_source_is_an_error(setup, command):
    cfg, _, _ = setup
    result = run_cli(cfg, "sources", command, "no-such-source")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: no source named 'no-such-source'")
