"""Sage, beyond the contract's PrefetchSection (one bulk read and one write per update,
stale writes refused): the bulk read is a delta read, from the list's start in a new
process; one update alone is not prefetched; invoices and matches."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from syncledger.adapters.sage.ledger import SageLedger
from syncledger.core.ports import CustomerUpdate, VoidWrite
from tests.contracts.ledger_contract import key
from tests.contracts.ledger_sections import closed_after
from tests.support.documents import customer, invoice, push_customer, push_invoice
from tests.support.sage import (
    BASE_URL,
    BUSINESS,
    FAST_RETRY,
    InProcessSage,
    RecordingTransport,
    Sent,
    in_process_sage,
    sage_auth,
)
from tests.support.writes import update_invoice, write_invoice


@pytest.fixture
async def sage() -> AsyncIterator[InProcessSage]:
    async with closed_after(in_process_sage(limit=2000)) as env:
        yield env


async def _pushed(ledger: SageLedger, count: int) -> dict[str, str | None]:
    """Ledger id -> version of ``count`` new customers."""
    versions: dict[str, str | None] = {}
    for n in range(1, count + 1):
        ledger_id = await push_customer(ledger, n)
        record = await ledger.get("customer", ledger_id)
        assert record is not None
        versions[ledger_id] = record.version
    return versions


async def _rename_all(ledger: SageLedger, versions: dict[str, str | None], name: str) -> None:
    for n, (ledger_id, version) in enumerate(versions.items(), start=1):
        await ledger.update_customer(
            CustomerUpdate(
                customer(n, name=f"{name} {n}"),
                ledger_id=ledger_id,
                version=version,
                external_ref=f"csv/customer/C-{n}",
                idempotency_key=key("u", n),
            )
        )


def _calls(sent: list[Sent]) -> list[tuple[str, str]]:
    return [(s.method, s.path) for s in sent]


async def _assert_renamed(ledger: SageLedger, versions: dict[str, str | None], name: str) -> None:
    for n, ledger_id in enumerate(versions, start=1):
        record = await ledger.get("customer", ledger_id)
        assert record is not None and record.name == f"{name} {n}"


async def test_the_bulk_read_is_a_delta_read_of_every_attribute_since_the_oldest_version(
    sage: InProcessSage,
) -> None:
    """The counts of a batch's requests: the contract's PrefetchSection."""
    versions = await _pushed(sage.ledger, 3)
    sage.sent.clear()
    await sage.ledger.prefetch("customer", list(versions))
    [read] = sage.sent
    assert (read.method, read.path, read.params["attributes"]) == ("GET", "/contacts", "all")
    assert read.params["updated_or_created_since"] <= min(
        str(v).split("~")[0] for v in versions.values()
    )


async def test_a_new_process_reads_the_list_from_its_start_still_in_one_request(
    sage: InProcessSage,
) -> None:
    """An adapter that never saw the records knows no time to read changes since."""
    versions = await _pushed(sage.ledger, 3)
    sent: list[Sent] = []
    fresh = SageLedger.connect(
        auth=sage_auth(sage.store),
        business_id=BUSINESS,
        base_url=BASE_URL,
        transport=RecordingTransport(sage.app, sent),
        retry=FAST_RETRY,
    )
    try:
        await fresh.prefetch("customer", list(versions))
        await _rename_all(fresh, versions, "Renamed")
        assert _calls(sent) == [("GET", "/contacts")] + [
            ("PUT", f"/contacts/{ledger_id}") for ledger_id in versions
        ]
        assert "updated_or_created_since" not in sent[0].params
        await _assert_renamed(fresh, versions, "Renamed")
    finally:
        await fresh.aclose()


async def test_one_update_alone_is_not_prefetched(sage: InProcessSage) -> None:
    versions = await _pushed(sage.ledger, 1)
    sage.sent.clear()
    await sage.ledger.prefetch("customer", list(versions))
    await _rename_all(sage.ledger, versions, "Renamed")
    ((ledger_id, _),) = versions.items()
    assert _calls(sage.sent) == [
        ("GET", f"/contacts/{ledger_id}"),
        ("PUT", f"/contacts/{ledger_id}"),
    ]


async def test_prefetched_invoices_serve_an_update_and_a_void(sage: InProcessSage) -> None:
    customer_id = await push_customer(sage.ledger)
    first = await push_invoice(sage.ledger, customer_id)
    pushed = await write_invoice(sage.ledger, customer_id, invoice(id="INV-2", number="INV-2"), 2)
    second = pushed.ledger_id
    assert second != first
    versions = {}
    for ledger_id in (first, second):
        record = await sage.ledger.get("invoice", ledger_id)
        assert record is not None
        versions[ledger_id] = record.version
    sage.sent.clear()
    await sage.ledger.prefetch("invoice", [first, second])
    await update_invoice(sage.ledger, customer_id, first, invoice(total="0.30"), versions[first])
    await sage.ledger.void_invoice(
        VoidWrite(second, version=versions[second], idempotency_key=key("v"))
    )
    assert _calls(sage.sent) == [
        ("GET", "/sales_invoices"),
        ("PUT", f"/sales_invoices/{first}"),
        ("DELETE", f"/sales_invoices/{second}"),
    ]
    voided = await sage.ledger.get("invoice", second)
    assert voided is not None and voided.status == "void"


async def test_a_match_costs_one_delta_read_and_sees_a_customer_made_in_sage_since(
    sage: InProcessSage,
) -> None:
    await push_customer(sage.ledger, 1)
    assert await sage.ledger.match_customer(customer(8, name="Stranger")) == []
    status, _ = sage.sandbox.create(
        "contacts",
        {
            "contact": {
                "name": "Made In Sage",
                "contact_type_ids": ["CUSTOMER"],
                "tax_number": "DE 1",
            }
        },
    )
    assert status == 201
    made = next(r for r in sage.sandbox.records("customer") if r["name"] == "Made In Sage")
    sage.sent.clear()
    matches = await sage.ledger.match_customer(customer(9, name="Other", tax_id="de-1"))
    assert [m.ledger_id for m in matches] == [made["id"]]
    assert _calls(sage.sent) == [("GET", "/contacts"), ("GET", f"/contacts/{made['id']}")]
    assert "updated_or_created_since" in sage.sent[0].params
    sage.sent.clear()
    named = await sage.ledger.match_customer(customer(9, name="customer 1"))
    assert [m.name for m in named] == ["Customer 1"]
    assert len(sage.requests("GET", "/contacts")) == 1
