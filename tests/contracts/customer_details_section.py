"""The ledger side of the reverse direction (issue #11), the same for every ledger that
says which details its customers hold (``core.customer_details.LedgerCustomerDetails``).

A customer is pushed with an e-mail address, a phone number and a billing address; the
adapter reads back what it wrote. A bookkeeper then edits the e-mail and phone in the
sandbox's book (the sandbox's own service, as its screens would: ``edit_in_books``), and
the adapter's change read — the one back-sync uses — reports the new details with the
ledger's new version, the one a read by id answers.

Authority respected forward (core/sync_updates.py): an update of a customer that leaves
out the details the ledger owns leaves them as the ledger holds them, on every ledger.

A platform gives ``edit_in_books`` and, where its change read carries fewer details than
its read by id, ``delta_details`` (which details the change read reports).
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from typing import ClassVar

from syncledger.core.customer_details import KeepsLedgerDetails, LedgerCustomerDetails
from syncledger.core.model import Customer
from syncledger.core.ports import LedgerRecord
from tests.contracts.ledger_contract import LedgerUnderTest, key

PUSHED = {
    "email": "billing@acme.example",
    "phone": "+1 415 555 0100",
    "billing_address": "1 Market St",
}
EDITED = {"email": "accounts@acme.example", "phone": "+1 415 555 0199"}
REF = "csv/customer/C-41"


class CustomerDetailsSection(ABC):
    """Mixed into a class that gives a ``ledger`` fixture (``LedgerUnderTest``)."""

    currency: ClassVar[str] = "USD"
    #: the details the adapter's change read reports (its read by id reports all three)
    delta_details: ClassVar[tuple[str, ...]] = ("email", "phone")
    #: seconds between two changes the platform's change read can tell apart
    changes_resolution: ClassVar[float] = 1.0

    @abstractmethod
    def edit_in_books(self, ledger: LedgerUnderTest, pushed: LedgerRecord) -> None:
        """A bookkeeper sets ``EDITED`` on the customer at the ledger's own screens."""

    def customer(self) -> Customer:
        return Customer(id="C-41", name="Acme Details", currency=self.currency, **PUSHED)

    async def pushed(self, ledger: LedgerUnderTest) -> LedgerRecord:
        done = await ledger.adapter.create_customer(
            self.customer(), external_ref=REF, idempotency_key=key("details", 41)
        )
        record = await ledger.adapter.get("customer", done.ledger_id)
        assert record is not None
        return record

    async def changed(
        self, ledger: LedgerUnderTest, since: datetime, ledger_id: str
    ) -> LedgerRecord:
        found = [
            r
            async for r in ledger.adapter.changes(since)
            if r.kind == "customer" and r.ledger_id == ledger_id
        ]
        assert found, "the bookkeeper's edit is in the change read"
        return found[-1]

    async def test_reads_back_the_details_it_wrote(self, ledger: LedgerUnderTest) -> None:
        adapter = ledger.adapter
        assert isinstance(adapter, LedgerCustomerDetails)
        record = await self.pushed(ledger)
        assert adapter.customer_details(record) == PUSHED

    async def test_a_bookkeepers_edit_is_reported_with_the_ledger_version(
        self, ledger: LedgerUnderTest
    ) -> None:
        adapter = ledger.adapter
        assert isinstance(adapter, LedgerCustomerDetails)
        pushed = await self.pushed(ledger)
        await asyncio.sleep(self.changes_resolution)
        since = datetime.now(UTC)
        await asyncio.sleep(self.changes_resolution)
        self.edit_in_books(ledger, pushed)

        changed = await self.changed(ledger, since, pushed.ledger_id)
        now = await adapter.get("customer", pushed.ledger_id)
        assert now is not None
        assert changed.version is not None and changed.version != pushed.version
        assert changed.version == now.version
        reported = adapter.customer_details(changed)
        assert {f: reported[f] for f in self.delta_details} == {
            f: EDITED[f] for f in self.delta_details
        }
        assert adapter.customer_details(now) == PUSHED | EDITED

    async def test_an_update_without_the_owned_details_keeps_the_ledgers_values(
        self, ledger: LedgerUnderTest
    ) -> None:
        adapter = ledger.adapter
        assert isinstance(adapter, LedgerCustomerDetails)
        pushed = await self.pushed(ledger)
        self.edit_in_books(ledger, pushed)
        edited = await adapter.get("customer", pushed.ledger_id)
        assert edited is not None
        if isinstance(adapter, KeepsLedgerDetails):  # as core/sync_updates.py tells it
            adapter.keep_ledger_details(("email", "phone"))
        renamed = self.customer().model_copy(
            update={"name": "Acme Details Ltd", "email": None, "phone": None}
        )
        await adapter.update_customer(
            renamed,
            ledger_id=pushed.ledger_id,
            version=edited.version,
            external_ref=REF,
            idempotency_key=key("details", 41, "update"),
        )
        now = await adapter.get("customer", pushed.ledger_id)
        assert now is not None and now.name == "Acme Details Ltd"
        assert adapter.customer_details(now) == PUSHED | EDITED
