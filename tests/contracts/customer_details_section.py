"""The ledger side of the reverse direction (issue #11), the same for every ledger that
says which details its customers hold (``core.customer_details.LedgerCustomerDetails``).

A customer is pushed with an e-mail address, a phone number and a billing address; the
adapter reads back what it wrote. A bookkeeper then edits the e-mail and phone in the
sandbox's book (the sandbox's own service, as its screens would: ``edit_in_books``), and
the adapter's change read — the one back-sync uses — reports the new details with the
ledger's new version, the one a read by id answers.

Authority respected forward (core/sync_updates.py): an update of a customer that leaves
out the details the ledger owns leaves them as the ledger holds them, on every ledger.

The billing address in parts (``core.customer_details.LedgerAddressParts``): as pushed, a
ledger holds the address the way its mapping writes it (``address_as_written``: parts only
where that is one line per field); a bookkeeper then fills the address's own fields
(``edit_address_in_books``: ``ADDRESS``) and the adapter reads them back as those parts,
from its read by id and, where ``delta_address``, from its change read; the address's text
is the parts joined. A ledger that cannot read the address in parts
(``address_in_parts = False``) says so by not implementing the port.

A platform gives ``edit_in_books`` and, where its change read carries fewer details than
its read by id, ``delta_details`` (which details the change read reports).
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from typing import ClassVar

from syncledger.core.customer_details import (
    AddressParts,
    KeepsLedgerDetails,
    LedgerAddressParts,
    LedgerCustomerDetails,
)
from syncledger.core.model import Customer
from syncledger.core.ports import CustomerUpdate, CustomerWrite, LedgerRecord
from tests.contracts.ledger_contract import LedgerUnderTest, key

PUSHED = {
    "email": "billing@acme.example",
    "phone": "+1 415 555 0100",
    "billing_address": "1 Market St",
}
EDITED = {"email": "accounts@acme.example", "phone": "+1 415 555 0199"}
REF = "csv/customer/C-41"
#: a billing address a bookkeeper enters in the address's own fields
ADDRESS = AddressParts(
    street=("500 Howard St",),
    city="San Francisco",
    region="CA",
    postal_code="94105",
    country="US",
)
#: an address as the forward sync writes it from a source's joined parts
JOINED = "1 Market St\nSan Francisco\nCA 94105"


class CustomerDetailsSection(ABC):
    """Mixed into a class that gives a ``ledger`` fixture (``LedgerUnderTest``)."""

    currency: ClassVar[str] = "USD"
    #: the details the adapter's change read reports (its read by id reports all three)
    delta_details: ClassVar[tuple[str, ...]] = ("email", "phone")
    #: seconds between two changes the platform's change read can tell apart
    changes_resolution: ClassVar[float] = 1.0

    #: whether the adapter reads the billing address in parts (``LedgerAddressParts``)
    address_in_parts: ClassVar[bool] = True
    #: whether the change read carries the billing address (its read by id does)
    delta_address: ClassVar[bool] = True
    #: the parts of ``ADDRESS`` the adapter reads back (a part it does not read as text:
    #: left out)
    address_read: ClassVar[AddressParts] = ADDRESS

    @abstractmethod
    def edit_in_books(self, ledger: LedgerUnderTest, pushed: LedgerRecord) -> None:
        """A bookkeeper sets ``EDITED`` on the customer at the ledger's own screens."""

    def edit_address_in_books(self, ledger: LedgerUnderTest, pushed: LedgerRecord) -> None:
        """A bookkeeper enters ``ADDRESS`` in the address's own fields (a ledger with
        ``address_in_parts`` gives it)."""
        raise AssertionError(f"{type(self).__name__} gives no edit_address_in_books")

    def customer(self) -> Customer:
        return Customer(id="C-41", name="Acme Details", currency=self.currency, **PUSHED)

    async def pushed(self, ledger: LedgerUnderTest) -> LedgerRecord:
        done = await ledger.adapter.create_customer(
            CustomerWrite(self.customer(), external_ref=REF, idempotency_key=key("details", 41))
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
            CustomerUpdate(
                renamed,
                ledger_id=pushed.ledger_id,
                version=edited.version,
                external_ref=REF,
                idempotency_key=key("details", 41, "update"),
            )
        )
        now = await adapter.get("customer", pushed.ledger_id)
        assert now is not None and now.name == "Acme Details Ltd"
        assert adapter.customer_details(now) == PUSHED | EDITED

    async def test_an_address_pushed_as_one_text_is_parts_only_where_the_mapping_splits_it(
        self, ledger: LedgerUnderTest
    ) -> None:
        adapter = ledger.adapter
        if not self.address_in_parts:
            assert not isinstance(adapter, LedgerAddressParts)
            return
        assert isinstance(adapter, LedgerAddressParts)
        customer = self.customer().model_copy(update={"billing_address": JOINED})
        done = await adapter.create_customer(
            CustomerWrite(customer, external_ref=REF, idempotency_key=key("details", 42))
        )
        record = await adapter.get("customer", done.ledger_id)
        assert record is not None
        written = adapter.address_as_written(JOINED)
        assert written.text() == JOINED
        assert adapter.address_parts(record) == (written if written.in_parts else None)
        assert adapter.customer_details(record)["billing_address"] == JOINED

    async def test_a_bookkeepers_address_in_its_fields_is_read_in_parts(
        self, ledger: LedgerUnderTest
    ) -> None:
        adapter = ledger.adapter
        if not self.address_in_parts:
            return  # the test above asserts the port is absent
        assert isinstance(adapter, LedgerAddressParts)
        pushed = await self.pushed(ledger)
        assert adapter.address_parts(pushed) == AddressParts(street=(PUSHED["billing_address"],))
        await asyncio.sleep(self.changes_resolution)
        since = datetime.now(UTC)
        await asyncio.sleep(self.changes_resolution)
        self.edit_address_in_books(ledger, pushed)

        now = await adapter.get("customer", pushed.ledger_id)
        assert now is not None
        assert adapter.address_parts(now) == self.address_read
        assert adapter.customer_details(now)["billing_address"] == self.address_read.text()
        if self.delta_address:
            changed = await self.changed(ledger, since, pushed.ledger_id)
            assert adapter.address_parts(changed) == self.address_read
