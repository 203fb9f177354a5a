"""``MemoryLedger``: the in-memory fake of the ledger port, for unit tests of the engine.

It honours idempotency keys like a well-behaved platform and can be told to fail:
``fail_next`` raises the given errors on the next writes; ``commit_then_fail`` applies
the next write and then raises (the crash-after-commit case).

Like the real platforms, a credit note applied to an invoice is two writes (the credit
note, then its application) and a refund is two (the refund, then the link that spends
the credit), each run through the record's ``WriteSteps`` journal; ``applied_to`` on reads
says what each payment, credit note and refund is applied to.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal

from syncledger.adapters.items import items_for_lines
from syncledger.core import ports
from syncledger.core.errors import LedgerError, PermanentLedgerError, StaleVersionError
from syncledger.core.model import CreditNote, Customer, Invoice
from syncledger.core.ports import (
    CreateRequest,
    LedgerCapabilities,
    LedgerItem,
    LedgerRecord,
    PushResult,
    StepResult,
    create_one,
)


@dataclass
class MemoryLedger:
    ledger: str = "memory"
    capabilities: LedgerCapabilities = field(
        default_factory=lambda: LedgerCapabilities(idempotency="key", delta="updated_at")
    )
    records: dict[str, LedgerRecord] = field(default_factory=dict)
    #: raised by the next writes (any exception: a ``LedgerError``, or one standing for
    #: the process dying there); ``skip_writes`` lets that many writes through first
    fail_next: list[Exception] = field(default_factory=list)
    commit_then_fail: list[Exception] = field(default_factory=list)
    skip_writes: int = 0
    honour_keys: bool = True
    calls: int = 0
    batches: list[int] = field(default_factory=list)  # sizes of create_many calls
    items: dict[str, LedgerItem] = field(default_factory=dict)  # by ledger id
    _by_key: dict[str, str] = field(default_factory=dict)
    _faulty: bool = True

    def count(self, kind: str) -> int:
        if kind == "item":
            return len(self.items)
        return sum(1 for r in self.records.values() if r.kind == kind)

    def seed_item(self, code: str) -> str:
        """An item someone created by hand in the ledger."""
        item = LedgerItem(f"item-{len(self.items) + 1}", code, code)
        self.items[item.ledger_id] = item
        return item.ledger_id

    async def find_item(self, code: str) -> LedgerItem | None:
        by_code = next((i for i in self.items.values() if i.code == code), None)
        return by_code if by_code is not None else self.items.get(code)

    async def create_item(self, req: ports.ItemWrite) -> LedgerItem:
        existing = next((i for i in self.items.values() if i.code == req.code), None)
        if existing is not None:
            return existing
        self.calls += 1
        self._maybe_fail()
        item = LedgerItem(f"item-{len(self.items) + 1}", req.code, req.code)
        self.items[item.ledger_id] = item
        self._maybe_fail_after()
        return item

    async def _line_items(self, document: Invoice | CreditNote) -> tuple[str | None, ...]:
        """The item each line is booked to; a code naming no item is refused."""
        items = await items_for_lines(document, self.find_item, "the memory ledger")
        return tuple(
            None if line.item_code is None else items[line.item_code].code
            for line in document.lines
        )

    def _write(self, key: str, record: LedgerRecord) -> PushResult:
        self.calls += 1
        self._maybe_fail()
        if self.honour_keys and key in self._by_key:
            existing = self.records[self._by_key[key]]
            return PushResult(existing.ledger_id, existing.version, recovered=True)
        self.records[record.ledger_id] = record
        self._by_key[key] = record.ledger_id
        self._maybe_fail_after()
        return PushResult(record.ledger_id, record.version)

    def _maybe_fail(self) -> None:
        """Start of a write: counts it against ``skip_writes``, else raises ``fail_next``."""
        self._faulty = self.skip_writes <= 0
        if not self._faulty:
            self.skip_writes -= 1
        elif self.fail_next:
            raise self.fail_next.pop(0)

    def _maybe_fail_after(self) -> None:
        """End of a write that committed: raises ``commit_then_fail`` (unless skipped)."""
        if self._faulty and self.commit_then_fail:
            raise self.commit_then_fail.pop(0)

    def _new_id(self) -> str:
        return str(len(self.records) + 1)

    def seed_customer(self, name: str, *, tax_id: str | None = None) -> str:
        """A customer someone created by hand in the ledger (no reference of ours)."""
        rec = LedgerRecord(
            "customer",
            self._new_id(),
            "0",
            None,
            name=name,
            currency="USD",
            updated_at=datetime.now(UTC),
            raw={"tax_id": tax_id} if tax_id else {},
        )
        self.records[rec.ledger_id] = rec
        return rec.ledger_id

    async def find(self, kind: str, external_ref: str) -> LedgerRecord | None:
        return next(
            (r for r in self.records.values() if r.kind == kind and r.external_ref == external_ref),
            None,
        )

    async def match_customer(self, customer: Customer) -> list[LedgerRecord]:
        name = customer.name.casefold().strip()
        tax_id = _tax_key(customer.tax_id)
        return [
            r
            for r in self.records.values()
            if r.kind == "customer"
            and (
                (r.name or "").casefold().strip() == name
                or (tax_id is not None and _tax_key(r.raw.get("tax_id")) == tax_id)
            )
        ]

    async def create_customer(self, req: ports.CustomerWrite) -> PushResult:
        taken = any(
            r.kind == "customer" and r.name == req.customer.name for r in self.records.values()
        )
        if taken and req.idempotency_key not in self._by_key:
            raise PermanentLedgerError(f"duplicate name {req.customer.name!r}", code="duplicate")
        rec = LedgerRecord(
            "customer",
            self._new_id(),
            "0",
            req.external_ref,
            name=req.customer.name,
            currency=req.customer.currency,
            updated_at=datetime.now(UTC),
            raw=_customer_raw(req.customer),
        )
        return self._write(req.idempotency_key, rec)

    async def create_invoice(self, req: ports.InvoiceWrite) -> PushResult:
        items = await self._line_items(req.invoice)
        rec = replace(self._document(req, items), status="open", due_date=req.invoice.due_date)
        return self._write(req.idempotency_key, rec)

    def _document(
        self, req: ports.InvoiceWrite | ports.CreditNoteWrite, line_items: tuple[str | None, ...]
    ) -> LedgerRecord:
        """A new invoice or credit note, all of its total still open."""
        doc = req.record
        total = doc.computed_total()
        return LedgerRecord(
            doc.kind,
            self._new_id(),
            "0",
            req.external_ref,
            name=doc.number,
            customer_ledger_id=req.customer_ledger_id,
            currency=doc.currency,
            total=total,
            tax=doc.tax_total,
            balance=total,
            updated_at=datetime.now(UTC),
            line_items=line_items,
        )

    async def apply_payment(self, req: ports.PaymentWrite) -> PushResult:
        inv = self.records[req.invoice_ledger_id]
        part = req.part
        if req.idempotency_key not in self._by_key:
            if not Decimal(0) <= part <= req.payment.amount:
                raise PermanentLedgerError(
                    f"cannot apply {part} of a {req.payment.amount} payment", code="bad_amount"
                )
            if part > (inv.balance or Decimal(0)):
                raise PermanentLedgerError(
                    f"{part} exceeds the invoice's balance {inv.balance}", code="overapplied"
                )
            if part:
                self._pay(inv, part)
        rec = LedgerRecord(
            "payment",
            self._new_id(),
            "0",
            req.external_ref,
            customer_ledger_id=req.customer_ledger_id,
            currency=req.payment.currency,
            total=req.payment.amount,
            balance=req.payment.amount - part,
            updated_at=datetime.now(UTC),
            applied_to=((req.invoice_ledger_id, part),) if part else (),
        )
        return self._write(req.idempotency_key, rec)

    async def create_refund(self, req: ports.RefundWrite) -> PushResult:
        credit = self.records.get(req.credit_ledger_id)
        if credit is None or credit.kind != req.credit_kind:
            raise PermanentLedgerError(
                f"no {req.credit_kind} {req.credit_ledger_id}", code="not_found"
            )
        journal = req.journal()

        async def write_refund(key: str) -> StepResult:
            if key not in self._by_key and req.refund.amount > (credit.balance or Decimal(0)):
                raise PermanentLedgerError(
                    f"refund {req.refund.amount} exceeds the {credit.balance} credit left",
                    code="refund_exceeds_credit",
                )
            rec = LedgerRecord(
                "refund",
                self._new_id(),
                "0",
                req.external_ref,
                customer_ledger_id=req.customer_ledger_id,
                currency=req.refund.currency,
                total=req.refund.amount,
                updated_at=datetime.now(UTC),
            )
            return StepResult(self._write(key, rec).ledger_id)

        made = await journal.step("refund", write_refund, self._found("refund", req.external_ref))

        async def link(key: str) -> StepResult:
            self._spend(key, req.credit_ledger_id, made.ledger_id, req.refund.amount)
            return StepResult(made.ledger_id)

        await journal.step("link", link, self._linked(made.ledger_id, req.credit_ledger_id))
        return PushResult(made.ledger_id, self.records[made.ledger_id].version)

    def _found(self, kind: str, external_ref: str) -> Callable[[], Awaitable[StepResult | None]]:
        async def find() -> StepResult | None:
            found = await self.find(kind, external_ref)
            return None if found is None else StepResult(found.ledger_id)

        return find

    def _linked(self, ledger_id: str, target: str) -> Callable[[], Awaitable[StepResult | None]]:
        async def find() -> StepResult | None:
            rec = self.records[ledger_id]
            return StepResult(ledger_id) if any(t == target for t, _ in rec.applied_to) else None

        return find

    def _spend(self, key: str, credit_id: str, refund_id: str, amount: Decimal) -> None:
        """Link ``amount`` of credit ``credit_id`` to refund ``refund_id`` (once per key)."""
        self.calls += 1
        self._maybe_fail()
        if self.honour_keys and key in self._by_key:
            return
        credit = self.records[credit_id]
        if amount > (credit.balance or Decimal(0)):
            raise PermanentLedgerError(
                f"refund {amount} exceeds the {credit.balance} credit left",
                code="refund_exceeds_credit",
            )
        self.records[credit_id] = replace(
            credit,
            balance=(credit.balance or Decimal(0)) - amount,
            version=str(int(credit.version or 0) + 1),
            updated_at=datetime.now(UTC),
        )
        refund = self.records[refund_id]
        self.records[refund_id] = replace(
            refund, applied_to=(*refund.applied_to, (credit_id, amount))
        )
        self._by_key[key] = refund_id
        self._maybe_fail_after()

    def _pay(self, inv: LedgerRecord, amount: Decimal) -> None:
        balance = (inv.balance or Decimal(0)) - amount
        self.records[inv.ledger_id] = replace(
            inv,
            version=str(int(inv.version or 0) + 1),
            balance=balance,
            status="paid" if balance == 0 else "partially_paid",
            updated_at=datetime.now(UTC),
        )

    def _replace(
        self,
        key: str,
        ledger_id: str,
        version: str | None,
        *,
        name: str | None = None,
        total: Decimal | None = None,
        tax: Decimal | None = None,
        balance: Decimal | None = None,
        line_items: tuple[str | None, ...] | None = None,
        due_date: date | None = None,
    ) -> PushResult:
        current = self.records.get(ledger_id)
        if current is None:
            raise PermanentLedgerError(f"no record {ledger_id}", code="not_found")
        if version is not None and version != current.version:
            raise StaleVersionError(f"{ledger_id} is at {current.version}, not {version}")
        self.calls += 1
        self._maybe_fail()
        updated = replace(
            current,
            version=str(int(current.version or 0) + 1),
            updated_at=datetime.now(UTC),
            name=current.name if name is None else name,
            total=current.total if total is None else total,
            tax=current.tax if tax is None else tax,
            balance=current.balance if balance is None else balance,
            line_items=current.line_items if line_items is None else line_items,
            due_date=current.due_date if due_date is None else due_date,
        )
        self.records[ledger_id] = updated
        self._by_key[key] = ledger_id
        return PushResult(ledger_id, updated.version)

    async def update_customer(self, req: ports.CustomerUpdate) -> PushResult:
        done = self._replace(
            req.idempotency_key, req.ledger_id, req.version, name=req.customer.name
        )
        current = self.records[req.ledger_id]
        self.records[req.ledger_id] = replace(
            current, raw={**current.raw, **_customer_raw(req.customer)}
        )
        return done

    def customer_details(self, record: LedgerRecord) -> dict[str, str | None]:
        """The customer details the record holds (core/customer_details.py)."""
        return {f: record.raw.get(f) for f in _DETAILS}

    def edit_customer(self, ledger_id: str, **details: str) -> None:
        """A bookkeeper edits a customer's details at the ledger's screens (a new version)."""
        current = self.records[ledger_id]
        self.records[ledger_id] = replace(
            current,
            version=str(int(current.version or 0) + 1),
            updated_at=datetime.now(UTC),
            raw={**current.raw, **details},
        )

    async def update_invoice(self, req: ports.InvoiceUpdate) -> PushResult:
        old = self.records[req.ledger_id]
        paid = (old.total or Decimal(0)) - (old.balance or Decimal(0))
        total = req.invoice.computed_total()
        return self._replace(
            req.idempotency_key,
            req.ledger_id,
            req.version,
            total=total,
            tax=req.invoice.tax_total,
            balance=total - paid,
            name=req.invoice.number,
            line_items=await self._line_items(req.invoice),
            due_date=req.invoice.due_date,
        )

    async def create_credit_note(self, req: ports.CreditNoteWrite) -> PushResult:
        line_items = await self._line_items(req.credit_note)
        journal = req.journal()

        async def write_note(key: str) -> StepResult:
            rec = self._document(req, line_items)
            return StepResult(self._write(key, rec).ledger_id)

        note = await journal.step(
            "credit_note", write_note, self._found("credit_note", req.external_ref)
        )
        if req.invoice_ledger_id is not None:
            target = req.invoice_ledger_id

            async def apply(key: str) -> StepResult:
                self._apply_credit(key, note.ledger_id, target)
                return StepResult(note.ledger_id)

            await journal.step("apply", apply, self._linked(note.ledger_id, target))
        return PushResult(note.ledger_id, self.records[note.ledger_id].version)

    def _apply_credit(self, key: str, note_id: str, invoice_id: str) -> None:
        """Apply what the credit note holds, up to the invoice's balance (once per key)."""
        self.calls += 1
        self._maybe_fail()
        if self.honour_keys and key in self._by_key:
            return
        note, invoice = self.records[note_id], self.records[invoice_id]
        amount = min(note.balance or Decimal(0), invoice.balance or Decimal(0))
        if amount > 0:
            self._pay(invoice, amount)
            self.records[note_id] = replace(
                note,
                balance=(note.balance or Decimal(0)) - amount,
                version=str(int(note.version or 0) + 1),
                applied_to=(*note.applied_to, (invoice_id, amount)),
            )
        self._by_key[key] = note_id
        self._maybe_fail_after()

    async def create_many(
        self, requests: Sequence[CreateRequest], *, batch_key: str
    ) -> list[PushResult | LedgerError]:
        self.batches.append(len(requests))
        results: list[PushResult | LedgerError] = []
        for req in requests:
            try:
                results.append(await create_one(self, req))
            except LedgerError as exc:
                results.append(exc)
        return results

    async def void_invoice(self, req: ports.VoidWrite) -> PushResult:
        inv = self.records[req.ledger_id]
        self.records[req.ledger_id] = replace(
            inv,
            version=str(int(inv.version or 0) + 1),
            balance=Decimal(0),
            status="void",
            updated_at=datetime.now(UTC),
        )
        return PushResult(req.ledger_id, self.records[req.ledger_id].version)

    async def get(self, kind: str, ledger_id: str) -> LedgerRecord | None:
        rec = self.records.get(ledger_id)
        return rec if rec is not None and rec.kind == kind else None

    async def list_all(self, kind: str) -> AsyncIterator[LedgerRecord]:
        for rec in list(self.records.values()):
            if rec.kind == kind:
                yield rec

    async def changes(self, since: datetime) -> AsyncIterator[LedgerRecord]:
        for rec in list(self.records.values()):
            if rec.updated_at is not None and rec.updated_at > since:
                yield rec

    async def aclose(self) -> None:
        return None


