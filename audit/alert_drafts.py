"""How audit events are told to finance's alert channels (``core/alert_rules.py``):
a legal hold placed, extended or released, a retention run done. Registered by the
composition root."""

from __future__ import annotations

from syncledger.audit.events import (
    LegalHoldExtended,
    LegalHoldPlaced,
    LegalHoldReleased,
    RetentionRunCompleted,
)
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


def _hold_changed(env: Envelope, event: EventData) -> Draft:
    """A hold released or its review date moved: told with the hold id (its scope is in
    the ``hold.placed`` alert and ``audit hold list``)."""
    assert isinstance(event, LegalHoldReleased | LegalHoldExtended)
    released = isinstance(event, LegalHoldReleased)
    who = event.released_by if isinstance(event, LegalHoldReleased) else event.extended_by
    data = {"entity": env.entity, "hold_id": event.hold_id, "reason": event.reason, "by": who}
    if isinstance(event, LegalHoldExtended):
        data["review_on"] = event.review_on
    verb = "released" if released else f"extended to {data.get('review_on')}"
    return Draft(
        topic="hold",
        event_type="hold.released" if released else "hold.extended",
        title=f"Legal hold {event.hold_id} {verb}",
        severity="info",
        fields=(
            line("Entity", env.entity),
            line("Hold", event.hold_id),
            line("Reason", event.reason),
            line("Released by" if released else "Extended by", who),
        ),
        data=data,
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
    register_drafter(LegalHoldReleased, _hold_changed)
    register_drafter(LegalHoldExtended, _hold_changed)
    register_drafter(RetentionRunCompleted, _retention)
