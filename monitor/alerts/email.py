"""E-mail delivery: one multipart/alternative message (text + HTML) per alert or digest.

The Message-ID derives from the alert id so a redelivery is recognisably the same mail. SMTP
failures are classified the way the outbox needs them: 4xx replies, dropped connections and
network/TLS errors are transient; 5xx replies and missing server features are permanent.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

from monitor import __version__
from monitor.config import EmailConfig
from monitor.errors import DeliveryError

log = logging.getLogger(__name__)

MESSAGE_ID_DOMAIN = "lunarwatch"
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9._~+=-]")


def header_text(value: str, limit: int = 200) -> str:
    """A single-line header value: every whitespace run (CR/LF included) becomes one space."""
    text = " ".join("".join(ch for ch in str(value) if ch.isprintable() or ch.isspace()).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def make_message_id(alert_id: str) -> str:
    """'<alert-id@lunarwatch>'; characters not allowed in a msg-id are replaced, a ready id kept."""
    if re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", alert_id):
        return alert_id
    local = _ID_UNSAFE.sub("-", alert_id.strip("<>")) or "alert"
    return f"<{local[:200]}@{MESSAGE_ID_DOMAIN}>"


def build_message(cfg: EmailConfig, subject: str, text: str, html: str, message_id: str,
                  now: datetime | None = None) -> EmailMessage:
    """The MIME message (multipart/alternative, text first so HTML is the preferred part)."""
    msg = EmailMessage()
    try:
        msg["Subject"] = header_text(subject)
        msg["From"] = cfg.sender
        msg["To"] = ", ".join(cfg.recipients)
        msg["Date"] = format_datetime(now or datetime.now(UTC))
        msg["Message-ID"] = make_message_id(message_id)
        msg["Auto-Submitted"] = "auto-generated"
        msg["X-Mailer"] = f"lunarwatch/{__version__}"
    except ValueError as e:  # a CR/LF or malformed address in the configured sender/recipients
        raise DeliveryError(f"cannot build the e-mail headers: {e}", "email_bad_header",
                            permanent=True) from e
    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg


def _connect(cfg: EmailConfig) -> smtplib.SMTP:
    """An SMTP session per cfg: implicit TLS (ssl), or plain + STARTTLS (refused if unsupported)."""
    context = ssl.create_default_context()
    if cfg.ssl:
        return smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout_s, context=context)
    smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_s)
    try:
        if cfg.starttls:
            smtp.ehlo()
            # SMTPNotSupportedError when the server lacks STARTTLS: never fall back to plaintext.
            smtp.starttls(context=context)
            smtp.ehlo()
    except BaseException:
        smtp.close()
        raise
    return smtp


def _send(cfg: EmailConfig, msg: EmailMessage) -> dict[str, tuple[int, bytes]]:
    with _connect(cfg) as smtp:
        if cfg.username:
            smtp.login(cfg.username, cfg.password.get_secret_value())
        return smtp.send_message(msg, from_addr=cfg.sender, to_addrs=list(cfg.recipients))


def _reply_error(code: int, text: bytes | str, what: str) -> DeliveryError:
    detail = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    permanent = 500 <= code < 600
    return DeliveryError(f"SMTP server refused {what}: {code} {header_text(detail, 200)}", f"smtp_{code}",
                         permanent=permanent)


def _classify(e: Exception, cfg: EmailConfig) -> DeliveryError:
    """Map an smtplib/socket exception to a DeliveryError (4xx/network transient, 5xx permanent)."""
    where = f"{cfg.host}:{cfg.port}"
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        # Permanent only when every refusal is: a 4xx for any recipient is worth a retry.
        code, text = min(e.recipients.values(), default=(550, b"no recipient accepted"))
        return _reply_error(code, text, "all recipients")
    if isinstance(e, smtplib.SMTPAuthenticationError):
        return _reply_error(e.smtp_code, e.smtp_error, "the login")
    if isinstance(e, smtplib.SMTPResponseException):
        return _reply_error(e.smtp_code, e.smtp_error, "the message")
    if isinstance(e, smtplib.SMTPNotSupportedError):
        return DeliveryError(f"SMTP server {where} lacks a required feature: {e}", "smtp_unsupported",
                             permanent=True)
    if isinstance(e, smtplib.SMTPServerDisconnected):
        return DeliveryError(f"SMTP server {where} closed the connection", "smtp_disconnected")
    if isinstance(e, TimeoutError):
        return DeliveryError(f"SMTP server {where} timed out", "timeout")
    if isinstance(e, ssl.SSLError):
        return DeliveryError(f"TLS with SMTP server {where} failed: {e.__class__.__name__}", "tls_error")
    return DeliveryError(f"SMTP delivery via {where} failed: {e.__class__.__name__}: {e}", "smtp_error")


def send_email(cfg: EmailConfig, subject: str, text: str, html: str, message_id: str) -> None:
    """Send one alert (or digest) mail; raise DeliveryError with `permanent` set for the outbox.

    `message_id` is normally the alert id; it becomes '<id@lunarwatch>' so that a redelivery
    keeps the same Message-ID and clients can thread or deduplicate it.
    """
    msg = build_message(cfg, subject, text, html, message_id)
    try:
        refused = _send(cfg, msg)
    except (smtplib.SMTPException, OSError) as e:
        raise _classify(e, cfg) from e
    if refused:
        # Accepted for at least one recipient: retrying would duplicate it for the others.
        log.warning("e-mail %s: %d of %d recipient(s) refused: %s", msg["Message-ID"], len(refused),
                    len(cfg.recipients), ", ".join(f"{r} ({c})" for r, (c, _) in refused.items()))
