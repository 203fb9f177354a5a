"""A contract section for ledgers that find a customer they already hold by the reference
it carries when the platform has forgotten the write's key, mixed into a platform's
contract class (``tests/unit/test_<platform>_contract.py``).

- :class:`RecoveredCustomerSection`: a customer created again under another key (QBO's
  ``requestid`` lost, Xero's key expired after 6 minutes, Sage's ``idempotency_id`` gone
  after 7 days) is the one the ledger holds, given back as recovered, not made twice;
  another customer of the same name is refused with the platform's code where the
  platform keeps customer names unique.
- :class:`JournalledApplicationSection`: a credit note whose application to its invoice
  is a request of its own (a step of the sync's journal) and meets a server error there
  is left to the journal, not retried by the adapter; resumed, the journal finds the
  credit note written once and applies it once.
"""

from __future__ import annotations

import abc
from decimal import Decimal
from typing import ClassVar

import pytest

from syncledger.core.errors import PermanentLedgerError, TransientLedgerError
from syncledger.core.ports import CreditNoteWrite, CustomerWrite
from tests.contracts.ledger_contract import LedgerContract, LedgerUnderTest, key
from tests.contracts.steps_contract import StepsUnderTest


class RecoveredCustomerSection(LedgerContract):
    #: the code of the platform's refusal of another customer of a name already taken
    #: (None: the platform takes it, or moves ours aside, and the test stops short of it)
    taken_name_code: ClassVar[str | None] = None
    #: words that refusal's message holds
    taken_name_says: ClassVar[str] = ""

    def again(self, n: int, ref: str, idempotency_key: str) -> CustomerWrite:
        return CustomerWrite(
            self.customer(1, id=f"C-{n}"), external_ref=ref, idempotency_key=idempotency_key
        )

    async def test_a_duplicate_carrying_our_reference_is_recovered(
        self, ledger: LedgerUnderTest
    ) -> None:
        first = await self.push_customer(ledger)
        # the platform forgot the key: another key, the same customer and reference
        again = await ledger.adapter.create_customer(
            self.again(1, "csv/customer/C-1", key("another key"))
        )
        assert (again.ledger_id, again.recovered) == (first, True)
        if self.taken_name_code is not None:
            with pytest.raises(PermanentLedgerError) as refused:
                await ledger.adapter.create_customer(self.again(9, "csv/customer/C-9", key("c9")))
            assert refused.value.code == self.taken_name_code
            assert self.taken_name_says in str(refused.value)
        assert ledger.sandbox.count("customer") == 1


class JournalledApplicationSection(LedgerContract, abc.ABC):
    #: the platform's request applying a credit note to an invoice, as the sandbox's
    #: ``faults`` ``match`` pattern (``METHOD path``) that fails it with a 503
    application_request: ClassVar[str] = ""

    @abc.abstractmethod
    def applications(self, ledger: LedgerUnderTest) -> int:
        """How many applications of credit notes the platform's book holds."""

    async def test_under_a_journal_a_failed_application_is_left_to_it_and_resumed_once(
        self, ledger: LedgerUnderTest
    ) -> None:
        customer_id = await self.push_customer(ledger)
        invoice_id = await self.push_invoice(ledger, customer_id)
        journal = StepsUnderTest(key("cn", 1))
        fault = {"match": self.application_request, "match_fail": 1, "fail_status": 503}
        ledger.sandbox.faults.update(fault)  # type: ignore[attr-defined]

        async def push() -> str:
            pushed = await ledger.adapter.create_credit_note(
                CreditNoteWrite(
                    self.credit_note(),
                    customer_ledger_id=customer_id,
                    invoice_ledger_id=invoice_id,
                    external_ref="csv/credit_note/CN-1",
                    idempotency_key=journal.key,
                    steps=journal,
                )
            )
            return pushed.ledger_id

        with pytest.raises(TransientLedgerError):
            await push()  # not resent by the adapter: the journal owns the retry
        assert list(journal.logged) == ["credit_note", "apply"] and journal.logged["apply"] is None
        assert self.applications(ledger) == 0
        note_id = await push()
        assert journal.finds == 1
        assert (ledger.sandbox.count("credit_note"), self.applications(ledger)) == (1, 1)
        record = await self.fetch(ledger, "credit_note", note_id)
        assert record.applied_to == ((invoice_id, Decimal("40.00")),)
