"""Customer details the ledger owns, back to the source: authority rules and the
log-driven write-back on fakes (MemoryEventStore, MemoryLedger, a recording source)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from syncledger.adapters.qbo.customer_details import address_parts, customer_details
from syncledger.adapters.qbo.ledger import QboLedger
from syncledger.adapters.qbo.mapping import load_mapping, to_record
from syncledger.core.backsync import BackSync, BackSyncReport
from syncledger.core.customer_details import (
    AddressParts,
    LedgerCustomerDetails,
    changes,
    ledger_owned,
    same,
)
from syncledger.core.customer_reverse import CustomerReverse
from syncledger.core.errors import SourceError, SubjectErased
from syncledger.core.events import Envelope
from syncledger.core.keystore import PiiSealer, load_or_create_kek, subject_key_id
from syncledger.core.model import RecordRef
from syncledger.core.settings import Settings
from syncledger.core.source_ports import (
    CustomerDetailsRefusal,
    CustomerDetailsUpdate,
    CustomerDetailsWriter,
)
from syncledger.core.sync import SyncService
from syncledger.core.sync_state import SyncState
from syncledger.core.trace import trace
from tests.support.records import customer
from tests.unit.test_cli_surroundings import cli, one_line
from tests.unit.test_sync import ENTITY, Harness

OWNED = {"email": "ledger", "phone": "ledger"}
REF = "csv/customer/c1"


# ---------------------------------------------------------------- authority rules


def test_nothing_flows_back_by_default() -> None:
    assert ledger_owned({}) == ()
    assert ledger_owned({"email": "source"}) == ()
    assert ledger_owned({"phone": "ledger", "email": "ledger"}) == ("email", "phone")


def test_a_change_is_a_different_owned_detail_not_a_cleared_or_restyled_one() -> None:
    owned = ("email", "phone")
    ledger = {"email": "Ada@Example.com ", "phone": "", "billing_address": "1 New St"}
    assert changes(owned, ledger, {"email": "ada@example.com", "phone": "+1 555"}) == {}
    assert changes(owned, {"phone": "+1 (555) 0100"}, {"phone": "+15550100"}) == {}
    assert changes(owned, {"email": "new@example.com"}, {"email": "ada@example.com"}) == {
        "email": "new@example.com"
    }
    assert changes(("email",), {"phone": "+1 999"}, {"phone": "+1 555"}) == {}
    assert same("billing_address", "1  Main St\nTown", "1 main st town")


def test_the_setting_takes_known_fields_and_refuses_others_in_one_line() -> None:
    s = Settings(customer_field_authority={"email": "ledger"})
    assert s.customer_field_authority == {"email": "ledger"}
    assert Settings().customer_field_authority == {}
    with pytest.raises(ValidationError) as bad:
        Settings(customer_field_authority={"fax": "ledger"})
    assert "unknown customer field 'fax': give email, phone, billing_address" in str(bad.value)
    with pytest.raises(ValidationError):
        Settings(customer_field_authority={"email": "crm"})


# ---------------------------------------------------------------- the flow on fakes


@dataclass
class Crm:
    """A source that takes customer details; ``fail_after_write`` crashes once after
    taking them (the worker dies between the write and its mark)."""

    records: dict[str, dict[str, str]] = field(default_factory=dict)
    writes: int = 0
    fail_after_write: bool = False
    refuse: Mapping[str, str] = field(default_factory=dict)  # field -> reason

    async def write_customer_details(
        self, updates: Sequence[CustomerDetailsUpdate]
    ) -> list[CustomerDetailsRefusal]:
        refused = []
        for u in updates:
            self.writes += 1
            for name, value in u.values.items():
                if name in self.refuse:
                    refused.append(
                        CustomerDetailsRefusal(u.source_ref, name, self.refuse[name], "no")
                    )
                else:
                    self.records.setdefault(u.source_ref, {})[name] = value
        if self.fail_after_write:
            self.fail_after_write = False
            raise SourceError("worker killed after the write")
        return refused


async def pushed() -> Harness:
    h = Harness()
    await h.ingest([customer("c1", email="ada@example.com")])
    await h.run()
    return h


async def backsync(
    h: Harness, crm: CustomerDetailsWriter | None, authority: Mapping[str, str]
) -> BackSyncReport:
    """One back-sync poll with the reverse direction (``authority``) writing to ``crm``."""
    state = SyncState(ENTITY, h.ledger.ledger)
    await state.load(h.store)
    reverse = CustomerReverse(
        h.store,
        h.keys,
        h.ledger,
        state,
        entity=ENTITY,
        actor="test",
        authority=authority,
        writer=crm,
    )
    syncer = BackSync(h.store, h.ledger, state, entity=ENTITY, actor="test", reverse=reverse)
    return await syncer.poll(datetime.now(UTC) - timedelta(days=1))


async def edit_email(h: Harness, email: str) -> None:
    rec = await h.ledger.find("customer", REF)
    assert rec is not None
    h.ledger.edit_customer(rec.ledger_id, email=email)


async def log_types(h: Harness) -> list[str]:
    return [json.loads(s.raw)["type"] async for s in h.store.read(f"sl.{ENTITY}.ledger.>")]


async def test_one_way_by_default_writes_nothing_back() -> None:
    h = await pushed()
    await edit_email(h, "books@example.com")
    crm = Crm()
    report = await backsync(h, crm, {})
    assert report.observed == 1 and report.details_observed == 0
    assert crm.records == {} and "CustomerDetailsObserved" not in await log_types(h)


async def test_turned_on_later_the_ledger_value_flows_back_once_without_a_reimport() -> None:
    h = await pushed()
    await edit_email(h, "books@example.com")
    await backsync(h, Crm(), {})  # one-way: the edit is only observed
    crm = Crm()
    report = await backsync(h, crm, OWNED)
    assert crm.records == {REF: {"email": "books@example.com"}}
    assert (report.details_observed, report.details_written) == (1, 1)
    again = await backsync(h, crm, OWNED)
    assert crm.writes == 1 and again.details_observed == 0
    types = await log_types(h)
    assert types.count("CustomerDetailsObserved") == 1
    assert types.count("CustomerDetailsWritten") == 1
    assert types.count("CustomerFieldAuthorityApplied") == 1


async def test_the_details_are_sealed_in_the_log() -> None:
    h = await pushed()
    await edit_email(h, "books@example.com")
    await backsync(h, Crm(), OWNED)
    raw = b"".join([s.raw async for s in h.store.read(f"sl.{ENTITY}.>")])
    assert b"books@example.com" not in raw


async def test_a_crash_between_write_and_mark_writes_again_and_never_loses_it() -> None:
    h = await pushed()
    await backsync(h, Crm(), OWNED)  # the catch-up: nothing differs yet
    await edit_email(h, "books@example.com")
    crm = Crm(fail_after_write=True)
    with pytest.raises(SourceError):
        await backsync(h, crm, OWNED)
    assert "CustomerDetailsWritten" not in await log_types(h)
    report = await backsync(h, crm, OWNED)
    assert crm.writes == 2 and report.details_written == 1
    assert crm.records == {REF: {"email": "books@example.com"}}
    assert (await log_types(h)).count("CustomerDetailsObserved") == 1
    assert (await backsync(h, crm, OWNED)).details_written == 0


async def test_the_source_reading_our_write_back_is_not_echoed_as_a_conflict() -> None:
    h = await pushed()
    await edit_email(h, "books@example.com")
    await backsync(h, Crm(), OWNED)
    # the source's next read has the ledger's e-mail (version newer than the first)
    await h.ingest([customer("c1", email="books@example.com", version="2026-02-01T00:00:00")])
    outcomes = await h.run()
    assert [o.status for o in outcomes if o.status != "ignored"] == ["pushed"]
    assert "ConflictDetected" not in await h.types()
    rec = await h.ledger.find("customer", REF)
    assert rec is not None and rec.raw["email"] == "books@example.com"


async def test_a_name_edited_too_is_still_met_as_a_conflict() -> None:
    h = await pushed()
    rec = await h.ledger.find("customer", REF)
    assert rec is not None
    h.ledger.edit_customer(rec.ledger_id, email="books@example.com")
    h.ledger.records[rec.ledger_id] = h.ledger.records[rec.ledger_id].__class__(
        **{**_fields(h.ledger.records[rec.ledger_id]), "name": "Renamed in the books"}
    )
    await backsync(h, Crm(), OWNED)
    await h.ingest([customer("c1", email="books@example.com", version="2026-02-01T00:00:00")])
    await h.run()
    assert "ConflictDetected" in await h.types()


def _fields(rec: object) -> dict[str, object]:
    return {name: getattr(rec, name) for name in rec.__slots__}  # type: ignore[attr-defined]


async def test_a_field_the_source_refuses_is_marked_with_its_reason_and_not_retried() -> None:
    h = await pushed()
    await edit_email(h, "books@example.com")
    crm = Crm(refuse={"email": "not_mapped"})
    report = await backsync(h, crm, OWNED)
    assert report.details_refused == 1 and report.details_written == 0
    assert any("email refused (not_mapped)" in line for line in report.lines)
    await backsync(h, crm, OWNED)
    assert crm.writes == 1


async def test_an_erased_customer_is_never_written_back_nor_readable() -> None:
    h = await pushed()
    await edit_email(h, "books@example.com")
    await backsync(h, None, OWNED)  # logged, waiting for a run with a source
    h.keys.shred(subject_key_id(ENTITY, REF))
    crm = Crm()
    report = await backsync(h, crm, OWNED)
    assert crm.records == {} and report.details_written == 0
    assert any("erased" in line for line in report.lines)
    sealer = PiiSealer(h.keys)
    async for stored in h.store.read(f"sl.{ENTITY}.ledger.>"):
        env = Envelope.from_bytes(stored.raw)
        if env.type == "CustomerDetailsObserved":
            assert env.pii is not None
            with pytest.raises(SubjectErased):
                sealer.open(env.pii, env.id)


def test_qbo_customer_details_are_read_where_its_mapping_writes_them() -> None:

    raw = {
        "Id": "58",
        "SyncToken": "3",
        "DisplayName": "Ada Lovelace",
        "PrimaryEmailAddr": {"Address": "books@example.com"},
        "PrimaryPhone": {"FreeFormNumber": "+44 20 7946 0000"},
        "BillAddr": {"Line1": "12 St James's Square", "City": "London"},
        "Notes": "",
    }
    rec = to_record("customer", raw, "Notes")
    assert issubclass(QboLedger, LedgerCustomerDetails)
    assert customer_details(load_mapping(), rec) == {  # the address: its parts joined
        "email": "books@example.com",
        "phone": "+44 20 7946 0000",
        "billing_address": "12 St James's Square\nLondon",
    }
    assert address_parts(load_mapping(), rec) == AddressParts(("12 St James's Square",), "London")
    bare = to_record("customer", {"Id": "59", "DisplayName": "No details"}, "Notes")
    assert set(customer_details(load_mapping(), bare).values()) == {None}


@pytest.mark.parametrize(
    ("value", "said"),
    [
        (
            '{"fax": "ledger"}',
            "error: SYNCLEDGER_CUSTOMER_FIELD_AUTHORITY: unknown customer field 'fax': give "
            "email, phone, billing_address",
        ),
        (
            "email=ledger",
            "error: SYNCLEDGER_CUSTOMER_FIELD_AUTHORITY is not valid JSON: give "
            '{"email": "ledger", "phone": "ledger"}',
        ),
    ],
)
def test_a_bad_customer_field_authority_is_one_line(tmp_path: Path, value: str, said: str) -> None:
    state = tmp_path / "state"
    load_or_create_kek(state / "kek.key", keystore=state / "keys.db")
    result = cli(
        ["status", "--data-dir", str(state)],
        state.parent,
        {"SYNCLEDGER_CUSTOMER_FIELD_AUTHORITY": value},
    )
    assert one_line(result, 2) == said


# ---------------------------------------------------------------- authority forward


class OwningHarness(Harness):
    """The sync service with ``customer_field_authority`` set, as the composition root
    builds it (core/pipeline.py ``sync_service``)."""

    def __init__(self, customer_fields: Mapping[str, str], ledger: Any = None) -> None:
        super().__init__(ledger=ledger)
        self.customer_fields = dict(customer_fields)

    async def service(self) -> SyncService:
        state = SyncState(ENTITY, self.ledger.ledger)
        await state.load(self.store)
        return SyncService(
            self.store, self.ledger, self.keys, state,
            entity=ENTITY, actor="test", mapping_version="memory@1",
            max_attempts=self.max_attempts, base_delay=0.0,
            customer_fields=self.customer_fields,
        )  # fmt: skip


async def crm_edit(h: Harness, email: str, name: str = "Ada Ltd") -> None:
    """A later CRM edit of the customer's name and e-mail, pushed as an update."""
    await h.ingest([customer("c1", name, email=email, version="2026-03-01T00:00:00")])
    outcomes = await h.run()
    assert [o.status for o in outcomes if o.status != "ignored"] == ["pushed"]


