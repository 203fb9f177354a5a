"""HubSpot webhooks v3: verify a delivery and name the records it is about.

- Signature: ``X-HubSpot-Signature-v3`` = base64(HMAC-SHA256(app client secret, method +
  uri + raw body + timestamp)), ``X-HubSpot-Request-Timestamp`` in milliseconds, refused
  when older than 5 minutes; compared in constant time (SOURCES.md §1.7;
  HubSpot/hubspot-api-python:hubspot/utils/signature.py; developers.hubspot.com
  request-validation). ``uri`` is the full URL HubSpot called, as the request carries it.
  HubSpot's docs also decode some ``%xx`` sequences before signing (§1.7); that list is
  not in SOURCES.md, so the URL is used as received (a URL with such escapes is refused
  as ``bad_signature`` rather than guessed at).
- A timestamp more than 5 minutes in the future is refused as stale too (a replay window
  either way).
- Payload: a JSON array of events with ``eventId, subscriptionType, objectId, ...``
  (§1.7); deliveries are batched, retried, unordered and possibly duplicated. The
  delivery id is built from the events' own ``eventId`` s (the dedupe key §1.7 names), so
  a retried delivery has the same id. ``subscriptionType`` ``company.*``/``contact.*``/
  ``deal.*`` (legacy names, §1.7); ``*.deletion`` marks the hint deleted. Events about
  other objects are ignored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

from syncledger.core.source_ports import (
    RecordHint,
    WebhookDelivery,
    WebhookRefused,
    WebhookRequest,
)

SIGNATURE = "x-hubspot-signature-v3"
TIMESTAMP = "x-hubspot-request-timestamp"
TOLERANCE = timedelta(minutes=5)
KINDS = {
    "company": ("customer", ""),
    "contact": ("customer", "contact-"),
    "deal": ("invoice", ""),
}


def signature(secret: str, method: str, url: str, body: bytes, stamp: str) -> str:
    signed = method.upper().encode() + url.encode() + body + stamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest()).decode()


def _check_time(request: WebhookRequest, stamp: str) -> None:
    try:
        sent_ms = int(stamp)
    except ValueError:
        raise WebhookRefused("malformed", "X-HubSpot-Request-Timestamp is not a number") from None
    age_ms = request.received_at.timestamp() * 1000 - sent_ms
    if abs(age_ms) > TOLERANCE.total_seconds() * 1000:
        raise WebhookRefused(
            "stale",
            f"HubSpot delivery signed {age_ms / 1000:.0f}s from its arrival "
            "(over 5 minutes): check the server's clock; HubSpot retries on its own",
        )


def verify(request: WebhookRequest, secret: str) -> WebhookDelivery:
    if not secret:
        raise WebhookRefused(
            "unknown_sender",
            "HubSpot webhooks need the app's client secret: set SYNCLEDGER_HUBSPOT_CLIENT_SECRET",
        )
    given, stamp = request.headers.get(SIGNATURE), request.headers.get(TIMESTAMP)
    if not given or not stamp:
        raise WebhookRefused(
            "unsigned",
            "HubSpot delivery without X-HubSpot-Signature-v3 "
            "and X-HubSpot-Request-Timestamp: subscribe with a v3 app",
        )
    _check_time(request, stamp)
    expected = signature(secret, request.method, request.url, request.body, stamp)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise WebhookRefused(
            "bad_signature",
            "HubSpot delivery signature does not match: "
            "check the app's client secret and the public URL",
        )
    return _delivery(request.body)


def _events(body: bytes) -> list[dict[str, Any]]:
    try:
        events = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookRefused("malformed", "HubSpot delivery body is not JSON") from None
    if isinstance(events, dict):
        events = [events]
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise WebhookRefused("malformed", "HubSpot delivery is not a list of events")
    return events


def _hint(event: dict[str, Any]) -> RecordHint | None:
    name, _, change = str(event.get("subscriptionType", "")).partition(".")
    if name not in KINDS or event.get("objectId") is None:
        return None
    kind, prefix = KINDS[name]
    return RecordHint(kind, f"{prefix}{event['objectId']}", change == "deletion")


def _delivery(body: bytes) -> WebhookDelivery:
    events = _events(body)
    ids = sorted(str(e.get("eventId", "")) for e in events)
    if not events or not all(ids):
        raise WebhookRefused("malformed", "HubSpot delivery has an event without eventId")
    digest = hashlib.sha256(",".join(ids).encode()).hexdigest()[:32]
    hints = [h for e in events if (h := _hint(e)) is not None]
    return WebhookDelivery(f"hubspot-{digest}", tuple(dict.fromkeys(hints)))


__all__ = ["signature", "verify"]
