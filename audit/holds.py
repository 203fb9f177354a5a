"""Legal holds: placed, extended and released as events; an active hold overrides retention.

A hold covers data subjects (customers): ``customer:<id>`` one (the source's own id as
users type it is resolved to the record's ref), ``entity:<id>`` all of an entity,
``period:<yyyy[-mm]>`` those with documents dated in that fiscal year / month
(:mod:`syncledger.audit.business_dates`), ``case:<id>`` the customers named with it (or the
entity). A hold that matches nothing is refused unless asked for (``allow_empty``). A
hold carries a review date; it stays until an identity with the compliance role
(:mod:`syncledger.audit.roles`) releases it, and only such an identity may move its review
date.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime

from syncledger.audit.business_dates import in_period
from syncledger.audit.context import AuditContext
from syncledger.audit.errors import HoldError
from syncledger.audit.events import (
    LegalHoldExtended,
    LegalHoldPlaced,
    LegalHoldReleased,
    audit_filter,
)
from syncledger.audit.index import LoggedEvent, logged
from syncledger.audit.roles import operator, require_compliance
from syncledger.audit.scope import Scope
from syncledger.core.ids import uuid7

#: the events a ``HoldBook`` folds
HOLD_EVENTS = (LegalHoldPlaced, LegalHoldReleased, LegalHoldExtended)


@dataclass(frozen=True)
class SubjectFacts:
    """What a hold needs to know about a data subject: who, and its documents' dates."""

    entity: str
    customer: str
    days: frozenset[date] = frozenset()


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
    review_on: date | None = None
    rule: str | None = None

    @property
    def active(self) -> bool:
        return self.released_at is None

    def review_due(self, today: date) -> bool:
        return self.active and self.review_on is not None and self.review_on <= today

    def covers(self, subject: SubjectFacts, end_month: int = 12) -> bool:
        """Does this (active) hold protect ``subject``? ``end_month``: the month the
        subject's entity ends its fiscal year in."""
        if not self.active:
            return False
        if self.scope.kind == "entity":
            return self.scope.value == subject.entity
        if self.entity != subject.entity:
            return False
        if self.scope.kind == "customer":
            return self.scope.value == subject.customer
        if self.scope.kind == "period":
            return any(in_period(self.scope.value, day, end_month) for day in subject.days)
        return not self.case_customers or subject.customer in self.case_customers

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
            "review_on": self.review_on.isoformat() if self.review_on else None,
            "rule": self.rule,
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
            case LegalHoldExtended() as extended:
                self._extended(extended)

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
            review_on=date.fromisoformat(data.review_on) if data.review_on else None,
            rule=data.rule,
        )

    def _extended(self, data: LegalHoldExtended) -> None:
        hold = self.holds.get(data.hold_id)
        if hold is not None and hold.active:
            self.holds[data.hold_id] = replace(hold, review_on=date.fromisoformat(data.review_on))

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

    def covering(self, subject: SubjectFacts, end_month: int = 12) -> list[Hold]:
        return [h for h in self.holds.values() if h.covers(subject, end_month)]


@dataclass(frozen=True)
class HoldRequest:
    """A hold to place: what, why, until when it is reviewed, and by which rule (if any)."""

    scope: Scope
    reason: str
    case_customers: tuple[str, ...] = ()
    review_on: date | None = None
    allow_empty: bool = False
    rule: str | None = None
    trigger_event: str | None = None
    #: a rule's hold has its own id: appended only to an empty subject, so it is placed once
    hold_id: str | None = None


async def place_hold(
    ctx: AuditContext,
    scope: Scope,
    reason: str,
    case_customers: tuple[str, ...] = (),
    *,
    review_on: date | None = None,
    allow_empty: bool = False,
) -> Hold:
    """Place a hold by the acting identity (:func:`syncledger.audit.roles.operator`)."""
    request = HoldRequest(scope, reason, case_customers, review_on, allow_empty)
    return await place(ctx, request)


async def place(ctx: AuditContext, request: HoldRequest) -> Hold:
    from syncledger.audit.hold_scope import resolve  # reads the log: index, dates

    if not request.reason.strip():
        raise HoldError("a legal hold needs a reason (e.g. the matter or request it serves)")
    if request.case_customers and request.scope.kind != "case":
        raise HoldError("--customer narrows a case hold only; use --scope customer:<id>")
    if request.rule is None:
        scope, customers = await resolve(ctx, request)
    else:  # a rule names the customer ref its event is about: nothing to resolve
        scope, customers = request.scope, request.case_customers
    hold_id = request.hold_id or "hold-" + uuid7()
    payload = LegalHoldPlaced(
        hold_id=hold_id,
        scope_kind=scope.kind,
        scope_value=scope.value,
        reason=request.reason.strip(),
        placed_by=operator(ctx) if request.rule is None else f"rule:{request.rule}",
        case_customers=customers,
        review_on=request.review_on.isoformat() if request.review_on else None,
        rule=request.rule,
        trigger_event=request.trigger_event,
    )
    await ctx.append_audit(payload, "hold", hold_id, first=request.hold_id is not None)
    book = await HoldBook.load(ctx)
    return book.holds[hold_id]


async def _active(ctx: AuditContext, hold_id: str) -> Hold:
    book = await HoldBook.load(ctx)
    hold = book.holds.get(hold_id)
    if hold is None:
        raise HoldError(f"no legal hold {hold_id}; `syncledger audit hold list` shows them")
    if not hold.active:
        raise HoldError(f"legal hold {hold_id} was already released by {hold.released_by}")
    return hold


async def release_hold(ctx: AuditContext, hold_id: str, reason: str) -> Hold:
    if not reason.strip():
        raise HoldError("releasing a legal hold needs a reason")
    who = require_compliance(ctx, "release a legal hold")
    hold = await _active(ctx, hold_id)
    payload = LegalHoldReleased(hold_id=hold_id, reason=reason.strip(), released_by=who)
    await ctx.append_audit(payload, "hold", hold_id, entity=hold.entity)
    book = await HoldBook.load(ctx)
    return book.holds[hold_id]


async def extend_hold(ctx: AuditContext, hold_id: str, review_on: date, reason: str) -> Hold:
    """Move an active hold's review date later."""
    if not reason.strip():
        raise HoldError("extending a legal hold needs a reason")
    who = require_compliance(ctx, "extend a legal hold")
    hold = await _active(ctx, hold_id)
    if hold.review_on is not None and review_on <= hold.review_on:
        raise HoldError(
            f"{review_on} is not after the current review date {hold.review_on} of {hold_id}"
        )
    payload = LegalHoldExtended(
        hold_id=hold_id, review_on=review_on.isoformat(), reason=reason.strip(), extended_by=who
    )
    await ctx.append_audit(payload, "hold", hold_id, entity=hold.entity)
    book = await HoldBook.load(ctx)
    return book.holds[hold_id]
