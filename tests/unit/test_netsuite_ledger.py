"""NetSuiteLedger against the NetSuite sandbox in-process: what NetSuite-specific behaviour
adds to the ledger contract (tests/unit/test_netsuite_contract.py)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path

import httpx
import pytest

from syncledger.adapters.http import NO_RETRY
from syncledger.adapters.netsuite.errors import translate_netsuite
from syncledger.adapters.netsuite.mapping import external_id, load_mapping, ref_in
from syncledger.adapters.netsuite.records import to_record
from syncledger.adapters.platforms import Connection, platform
from syncledger.adapters.ratelimit import Rate, RateLimiter
from syncledger.core.errors import (
    AuthExpiredError,
    ConfigurationError,
    PermanentLedgerError,
    StaleVersionError,
    TransientLedgerError,
)
from syncledger.core.model import Invoice, InvoiceLine, Payment
from syncledger.core.ports import (
    CustomerUpdate,
    CustomerWrite,
    InvoiceWrite,
    ItemWrite,
    PushResult,
    VoidWrite,
)
from tests.contracts.error_tables import Translated, answer, translated
from tests.contracts.ledger_contract import key
from tests.support import documents
from tests.support.documents import (
    apply_payment,
    create_credit_note,
    create_refund,
    credit_note,
    customer,
    invoice,
    push_customer,
    push_invoice,
    refund,
)
from tests.support.netsuite import InProcessNetSuite, Sent, in_process_netsuite
from tests.support.writes import update_invoice, write_invoice


@pytest.fixture
async def ns() -> AsyncIterator[InProcessNetSuite]:
    env = in_process_netsuite(concurrency=10, per_minute=2000, latency=0.0)
    yield env
    await env.aclose()


def payment(amount: str, currency: str = "USD", n: int = 1) -> Payment:
    return documents.payment(amount, n, currency, reference=f"CHK {n}")


# ------------------------------------------------------------------ writes


async def test_an_unknown_currency_is_refused_with_what_to_set_up(ns: InProcessNetSuite) -> None:
    with pytest.raises(PermanentLedgerError) as refused:
        await push_customer(ns.ledger, currency="JPY")
    assert refused.value.code == "syncledger.unknown_currency"
    assert "Currencies" in str(refused.value)


async def test_an_address_stays_one_line_of_the_address_book_across_updates(
    ns: InProcessNetSuite,
) -> None:
    first = customer(billing_address="1 Main St")
    pushed = await ns.ledger.create_customer(
        CustomerWrite(first, external_ref="r/c/1", idempotency_key="k")
    )
    moved = customer(billing_address="2 High St")
    await ns.ledger.update_customer(
        CustomerUpdate(
            moved,
            ledger_id=pushed.ledger_id,
            version=pushed.version,
            external_ref="r/c/1",
            idempotency_key="k2",
        )
    )
    [stored] = ns.sandbox.records("customer")
    lines = stored["addressBook"]["items"]
    assert [ln["addressBookAddress"]["addr1"] for ln in lines] == ["2 High St"]


# ------------------------------------------------- overpayments, refunds


async def test_an_overpayment_is_one_customer_payment_with_the_rest_unapplied(
    ns: InProcessNetSuite,
) -> None:
    customer_id = await push_customer(ns.ledger)
    invoice_id = await push_invoice(ns.ledger, customer_id)
    await apply_payment(
        ns.ledger, customer_id, invoice_id, payment("0.50"), applied=Decimal("0.30")
    )
    [stored] = ns.sandbox.records("payment")
    assert stored["payment"] == Decimal("0.50")  # the cash received, in full
    assert [(ln["doc"]["id"], ln["amount"]) for ln in stored["apply"]["items"]] == [
        (invoice_id, Decimal("0.30"))
    ]
    assert stored["unapplied"] == Decimal("0.20")
    assert ns.sandbox.count("credit_note") == 0  # the excess is not booked as a credit memo
    holder = await ns.ledger.get("customer", customer_id)
    assert holder is not None and holder.balance == Decimal("-0.20")  # credit on account


async def open_credit_memo(ns: InProcessNetSuite, customer_id: str) -> str:
    credit = credit_note("0.40", description="goodwill")
    pushed = await create_credit_note(ns.ledger, customer_id, credit)
    return pushed.ledger_id


async def test_a_credit_note_refund_is_a_customer_refund_applying_the_credit_memo(
    ns: InProcessNetSuite,
) -> None:
    customer_id = await push_customer(ns.ledger)
    credit_id = await open_credit_memo(ns, customer_id)
    pushed = await create_refund(
        ns.ledger, customer_id, credit_id, refund("0.15", credit_note_id="CN-1")
    )
    [stored] = ns.sandbox.records("refund")
    assert stored["id"] == pushed.ledger_id
    assert (stored["customer"]["id"], stored["tranDate"], stored["total"]) == (
        customer_id,
        "2026-04-05",
        Decimal("0.15"),
    )
    assert [(ln["doc"]["id"], ln["amount"]) for ln in stored["apply"]["items"]] == [
        (credit_id, Decimal("0.15"))
    ]
    assert stored["externalId"] == external_id("csv/refund/R-1")
    assert ref_in(stored["memo"]) == "csv/refund/R-1"
    [memo] = ns.sandbox.records("credit_note")
    assert (memo["applied"], memo["unapplied"]) == (Decimal("0.15"), Decimal("0.25"))


async def test_a_refund_beyond_the_credit_left_is_refused_before_sending(
    ns: InProcessNetSuite,
) -> None:
    customer_id = await push_customer(ns.ledger)
    credit_id = await open_credit_memo(ns, customer_id)
    writes = ns.sandbox.book.count("customerRefund")
    with pytest.raises(PermanentLedgerError) as refused:
        await create_refund(
            ns.ledger, customer_id, credit_id, refund("0.41", credit_note_id="CN-1")
        )
    assert refused.value.code == "syncledger.refund_exceeds_credit"
    assert "0.40" in str(refused.value) and credit_id in str(refused.value)
    assert ns.sandbox.count("refund") == writes == 0


async def test_an_overpayment_refund_lost_after_commit_is_recovered_once() -> None:
    env = in_process_netsuite(concurrency=10, per_minute=2000, latency=0.0, timeout=0.2)
    env.sandbox.book.clock = lambda: at(9, 0, 0)
    customer_id = await push_customer(env.ledger)
    invoice_id = await push_invoice(env.ledger, customer_id)
    paid = await apply_payment(
        env.ledger, customer_id, invoice_id, payment("0.50"), applied=Decimal("0.30")
    )
    env.sandbox.book.clock = lambda: at(9, 30, 0)

    async def push_refund() -> PushResult:
        return await create_refund(
            env.ledger, customer_id, paid.ledger_id, refund("0.20", payment_id="P-1")
        )

    env.sandbox.commit_then_timeout_next(env.retry.attempts)
    with pytest.raises(TransientLedgerError):
        await push_refund()  # it lands; no answer comes back
    retried = await push_refund()
    assert retried.recovered
    assert env.sandbox.count("refund") == 1
    credit = await env.ledger.get("payment", paid.ledger_id)
    assert credit is not None and (credit.total, credit.balance) == (Decimal("0.50"), Decimal(0))
    changed = {(r.kind, r.ledger_id) async for r in env.ledger.changes(at(9, 15, 0))}
    assert changed == {("refund", retried.ledger_id), ("payment", paid.ledger_id)}
    listed = [r async for r in env.ledger.list_all("refund")]
    assert [(r.ledger_id, r.total, r.external_ref) for r in listed] == [
        (retried.ledger_id, Decimal("0.20"), "csv/refund/R-1")
    ]
    await env.aclose()


# ----------------------------------------------------------- versions, void


async def test_a_customer_s_version_does_not_move_when_it_is_invoiced(
    ns: InProcessNetSuite,
) -> None:
    customer_id = await push_customer(ns.ledger)
    before = await ns.ledger.get("customer", customer_id)
    await push_invoice(ns.ledger, customer_id)
    after = await ns.ledger.get("customer", customer_id)
    assert before is not None and after is not None
    assert after.balance == Decimal("0.30")
    assert after.version == before.version


async def test_an_update_below_what_was_paid_is_refused(ns: InProcessNetSuite) -> None:
    customer_id = await push_customer(ns.ledger)
    invoice_id = await push_invoice(ns.ledger, customer_id)
    await apply_payment(ns.ledger, customer_id, invoice_id, payment("0.25"))
    current = await ns.ledger.get("invoice", invoice_id)
    assert current is not None
    smaller = invoice(
        total="0.10", lines=(InvoiceLine(description="a", quantity="1", unit_price="0.10"),)
    )
    with pytest.raises(PermanentLedgerError) as refused:
        await update_invoice(ns.ledger, customer_id, invoice_id, smaller, current.version)
    assert refused.value.code == "USER_ERROR"
    still = await ns.ledger.get("invoice", invoice_id)
    assert still is not None and still.total == Decimal("0.30")


async def test_void_refuses_a_paid_invoice_and_is_idempotent_otherwise(
    ns: InProcessNetSuite,
) -> None:
    customer_id = await push_customer(ns.ledger)
    paid_id = await push_invoice(ns.ledger, customer_id)
    await apply_payment(ns.ledger, customer_id, paid_id, payment("0.05"))
    with pytest.raises(PermanentLedgerError) as refused:
        await ns.ledger.void_invoice(VoidWrite(paid_id, version=None, idempotency_key=key("v")))
    assert refused.value.code == "syncledger.void_applied_invoice"
    other = invoice(id="INV-2", number="INV-2")
    open_id = (
        await ns.ledger.create_invoice(
            InvoiceWrite(
                other, customer_ledger_id=customer_id, external_ref="r/i/2", idempotency_key="k"
            )
        )
    ).ledger_id
    first = await ns.ledger.void_invoice(
        VoidWrite(open_id, version=None, idempotency_key=key("v2"))
    )
    again = await ns.ledger.void_invoice(
        VoidWrite(open_id, version="stale", idempotency_key=key("v2"))
    )
    assert (first.recovered, again.recovered) == (False, True)
    assert ns.sandbox.count("credit_note") == 1
    voided = await ns.ledger.get("invoice", open_id)
    assert voided is not None and (voided.status, voided.balance) == ("void", Decimal(0))
    assert voided.total == Decimal("0.30")  # the invoice keeps its lines; the credit reverses them


async def test_a_void_interrupted_after_its_credit_memo_completes_on_retry() -> None:
    env = in_process_netsuite(concurrency=10, per_minute=2000, latency=0.0, timeout=0.2)
    invoice_id = await push_invoice(env.ledger, await push_customer(env.ledger))
    read = await env.ledger.get("invoice", invoice_id)
    assert read is not None
    env.sandbox.fail_next_writes(env.retry.attempts)  # every try of the credit memo fails
    with pytest.raises(TransientLedgerError):
        await env.ledger.void_invoice(
            VoidWrite(invoice_id, version=read.version, idempotency_key="v")
        )
    assert env.sandbox.count("credit_note") == 0
    env.sandbox.commit_then_timeout_next(env.retry.attempts)  # it lands; no answer comes back
    with pytest.raises(TransientLedgerError):
        await env.ledger.void_invoice(
            VoidWrite(invoice_id, version=read.version, idempotency_key="v")
        )
    half_done = await env.ledger.get("invoice", invoice_id)
    assert half_done is not None and half_done.version != read.version  # the credit applied
    assert half_done.status == "paid"
    retried = await env.ledger.void_invoice(
        VoidWrite(invoice_id, version=read.version, idempotency_key="v")
    )
    assert retried.recovered
    assert env.sandbox.count("credit_note") == 1
    voided = await env.ledger.get("invoice", invoice_id)
    assert voided is not None and (voided.status, voided.balance) == ("void", Decimal(0))
    await env.aclose()


async def test_a_void_whose_mark_failed_leaves_no_second_credit_memo_when_retried() -> None:
    """The credit memo landed, the mark did not: the retry writes only the mark."""
    env = in_process_netsuite(concurrency=10, per_minute=2000, latency=0.0, timeout=0.2)
    invoice_id = await push_invoice(env.ledger, await push_customer(env.ledger))
    env.sandbox.faults.update(
        {"match": r"^PATCH .*/invoice/", "match_fail": env.retry.attempts, "fail_status": 503}
    )
    with pytest.raises(TransientLedgerError):
        await env.ledger.void_invoice(VoidWrite(invoice_id, version=None, idempotency_key="v"))
    half_done = await env.ledger.get("invoice", invoice_id)
    assert half_done is not None and (half_done.status, half_done.balance) == ("paid", 0)
    retried = await env.ledger.void_invoice(
        VoidWrite(invoice_id, version=None, idempotency_key="v")
    )
    assert retried.recovered
    assert env.sandbox.count("credit_note") == 1
    voided = await env.ledger.get("invoice", invoice_id)
    assert voided is not None and voided.status == "void"
    [memo] = [r async for r in env.ledger.list_all("credit_note")]
    assert memo.applied_to == ((invoice_id, Decimal("0.30")),)
    assert memo.status == "void"  # the invoice's void, not a credit note of its own
    await env.aclose()


def test_applications_are_the_applied_lines_of_the_apply_sublist() -> None:
    """NetSuite lists the customer's other open invoices on a payment's apply sublist with
    ``apply`` false; only the applied lines count."""
    raw = {
        "id": "7",
        "payment": "50.00",
        "unapplied": "10.00",
        "apply": {
            "items": [
                {"doc": {"id": "101"}, "apply": True, "amount": "40.00", "total": "40.00"},
                {"doc": {"id": "102"}, "apply": False, "amount": "0.00", "total": "25.00"},
            ]
        },
    }
    record = to_record("payment", raw, "memo", "USD")
    assert record.applied_to == (("101", Decimal("40.00")),)
    assert to_record("payment", {"id": "8"}, "memo", "USD").applied_to == ()  # not expanded


async def test_an_update_with_a_stale_version_changes_nothing(ns: InProcessNetSuite) -> None:
    pushed = await ns.ledger.create_customer(
        CustomerWrite(customer(), external_ref="r/c/1", idempotency_key="k")
    )
    await ns.ledger.update_customer(
        CustomerUpdate(
            customer(name="Renamed"),
            ledger_id=pushed.ledger_id,
            version=pushed.version,
            external_ref="r/c/1",
            idempotency_key="k1",
        )
    )
    with pytest.raises(StaleVersionError):
        await ns.ledger.update_customer(
            CustomerUpdate(
                customer(name="Lost"),
                ledger_id=pushed.ledger_id,
                version=pushed.version,
                external_ref="r/c/1",
                idempotency_key="k2",
            )
        )
    [stored] = ns.sandbox.records("customer")
    assert stored["companyName"] == "Renamed"


# ------------------------------------------------------------------ items


def hand_made_item(ns: InProcessNetSuite, code: str) -> str:
    """An item someone created in NetSuite, not through the adapter."""
    body = {
        "itemId": code,
        "incomeAccount": {"id": "54"},
        "taxSchedule": {"id": "1"},
        "subsidiary": {"items": [{"id": "1"}]},
    }
    return str(ns.sandbox.create("serviceSaleItem", body)["id"])


def booked(code: str | None, unit_price: str = "0.10", name: str = "a") -> InvoiceLine:
    return InvoiceLine(description=name, quantity="1", unit_price=unit_price, item_code=code)


def naming(code: str | None, n: int = 1) -> Invoice:
    """Invoice INV-n whose first line is booked to ``code``, its second to the default."""
    lines = (booked(code), booked(None, "0.20", "b"))
    return invoice(id=f"INV-{n}", number=f"INV-{n}", lines=lines)


async def test_a_line_naming_an_item_is_sent_with_the_item_s_internal_id(
    ns: InProcessNetSuite,
) -> None:
    made = await ns.ledger.create_item(ItemWrite("SVC-AUDIT", idempotency_key=key("item")))
    customer_id = await push_customer(ns.ledger)
    invoice_id = await push_invoice(ns.ledger, customer_id, naming("SVC-AUDIT"))
    [sent] = ns.wire.bodies("PUT", "/invoice/eid:")
    assert [ln["item"] for ln in sent["item"]["items"]] == [{"id": made.ledger_id}, {"id": "1"}]
    [stored] = ns.sandbox.records("invoice")
    assert stored["item"]["items"][0]["item"] == {"id": made.ledger_id, "refName": "SVC-AUDIT"}
    record = await ns.ledger.get("invoice", invoice_id)
    assert record is not None
    assert (record.total, record.line_items) == (Decimal("0.30"), ("SVC-AUDIT", "Services"))


async def test_a_new_item_is_a_service_item_booked_to_the_default_item_s_income_account(
    ns: InProcessNetSuite,
) -> None:
    made = await ns.ledger.create_item(ItemWrite("SVC-AUDIT", idempotency_key=key("item")))
    [sent] = ns.wire.bodies("PUT", "/serviceSaleItem/eid:")
    assert sent == {
        "itemId": "SVC-AUDIT",
        "incomeAccount": {"id": "54"},  # the income account of [invoice.lines] item "1"
        "taxSchedule": {"id": "1"},  # [new_items] tax_schedule: mandatory in the metadata
        "subsidiary": {"items": [{"id": "1"}]},  # [account] subsidiary
    }
    [stored] = [i for i in ns.sandbox.records("item") if i["id"] == made.ledger_id]
    assert stored["externalId"] == external_id("syncledger/item/SVC-AUDIT")
    assert (made.code, made.name) == ("SVC-AUDIT", "SVC-AUDIT")


async def test_new_items_are_booked_to_the_income_account_the_mapping_names() -> None:
    mapping = dataclasses.replace(load_mapping(), new_item_income_account="54")
    env = in_process_netsuite(concurrency=10, per_minute=2000, latency=0.0, mapping=mapping)
    await env.ledger.create_item(ItemWrite("SVC-AUDIT", idempotency_key=key("item")))
    assert env.wire.suiteql("incomeaccount") == []  # no need to ask NetSuite
    assert env.sandbox.count("item") == 3
    await env.aclose()
    unknown = dataclasses.replace(load_mapping(), new_item_income_account="999")
    env = in_process_netsuite(concurrency=10, per_minute=2000, latency=0.0, mapping=unknown)
    with pytest.raises(PermanentLedgerError) as refused:
        await env.ledger.create_item(ItemWrite("SVC-AUDIT", idempotency_key=key("item")))
    assert refused.value.code == "INVALID_CONTENT"
    assert "[new_items]" in str(refused.value) and "SVC-AUDIT" in str(refused.value)
    assert env.sandbox.count("item") == 2  # the seeded ones
    await env.aclose()


async def test_an_item_made_by_hand_meanwhile_is_returned_not_made_twice(
    ns: InProcessNetSuite,
) -> None:
    made_by_hand: list[str] = []

    def someone_creates_it_first(sent: Sent) -> None:
        if sent.method == "PUT" and "/serviceSaleItem/" in sent.path and not made_by_hand:
            made_by_hand.append(hand_made_item(ns, "SVC-AUDIT"))

    ns.wire.before = someone_creates_it_first
    item = await ns.ledger.create_item(ItemWrite("SVC-AUDIT", idempotency_key=key("item")))
    assert made_by_hand == [item.ledger_id]  # NetSuite refused the name; this is the one
    assert ns.sandbox.count("item") == 3
    found = await ns.ledger.find_item("SVC-AUDIT")
    assert found is not None and found.ledger_id == item.ledger_id


async def test_item_lookups_are_cached_across_documents(ns: InProcessNetSuite) -> None:
    hand_id = hand_made_item(ns, "SVC-O'BRIEN")  # a quote SuiteQL must escape
    customer_id = await push_customer(ns.ledger)
    ids = []
    for n in (1, 2, 3):
        pushed = await write_invoice(ns.ledger, customer_id, naming("SVC-O'BRIEN", n), n)
        ids.append(pushed.ledger_id)
    assert ns.wire.suiteql("itemid =") == [
        "SELECT id, itemid FROM item WHERE itemid = 'SVC-O''BRIEN' ORDER BY id"
    ]
    sent = ns.wire.bodies("PUT", "/invoice/eid:")
    assert {b["item"]["items"][0]["item"]["id"] for b in sent} == {hand_id}
    records = [await ns.ledger.get("invoice", i) for i in ids]
    assert [r.line_items if r else None for r in records] == [("SVC-O'BRIEN", "Services")] * 3
    assert ns.wire.suiteql("WHERE id IN") == ["SELECT id, itemid FROM item WHERE id IN (1)"]


async def test_an_item_made_inactive_since_it_was_cached_is_refused_naming_the_code(
    ns: InProcessNetSuite,
) -> None:
    item_id = hand_made_item(ns, "SVC-OLD")
    customer_id = await push_customer(ns.ledger)
    await push_invoice(ns.ledger, customer_id, naming("SVC-OLD"))
    ns.sandbox.patch("serviceSaleItem", item_id, {"isInactive": True}, ())
    for attempt in (1, 2):
        with pytest.raises(PermanentLedgerError) as refused:
            await ns.ledger.create_invoice(
                InvoiceWrite(
                    naming("SVC-OLD", 2),
                    customer_ledger_id=customer_id,
                    external_ref="csv/invoice/INV-2",
                    idempotency_key=key("i", 2, attempt),
                )
            )
        assert refused.value.code == "INVALID_CONTENT"  # NetSuite's own refusal
        assert "INV-2 line 1" in str(refused.value) and "'SVC-OLD'" in str(refused.value)
        assert f"Invalid Field Value {item_id}" in str(refused.value)
    assert ns.sandbox.count("invoice") == 1
    assert len(ns.wire.suiteql("itemid =")) == 2  # looked up afresh after the refusal


# --------------------------------------------------------------- reads


async def test_matching_pages_through_everything() -> None:
    """Listing and changes page as the contract's PagingSection checks; matching too."""
    env = in_process_netsuite(concurrency=10, per_minute=2000, latency=0.0, page_size=2)
    ids = [await push_customer(env.ledger, n) for n in range(1, 6)]
    same = customer(3, id="other", name="CUSTOMER 3")
    assert [r.ledger_id for r in await env.ledger.match_customer(same)] == [ids[2]]
    await env.aclose()


