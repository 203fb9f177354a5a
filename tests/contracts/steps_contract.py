"""The multi-write section of the ledger contract: a record whose ledger effect takes
several writes survives a crash before a step, a crash after a step's write landed (its
answer lost), and a run of server errors on a step — resumed through the same journal, the
ledger holds each document once and every application the operation meant.

``StepsUnderTest`` is a journal kept in memory the way the sync keeps it in the log. Each
test first runs the operation cleanly to learn its step names, then, for every step,
breaks a fresh record's run at that step and resumes it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar, Literal

import pytest

from syncledger.core.errors import TransientLedgerError
from syncledger.core.ports import (
    CreditNoteWrite,
    InvoiceUpdate,
    InvoiceWrite,
    LedgerRecord,
    PaymentWrite,
    RefundWrite,
    StepFind,
    StepResult,
    StepWrite,
    VoidWrite,
    step_key,
)

if TYPE_CHECKING:
    from tests.contracts.ledger_contract import LedgerUnderTest

Mode = Literal["before", "after", "transient"]
MODES: tuple[Mode, ...] = ("before", "after", "transient")


class Crash(Exception):
    """The process died here (SIGKILL): nothing after this point ran."""


@dataclass
class StepsUnderTest:
    """A ``WriteSteps`` journal that can die or meet server errors at one step."""

    key: str
    logged: dict[str, StepResult | None] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)
    fault: tuple[Mode, str] | None = None
    finds: int = 0

    async def step(self, name: str, write: StepWrite, find: StepFind) -> StepResult:
        if name not in self.names:
            self.names.append(name)
        done = self.logged.get(name)
        if done is not None:
            return done
        if name in self.logged:  # intent logged, outcome lost
            self.finds += 1
            found = await find()
            if found is not None:
                self.logged[name] = found
                return found
        else:
            self._maybe("before", name)
            self.logged[name] = None
        if self.fault == ("transient", name):
            raise TransientLedgerError(f"503 on step {name} (injected)", retry_after=0)
        result = await write(step_key(self.key, name))
        self._maybe("after", name)
        self.logged[name] = result
        return result

    def _maybe(self, mode: Mode, name: str) -> None:
        if self.fault == (mode, name):
            self.fault = None
            raise Crash(f"killed {mode} step {name}")


#: one operation under test: run(ledger, n, journal) -> the document's ledger id
Run = Callable[["LedgerUnderTest", int, StepsUnderTest], Awaitable[str]]
#: what must hold afterwards: check(ledger, n, ledger id)
Check = Callable[["LedgerUnderTest", int, str], Awaitable[None]]


def applied_to(record: LedgerRecord, target: str) -> Decimal:
    """What ``record`` applies to ``target`` in the ledger (0 when nothing)."""
    return sum((amount for t, amount in record.applied_to if t == target), Decimal(0))


class MultiWriteContract:  # mixed into LedgerContract, whose helpers it uses
    """Mixed into ``LedgerContract``. ``single_write`` names operations a platform does
    in one write (with a reason in the subclass); every other listed operation that
    involves an application must log at least two steps."""

    single_write: frozenset[str] = frozenset()

    # ------------------------------------------------------------ operations

    async def _setup_invoice(self, ledger: LedgerUnderTest, n: int) -> tuple[str, str]:
        customer = await self.push_customer(ledger, n)
        invoice = await ledger.adapter.create_invoice(
            InvoiceWrite(
                self.invoice(n, customer_id=f"C-{n}"),
                customer_ledger_id=customer,
                external_ref=f"csv/invoice/INV-{n}",
                idempotency_key=f"i-{n}",
            )
        )
        return customer, invoice.ledger_id

    async def op_credit_note(self, ledger: LedgerUnderTest, n: int, journal: StepsUnderTest) -> str:
        customer, invoice = await self._setup_invoice(ledger, n)
        note = self.credit_note(n, invoice_id=f"INV-{n}").model_copy(
            update={"customer_id": f"C-{n}"}
        )

        async def run() -> str:
            result = await ledger.adapter.create_credit_note(
                CreditNoteWrite(
                    note,
                    customer_ledger_id=customer,
                    invoice_ledger_id=invoice,
                    external_ref=f"csv/credit_note/CN-{n}",
                    idempotency_key=journal.key,
                    steps=journal,
                )
            )
            return result.ledger_id

        return await _until_done(run, journal)

    async def check_credit_note(self, ledger: LedgerUnderTest, n: int, ledger_id: str) -> None:
        found = await ledger.adapter.find("credit_note", f"csv/credit_note/CN-{n}")
        assert found is not None and found.ledger_id == ledger_id
        invoice = await ledger.adapter.find("invoice", f"csv/invoice/INV-{n}")
        assert invoice is not None
        assert (await self.fetch(ledger, "invoice", invoice.ledger_id)).balance == Decimal("185.45")
        note = await self.fetch(ledger, "credit_note", ledger_id)
        assert applied_to(note, invoice.ledger_id) == Decimal("40.00")

    async def op_refund(self, ledger: LedgerUnderTest, n: int, journal: StepsUnderTest) -> str:
        customer, invoice = await self._setup_invoice(ledger, n)
        payment = await ledger.adapter.apply_payment(
            PaymentWrite(
                self.payment("250.00", n).model_copy(
                    update={"customer_id": f"C-{n}", "invoice_id": f"INV-{n}"}
                ),
                customer_ledger_id=customer,
                invoice_ledger_id=invoice,
                external_ref=f"csv/payment/PAY-{n}",
                idempotency_key=f"p-{n}",
                applied=Decimal("225.45"),
            )
        )
        refund = self.refund("24.55", n, payment_id=f"PAY-{n}").model_copy(
            update={"customer_id": f"C-{n}"}
        )

        async def run() -> str:
            result = await ledger.adapter.create_refund(
                RefundWrite(
                    refund,
                    customer_ledger_id=customer,
                    credit_kind="payment",
                    credit_ledger_id=payment.ledger_id,
                    external_ref=f"csv/refund/REF-{n}",
                    idempotency_key=journal.key,
                    steps=journal,
                )
            )
            return result.ledger_id

        return await _until_done(run, journal)

    async def check_refund(self, ledger: LedgerUnderTest, n: int, ledger_id: str) -> None:
        found = await ledger.adapter.find("refund", f"csv/refund/REF-{n}")
        assert found is not None and found.ledger_id == ledger_id
        payment = await ledger.adapter.find("payment", f"csv/payment/PAY-{n}")
        assert payment is not None
        assert (await self.fetch(ledger, "payment", payment.ledger_id)).balance == 0
        refund = await self.fetch(ledger, "refund", ledger_id)
        assert refund.total == Decimal("24.55")
        assert applied_to(refund, payment.ledger_id) == Decimal("24.55")

    async def op_payment(self, ledger: LedgerUnderTest, n: int, journal: StepsUnderTest) -> str:
        customer, invoice = await self._setup_invoice(ledger, n)
        payment = self.payment("250.00", n).model_copy(
            update={"customer_id": f"C-{n}", "invoice_id": f"INV-{n}"}
        )

        async def run() -> str:
            result = await ledger.adapter.apply_payment(
                PaymentWrite(
                    payment,
                    customer_ledger_id=customer,
                    invoice_ledger_id=invoice,
                    external_ref=f"csv/payment/PAY-{n}",
                    idempotency_key=journal.key,
                    steps=journal,
                    applied=Decimal("225.45"),
                )
            )
            return result.ledger_id

        return await _until_done(run, journal)

    async def check_payment(self, ledger: LedgerUnderTest, n: int, ledger_id: str) -> None:
        found = await ledger.adapter.find("payment", f"csv/payment/PAY-{n}")
        assert found is not None and found.ledger_id == ledger_id
        invoice = await ledger.adapter.find("invoice", f"csv/invoice/INV-{n}")
        assert invoice is not None
        assert (await self.fetch(ledger, "invoice", invoice.ledger_id)).balance == 0
        payment = await self.fetch(ledger, "payment", ledger_id)
        assert (payment.total, payment.balance) == (Decimal("250.00"), Decimal("24.55"))
        assert applied_to(payment, invoice.ledger_id) == Decimal("225.45")

    OPERATIONS: tuple[str, ...] = ("credit_note", "refund", "payment")
    #: the document kind each operation creates once
    KIND: ClassVar[dict[str, str]] = {
        "credit_note": "credit_note",
        "refund": "refund",
        "payment": "payment",
    }

    # ----------------------------------------------------------------- tests

    #: operations beyond ``OPERATIONS`` that a platform does in several writes (each with
    #: an ``op_<name>`` / ``check_<name>`` pair here); ``KIND`` may name the document each
    #: one creates exactly once (counted after every interruption), else nothing is counted
    extra_operations: tuple[str, ...] = ()

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Each test below runs for every operation this platform lists: the common ones
        (a subclass may narrow ``OPERATIONS``) and its own ``extra_operations``."""
        if "operation" in metafunc.fixturenames:
            metafunc.parametrize("operation", (*self.OPERATIONS, *self.extra_operations))

    def _must_be_steps(self, operation: str) -> bool:
        """Whether the operation's writes must each be a step: every platform-specific
        one, and the common ones that apply a document, unless done in one write here."""
        if operation in self.extra_operations:
            return True
        return operation not in self.single_write and operation != "payment"

    async def test_multi_write_steps_are_journaled(
        self, ledger: LedgerUnderTest, operation: str
    ) -> None:
        journal = StepsUnderTest(f"{operation}-clean")
        ledger_id = await getattr(self, f"op_{operation}")(ledger, 1, journal)
        await getattr(self, f"check_{operation}")(ledger, 1, ledger_id)
        if self._must_be_steps(operation):
            assert len(journal.names) >= 2, (
                f"{operation}: its writes must each be a step, got {journal.names}"
            )

    @pytest.mark.parametrize("mode", MODES)
    async def test_an_interrupted_multi_write_resumes_without_duplicates(
        self, ledger: LedgerUnderTest, operation: str, mode: Mode
    ) -> None:
        learn = StepsUnderTest(f"{operation}-learn")
        await getattr(self, f"op_{operation}")(ledger, 1, learn)
        kind = self.KIND.get(operation)
        for i, name in enumerate(learn.names, start=2):
            before = ledger.sandbox.count(kind) if kind else 0
            journal = StepsUnderTest(f"{operation}-{mode}-{name}", fault=(mode, name))
            ledger_id = await getattr(self, f"op_{operation}")(ledger, i, journal)
            await getattr(self, f"check_{operation}")(ledger, i, ledger_id)
            if kind:
                assert ledger.sandbox.count(kind) == before + 1, f"step {name}: a second {kind}"

    async def op_void(self, ledger: LedgerUnderTest, n: int, journal: StepsUnderTest) -> str:
        """Void an open invoice (NetSuite: a mirroring credit memo, then the void mark)."""
        _, invoice = await self._setup_invoice(ledger, n)

        async def run() -> str:
            result = await ledger.adapter.void_invoice(
                VoidWrite(invoice, version=None, idempotency_key=journal.key, steps=journal)
            )
            return result.ledger_id

        return await _until_done(run, journal)

    async def check_void(self, ledger: LedgerUnderTest, n: int, ledger_id: str) -> None:
        found = await ledger.adapter.find("invoice", f"csv/invoice/INV-{n}")
        assert found is not None and found.ledger_id == ledger_id
        invoice = await self.fetch(ledger, "invoice", ledger_id)
        assert (invoice.status, invoice.balance) == ("void", Decimal(0))

    async def op_issue_invoice(
        self, ledger: LedgerUnderTest, n: int, journal: StepsUnderTest
    ) -> str:
        """Create an invoice that takes payments (Zoho: a draft, then marked as sent)."""
        customer = await self.push_customer(ledger, n)

        async def run() -> str:
            result = await ledger.adapter.create_invoice(
                InvoiceWrite(
                    self.invoice(n, customer_id=f"C-{n}"),
                    customer_ledger_id=customer,
                    external_ref=f"csv/invoice/INV-{n}",
                    idempotency_key=journal.key,
                    steps=journal,
                )
            )
            return result.ledger_id

        return await _until_done(run, journal)

    async def check_issue_invoice(self, ledger: LedgerUnderTest, n: int, ledger_id: str) -> None:
        found = await ledger.adapter.find("invoice", f"csv/invoice/INV-{n}")
        assert found is not None and found.ledger_id == ledger_id
        assert found.customer_ledger_id is not None
        await ledger.adapter.apply_payment(
            PaymentWrite(  # refused by a ledger on an unissued invoice
                self.payment("225.45", n).model_copy(
                    update={"customer_id": f"C-{n}", "invoice_id": f"INV-{n}"}
                ),
                customer_ledger_id=found.customer_ledger_id,
                invoice_ledger_id=ledger_id,
                external_ref=f"csv/payment/PAY-{n}",
                idempotency_key=f"p-{n}",
            )
        )
        invoice = await self.fetch(ledger, "invoice", ledger_id)
        assert (invoice.status, invoice.balance) == ("paid", Decimal(0))

    async def op_unapplied_payment(
        self, ledger: LedgerUnderTest, n: int, journal: StepsUnderTest
    ) -> str:
        """A payment applied to nothing, all of it the customer's credit (Odoo: a payment
        created, then posted)."""
        customer, invoice = await self._setup_invoice(ledger, n)
        payment = self.payment("30.00", n).model_copy(
            update={"customer_id": f"C-{n}", "invoice_id": f"INV-{n}"}
        )

        async def run() -> str:
            result = await ledger.adapter.apply_payment(
                PaymentWrite(
                    payment,
                    customer_ledger_id=customer,
                    invoice_ledger_id=invoice,
                    external_ref=f"csv/payment/PAY-{n}",
                    idempotency_key=journal.key,
                    steps=journal,
                    applied=Decimal(0),
                )
            )
            return result.ledger_id

        return await _until_done(run, journal)

    async def check_unapplied_payment(
        self, ledger: LedgerUnderTest, n: int, ledger_id: str
    ) -> None:
        found = await ledger.adapter.find("payment", f"csv/payment/PAY-{n}")
        assert found is not None and found.ledger_id == ledger_id
        payment = await self.fetch(ledger, "payment", ledger_id)
        assert (payment.total, payment.balance, payment.applied_to) == (
            Decimal("30.00"),
            Decimal("30.00"),
            (),
        )
        invoice = await ledger.adapter.find("invoice", f"csv/invoice/INV-{n}")
        assert invoice is not None and invoice.balance == Decimal("225.45")

    async def op_update_invoice(
        self, ledger: LedgerUnderTest, n: int, journal: StepsUnderTest
    ) -> str:
        """Replace an issued invoice's lines (Odoo: reset to draft, write, post again)."""
        customer, invoice = await self._setup_invoice(ledger, n)
        version = (await self.fetch(ledger, "invoice", invoice)).version
        smaller = self.invoice(n, customer_id=f"C-{n}")
        smaller = smaller.model_copy(
            update={"lines": smaller.lines[:2], "total": Decimal("185.45")}
        )

        async def run() -> str:
            result = await ledger.adapter.update_invoice(
                InvoiceUpdate(
                    smaller,
                    ledger_id=invoice,
                    version=version,
                    customer_ledger_id=customer,
                    external_ref=f"csv/invoice/INV-{n}",
                    idempotency_key=journal.key,
                    steps=journal,
                )
            )
            return result.ledger_id

        return await _until_done(run, journal)

    async def check_update_invoice(self, ledger: LedgerUnderTest, n: int, ledger_id: str) -> None:
        found = await ledger.adapter.find("invoice", f"csv/invoice/INV-{n}")
        assert found is not None and found.ledger_id == ledger_id
        invoice = await self.fetch(ledger, "invoice", ledger_id)
        assert (invoice.status, invoice.total, invoice.balance) == (
            "open",
            Decimal("185.45"),
            Decimal("185.45"),
        )
        assert len(invoice.line_items) == 2


async def _until_done(run: Callable[[], Awaitable[str]], journal: StepsUnderTest) -> str:
    """Run, and after a crash or a server error run again with the same journal (what a
    restarted worker, or the next redelivery, does)."""
    for _ in range(4):
        try:
            return await run()
        except Crash:
            continue
        except TransientLedgerError:
            journal.fault = None  # the server is back
            continue
    raise AssertionError("the operation never completed")
