"""HubSpot line items that carry a tax rate or a discount: HubSpot documents no property
giving their amount, so the deal is refused with a reason (malformed_row), never invoiced
without them (the sandbox holds the properties as a person sets them)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from syncledger.adapters.hubspot.mapping import load_mapping, unreadable_terms
from syncledger.adapters.hubspot.platform import SOURCE
from syncledger.adapters.hubspot.sandbox.server import HubSpotSandbox
from syncledger.core.ports import SourceItem
from syncledger.core.source_ports import SourceReader
from syncledger.core.validation import MALFORMED_FIELD, MALFORMED_ROW, check_source_problems
from tests.contracts.source_contract import read_all
from tests.unit.test_hubspot_source_contract import connection


def _deal(sandbox: HubSpotSandbox, *lines: dict[str, str]) -> str:
    store = sandbox.store
    company = store.create("companies", {"name": "Taxed Ltd"})
    deal = store.create(
        "deals",
        {"dealname": "D", "dealstage": "closedwon", "closedate": "2026-03-01T00:00:00.000Z"},
    )
    store.associate("deals", deal, "companies", company)
    for props in lines:
        item = store.create("line_items", {"name": "Widget", "quantity": "2", **props})
        store.associate("deals", deal, "line_items", item)
    return deal


async def _invoice(tmp_path: Path, sandbox: HubSpotSandbox, deal: str) -> SourceItem:
    reader = SOURCE.connect(connection(tmp_path, sandbox))
    assert isinstance(reader, SourceReader)
    try:
        items, _ = await read_all(reader, None)
    finally:
        await reader.aclose()  # type: ignore[attr-defined]
    [found] = [i for i in items if i.kind == "invoice" and i.id == deal]
    return found


@pytest.mark.parametrize(
    "terms",
    [
        {"hs_tax_rate_group_id": "2148420997"},  # documented: a tax rate applies
        {"hs_discount_percentage": "10"},
        {"discount": "5.00"},
    ],
)
async def test_a_line_with_a_tax_rate_or_a_discount_refuses_its_deal(
    tmp_path: Path, terms: dict[str, str]
) -> None:
    sandbox = HubSpotSandbox()
    deal = _deal(sandbox, {"price": "50.00"}, {"price": "10.00", **terms})
    invoice = await _invoice(tmp_path, sandbox, deal)
    reasons = check_source_problems(invoice.fields.get(MALFORMED_FIELD))
    assert [r.code for r in reasons] == [MALFORMED_ROW]
    [name] = terms
    assert name in reasons[0].message
    assert "enter this invoice in the ledger" in reasons[0].message


async def test_zero_or_empty_terms_are_no_tax_and_no_discount(tmp_path: Path) -> None:
    sandbox = HubSpotSandbox()
    plain = {"discount": "0", "hs_discount_percentage": "", "hs_tax_amount": "0.00"}
    deal = _deal(sandbox, {"price": "50.00", **plain})
    invoice = await _invoice(tmp_path, sandbox, deal)
    assert MALFORMED_FIELD not in invoice.fields
    assert Decimal(invoice.fields["total"]) == Decimal("100.00")


def test_the_mapping_lists_the_documented_tax_rate_property_first() -> None:
    m = load_mapping()
    assert m.line_item["refuse_when_set"][0] == "hs_tax_rate_group_id"
    line = {"id": "7", "properties": {"hs_tax_rate_group_id": "x", "discount": "1"}}
    assert unreadable_terms(line, m) == ["hs_tax_rate_group_id", "discount"]
