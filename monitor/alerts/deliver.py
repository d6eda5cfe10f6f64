"""Deliver what the outbox holds: instant channels per alert, digest channels when their slot comes.

Every send is followed by its own small transaction, so an acknowledged alert is never sent again
and an unacknowledged one is retried with backoff (same id), across cycles and restarts.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from monitor.alerts import render
from monitor.alerts.apprise_channel import send_apprise
from monitor.alerts.digest import digest_due
from monitor.alerts.email import make_message_id, send_email
from monitor.alerts.webhook import deliver_webhook, encode_payload
from monitor.config import AlertsSection, DeliveryMode
from monitor.errors import DeliveryError
from monitor.faults import fault_point
from monitor.store import outbox
from monitor.store.db import transaction

log = logging.getLogger(__name__)


@dataclass
class DeliveryStats:
    delivered: int = 0
    failed: int = 0
    permanent: int = 0


def channels(alerts: AlertsSection) -> dict[str, DeliveryMode]:
    """Every configured channel with its delivery mode, by a stable name."""
    out: dict[str, DeliveryMode] = {f"webhook:{i}": w for i, w in enumerate(alerts.webhooks)}
    if alerts.email:
        out["email"] = alerts.email
    if alerts.apprise:
        out["apprise"] = alerts.apprise_mode
    return out


def digest_channels(alerts: AlertsSection) -> frozenset[str]:
    return frozenset(name for name, mode in channels(alerts).items() if mode.mode == "digest")


def deliver_due(conn: sqlite3.Connection, alerts: AlertsSection, now: datetime | None = None,
                stop: threading.Event | None = None) -> DeliveryStats:
    """Send every pending delivery whose time has come, then any digest that is due.

    `stop` (SIGTERM in `monitor run`) ends the loop between sends: what is left stays pending in the
    outbox and goes out on the next run, so stopping quickly loses nothing.
    """
    now = now or datetime.now(UTC)
    stats = DeliveryStats()
    with httpx.Client() as client:
        for d in outbox.due(conn, now):
            if stop is not None and stop.is_set():
                log.info("stop requested: remaining deliveries stay queued for the next run")
                return stats
            _attempt(conn, alerts, d.row_id, d.attempts, d.channel, lambda d=d: _send(alerts, d, client), stats)
    for name in digest_channels(alerts):
        if stop is not None and stop.is_set():
            break
        _send_digest(conn, alerts, name, now, stats)
    return stats


def _attempt(conn, alerts: AlertsSection, row_id: int, attempts: int, channel: str, send, stats) -> None:
    fault_point("before_send")
    try:
        send()
    except DeliveryError as e:
        permanent = e.permanent or attempts + 1 >= alerts.max_attempts
        delay = e.retry_after if e.retry_after is not None else _backoff(alerts, attempts)
        with transaction(conn):
            outbox.mark_failed(conn, row_id, f"{e.code}: {e}", permanent, delay)
        stats.failed += 1
        stats.permanent += permanent
        log.warning("delivery on %s failed (%s%s): %s", channel, e.code, ", permanent" if permanent else "", e)
        return
    fault_point("after_send")  # sent but not yet marked: a restart sends it again, same id
    with transaction(conn):
        outbox.mark_delivered(conn, [row_id])
    stats.delivered += 1


def _backoff(alerts: AlertsSection, attempts: int) -> float:
    base = alerts.retry_base_s * (2 ** min(attempts, 12))
    return min(alerts.retry_max_s, base) * random.uniform(0.9, 1.1)


def _send(alerts: AlertsSection, d: outbox.Delivery, client: httpx.Client) -> None:
    payload = d.payload
    if d.channel.startswith("webhook:"):
        cfg = alerts.webhooks[int(d.channel.split(":")[1])]
        deliver_webhook(cfg, encode_payload(payload), d.alert_id, client)
    elif d.channel == "email" and alerts.email:
        send_email(alerts.email, render.email_subject(payload), render.email_text(payload),
                   render.email_html(payload), make_message_id(d.alert_id))
    elif d.channel == "apprise":
        title, body = render.compact_text(payload)
        send_apprise([u.get_secret_value() for u in alerts.apprise], title, body)
    else:
        raise DeliveryError(f"channel {d.channel} is no longer configured", "channel_removed", permanent=True)


def _send_digest(conn: sqlite3.Connection, alerts: AlertsSection, channel: str, now: datetime,
                 stats: DeliveryStats) -> None:
    mode = channels(alerts)[channel]
    pending = outbox.digest_pending(conn, channel)
    if not pending or not digest_due(mode, outbox.last_digest(conn, channel), now):
        return
    payloads = [d.payload for d in pending]
    try:
        _send_digest_payloads(alerts, channel, payloads, pending[0].alert_id)
    except DeliveryError as e:
        stats.failed += 1
        log.warning("digest on %s failed (%s): %s", channel, e.code, e)
        return
    with transaction(conn):
        outbox.mark_delivered(conn, [d.row_id for d in pending])
        outbox.set_last_digest(conn, channel, now)
    stats.delivered += len(pending)


def _send_digest_payloads(alerts: AlertsSection, channel: str, payloads: list[dict], first_id: str) -> None:
    if channel.startswith("webhook:"):
        cfg = alerts.webhooks[int(channel.split(":")[1])]
        with httpx.Client() as client:
            for p in payloads:  # a webhook consumer expects one alert per POST, digest or not
                deliver_webhook(cfg, encode_payload(p), p["id"], client)
    elif channel == "email" and alerts.email:
        send_email(alerts.email, render.digest_subject(payloads), render.digest_text(payloads),
                   render.digest_html(payloads), make_message_id("digest-" + first_id))
    elif channel == "apprise":
        send_apprise([u.get_secret_value() for u in alerts.apprise], render.digest_subject(payloads),
                     render.digest_text(payloads)[:4000])