async def test_a_crm_edit_of_an_owned_detail_does_not_overwrite_the_ledgers_value() -> None:
    h = OwningHarness(OWNED)
    await h.ingest([customer("c1", email="ada@example.com")])
    await h.run()
    created = await h.ledger.find("customer", REF)
    assert created is not None and created.raw["email"] == "ada@example.com"  # a create sends it
    await edit_email(h, "books@example.com")
    crm = Crm()
    await backsync(h, crm, OWNED)  # the bookkeeper's value reaches the CRM
    assert crm.records == {REF: {"email": "books@example.com"}}

    await crm_edit(h, "someone.else@example.com")
    now = await h.ledger.find("customer", REF)
    assert now is not None and now.name == "Ada Ltd"  # what the source owns still goes
    assert now.raw["email"] == "books@example.com"  # what the ledger owns stays
    assert "ConflictDetected" not in await h.types()

    said = [line.summary for line in await trace(h.store, ENTITY, RecordRef.parse(REF))]
    assert any("email, phone not sent: the ledger owns them" in s for s in said)


async def test_one_way_a_crm_edit_of_the_email_still_reaches_the_ledger() -> None:
    h = OwningHarness({})
    await h.ingest([customer("c1", email="ada@example.com")])
    await h.run()
    await crm_edit(h, "someone.else@example.com")
    now = await h.ledger.find("customer", REF)
    assert now is not None and now.raw["email"] == "someone.else@example.com"
    said = [line.summary for line in await trace(h.store, ENTITY, RecordRef.parse(REF))]
    assert not any("not sent" in s for s in said)