_DETAILS = ("email", "phone", "billing_address")


def _customer_raw(customer: Customer) -> dict[str, str]:
    """What the memory ledger keeps of a customer besides its name."""
    kept = {"tax_id": customer.tax_id, **{f: getattr(customer, f) for f in _DETAILS}}
    return {k: v for k, v in kept.items() if v}


def _tax_key(tax_id: object) -> str | None:
    """Tax ids compared the way registries print them: no spaces, dots or dashes."""
    if not isinstance(tax_id, str):
        return None
    key = "".join(ch for ch in tax_id.upper() if ch.isalnum())
    return key or None


@dataclass
class BatchMatchingMemoryLedger(MemoryLedger):
    """The memory ledger with ``core.ports.CustomerBatchMatcher``: ``match_customers``
    answers for many customers at once, by ``match_customer``'s own rules. It counts
    both kinds of match request (``matched_one``, ``matched_batches``: sizes)."""

    matched_one: int = 0
    matched_batches: list[int] = field(default_factory=list)

    async def match_customer(self, customer: Customer) -> list[LedgerRecord]:
        self.matched_one += 1
        return await super().match_customer(customer)

    async def match_customers(
        self, customers: Mapping[str, Customer]
    ) -> Mapping[str, list[LedgerRecord]]:
        self.matched_batches.append(len(customers))
        one = super().match_customer
        return {ref: await one(c) for ref, c in customers.items()}
