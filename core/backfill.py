"""``syncledger import --backfill --dry-run``: what a historical import would do, decided
the way the sync worker decides it (``core/sync.py``), read from the ledger, written
nowhere.

Each source record, in the order the import appends them (the order the worker handles
them), gets one outcome:

* **reject**: the mapping or a validation rule refuses it; a customer whose name another
  source customer already uses (``duplicate_name``); a document whose customer (or
  invoice, credit) does not exist in the source (``customer_not_found``, …) or will not
  reach the ledger itself, because it is rejected or waits for review
  (``customer_not_synced``, …); a document naming an item the ledger lacks and the
  mapping does not create (``ledger_item_missing``);
* **link**: the ledger holds it already (our reference on it), or exactly one ledger
  customer matches it;
* **review**: several ledger customers match it;
* **skip**: a void invoice that never reached the ledger (there is nothing to void);
* **hold**: out of the ``[rollout]`` scope (a customer the rule does not admit, and the
  documents of such a customer): logged, not pushed, waiting for rollout;
* **create**: everything else.

What it cannot know without writing: whether a refund's credit still holds the amount
(``refund_exceeds_credit``) and how a ledger answers a write; the real run decides those.
"""

from __future__ import annotations

from collections.abc import AsyncIterable
from dataclasses import dataclass, field

from syncledger.core.mapping import Mapping
from syncledger.core.model import CreditNote, Customer, Invoice, Record
from syncledger.core.ports import LedgerAdapter, SourceItem
from syncledger.core.rollout import RolloutRule
from syncledger.core.sync_context import needs
from syncledger.core.sync_state import name_key
from syncledger.core.validation import (
    CUSTOMER_NOT_FOUND,
    LEDGER_ITEM_MISSING,
    LedgerRules,
    Rejected,
    validate,
)

#: the rejection code of a record whose twin (same customer name) came first
DUPLICATE_NAME = "duplicate_name"


@dataclass
class BackfillPlan:
    create: list[str] = field(default_factory=list)
    link: list[str] = field(default_factory=list)  # "<ref> -> <ledger id> (<how>)"
    reject: list[str] = field(default_factory=list)  # "<ref>: <code>, <code>"
    review: list[str] = field(default_factory=list)  # several ledger records could be it
    skip: list[str] = field(default_factory=list)  # "<ref> (<why>)": nothing to push
    duplicates: list[str] = field(default_factory=list)  # same customer name twice
    items: list[str] = field(default_factory=list)  # ledger items to create: "<code> (<ref>)"
    held: list[str] = field(default_factory=list)  # out of the rollout scope: waits for it
    #: each record's outcome: create, link, review, skip, hold or "reject: <code>, <code>"
    outcomes: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        skip = f", skip {len(self.skip)} (nothing to push)" if self.skip else ""
        held = f", hold {len(self.held)} for rollout" if self.held else ""
        out = [
            f"would create {len(self.create)}, link {len(self.link)}, "
            f"reject {len(self.reject)}, send {len(self.review)} to review{skip}{held}, "
            f"create {len(self.items)} ledger items; "
            f"{len(self.duplicates)} duplicate names in the source"
        ]
        for title, rows in (
            ("link", self.link),
            ("reject", self.reject),
            ("review", self.review),
            ("skip", self.skip),
            ("hold", self.held),
            ("item", self.items),
            ("duplicate", self.duplicates),
        ):
            out.extend(f"  {title}: {row}" for row in rows)
        return "\n".join(out)


