"""How audit events are told to finance's alert channels (``core/alert_rules.py``):
a legal hold placed, a retention run done. Registered by the composition root."""

from __future__ import annotations

from syncledger.audit.events import LegalHoldPlaced, RetentionRunCompleted
from syncledger.core.alert_rules import Draft, line, register_drafter
from syncledger.core.events import Envelope, EventData


def _hold(env: Envelope, event: EventData) -> Draft:
    assert isinstance(event, LegalHoldPlaced)
    scope = f"{event.scope_kind} {event.scope_value}"
    return Draft(
        topic="hold",
        event_type="hold.placed",
        title=f"Legal hold placed on {scope}",
        severity="info",
        fields=(
            line("Entity", env.entity),
            line("Scope", scope),
            line("Reason", event.reason),
            line("Placed by", event.placed_by),
        ),
        data={
            "entity": env.entity,
            "hold_id": event.hold_id,
            "scope_kind": event.scope_kind,
            "scope_value": event.scope_value,
            "reason": event.reason,
            "placed_by": event.placed_by,
        },
        about_event=env.id,
        about_at=env.occurred_at,
    )


def _retention(env: Envelope, event: EventData) -> Draft:
    assert isinstance(event, RetentionRunCompleted)
    return Draft(
        topic="retention",
        event_type="retention.completed",
        title=(
            f"Retention run as of {event.as_of}: {event.shredded} erased, "
            f"{event.held} kept under hold"
        ),
        severity="info",
        fields=(
            line("Entity", env.entity),
            line("Erased", event.shredded),
            line("Kept under hold", event.held),
            line("Not yet expired", event.not_expired),
        ),
        data={
            "entity": env.entity,
            "run_id": event.run_id,
            "as_of": event.as_of,
            "shredded": event.shredded,
            "held": event.held,
            "not_expired": event.not_expired,
        },
        about_event=env.id,
        about_at=env.occurred_at,
    )


def register() -> None:
    register_drafter(LegalHoldPlaced, _hold)
    register_drafter(RetentionRunCompleted, _retention)
