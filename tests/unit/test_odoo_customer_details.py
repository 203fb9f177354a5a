"""adapters/odoo/customer_details.py on partner rows as ``search_read`` answers them: the
address's links read as their display names, never as ids (the contract section covers the
round trip through the sandbox: tests/unit/test_customer_details_contract.py)."""

from __future__ import annotations

from typing import Any

from syncledger.adapters.odoo.customer_details import (
    address_as_written,
    address_parts,
    customer_details,
)
from syncledger.adapters.odoo.mapping import load_mapping, to_record
from syncledger.core.customer_details import AddressParts
from syncledger.core.ports import LedgerRecord

MAPPING = load_mapping()
ROW = {
    "id": 7,
    "name": "Acme",
    "email": False,
    "phone": False,
    "street": "500 Howard St",
    "street2": "Floor 3",
    "city": "San Francisco",
    "state_id": [5, "California (US)"],
    "zip": "94105",
    "country_id": [233, "United States"],
    "country_code": "US",
    "ref": "csv/customer/C-7",
    "active": True,
    "write_date": "2026-12-07 12:00:00",
}


def record(**changes: Any) -> LedgerRecord:
    return to_record("customer", ROW | changes, "ref")


def test_the_parts_are_the_fields_and_the_links_display_names() -> None:
    parts = address_parts(MAPPING, record())
    assert parts == AddressParts(
        ("500 Howard St", "Floor 3"), "San Francisco", "California", "94105", "United States"
    )
    assert customer_details(MAPPING, record())["billing_address"] == parts.text()


def test_a_state_of_another_country_keeps_the_name_odoo_shows() -> None:
    parts = address_parts(MAPPING, record(state_id=[61, "Ontario (CA)"]))
    assert parts is not None and parts.region == "Ontario (CA)"


def test_a_link_without_its_name_or_empty_is_no_part() -> None:
    parts = address_parts(MAPPING, record(state_id=5, country_id=False, country_code=False))
    assert parts is not None
    assert (parts.region, parts.country) == (None, None)
    assert "5" not in (parts.text() or "").split("\n")


def test_the_whole_address_in_street_is_one_text_not_parts() -> None:
    text = "1 Market St\nSan Francisco\nCA 94105"
    raw = {"street": text, "street2": False, "city": False, "state_id": False, "zip": False}
    now = record(**raw, country_id=False, country_code=False)
    assert address_parts(MAPPING, now) is None
    assert customer_details(MAPPING, now)["billing_address"] == text
    assert address_as_written(MAPPING, text) == AddressParts((text,))
