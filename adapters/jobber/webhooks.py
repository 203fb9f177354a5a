"""Jobber webhook deliveries: verified, then turned into hints to re-read.

* ``X-Jobber-Hmac-SHA256`` = base64 HMAC-SHA256 of the raw body keyed with the app's OAuth
  client secret; no separate webhook secret (nango.dev/docs/api-integrations/jobber/webhooks;
  GitHub file id 61469768048). Compared in constant time. Jobber signs no time, so nothing
  is refused as stale: a replay is deduped by its delivery id.
* The body carries ids only: topic, app id, account id, item id, occurred-at (same sources);
  key casing is unverified (``appId``/``itemId``/``occurredAt`` vs snake_case), so both are
  read, nested under ``data.webHookEvent`` or at the top level.
* Topics ``CLIENT_*``, ``INVOICE_*``, ``PAYMENT_*`` with ``_CREATE/_UPDATE/_DESTROY``
  (``WebHookTopicEnum``: https://developer.getjobber.com/docs/using_jobbers_api/setting_up_webhooks/
  and GitHub file id 67140017033); ``*_DESTROY`` is a deleted hint; other topics name
  nothing we read (a delivery with no hints).
* ``PROPERTY_*`` (same topic list): a property is no record of its own but part of its
  client's (its service locations are checked with the client), so the hint is of kind
  :data:`PROPERTY` and ``source.py`` re-reads the client owning it; the item id is the
  property's, as for every topic ("the unique identifier of the object which triggered
  the event": ``webHookEvent(itemId)``, GitHub file id 61328573822).
* Delivery id: Jobber documents no per-event id (the docs say to dedupe "based on the
  payload data"), so it is a digest of topic + item id + occurred-at, the tuple GitHub file
  id 67140017033 recommends; the same on every retry of one event.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from syncledger.core.source_ports import RecordHint, WebhookDelivery, WebhookRefused, WebhookRequest

HEADER = "x-jobber-hmac-sha256"
#: the hint kind of a property: "re-read the client owning it" (never a record kind)
PROPERTY = "property"
KINDS = {"CLIENT": "customer", "INVOICE": "invoice", "PAYMENT": "payment", "PROPERTY": PROPERTY}
_KEYS = {
    "topic": ("topic",),
    "item": ("itemId", "item_id"),
    "at": ("occurredAt", "occurred_at"),
}


def _check_signature(secret: str, request: WebhookRequest) -> None:
    given = request.headers.get(HEADER)
    if not given:
        raise WebhookRefused("unsigned", f"no {HEADER} header: the delivery is not from Jobber")
    try:
        sent = base64.b64decode(given, validate=True)
    except (binascii.Error, ValueError):
        sent = b""
    expected = hmac.new(secret.encode(), request.body, hashlib.sha256).digest()
    if not hmac.compare_digest(sent, expected):
        raise WebhookRefused(
            "bad_signature",
            f"{HEADER} does not match the body: check the app's client secret "
            "(SYNCLEDGER_JOBBER_CLIENT_SECRET)",
        )


def _event(body: bytes) -> dict[str, Any]:
    try:
        raw = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookRefused("malformed", "the signed body is not JSON") from exc
    nested = raw.get("data", {}).get("webHookEvent") if isinstance(raw, dict) else None
    event = nested if isinstance(nested, dict) else raw
    if not isinstance(event, dict):
        raise WebhookRefused("malformed", "the signed body is not a Jobber webhook event")
    return event


def _value(event: dict[str, Any], what: str) -> str:
    for key in _KEYS[what]:
        if event.get(key):
            return str(event[key])
    raise WebhookRefused("malformed", f"the Jobber event has no {what} ({'/'.join(_KEYS[what])})")


def verify(secret: str, request: WebhookRequest) -> WebhookDelivery:
    _check_signature(secret, request)
    event = _event(request.body)
    topic, item, at = (_value(event, k) for k in ("topic", "item", "at"))
    delivery = "jobber:" + hashlib.sha256(f"{topic}|{item}|{at}".encode()).hexdigest()[:32]
    prefix, _, action = topic.rpartition("_")
    kind = KINDS.get(prefix)
    hints = (RecordHint(kind, item, deleted=action == "DESTROY"),) if kind else ()
    return WebhookDelivery(delivery, hints)
