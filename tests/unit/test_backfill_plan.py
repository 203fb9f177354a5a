"""`syncledger import --backfill --dry-run`: what a historical import would create, link,
reject or send to review, read from the ledger and written nowhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncledger.adapters.memory import MemoryLedger
from syncledger.core import pipeline
from syncledger.core.ledgers import LedgerHandle
from syncledger.core.mapping import Mapping
from syncledger.core.settings import Settings

CUSTOMERS = """id,name,currency,tax_id,updated_at
C-1,Harbor Electric,USD,,2024-01-01T00:00:00Z
C-2,Twin Co,USD,,2024-01-01T00:00:00Z
C-3,Brand New LLC,USD,,2024-01-01T00:00:00Z
C-4,Acme GmbH,EUR,DE136695976,2024-01-01T00:00:00Z
"""
INVOICES = """id,number,customer_id,issue_date,currency,total,status,updated_at,\
description,quantity,unit_price,item_code
I-1,1001,C-3,2024-01-02,USD,100.00,open,2024-01-02T00:00:00Z,Service,1,100.00,
I-2,1002,C-3,2024-01-02,USD,50.00,disputed,2024-01-02T00:00:00Z,Service,1,50.00,
I-3,1003,C-3,2024-01-02,XYZ,50.00,open,2024-01-02T00:00:00Z,Service,1,50.00,
I-4,1004,C-3,2024-01-02,USD,50.00,open,2024-01-02T00:00:00Z,Pump,1,50.00,PUMP
I-5,1005,C-3,2024-01-02,USD,50.00,open,2024-01-02T00:00:00Z,Valve,1,50.00,VALVE
I-6,1006,C-3,2024-01-02,USD,50.00,open,2024-01-02T00:00:00Z,Valve,1,50.00,VALVE
I-7,1007,C-3,2024-01-02,USD,50.00,open,2024-01-02T00:00:00Z,Labour,1,50.00,HOURS
"""
MAPPING = """
[items]
unmatched = "create"

[items.map]
"PUMP" = "Pumps"      # in the ledger
"HOURS" = "Labour"    # not in the ledger: a mistake the plan must show
"""
PAYMENTS = "id,customer_id,invoice_id,amount,currency,paid_on,updated_at\n"


@pytest.fixture
def ledger(monkeypatch: pytest.MonkeyPatch) -> MemoryLedger:
    book = MemoryLedger()
    monkeypatch.setattr(pipeline, "open_ledger", lambda _s: LedgerHandle(book, None, "memory"))
    mapping = Mapping.from_text("memory", MAPPING)
    monkeypatch.setattr(pipeline, "ledger_mapping", lambda _ledger: mapping)
    return book


async def test_the_plan_creates_links_rejects_and_sends_to_review(
    ledger: MemoryLedger, tmp_path: Path
) -> None:
    harbor = ledger.seed_customer("Harbor Electric")
    ledger.seed_customer("Twin Co")
    ledger.seed_customer("TWIN CO")
    acme = ledger.seed_customer("ACME Deutschland", tax_id="DE 136 695 976")
    ledger.seed_item("Pumps")
    source = tmp_path / "export"
    source.mkdir()
    for name, body in (
        ("customers.csv", CUSTOMERS),
        ("invoices.csv", INVOICES),
        ("payments.csv", PAYMENTS),
    ):
        (source / name).write_text(body, encoding="utf-8")
    before = dict(ledger.records), dict(ledger.items)
    settings = Settings(data_dir=tmp_path / "data", entity="acme", ledger="memory")
    plan = await pipeline.plan_backfill(settings, source)
    assert plan.link == [
        f"csv/customer/C-1 -> {harbor} (name/email/tax id match)",
        f"csv/customer/C-4 -> {acme} (name/email/tax id match)",
    ]
    assert plan.review == ["csv/customer/C-2: 2 ledger customers match (2, 3)"]
    assert plan.create == [
        "csv/customer/C-3",
        "csv/invoice/I-1",
        "csv/invoice/I-2 (disputed: then credited by a credit note)",
        "csv/invoice/I-4",
        "csv/invoice/I-5",
        "csv/invoice/I-6",
    ]
    assert plan.reject == [
        "csv/invoice/I-3: unknown_currency",
        "csv/invoice/I-7: ledger_item_missing",  # the map names an item the ledger lacks
    ]
    assert plan.items == ["VALVE (first named by csv/invoice/I-5)"]  # once, not per invoice
    assert plan.text().startswith(
        "would create 6, link 2, reject 2, send 1 to review, create 1 ledger items"
    )
    assert (ledger.records, ledger.items) == before  # a dry run writes nothing


async def test_the_plan_applies_the_mapping_as_the_push_will(
    ledger: MemoryLedger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    review = Mapping.from_text("memory", MAPPING.replace('"create"', '"review"'))
    monkeypatch.setattr(pipeline, "ledger_mapping", lambda _ledger: review)
    ledger.seed_item("Pumps")
    source = tmp_path / "export"
    source.mkdir()
    (source / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    (source / "invoices.csv").write_text(INVOICES, encoding="utf-8")
    (source / "payments.csv").write_text(PAYMENTS, encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "data", entity="acme", ledger="memory")
    plan = await pipeline.plan_backfill(settings, source)
    assert "csv/invoice/I-4" in plan.create  # PUMP -> Pumps, which the ledger has
    assert "csv/invoice/I-5: unmatched_item" in plan.reject  # not in the map: review
    assert plan.items == []


async def test_the_plan_holds_what_the_rollout_scope_leaves_out(
    ledger: MemoryLedger, tmp_path: Path
) -> None:
    """The dry run predicts the worker: customers out of the [rollout] scope and their
    documents are held (waiting for rollout), not created."""
    from syncledger.core.rollout import RolloutRule

    source = tmp_path / "export"
    source.mkdir()
    for name, body in (
        ("customers.csv", CUSTOMERS),
        ("invoices.csv", INVOICES),
        ("payments.csv", PAYMENTS),
    ):
        (source / name).write_text(body, encoding="utf-8")
    scope = RolloutRule(customers=("C-1",))
    settings = Settings(data_dir=tmp_path / "data", entity="acme", ledger="memory", rollout=scope)
    plan = await pipeline.plan_backfill(settings, source)
    held = [row.split(" ")[0] for row in plan.held]
    assert held == ["csv/customer/C-2", "csv/customer/C-3", "csv/customer/C-4"] + [
        f"csv/invoice/I-{n}" for n in range(1, 8)
    ]
    assert plan.create == ["csv/customer/C-1"]
    assert plan.outcomes["csv/invoice/I-3"] == "hold"  # held before it could be refused
    assert ", hold 10 for rollout" in plan.text()
