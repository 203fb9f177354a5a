"""A contract section for ledgers that find a customer they already hold by the reference
it carries when the platform has forgotten the write's key, mixed into a platform's
contract class (``tests/unit/test_<platform>_contract.py``).

- :class:`RecoveredCustomerSection`: a customer created again under another key (QBO's
  ``requestid`` lost, Xero's key expired after 6 minutes, Sage's ``idempotency_id`` gone
  after 7 days) is the one the ledger holds, given back as recovered, not made twice;
  another customer of the same name is refused with the platform's code where the
  platform keeps customer names unique.
"""

from __future__ import annotations

from typing import ClassVar

import pytest

from syncledger.core.errors import PermanentLedgerError
from syncledger.core.ports import CustomerWrite
from tests.contracts.ledger_contract import LedgerContract, LedgerUnderTest, key


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
