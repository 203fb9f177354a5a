"""What a hold's scope matches in the log, before it is placed.

``customer:<id>`` accepts the customer's ref (``hubspot/customer/C-17``) or the source's
own id as users type it (``C-17``, ``c-17``): it is resolved to the one ref it names, and
refused as ambiguous when it names several. A scope that matches no data subject is
refused unless ``allow_empty`` is given (the hold then waits for records to arrive).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from syncledger.audit.business_dates import DocumentDates, in_period
from syncledger.audit.context import AuditContext
from syncledger.audit.errors import HoldError
from syncledger.audit.index import LogIndex
from syncledger.audit.retention import load_policy
from syncledger.audit.scope import Scope

if TYPE_CHECKING:
    from syncledger.audit.holds import HoldRequest


def _own_id(ref: str) -> str:
    return ref.rsplit("/", 1)[-1].casefold()


def names_customer(typed: str, ref: str) -> bool:
    """Does ``typed`` (a ref, or the source's own id as users type it) name ``ref``?"""
    wanted = typed.strip().casefold()
    return ref == typed or ref.casefold() == wanted or _own_id(ref) == wanted


def resolve_customer(typed: str, customers: set[str]) -> str | None:
    """The customer ref ``typed`` names (exact, or by the source's own id); None if none."""
    if typed in customers:
        return typed
    found = sorted(c for c in customers if names_customer(typed, c))
    if len(found) > 1:
        raise HoldError(f"customer {typed!r} is ambiguous: {', '.join(found)}; give the full ref")
    return found[0] if found else None


class _Matcher:
    def __init__(self, index: LogIndex, ctx: AuditContext) -> None:
        self.subjects = index.by_subject()
        self.dates = DocumentDates.of(index)
        self.ctx = ctx
        self.customers = {c for (e, c) in self.subjects if e == ctx.entity}

    def count(self, scope: Scope, case_customers: tuple[str, ...]) -> int:
        if scope.kind == "entity":
            return sum(1 for (e, _) in self.subjects if e == scope.value)
        if scope.kind == "customer":
            return int(scope.value in self.customers)
        if scope.kind == "case":
            named = [c for c in case_customers if c in self.customers]
            return len(named) if case_customers else len(self.customers)
        end_month = load_policy(self.ctx).end_month(self.ctx.entity)
        return sum(
            1
            for (e, c), events in self.subjects.items()
            if e == self.ctx.entity
            and any(
                in_period(scope.value, d, end_month)
                for d in self.dates.subject_days((e, c), events)
            )
        )


async def resolve(ctx: AuditContext, request: HoldRequest) -> tuple[Scope, tuple[str, ...]]:
    """The scope with customer ids resolved to refs, and the case's customers."""
    matcher = _Matcher(await LogIndex.build(ctx.store), ctx)
    scope, case = request.scope, request.case_customers
    if scope.kind == "customer":
        scope = Scope("customer", resolve_customer(scope.value, matcher.customers) or scope.value)
    case = tuple(resolve_customer(c, matcher.customers) or c for c in case)
    if not request.allow_empty and _empty(matcher, scope, case):
        raise HoldError(
            f"scope {scope} matches no customer in entity {ctx.entity} (check the id or "
            "period); pass --allow-empty to place it anyway: it then covers records that "
            "arrive later"
        )
    return scope, case


def _empty(matcher: _Matcher, scope: Scope, case: tuple[str, ...]) -> bool:
    if scope.kind == "case" and case:
        return any(c not in matcher.customers for c in case)
    return matcher.count(scope, case) == 0
