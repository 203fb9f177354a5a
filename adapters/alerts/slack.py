"""Slack incoming webhooks: one Block Kit message per alert.

Facts (SOURCES.md §4.3): ``POST`` JSON to the webhook URL (one URL is one channel; the
URL is the credential); ``text`` is the notification fallback, ``blocks`` the layout
(``header``, ``section`` with ``mrkdwn`` text and ``fields``, ``context``, ``actions``
with URL buttons); at most 50 blocks; section text kept under a 2,800-character safety
budget; ``&``, ``<`` and ``>`` escaped so that ``<!channel>`` in data never pings.
Success is HTTP 200 (body ``ok``); errors are 400/403/404 (429 for ``rate_limited``)
with a string body: ``invalid_payload``, ``user_not_found``, ``action_prohibited``,
``channel_not_found``, ``channel_is_archived``, ``rollup_error``, ``no_service``
(webhook revoked), ``rate_limited``.

Limits from Slack's Block Kit reference (docs.slack.dev/reference/block-kit/blocks/
header-block and …/section-block): header text ≤ 150 characters; a section has ≤ 10
``fields`` of ≤ 2,000 characters each; a button's text ≤ 75 and its URL ≤ 3,000.

Not documented, safe path taken: a 2xx whose body is not ``ok`` still counts as taken
(§4.1: only the status decides); the plain-text header is escaped too (an entity shown
literally is better than a ping); ``channel_not_found`` and ``channel_is_archived`` park
the channel like ``no_service`` (no retry can reach that channel).
"""

from __future__ import annotations

import re
from typing import Any, Final

import httpx

from syncledger.adapters.alerts.outcome import check, excerpt, parse_retry_after
from syncledger.adapters.alerts.poster import JsonWebhookChannel, Poster
from syncledger.adapters.alerts.render import is_web_link, summary_line
from syncledger.adapters.jsonwire import encode_json
from syncledger.core.alert_ports import AlertField, AlertItem, AlertMessage, AlertNotDelivered

MAX_BLOCKS: Final = 50
SECTION_CHARS: Final = 2_800
HEADER_CHARS: Final = 150
FIELD_CHARS: Final = 2_000
FIELDS_PER_SECTION: Final = 10
#: at most four field sections, so a digest keeps 40+ blocks for its items
MAX_FIELDS: Final = 40
URL_CHARS: Final = 3_000
GONE_CODES: Final = frozenset({"no_service", "channel_not_found", "channel_is_archived"})
PERMANENT_CODES: Final = frozenset(
    {"invalid_payload", "action_prohibited", "user_not_found", "rollup_error"}
)
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")

Block = dict[str, Any]


def escape(text: str) -> str:
    """Slack's three control characters as entities (``<!channel>`` stays text)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(escaped: str, limit: int) -> str:
    """Already escaped text within ``limit`` characters, never ending inside an entity."""
    if len(escaped) <= limit:
        return escaped
    return _PARTIAL_ENTITY.sub("", escaped[: limit - 1]) + "…"


def fit(text: str, limit: int) -> str:
    """``text`` escaped, then cut to ``limit`` characters."""
    return cut(escape(text), limit)


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def _capped(fields: tuple[AlertField, ...]) -> tuple[AlertField, ...]:
    if len(fields) <= MAX_FIELDS:
        return fields
    kept = MAX_FIELDS - 1
    return (*fields[:kept], AlertField("…", f"and {len(fields) - kept} more fields"))


def _field_blocks(fields: tuple[AlertField, ...]) -> list[Block]:
    fields = _capped(fields)
    shown = [_mrkdwn(fit(f"*{f.label}*\n{f.value}", FIELD_CHARS)) for f in fields]
    return [
        {"type": "section", "fields": shown[i : i + FIELDS_PER_SECTION]}
        for i in range(0, len(shown), FIELDS_PER_SECTION)
    ]


def _item_block(item: AlertItem) -> Block:
    lines = [f"*{escape(item.title)}*", *(escape(f"{f.label}: {f.value}") for f in item.fields)]
    return {"type": "section", "text": _mrkdwn(cut("\n".join(lines), SECTION_CHARS))}


def _head(message: AlertMessage) -> list[Block]:
    header = {"type": "plain_text", "text": fit(message.title, HEADER_CHARS)}
    context = {"type": "context", "elements": [_mrkdwn(escape(summary_line(message)))]}
    return [{"type": "header", "text": header}, *_field_blocks(message.fields), context]


def _actions(message: AlertMessage) -> list[Block]:
    if not is_web_link(message.link) or len(str(message.link)) > URL_CHARS:
        return []
    button = {"type": "button", "text": {"type": "plain_text", "text": "Open"}}
    return [{"type": "actions", "elements": [{**button, "url": message.link}]}]


def _items(items: tuple[AlertItem, ...], room: int) -> list[Block]:
    if len(items) <= room:
        return [_item_block(i) for i in items]
    shown = room - 1  # one block says how many were left out
    more = {"type": "context", "elements": [_mrkdwn(f"… and {len(items) - shown} more")]}
    return [*(_item_block(i) for i in items[:shown]), more]


def blocks(message: AlertMessage) -> list[Block]:
    """The Block Kit layout: header, fields, context, the digest's items, a button."""
    head, tail = _head(message), _actions(message)
    room = MAX_BLOCKS - len(head) - len(tail)
    return [*head, *_items(message.items, room), *tail]


def payload(message: AlertMessage) -> dict[str, Any]:
    return {"text": fit(message.title, SECTION_CHARS), "blocks": blocks(message)}


def slack_refusal(response: httpx.Response, secrets: tuple[str, ...]) -> None:
    """Raise what Slack's error string means; fall back to the status otherwise."""
    if 200 <= response.status_code < 300:
        return
    code = response.text.strip()
    said = f"Slack answered HTTP {response.status_code} {excerpt(code, secrets)!r}"
    if code in GONE_CODES:
        raise AlertNotDelivered(f"{said}: the webhook no longer posts anywhere", gone=True)
    if code in PERMANENT_CODES:
        raise AlertNotDelivered(f"{said}: the message is refused as it is", permanent=True)
    if code == "rate_limited":
        wait = parse_retry_after(response.headers.get("Retry-After"))
        raise AlertNotDelivered(f"{said}: will try again", retry_after=wait)
    check(response, "Slack", secrets)


class SlackChannel(JsonWebhookChannel):
    """An ``AlertChannel`` posting to one Slack incoming webhook."""

    def __init__(self, name: str, url: str, timeout_s: float) -> None:
        poster = Poster(url, timeout_s, "Slack")
        super().__init__(name, poster, lambda m: encode_json(payload(m)), slack_refusal)
