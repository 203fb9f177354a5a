"""Lines booked to ledger items: the mapping's item map and policy, carried to the ledger."""

from __future__ import annotations

import json
from typing import Any

from syncledger.adapters.memory import MemoryLedger
from syncledger.core.errors import PermanentLedgerError, TransientLedgerError
from syncledger.core.events import RetryRequested, make_envelope
from syncledger.core.mapping import Mapping
from syncledger.core.model import RecordRef
from syncledger.core.ports import SourceItem
from syncledger.core.subjects import source_subject
from tests.support.records import changed, credit_note, customer, invoice
from tests.unit.test_sync import ENTITY, Harness

CREATE = """
[items]
unmatched = "create"

[items.map]
"SVC" = "Services"
"""

REVIEW = CREATE.replace('"create"', '"review"')


def lines(*codes: str | None) -> list[dict[str, Any]]:
    return [
        {
            "description": f"line {n}",
            "quantity": "1",
            "unit_price": "50.00",
            **({"item_code": code} if code is not None else {}),
        }
        for n, code in enumerate(codes, 1)
    ]


def with_items(iid: str, *codes: str | None, version: str = "2") -> SourceItem:
    total = f"{50 * len(codes)}.00"
    return changed(invoice(iid, "c1"), version, lines=lines(*codes), total=total, discount="0")


async def events(h: Harness, *types: str) -> list[dict[str, Any]]:
    found = [json.loads(s.raw) async for s in h.store.read()]
    return [e for e in found if e["type"] in types]


async def booked(h: Harness, iid: str) -> tuple[str | None, ...]:
    found = await h.ledger.find("invoice", f"csv/invoice/{iid}")
    assert found is not None, f"{iid} is not in the ledger"
    return found.line_items


async def retry(h: Harness, ref: str) -> None:
    parsed = RecordRef.parse(ref)
    await h.store.append(
        [
            make_envelope(
                RetryRequested(ref=ref, ledger=h.ledger.ledger),
                entity=ENTITY,
                subject=source_subject(ENTITY, parsed),
                actor="ops",
            )
        ]
    )


async def test_an_unlisted_code_is_created_once_under_policy_create() -> None:
    h = Harness(mapping=Mapping.from_text("memory", CREATE))
    await h.ingest([customer("c1"), with_items("i1", "SKU-9", None), with_items("i2", "SKU-9")])
    assert [o.status for o in await h.run()] == ["pushed"] * 3
    assert h.ledger.count("item") == 1
    assert await booked(h, "i1") == ("SKU-9", None)
    assert await booked(h, "i2") == ("SKU-9",)
    made = await events(h, "LedgerItemRequested", "LedgerItemCreated")
    assert [(e["type"], e["data"]["code"], e["data"]["source_ref"]) for e in made] == [
        ("LedgerItemRequested", "SKU-9", "csv/invoice/i1"),
        ("LedgerItemCreated", "SKU-9", "csv/invoice/i1"),
    ]
    assert made[1]["data"]["ledger_item_ref"] == next(iter(h.ledger.items))
    assert made[1]["data"]["recovered"] is False


async def test_a_mapped_code_is_booked_to_the_ledger_item_it_names() -> None:
    ledger = MemoryLedger()
    ledger.seed_item("Services")
    h = Harness(ledger, mapping=Mapping.from_text("memory", REVIEW))
    await h.ingest([customer("c1"), with_items("i1", "SVC", "SVC")])
    assert [o.status for o in await h.run()] == ["pushed", "pushed"]
    assert await booked(h, "i1") == ("Services", "Services")
    assert ledger.count("item") == 1
    assert await events(h, "LedgerItemRequested", "LedgerItemCreated") == []


