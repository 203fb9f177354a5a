"""The Jobber demo sandbox: the real reader reads what the person seeded, an invoice issued
later arrives by delta read and by a signed webhook, a tampered webhook is refused, and a
payment written back through the reader shows in the sandbox."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import resources
from pathlib import Path

import httpx
import pytest

from syncledger.adapters.jobber.platform import SOURCE
from syncledger.adapters.jobber.sandbox.person import HELD_BACK, JobberDemo, sample_invoices
from syncledger.adapters.sources.registry import SourceConnection
from syncledger.core.money import quantize
from syncledger.core.ports import SourceItem
from syncledger.core.sample_data.typed import SampleInvoice
from syncledger.core.source_ports import (
    RecordFetcher,
    SourceReader,
    StatusUpdate,
    StatusWriter,
    WebhookReceiver,
    WebhookRefused,
)
from syncledger.core.validation import Rejected, default_rules, validate

SCALE = 50.0
#: the sample's deliberately bad rows that Jobber can hold as they are
STAYS_INVALID = {"Jones: Plumbing & Heating", "Kestrel Pool Service LLC", "9004"}


def _reader(demo: JobberDemo, tmp_path: Path) -> SourceReader:
    conn = SourceConnection(
        tmp_path / "jobber-tokens.json",
        base_url=SOURCE.sandbox_url,
        transport=httpx.ASGITransport(app=demo.app),
        rate_scale=SCALE,
    )
    return SOURCE.connect(conn)


async def _read_all(reader: SourceReader, cursor: str | None) -> tuple[list[SourceItem], str]:
    items: list[SourceItem] = []
    while True:
        changes = await reader.read_changes(cursor)
        items.extend(changes.items)
        cursor = changes.cursor or cursor
        if not changes.more:
            assert cursor is not None
            return items, cursor


def _usd_customers() -> set[str]:
    text = resources.files("syncledger.core.sample_data").joinpath("customers.csv").read_text()
    return {row["id"] for row in csv.DictReader(io.StringIO(text)) if row["currency"] == "USD"}


def _said(line: str, what: str) -> int:
    found = re.search(rf"(\d+) {what}", line)
    assert found is not None, line
    return int(found.group(1))


def _expected_lines(number: str) -> list[tuple[str, Decimal, Decimal]]:
    [invoice] = [i for i in sample_invoices() if i.number == number]
    lines = []
    for ln in invoice.lines:
        net = ln.quantity * ln.unit_price
        if net == quantize(net, "USD"):
            lines.append((ln.description, ln.quantity, ln.unit_price))
        else:
            text = f"{ln.description} - {ln.quantity} x {ln.unit_price}"
            lines.append((text, Decimal(1), quantize(net, "USD")))
    return lines


def _sample(number: str) -> SampleInvoice:
    [invoice] = [i for i in sample_invoices() if i.number == number]
    return invoice


def _status(invoice: SourceItem) -> StatusUpdate:
    total = Decimal(invoice.fields["total"])
    return StatusUpdate(
        source_ref=f"jobber/invoice/{invoice.id}",
        ledger="xero",
        status="paid",
        currency="USD",
        total=total,
        balance=Decimal("0.00"),
        ledger_number="INV-0001",
        ledger_id="ledger-1",
        link=None,
        at=datetime.now(UTC),
    )


@pytest.fixture
async def demo_and_reader(tmp_path: Path) -> AsyncIterator[tuple[JobberDemo, SourceReader]]:
    demo = SOURCE.demo_sandbox(rate_scale=SCALE)
    assert isinstance(demo, JobberDemo)
    reader = _reader(demo, tmp_path)
    try:
        yield demo, reader
    finally:
        await reader.aclose()


async def test_seeded_sample_reads_back_valid_and_consistent(
    demo_and_reader: tuple[JobberDemo, SourceReader],
) -> None:
    demo, reader = demo_and_reader
    said = await demo.seed()
    items, _ = await _read_all(reader, None)
    customers = [i for i in items if i.kind == "customer"]
    invoices = {i.fields["number"]: i for i in items if i.kind == "invoice" and not i.deleted}
    drafts = [i for i in items if i.kind == "invoice" and i.deleted]  # none: nothing is read
    usd = _usd_customers()
    expected = [i for i in sample_invoices() if i.currency == "USD" and i.customer_id in usd]
    assert len(customers) == _said(said, "clients") == len(usd)
    assert len(invoices) == _said(said, "invoices") == len(expected) - HELD_BACK
    assert _said(said, "draft invoices") == HELD_BACK
    assert drafts == []  # nothing of a draft is read
    assert sum(len(i.fields["lines"]) for i in invoices.values()) == _said(said, "line items")
    for number in ("1001", "1002", "1100", "1200"):
        sample, got = _sample(number), invoices[number].fields
        assert [
            (x["description"], Decimal(x["quantity"]), Decimal(x["unit_price"]))
            for x in got["lines"]
        ] == _expected_lines(number)
        # the sample's tax in total, on its taxed lines; its discount; its total
        assert sum(Decimal(x.get("tax_amount", 0)) for x in got["lines"]) == sample.tax
        taxed = [ln.tax_amount > 0 for ln in sample.lines]
        assert [Decimal(x.get("tax_amount", 0)) > 0 for x in got["lines"]] == taxed
        assert Decimal(got["discount"]) == (sample.discount or 0)
        assert Decimal(got["total"]) == sample.total
        assert got["currency"] == "USD"
    assert any(Decimal(i.fields["discount"]) > 0 for i in invoices.values())
    rules = default_rules("xero")
    rejected = {
        str(i.fields.get("name") or i.fields.get("number"))
        for i in items
        if not i.deleted and isinstance(validate(i, rules), Rejected)
    }
    assert rejected == STAYS_INVALID


async def test_issued_invoice_arrives_by_delta_read_and_signed_webhook(
    demo_and_reader: tuple[JobberDemo, SourceReader],
) -> None:
    demo, reader = demo_and_reader
    await demo.seed()
    _, cursor = await _read_all(reader, None)
    hint = await demo.change_one()
    fresh, _ = await _read_all(reader, cursor)
    assert [(i.kind, i.id) for i in fresh] == [("invoice", hint.id)]
    held = [i for i in sample_invoices() if i.currency == "USD" and "-BAD-" not in i.id]
    assert fresh[0].fields["number"] == held[-HELD_BACK].number

    request = demo.delivery([hint])
    assert request.received_at.tzinfo is not None
    assert datetime.now(UTC) - request.received_at < timedelta(minutes=1)
    assert isinstance(reader, WebhookReceiver) and isinstance(reader, RecordFetcher)
    delivery = reader.verify(request)
    assert delivery.hints == (hint,)
    [again] = await reader.fetch(delivery.hints)
    assert again.id == hint.id and not again.deleted
    with pytest.raises(WebhookRefused) as refused:
        reader.verify(replace(request, body=request.body + b" "))
    assert refused.value.reason == "bad_signature"


async def test_payment_written_back_shows_paid(
    demo_and_reader: tuple[JobberDemo, SourceReader],
) -> None:
    demo, reader = demo_and_reader
    await demo.seed()
    assert await demo.shows_paid() == 0
    items, _ = await _read_all(reader, None)
    invoice = next(i for i in items if i.kind == "invoice" and i.fields["number"] == "1001")
    assert isinstance(reader, StatusWriter)
    assert [o.result for o in await reader.write_back([_status(invoice)])] == ["written"] * 1
    assert await demo.shows_paid() == 1
