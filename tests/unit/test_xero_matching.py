"""XeroLedger.match_customers against the Xero sandbox in-process: the answers of
match_customer, one customer at a time, in one ``where`` per URL-sized group
(adapters/xero/matching.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest

from syncledger.adapters.xero.matching import MAX_WHERE_ENCODED
from syncledger.core.ports import CustomerBatchMatcher
from tests.contracts.ledger_sections import closed_after
from tests.support.documents import customer
from tests.support.matching import at_once, created, one_by_one
from tests.support.xero import InProcessXero, in_process_xero


@pytest.fixture
async def xero() -> AsyncIterator[InProcessXero]:
    async with closed_after(in_process_xero(per_window=1000, window=60.0)) as env:
        yield env


def contact_reads(env: InProcessXero) -> int:
    return len(env.wire.requests("GET", "/Contacts"))


async def test_a_batch_is_matched_as_one_by_one_in_one_request(xero: InProcessXero) -> None:
    assert isinstance(xero.ledger, CustomerBatchMatcher)
    await created(xero.ledger, 1, name="Acme Ltd")
    await created(xero.ledger, 2, name="Mail Owner", email="ops@example.com")
    await created(xero.ledger, 3, name="Taxed Co", tax_id="DE136695976")
    await created(xero.ledger, 4, name='Quote "Co"')
    customers = {
        "a": customer(11, name="ACME LTD"),
        "b": customer(12, name="New One", email="OPS@example.com"),
        "c": customer(13, name="Other", tax_id="DE 136 695 976"),
        "d": customer(14, name="Stranger"),
        "e": customer(15, name='quote "co"'),
        "f": customer(16, name="Acme Ltd", email="ops@example.com"),
    }
    expected = await one_by_one(xero.ledger, customers, ordered=False)
    assert [len(expected[r]) for r in "abcdef"] == [1, 1, 1, 0, 1, 2]
    before = contact_reads(xero)
    assert await at_once(xero.ledger, customers, ordered=False) == expected
    assert contact_reads(xero) - before == 1


async def test_a_long_batch_goes_in_url_sized_requests(xero: InProcessXero) -> None:
    await created(xero.ledger, 1, name="Batch 0077")
    customers = {
        str(n): customer(n, name=f"Batch {n:04d}", email=f"person.{n}@example.com")
        for n in range(120)
    }
    before = contact_reads(xero)
    found = await at_once(xero.ledger, customers, ordered=False)
    sent = xero.wire.requests("GET", "/Contacts")[before:]
    assert found == await one_by_one(xero.ledger, customers, ordered=False)
    assert len(found["77"]) == 1
    assert 1 < len(sent) < len(customers) / 5
    for request in sent:
        assert len(quote(request.url.params["where"], safe="")) <= MAX_WHERE_ENCODED