async def test_a_map_entry_naming_no_ledger_item_is_rejected_not_invented() -> None:
    ledger = MemoryLedger()
    h = Harness(ledger, mapping=Mapping.from_text("memory", CREATE))
    await h.ingest([customer("c1"), with_items("i1", "SVC")])
    assert [o.status for o in await h.run()] == ["pushed", "rejected"]
    assert ledger.count("item") == 0
    assert ledger.count("invoice") == 0
    [rejected] = await events(h, "SourceRecordRejected")
    [reason] = rejected["data"]["reasons"]
    assert reason["code"] == "ledger_item_missing"
    assert "'SVC'" in reason["message"]
    assert "'Services'" in reason["message"]
    # someone creates the item in the ledger; a retry pushes the invoice
    ledger.seed_item("Services")
    await retry(h, "csv/invoice/i1")
    assert [o.status for o in await h.run() if o.status != "ignored"] == ["pushed"]
    assert await booked(h, "i1") == ("Services",)


async def test_without_a_mapping_file_no_item_is_created() -> None:
    h = Harness()
    await h.ingest([customer("c1"), with_items("i1", "SKU-9")])
    assert [o.status for o in await h.run()] == ["pushed", "rejected"]
    [rejected] = await events(h, "SourceRecordRejected")
    assert rejected["data"]["reasons"][0]["code"] == "ledger_item_missing"
    assert h.ledger.count("item") == 0
    assert h.ledger.count("invoice") == 0


async def test_a_crash_after_the_item_is_made_is_finished_on_redelivery() -> None:
    ledger = MemoryLedger()
    h = Harness(ledger, mapping=Mapping.from_text("memory", CREATE))
    await h.ingest([customer("c1")])
    await h.run()
    ledger.commit_then_fail = [TransientLedgerError("timed out after commit")]
    await h.ingest([with_items("i1", "SKU-9")])
    assert [o.status for o in await h.run(rounds=3)] == ["retry", "pushed"]
    assert ledger.count("item") == 1
    assert await booked(h, "i1") == ("SKU-9",)
    made = await events(h, "LedgerItemRequested", "LedgerItemCreated")
    assert [(e["type"], e["data"].get("recovered")) for e in made] == [
        ("LedgerItemRequested", None),
        ("LedgerItemCreated", True),
    ]


async def test_a_restarted_worker_finishes_an_interrupted_item_create() -> None:
    ledger = MemoryLedger()
    h = Harness(ledger, mapping=Mapping.from_text("memory", CREATE))
    await h.ingest([customer("c1")])
    await h.run()
    ledger.commit_then_fail = [PermanentLedgerError("process killed", code="crash")]
    await h.ingest([with_items("i1", "SKU-9")])
    assert [o.status for o in await h.run()] == ["abandoned"]
    await retry(h, "csv/invoice/i1")
    restarted = await h.service()  # state folded from the log alone
    assert restarted.state.items == {"SKU-9": None}
    assert [o.status for o in await h.run(restarted) if o.status != "ignored"] == ["pushed"]
    assert ledger.count("item") == 1
    assert restarted.state.items == {"SKU-9": next(iter(ledger.items))}


async def test_an_update_and_a_credit_note_are_booked_to_their_items() -> None:
    h = Harness(mapping=Mapping.from_text("memory", CREATE))
    i1 = with_items("i1", None, "SKU-1")
    await h.ingest([customer("c1"), i1])
    await h.run()
    await h.ingest([changed(i1, "3", lines=lines("SKU-2", "SKU-1"))])
    assert [o.status for o in await h.run()] == ["pushed"]
    assert await booked(h, "i1") == ("SKU-2", "SKU-1")
    note = changed(
        credit_note("cn1", "i1", "c1"),
        "2",
        lines=lines("SKU-3"),
        total="50.00",
    )
    await h.ingest([note])
    assert [o.status for o in await h.run()] == ["pushed"]
    found = await h.ledger.find("credit_note", "csv/credit_note/cn1")
    assert found is not None
    assert found.line_items == ("SKU-3",)
    assert sorted(i.code for i in h.ledger.items.values()) == ["SKU-1", "SKU-2", "SKU-3"]