async def test_matching_a_name_with_a_double_quote(ns: InProcessNetSuite) -> None:
    quoted = customer(name='The "Best" Plumbers')
    pushed = await ns.ledger.create_customer(
        CustomerWrite(quoted, external_ref="r/c/1", idempotency_key="k")
    )
    await ns.ledger.create_customer(
        CustomerWrite(
            customer(2, name="The Best Plumbers"), external_ref="r/c/2", idempotency_key="k2"
        )
    )
    found = await ns.ledger.match_customer(quoted.model_copy(update={"id": "x"}))
    assert [r.ledger_id for r in found] == [pushed.ledger_id]


async def test_a_match_asks_for_the_name_and_the_email_in_one_query(
    ns: InProcessNetSuite,
) -> None:
    """One collection query (``OR``, Oracle help "Record Collection Filtering") finds the
    customer of that name and the one of that e-mail; each is read to confirm it."""
    named = await push_customer(ns.ledger, 1)
    mailed = await ns.ledger.create_customer(
        CustomerWrite(
            customer(2, email="ap@example.com"), external_ref="r/c/2", idempotency_key="k2"
        )
    )
    await push_customer(ns.ledger, 3)
    before = len(ns.wire.sent)
    wanted = customer(9, name="CUSTOMER 1", email="AP@example.com")
    found = await ns.ledger.match_customer(wanted)
    assert sorted(r.ledger_id for r in found) == sorted([named, mailed.ledger_id])
    asked = [s for s in ns.wire.sent[before:] if s.path.endswith("/customer")]
    assert len(asked) == 1  # one query for both fields, then one read per candidate
    assert len(ns.wire.sent) - before == 1 + 2
    assert await ns.ledger.match_customer(customer(9, name="Nobody", email="no@x.org")) == []


