"""E-mail over SMTP: one multipart (plain text + HTML) message per alert.

Facts: SMTP reply codes (RFC 5321 §4.2.1): 2yz accepted, 4yz a transient failure ("the
action may be tried again"), 5yz a permanent one. ``Message-ID`` is
``<alert_id@syncledger.invalid>`` on every attempt (RFC 5322 §3.6.4; ``.invalid`` is
reserved by RFC 2606 and never resolves), so a mail system that deduplicates on it shows
one message; ``Subject`` is the alert's title. The brief for this channel (issue 12):
STARTTLS, implicit TLS or none per configuration, login when ``smtp_user`` is set.

Not documented, safe path taken:

* login over an unencrypted connection is refused at open time unless the server is on
  a loopback host (the password would cross a network in clear);
* when the server takes the message for some recipients and refuses others, it counts
  as delivered (sending again would double it for those who got it) and the refused
  count is logged, without the addresses;
* a server that does not offer STARTTLS or AUTH when the configuration asks for it
  refuses every message: permanent;
* the reason quotes the server's code and text, never the password (masked if echoed).

smtplib blocks, so each delivery runs in a worker thread with the channel's timeout on
every socket operation; there is no connection to keep, so ``aclose`` has nothing to end.
"""

from __future__ import annotations

import asyncio
import html
import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Literal

from syncledger.adapters.alerts.outcome import excerpt
from syncledger.adapters.alerts.render import checked_id, is_web_link, summary_line
from syncledger.core.alert_ports import AlertField, AlertMessage, AlertNotDelivered

log = logging.getLogger("syncledger.alerts.email")
#: recipient → (reply code, reply text) for each address the server refused
SmtpRefusals = dict[str, tuple[int, bytes]]
MESSAGE_ID_DOMAIN = "syncledger.invalid"


# --------------------------------------------------------------------------- the message


def _text_lines(message: AlertMessage) -> list[str]:
    lines = [message.title, summary_line(message), ""]
    lines += [f"{f.label}: {f.value}" for f in message.fields]
    for item in message.items:
        lines += ["", item.title, *(f"  {f.label}: {f.value}" for f in item.fields)]
    if is_web_link(message.link):
        lines += ["", f"Open: {message.link}"]
    return lines


def _html_fields(fields: tuple[AlertField, ...]) -> str:
    if not fields:
        return ""
    rows = "".join(
        f"<tr><th align='left'>{html.escape(f.label)}</th><td>{html.escape(f.value)}</td></tr>"
        for f in fields
    )
    return f"<table>{rows}</table>"


def _html(message: AlertMessage) -> str:
    parts = [
        f"<h2>{html.escape(message.title)}</h2>",
        f"<p>{html.escape(summary_line(message))}</p>",
        _html_fields(message.fields),
    ]
    for item in message.items:
        parts += [f"<h3>{html.escape(item.title)}</h3>", _html_fields(item.fields)]
    if is_web_link(message.link):
        parts.append(f"<p><a href='{html.escape(str(message.link))}'>Open</a></p>")
    return "<html><body>" + "".join(parts) + "</body></html>"


def compose(message: AlertMessage, mail_from: str, mail_to: tuple[str, ...]) -> EmailMessage:
    """The e-mail: Subject = title, a stable Message-ID, text and HTML alternatives."""
    mail = EmailMessage()
    mail["Subject"] = message.title
    mail["From"] = mail_from
    mail["To"] = ", ".join(mail_to)
    mail["Date"] = format_datetime(datetime.now(UTC))  # when sent: inboxes sort by it
    mail["Message-ID"] = f"<{checked_id(message)}@{MESSAGE_ID_DOMAIN}>"
    mail.set_content("\n".join(_text_lines(message)))
    mail.add_alternative(_html(message), subtype="html")
    return mail


# --------------------------------------------------------------------------- sending


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int
    security: Literal["starttls", "tls", "none"]
    mail_from: str
    mail_to: tuple[str, ...]
    timeout_s: float
    user: str | None = None
    password: str | None = field(default=None, repr=False)


def _reply_text(raw: bytes | str, secrets: tuple[str, ...]) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return excerpt(text, secrets)


def _by_code(code: int, text: str, *, permanent: bool | None = None) -> AlertNotDelivered:
    said = f"the SMTP server answered {code} {text!r}"
    if permanent if permanent is not None else 500 <= code < 600:
        return AlertNotDelivered(f"{said}: refused for good", permanent=True)
    return AlertNotDelivered(f"{said}: will try again")


def _refused_everyone(refused: SmtpRefusals, secrets: tuple[str, ...]) -> AlertNotDelivered:
    """Every recipient refused: permanent only when every refusal was a 5xx."""
    permanent = all(500 <= code < 600 for code, _ in refused.values())
    code, text = next(iter(refused.values()))
    return _by_code(code, _reply_text(text, secrets), permanent=permanent)


def translate(exc: Exception, secrets: tuple[str, ...]) -> AlertNotDelivered:
    """An smtplib/socket failure as ``AlertNotDelivered`` (no address, no password)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return _refused_everyone(exc.recipients, secrets)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return AlertNotDelivered(
            f"the SMTP server does not offer what the channel needs ({excerpt(str(exc), secrets)}):"
            " check smtp_tls and smtp_user",
            permanent=True,
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        return _by_code(exc.smtp_code, _reply_text(exc.smtp_error, secrets))
    if isinstance(exc, TimeoutError):
        return AlertNotDelivered("the SMTP server did not answer in time: will try again")
    return AlertNotDelivered(
        f"the SMTP server could not be reached or dropped the line ({type(exc).__name__}):"
        " will try again"
    )


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    if settings.security == "tls":
        context = ssl.create_default_context()
        return smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout_s, context=context
        )
    return smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_s)


def _session(client: smtplib.SMTP, settings: SmtpSettings, mail: EmailMessage) -> SmtpRefusals:
    if settings.security == "starttls":
        client.starttls(context=ssl.create_default_context())
    if settings.user is not None:
        client.login(settings.user, settings.password or "")
    return client.send_message(mail, settings.mail_from, list(settings.mail_to))


def send_blocking(settings: SmtpSettings, mail: EmailMessage) -> SmtpRefusals:
    """One SMTP session: connect, secure, log in, send; the refused recipients back."""
    client = _connect(settings)
    try:
        return _session(client, settings, mail)
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()


class SmtpChannel:
    """An ``AlertChannel`` e-mailing each alert through one SMTP server."""

    def __init__(self, name: str, settings: SmtpSettings) -> None:
        self._name = name
        self._settings = settings
        self._secrets = (settings.password,) if settings.password else ()

    @property
    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"SmtpChannel({self._name!r})"

    async def deliver(self, message: AlertMessage) -> None:
        settings = self._settings
        mail = compose(message, settings.mail_from, settings.mail_to)
        try:
            refused = await asyncio.to_thread(send_blocking, settings, mail)
        except (smtplib.SMTPException, OSError) as exc:
            raise translate(exc, self._secrets) from None
        if refused:
            log.warning("alert e-mail %s: %d recipients refused", message.alert_id, len(refused))

    async def aclose(self) -> None:
        return None
