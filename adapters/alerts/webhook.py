"""An HTTPS endpoint of the company's own, signed with Standard Webhooks v1.

Facts (SOURCES.md §4.1, spec v1.0.0): the body is ``{"type", "timestamp", "data"}`` with
a dot-hierarchical ``type``; headers ``webhook-id`` (the same on every retry: here the
alert id, so a replay is deduplicated too), ``webhook-timestamp`` (integer Unix seconds
of *this* attempt) and ``webhook-signature`` = ``v1,<base64 HMAC-SHA256>`` over
``{id}.{timestamp}.{body}`` keyed with the base64-decoded part of the ``whsec_`` secret
(a secret is random, 24-64 bytes). HTTPS; only a 2xx is success, 410 disables the
endpoint, ``Retry-After`` is honoured (``outcome``). The signing is written here rather
than imported from ``adapters/webhooks`` (the inbound source): the shared kit imports no
platform folder (tests/unit/test_architecture.py); the tests check it against the
reference library ``standardwebhooks``.

Not documented, safe path taken: ``timestamp`` in the body is when the alert's subject
happened (ISO 8601, UTC), so the body — and what a receiver stores — is the same on every
attempt; only the ``webhook-timestamp`` header moves. The payload's ``data`` is the
message's ``data`` with ``title``, ``severity``, ``fields``, ``items`` (and ``link``)
set by the alert itself (those names are reserved). A float anywhere in ``data`` is
refused for good (money travels as Decimal, never as a float).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable
from datetime import UTC
from typing import Any, Final

from syncledger.adapters.alerts.outcome import check
from syncledger.adapters.alerts.poster import Poster
from syncledger.adapters.alerts.render import checked_id
from syncledger.adapters.jsonwire import encode_json
from syncledger.core.alert_ports import AlertField, AlertMessage, AlertNotDelivered

SECRET_PREFIX: Final = "whsec_"  # noqa: S105 -- the spec's prefix, not a secret
MIN_SECRET_BYTES: Final = 24
MAX_SECRET_BYTES: Final = 64


def signing_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret; ValueError (naming no part of the
    secret) when it is not one."""
    text = secret.strip()
    if not text.startswith(SECRET_PREFIX):
        raise ValueError(f"must start with {SECRET_PREFIX}")
    encoded = text.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        key = b""
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise ValueError(
            f"is not {SECRET_PREFIX}<base64 of {MIN_SECRET_BYTES}-{MAX_SECRET_BYTES} bytes>"
        )
    return key


def signature(key: bytes, msg_id: str, timestamp: int, content: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``."""
    signed = f"{msg_id}.{timestamp}.".encode() + content
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def _fields(fields: tuple[AlertField, ...]) -> list[dict[str, str]]:
    return [{"label": f.label, "value": f.value} for f in fields]


def data(message: AlertMessage) -> dict[str, Any]:
    """``message.data`` with the alert's own presentation keys on top."""
    shown: dict[str, Any] = {
        "title": message.title,
        "severity": message.severity,
        "fields": _fields(message.fields),
        "items": [{"title": i.title, "fields": _fields(i.fields)} for i in message.items],
    }
    if message.link:
        shown["link"] = message.link
    return {**message.data, **shown}


def body(message: AlertMessage) -> bytes:
    """The exact bytes that are signed and sent."""
    occurred = message.occurred_at
    aware = occurred if occurred.tzinfo else occurred.replace(tzinfo=UTC)
    payload = {
        "type": message.event_type,
        "timestamp": aware.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": data(message),
    }
    try:
        return encode_json(payload)
    except TypeError as exc:
        raise AlertNotDelivered(f"the alert's data cannot be sent: {exc}", permanent=True) from exc


class SignedWebhookChannel:
    """An ``AlertChannel`` POSTing Standard Webhooks–signed JSON to one endpoint."""

    def __init__(
        self,
        name: str,
        url: str,
        key: bytes,
        timeout_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._name = name
        self._key = key
        self._clock = clock
        self._poster = Poster(url, timeout_s, "the webhook endpoint")

    @property
    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:  # never the secret or the URL
        return f"SignedWebhookChannel({self._name!r})"

    def headers(self, message: AlertMessage, content: bytes) -> dict[str, str]:
        """The three signature headers for this attempt, plus the content type."""
        msg_id, stamp = checked_id(message), int(self._clock())
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": signature(self._key, msg_id, stamp, content),
            "content-type": "application/json",
        }

    async def deliver(self, message: AlertMessage) -> None:
        content = body(message)
        response = await self._poster.post(content, self.headers(message, content))
        check(response, "the webhook endpoint", self._poster.secrets)

    async def aclose(self) -> None:
        await self._poster.aclose()
