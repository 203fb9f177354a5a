"""Microsoft Teams through a Workflows webhook: one Adaptive Card per alert.

Facts (SOURCES.md §4.4): the O365 connectors are retired, so the target is a Workflows
webhook ("Post to a channel when a webhook request is received"); its URL carries the
credential in ``sig=`` and is a secret. The body is the message envelope ``{"type":
"message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
"contentUrl": null, "content": {"$schema": …, "type": "AdaptiveCard", "version":
"1.2", "body": [...]}}]}``; ``Action.OpenUrl`` is supported, ``Action.Submit`` is not.
A 429 can come back as body text ("Microsoft Teams endpoint returned HTTP error 429")
rather than as a status: that is retried like a 429.

Not documented, safe path taken: the card is kept under 24,000 bytes (Microsoft's
Teams connector reference gives about 28 KB for a posted message, learn.microsoft.com/
connectors/teams "Known issues and limitations"), by showing fewer digest items and
saying how many were left out; a 2xx whose body reports a 429 is retried (the message
was throttled, not posted); text is not escaped (an Adaptive Card TextBlock has no
mention syntax that pings: mentions need a separate ``msteams.entities`` list).
"""

from __future__ import annotations

import re
from typing import Any, Final

import httpx

from syncledger.adapters.alerts.outcome import check, excerpt, parse_retry_after
from syncledger.adapters.alerts.poster import JsonWebhookChannel, Poster
from syncledger.adapters.alerts.render import clip, is_web_link, summary_line
from syncledger.adapters.jsonwire import encode_json
from syncledger.core.alert_ports import AlertField, AlertItem, AlertMessage, AlertNotDelivered

CARD_SCHEMA: Final = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_CONTENT_TYPE: Final = "application/vnd.microsoft.card.adaptive"
MAX_BYTES: Final = 24_000
MAX_ITEMS: Final = 40
TEXT_CHARS: Final = 1_000
_BODY_429 = re.compile(r"HTTP error 429", re.IGNORECASE)

Element = dict[str, Any]


def _text(text: str, **style: Any) -> Element:
    return {"type": "TextBlock", "text": clip(text, TEXT_CHARS), "wrap": True, **style}


def _facts(fields: tuple[AlertField, ...]) -> list[Element]:
    if not fields:
        return []
    facts = [{"title": clip(f.label, 200), "value": clip(f.value, TEXT_CHARS)} for f in fields]
    return [{"type": "FactSet", "facts": facts}]


def _item(item: AlertItem) -> list[Element]:
    return [_text(item.title, weight="Bolder", separator=True), *_facts(item.fields)]


def _body(message: AlertMessage, shown: int) -> list[Element]:
    body = [
        _text(message.title, size="Large", weight="Bolder"),
        _text(summary_line(message), isSubtle=True, spacing="None"),
        *_facts(message.fields),
    ]
    for item in message.items[:shown]:
        body += _item(item)
    if len(message.items) > shown:
        body.append(_text(f"… and {len(message.items) - shown} more", isSubtle=True))
    return body


def card(message: AlertMessage, shown: int = MAX_ITEMS) -> dict[str, Any]:
    """The Adaptive Card (version 1.2) showing at most ``shown`` digest items."""
    content: dict[str, Any] = {
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": "1.2",
        "body": _body(message, shown),
    }
    if is_web_link(message.link):
        content["actions"] = [{"type": "Action.OpenUrl", "title": "Open", "url": message.link}]
    return content


def envelope(message: AlertMessage, shown: int = MAX_ITEMS) -> dict[str, Any]:
    attachment = {
        "contentType": CARD_CONTENT_TYPE,
        "contentUrl": None,
        "content": card(message, shown),
    }
    return {"type": "message", "attachments": [attachment]}


def encoded(message: AlertMessage) -> bytes:
    """The envelope as bytes, with fewer digest items until it fits ``MAX_BYTES``."""
    shown = min(MAX_ITEMS, len(message.items))
    body = encode_json(envelope(message, shown))
    while len(body) > MAX_BYTES and shown > 0:
        shown //= 2
        body = encode_json(envelope(message, shown))
    return body


def teams_refusal(response: httpx.Response, secrets: tuple[str, ...]) -> None:
    """A throttle reported in the body is retried; otherwise the status decides."""
    if _BODY_429.search(response.text):
        wait = parse_retry_after(response.headers.get("Retry-After"))
        said = f"Teams answered HTTP {response.status_code} {excerpt(response.text, secrets)!r}"
        raise AlertNotDelivered(f"{said}: throttled, will try again", retry_after=wait)
    check(response, "Teams", secrets)


class TeamsChannel(JsonWebhookChannel):
    """An ``AlertChannel`` posting Adaptive Cards to one Teams Workflows webhook."""

    def __init__(self, name: str, url: str, timeout_s: float) -> None:
        super().__init__(name, Poster(url, timeout_s, "Teams"), encoded, teams_refusal)
