"""A ledger-owned billing address back to the source, in parts (issue #11): the parts
value and how a change is told (core/customer_details.py), the log-driven flow on fakes
(core/customer_reverse.py with a memory ledger that holds an address in parts), and how
each source writer maps parts to its own fields (HubSpot properties, Jobber's
``AddressAttributes``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from syncledger.adapters.customer_details import AddressFields, first_street_line, in_parts
from syncledger.adapters.hubspot.customer_writeback import address_properties
from syncledger.adapters.jobber.customer_writeback import address_input, edit_input
from syncledger.adapters.memory import MemoryLedger
from syncledger.core.backsync import BackSync, BackSyncReport
from syncledger.core.customer_details import (
    AddressParts,
    LedgerAddressParts,
    changed_parts,
    same,
)
from syncledger.core.customer_reverse import CustomerReverse
from syncledger.core.ports import LedgerRecord, SourceItem
from syncledger.core.source_ports import CustomerDetailsRefusal, CustomerDetailsUpdate
from syncledger.core.sync_state import SyncState
from tests.unit.test_customer_reverse import OwningHarness
from tests.unit.test_sync import ENTITY, Harness

REF = "csv/customer/c1"
OWNED = {"billing_address": "ledger"}
COMPANY = {"billing_address": ["address", "city", "state", "zip", "country"]}

# ---------------------------------------------------------------- the parts value


def test_parts_are_lines_and_a_part_of_several_lines_is_one_text() -> None:
    parts = AddressParts.of(("1 Market St", " ", None), "San Francisco", "", "94105", False)
    assert parts == AddressParts(("1 Market St",), "San Francisco", None, "94105")
    assert parts.text() == "1 Market St\nSan Francisco\n94105" and parts.in_parts
    assert not AddressParts.of(("1 Market St\nSan Francisco",)).in_parts
    assert AddressParts().text() is None


def test_a_change_is_a_part_that_differs_not_one_cleared_or_restyled() -> None:
    before = AddressParts(("1 Market St",), "San Francisco", "CA")
    assert changed_parts(AddressParts(("1  market st",), "SAN FRANCISCO", "CA"), before) == ()
    assert changed_parts(AddressParts(("1 Market St",), None, "CA"), before) == ()  # cleared
    assert changed_parts(AddressParts(("1 Market St",), "Oakland", "CA", "94607"), before) == (
        "city",
        "postal_code",
    )
    assert changed_parts(AddressParts(("1 Market St", "Floor 2")), before) == ("street",)


def test_an_address_is_compared_without_the_commas_or_breaks_between_its_parts() -> None:
    jobber = "1 Market St\nSan Francisco, CA 94105"  # adapters/jobber/mapping.py joins so
    assert same(
        "billing_address",
        AddressParts(("1 Market St",), "San Francisco", "CA", "94105").text(),
        jobber,
    )
    assert not same("billing_address", "1 Market St\nOakland, CA", jobber)


_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12)


@given(
    st.lists(_TEXT, max_size=3),
    st.none() | _TEXT,
    st.none() | _TEXT,
    st.none() | _TEXT,
    st.none() | _TEXT,
)
def test_parts_survive_the_log_and_never_differ_from_themselves(
    street: list[str], city: str | None, region: str | None, code: str | None, country: str | None
) -> None:
    parts = AddressParts.of(tuple(street), city, region, code, country)
    assert AddressParts.from_dict(parts.as_dict()) == parts
    assert changed_parts(parts, parts) == ()
    assert changed_parts(parts, AddressParts()) == tuple(
        n for n in ("street", "city", "region", "postal_code", "country") if parts.part(n)
    )


# ---------------------------------------------------------------- the flow on fakes

FIELDS = AddressFields(("billing_address", "street2"), "city", "region", "postal_code", "country")


class PartsLedger(MemoryLedger):
    """A memory ledger whose customers hold the address in fields, as the real ledgers do:
    the mapping writes the whole address to the first street field (``billing_address``)."""

    def customer_details(self, record: LedgerRecord) -> dict[str, str | None]:
        found = super().customer_details(record)
        parts = FIELDS.read(record.raw)
        found["billing_address"] = parts.text() if parts else None
        return found

    def address_parts(self, record: LedgerRecord) -> AddressParts | None:
        return in_parts(FIELDS.read(record.raw))

    def address_as_written(self, text: str) -> AddressParts:
        return first_street_line(text)


@dataclass
class Crm:
    """A source that records the updates it is given and takes every one."""

    updates: list[CustomerDetailsUpdate] = field(default_factory=list)

    async def write_customer_details(
        self, updates: Sequence[CustomerDetailsUpdate]
    ) -> list[CustomerDetailsRefusal]:
        self.updates += updates
        return []


def source_customer(address: str, version: str = "2026-01-01T00:00:00") -> SourceItem:
    fields = {"name": "Customer c1", "currency": "USD", "billing_address": address}
    return SourceItem("csv", "customer", "c1", version, fields)


async def pushed(address: str, ledger: MemoryLedger | None = None) -> Harness:
    """The customer pushed, the forward sync leaving the owned address out of updates."""
    h = OwningHarness(OWNED, ledger=ledger or PartsLedger())
    await h.ingest([source_customer(address)])
    await h.run()
    return h


async def backsync(h: Harness, crm: Crm) -> BackSyncReport:
    state = SyncState(ENTITY, h.ledger.ledger)
    await state.load(h.store)
    reverse = CustomerReverse(
        h.store, h.keys, h.ledger, state, entity=ENTITY, actor="test", authority=OWNED, writer=crm
    )
    syncer = BackSync(h.store, h.ledger, state, entity=ENTITY, actor="test", reverse=reverse)
    return await syncer.poll(datetime.now(UTC) - timedelta(days=1))


async def edit(h: Harness, **fields: str) -> None:
    rec = await h.ledger.find("customer", REF)
    assert rec is not None
    h.ledger.edit_customer(rec.ledger_id, **fields)


async def test_the_parts_a_bookkeeper_changed_flow_back_and_nothing_else() -> None:
    h = await pushed("1 Market St")
    assert isinstance(h.ledger, LedgerAddressParts)
    await backsync(h, Crm())  # the catch-up: nothing differs yet
    await edit(h, city="San Francisco", region="CA")
    crm = Crm()
    report = await backsync(h, crm)
    assert report.details_written == 1
    [update] = crm.updates
    assert update.address == AddressParts(city="San Francisco", region="CA")
    assert update.values == {"billing_address": "1 Market St\nSan Francisco\nCA"}


async def test_a_part_the_bookkeeper_cleared_is_not_written() -> None:
    h = await pushed("Springfield")  # a source with a city only: the first street field
    await backsync(h, Crm())
    await edit(h, billing_address="", city="Springfield", region="IL")
    crm = Crm()
    await backsync(h, crm)
    assert [u.address for u in crm.updates] == [AddressParts(city="Springfield", region="IL")]


async def test_only_a_cleared_part_is_no_change() -> None:
    h = await pushed("1 Market St")
    await backsync(h, Crm())
    await edit(h, billing_address="")
    crm = Crm()
    report = await backsync(h, crm)
    assert crm.updates == [] and report.details_observed == 0


async def test_after_the_source_took_them_the_next_change_is_against_the_ledgers_parts() -> None:
    h = await pushed("Springfield")
    await backsync(h, Crm())
    await edit(h, region="IL")
    await backsync(h, Crm())
    # the source's next read holds what was written back: its text, the parts joined
    await h.ingest([source_customer("Springfield\nIL", version="2026-02-01T00:00:00")])
    await h.run()
    rec = await h.ledger.find("customer", REF)
    assert rec is not None and rec.raw["billing_address"] == "Springfield"  # kept
    await edit(h, region="WI")
    crm = Crm()
    await backsync(h, crm)
    # the street line was never the bookkeeper's change: only the region goes back
    assert [u.address for u in crm.updates] == [AddressParts(region="WI")]


async def test_an_address_held_as_one_text_is_refused_not_split() -> None:
    h = await pushed("1 Market St\nSan Francisco")  # one field, two lines
    await backsync(h, Crm())
    await edit(h, billing_address="2 Mission St\nSan Francisco")
    crm = Crm()
    report = await backsync(h, crm)
    assert crm.updates == [] and report.details_refused == 1
    assert any("billing_address refused (free_text)" in line for line in report.lines)


async def test_a_ledger_that_reads_no_parts_refuses_the_address_with_its_own_reason() -> None:
    h = await pushed("1 Market St", MemoryLedger())
    await backsync(h, Crm())
    await edit(h, billing_address="2 Mission St")
    crm = Crm()
    report = await backsync(h, crm)
    assert crm.updates == []
    assert any("billing_address refused (no_parts)" in line for line in report.lines)


async def test_the_address_and_its_parts_are_sealed_in_the_log() -> None:
    h = await pushed("1 Market St")
    await backsync(h, Crm())
    await edit(h, city="San Francisco")
    await backsync(h, Crm())
    raw = b"".join([s.raw async for s in h.store.read(f"sl.{ENTITY}.ledger.>")])
    assert b"CustomerDetailsObserved" in raw and b"San Francisco" not in raw


# ---------------------------------------------------------------- each writer's mapping


def test_hubspot_takes_each_part_in_its_property_and_leaves_the_others() -> None:
    parts = AddressParts(("500 Howard St",), "San Francisco", "CA", "94105", "US")
    assert address_properties(COMPANY, parts) == (
        {
            "address": "500 Howard St",
            "city": "San Francisco",
            "state": "CA",
            "zip": "94105",
            "country": "US",
        },
        None,
    )
    assert address_properties(COMPANY, AddressParts(city="Oakland")) == ({"city": "Oakland"}, None)


def test_hubspot_refuses_what_no_mapped_property_takes_and_never_half_writes() -> None:
    assert address_properties(COMPANY, None) == ({}, "composite")
    two_lines = AddressParts(("500 Howard St", "Floor 2"), "San Francisco")
    assert address_properties(COMPANY, two_lines) == ({}, "no_property")
    no_zip = {"billing_address": ["address", "city"]}
    assert address_properties(no_zip, AddressParts(city="Oakland", postal_code="94607")) == (
        {},
        "no_property",
    )


def test_jobber_lays_the_changed_parts_over_the_clients_address() -> None:
    current = {"street1": "1 Market St", "street2": "Floor 2", "city": "SF", "country": "US"}
    assert address_input(current, AddressParts(city="San Francisco", region="CA")) == {
        "street1": "1 Market St",
        "street2": "Floor 2",
        "city": "San Francisco",
        "province": "CA",
        "country": "US",
    }
    assert address_input(current, AddressParts(city="sf ")) is None  # already holds it


def test_jobber_edits_the_address_only_with_parts() -> None:
    client: Mapping[str, Any] = {"id": "c1", "billingAddress": {"street1": "1 Market St"}}
    values = {"billing_address": "1 Market St\nOakland"}
    edit, changed = edit_input(client, values, AddressParts(city="Oakland"))
    assert edit == {"billingAddress": {"street1": "1 Market St", "city": "Oakland"}}
    assert changed == ["billing_address"]
    assert edit_input(client, values, None) == ({}, [])
