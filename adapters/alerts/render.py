"""Text pieces every channel shows the same way: when, how severe, the id's shape."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Final

from syncledger.core.alert_ports import AlertMessage, AlertNotDelivered

_ALERT_ID: Final = re.compile(r"^[A-Za-z0-9_-]{1,200}$")
SEVERITY_WORD: Final = {"info": "Info", "warning": "Warning", "critical": "Critical"}


def checked_id(message: AlertMessage) -> str:
    """The alert id, which becomes a ``webhook-id`` or a ``Message-ID``; a malformed one
    is refused for good (it would be refused on every try)."""
    if not _ALERT_ID.match(message.alert_id):
        raise AlertNotDelivered(
            "the alert id is not 1-200 of [A-Za-z0-9_-]: it cannot be sent as an id",
            permanent=True,
        )
    return message.alert_id


def when(moment: datetime) -> str:
    """``2026-03-01 14:05 UTC`` (a naive time is taken as UTC)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis when it was longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summary_line(message: AlertMessage) -> str:
    """``Critical · mismatch.detected · 2026-03-01 14:05 UTC``."""
    word = SEVERITY_WORD[message.severity]
    return f"{word} · {message.event_type} · {when(message.occurred_at)}"


def is_web_link(link: str | None) -> bool:
    return bool(link) and str(link).startswith(("https://", "http://"))