def at(hour: int, minute: int, second: float) -> datetime:
    whole = int(second)
    return datetime(2026, 3, 1, hour, minute, whole, int((second - whole) * 1e6), tzinfo=UTC)


async def test_changes_read_the_account_s_time_zone() -> None:
    zoned = dataclasses.replace(load_mapping(), timezone="Pacific/Auckland")
    env = in_process_netsuite(
        concurrency=10, per_minute=2000, latency=0.0, mapping=zoned, timezone="Pacific/Auckland"
    )
    env.sandbox.book.clock = lambda: at(12, 0, 0.5)
    before = await push_customer(env.ledger, 1)
    env.sandbox.book.clock = lambda: at(12, 0, 2.0)
    after = await push_customer(env.ledger, 2)
    changed = [r.ledger_id async for r in env.ledger.changes(at(12, 0, 1.2))]
    assert changed == [after] and before not in changed
    await env.aclose()


# -------------------------------------------------------- limits and auth


async def test_without_the_client_side_semaphore_the_account_answers_429() -> None:
    """The contract's burst test is meaningful: unlimited, the same burst earns 429s."""
    env = in_process_netsuite(concurrency=3, client_concurrency=100, retry=NO_RETRY)
    customer_id = await push_customer(env.ledger)
    results = await asyncio.gather(
        *(env.ledger.get("customer", customer_id) for _ in range(45)), return_exceptions=True
    )
    throttles = [r for r in results if isinstance(r, TransientLedgerError)]
    assert throttles and all(t.code == "CONCURRENCY_LIMIT_EXCEEDED" for t in throttles)
    assert all(t.retry_after is None for t in throttles)  # NetSuite sends no Retry-After
    assert env.sandbox.throttled == len(throttles)
    await env.aclose()


