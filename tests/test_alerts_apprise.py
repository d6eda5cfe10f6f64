"""Apprise delivery through its json:// plugin to a real receiver on 127.0.0.1."""

from __future__ import annotations

import json
import logging

import pytest

from monitor.alerts import render
from monitor.alerts.apprise_channel import send_apprise
from monitor.errors import DeliveryError
from tests import alert_samples as s


@pytest.fixture
def receiver():
    with s.Receiver() as r:
        yield r


def test_compact_alert_reaches_the_service(receiver):
    title, body = render.compact_text(s.contradiction())
    send_apprise([f"json://127.0.0.1:{receiver.port}/notify"], title, body)
    assert len(receiver.requests) == 1
    sent = json.loads(receiver.requests[0]["body"])
    assert sent["title"] == title and sent["message"] == body
    assert "Known: GLEX 2021 was held in St. Petersburg, Russia" in sent["message"]


def test_service_failure_is_transient_and_logs_no_url(receiver, caplog):
    receiver.status = 500
    url = f"json://127.0.0.1:{receiver.port}/hook-Tok3nS3cr3tValue"
    with caplog.at_level(logging.DEBUG), pytest.raises(DeliveryError) as ei:
        send_apprise([url], "t", "b")
    assert ei.value.permanent is False and ei.value.code == "apprise_failed"
    assert len(receiver.requests) == 1
    assert "Tok3nS3cr3tValue" not in str(ei.value)
    assert "Tok3nS3cr3tValue" not in caplog.text


def test_unparseable_url_is_permanent_and_not_logged(caplog):
    with caplog.at_level(logging.DEBUG), pytest.raises(DeliveryError) as ei:
        send_apprise(["nosuchservice://Tok3nS3cr3tValue/abc"], "t", "b")
    assert ei.value.permanent is True
    assert "Tok3nS3cr3tValue" not in caplog.text and "Tok3nS3cr3tValue" not in str(ei.value)


def test_no_urls_is_a_no_op():
    send_apprise([], "t", "b")  # must not raise: apprise not configured
