"""Odoo record versions name the set of fields they were computed over: a version made
before (``write_date|digest``) or over another set is compared by ``write_date`` only, so
reading more fields (the address parts, 5689d0e) does not make every record look edited.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from syncledger.adapters.odoo.ledger import OdooLedger
from syncledger.adapters.odoo.mapping import same_version, version_of
from syncledger.core.errors import StaleVersionError
from syncledger.core.model import Customer
from syncledger.core.ports import CustomerUpdate
from tests.contracts.ledger_contract import key
from tests.support.odoo import InProcessOdoo, in_process_odoo
from tests.support.writes import write_customer

WHEN = "2026-04-01 10:00:00"
LATER = "2026-04-01 10:00:01"
RAW = {"id": 7, "name": "Acme", "email": "a@example.com", "write_date": WHEN}


@pytest.fixture(params=["json2", "xmlrpc"])
async def odoo(request: pytest.FixtureRequest) -> AsyncIterator[InProcessOdoo]:
    env = in_process_odoo(transport=request.param, per_second=100, per_minute=5000)
    yield env
    await env.ledger.aclose()
    env.sandbox.close()


def before_sets(version: str, digest: str = "0123456789abcdef") -> str:
    """``version`` as the adapter wrote it before versions named their field set."""
    write_date, _digest, _set = version.split("|")
    return f"{write_date}|{digest}"


def test_a_version_names_the_set_of_fields_it_covers() -> None:
    write_date, _digest, fields = version_of(RAW).split("|")
    assert write_date == WHEN
    assert version_of(RAW | {"name": "Other"}).split("|")[2] == fields
    assert version_of(RAW | {"city": "Oslo"}).split("|")[2] != fields


def test_an_old_format_version_with_the_same_write_date_is_current() -> None:
    current = version_of(RAW)
    assert same_version(current, f"{WHEN}|{'f' * 16}")


def test_an_old_format_version_with_another_write_date_is_stale() -> None:
    current = version_of(RAW | {"write_date": LATER})
    assert not same_version(current, before_sets(version_of(RAW)))


def test_a_version_over_another_field_set_is_compared_by_write_date() -> None:
    wider = RAW | {"city": "Oslo"}
    assert same_version(version_of(wider), version_of(RAW))
    assert not same_version(version_of(wider | {"write_date": LATER}), version_of(RAW))


def test_versions_over_the_same_set_compare_whole_as_before() -> None:
    assert same_version(version_of(RAW), version_of(RAW))
    # changed within the second: the digest tells
    assert not same_version(version_of(RAW | {"name": "Other"}), version_of(RAW))
    assert not same_version(version_of(RAW | {"write_date": LATER}), version_of(RAW))


async def made_customer(ledger: OdooLedger) -> tuple[str, str]:
    pushed = await write_customer(ledger, Customer(id="C-1", name="Customer 1", currency="USD"))
    assert pushed.version is not None
    return pushed.ledger_id, pushed.version


async def update(ledger: OdooLedger, ledger_id: str, version: str, n: int) -> str | None:
    pushed = await ledger.update_customer(
        CustomerUpdate(
            Customer(id="C-1", name=f"Customer 1 v{n}", currency="USD"),
            ledger_id=ledger_id,
            version=version,
            external_ref="csv/customer/C-1",
            idempotency_key=key("u", n),
        )
    )
    return pushed.version


def held_name(odoo: InProcessOdoo) -> str:
    [partner] = odoo.sandbox.records("customer")
    return str(partner["name"])


@pytest.mark.parametrize("prefetched", [False, True])
async def test_an_update_at_an_old_format_version_of_the_same_write_is_no_conflict(
    odoo: InProcessOdoo, prefetched: bool
) -> None:
    ledger_id, version = await made_customer(odoo.ledger)
    if prefetched:
        await odoo.ledger.prefetch("customer", [ledger_id])
    written = await update(odoo.ledger, ledger_id, before_sets(version), 2)
    assert held_name(odoo) == "Customer 1 v2"
    assert written is not None and len(written.split("|")) == 3


@pytest.mark.parametrize("prefetched", [False, True])
async def test_an_update_at_an_old_format_version_of_an_older_write_is_stale(
    odoo: InProcessOdoo, prefetched: bool
) -> None:
    ledger_id, version = await made_customer(odoo.ledger)
    if prefetched:
        await odoo.ledger.prefetch("customer", [ledger_id])
    older = before_sets(version.replace(version[:4], "2020", 1))
    with pytest.raises(StaleVersionError):
        await update(odoo.ledger, ledger_id, older, 2)
    assert held_name(odoo) == "Customer 1"


async def test_an_update_at_a_new_format_version_changed_within_the_second_is_stale(
    odoo: InProcessOdoo,
) -> None:
    ledger_id, version = await made_customer(odoo.ledger)
    write_date, digest, fields = version.split("|")
    other = f"{write_date}|{'0' * len(digest)}|{fields}"
    with pytest.raises(StaleVersionError):
        await update(odoo.ledger, ledger_id, other, 2)
    assert held_name(odoo) == "Customer 1"
    assert await update(odoo.ledger, ledger_id, version, 3) is not None
    assert held_name(odoo) == "Customer 1 v3"