async def test_the_per_minute_limit_holds_requests_before_they_are_sent() -> None:
    clock = [0.0]

    async def advance(seconds: float) -> None:
        clock[0] += seconds

    limiter = RateLimiter(Rate(3, 60.0), clock=lambda: clock[0], sleep=advance)
    env = in_process_netsuite(per_minute=1000, limiter=limiter)
    customer_id = await push_customer(env.ledger)  # currency lookup, upsert, read: 4 requests
    assert clock[0] >= 60.0  # the fourth waited for the window to move
    assert await env.ledger.get("customer", customer_id) is not None
    await env.aclose()


async def test_each_attempt_is_signed_afresh_so_a_retry_is_not_a_replay(
    ns: InProcessNetSuite,
) -> None:
    ns.sandbox.fail_next_writes(ns.retry.attempts - 1)
    await push_customer(ns.ledger)
    assert ns.sandbox.count("customer") == 1
    assert ns.sandbox.tba.audit == []


# -------------------------------------------------------- error translation


def ns_error(status: int, code: str, detail: str = "d", path: str | None = None) -> object:
    entry = {"detail": detail, "o:errorCode": code} | ({"o:errorPath": path} if path else {})
    return {"type": "t", "title": "x", "status": status, "o:errorDetails": [entry]}


