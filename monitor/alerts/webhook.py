"""Webhook delivery (CONTRACT v1): one signed JSON POST per alert, errors classified for the outbox.

The outbox retries transient failures (network, timeouts, 408/429/5xx) with backoff and drops
permanent ones (other 4xx, redirects, bad URLs) after recording them; `DeliveryError` carries
that decision plus the receiver's Retry-After. Error messages name the host only, because
webhook URLs often embed tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from monitor import __version__
from monitor.config import WebhookConfig
from monitor.errors import DeliveryError

SIGNATURE_HEADER = "X-Monitor-Signature"
ALERT_ID_HEADER = "X-Monitor-Alert-Id"
USER_AGENT = f"lunarwatch/{__version__}"
MAX_RETRY_AFTER_S = 7 * 24 * 3600.0


def encode_payload(payload: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON with sorted keys, so the same alert always yields the same bytes and signature."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def sign(secret: str, body: bytes) -> str:
    """The X-Monitor-Signature value: 'sha256=' + hex HMAC-SHA256 of the exact body bytes."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent/invalid."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(delta, 0.0), MAX_RETRY_AFTER_S)


def _host(url: str) -> str:
    """scheme://host[:port] of the URL: enough to identify the receiver, no path/query tokens."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}" if parts.netloc else "(invalid URL)"
    except ValueError:
        return "(invalid URL)"


def _headers(cfg: WebhookConfig, body: bytes, alert_id: str) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
               ALERT_ID_HEADER: alert_id, "Accept": "*/*"}
    secret = cfg.secret.get_secret_value()
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, body)
    return headers


def _classify(status: int, retry_after: str | None, where: str) -> DeliveryError | None:
    """None for 2xx, else the DeliveryError the outbox should act on."""
    if 200 <= status < 300:
        return None
    code = f"http_{status}"
    if status in (408, 429) or status >= 500:
        return DeliveryError(f"webhook {where} answered HTTP {status}; will retry", code,
                             permanent=False, retry_after=parse_retry_after(retry_after))
    if 300 <= status < 400:
        return DeliveryError(f"webhook {where} redirected (HTTP {status}); redirects are not followed, "
                             "configure the final URL", code, permanent=True)
    return DeliveryError(f"webhook {where} rejected the alert with HTTP {status}", code, permanent=True)


def _post(client: httpx.Client, cfg: WebhookConfig, body: bytes, alert_id: str) -> None:
    where = _host(cfg.url)
    try:
        # stream: the receiver's response body is never read, whatever its size.
        with client.stream("POST", cfg.url, content=body, headers=_headers(cfg, body, alert_id),
                           timeout=cfg.timeout_s, follow_redirects=False) as resp:
            error = _classify(resp.status_code, resp.headers.get("Retry-After"), where)
    except httpx.UnsupportedProtocol as e:
        raise DeliveryError(f"webhook URL {where} is not http(s)", "bad_url", permanent=True) from e
    except httpx.InvalidURL as e:
        raise DeliveryError("webhook URL is invalid", "bad_url", permanent=True) from e
    except httpx.TimeoutException as e:
        raise DeliveryError(f"webhook {where} timed out after {cfg.timeout_s:g}s", "timeout") from e
    except httpx.TransportError as e:
        raise DeliveryError(f"webhook {where} unreachable: {type(e).__name__}", "network") from e
    if error is not None:
        raise error


def deliver_webhook(cfg: WebhookConfig, body: bytes, alert_id: str,
                    client: httpx.Client | None = None) -> None:
    """POST the encoded payload; return on 2xx, raise DeliveryError otherwise.

    The body is sent exactly as given so that the signature covers the bytes the receiver gets;
    pass the same bytes (from `encode_payload`) on every redelivery.
    """
    if client is not None:
        _post(client, cfg, body, alert_id)
        return
    with httpx.Client() as own:
        _post(own, cfg, body, alert_id)
