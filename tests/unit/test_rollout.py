"""Incremental rollout (issue 16): the scope rule, its configuration errors, the worker
holding what is out of scope and releasing it once a wider scope admits it, the scope
changes in the log, and how held records read in the read models, `status` and `trace`.
On fakes: MemoryEventStore + MemoryLedger + MemoryKeyStore, SQLite read models."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from syncledger.audit.context import AuditContext
from syncledger.core.alerts import AlertBook
from syncledger.core.console import console_routes
from syncledger.core.console_auth import ConsoleAuth
from syncledger.core.console_wiring import RuntimeConsole
from syncledger.core.errors import ConfigurationError
from syncledger.core.events import RolloutScopeChanged
from syncledger.core.mapping import Mapping
from syncledger.core.model import RecordRef
from syncledger.core.pipeline import status_said
from syncledger.core.ports import SourceItem
from syncledger.core.review import ReviewDesk
from syncledger.core.rollout import EVERYTHING, RolloutRule, field_values
from syncledger.core.rollout_scope import held_line, publish_scope, scope_in_force
from syncledger.core.serve import serve_app
from syncledger.core.settings_check import check_configuration
from syncledger.core.sync import SyncService
from syncledger.core.sync_state import SyncState
from syncledger.core.trace import trace
from syncledger.projections import ProjectionRunner, ReadModels, make_engine
from syncledger.projections.schema import create_all
from tests.support.records import customer, invoice, payment
from tests.unit.test_sync import ENTITY, Harness

# --------------------------------------------------------------------------- the rule


def test_a_customer_is_listed_by_its_source_id_or_its_ref() -> None:
    rule = RolloutRule(customers=("C1", "csv/customer/C3"))
    assert rule.admits("csv/customer/C1", {})
    assert rule.admits("csv/customer/C3", {})
    assert not rule.admits("csv/customer/C2", {})
    assert not rule.admits("csv/customer/c1", {})  # ids are compared exactly


def test_tags_are_read_as_the_source_gives_them_without_case_or_spaces() -> None:
    rule = RolloutRule(tags=("Pilot",), tag_field="tags")
    assert rule.admits("csv/customer/A", {"tags": "vip; pilot"})
    assert rule.admits("csv/customer/A", {"tags": "vip,PILOT "})
    assert rule.admits("csv/customer/A", {"tags": ["pilot", "vip"]})
    assert not rule.admits("csv/customer/A", {"tags": "pilots"})
    assert not rule.admits("csv/customer/A", {"labels": "pilot"})  # another field
    assert not rule.admits("csv/customer/A", {})
    assert field_values(None) == set()


def test_a_region_is_the_whole_value_of_its_field() -> None:
    rule = RolloutRule(regions=("US-CA", "ca"), region_field="state")
    assert rule.admits("csv/customer/A", {"state": " us-ca"})
    assert rule.admits("csv/customer/A", {"state": "CA"})
    assert not rule.admits("csv/customer/A", {"state": "US-CA;NY"})
    assert not rule.admits("csv/customer/A", {"state": "NY"})


def test_a_customer_matching_any_criterion_is_in_scope() -> None:
    rule = RolloutRule(
        customers=("C1",), tags=("beta",), tag_field="tags", regions=("DE",), region_field="cc"
    )
    assert rule.admits("csv/customer/C1", {})
    assert rule.admits("csv/customer/X", {"tags": "beta"})
    assert rule.admits("csv/customer/Y", {"cc": "de"})
    assert not rule.admits("csv/customer/Z", {"tags": "alpha", "cc": "FR"})


def test_the_same_scope_written_differently_has_one_digest() -> None:
    one = RolloutRule(customers=("C2", "C1"), tags=("Beta", "pilot"), tag_field="tags")
    two = RolloutRule(customers=("C1", "C2", "C1"), tags=("pilot", "beta"), tag_field="tags")
    other = RolloutRule(customers=("C1",), tags=("pilot", "beta"), tag_field="tags")
    assert one.digest == two.digest != other.digest
    assert EVERYTHING not in (one.digest, other.digest)
    assert one.as_written() == {"customers": ["C2", "C1"], "tags": ["Beta", "pilot"],
                                "tag_field": "tags"}  # fmt: skip


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ('customer = ["C1"]', "unknown key 'customer' in [rollout] (did you mean customers?)"),
        ('tags = ["a"]', 'tags needs tag_field = "<source field>"'),
        ('region_field = "cc"', 'region_field needs regions = ["...", …]'),
        ('customers = "C1"', 'customers must be a list of non-empty texts, e.g. customers = ["A"'),
        ('customers = [""]', "customers must be a list of non-empty texts"),
        ('regions = ["DE"]\nregion_field = 3', 'region_field must be a source field name, e.g. '
                                                'region_field = "country"'),
        ("", "an empty rollout scope would push nothing"),
    ],
)  # fmt: skip
def test_a_bad_rollout_table_is_one_line_naming_the_key_and_what_to_write(
    in_tmp: Path, body: str, said: str
) -> None:
    (in_tmp / "syncledger.toml").write_text(f'ledger = "qbo"\n\n[rollout]\n{body}\n')
    with pytest.raises(ConfigurationError) as caught:
        check_configuration({})
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("syncledger.toml line 3: setting rollout: ")
    assert said in message


def test_a_rollout_table_is_read_from_the_settings_file(in_tmp: Path) -> None:
    (in_tmp / "syncledger.toml").write_text(
        '[rollout]\ncustomers = ["C1"]\ntags = ["pilot"]\ntag_field = "tags"\n'
    )
    settings = check_configuration({})
    assert settings.rollout == RolloutRule(customers=("C1",), tags=("pilot",), tag_field="tags")
    (in_tmp / "syncledger.toml").write_text('ledger = "qbo"\n')
    assert check_configuration({}).rollout is None


# --------------------------------------------------------------------------- the worker


class Rollout(Harness):
    """The sync harness, its service built under a rollout rule as `sync` builds it: the
    scope published, the state folded, the backlog the scope now admits released."""

    rule: RolloutRule | None = None

    async def service(self) -> SyncService:
        await publish_scope(self.store, ENTITY, self.ledger.ledger, self.rule, "test")
        state = SyncState(ENTITY, self.ledger.ledger)
        await state.load(self.store)
        service = SyncService(
            self.store,
            self.ledger,
            self.keys,
            state,
            entity=ENTITY,
            actor="test",
            mapping_version="memory@1",
            base_delay=0.0,
            mapping=self.mapping,
            rollout=self.rule,
        )
        await service.rollout.release_backlog("test")
        return service

    async def events(self, type_name: str) -> list[dict[str, object]]:
        found = [json.loads(s.raw) async for s in self.store.read()]
        return [e for e in found if e["type"] == type_name]

    def in_ledger(self, kind: str) -> set[str]:
        """The source refs the ledger holds records of (``kind``)."""
        held = self.ledger.records.values()
        return {r.external_ref for r in held if r.kind == kind and r.external_ref}


def at(cid: str, **fields: str) -> SourceItem:
    """A customer with these extra source fields."""
    item = customer(cid)
    return SourceItem(item.system, item.kind, item.id, item.version, {**item.fields, **fields})


THREE = [
    customer("c1"), customer("c2"), customer("c3"),
    invoice("i1", "c1"), invoice("i2", "c2"), invoice("i3", "c3"),
    payment("p1", "i1", "c1", "60.00"), payment("p2", "i2", "c2", "60.00"),
    payment("p3", "i3", "c3", "60.00"),
]  # fmt: skip


async def test_only_the_scope_is_pushed_and_the_rest_is_held_once() -> None:
    h = Rollout()
    h.rule = RolloutRule(customers=("c1",))
    await h.ingest(THREE)
    outcomes = await h.run()
    statuses = {o.source_ref: o.status for o in outcomes if o.status != "ignored"}
    assert {r for r, s in statuses.items() if s == "pushed"} == {
        "csv/customer/c1", "csv/invoice/i1", "csv/payment/p1",
    }  # fmt: skip
    assert sorted(r for r, s in statuses.items() if s == "held") == [
        "csv/customer/c2", "csv/customer/c3", "csv/invoice/i2", "csv/invoice/i3",
        "csv/payment/p2", "csv/payment/p3",
    ]  # fmt: skip
    assert h.in_ledger("customer") == {"csv/customer/c1"}
    held = await h.events("RecordHeldForRollout")
    assert len(held) == 6
    assert {e["data"]["rule_sha256"] for e in held} == {h.rule.digest}  # type: ignore[index]
    again = await h.run(await h.service())  # a fresh worker, the same scope
    assert [o for o in again if o.status not in ("ignored", "held", "skipped")] == []
    assert len(await h.events("RecordHeldForRollout")) == 6  # once per version
    assert await h.events("RecordReleasedForRollout") == []


async def test_widening_pushes_the_backlog_in_dependency_order_once() -> None:
    h = Rollout()
    h.rule = RolloutRule(customers=("c1",))
    await h.ingest(THREE)
    await h.run()
    before = {k: h.in_ledger(k) for k in ("customer", "invoice", "payment")}
    h.rule = RolloutRule(customers=("c1", "c3"))
    service = await h.service()
    released = [e["data"]["ref"] for e in await h.events("RecordReleasedForRollout")]  # type: ignore[index]
    assert released == ["csv/customer/c3", "csv/invoice/i3", "csv/payment/p3"]
    outcomes = await h.run(service)
    assert [o.source_ref for o in outcomes if o.status == "pushed"] == released
    h.rule = None  # the section removed: everything
    outcomes = await h.run(await h.service())
    assert [o.source_ref for o in outcomes if o.status == "pushed"] == [
        "csv/customer/c2", "csv/invoice/i2", "csv/payment/p2",
    ]  # fmt: skip
    await h.run(await h.service())  # nothing more to release
    assert len(await h.events("RecordReleasedForRollout")) == 6
    assert h.ledger.count("customer") == 3 and h.ledger.count("invoice") == 3
    assert h.ledger.count("payment") == 3
    for kind, refs in before.items():
        assert refs <= h.in_ledger(kind)
    pushed = [e["data"]["source_ref"] for e in await h.events("LedgerPushSucceeded")]  # type: ignore[index]
    assert len(pushed) == len(set(pushed)) == 9  # nothing pushed before was touched


async def test_narrowing_stops_new_pushes_and_keeps_what_is_in_the_ledger() -> None:
    h = Rollout()
    await h.ingest([customer("c1"), customer("c2"), invoice("i1", "c1"), invoice("i2", "c2")])
    await h.run()
    assert h.ledger.count("invoice") == 2
    h.rule = RolloutRule(customers=("c2",))
    await h.ingest([invoice("i1", "c1", qty="3", version="2026-02-01T00:00:00"),
                    invoice("i2", "c2", qty="3", version="2026-02-01T00:00:00")])  # fmt: skip
    outcomes = await h.run(await h.service())
    assert {o.source_ref: o.status for o in outcomes if o.status != "ignored"} == {
        "csv/invoice/i1": "held", "csv/invoice/i2": "pushed",
    }  # fmt: skip
    i1 = await h.ledger.find("invoice", "csv/invoice/i1")
    assert i1 is not None and str(i1.total) == "110.00"  # the version pushed before stays
    lines = await trace(h.store, ENTITY, RecordRef.parse("csv/invoice/i1"))
    said = held_line(lines)
    assert said is not None and said.startswith("waiting for rollout on memory")
    assert any("waiting for rollout on memory" in ln.summary for ln in lines)


async def test_personal_fields_decide_unsealed_and_invoices_follow_their_customer() -> None:
    h = Rollout()
    h.rule = RolloutRule(regions=("DE",), region_field="billing_address")  # sealed in the log
    await h.ingest([
        at("c1", billing_address="de"), at("c2", billing_address="FR"),
        invoice("i1", "c1"), invoice("i2", "c2"),
    ])  # fmt: skip
    stored = [json.loads(s.raw) async for s in h.store.read("sl.acme.source.csv.customer.>")]
    assert all("billing_address" not in e["data"]["record"] for e in stored)
    outcomes = await h.run()
    assert {o.source_ref: o.status for o in outcomes if o.status != "ignored"} == {
        "csv/customer/c1": "pushed", "csv/invoice/i1": "pushed",
        "csv/customer/c2": "held", "csv/invoice/i2": "held",
    }  # fmt: skip


async def test_a_field_a_transform_consumes_is_read_as_the_source_gave_it() -> None:
    mapping = Mapping.from_text(
        "memory",
        '[transforms.customer]\nbilling_address = { concat = ["street", "state"], '
        'separator = ", " }\n',
    )
    h = Rollout(mapping=mapping)
    h.rule = RolloutRule(regions=("CA",), region_field="state")
    await h.ingest([at("c1", street="1 Main St", state="CA"),
                    at("c2", street="2 Side St", state="NY")])  # fmt: skip
    outcomes = await h.run()
    assert {o.source_ref: o.status for o in outcomes if o.status != "ignored"} == {
        "csv/customer/c1": "pushed", "csv/customer/c2": "held",
    }  # fmt: skip
    assert h.in_ledger("customer") == {"csv/customer/c1"}


async def test_a_customer_entering_the_scope_by_a_source_change_brings_its_records() -> None:
    h = Rollout()
    h.rule = RolloutRule(regions=("DE",), region_field="billing_address")
    await h.ingest([at("c1", billing_address="FR"), invoice("i1", "c1")])
    await h.run()
    assert h.ledger.count("customer") == 0
    service = await h.service()  # a worker running since: no new start releases it
    moved = at("c1", billing_address="DE")
    await h.ingest([SourceItem("csv", "customer", "c1", "2026-03-01T00:00:00", moved.fields)])
    outcomes = await h.run(service)
    assert [(o.source_ref, o.status) for o in outcomes] == [("csv/customer/c1", "pushed")]
    released = [e["data"]["ref"] for e in await h.events("RecordReleasedForRollout")]  # type: ignore[index]
    assert released == ["csv/invoice/i1"]  # the customer's held records follow it
    outcomes = await h.run(service)
    assert [(o.source_ref, o.status) for o in outcomes] == [("csv/invoice/i1", "pushed")]
    await h.run(await h.service())
    assert len(await h.events("RecordReleasedForRollout")) == 1
    assert h.ledger.count("invoice") == 1


async def test_a_record_whose_customer_is_unknown_yet_is_judged_once_it_is_known() -> None:
    h = Rollout()
    h.rule = RolloutRule(regions=("DE",), region_field="billing_address")
    await h.ingest([invoice("i1", "c1")])
    outcomes = await h.run()
    assert [o.status for o in outcomes] == ["rejected"]  # customer_not_found, not held
    await h.ingest([at("c1", billing_address="DE")])
    outcomes = await h.run()
    outcomes += await h.run()  # the retry its customer's push asked for
    pushed = [o.source_ref for o in outcomes if o.status == "pushed"]
    assert pushed == ["csv/customer/c1", "csv/invoice/i1"]
    assert await h.events("RecordHeldForRollout") == []


async def test_a_record_refused_before_its_customer_came_is_held_with_it() -> None:
    h = Rollout()
    h.rule = RolloutRule(regions=("DE",), region_field="billing_address")
    await h.ingest([invoice("i1", "c1")])
    await h.run()  # customer_not_found: an error for now
    await h.ingest([at("c1", billing_address="FR")])
    outcomes = await h.run()
    seen = [(o.source_ref, o.status) for o in outcomes if o.status != "ignored"]
    assert seen == [("csv/customer/c1", "held")]
    held = [e["data"]["source_ref"] for e in await h.events("RecordHeldForRollout")]  # type: ignore[index]
    assert held == ["csv/customer/c1", "csv/invoice/i1"]
    engine = make_engine("sqlite://")
    create_all(engine)
    await ProjectionRunner(engine, h.store).catch_up()
    assert ReadModels(engine).open_errors(ENTITY) == []  # waiting, not refused
    h.rule = None
    outcomes = await h.run(await h.service())
    assert [(o.source_ref, o.status) for o in outcomes if o.status != "ignored"] == [
        ("csv/customer/c1", "pushed"), ("csv/invoice/i1", "pushed"),
    ]  # fmt: skip


# --------------------------------------------------------------------------- the log


async def test_the_scope_is_logged_once_per_change() -> None:
    h = Rollout()
    assert await publish_scope(h.store, ENTITY, "memory", None, "t") == EVERYTHING
    assert await h.events("RolloutScopeChanged") == []  # never scoped: nothing said
    one, two = RolloutRule(customers=("c1",)), RolloutRule(customers=("c1", "c2"))
    for rule in (one, one, two, two, one, None, None):
        await publish_scope(h.store, ENTITY, "memory", rule, "t")
    changes = [e["data"] for e in await h.events("RolloutScopeChanged")]
    assert [c["rule_sha256"] for c in changes] == [  # type: ignore[index]
        one.digest,
        two.digest,
        one.digest,
        EVERYTHING,
    ]
    assert changes[0]["rule"] == {"customers": ["c1"]}  # type: ignore[index]
    assert changes[-1]["rule"] is None  # type: ignore[index]
    now = await scope_in_force(h.store, ENTITY, "memory")
    assert isinstance(now, RolloutScopeChanged) and now.rule_sha256 == EVERYTHING
    assert await scope_in_force(h.store, ENTITY, "xero") is None  # per ledger


async def test_held_records_read_as_waiting_for_rollout_and_not_as_errors() -> None:
    h = Rollout()
    h.rule = RolloutRule(customers=("c1",))
    await h.ingest(THREE)
    await h.run()
    engine = make_engine("sqlite://")
    create_all(engine)
    await ProjectionRunner(engine, h.store).catch_up()
    models = ReadModels(engine)
    assert models.open_errors(ENTITY) == []
    said = status_said(models, ENTITY, await h.store.last_seq(), AlertBook(ENTITY))
    assert said.exit_code == 0
    assert said.data["records_waiting_for_rollout"] == 6
    assert said.data["records_needing_attention"] == 0
    rows = {(r["kind"], r["status"]): r["count"] for r in said.data["records"]}  # type: ignore[attr-defined]
    assert rows[("customer", "waiting_for_rollout")] == 2
    assert rows[("customer", "synced")] == 1
    assert "waiting for rollout" in said.text
    assert "6 records wait for rollout" in said.text
    h.rule = None
    await h.run(await h.service())
    await ProjectionRunner(engine, h.store).catch_up()
    said = status_said(models, ENTITY, await h.store.last_seq(), AlertBook(ENTITY))
    assert said.data["records_waiting_for_rollout"] == 0
    assert {r["status"] for r in said.data["records"]} == {"synced"}  # type: ignore[attr-defined]


async def test_the_console_status_page_shows_records_waiting_for_rollout(tmp_path: Path) -> None:
    h = Rollout()
    h.rule = RolloutRule(customers=("c1",))
    await h.ingest(THREE)
    await h.run()
    engine = make_engine(f"sqlite:///{tmp_path / 'projections.db'}")
    create_all(engine)
    desk = ReviewDesk(h.store, h.ledger, ENTITY, "syncledger")
    audit = AuditContext(h.store, h.keys, tmp_path, ENTITY, "syncledger")
    backend = RuntimeConsole(h.store, engine, desk, audit, tmp_path, h.ledger.ledger)
    app = serve_app({}, console=console_routes(backend, ConsoleAuth(None)))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
        page = (await client.get("/")).text
    row = '<td>{}</td><td>waiting for rollout</td><td class="num">2</td>'
    for kind in ("customer", "invoice", "payment"):
        assert row.format(kind) in page
    assert "0 open errors" in page
