"""One contract for every ledger adapter, run against that platform's sandbox.

A subclass provides a ``ledger`` fixture yielding a ``LedgerUnderTest``: the adapter, a
handle on its sandbox (``LedgerSandbox``) and the adapter's retry attempts. The sandbox
must enforce a per-second limit low enough that the burst test has to wait (about 25/s
keeps it near a second), and the adapter's client-side limiter must match it. Set
``currency``, ``unknown_customer_code`` (the platform's code for a reference to a
customer that does not exist) and ``changes_resolution`` (seconds: the granularity of the
platform's change timestamps) on the subclass.

Everything asserted is an outcome: what the ledger holds, what the adapter returned.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Protocol

import pytest

from syncledger.core.errors import PermanentLedgerError, StaleVersionError, TransientLedgerError
from syncledger.core.metrics import requests_sent
from syncledger.core.model import CreditNote, Customer, Invoice, InvoiceLine, Payment, Refund
from syncledger.core.ports import (
    CustomerUpdate,
    InvoiceUpdate,
    InvoiceWrite,
    ItemWrite,
    LedgerAdapter,
    LedgerRecord,
    Prefetcher,
    RefundWrite,
    VoidWrite,
)
from tests.contracts.steps_contract import MultiWriteContract
from tests.support.writes import (
    key,
    pay_invoice,
    write_credit_note,
    write_customer,
    write_invoice,
)

BURST = 45


class LedgerSandbox(Protocol):
    #: 429s the sandbox answered because a rate limit was exceeded
    throttled: int

    def count(self, kind: str) -> int: ...

    def fail_next_writes(self, n: int = 1, status: int = 500) -> None: ...

    def throttle_next(self, n: int = 1, retry_after: float = 1.0) -> None: ...

    def commit_then_timeout_next(self, n: int = 1, stall_seconds: float | None = None) -> None: ...


@dataclass
class LedgerUnderTest:
    adapter: LedgerAdapter
    sandbox: LedgerSandbox
    attempts: int  # requests the adapter makes for one call before giving up


class LedgerContract(MultiWriteContract):
    currency = "USD"
    unknown_customer_code: str = ""
    changes_resolution: float = 0.0
    #: a tax id in a form the platform stores (only used where it can be matched on)
    tax_id: str = "DE136695976"

    # ------------------------------------------------------------ records

    def customer(self, n: int = 1, **changes: object) -> Customer:
        fields: dict[str, object] = {
            "id": f"C-{n}",
            "name": f"Acme Plumbing {n}",
            "currency": self.currency,
            "email": f"billing{n}@acme.example",
        }
        return Customer.model_validate(fields | changes)

    def invoice(self, n: int = 1, customer_id: str = "C-1") -> Invoice:
        lines = (
            InvoiceLine(
                description="Boiler service", quantity="2", unit_price="75.50", tax_amount="12.08"
            ),
            InvoiceLine(description="Valve", quantity="3", unit_price="9.99", tax_amount="2.40"),
            InvoiceLine(description="Call-out", quantity="1", unit_price="40.00"),
        )
        # 151.00 + 29.97 + 40.00 + 14.48 tax - 10.00 discount
        return Invoice(
            id=f"INV-{n}",
            number=f"INV-{n}",
            customer_id=customer_id,
            issue_date=date(2026, 3, 1),
            currency=self.currency,
            lines=lines,
            discount=Decimal("10.00"),
            total=Decimal("225.45"),
        )

    def payment(self, amount: str, n: int = 1) -> Payment:
        return Payment(
            id=f"PAY-{n}",
            customer_id="C-1",
            invoice_id="INV-1",
            amount=Decimal(amount),
            currency=self.currency,
            paid_on=date(2026, 3, 15),
            reference=f"CHK-{n}",
        )

    def credit_note(self, n: int = 1, invoice_id: str | None = "INV-1") -> CreditNote:
        return CreditNote(
            id=f"CN-{n}",
            number=f"CN-{n}",
            customer_id="C-1",
            invoice_id=invoice_id,
            issue_date=date(2026, 3, 10),
            currency=self.currency,
            lines=(InvoiceLine(description="Call-out refunded", quantity="1", unit_price="40.00"),),
            total=Decimal("40.00"),
        )

    def refund(
        self,
        amount: str,
        n: int = 1,
        *,
        payment_id: str | None = None,
        credit_note_id: str | None = None,
    ) -> Refund:
        return Refund(
            id=f"REF-{n}",
            customer_id="C-1",
            amount=Decimal(amount),
            currency=self.currency,
            refunded_on=date(2026, 3, 20),
            payment_id=payment_id,
            credit_note_id=credit_note_id,
            reference=f"RF-{n}",
        )

    async def push_customer(
        self, ledger: LedgerUnderTest, n: int = 1, customer: Customer | None = None
    ) -> str:
        result = await write_customer(ledger.adapter, customer or self.customer(n), n)
        return result.ledger_id

    async def push_payment(
        self,
        ledger: LedgerUnderTest,
        customer_id: str,
        invoice_id: str,
        amount: str,
        *,
        applied: str | None = None,
        n: int = 1,
    ) -> str:
        payment = self.payment(amount, n)
        return await pay_invoice(ledger.adapter, customer_id, invoice_id, payment, applied, n=n)

    async def push_open_credit_note(self, ledger: LedgerUnderTest, customer_id: str) -> str:
        """A 40.00 credit note applied to no invoice: the customer holds 40.00 of credit."""
        note = self.credit_note(invoice_id=None)
        return (await write_credit_note(ledger.adapter, customer_id, None, note)).ledger_id

    async def push_refund(
        self,
        ledger: LedgerUnderTest,
        customer_id: str,
        refund: Refund,
        credit_ledger_id: str,
        n: int = 1,
    ) -> str:
        result = await ledger.adapter.create_refund(
            RefundWrite(
                refund,
                customer_ledger_id=customer_id,
                credit_kind=refund.credit_kind,
                credit_ledger_id=credit_ledger_id,
                external_ref=f"csv/refund/REF-{n}",
                idempotency_key=key("r", n),
            )
        )
        return result.ledger_id

    async def push_invoice(self, ledger: LedgerUnderTest, customer_id: str, n: int = 1) -> str:
        result = await write_invoice(ledger.adapter, customer_id, self.invoice(n), n)
        return result.ledger_id

    async def fetch(self, ledger: LedgerUnderTest, kind: str, ledger_id: str) -> LedgerRecord:
        record = await ledger.adapter.get(kind, ledger_id)
        assert record is not None, f"{kind} {ledger_id} is not in the ledger"
        return record

    # ----------------------------------------------------------- customers

    async def test_create_customer_twice_with_one_key_makes_one_record(
        self, ledger: LedgerUnderTest
    ) -> None:
        first = await self.push_customer(ledger)
        again = await self.push_customer(ledger)
        assert again == first
        assert ledger.sandbox.count("customer") == 1
        record = await self.fetch(ledger, "customer", first)
        assert record.name == "Acme Plumbing 1"
        assert record.external_ref == "csv/customer/C-1"

    async def test_match_finds_an_existing_customer_by_name_or_email(
        self, ledger: LedgerUnderTest
    ) -> None:
        ledger_id = await self.push_customer(ledger)
        same_name = self.customer(1, id="other-id", email=None)
        same_email = self.customer(1, id="other-id", name="ACME (billing)")
        stranger = self.customer(99)
        assert [r.ledger_id for r in await ledger.adapter.match_customer(same_name)] == [ledger_id]
        assert [r.ledger_id for r in await ledger.adapter.match_customer(same_email)] == [ledger_id]
        assert await ledger.adapter.match_customer(stranger) == []

    async def test_match_finds_an_existing_customer_by_tax_id(
        self, ledger: LedgerUnderTest
    ) -> None:
        if not ledger.adapter.capabilities.matches_tax_id:
            pytest.skip(f"{ledger.adapter.ledger} cannot search customers by tax id")
        ledger_id = await self.push_customer(ledger, customer=self.customer(1, tax_id=self.tax_id))
        renamed = self.customer(1, id="other-id", name="ACME GmbH", email=None, tax_id=self.tax_id)
        assert [r.ledger_id for r in await ledger.adapter.match_customer(renamed)] == [ledger_id]
        other_tax = self.customer(1, id="other-id", name="ACME GmbH", email=None, tax_id="X1")
        assert await ledger.adapter.match_customer(other_tax) == []

    # ------------------------------------------------------------ invoices

    async def test_invoice_with_tax_and_discount_totals_exactly_as_ours(
        self, ledger: LedgerUnderTest
    ) -> None:
        customer_id = await self.push_customer(ledger)
        invoice_id = await self.push_invoice(ledger, customer_id)
        record = await self.fetch(ledger, "invoice", invoice_id)
        ours = self.invoice()
        assert record.total == ours.total == ours.computed_total()
        assert record.balance == ours.total
        assert record.status == "open"
        assert record.currency == self.currency
        assert record.customer_ledger_id == customer_id
        assert record.external_ref == "csv/invoice/INV-1"

    async def test_a_created_document_reads_back_as_intended(self, ledger: LedgerUnderTest) -> None:
        """What the platform would compute: after a create, the document the ledger holds
        has our total, our tax and our lines (a dropped tax field or line shows here)."""
        customer_id = await self.push_customer(ledger)
        invoice_id = await self.push_invoice(ledger, customer_id)
        ours = self.invoice()
        held = await self.fetch(ledger, "invoice", invoice_id)
        assert (held.total, held.tax) == (ours.computed_total(), ours.tax_total)
        assert len(held.line_items) == len(ours.lines)
        note = await write_credit_note(
            ledger.adapter, customer_id, None, self.credit_note(invoice_id=None)
        )
        ours_note = self.credit_note(invoice_id=None)
        held_note = await self.fetch(ledger, "credit_note", note.ledger_id)
        assert (held_note.total, held_note.tax) == (
            ours_note.computed_total(),
            ours_note.tax_total,
        )
        assert len(held_note.line_items) == len(ours_note.lines)

    async def test_partial_payment_reduces_the_balance(self, ledger: LedgerUnderTest) -> None:
        customer_id = await self.push_customer(ledger)
        invoice_id = await self.push_invoice(ledger, customer_id)
        await pay_invoice(ledger.adapter, customer_id, invoice_id, self.payment("100.45"))
        record = await self.fetch(ledger, "invoice", invoice_id)
        assert record.balance == Decimal("125.00")
        assert record.status == "partially_paid"
        assert ledger.sandbox.count("payment") == 1

    async def test_void_zeroes_the_balance_and_marks_it_void(self, ledger: LedgerUnderTest) -> None:
        invoice_id = await self.push_invoice(ledger, await self.push_customer(ledger))
        version = (await self.fetch(ledger, "invoice", invoice_id)).version
        await ledger.adapter.void_invoice(
            VoidWrite(invoice_id, version=version, idempotency_key=key("v"))
        )
        record = await self.fetch(ledger, "invoice", invoice_id)
        assert record.status == "void"
        assert record.balance == 0

    async def test_void_with_a_stale_version_is_refused(self, ledger: LedgerUnderTest) -> None:
        customer_id = await self.push_customer(ledger)
        invoice_id = await self.push_invoice(ledger, customer_id)
        stale = (await self.fetch(ledger, "invoice", invoice_id)).version
        await pay_invoice(ledger.adapter, customer_id, invoice_id, self.payment("5.00"))
        with pytest.raises(StaleVersionError):
            await ledger.adapter.void_invoice(
                VoidWrite(invoice_id, version=stale, idempotency_key=key("v"))
            )
        assert (await self.fetch(ledger, "invoice", invoice_id)).status == "partially_paid"

    async def test_update_customer_changes_it_and_refuses_a_stale_version(
        self, ledger: LedgerUnderTest
    ) -> None:
        ledger_id = await self.push_customer(ledger)
        old = (await self.fetch(ledger, "customer", ledger_id)).version
        renamed = self.customer(1, name="Acme Plumbing & Heating 1")
        await ledger.adapter.update_customer(
            CustomerUpdate(
                renamed,
                ledger_id=ledger_id,
                version=old,
                external_ref="csv/customer/C-1",
                idempotency_key=key("cu", 1),
            )
        )
        record = await self.fetch(ledger, "customer", ledger_id)
        assert record.name == "Acme Plumbing & Heating 1"
        assert record.version != old
        with pytest.raises(StaleVersionError):
            await ledger.adapter.update_customer(
                CustomerUpdate(
                    self.customer(1, name="Lost Update"),
                    ledger_id=ledger_id,
                    version=old,
                    external_ref="csv/customer/C-1",
                    idempotency_key=key("cu", 2),
                )
            )
        assert (await self.fetch(ledger, "customer", ledger_id)).name == renamed.name
        assert ledger.sandbox.count("customer") == 1

    async def _rename_all(
        self, ledger: LedgerUnderTest, customers: dict[int, str], tag: str
    ) -> int:
        """Rename customers (n → ledger id) from the version the ledger holds now; the
        requests the updates sent (the reads of the versions not counted)."""
        versions = {
            n: (await self.fetch(ledger, "customer", i)).version for n, i in customers.items()
        }
        return await self._rename_from(ledger, customers, versions, tag)

    async def _rename_from(
        self,
        ledger: LedgerUnderTest,
        customers: dict[int, str],
        versions: dict[int, str | None],
        tag: str,
    ) -> int:
        sent = requests_sent(ledger.adapter.ledger)
        for n, ledger_id in customers.items():
            await ledger.adapter.update_customer(
                CustomerUpdate(
                    self.customer(n, name=f"{tag} {n}"),
                    ledger_id=ledger_id,
                    version=versions[n],
                    external_ref=f"csv/customer/C-{n}",
                    idempotency_key=key("cu", tag, n),
                )
            )
        return requests_sent(ledger.adapter.ledger) - sent

    async def test_updates_after_a_bulk_read_cost_less_and_still_refuse_a_stale_version(
        self, ledger: LedgerUnderTest
    ) -> None:
        """``Prefetcher``: the version checks of a batch's updates are served from one bulk
        read (fewer requests than reading each), and a record changed in the ledger since
        our version is still refused, its change kept."""
        adapter = ledger.adapter
        if not isinstance(adapter, Prefetcher):
            pytest.skip(f"{adapter.ledger} reads no records in bulk")
        ids = {n: await self.push_customer(ledger, n) for n in (1, 2, 3, 4)}
        batch = {n: ids[n] for n in (2, 3, 4)}
        one_by_one = await self._rename_all(ledger, batch, "Alone")
        versions = {n: (await self.fetch(ledger, "customer", i)).version for n, i in batch.items()}
        sent = requests_sent(adapter.ledger)
        await adapter.prefetch("customer", list(batch.values()))
        prefetch = requests_sent(adapter.ledger) - sent
        assert prefetch + await self._rename_from(ledger, batch, versions, "Bulk") < one_by_one
        names = [(await self.fetch(ledger, "customer", i)).name for i in batch.values()]
        assert names == [f"Bulk {n}" for n in batch]
        ours = {1: (await self.fetch(ledger, "customer", ids[1])).version}
        await self._rename_from(ledger, {1: ids[1]}, ours, "Theirs")  # someone else's edit
        await adapter.prefetch("customer", [ids[1], ids[2]])
        with pytest.raises(StaleVersionError):
            await self._rename_from(ledger, {1: ids[1]}, ours, "Lost")
        assert (await self.fetch(ledger, "customer", ids[1])).name == "Theirs 1"

    async def test_update_invoice_replaces_lines_and_total(self, ledger: LedgerUnderTest) -> None:
        customer_id = await self.push_customer(ledger)
        invoice_id = await self.push_invoice(ledger, customer_id)
        version = (await self.fetch(ledger, "invoice", invoice_id)).version
        smaller = self.invoice().model_copy(
            update={"lines": self.invoice().lines[:2], "total": Decimal("185.45")}
        )
        assert smaller.computed_total() == Decimal("185.45")
        await ledger.adapter.update_invoice(
            InvoiceUpdate(
                smaller,
                ledger_id=invoice_id,
                version=version,
                customer_ledger_id=customer_id,
                external_ref="csv/invoice/INV-1",
                idempotency_key=key("iu", 1),
            )
        )
        record = await self.fetch(ledger, "invoice", invoice_id)
        assert record.total == Decimal("185.45")
        assert record.balance == Decimal("185.45")
        assert ledger.sandbox.count("invoice") == 1

    async def test_credit_note_applied_to_an_invoice_reduces_its_balance(
        self, ledger: LedgerUnderTest
    ) -> None:
        customer_id = await self.push_customer(ledger)
        invoice_id = await self.push_invoice(ledger, customer_id)
        for _ in range(2):  # same key twice: one credit note
            await write_credit_note(ledger.adapter, customer_id, invoice_id, self.credit_note())
        assert ledger.sandbox.count("credit_note") == 1
        invoice = await self.fetch(ledger, "invoice", invoice_id)
        assert invoice.balance == Decimal("185.45")
        found = await ledger.adapter.find("credit_note", "csv/credit_note/CN-1")
        assert found is not None
        assert found.total == Decimal("40.00")

    # ------------------------------------------------- overpayments, refunds

    async def test_an_overpayment_pays_the_invoice_and_leaves_the_rest_as_credit(
        self, ledger: LedgerUnderTest
    ) -> None:
        customer_id = await self.push_customer(ledger)
        invoice_id = await self.push_invoice(ledger, customer_id)
        first = await self.push_payment(ledger, customer_id, invoice_id, "250.00", applied="225.45")
        again = await self.push_payment(ledger, customer_id, invoice_id, "250.00", applied="225.45")
        assert again == first
        assert ledger.sandbox.count("payment") == 1
        invoice = await self.fetch(ledger, "invoice", invoice_id)
        assert invoice.balance == 0
        assert invoice.status == "paid"
        payment = await self.fetch(ledger, "payment", first)
        assert payment.total == Decimal("250.00")
        assert payment.balance == Decimal("24.55")
        assert payment.customer_ledger_id == customer_id

    async def test_a_payment_on_a_paid_invoice_is_all_credit(self, ledger: LedgerUnderTest) -> None:
        customer_id = await self.push_customer(ledger)
        invoice_id = await self.push_invoice(ledger, customer_id)
        await self.push_payment(ledger, customer_id, invoice_id, "225.45")
        second = await self.push_payment(ledger, customer_id, invoice_id, "60.00", applied="0", n=2)
        assert (await self.fetch(ledger, "invoice", invoice_id)).balance == 0
        payment = await self.fetch(ledger, "payment", second)
        assert (payment.total, payment.balance) == (Decimal("60.00"), Decimal("60.00"))
        assert ledger.sandbox.count("payment") == 2

    async def test_a_refund_of_an_overpayment_uses_up_its_credit(
        self, ledger: LedgerUnderTest
    ) -> None:
        customer_id = await self.push_customer(ledger)
        invoice_id = await self.push_invoice(ledger, customer_id)
        payment_id = await self.push_payment(
            ledger, customer_id, invoice_id, "250.00", applied="225.45"
        )
        refund = self.refund("24.55", payment_id="PAY-1")
        first = await self.push_refund(ledger, customer_id, refund, payment_id)
        again = await self.push_refund(ledger, customer_id, refund, payment_id)  # same key
        assert again == first
        assert ledger.sandbox.count("refund") == 1
        assert (await self.fetch(ledger, "payment", payment_id)).balance == 0
        found = await ledger.adapter.find("refund", "csv/refund/REF-1")
        assert found is not None
        assert found.ledger_id == first
        assert found.total == Decimal("24.55")
        assert (await self.fetch(ledger, "invoice", invoice_id)).balance == 0

    async def test_a_refund_of_a_credit_note_uses_up_part_of_its_credit(
        self, ledger: LedgerUnderTest
    ) -> None:
        customer_id = await self.push_customer(ledger)
        credit_id = await self.push_open_credit_note(ledger, customer_id)
        assert (await self.fetch(ledger, "credit_note", credit_id)).balance == Decimal("40.00")
        refund_id = await self.push_refund(
            ledger, customer_id, self.refund("15.00", credit_note_id="CN-1"), credit_id
        )
        assert (await self.fetch(ledger, "credit_note", credit_id)).balance == Decimal("25.00")
        refund = await self.fetch(ledger, "refund", refund_id)
        assert refund.total == Decimal("15.00")
        assert refund.customer_ledger_id == customer_id
        assert refund.external_ref == "csv/refund/REF-1"

    async def test_a_refund_beyond_the_credit_left_is_refused(
        self, ledger: LedgerUnderTest
    ) -> None:
        customer_id = await self.push_customer(ledger)
        credit_id = await self.push_open_credit_note(ledger, customer_id)
        with pytest.raises(PermanentLedgerError):
            await self.push_refund(
                ledger, customer_id, self.refund("50.00", credit_note_id="CN-1"), credit_id
            )
        assert ledger.sandbox.count("refund") == 0
        assert (await self.fetch(ledger, "credit_note", credit_id)).balance == Decimal("40.00")

    # --------------------------------------------------------------- items

    #: an item code no sandbox seeds
    item_code = "SVC-AUDIT-7"

    def with_item(self, document: Invoice | CreditNote, code: str) -> Invoice | CreditNote:
        """``document`` with its first line booked to item ``code``."""
        first = document.lines[0].model_copy(update={"item_code": code})
        return document.model_copy(update={"lines": (first, *document.lines[1:])})

    async def push_item_invoice(
        self, ledger: LedgerUnderTest, customer_id: str, code: str, n: int = 1
    ) -> str:
        invoice = self.with_item(self.invoice(n), code)
        assert isinstance(invoice, Invoice)
        result = await ledger.adapter.create_invoice(
            InvoiceWrite(
                invoice,
                customer_ledger_id=customer_id,
                external_ref=f"csv/invoice/INV-{n}",
                idempotency_key=key("i", n),
            )
        )
        return result.ledger_id

    async def test_an_item_is_created_once_and_found_by_code_or_id(
        self, ledger: LedgerUnderTest
    ) -> None:
        assert await ledger.adapter.find_item(self.item_code) is None
        before = ledger.sandbox.count("item")
        made = await ledger.adapter.create_item(
            ItemWrite(self.item_code, idempotency_key=key("item", 1))
        )
        assert made.code == self.item_code
        # a second create of the same code (another key, as after a lost cache) is the same item
        again = await ledger.adapter.create_item(
            ItemWrite(self.item_code, idempotency_key=key("item", 2))
        )
        assert again.ledger_id == made.ledger_id
        assert ledger.sandbox.count("item") == before + 1
        by_code = await ledger.adapter.find_item(self.item_code)
        assert by_code is not None
        assert by_code.ledger_id == made.ledger_id
        by_id = await ledger.adapter.find_item(made.ledger_id)
        assert by_id is not None
        assert by_id.code == self.item_code

    async def test_an_item_create_lost_after_commit_is_not_made_twice(
        self, ledger: LedgerUnderTest
    ) -> None:
        before = ledger.sandbox.count("item")
        ledger.sandbox.commit_then_timeout_next(ledger.attempts)
        with pytest.raises(TransientLedgerError):
            await ledger.adapter.create_item(
                ItemWrite(self.item_code, idempotency_key=key("item", 1))
            )
        assert ledger.sandbox.count("item") == before + 1
        made = await ledger.adapter.create_item(
            ItemWrite(self.item_code, idempotency_key=key("item", 1))
        )
        assert ledger.sandbox.count("item") == before + 1
        found = await ledger.adapter.find_item(self.item_code)
        assert found is not None
        assert found.ledger_id == made.ledger_id

    async def test_lines_are_booked_to_the_items_they_name(self, ledger: LedgerUnderTest) -> None:
        await ledger.adapter.create_item(ItemWrite(self.item_code, idempotency_key=key("item", 1)))
        customer_id = await self.push_customer(ledger)
        invoice_id = await self.push_item_invoice(ledger, customer_id, self.item_code)
        invoice = await self.fetch(ledger, "invoice", invoice_id)
        assert invoice.total == Decimal("225.45")
        assert len(invoice.line_items) == 3
        assert invoice.line_items[0] == self.item_code
        assert self.item_code not in invoice.line_items[1:]
        credit = self.with_item(self.credit_note(), self.item_code)
        assert isinstance(credit, CreditNote)
        result = await write_credit_note(ledger.adapter, customer_id, invoice_id, credit)
        credit_note = await self.fetch(ledger, "credit_note", result.ledger_id)
        assert credit_note.line_items == (self.item_code,)
        assert (await self.fetch(ledger, "invoice", invoice_id)).balance == Decimal("185.45")

    async def test_an_update_rebooks_a_line_to_another_item(self, ledger: LedgerUnderTest) -> None:
        customer_id = await self.push_customer(ledger)
        invoice_id = await self.push_invoice(ledger, customer_id)
        assert self.item_code not in (await self.fetch(ledger, "invoice", invoice_id)).line_items
        await ledger.adapter.create_item(ItemWrite(self.item_code, idempotency_key=key("item", 1)))
        version = (await self.fetch(ledger, "invoice", invoice_id)).version
        rebooked = self.with_item(self.invoice(), self.item_code)
        assert isinstance(rebooked, Invoice)
        await ledger.adapter.update_invoice(
            InvoiceUpdate(
                rebooked,
                ledger_id=invoice_id,
                version=version,
                customer_ledger_id=customer_id,
                external_ref="csv/invoice/INV-1",
                idempotency_key=key("iu", 1),
            )
        )
        invoice = await self.fetch(ledger, "invoice", invoice_id)
        assert invoice.line_items[0] == self.item_code
        assert invoice.total == Decimal("225.45")
        assert ledger.sandbox.count("invoice") == 1

    async def test_a_line_naming_no_item_of_the_ledger_is_refused(
        self, ledger: LedgerUnderTest
    ) -> None:
        customer_id = await self.push_customer(ledger)
        items = ledger.sandbox.count("item")
        with pytest.raises(PermanentLedgerError):
            await self.push_item_invoice(ledger, customer_id, "NO-SUCH-ITEM")
        assert ledger.sandbox.count("invoice") == 0
        assert ledger.sandbox.count("item") == items  # nothing made up behind our back

    # --------------------------------------------------------------- reads

    async def test_changes_since_returns_what_changed_after(self, ledger: LedgerUnderTest) -> None:
        before = await self.push_customer(ledger, 1)
        await asyncio.sleep(self.changes_resolution)
        since = datetime.now(UTC)
        await asyncio.sleep(self.changes_resolution)
        after = await self.push_customer(ledger, 2)
        changed = [r async for r in ledger.adapter.changes(since)]
        ids = {(r.kind, r.ledger_id) for r in changed}
        assert ("customer", after) in ids
        assert ("customer", before) not in ids

    async def test_get_of_an_unknown_record_is_none(self, ledger: LedgerUnderTest) -> None:
        assert await ledger.adapter.get("invoice", "987654") is None

    async def test_list_all_returns_every_record(self, ledger: LedgerUnderTest) -> None:
        ids = {await self.push_customer(ledger, n) for n in range(1, 4)}
        listed = {r.ledger_id async for r in ledger.adapter.list_all("customer")}
        assert listed == ids

    # ------------------------------------------------------- rate limits

    async def test_a_burst_is_held_by_the_client_side_limiter(
        self, ledger: LedgerUnderTest
    ) -> None:
        customer_id = await self.push_customer(ledger)
        results = await asyncio.gather(
            *(ledger.adapter.get("customer", customer_id) for _ in range(BURST))
        )
        assert all(r is not None and r.ledger_id == customer_id for r in results)
        assert ledger.sandbox.throttled == 0

    async def test_a_429_with_retry_after_is_waited_out(self, ledger: LedgerUnderTest) -> None:
        ledger.sandbox.throttle_next(1, retry_after=0.05)
        await self.push_customer(ledger)
        assert ledger.sandbox.count("customer") == 1

    # ------------------------------------------------------------- errors

    async def test_server_errors_are_retried_without_duplicates(
        self, ledger: LedgerUnderTest
    ) -> None:
        ledger.sandbox.fail_next_writes(ledger.attempts - 1)
        await self.push_customer(ledger)
        assert ledger.sandbox.count("customer") == 1

    async def test_server_errors_beyond_the_attempts_surface_as_transient(
        self, ledger: LedgerUnderTest
    ) -> None:
        ledger.sandbox.fail_next_writes(ledger.attempts)
        with pytest.raises(TransientLedgerError):
            await self.push_customer(ledger)
        assert ledger.sandbox.count("customer") == 0

    async def test_a_refusal_carries_the_platform_code(self, ledger: LedgerUnderTest) -> None:
        with pytest.raises(PermanentLedgerError) as refused:
            await self.push_invoice(ledger, customer_id="987654")
        assert refused.value.code == self.unknown_customer_code
        assert ledger.sandbox.count("invoice") == 0

    # ---------------------------------------------------- crash after commit

    async def test_a_timeout_after_commit_is_retried_without_duplicate(
        self, ledger: LedgerUnderTest
    ) -> None:
        customer_id = await self.push_customer(ledger)
        ledger.sandbox.commit_then_timeout_next(1)
        invoice_id = await self.push_invoice(ledger, customer_id)
        assert ledger.sandbox.count("invoice") == 1
        assert (await self.fetch(ledger, "invoice", invoice_id)).total == Decimal("225.45")

    async def test_crash_after_commit_is_recovered_by_find_and_the_key(
        self, ledger: LedgerUnderTest
    ) -> None:
        customer_id = await self.push_customer(ledger)
        ledger.sandbox.commit_then_timeout_next(ledger.attempts)
        with pytest.raises(TransientLedgerError):
            await self.push_invoice(ledger, customer_id)  # we never learn the outcome
        assert ledger.sandbox.count("invoice") == 1
        found = await ledger.adapter.find("invoice", "csv/invoice/INV-1")
        assert found is not None
        retried = await self.push_invoice(ledger, customer_id)  # same key
        assert retried == found.ledger_id
        assert ledger.sandbox.count("invoice") == 1
        assert await ledger.adapter.find("invoice", "csv/invoice/INV-404") is None