@dataclass
class Planner:
    """Visits the source's records in import order and fills :attr:`plan`."""

    ledger: LedgerAdapter
    mapping: Mapping
    rules: LedgerRules
    home_currency: str
    #: the ``[rollout]`` scope in force (None: everything is in scope)
    rollout: RolloutRule | None = None
    plan: BackfillPlan = field(default_factory=BackfillPlan)
    items: dict[str, bool] = field(default_factory=dict)  # code -> in the ledger (or to be)
    names: dict[str, str] = field(default_factory=dict)  # customer name key -> first ref
    seen: dict[str, str] = field(default_factory=dict)  # ref -> outcome so far

    async def run(self, items: AsyncIterable[SourceItem]) -> BackfillPlan:
        async for item in items:
            await self.visit(item)
        self.plan.outcomes = dict(self.seen)
        return self.plan

    async def visit(self, item: SourceItem) -> None:
        ref = f"{item.system}/{item.kind}/{item.id}"
        twin = self._twin(ref, item)
        if self._out_of_scope(ref, item):
            self._outcome(ref, "hold", self.plan.held, f"{ref} (out of the rollout scope)")
            return
        fields, mapped_reasons = self.mapping.apply(item.kind, item.fields)
        shaped = SourceItem(item.system, item.kind, item.id, item.version, fields)
        result = validate(shaped, self.rules, home_currency=self.home_currency)
        found = result.reasons if isinstance(result, Rejected) else ()
        codes = (*(r.code for r in mapped_reasons), *(r.code for r in found))
        if codes or isinstance(result, Rejected):
            self._reject(ref, codes)
            return
        await self._route(ref, result.record, twin)

    def _out_of_scope(self, ref: str, item: SourceItem) -> bool:
        """Held as the worker holds it (``core/rollout_gate.py``): a customer the rule does
        not admit, judged on its raw source fields; a document whose customer is held. A
        document whose customer the source does not hold is left to the dependency check."""
        if self.rollout is None:
            return False
        if item.kind == "customer":
            return not self.rollout.admits(ref, item.fields)
        customer = item.fields.get("customer_id")
        if not customer:
            return False
        return self.seen.get(f"{item.system}/customer/{customer}") == "hold"

    def _twin(self, ref: str, item: SourceItem) -> str | None:
        """The earlier source customer with this one's name (the worker compares the
        names as the source gave them, rejected customers included)."""
        key = name_key(item.fields.get("name")) if item.kind == "customer" else None
        if key is None:
            return None
        first = self.names.setdefault(key, ref)
        if first == ref:
            return None
        self.plan.duplicates.append(f"{ref} has the same name as {first}")
        return first

    async def _route(self, ref: str, record: Record, twin: str | None) -> None:
        if isinstance(record, Invoice) and record.status == "void":
            self._outcome(ref, "skip", self.plan.skip, f"{ref} (void, never in the ledger)")
            return
        if twin is not None:
            self._reject(ref, (DUPLICATE_NAME,))
            return
        missing = self._missing_dependency(ref, record)
        if missing is not None:
            self._reject(ref, (missing,))
            return
        await self._match_or_create(ref, record)

    def _missing_dependency(self, ref: str, record: Record) -> str | None:
        """The rejection code for the first record it needs that will not be in the
        ledger (as ``core/sync_prepare.py`` decides), or None."""
        system = ref.split("/", 1)[0]
        for kind, rid in needs(record):
            outcome = self.seen.get(f"{system}/{kind}/{rid}")
            if outcome is None:
                return CUSTOMER_NOT_FOUND if kind == "customer" else f"{kind}_not_found"
            if outcome not in ("create", "link"):
                return f"{kind}_not_synced"
        return None

    async def _match_or_create(self, ref: str, record: Record) -> None:
        plan, kind = self.plan, ref.split("/")[1]
        found = await self.ledger.find(kind, ref)
        if found is not None:
            row = f"{ref} -> {found.ledger_id} (our reference is on it)"
            self._outcome(ref, "link", plan.link, row)
            return
        if isinstance(record, Customer) and await self._matched(ref, record):
            return
        if isinstance(record, Invoice | CreditNote) and not await self._items(record, ref):
            self._reject(ref, (LEDGER_ITEM_MISSING,))
            return
        disputed = isinstance(record, Invoice) and record.status == "disputed"
        row = f"{ref} (disputed: then credited by a credit note)" if disputed else ref
        self._outcome(ref, "create", plan.create, row)

    async def _matched(self, ref: str, record: Customer) -> bool:
        matches = [m for m in await self.ledger.match_customer(record) if m.external_ref is None]
        if len(matches) == 1:
            row = f"{ref} -> {matches[0].ledger_id} (name/email/tax id match)"
            self._outcome(ref, "link", self.plan.link, row)
            return True
        if len(matches) > 1:
            ids = ", ".join(m.ledger_id for m in matches[:5])
            row = f"{ref}: {len(matches)} ledger customers match ({ids})"
            self._outcome(ref, "review", self.plan.review, row)
            return True
        return False

    async def _items(self, document: Invoice | CreditNote, ref: str) -> bool:
        """Whether every item the lines name is in the ledger or would be created (the
        first document naming a missing one is listed with it), as the sync decides."""
        for code in dict.fromkeys(line.item_code for line in document.lines if line.item_code):
            if code not in self.items:
                known = await self.ledger.find_item(code) is not None
                creatable = self.mapping.items.creates(code)
                if not known and creatable:
                    self.plan.items.append(f"{code} (first named by {ref})")
                self.items[code] = known or creatable
            if not self.items[code]:
                return False
        return True

    def _reject(self, ref: str, codes: tuple[str, ...]) -> None:
        row = f"{ref}: {', '.join(codes)}"
        self._outcome(ref, f"reject: {', '.join(codes)}", self.plan.reject, row)

    def _outcome(self, ref: str, outcome: str, rows: list[str], row: str) -> None:
        self.seen[ref] = outcome
        rows.append(row)
