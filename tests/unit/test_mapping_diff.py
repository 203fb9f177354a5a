"""A new mapping version, before and after it is in force: the diff and dry run of
``syncledger mapping diff`` (core/mapping_diff.py, core/mapping_diff_log.py), the
publication both paths share (core/bootstrap.publish_mapping), and records rejected under
the old version re-flowing by themselves (core/reflow.py) through the real worker on an
in-memory log and ledger."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from syncledger.core.bootstrap import publish_mapping
from syncledger.core.mapping import Mapping
from syncledger.core.mapping_diff import (
    LIST_CAP,
    DryRun,
    Judge,
    MappingDiff,
    dry_run,
    unified_diff,
)
from syncledger.core.mapping_diff_log import last_published, latest_items
from syncledger.core.ports import SourceItem
from syncledger.core.reflow import Reflow, candidates, request_reflows
from syncledger.core.sync import SyncService
from syncledger.core.validation import default_rules
from tests.support.records import changed, customer, invoice
from tests.unit.test_sync import ENTITY, Harness

REVIEW = '[items]\nunmatched = "review"\n'
MAPPED = REVIEW + '\n[items.map]\n"SKU-1" = "Services"\n'
RENAMED = '[transforms.customer]\nname = { rename = "full_name" }\n'
JUDGE = Judge(default_rules("memory"), "USD")


def coded(iid: str, code: str, *, version: str = "2026-01-02T00:00:00") -> SourceItem:
    item = invoice(iid, "c1", version=version)
    lines: list[Any] = item.fields["lines"]
    return changed(item, version, lines=[{**lines[0], "item_code": code}])


def nameless(cid: str) -> SourceItem:
    """A customer whose name comes as ``full_name``: refused until a rename maps it."""
    item = customer(cid)
    fields = {k: v for k, v in item.fields.items() if k != "name"}
    return replace(item, fields={**fields, "full_name": f"Customer {cid}"})


def mapping(text: str) -> Mapping:
    return Mapping.from_text("memory", text)


def refs(items: list[SourceItem]) -> list[tuple[str, SourceItem]]:
    return [(f"{i.system}/{i.kind}/{i.id}", i) for i in items]


# ------------------------------------------------------------------ the dry run, pure


def test_a_fixed_item_map_turns_exactly_the_refused_records_into_accepted_ones() -> None:
    items = refs([customer("c1"), coded("i1", "SKU-1"), coded("i2", "SKU-2"), invoice("i3", "c1")])
    run = dry_run(JUDGE, mapping(REVIEW), mapping(MAPPED), items)
    assert [(c.ref, c.detail) for c in run.now_accepted] == [
        ("csv/invoice/i1", "was unmatched_item")
    ]
    # i2 (SKU-2 is not mapped either) and the others are judged alike by both
    assert run.now_rejected == [] and run.fields_change == []
    assert run.judged == 4 and run.unchanged == 3


def test_a_tightened_policy_is_listed_as_accepted_to_rejected_with_its_reason() -> None:
    items = refs([coded("i1", "SKU-9"), invoice("i2", "c1")])
    run = dry_run(JUDGE, mapping(""), mapping(REVIEW), items)
    [change] = run.now_rejected
    assert change.ref == "csv/invoice/i1"
    assert change.detail.startswith("unmatched_item: ") and "SKU-9" in change.detail
    assert run.unchanged == 1 and run.now_accepted == []


def test_accepted_by_both_with_other_canonical_fields_names_the_fields_not_values() -> None:
    item = replace(customer("c1"), fields={**customer("c1").fields, "mail": "ap@quay.example.com"})
    old = mapping('[transforms.customer]\ncontact_name = { rename = "mail" }\n')
    new = mapping('[transforms.customer]\nemail = { rename = "mail" }\n')
    run = dry_run(JUDGE, old, new, refs([item]))
    assert [(c.ref, c.detail) for c in run.fields_change] == [
        ("csv/customer/c1", "contact_name, email")
    ]
    assert "quay.example.com" not in json.dumps([c.detail for c in run.fields_change])


def test_a_refusal_never_shows_a_personal_value() -> None:
    item = replace(customer("c1"), fields={**customer("c1").fields, "mail": "jane@@doe.example"})
    old = mapping('[transforms.customer]\ncontact_name = { rename = "mail" }\n')
    new = mapping('[transforms.customer]\nemail = { rename = "mail" }\n')
    run = dry_run(JUDGE, old, new, refs([item]))
    [change] = run.now_rejected
    assert change.detail.startswith("invalid_email: ")
    assert "jane@@doe.example" not in change.detail


def test_the_lists_are_capped_and_the_total_is_always_given() -> None:
    many = [coded(f"i{n}", "SKU-1") for n in range(LIST_CAP + 5)]
    run = dry_run(JUDGE, mapping(REVIEW), mapping(MAPPED), refs(many))
    found = MappingDiff("memory", "memory@old", "memory@new", "m.toml", [], run)
    text = found.text()
    assert f"rejected → accepted ({LIST_CAP + 5}):" in text
    assert "… and 5 more" in text
    assert found.exit_code == 1
    listed = found.as_json()["rejected_to_accepted"]
    assert isinstance(listed, dict) and listed["count"] == LIST_CAP + 5
    assert len(listed["listed"]) == LIST_CAP


def test_no_record_changing_exits_0_and_the_diff_is_unified() -> None:
    found_run = dry_run(JUDGE, mapping(REVIEW), mapping(REVIEW + "# note\n"), refs([]))
    assert found_run.changed == 0
    diff = unified_diff(REVIEW, REVIEW + "# note\n", "old", "new")
    assert diff[:2] == ["--- old", "+++ new"] and "+# note" in diff


# ------------------------------------------------------------------ what it reads


async def test_the_latest_live_version_of_each_record_is_read_with_its_personal_fields() -> None:
    h = Harness()
    old = customer("c1", email="ap@quay.example.com", version="1")
    await h.ingest([old, changed(old, "2", currency="EUR"), customer("c2", version="1")])
    await h.ingest([replace(customer("c2", version="2"), deleted=True)])
    found = await latest_items(h.store, h.keys, ENTITY)
    assert [(ref, i.version) for ref, i in found] == [("csv/customer/c1", "2")]
    assert found[0][1].fields["email"] == "ap@quay.example.com"  # opened, as the worker does
    assert found[0][1].fields["currency"] == "EUR"


async def test_both_paths_publish_the_same_event_and_a_version_that_comes_back_is_in_force() -> (
    None
):
    h = Harness()
    first = await publish_mapping(h.store, ENTITY, "memory", "ops", content=REVIEW)
    again = await publish_mapping(h.store, ENTITY, "memory", "ops", content=REVIEW)
    assert first == again == mapping(REVIEW).version
    await publish_mapping(h.store, ENTITY, "memory", "ops", content=MAPPED)
    in_force = await last_published(h.store, ENTITY, "memory")
    assert in_force is not None and in_force.mapping_version == mapping(MAPPED).version
    await publish_mapping(h.store, ENTITY, "memory", "ops", content=REVIEW)  # rolled back
    in_force = await last_published(h.store, ENTITY, "memory")
    assert in_force is not None and in_force.content == REVIEW
    published = [s async for s in h.store.read() if b"MappingVersionPublished" in s.raw]
    assert len(published) == 3  # once per version, and once more for the one that came back


# ------------------------------------------------------------------ re-flow by the worker


async def under(h: Harness, text: str) -> SyncService:
    """The worker as it starts with mapping ``text`` in force: re-flows requested."""
    h.mapping = mapping(text)
    service = await h.service()
    reflow = Reflow(h.store, service.state, ENTITY, "test")
    await request_reflows(reflow, service.mapping_version)
    return service


async def logged(h: Harness, kind: str) -> list[dict[str, Any]]:
    found = [json.loads(s.raw) async for s in h.store.read()]
    return [e for e in found if e["type"] == kind]


async def test_records_refused_by_the_old_version_are_pushed_once_the_new_one_is_in_force() -> None:
    h = Harness(mapping=mapping(REVIEW))
    h.ledger.seed_item("Services")  # the ledger item the new map books SKU-1 to
    await h.ingest([customer("c1"), coded("i1", "SKU-1"), coded("i2", "SKU-2")])
    assert [o.status for o in await h.run()] == ["pushed", "rejected", "rejected"]
    [first, _] = await logged(h, "SourceRecordRejected")
    assert first["data"]["mapping_version"] == mapping(REVIEW).version

    service = await under(h, MAPPED)
    outcomes = [o for o in await h.run(service) if o.status != "ignored"]
    assert [(o.status, o.source_ref) for o in outcomes] == [
        ("pushed", "csv/invoice/i1"),
        ("rejected", "csv/invoice/i2"),  # still refused: SKU-2 is not mapped either
    ]
    assert h.ledger.count("invoice") == 1
    reflows = await logged(h, "ReflowRequested")
    assert [(e["data"]["ref"], e["data"]["mapping_version"]) for e in reflows] == [
        ("csv/invoice/i1", mapping(MAPPED).version),
        ("csv/invoice/i2", mapping(MAPPED).version),
    ]
    assert reflows[0]["data"]["rejected_under"] == mapping(REVIEW).version
    assert reflows[0]["data"]["codes"] == ["unmatched_item"]
    last = (await logged(h, "SourceRecordRejected"))[-1]
    assert last["data"]["ref"] == "csv/invoice/i2"
    assert last["data"]["mapping_version"] == mapping(MAPPED).version  # named in it

    # once per record and version: starting again under the same version asks nothing
    service = await under(h, MAPPED)
    assert candidates(service.state, service.mapping_version) == []
    assert len(await logged(h, "ReflowRequested")) == 2
    assert [o.status for o in await h.run(service) if o.status != "ignored"] == []
    assert h.ledger.count("invoice") == 1


async def test_a_customer_fixed_by_the_new_version_carries_its_waiting_invoice_along() -> None:
    h = Harness(mapping=mapping(""))
    await h.ingest([nameless("c1"), invoice("i1", "c1")])
    outcomes = await h.run()
    assert [o.status for o in outcomes] == ["rejected", "rejected"]
    waiting = (await logged(h, "SourceRecordRejected"))[1]
    assert [r["code"] for r in waiting["data"]["reasons"]] == ["customer_not_synced"]

    service = await under(h, RENAMED)
    # only the customer is the mapping's to re-flow; the invoice follows it
    assert [e["data"]["ref"] for e in await logged(h, "ReflowRequested")] == ["csv/customer/c1"]
    outcomes = await h.run(service)
    outcomes += await h.run(service)  # the invoice's retry, asked once its customer is in
    statuses = [(o.status, o.source_ref) for o in outcomes if o.status != "ignored"]
    assert statuses == [("pushed", "csv/customer/c1"), ("pushed", "csv/invoice/i1")]
    [retry] = await logged(h, "RetryRequested")
    assert retry["data"]["reason"] == "csv/customer/c1 is now in the ledger"
    assert (h.ledger.count("customer"), h.ledger.count("invoice")) == (1, 1)


async def test_a_reason_the_mapping_cannot_change_is_not_reflowed() -> None:
    h = Harness(mapping=mapping(REVIEW))
    await h.ingest([invoice("i1", "nobody")])  # its customer is not in the source
    assert [o.status for o in await h.run()] == ["rejected"]
    service = await under(h, MAPPED)
    assert await logged(h, "ReflowRequested") == []
    assert [o.status for o in await h.run(service) if o.status != "ignored"] == []


async def test_a_record_changed_in_the_source_since_is_left_to_its_new_version() -> None:
    h = Harness(mapping=mapping(REVIEW))
    h.ledger.seed_item("Services")
    await h.ingest([customer("c1"), coded("i1", "SKU-1")])
    await h.run()
    newer = coded("i1", "SKU-1", version="2026-02-01T00:00:00")
    await h.ingest([changed(newer, newer.version, number="INV-i1-b")])
    service = await under(h, MAPPED)
    assert await logged(h, "ReflowRequested") == []  # the new version is tried by itself
    statuses = [o.status for o in await h.run(service) if o.status != "ignored"]
    assert statuses == ["pushed"] and h.ledger.count("invoice") == 1


def test_an_empty_dry_run_changes_nothing() -> None:
    assert DryRun().changed == 0
