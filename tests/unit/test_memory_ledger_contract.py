"""The in-memory ledger fake honours the same contract as the real adapters, so engine
tests on it mean something."""

from __future__ import annotations

import pytest

from syncledger.adapters.memory import MemoryLedger
from syncledger.core.ports import CreditNoteWrite, CustomerWrite, InvoiceWrite, ItemWrite
from tests.contracts.ledger_contract import LedgerContract, LedgerUnderTest, key
from tests.contracts.steps_contract import MultiWriteContract


@pytest.fixture
def ledger() -> MemoryLedger:
    return MemoryLedger()


async def test_same_key_twice_creates_one_customer(ledger: MemoryLedger) -> None:
    from tests.contracts.ledger_contract import LedgerContract

    contract = LedgerContract()
    for _ in range(2):
        await ledger.create_customer(
            CustomerWrite(
                contract.customer(), external_ref="csv/customer/C-1", idempotency_key=key("c", 1)
            )
        )
    assert ledger.count("customer") == 1


async def test_credit_note_reduces_the_invoice_balance(ledger: MemoryLedger) -> None:
    from decimal import Decimal

    from tests.contracts.ledger_contract import LedgerContract

    contract = LedgerContract()
    c = await ledger.create_customer(
        CustomerWrite(contract.customer(), external_ref="r", idempotency_key="k1")
    )
    i = await ledger.create_invoice(
        InvoiceWrite(
            contract.invoice(),
            customer_ledger_id=c.ledger_id,
            external_ref="ri",
            idempotency_key="k2",
        )
    )
    await ledger.create_credit_note(
        CreditNoteWrite(
            contract.credit_note(),
            customer_ledger_id=c.ledger_id,
            invoice_ledger_id=i.ledger_id,
            external_ref="rc",
            idempotency_key="k3",
        )
    )
    inv = await ledger.get("invoice", i.ledger_id)
    assert inv is not None
    assert inv.balance == Decimal("185.45")


async def test_a_line_naming_no_item_is_refused_and_a_known_one_is_booked(
    ledger: MemoryLedger,
) -> None:
    import pytest

    from syncledger.core.errors import PermanentLedgerError
    from syncledger.core.model import Invoice
    from tests.contracts.ledger_contract import LedgerContract

    contract = LedgerContract()
    c = await ledger.create_customer(
        CustomerWrite(contract.customer(), external_ref="r", idempotency_key="k1")
    )
    unknown = contract.with_item(contract.invoice(), "NOPE")
    assert isinstance(unknown, Invoice)
    with pytest.raises(PermanentLedgerError):
        await ledger.create_invoice(
            InvoiceWrite(
                unknown,
                customer_ledger_id=c.ledger_id,
                external_ref="ri",
                idempotency_key="k2",
            )
        )
    assert ledger.count("invoice") == 0
    made = await ledger.create_item(ItemWrite("NOPE", idempotency_key="k3"))
    assert (await ledger.create_item(ItemWrite("NOPE", idempotency_key="k4"))) == made
    i = await ledger.create_invoice(
        InvoiceWrite(
            unknown,
            customer_ledger_id=c.ledger_id,
            external_ref="ri",
            idempotency_key="k2",
        )
    )
    inv = await ledger.get("invoice", i.ledger_id)
    assert inv is not None
    assert inv.line_items == ("NOPE", None, None)
    assert ledger.count("item") == 1


class TestMemoryMultiWrite(MultiWriteContract):
    """The memory fake journals its two-write credit notes and refunds like the real
    adapters (the multi-write section of the contract)."""

    @pytest.fixture
    def ledger(self) -> LedgerUnderTest:
        fake = MemoryLedger()
        return LedgerUnderTest(fake, fake, attempts=1)  # type: ignore[arg-type]

    currency = "USD"
    push_customer = LedgerContract.push_customer
    customer = LedgerContract.customer
    invoice = LedgerContract.invoice
    payment = LedgerContract.payment
    credit_note = LedgerContract.credit_note
    refund = LedgerContract.refund
    fetch = LedgerContract.fetch
