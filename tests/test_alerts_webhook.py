"""Webhook delivery against a real HTTP receiver on 127.0.0.1, plus respx for network failures."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import httpx
import pytest
import respx

from monitor import __version__
from monitor.alerts.webhook import deliver_webhook, encode_payload, parse_retry_after
from monitor.config import WebhookConfig
from monitor.errors import DeliveryError
from tests import alert_samples as s

SECRET = "s3cret-for-tests"


@pytest.fixture
def receiver():
    with s.Receiver() as r:
        yield r


def test_signed_post_is_received_intact(receiver):
    payload = s.contradiction()
    body = encode_payload(payload)
    deliver_webhook(WebhookConfig(url=receiver.url(), secret=SECRET), body, payload["id"])
    assert len(receiver.requests) == 1
    got = receiver.requests[0]
    headers = {k.lower(): v for k, v in got["headers"].items()}
    assert got["body"] == body
    expected = "sha256=" + hmac.new(SECRET.encode(), got["body"], hashlib.sha256).hexdigest()
    assert headers["x-monitor-signature"] == expected
    assert headers["x-monitor-alert-id"] == payload["id"]
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == f"lunarwatch/{__version__}"
    assert json.loads(got["body"]) == payload


def test_redelivery_carries_same_id_and_signature(receiver):
    payload = s.new_development()
    cfg = WebhookConfig(url=receiver.url(), secret=SECRET)
    for _ in range(2):
        deliver_webhook(cfg, encode_payload(payload), payload["id"])
    first, second = ({k.lower(): v for k, v in r["headers"].items()} for r in receiver.requests)
    assert first["x-monitor-alert-id"] == second["x-monitor-alert-id"] == payload["id"]
    assert first["x-monitor-signature"] == second["x-monitor-signature"]


def test_no_secret_no_signature(receiver):
    deliver_webhook(WebhookConfig(url=receiver.url()), b"{}", "a-1")
    assert "x-monitor-signature" not in {k.lower() for k in receiver.requests[0]["headers"]}


def test_shared_client_is_used(receiver):
    with httpx.Client() as client:
        deliver_webhook(WebhookConfig(url=receiver.url("/shared")), b"{}", "a-2", client=client)
    assert receiver.requests[0]["path"] == "/shared"


def test_server_error_is_transient(receiver):
    receiver.status = 500
    with pytest.raises(DeliveryError) as ei:
        deliver_webhook(WebhookConfig(url=receiver.url()), b"{}", "a-3")
    assert ei.value.permanent is False and ei.value.code == "http_500"


@pytest.mark.parametrize("status", [400, 404, 410])
def test_client_errors_are_permanent(receiver, status):
    receiver.status = status
    with pytest.raises(DeliveryError) as ei:
        deliver_webhook(WebhookConfig(url=receiver.url()), b"{}", "a-4")
    assert ei.value.permanent is True and ei.value.code == f"http_{status}"


def test_429_with_retry_after(receiver):
    receiver.status, receiver.headers = 429, {"Retry-After": "120"}
    with pytest.raises(DeliveryError) as ei:
        deliver_webhook(WebhookConfig(url=receiver.url()), b"{}", "a-5")
    assert ei.value.permanent is False and ei.value.retry_after == 120.0 and ei.value.code == "http_429"


def test_408_is_transient_and_redirect_is_permanent(receiver):
    receiver.status = 408
    with pytest.raises(DeliveryError) as ei:
        deliver_webhook(WebhookConfig(url=receiver.url()), b"{}", "a-6")
    assert ei.value.permanent is False
    receiver.status, receiver.headers = 302, {"Location": "http://127.0.0.1:9/elsewhere"}
    with pytest.raises(DeliveryError) as ei:
        deliver_webhook(WebhookConfig(url=receiver.url()), b"{}", "a-6")
    assert ei.value.permanent is True and len(receiver.requests) == 2  # the redirect was not followed


def test_parse_retry_after_forms():
    now = datetime(2015, 10, 21, 7, 27, tzinfo=UTC)
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 60.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_error_message_hides_url_path_and_token():
    url = "https://hooks.example.org/services/T0KEN-SECRET"
    with respx.mock:
        respx.post(url).mock(return_value=httpx.Response(403))
        with pytest.raises(DeliveryError) as ei:
            deliver_webhook(WebhookConfig(url=url), b"{}", "a-7")
    assert "T0KEN-SECRET" not in str(ei.value) and "hooks.example.org" in str(ei.value)
    assert ei.value.permanent is True


@pytest.mark.parametrize(("exc", "code"), [(httpx.ConnectTimeout("t"), "timeout"),
                                           (httpx.ReadTimeout("t"), "timeout"),
                                           (httpx.ConnectError("refused"), "network"),
                                           (httpx.RemoteProtocolError("eof"), "network")])
def test_network_failures_are_transient(exc, code):
    url = "https://hooks.example.org/monitor"
    with respx.mock:
        route = respx.post(url).mock(side_effect=exc)
        with pytest.raises(DeliveryError) as ei:
            deliver_webhook(WebhookConfig(url=url, timeout_s=1.5), b"{}", "a-8")
        assert route.called
    assert ei.value.permanent is False and ei.value.code == code and ei.value.retry_after is None


def test_respx_sees_signature_of_exact_body():
    url = "https://hooks.example.org/monitor"
    body = encode_payload(s.update())
    with respx.mock:
        route = respx.post(url).mock(return_value=httpx.Response(204))
        deliver_webhook(WebhookConfig(url=url, secret=SECRET), body, "a-9")
    request = route.calls.last.request
    assert request.content == body
    assert request.headers["X-Monitor-Signature"] == (
        "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest())


def test_encode_payload_is_stable_compact_utf8():
    a = {"b": 1, "a": {"y": "ILRS (Russia–China)", "x": [1, 2]}}
    b = {"a": {"x": [1, 2], "y": "ILRS (Russia–China)"}, "b": 1}
    assert encode_payload(a) == encode_payload(b)
    raw = encode_payload(a)
    assert "–".encode() in raw and b"\\u2013" not in raw
    assert b": " not in raw and b", " not in raw
    assert raw.startswith(b'{"a":')
    with pytest.raises(ValueError):
        encode_payload({"x": float("nan")})
