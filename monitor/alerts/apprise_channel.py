"""Chat/push delivery through Apprise (Slack, ntfy, Matrix, Telegram, ...), as plain text.

Apprise URLs embed tokens, so nothing here logs or raises with a URL in it: errors name the
position of the URL in the configured list and the service's name only. Apprise itself logs
an unparseable URL verbatim, so its log records are filtered too (see `_Redactor`).
"""

from __future__ import annotations

import logging
import re
import threading

import apprise

from monitor.errors import DeliveryError

log = logging.getLogger(__name__)


class _Redactor(logging.Filter):
    """Withholds any apprise/urllib3 log record containing a configured URL or a token-like part of one."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def remember(self, url: str) -> None:
        parts = {p for p in re.split(r"[/:@?&=#]+", url) if len(p) >= 8}
        with self._lock:
            self._secrets |= parts | {url}

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if any(secret in text for secret in self._secrets):
            record.msg, record.args = "log line withheld: it contained a configured Apprise URL", ()
        return True


_REDACTOR = _Redactor()
for _name in ("apprise", "urllib3.connectionpool"):  # urllib3 (under requests) logs request paths at DEBUG
    logging.getLogger(_name).addFilter(_REDACTOR)


def _service_name(obj: object) -> str:
    """'Slack', 'ntfy', ...: the plugin's human name, never its URL."""
    return str(getattr(obj, "name", None) or getattr(obj, "service_name", None) or "service")


def _build(urls: list[str]) -> apprise.Apprise:
    """An Apprise instance holding every URL; a URL Apprise cannot load is a config error."""
    ap = apprise.Apprise()
    for url in urls:
        _REDACTOR.remember(url)
    for i, url in enumerate(urls, 1):
        if not ap.add(url):
            raise DeliveryError(f"apprise URL #{i} is not a valid Apprise URL (check alerts.apprise)",
                                "apprise_bad_url", permanent=True)
    return ap


def send_apprise(urls: list[str], title: str, body: str) -> None:
    """Notify every URL; raise DeliveryError(permanent=False) unless Apprise reports full success.

    Plain text body format: Apprise escapes it for services with markup (Slack's <, >, & become
    entities), so feed-derived text cannot ping channels or inject links.
    """
    if not urls:
        return
    ap = _build(urls)
    result = ap.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT)
    if result:
        return
    failed = [_service_name(r) for r in getattr(result, "results", ()) if not r]
    names = f" ({', '.join(sorted(set(failed)))})" if failed else ""
    count = len(failed) or len(urls)
    log.warning("apprise notification failed for %d of %d service(s)%s", count, len(urls), names)
    raise DeliveryError(f"apprise could not notify {count} of {len(urls)} service(s){names}",
                        "apprise_failed", permanent=False)
