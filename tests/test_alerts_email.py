"""E-mail delivery against a real aiosmtpd server on 127.0.0.1."""

from __future__ import annotations

import socket
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from monitor.alerts import render
from monitor.alerts.email import make_message_id, send_email
from monitor.config import EmailConfig
from monitor.errors import DeliveryError
from tests import alert_samples as s

SENDER = "monitor@lunarwatch.test"
RECIPIENTS = ["analyst@lunarwatch.test", "desk@lunarwatch.test"]


class Recorder:
    """aiosmtpd handler: keeps every accepted envelope, or answers DATA with a fixed reply."""

    def __init__(self, reply: str = "250 OK") -> None:
        self.reply = reply
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        if self.reply.startswith("250"):
            self.envelopes.append(envelope)
        return self.reply


class Authenticator:
    """Accepts one login/password pair; records every attempt."""

    def __init__(self, login: str, password: str) -> None:
        self.expected = (login.encode(), password.encode())
        self.attempts: list[tuple[str, bytes]] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        self.attempts.append((mechanism, auth_data.login))
        ok = (auth_data.login, auth_data.password) == self.expected
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd sends the 235/535 reply


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server():
    """Start a Controller with the given handler and SMTP options; stopped after the test."""
    started: list[Controller] = []

    def start(handler: Recorder, **smtp_kwargs) -> int:
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, **smtp_kwargs)
        controller.start()
        started.append(controller)
        return port

    yield start
    for controller in started:
        controller.stop()


def config(port: int, **kw) -> EmailConfig:
    return EmailConfig(host="127.0.0.1", port=port, starttls=False, sender=SENDER, recipients=RECIPIENTS,
                       timeout_s=10, **kw)


def send_alert(cfg: EmailConfig, payload: dict) -> None:
    send_email(cfg, render.email_subject(payload), render.email_text(payload), render.email_html(payload),
               payload["id"])


def test_alert_mail_is_multipart_alternative(smtp_server):
    handler = Recorder()
    payload = s.contradiction()
    send_alert(config(smtp_server(handler)), payload)
    assert len(handler.envelopes) == 1
    env = handler.envelopes[0]
    assert env.mail_from == SENDER and env.rcpt_tos == RECIPIENTS
    msg = message_from_bytes(env.original_content, policy=default_policy)
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["Subject"] == render.email_subject(payload)
    assert msg["Message-ID"] == "<a-3f2c9d0e1b@lunarwatch>"
    assert msg["From"] == SENDER and "desk@lunarwatch.test" in msg["To"]
    assert msg["Date"] and msg["Auto-Submitted"] == "auto-generated"
    html_part = msg.get_body(("html",)).get_content()
    text_part = msg.get_body(("plain",)).get_content()
    assert "GLEX 2021 was held in St. Petersburg, Russia" in html_part
    assert "ILRS (Russia–China International Lunar Research Station)" in text_part  # UTF-8 survives


def test_subject_header_injection_is_impossible(smtp_server):
    handler = Recorder()
    send_email(config(smtp_server(handler)), "Alert\r\nBcc: victim@evil.test\r\n\r\nbody", "t", "<p>h</p>",
               "a-x")
    env = handler.envelopes[0]
    msg = message_from_bytes(env.original_content, policy=default_policy)
    assert msg["Bcc"] is None and env.rcpt_tos == RECIPIENTS
    assert msg["Subject"] == "Alert Bcc: victim@evil.test body"


def test_message_id_is_stable_and_sanitised():
    assert make_message_id("a-3f2c") == "<a-3f2c@lunarwatch>"
    assert make_message_id("a-3f2c") == make_message_id("a-3f2c")
    assert make_message_id("a b>\r\n<c") == "<a-b----c@lunarwatch>"
    assert make_message_id("<digest-1@lunarwatch>") == "<digest-1@lunarwatch>"


AUTH_WITHOUT_TLS = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


@AUTH_WITHOUT_TLS
def test_login_when_username_set(smtp_server):
    handler, auth = Recorder(), Authenticator("analyst", "pa55")
    port = smtp_server(handler, authenticator=auth, auth_require_tls=False, auth_required=True)
    send_alert(config(port, username="analyst", password="pa55"), s.new_development())
    assert [login for _, login in auth.attempts] == [b"analyst"]
    assert len(handler.envelopes) == 1


def test_no_login_without_username(smtp_server):
    handler, auth = Recorder(), Authenticator("analyst", "pa55")
    port = smtp_server(handler, authenticator=auth, auth_require_tls=False)
    send_alert(config(port), s.new_development())
    assert auth.attempts == [] and len(handler.envelopes) == 1


@AUTH_WITHOUT_TLS
def test_wrong_password_is_permanent(smtp_server):
    handler, auth = Recorder(), Authenticator("analyst", "pa55")
    port = smtp_server(handler, authenticator=auth, auth_require_tls=False, auth_required=True)
    with pytest.raises(DeliveryError) as ei:
        send_alert(config(port, username="analyst", password="wrong"), s.new_development())
    assert ei.value.permanent is True and ei.value.code == "smtp_535"
    assert handler.envelopes == []


def test_550_reply_is_permanent(smtp_server):
    port = smtp_server(Recorder("550 5.7.1 Message rejected as spam"))
    with pytest.raises(DeliveryError) as ei:
        send_alert(config(port), s.contradiction())
    assert ei.value.permanent is True and ei.value.code == "smtp_550"


def test_451_reply_is_transient(smtp_server):
    port = smtp_server(Recorder("451 4.3.0 Try again later"))
    with pytest.raises(DeliveryError) as ei:
        send_alert(config(port), s.contradiction())
    assert ei.value.permanent is False and ei.value.code == "smtp_451"


def test_starttls_required_but_unsupported_is_permanent(smtp_server):
    handler = Recorder()
    port = smtp_server(handler)
    cfg = config(port).model_copy(update={"starttls": True})
    with pytest.raises(DeliveryError) as ei:
        send_alert(cfg, s.contradiction())
    assert ei.value.permanent is True and ei.value.code == "smtp_unsupported"
    assert handler.envelopes == []  # never fell back to plaintext


def test_connection_refused_is_transient():
    with pytest.raises(DeliveryError) as ei:
        send_alert(config(free_port()), s.contradiction())
    assert ei.value.permanent is False