ERRORS = [
    (
        answer(429, ns_error(429, "CONCURRENCY_LIMIT_EXCEEDED")),
        Translated(TransientLedgerError, "CONCURRENCY_LIMIT_EXCEEDED"),
    ),
    (answer(429, ns_error(429, "USER_ERROR")), Translated(TransientLedgerError, "USER_ERROR", 60)),
    (
        answer(429, ns_error(429, "USER_ERROR"), **{"Retry-After": "3"}),
        Translated(TransientLedgerError, "USER_ERROR", 3),
    ),
    (answer(401, ns_error(401, "INVALID_LOGIN")), Translated(AuthExpiredError, "INVALID_LOGIN")),
    (
        answer(404, ns_error(404, "NONEXISTENT_ID")),
        Translated(PermanentLedgerError, "NONEXISTENT_ID"),
    ),
    (
        answer(400, ns_error(400, "INVALID_CONTENT", "Bad value", "entity")),
        Translated(PermanentLedgerError, "INVALID_CONTENT", says=("Bad value", "entity")),
    ),
    (
        answer(400, ns_error(400, "RCRD_HAS_BEEN_CHANGED")),
        Translated(StaleVersionError, None),
    ),
    (answer(502, b"<html>Bad Gateway</html>"), Translated(TransientLedgerError, "502")),
]


