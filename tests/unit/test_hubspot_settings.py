"""HubSpot source-mapping settings against the sandbox (issue 11, review): the
``contacts`` setting (each value), a ``closed_stage`` other than ``closedwon``, and line
items' ``hs_sku`` as the invoice line's ``item_code``.

A person edits the CRM through the sandbox's own helpers; the reader talks to it over
HTTP in-process. Every assert is on what the reader returned."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from syncledger.adapters.http import LedgerHttp
from syncledger.adapters.hubspot.client import SEARCH_RATE, HubSpotClient
from syncledger.adapters.hubspot.errors import translate
from syncledger.adapters.hubspot.mapping import MAPPING_FILE, load_mapping
from syncledger.adapters.hubspot.platform import SOURCE
from syncledger.adapters.hubspot.reader import HubSpotSource
from syncledger.adapters.hubspot.sandbox.server import (
    TEST_ACCESS_TOKEN,
    TEST_CLIENT_SECRET,
    HubSpotSandbox,
    create_app,
)
from syncledger.adapters.hubspot.sandbox.store import Store
from syncledger.adapters.oauth2 import StaticBearerAuth
from syncledger.adapters.ratelimit import RateLimiter
from syncledger.core.source_ports import RecordHint, SourceItem, SourceReader
from tests.contracts.source_contract import read_all
from tests.unit.test_hubspot_source_contract import connection


def reader_with(sandbox: HubSpotSandbox, mapping: Path) -> HubSpotSource:
    """The reader as the platform builds it for the sandbox, with ``mapping`` instead of
    the packaged source mapping (the platform always loads the packaged file)."""

    def http(limiter: RateLimiter | None) -> LedgerHttp:
        return LedgerHttp(
            platform="hubspot",
            base_url=SOURCE.sandbox_url,
            auth=StaticBearerAuth(SecretStr(TEST_ACCESS_TOKEN)),
            limiter=limiter,
            translate=translate,
            transport=httpx.ASGITransport(app=create_app(sandbox)),
        )

    client = HubSpotClient(http(None), http(RateLimiter(SEARCH_RATE)))
    return HubSpotSource(client, load_mapping(mapping), webhook_secret=TEST_CLIENT_SECRET)


def mapping_with(tmp_path: Path, contacts: str) -> Path:
    text = MAPPING_FILE.read_text(encoding="utf-8")
    path = tmp_path / "source_mapping.toml"
    path.write_text(text.replace('contacts = "unless_company"', f'contacts = "{contacts}"'))
    assert load_mapping(path).contacts == contacts
    return path


def closed_deal(store: Store, stage: str = "closedwon") -> str:
    deal = store.create(
        "deals",
        {"dealname": "Order", "dealstage": stage, "closedate": "2026-03-01T00:00:00.000Z"},
    )
    item = store.create("line_items", {"name": "Widget", "quantity": "1", "price": "10.00"})
    store.associate("deals", deal, "line_items", item)
    return deal


@dataclass
class Crm:
    """A company with a member contact, a contact with no company, and closed deals:
    one with the company and its member, one with the member only, one with the loner."""

    company: str
    member: str
    loner: str
    deal_company: str
    deal_member: str
    deal_loner: str


def crm(store: Store) -> Crm:
    company = store.create("companies", {"name": "Parent Inc"})
    member = store.create("contacts", {"firstname": "Ann", "lastname": "Lee"})
    store.associate("contacts", member, "companies", company)
    loner = store.create("contacts", {"firstname": "Bo", "lastname": "Ng"})
    deals = [closed_deal(store) for _ in range(3)]
    store.associate("deals", deals[0], "companies", company)
    store.associate("deals", deals[0], "contacts", member)
    store.associate("deals", deals[1], "contacts", member)
    store.associate("deals", deals[2], "contacts", loner)
    return Crm(company, member, loner, *deals)


async def read_everything(reader: HubSpotSource) -> list[SourceItem]:
    try:
        items, _ = await read_all(reader, None)
    finally:
        await reader.aclose()
    return items


def customers_of(items: list[SourceItem]) -> set[str]:
    return {i.id for i in items if i.kind == "customer" and not i.deleted}


def invoiced_to(items: list[SourceItem]) -> dict[str, str]:
    return {i.id: i.fields["customer_id"] for i in items if i.kind == "invoice"}


# ---------------------------------------------------------------------- contacts


async def test_contacts_unless_company_the_company_wins(tmp_path: Path) -> None:
    sandbox = HubSpotSandbox()
    c = crm(sandbox.store)
    items = await read_everything(reader_with(sandbox, mapping_with(tmp_path, "unless_company")))
    assert customers_of(items) == {c.company, f"contact-{c.loner}"}
    # every invoice names a customer the source yields: the member's deal is its company's
    assert invoiced_to(items) == {
        c.deal_company: c.company,
        c.deal_member: c.company,
        c.deal_loner: f"contact-{c.loner}",
    }


async def test_contacts_always_every_contact_is_a_customer(tmp_path: Path) -> None:
    sandbox = HubSpotSandbox()
    c = crm(sandbox.store)
    items = await read_everything(reader_with(sandbox, mapping_with(tmp_path, "always")))
    assert customers_of(items) == {c.company, f"contact-{c.member}", f"contact-{c.loner}"}
    assert invoiced_to(items) == {
        c.deal_company: c.company,  # a deal's own company still wins over its contact
        c.deal_member: f"contact-{c.member}",
        c.deal_loner: f"contact-{c.loner}",
    }


async def test_contacts_never_no_contact_is_a_customer(tmp_path: Path) -> None:
    sandbox = HubSpotSandbox()
    c = crm(sandbox.store)
    items = await read_everything(reader_with(sandbox, mapping_with(tmp_path, "never")))
    assert customers_of(items) == {c.company}
    # the loner's deal has no customer the source yields: it names none (validation then
    # refuses it as missing its customer) rather than a customer that never arrives
    assert invoiced_to(items) == {
        c.deal_company: c.company,
        c.deal_member: c.company,
        c.deal_loner: "",
    }


@pytest.mark.parametrize(
    ("contacts", "yielded"), [("unless_company", False), ("always", True), ("never", False)]
)
async def test_a_webhook_reread_of_a_contact_follows_the_setting(
    tmp_path: Path, contacts: str, yielded: bool
) -> None:
    sandbox = HubSpotSandbox()
    c = crm(sandbox.store)
    reader = reader_with(sandbox, mapping_with(tmp_path, contacts))
    try:
        found = await reader.fetch([RecordHint("customer", f"contact-{c.member}")])
    finally:
        await reader.aclose()
    assert customers_of(found) == ({f"contact-{c.member}"} if yielded else set())


# ---------------------------------------------------------------------- closed_stage

Staged = tuple[HubSpotSandbox, SourceReader]


@pytest.fixture
async def contract_stage_reader(tmp_path: Path) -> AsyncIterator[Staged]:
    sandbox = HubSpotSandbox()
    reader = SOURCE.connect(connection(tmp_path, sandbox, closed_stage="contractsent"))
    try:
        yield sandbox, reader
    finally:
        await reader.aclose()  # type: ignore[attr-defined]


async def test_a_deal_reaching_a_configured_stage_becomes_an_invoice(
    contract_stage_reader: Staged,
) -> None:
    sandbox, reader = contract_stage_reader
    store = sandbox.store
    company = store.create("companies", {"name": "Staged Ltd"})
    deal = closed_deal(store, "appointmentscheduled")
    won = closed_deal(store, "closedwon")  # the default stage is not the configured one
    for d in (deal, won):
        store.associate("deals", d, "companies", company)
    first, cursor = await read_all(reader, None)
    store.move_deal(deal, "contractsent")
    reached, cursor = await read_all(reader, cursor)
    store.move_deal(deal, "closedwon")
    left, _ = await read_all(reader, cursor)
    assert [i for i in first if i.kind == "invoice"] == []
    [invoice] = [i for i in reached if i.kind == "invoice"]
    assert (invoice.id, invoice.deleted, invoice.fields["customer_id"]) == (deal, False, company)
    [voided] = [i for i in left if i.kind == "invoice"]
    assert (voided.id, voided.deleted) == (deal, True)


async def test_a_deal_archived_in_the_configured_stage_is_deleted(
    contract_stage_reader: Staged,
) -> None:
    sandbox, reader = contract_stage_reader
    store = sandbox.store
    staged = closed_deal(store, "contractsent")
    never = closed_deal(store, "closedwon")
    _, cursor = await read_all(reader, None)
    store.archive("deals", staged)
    store.archive("deals", never)
    gone, _ = await read_all(reader, cursor)
    assert [(i.id, i.deleted) for i in gone if i.kind == "invoice"] == [(staged, True)]


# ---------------------------------------------------------------------- hs_sku


async def test_a_line_items_sku_is_the_lines_item_code(tmp_path: Path) -> None:
    sandbox = HubSpotSandbox()
    store = sandbox.store
    company = store.create("companies", {"name": "Sku Ltd"})
    deal = store.create(
        "deals",
        {"dealname": "Kit", "dealstage": "closedwon", "closedate": "2026-03-01T00:00:00.000Z"},
    )
    store.associate("deals", deal, "companies", company)
    lines = [
        {"name": "Widget, blue", "quantity": "2", "price": "5.00", "hs_sku": "WID-BLU"},
        {"name": "Fitting", "quantity": "1", "price": "3.00"},
        {"quantity": "1", "price": "1.00", "hs_sku": "NO-NAME"},
    ]
    made = []
    for props in lines:
        made.append(store.create("line_items", props))
        store.associate("deals", deal, "line_items", made[-1])
    reader = SOURCE.connect(connection(tmp_path, sandbox))
    try:
        items, _ = await read_all(reader, None)
    finally:
        await reader.aclose()  # type: ignore[attr-defined]
    [invoice] = [i for i in items if i.kind == "invoice"]
    assert [(ln["description"], ln.get("item_code")) for ln in invoice.fields["lines"]] == [
        ("Widget, blue", "WID-BLU"),
        ("Fitting", None),
        (f"Line item {made[2]}", "NO-NAME"),
    ]
