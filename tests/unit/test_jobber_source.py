"""Jobber source beyond the contract: paging, the cost bucket, token rotation across a
restart, service-location checks, webhooks' malformed bodies, write-back refusals."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from syncledger.adapters.jobber.mapping import SourceMapping
from syncledger.adapters.jobber.platform import SOURCE
from syncledger.adapters.jobber.sandbox.server import create_app, sandbox_of
from syncledger.adapters.jobber.source import JobberSource
from syncledger.core.events import SourceRecordObserved, WebhookProcessed, WebhookReceived
from syncledger.core.keystore import MemoryKeyStore
from syncledger.core.source_ports import RecordHint, SourceItem, StatusUpdate, WebhookRefused
from syncledger.core.source_sync import SourceLog, WebhookDesk, process_webhooks
from syncledger.core.store_memory import MemoryEventStore
from syncledger.core.validation import MALFORMED_FIELD, LedgerRules, Rejected, validate
from tests.contracts.source_contract import read_all
from tests.unit.test_jobber_source_contract import connection

SOURCE_MAPPING = Path(__file__).resolve().parents[2] / "adapters/jobber/source_mapping.toml"


def _reader(app: object, tmp_path: Path, scale: float = 20.0) -> JobberSource:
    reader = SOURCE.connect(connection(app, tmp_path, scale))
    assert isinstance(reader, JobberSource)
    return reader


async def _read_by_id(app: object, tmp_path: Path) -> dict[str, SourceItem]:
    """Everything a first read of the sandbox gives, by record id."""
    reader = _reader(app, tmp_path)
    try:
        return {i.id: i for i in (await read_all(reader, None))[0]}
    finally:
        await reader.aclose()


async def test_many_clients_are_read_across_pages_once_each(tmp_path: Path) -> None:
    app = create_app(rate_scale=20.0)
    made = {sandbox_of(app).store.put_client(companyName=f"Client {n}") for n in range(130)}
    reader = _reader(app, tmp_path)
    try:
        pages = 0
        seen: list[str] = []
        cursor = None
        while True:
            page = await reader.read_changes(cursor)
            pages += 1
            seen += [i.id for i in page.items if i.kind == "customer"]
            cursor = page.cursor or cursor
            if not page.more:
                break
        assert pages >= 6  # 25 per page
        assert sorted(seen) == sorted(made)
        assert (await reader.read_changes(cursor)).items == ()
    finally:
        await reader.aclose()


async def test_the_cost_bucket_holds_a_burst_without_a_throttled_answer(tmp_path: Path) -> None:
    # a bucket that holds one read (a page of clients and one of invoices, ~6,400 points)
    # but not six in a row
    app = create_app(maximum_available=7000, restore_rate=4000)
    sandbox = sandbox_of(app)
    for n in range(30):
        sandbox.store.put_client(companyName=f"Burst {n}")
    reader = _reader(app, tmp_path, scale=1.0)
    try:
        for _ in range(6):
            await reader.read_changes(None)
        assert sandbox.throttled == 0
        assert reader._api.bucket.waits > 0  # it did hold back
    finally:
        await reader.aclose()


async def test_a_throttled_answer_is_sent_again_after_its_wait(tmp_path: Path) -> None:
    # a slow restore, so the bucket cannot refill between the spend below and the fetch
    # however busy the machine is (at 4,000/s it refilled within milliseconds: flaky)
    app = create_app(maximum_available=4000, restore_rate=200)
    sandbox = sandbox_of(app)
    sid = sandbox.store.put_client(companyName="Retried Ltd")
    reader = _reader(app, tmp_path, scale=1.0)
    try:
        sandbox.bucket.spend(4000)  # someone else's app emptied the bucket
        [found] = await reader.fetch([RecordHint("customer", sid)])
        assert found.fields["name"] == "Retried Ltd"
        assert sandbox.throttled >= 1
    finally:
        await reader.aclose()


async def test_a_rotated_refresh_token_survives_a_restart(tmp_path: Path) -> None:
    app = create_app(rate_scale=20.0)
    sandbox_of(app).store.put_client(companyName="Rotated Ltd")
    first = _reader(app, tmp_path)
    await read_all(first, None)
    await first.aclose()
    stored = json.loads((tmp_path / "jobber-tokens.json").read_text())
    assert stored["refresh_token"] != "jobber-sandbox-refresh"  # rotated and persisted
    assert sandbox_of(app).oauth.exchange("jobber-sandbox-refresh") is None  # old one dead
    sandbox_of(app).oauth.expire_access_tokens()  # force a refresh after the restart
    again = _reader(app, tmp_path)
    try:
        items, _ = await read_all(again, None)
        assert [i.fields["name"] for i in items] == ["Rotated Ltd"]
    finally:
        await again.aclose()


async def test_a_duplicated_service_location_is_refused_with_its_reason(tmp_path: Path) -> None:
    app = create_app(rate_scale=20.0)
    store = sandbox_of(app).store
    sid = store.put_client(companyName="Two Sites Ltd")
    address = {"street1": "1 Elm St", "city": "Boise", "province": "ID", "postalCode": "83702"}
    store.add_property(sid, "Main", address)
    store.add_property(sid, "Annex", dict(address))
    clean = store.put_client(companyName="One Site Ltd")
    store.add_property(clean, "Main", address)
    items = await _read_by_id(app, tmp_path)
    [problem] = items[sid].fields[MALFORMED_FIELD]
    assert "same address" in problem
    verdict = validate(items[sid], LedgerRules("xero"))
    assert isinstance(verdict, Rejected)
    assert any("same address" in r.message for r in verdict.reasons)
    assert MALFORMED_FIELD not in items[clean].fields
    assert not isinstance(validate(items[clean], LedgerRules("xero")), Rejected)


async def test_an_undecodable_delivery_is_malformed_and_destroy_is_a_deleted_hint(
    tmp_path: Path,
) -> None:
    app = create_app()
    sandbox = sandbox_of(app)
    reader = _reader(app, tmp_path)
    try:
        gone = reader.verify(sandbox.signed_webhook("INVOICE_DESTROY", "abc"))
        assert gone.hints == (RecordHint("invoice", "abc", deleted=True),)
        sandbox_signed = sandbox.signed_webhook("CLIENT_UPDATE", "x")
        body = b"not json"
        import base64, hashlib, hmac  # noqa: E401, I001 (the sender's side, spelled out)

        sig = base64.b64encode(
            hmac.new(sandbox.client_secret.encode(), body, hashlib.sha256).digest()
        )
        headers = {**sandbox_signed.headers, "x-jobber-hmac-sha256": sig.decode()}
        with pytest.raises(WebhookRefused) as refused:
            reader.verify(replace(sandbox_signed, body=body, headers=headers))
        assert refused.value.reason == "malformed"
        [item] = await reader.fetch([RecordHint("customer", "missing-id")])
        assert item.deleted
    finally:
        await reader.aclose()


async def test_write_back_refuses_a_total_jobber_does_not_hold(tmp_path: Path) -> None:
    app = create_app(rate_scale=20.0)
    store = sandbox_of(app).store
    client = store.put_client(companyName="Total Ltd")
    lines = [{"name": "Work", "description": "", "quantity": 1, "unitPrice": 100}]
    invoice = store.put_invoice(client, "7", lines)
    reader = _reader(app, tmp_path)
    update = StatusUpdate(
        f"jobber/invoice/{invoice}",
        "xero",
        "paid",
        "USD",
        Decimal("120.00"),
        Decimal("0.00"),
        "INV-7",
        "7",
        None,
        None,
    )
    try:
        [differs] = await reader.write_back([update])
        assert (differs.result, differs.code) == ("refused", "total_differs")
        [other] = await reader.write_back(
            [replace(update, currency="EUR", total=Decimal("100.00"))]
        )
        assert (other.result, other.code) == ("refused", "currency_differs")
        assert store.paid_amount(invoice) == 0
    finally:
        await reader.aclose()


def _paid(invoice: str) -> StatusUpdate:
    return StatusUpdate(
        f"jobber/invoice/{invoice}",
        "qbo",
        "paid",
        "USD",
        Decimal("100.00"),
        Decimal("0.00"),
        "1042",
        "77",
        None,
        None,
    )


async def test_a_payment_written_back_never_comes_back_as_a_source_payment(
    tmp_path: Path,
) -> None:
    """Payments are the ledger's by default: the payment record write-back makes in Jobber
    is not read back (it would be pushed to the ledger as a second payment)."""
    app = create_app(rate_scale=20.0)
    store = sandbox_of(app).store
    client = store.put_client(companyName="Paid Ltd")
    lines = [{"name": "Work", "description": "", "quantity": 1, "unitPrice": 100}]
    invoice = store.put_invoice(client, "42", lines)
    reader = _reader(app, tmp_path)
    try:
        _, cursor = await read_all(reader, None)
        [done] = await reader.write_back([_paid(invoice)])
        assert done.result == "written"
        assert store.paid_amount(invoice) == Decimal("100")
        after, _ = await read_all(reader, cursor)
        everything, _ = await read_all(reader, None)
    finally:
        await reader.aclose()
    assert [i for i in after + everything if i.kind == "payment"] == []


def _jobber_owns_payments() -> SourceMapping:
    text = SOURCE_MAPPING.read_text().replace('payments = "ledger"', 'payments = "jobber"')
    mapping = SourceMapping.load(text)
    assert mapping.reads_payments
    return mapping


async def test_payments_taken_in_jobber_are_read_when_jobber_owns_them(tmp_path: Path) -> None:
    app = create_app(rate_scale=20.0)
    store = sandbox_of(app).store
    client = store.put_client(companyName="Field Pay Ltd")
    lines = [{"name": "Work", "description": "", "quantity": 1, "unitPrice": 100}]
    invoice = store.put_invoice(client, "43", lines)
    store.record_payment(invoice, Decimal("100"), None, "paid in the van")
    reader = _reader(app, tmp_path)
    reader._mapping = _jobber_owns_payments()
    try:
        items, _ = await read_all(reader, None)
        [settled] = await reader.write_back([_paid(invoice)])  # no loop the other way
        assert settled.result == "written"  # Jobber holds it: the ledger's came from it
    finally:
        await reader.aclose()
    assert store.paid_amount(invoice) == Decimal("100")  # nothing recorded twice
    [payment] = [i for i in items if i.kind == "payment"]
    assert Decimal(payment.fields["amount"]) == Decimal("100")


_ELM = {"street1": "1 Elm St", "city": "Boise", "province": "ID", "postalCode": "83702"}
_OAK = {"street1": "9 Oak Ave", "city": "Boise", "province": "ID", "postalCode": "83702"}


def _pinned(address: dict[str, str], lat: float, lon: float) -> dict[str, object]:
    return {**address, "coordinates": {"latitude": lat, "longitude": lon}}


async def test_two_sites_pinned_at_one_point_are_refused_as_read_from_jobber(
    tmp_path: Path,
) -> None:
    """Jobber's ``PropertyAddress.coordinates`` are read with the client: two different
    addresses at one map point (the double-booking case) refuse the client; a site that
    was never geocoded is no error."""
    app = create_app(rate_scale=20.0)
    store = sandbox_of(app).store
    sid = store.put_client(companyName="Pinned Twice Ltd")
    home = store.add_property(sid, "Home", _pinned(_ELM, 43.6150, -116.2023))
    shop = store.add_property(sid, "Shop", _pinned(_OAK, 43.6150, -116.2023))
    fine = store.put_client(companyName="Geocoded Ltd")
    store.add_property(fine, "Home", _pinned(_ELM, 43.6150, -116.2023))
    store.add_property(fine, "Shop", _OAK)  # not geocoded: nothing to compare
    items = await _read_by_id(app, tmp_path)
    [problem] = items[sid].fields[MALFORMED_FIELD]
    assert problem.startswith(f"service locations {home} and {shop} have different addresses")
    verdict = validate(items[sid], LedgerRules("xero"))
    assert isinstance(verdict, Rejected)
    assert [r.code for r in verdict.reasons] == ["malformed_row"]
    assert MALFORMED_FIELD not in items[fine].fields
    assert not isinstance(validate(items[fine], LedgerRules("xero")), Rejected)


async def test_a_property_webhook_rereads_the_client_owning_the_property(tmp_path: Path) -> None:
    """The sandbox announces property changes as ``PROPERTY_*`` webhooks naming the property;
    the hint re-reads the owning client. Here a pin moved onto the other site's point (the
    client's ``updatedAt`` does not move in the sandbox: the stricter case, where only the
    webhook tells)."""
    app = create_app(rate_scale=20.0)
    sandbox = sandbox_of(app)
    store = sandbox.store
    sid = store.put_client(companyName="Moved Pin Ltd")
    home = store.add_property(sid, "Home", _pinned(_ELM, 43.6150, -116.2023))
    shop = store.add_property(sid, "Shop", _pinned(_OAK, 43.6200, -116.2100))
    created = sandbox.property_webhooks()
    reader = _reader(app, tmp_path)
    try:
        first, _ = await read_all(reader, None)
        assert MALFORMED_FIELD not in next(i for i in first if i.id == sid).fields
        assert [reader.verify(w).hints for w in created] == [
            (RecordHint("property", home),),
            (RecordHint("property", shop),),
        ]
        store.edit_property(home, "Home", _pinned(_ELM, 43.6200, -116.2100))
        [moved] = sandbox.property_webhooks()
        delivery = reader.verify(moved)
        assert delivery.hints == (RecordHint("property", home),)
        [client] = await reader.fetch(delivery.hints)
        again = await reader.fetch(reader.verify(moved).hints)  # a retried delivery
    finally:
        await reader.aclose()
    assert (client.kind, client.id, client.deleted) == ("customer", sid, False)
    [problem] = client.fields[MALFORMED_FIELD]
    assert "the same map point" in problem
    assert again == [client]
    assert reader.verify(moved).delivery_id == delivery.delivery_id


async def test_a_destroyed_property_deletes_nothing(tmp_path: Path) -> None:
    app = create_app(rate_scale=20.0)
    sandbox = sandbox_of(app)
    sid = sandbox.store.put_client(companyName="Shrinking Ltd")
    site = sandbox.store.add_property(sid, "Annex", _ELM)
    sandbox.property_webhooks()
    sandbox.store.remove_property(site)
    [gone] = sandbox.property_webhooks()
    reader = _reader(app, tmp_path)
    try:
        delivery = reader.verify(gone)
        assert delivery.hints == (RecordHint("property", site, deleted=True),)
        assert await reader.fetch(delivery.hints) == []
        items, _ = await read_all(reader, None)
    finally:
        await reader.aclose()
    assert [(i.id, i.deleted) for i in items] == [(sid, False)]


async def test_a_property_delivery_goes_through_the_log_to_its_client(tmp_path: Path) -> None:
    """Stored before the answer as a receipt naming the property, then processed from the
    log: the client owning it is observed, and the receipt is marked processed."""
    app = create_app(rate_scale=20.0)
    sandbox = sandbox_of(app)
    sid = sandbox.store.put_client(companyName="Logged Pin Ltd")
    site = sandbox.store.add_property(sid, "Home", _pinned(_ELM, 0, 0))
    [created] = sandbox.property_webhooks()
    log = SourceLog(MemoryEventStore(), MemoryKeyStore(), "acme", "test")
    reader = _reader(app, tmp_path)
    try:
        receipt = await WebhookDesk(log, "jobber").receive(reader.verify(created))
        report = await process_webhooks(log, reader)
    finally:
        await reader.aclose()
    assert not receipt.duplicate
    assert report.observed == 1
    found = [s.envelope().payload() async for s in log.store.read()]
    [received] = [e for e in found if isinstance(e, WebhookReceived)]
    assert [(h.kind, h.id) for h in received.hints] == [("property", site)]
    [observed] = [e for e in found if isinstance(e, SourceRecordObserved)]
    assert observed.ref == f"jobber/customer/{sid}"
    assert len([e for e in found if isinstance(e, WebhookProcessed)]) == 1
