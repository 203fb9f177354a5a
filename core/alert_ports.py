"""The alert side's port (DESIGN §10): where a finance alert goes.

The alert desk (``core/alerts.py``) decides *what* to tell whom and *when* (rules,
thresholds, digests, the retry schedule) and writes every attempt down in the log; a
channel only knows how to say one :class:`AlertMessage` to one place: a Slack incoming
webhook, a Microsoft Teams Workflows webhook, an HTTPS endpoint signed with the Standard
Webhooks scheme, or e-mail over SMTP. Channels live under ``adapters/alerts/``.

A channel either returns (the receiver took the message: a 2xx, or the SMTP server
accepted it) or raises :class:`AlertNotDelivered` saying what to do next: try again
(optionally not before ``retry_after`` seconds), give up on this message (``permanent``,
the receiver refuses it as it is), or stop using the endpoint (``gone``: it was revoked
or deleted — HTTP 410, Slack's ``no_service``). Nothing else crosses this boundary; the
reason text never holds the endpoint's URL, token or password.

``AlertMessage.alert_id`` is the same on every attempt of one alert (and on a replay), so
a receiver that deduplicates (``webhook-id``, the e-mail ``Message-ID``) sees each alert
once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

from syncledger.core.errors import SyncLedgerError

Severity = Literal["info", "warning", "critical"]


@dataclass(frozen=True, slots=True)
class AlertField:
    """One labelled value of an alert: ``Ledger: qbo``, ``Expected: 125.00 USD``."""

    label: str
    value: str


@dataclass(frozen=True, slots=True)
class AlertItem:
    """One alert inside a digest: its headline and its fields."""

    title: str
    fields: tuple[AlertField, ...] = ()


@dataclass(frozen=True, slots=True)
class AlertMessage:
    #: stable across retries and replays: the Standard Webhooks ``webhook-id``, the
    #: e-mail's ``Message-ID``; only ``[A-Za-z0-9_-]``
    alert_id: str
    #: dot-hierarchical over ``[a-z0-9_]``: ``mismatch.detected``, ``mismatch.resolved``,
    #: ``mismatch.digest``, ``push.abandoned``, ``hold.placed``, ``retention.completed``,
    #: ``alert.test``
    event_type: str
    #: one line a person reads first (Slack's notification text, the e-mail subject)
    title: str
    severity: Severity
    #: when what the alert is about happened (UTC)
    occurred_at: datetime
    fields: tuple[AlertField, ...] = ()
    #: a digest's member alerts, in order (empty for a single alert)
    items: tuple[AlertItem, ...] = ()
    #: the JSON-able payload a signed webhook carries as ``data``
    data: Mapping[str, object] = field(default_factory=dict)
    #: where to look (the console or a report), when one is configured
    link: str | None = None


class AlertNotDelivered(SyncLedgerError):
    """The receiver did not take the message; ``reason`` says why in words (no secret)."""

    def __init__(
        self,
        reason: str,
        *,
        retry_after: float | None = None,
        permanent: bool = False,
        gone: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        #: the receiver asked to wait this long (Retry-After, Slack's 429) before the next try
        self.retry_after = retry_after
        #: this message will never be taken as it is (a 4xx other than 408/409/425/429)
        self.permanent = permanent
        #: the endpoint is gone (HTTP 410, a revoked Slack webhook): park the channel
        self.gone = gone


@runtime_checkable
class AlertChannel(Protocol):
    """One configured destination (``[[alert_channels]]`` in ``syncledger.toml``)."""

    @property
    def name(self) -> str: ...

    async def deliver(self, message: AlertMessage) -> None:
        """Say ``message`` once; raise :class:`AlertNotDelivered` when it was not taken."""
        ...

    async def aclose(self) -> None: ...
