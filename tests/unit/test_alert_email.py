"""The e-mail alert channel (adapters/alerts/email.py) against a real SMTP server
(aiosmtpd on 127.0.0.1): what arrives, and how each SMTP answer is read."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from syncledger.adapters.alerts.email import SmtpChannel, SmtpSettings
from syncledger.core.alert_ports import AlertField, AlertItem, AlertMessage, AlertNotDelivered
from syncledger.core.embedded import free_port

PASSWORD = "pw-Secret-7781"


@dataclass
class Mailbox:
    """An aiosmtpd handler: keeps what it is given, refuses what a test asks it to."""

    mails: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    data_reply: str | None = None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address.startswith("unknown"):
            return "550 5.1.1 no such mailbox"
        if address.startswith("full"):
            return "452 4.2.2 mailbox full, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_reply:
            return self.data_reply
        raw = envelope.original_content or b""
        mail = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(mail, EmailMessage)
        self.mails.append(mail)
        self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        return "250 accepted"


def check_password(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


@dataclass
class Server:
    mailbox: Mailbox
    port: int


@pytest.fixture
def smtp() -> Iterator[Server]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=check_password,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield Server(mailbox, port)
    finally:
        controller.stop()


def channel(port: int, **values: Any) -> SmtpChannel:
    settings: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "mail_from": "alerts@example.test",
        "mail_to": ("finance@example.test", "controller@example.test"),
        "timeout_s": 5.0,
    }
    settings.update(values)
    return SmtpChannel("mail", SmtpSettings(**settings))


def alert(**overrides: Any) -> AlertMessage:
    values: dict[str, Any] = {
        "alert_id": "al_01HZX3",
        "event_type": "mismatch.digest",
        "title": "2 open mismatches <acme & co>",
        "severity": "warning",
        "occurred_at": datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
        "fields": (AlertField("Entity", "acme"),),
        "items": (
            AlertItem("Invoice INV-1 differs", (AlertField("Expected", "125.00 USD"),)),
            AlertItem("Invoice INV-2 differs", (AlertField("Expected", "80.00 EUR"),)),
        ),
        "link": "https://console.example.test/mismatches",
    }
    values.update(overrides)
    return AlertMessage(**values)


async def failure(mail: SmtpChannel, message: AlertMessage | None = None) -> AlertNotDelivered:
    with pytest.raises(AlertNotDelivered) as caught:
        await mail.deliver(message or alert())
    return caught.value


async def test_the_mail_arrives_with_subject_id_and_both_parts(smtp: Server) -> None:
    mail = channel(smtp.port)
    await mail.deliver(alert())
    await mail.aclose()

    (received,) = smtp.mailbox.mails
    assert received["Subject"] == "2 open mismatches <acme & co>"
    assert received["Message-ID"] == "<al_01HZX3@syncledger.invalid>"
    assert received["From"] == "alerts@example.test"
    assert smtp.mailbox.envelopes == [
        ("alerts@example.test", ["finance@example.test", "controller@example.test"])
    ]
    assert received.get_content_type() == "multipart/alternative"
    text = received.get_body(("plain",))
    html = received.get_body(("html",))
    assert text is not None and html is not None
    plain, markup = text.get_content(), html.get_content()
    assert "Invoice INV-2 differs" in plain and "Expected: 80.00 EUR" in plain
    assert "Open: https://console.example.test/mismatches" in plain
    assert "<h2>2 open mismatches &lt;acme &amp; co&gt;</h2>" in markup
    assert "<td>125.00 USD</td>" in markup
    assert "href='https://console.example.test/mismatches'" in markup


async def test_every_attempt_carries_the_same_message_id(smtp: Server) -> None:
    mail = channel(smtp.port)
    await mail.deliver(alert())
    await mail.deliver(alert())
    ids = {m["Message-ID"] for m in smtp.mailbox.mails}
    assert len(smtp.mailbox.mails) == 2 and ids == {"<al_01HZX3@syncledger.invalid>"}


async def test_login_with_the_password(smtp: Server) -> None:
    mail = channel(smtp.port, user="alerts", password=PASSWORD)
    await mail.deliver(alert())
    assert len(smtp.mailbox.mails) == 1


async def test_a_wrong_password_is_permanent_and_never_shown(smtp: Server) -> None:
    wrong = "pw-Wrong-0042"
    error = await failure(channel(smtp.port, user="alerts", password=wrong))
    assert error.permanent and "535" in str(error)
    assert wrong not in str(error) and PASSWORD not in str(error)
    assert wrong not in repr(SmtpSettings("h", 25, "none", "a@b.test", (), 1.0, "u", wrong))
    assert smtp.mailbox.mails == []


@pytest.mark.parametrize(
    ("recipients", "permanent", "code"),
    [
        (("unknown@example.test",), True, "550"),
        (("full@example.test",), False, "452"),
        (("unknown@example.test", "full@example.test"), False, "550"),
    ],
)
async def test_recipients_refused(
    smtp: Server, recipients: tuple[str, ...], permanent: bool, code: str
) -> None:
    error = await failure(channel(smtp.port, mail_to=recipients))
    assert error.permanent is permanent and not error.gone
    assert code in str(error)


async def test_some_recipients_refused_counts_as_sent(smtp: Server) -> None:
    mail = channel(smtp.port, mail_to=("unknown@example.test", "finance@example.test"))
    await mail.deliver(alert())  # sending again would double it for finance@
    assert smtp.mailbox.envelopes[0][1] == ["finance@example.test"]


@pytest.mark.parametrize(
    ("reply", "permanent"), [("554 5.6.0 rejected", True), ("451 4.3.0 later", False)]
)
async def test_data_refused(smtp: Server, reply: str, permanent: bool) -> None:
    smtp.mailbox.data_reply = reply
    error = await failure(channel(smtp.port))
    assert error.permanent is permanent
    assert reply.split()[0] in str(error)


async def test_starttls_asked_but_not_offered_is_permanent(smtp: Server) -> None:
    error = await failure(channel(smtp.port, security="starttls"))
    assert error.permanent and "smtp_tls" in str(error)
    assert smtp.mailbox.mails == []


async def test_nobody_listening_is_retried() -> None:
    error = await failure(channel(free_port(), user="alerts", password=PASSWORD))
    assert not error.permanent and not error.gone
    assert "could not be reached" in str(error) and PASSWORD not in str(error)


async def test_an_alert_id_that_cannot_be_a_message_id_is_refused(smtp: Server) -> None:
    error = await failure(channel(smtp.port), alert(alert_id="a b@c"))
    assert error.permanent and smtp.mailbox.mails == []
