"""Legal holds placed by rules on events (issue 18).

Rules live in ``<data dir>/audit/hold_rules.toml`` (docs/audit.md)::

    [[rule]]
    name = "disputes"              # the hold is placed by the identity ``rule:disputes``
    on = "dispute"                 # an invoice marked disputed (InvoiceDisputed)
    reason = "disputed invoice: keep the customer's records"
    review_after_days = 365        # optional: the hold's review date

    [[rule]]
    name = "large-eur-mismatch"
    on = "mismatch"                # MismatchDetected whose money at stake ...
    currency = "EUR"               # ... is in this currency (no exchange rate is assumed)
    above = "10000.00"             # ... and larger than this (absolute value)
    mismatch_types = []            # optional: only these mismatch types

    [[rule]]
    name = "acme-litigation"
    on = "customer"                # any source record of this customer
    customer = "C-17"              # as users type it: the source's own id, or the ref

A rule holds the data subject its event is about (the customer: a disputed invoice's or
a mismatched record's customer, or the named one) with scope ``customer:<ref>``. Each rule
places its hold on a customer **once**: the hold's id is derived from the entity, the rule
and the customer, and the hold is appended only as the first event of its subject, so a
second run, a restart that reads the log again, or a second process evaluating the same
rules places nothing twice. A hold released by the compliance role is not placed again by
the same rule for the same customer: the release is the person's decision.

An event whose record names no customer cannot be held by customer; it is counted
(``without_customer``) and logged, never guessed at. ``hold.placed`` goes to the alert
channels that take the ``hold`` topic like any other hold (``audit/alert_drafts.py``).
The file format is this module's own: nothing outside syncledger defines it.
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic import ValidationError as PydanticValidationError

from syncledger.audit.context import AuditContext
from syncledger.audit.events import audit_subject
from syncledger.audit.hold_scope import names_customer
from syncledger.audit.holds import Hold, HoldRequest, place
from syncledger.audit.scope import Scope
from syncledger.core.decode import read_wanted
from syncledger.core.errors import ConcurrencyError, ConfigurationError
from syncledger.core.events import (
    EventData,
    InvoiceDisputed,
    LedgerPushSucceeded,
    MismatchDetected,
    RecordLinked,
    SourceRecordObserved,
)
from syncledger.core.ids import sha256_hex
from syncledger.core.store import StoredEvent
from syncledger.core.subjects import entity_filter

log = logging.getLogger(__name__)

RuleKind = Literal["dispute", "mismatch", "customer"]
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: the events rules read: what they fire on, and what ties a record to its customer
_READ: tuple[type[EventData], ...] = (
    SourceRecordObserved,
    LedgerPushSucceeded,
    RecordLinked,
    InvoiceDisputed,
    MismatchDetected,
)


class HoldRule(BaseModel):
    """One rule of ``hold_rules.toml``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    on: RuleKind
    reason: str | None = None
    review_after_days: int | None = Field(default=None, gt=0)
    currency: str | None = None
    above: Decimal | None = Field(default=None, ge=0)
    mismatch_types: tuple[str, ...] = ()
    customer: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if not _NAME.match(self.name):
            raise ValueError(f"rule name {self.name!r}: letters, digits, '_', '-', '.' only")
        wants = {"mismatch": ("currency", "above"), "customer": ("customer",), "dispute": ()}
        for option in ("currency", "above", "customer"):
            given = getattr(self, option) is not None
            if given != (option in wants[self.on]):
                need = "needs" if not given else "does not take"
                raise ValueError(f"rule {self.name!r} (on = {self.on!r}) {need} {option}")
        if self.currency is not None and not re.fullmatch(r"[A-Za-z]{3}", self.currency):
            raise ValueError(f"rule {self.name!r}: currency {self.currency!r} is not ISO 4217")
        if self.mismatch_types and self.on != "mismatch":
            raise ValueError(f"rule {self.name!r}: mismatch_types is for on = 'mismatch'")
        return self