@pytest.mark.parametrize(("answer", "expected"), ERRORS)
def test_netsuite_errors_map_to_typed_errors(answer: httpx.Response, expected: Translated) -> None:
    assert translated(translate_netsuite(answer), expected) == expected


def test_a_live_account_needs_its_tba_credentials_and_a_sane_concurrency(tmp_path: Path) -> None:
    plat = platform("netsuite")
    live = "https://1234567-sb1.suitetalk.api.netsuite.com"
    with pytest.raises(ConfigurationError) as missing:
        plat.connect(Connection(live, tmp_path / "t.json", {"consumer_key": "ck"}))
    assert "SYNCLEDGER_NETSUITE_TOKEN_SECRET" in str(missing.value)
    creds = {"consumer_key": "a", "consumer_secret": "b", "token_id": "c", "token_secret": "d"}
    with pytest.raises(ConfigurationError):
        plat.connect(Connection(live, tmp_path / "t.json", creds | {"concurrency": "many"}))
    assert plat.connect(Connection(live, tmp_path / "t.json", creds)).ledger == "netsuite"


def test_the_default_mapping_loads_and_has_a_digest() -> None:
    mapping = load_mapping()
    assert mapping.version == "netsuite-2"
    assert len(mapping.digest) == 64
    assert mapping.ref_field == {
        "customer": "comments",
        "invoice": "memo",
        "payment": "memo",
        "credit_note": "memo",
        "refund": "memo",  # the [refund] section is optional: defaults stand in
    }
    assert "tax_id" not in mapping.fields["customer"]  # no legacy vatRegNumber
    assert mapping.fields["payment"]["reference"] == ("checkNum",)
    assert (mapping.lines.item, mapping.lines.discount_item, mapping.timezone) == ("1", "2", "UTC")
    assert (mapping.tax.type, mapping.tax.taxable_code, mapping.tax.non_taxable_code) == (
        "1",
        "10",
        "",
    )
    assert (mapping.refund_account, mapping.refund_payment_method) == ("1", "1")
    assert mapping.new_item_income_account == ""  # the default item's
    assert mapping.new_item_tax_schedule == "1"


def test_new_items_settings_are_read_from_their_own_table(tmp_path: Path) -> None:
    default = resources.files("syncledger.adapters.netsuite").joinpath("mapping.toml").read_text()
    assert '\nincome_account = ""' in default
    path = tmp_path / "netsuite.toml"
    path.write_text(default.replace('\nincome_account = ""', '\nincome_account = "77"'))
    assert load_mapping(path).new_item_income_account == "77"
    path.write_text(default.replace("[new_items]", "").replace('\nincome_account = ""', ""))
    assert load_mapping(path).new_item_income_account == ""  # the table may be left out


def test_external_ids_are_deterministic_and_url_safe() -> None:
    eid = external_id("csv/invoice/INV 1?")
    assert eid == external_id("csv/invoice/INV 1?") != external_id("csv/invoice/INV 2?")
    assert eid.startswith("sl_") and len(eid) == 43 and eid[3:].isalnum()
