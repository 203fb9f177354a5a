"""Legal holds: placed and released as events; an active hold overrides retention."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from syncledger.audit.context import AuditContext
from syncledger.audit.errors import HoldError
from syncledger.audit.events import LegalHoldPlaced, LegalHoldReleased, audit_filter
from syncledger.audit.index import LoggedEvent, logged
from syncledger.audit.scope import Scope, period_contains
from syncledger.core.ids import uuid7

#: the events a ``HoldBook`` folds
HOLD_EVENTS = (LegalHoldPlaced, LegalHoldReleased)


@dataclass(frozen=True)
class Hold:
    hold_id: str
    entity: str
    scope: Scope
    reason: str
    placed_by: str
    placed_at: datetime
    seq: int
    case_customers: tuple[str, ...] = ()
    released_by: str | None = None
    released_reason: str | None = None
    released_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.released_at is None

    def covers(self, entity: str, customer: str, activity: Iterable[datetime]) -> bool:
        """Does this (active) hold protect the data subject ``customer`` of ``entity``?"""
        if not self.active:
            return False
        if self.scope.kind == "entity":
            return self.scope.value == entity
        if self.entity != entity:
            return False
        if self.scope.kind == "customer":
            return self.scope.value == customer
        if self.scope.kind == "period":
            return any(period_contains(self.scope.value, moment) for moment in activity)
        return not self.case_customers or customer in self.case_customers

    def to_json(self) -> dict[str, object]:
        return {
            "hold_id": self.hold_id,
            "entity": self.entity,
            "scope": str(self.scope),
            "reason": self.reason,
            "placed_by": self.placed_by,
            "placed_at": self.placed_at.isoformat(),
            "seq": self.seq,
            "case_customers": list(self.case_customers),
            "active": self.active,
            "released_by": self.released_by,
            "released_reason": self.released_reason,
            "released_at": self.released_at.isoformat() if self.released_at else None,
        }


class HoldBook:
    """The state of every hold, folded from the log."""

    def __init__(self) -> None:
        self.holds: dict[str, Hold] = {}

    @classmethod
    def fold(cls, events: Iterable[LoggedEvent]) -> HoldBook:
        book = cls()
        for ev in events:
            book.apply(ev)
        return book

    @classmethod
    async def load(cls, ctx: AuditContext) -> HoldBook:
        events = [logged(s.seq, s.raw) async for s in ctx.store.read(audit_filter("hold"))]
        return cls.fold(events)

    def apply(self, ev: LoggedEvent) -> None:
        """Fold one event; anything but a hold placed or released is not a hold's."""
        match ev.event:
            case LegalHoldPlaced() as placed:
                self._placed(ev, placed)
            case LegalHoldReleased() as released:
                self._released(ev, released)

    def _placed(self, ev: LoggedEvent, data: LegalHoldPlaced) -> None:
        self.holds[data.hold_id] = Hold(
            data.hold_id,
            ev.entity,
            Scope(data.scope_kind, data.scope_value),
            data.reason,
            data.placed_by,
            ev.occurred_at,
            ev.seq,
            data.case_customers,
        )

    def _released(self, ev: LoggedEvent, data: LegalHoldReleased) -> None:
        hold = self.holds.get(data.hold_id)
        if hold is not None and hold.active:
            self.holds[data.hold_id] = replace(
                hold,
                released_by=data.released_by,
                released_reason=data.reason,
                released_at=ev.occurred_at,
            )

    def active(self) -> list[Hold]:
        return [h for h in self.holds.values() if h.active]

    def covering(self, entity: str, customer: str, activity: list[datetime]) -> list[Hold]:
        return [h for h in self.holds.values() if h.covers(entity, customer, activity)]


async def place_hold(
    ctx: AuditContext, scope: Scope, reason: str, case_customers: tuple[str, ...] = ()
) -> Hold:
    if not reason.strip():
        raise HoldError("a legal hold needs a reason (e.g. the matter or request it serves)")
    if case_customers and scope.kind != "case":
        raise HoldError("--customer narrows a case hold only; use --scope customer:<id>")
    hold_id = "hold-" + uuid7()
    payload = LegalHoldPlaced(
        hold_id=hold_id,
        scope_kind=scope.kind,
        scope_value=scope.value,
        reason=reason.strip(),
        placed_by=ctx.actor,
        case_customers=case_customers,
    )
    await ctx.append_audit(payload, "hold", hold_id)
    book = await HoldBook.load(ctx)
    return book.holds[hold_id]


async def release_hold(ctx: AuditContext, hold_id: str, reason: str) -> Hold:
    if not reason.strip():
        raise HoldError("releasing a legal hold needs a reason")
    book = await HoldBook.load(ctx)
    hold = book.holds.get(hold_id)
    if hold is None:
        raise HoldError(f"no legal hold {hold_id}; `syncledger audit hold list` shows them")
    if not hold.active:
        raise HoldError(f"legal hold {hold_id} was already released by {hold.released_by}")
    payload = LegalHoldReleased(hold_id=hold_id, reason=reason.strip(), released_by=ctx.actor)
    await ctx.append_audit(payload, "hold", hold_id, entity=hold.entity)
    book = await HoldBook.load(ctx)
    return book.holds[hold_id]
