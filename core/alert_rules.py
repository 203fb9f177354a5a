"""What the log says that finance must hear, and which channel hears it.

:func:`draft_for` turns one stored event (a mismatch found or cleared, a push abandoned,
a legal hold placed, a retention run done) into a :class:`Draft`: its headline, its
fields and the JSON a signed webhook carries. :func:`wanted_by` applies one channel's
rules (topics, entities, ledgers, mismatch types, per-currency amount thresholds);
:func:`raised_for` makes the ``AlertRaised`` event, whose ``alert_id`` is derived from the
channel and the event it tells, so raising twice (two processes, a redelivered message)
names the same alert.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from syncledger.core.alert_config import AlertChannelConfig
from syncledger.core.alert_ports import Severity
from syncledger.core.events import (
    AlertLine,
    AlertRaised,
    Envelope,
    EventData,
    LedgerPushAbandoned,
    MismatchDetected,
    MismatchResolved,
)
from syncledger.core.words import money

_MISMATCH_WORDS = {
    "missing_in_ledger": "missing in the ledger",
    "orphan_in_ledger": "in the ledger but no longer in the source",
    "amount_mismatch": "amounts differ",
    "currency_mismatch": "currencies differ",
    "status_mismatch": "statuses differ",
    "duplicate_in_ledger": "duplicated in the ledger",
    "tax_mismatch": "tax differs",
    "application_mismatch": "not applied as pushed",
    "balance_mismatch": "amount paid differs",
    "credit_unapplied": "credit note never applied",
    "due_date_mismatch": "due dates differ",
    "line_items_mismatch": "line item codes differ",
    "ar_balance_mismatch": "AR balance differs",
    "customer_name_mismatch": "customer name differs",
}


@dataclass(frozen=True)
class Draft:
    """An alert before it is addressed to a channel."""

    topic: str
    event_type: str
    title: str
    severity: Severity
    fields: tuple[AlertLine, ...]
    data: dict[str, Any]
    about_event: str
    about_at: datetime
    ledger: str | None = None
    mismatch_key: str | None = None
    mismatch_type: str | None = None
    at_stake: Decimal | None = None
    currency: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


Drafter = Callable[[Envelope, EventData], "Draft | None"]
#: event type → how it is told; core's own below, audit's registered by the
#: composition root (``audit/alert_drafts.py``): core imports nothing from audit
_DRAFTERS: dict[type[EventData], Drafter] = {}


def register_drafter(cls: type[EventData], drafter: Drafter) -> None:
    _DRAFTERS[cls] = drafter


def told_types() -> tuple[type[EventData], ...]:
    """The event types an alert can be about."""
    return (*_DRAFTERS, MismatchResolved)


def draft_for(
    envelope: Envelope, event: EventData, open_types: dict[str, str] | None = None
) -> Draft | None:
    """The alert ``event`` makes, or None when it tells finance nothing.
    ``open_types``: mismatch key → type, to name what a ``MismatchResolved`` cleared."""
    if isinstance(event, MismatchResolved):
        return _resolved(envelope, event, (open_types or {}).get(event.key))
    drafter = _DRAFTERS.get(type(event))
    return drafter(envelope, event) if drafter is not None else None


def line(label: str, value: object) -> AlertLine:
    return AlertLine(label=label, value=str(value))


def _money(amount: Decimal | None, currency: str | None) -> str | None:
    if amount is None:
        return None
    return money(amount, currency)


def _detected(env: Envelope, event: EventData) -> Draft:
    assert isinstance(event, MismatchDetected)
    e = event
    what = _MISMATCH_WORDS.get(e.mismatch_type, e.mismatch_type)
    record = e.source_ref or e.ledger_ref or e.key
    fields = [line("Entity", env.entity), line("Ledger", e.ledger), line("Record", record)]
    if e.ledger_ref:
        fields.append(line("Ledger id", e.ledger_ref))
    if e.expected is not None:
        fields.append(line("Expected", e.expected))
    if e.actual is not None:
        fields.append(line("Ledger has", e.actual))
    stake = _money(e.at_stake, e.currency)
    if stake:
        fields.append(line("At stake", stake))
    grave = e.mismatch_type in ("duplicate_in_ledger", "missing_in_ledger")
    severity: Severity = "critical" if grave else "warning"
    return Draft(
        topic="mismatch",
        event_type="mismatch.detected",
        title=f"Mismatch on {e.ledger}: {record} {what}",
        severity=severity,
        fields=tuple(fields),
        data={
            "entity": env.entity,
            "ledger": e.ledger,
            "mismatch_key": e.key,
            "mismatch_type": e.mismatch_type,
            "source_ref": e.source_ref,
            "ledger_ref": e.ledger_ref,
            "expected": e.expected,
            "actual": e.actual,
            "at_stake": None if e.at_stake is None else str(e.at_stake),
            "currency": e.currency,
            "run_id": e.run_id,
        },
        about_event=env.id,
        about_at=env.occurred_at,
        ledger=e.ledger,
        mismatch_key=e.key,
        mismatch_type=e.mismatch_type,
        at_stake=e.at_stake,
        currency=e.currency,
    )


def _resolved(env: Envelope, e: MismatchResolved, kind: str | None) -> Draft:
    record = e.key.split("|")[1] or e.key.split("|")[2]
    what = f" ({_MISMATCH_WORDS.get(kind, kind)})" if kind else ""
    return Draft(
        topic="resolved",
        event_type="mismatch.resolved",
        title=f"Mismatch cleared on {e.ledger}: {record}{what}",
        severity="info",
        fields=(line("Entity", env.entity), line("Ledger", e.ledger), line("Record", record)),
        data={"entity": env.entity, "ledger": e.ledger, "mismatch_key": e.key, "run_id": e.run_id},
        about_event=env.id,
        about_at=env.occurred_at,
        ledger=e.ledger,
        mismatch_key=e.key,
        mismatch_type=kind,
    )


def _abandoned(env: Envelope, event: EventData) -> Draft:
    assert isinstance(event, LedgerPushAbandoned)
    e = event
    why = "the ledger is unreachable" if e.transient else "the ledger refused it"
    fields = (
        line("Entity", env.entity),
        line("Ledger", e.ledger),
        line("Record", e.source_ref),
        line("Attempts", e.attempts),
        line("Reason", f"{e.code + ': ' if e.code else ''}{e.message}"),
    )
    return Draft(
        topic="abandoned",
        event_type="push.abandoned",
        title=f"Not pushed to {e.ledger}: {e.source_ref} ({why})",
        severity="warning" if e.transient else "critical",
        fields=fields,
        data={
            "entity": env.entity,
            "ledger": e.ledger,
            "source_ref": e.source_ref,
            "attempts": e.attempts,
            "code": e.code,
            "message": e.message,
            "transient": e.transient,
        },
        about_event=env.id,
        about_at=env.occurred_at,
        ledger=e.ledger,
    )


register_drafter(MismatchDetected, _detected)
register_drafter(LedgerPushAbandoned, _abandoned)


def wanted_by(config: AlertChannelConfig, draft: Draft, entity: str) -> bool:
    """Whether the channel's rules ask to hear ``draft``."""
    if draft.topic not in config.topics:
        return False
    if config.entities and entity not in config.entities:
        return False
    if config.ledgers and draft.ledger is not None and draft.ledger not in config.ledgers:
        return False
    kind = draft.mismatch_type
    if config.mismatch_types and kind is not None and kind not in config.mismatch_types:
        return False
    return not _below_threshold(config, draft)


def _below_threshold(config: AlertChannelConfig, draft: Draft) -> bool:
    """Below the channel's threshold for the draft's currency. A mismatch with no money at
    stake, or in a currency without a threshold, is never below one."""
    if draft.at_stake is None or draft.currency is None:
        return False
    floor = config.min_amount.get(draft.currency)
    return floor is not None and draft.at_stake < floor


def alert_id_for(channel: str, about_event: str) -> str:
    digest = hashlib.sha256(f"{channel}\n{about_event}".encode()).hexdigest()
    return f"al_{digest[:32]}"


def raised_for(config: AlertChannelConfig, draft: Draft) -> AlertRaised:
    delay = config.open_longer_than if draft.topic == "mismatch" else 0.0
    return AlertRaised(
        alert_id=alert_id_for(config.name, draft.about_event),
        channel=config.name,
        topic=draft.topic,
        event_type=draft.event_type,
        title=draft.title,
        severity=draft.severity,
        fields=draft.fields,
        data=draft.data,
        about_event=draft.about_event,
        about_at=draft.about_at,
        ledger=draft.ledger,
        mismatch_key=draft.mismatch_key,
        not_before=draft.about_at + timedelta(seconds=delay) if delay else None,
        in_digest=config.digest == "daily",
    )