class HoldRules(BaseModel):
    """Every rule of an entity's data directory (none when the file is absent)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: tuple[HoldRule, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> Self:
        names = [r.name for r in self.rule]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"rule names must be unique: {', '.join(twice)}")
        return self

    @classmethod
    def load(cls, path: Path) -> HoldRules:
        if not path.exists():
            return cls()
        try:
            return cls.model_validate(tomllib.loads(path.read_text()))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"hold rules file {path} is not TOML: {exc}") from exc
        except PydanticValidationError as exc:
            problems = "; ".join(_problem(e) for e in exc.errors())
            raise ConfigurationError(f"hold rules file {path}: {problems}") from exc
        except OSError as exc:
            raise ConfigurationError(f"cannot read hold rules file {path}: {exc}") from exc


def _problem(error: object) -> str:
    assert isinstance(error, dict)
    where = ".".join(str(p) for p in error.get("loc", ()))
    return f"{where}: {error.get('msg')}" if where else str(error.get("msg"))


def rules_file(ctx: AuditContext) -> Path:
    return ctx.audit_dir / "hold_rules.toml"


@dataclass(frozen=True)
class Firing:
    """A rule that fired on an event: hold ``customer`` because of ``why``."""

    rule: HoldRule
    customer: str | None
    trigger_event: str
    why: str


@dataclass
class RulesReport:
    placed: list[Hold] = field(default_factory=list)
    already: int = 0  # fired again on a customer the rule holds (or held) already
    without_customer: int = 0

    def text(self) -> str:
        lines = [f"hold rules: {len(self.placed)} placed, {self.already} already placed"]
        if self.without_customer:
            lines[0] += f", {self.without_customer} events name no customer (not held)"
        lines += [f"  placed {h.hold_id} on {h.scope} by {h.placed_by}" for h in self.placed]
        return "\n".join(lines)


@dataclass
class _Customers:
    """Which customer a source record, or a linked ledger record, belongs to."""

    of_ref: dict[str, str] = field(default_factory=dict)
    of_ledger: dict[tuple[str, str], str] = field(default_factory=dict)  # → source ref

    def learn(self, event: EventData) -> None:
        if isinstance(event, SourceRecordObserved):
            customer = event.ref if event.kind == "customer" else event.customer_ref
            if customer:
                self.of_ref[event.ref] = customer
        elif isinstance(event, LedgerPushSucceeded | RecordLinked):
            self.of_ledger[(event.ledger, event.ledger_ref)] = event.source_ref

    def of_mismatch(self, event: MismatchDetected) -> str | None:
        ref = event.source_ref
        if ref is None and event.ledger_ref is not None:
            ref = self.of_ledger.get((event.ledger, event.ledger_ref))
        return None if ref is None else self.of_ref.get(ref)


def _fires(rule: HoldRule, event: EventData, customers: _Customers) -> tuple[str | None, str]:
    """(the customer to hold, why) when ``rule`` fires on ``event``; ("", "") when not."""
    if rule.on == "dispute" and isinstance(event, InvoiceDisputed):
        return customers.of_ref.get(event.source_ref), f"invoice {event.source_ref} disputed"
    if rule.on == "mismatch" and isinstance(event, MismatchDetected) and _large(rule, event):
        about = event.source_ref or event.ledger_ref or event.key
        why = f"{event.mismatch_type} of {event.at_stake} {event.currency} on {about}"
        return customers.of_mismatch(event), why
    if rule.on == "customer" and isinstance(event, SourceRecordObserved):
        customer = customers.of_ref.get(event.ref)
        if customer is not None and rule.customer and names_customer(rule.customer, customer):
            return customer, f"customer {rule.customer} named"
    return "", ""


def _large(rule: HoldRule, event: MismatchDetected) -> bool:
    if event.at_stake is None or event.currency is None or rule.currency is None:
        return False
    if rule.mismatch_types and event.mismatch_type not in rule.mismatch_types:
        return False
    same = event.currency.upper() == rule.currency.upper()
    return same and rule.above is not None and abs(event.at_stake) > rule.above


def rule_hold_id(entity: str, rule: str, customer: str) -> str:
    """The one hold ``rule`` places on ``customer`` (the same in every process)."""
    return "hold-rule-" + sha256_hex(f"{entity}\x00{rule}\x00{customer}".encode())[:24]


class HoldRuleEvaluator:
    """Reads the entity's events as the log grows and places each rule's holds once.

    Where it has read is kept in memory: a new process reads the log again from the
    start, and the holds' own subjects keep that from placing anything twice. A changed
    rules file is read again from the start too (a new rule applies to the past)."""

    def __init__(self, ctx: AuditContext, path: Path | None = None) -> None:
        self._ctx, self._path = ctx, path or rules_file(ctx)
        self._rules = HoldRules()
        self._customers = _Customers()
        self._seq = 0

    async def turn(self) -> RulesReport:
        """One pass over what the log gained since the last."""
        report = RulesReport()
        rules = HoldRules.load(self._path)
        if rules != self._rules:
            self._rules, self._customers, self._seq = rules, _Customers(), 0
        if not rules.rule:
            return report
        ctx = self._ctx
        async for stored in ctx.store.read(entity_filter(ctx.entity), self._seq + 1):
            self._seq = stored.seq
            event = read_wanted(stored.raw, _READ)
            if event is not None:
                self._customers.learn(event)
                for firing in self._firings(event, stored):
                    await self._place(firing, report)
        return report

    async def turn_line(self) -> str:
        """``run``'s job: a line when a hold was placed, nothing otherwise."""
        report = await self.turn()
        return report.text() if report.placed or report.without_customer else ""

    def _firings(self, event: EventData, stored: StoredEvent) -> Iterator[Firing]:
        for rule in self._rules.rule:
            customer, why = _fires(rule, event, self._customers)
            if why:
                yield Firing(rule, customer, stored.envelope().id, why)

    async def _place(self, firing: Firing, report: RulesReport) -> None:
        rule, ctx = firing.rule, self._ctx
        if firing.customer is None:
            report.without_customer += 1
            log.warning("hold rule %s: %s; no customer known: not held", rule.name, firing.why)
            return
        hold_id = rule_hold_id(ctx.entity, rule.name, firing.customer)
        if await ctx.store.subject_last_seq(audit_subject(ctx.entity, "hold", hold_id)):
            report.already += 1
            return
        review = None
        if rule.review_after_days is not None:
            review = ctx.clock().date() + timedelta(days=rule.review_after_days)
        reason = rule.reason or f"hold rule {rule.name}"
        request = HoldRequest(
            Scope("customer", firing.customer),
            f"{reason} ({firing.why})",
            review_on=review,
            allow_empty=True,
            rule=rule.name,
            trigger_event=firing.trigger_event,
            hold_id=hold_id,
        )
        try:
            report.placed.append(await place(ctx, request))
        except ConcurrencyError:  # another process placed it a moment ago
            report.already += 1


async def apply_rules(ctx: AuditContext, path: Path | None = None) -> RulesReport:
    """``syncledger audit hold rules apply``: evaluate the whole log once."""
    return await HoldRuleEvaluator(ctx, path).turn()
