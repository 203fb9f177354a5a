"""HubSpot delta reads against the sandbox: the search cap, equal timestamps, deals
becoming invoices, the client-side search limit."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from syncledger.adapters.hubspot.mapping import MAPPING_FILE, load_mapping
from syncledger.adapters.hubspot.platform import SOURCE
from syncledger.adapters.hubspot.sandbox.server import HubSpotSandbox
from syncledger.core.errors import ConfigurationError
from syncledger.core.source_ports import SourceItem, SourceReader
from tests.contracts.source_contract import read_all
from tests.unit.test_hubspot_source_contract import connection

#: an hour ahead, pinned, so timestamps can be made equal and fall after any cursor
LATER = int(time.time() * 1000) + 3_600_000


def ids_of(items: list[SourceItem], kind: str) -> Counter[str]:
    return Counter(i.id for i in items if i.kind == kind)


async def test_more_changes_than_the_search_cap_are_all_read_once(tmp_path: Path) -> None:
    sandbox = HubSpotSandbox(search_cap=50)
    reader = SOURCE.connect(connection(tmp_path, sandbox))
    try:
        _, cursor = await read_all(reader, None)
        made = [
            sandbox.store.create("companies", {"name": f"Co {n}"}, at=LATER + n // 60)
            for n in range(120)
        ]  # 60 share one millisecond, 60 the next
        found, _ = await read_all(reader, cursor)
    finally:
        await reader.aclose()
    assert ids_of(found, "customer") == Counter(made)
    assert sandbox.cap_refusals == 0


async def test_equal_timestamps_across_a_page_boundary(tmp_path: Path) -> None:
    sandbox = HubSpotSandbox()
    reader = SOURCE.connect(connection(tmp_path, sandbox))
    try:
        _, cursor = await read_all(reader, None)
        made = [
            sandbox.store.create("companies", {"name": f"Same {n}"}, at=LATER) for n in range(250)
        ]  # more than a 200-record page in one millisecond
        found, cursor = await read_all(reader, cursor)
        again, _ = await read_all(reader, cursor)
    finally:
        await reader.aclose()
    assert ids_of(found, "customer") == Counter(made)
    assert ids_of(again, "customer") == Counter()


async def test_a_deal_reaching_closedwon_becomes_an_invoice_with_its_lines(
    tmp_path: Path,
) -> None:
    sandbox = HubSpotSandbox()
    store = sandbox.store
    reader = SOURCE.connect(connection(tmp_path, sandbox))
    company = store.create("companies", {"name": "Acme"})
    deal = store.create(
        "deals",
        {
            "dealname": "Acme order",
            "dealstage": "qualifiedtobuy",
            "closedate": "2026-03-05T10:00:00.000Z",
            "deal_currency_code": "EUR",
        },
    )
    for name, qty, price in (("Widget", "2", "10.50"), ("Setup", "1", "99")):
        item = store.create("line_items", {"name": name, "quantity": qty, "price": price})
        store.associate("deals", deal, "line_items", item)
    store.associate("deals", deal, "companies", company)
    try:
        first, cursor = await read_all(reader, None)
        assert ids_of(first, "invoice") == Counter()
        store.move_deal(deal, "closedwon")
        won, cursor = await read_all(reader, cursor)
        store.move_deal(deal, "closedlost")
        lost, _ = await read_all(reader, cursor)
    finally:
        await reader.aclose()
    [invoice] = [i for i in won if i.kind == "invoice"]
    assert (invoice.id, invoice.deleted) == (deal, False)
    assert invoice.fields["customer_id"] == company
    assert (invoice.fields["currency"], invoice.fields["issue_date"]) == ("EUR", "2026-03-05")
    assert invoice.fields["due_date"] == "2026-04-04"  # the mapping's 30 days' terms
    assert Decimal(invoice.fields["total"]) == Decimal("120.00")
    assert [
        (ln["description"], Decimal(ln["quantity"]), Decimal(ln["unit_price"]))
        for ln in invoice.fields["lines"]
    ] == [("Widget", 2, Decimal("10.50")), ("Setup", 1, 99)]
    [voided] = [i for i in lost if i.kind == "invoice"]
    assert (voided.id, voided.deleted) == (deal, True)


async def test_a_contact_of_a_known_company_is_that_company(tmp_path: Path) -> None:
    sandbox = HubSpotSandbox()
    store = sandbox.store
    company = store.create("companies", {"name": "Parent Inc"})
    member = store.create(
        "contacts", {"firstname": "Ann", "lastname": "Lee", "email": "ann@example.com"}
    )
    store.associate("contacts", member, "companies", company)
    alone = store.create("contacts", {"firstname": "Bo", "lastname": "Ng"})
    reader = SOURCE.connect(connection(tmp_path, sandbox))
    try:
        found, _ = await read_all(reader, None)
    finally:
        await reader.aclose()
    customers = {i.id: i for i in found if i.kind == "customer"}
    assert set(customers) == {company, f"contact-{alone}"}
    assert customers[f"contact-{alone}"].fields["name"] == "Bo Ng"


async def test_a_burst_of_reads_stays_under_five_searches_a_second(tmp_path: Path) -> None:
    sandbox = HubSpotSandbox()
    reader: SourceReader = SOURCE.connect(connection(tmp_path, sandbox))
    try:
        _, cursor = await read_all(reader, None)
        await asyncio.gather(*(reader.read_changes(cursor) for _ in range(6)))
    finally:
        await reader.aclose()
    searches = [p for m, p in sandbox.requests if p.endswith("/search")]
    assert len(searches) >= 18
    assert sandbox.search_refusals == 0


@pytest.mark.parametrize("days", [-1, 4000, "30", True])
def test_payment_terms_that_are_not_a_number_of_days_are_refused(
    days: object, tmp_path: Path
) -> None:
    text = MAPPING_FILE.read_text().replace("due_days = 30", f"due_days = {days!r}".lower())
    path = tmp_path / "source_mapping.toml"
    path.write_text(text.replace("'", '"'))
    with pytest.raises(ConfigurationError, match="due_days"):
        load_mapping(path)


def test_terms_of_zero_days_fall_due_on_closing(tmp_path: Path) -> None:
    path = tmp_path / "source_mapping.toml"
    path.write_text(MAPPING_FILE.read_text().replace("due_days = 30", "due_days = 0"))
    assert load_mapping(path).due_days == 0
