"""A customer's name and tax id are personal data (issue 18, "Erasure that really
erases"): sealed with the other personal fields, compared by a keyed digest, never echoed;
events written while they were kept in clear still read as before."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from syncledger.core.backsync import BackSync
from syncledger.core.events import Envelope, SourceRecordObserved, make_envelope
from syncledger.core.keystore import MemoryKeyStore, subject_key_id
from syncledger.core.model import Customer, RecordRef
from syncledger.core.pii_names import digester, name_digest, names_key_id
from syncledger.core.ports import SourceItem
from syncledger.core.reconcile import Reconciler
from syncledger.core.reconcile_mirror import LedgerMirror, open_mirror_engine
from syncledger.core.reconcile_model import Expected
from syncledger.core.report_mismatches import FIXES
from syncledger.core.subjects import source_subject
from syncledger.core.sync_state import SyncState
from tests.support.records import customer, invoice
from tests.unit.test_sync import ENTITY, Harness

NAME = "Zqxann Lee"
TAX_ID = "9ZQX-PERSONAL-1"


def _marked(cid: str = "c1", name: str = NAME) -> SourceItem:
    fields = {"name": name, "currency": "USD", "tax_id": TAX_ID}
    return SourceItem("csv", "customer", cid, "2026-01-01T00:00:00", fields)


async def _log_bytes(h: Harness) -> bytes:
    return b"\n".join([s.raw async for s in h.store.read()])


async def _observed(h: Harness, ref: str) -> tuple[Envelope, SourceRecordObserved]:
    async for stored in h.store.read(f"sl.{ENTITY}.source.>"):
        envelope = Envelope.from_bytes(stored.raw)
        payload = envelope.payload()
        if isinstance(payload, SourceRecordObserved) and payload.ref == ref:
            return envelope, payload
    raise AssertionError(f"{ref} was not observed")


def test_name_and_tax_id_are_personal_fields_of_a_customer() -> None:
    assert {"name", "tax_id"} <= Customer.PII_FIELDS


def test_a_name_digest_is_keyed_and_ignores_case_and_spacing() -> None:
    keys = MemoryKeyStore()
    digest = digester(keys, ENTITY)
    assert digest("Ann  LEE") == digest(" ann lee") is not None
    assert digest("Ann Lee") != digest("Ann Leigh")
    assert digest("Ann Lee") != digester(MemoryKeyStore(), ENTITY)("Ann Lee")  # another key
    assert digest("Ann Lee") != digester(keys, "other-entity")("Ann Lee")
    assert digest("  ") is None and digest(None) is None
    assert "ann" not in (digest("Ann Lee") or "").lower()
    assert names_key_id(ENTITY) != subject_key_id(ENTITY, "csv/customer/c1")


async def test_the_log_keeps_a_customers_name_and_tax_id_sealed_and_the_sync_pushes_them() -> None:
    h = Harness()
    await h.ingest([_marked(), invoice("i1", "c1")])
    await h.run()
    envelope, event = await _observed(h, "csv/customer/c1")
    assert "name" not in event.record and "tax_id" not in event.record
    assert event.name_digest == digester(h.keys, ENTITY)(NAME)
    raw = (await _log_bytes(h)).lower()
    assert NAME.lower().encode() not in raw and TAX_ID.lower().encode() not in raw
    assert envelope.pii is not None
    held = await h.ledger.find("customer", "csv/customer/c1")
    assert held is not None and held.name == NAME  # unsealed for the push


async def test_duplicate_names_are_found_by_digest_and_the_refusal_names_no_name() -> None:
    h = Harness()
    await h.ingest([_marked("c1"), _marked("c2", name="  zqxANN   lee ")])
    outcomes = await h.run()
    assert [o.status for o in outcomes] == ["pushed", "rejected"]
    assert h.ledger.count("customer") == 1
    raw = (await _log_bytes(h)).decode()
    assert "duplicate_name" in raw and "csv/customer/c1" in raw
    assert "zqxann" not in raw.lower()


def _v1_observed(cid: str, name: str) -> Envelope:
    """A customer as the log held it before names were sealed: the name in ``record``,
    no ``name_digest`` key at all (schema version 1, as stored then)."""
    ref = f"csv/customer/{cid}"
    payload = SourceRecordObserved(
        ref=ref, kind="customer", version="1", content_sha256=f"sha-{cid}",
        record={"id": cid, "name": name, "currency": "USD"}, customer_ref=ref,
    )  # fmt: skip
    subject = source_subject(ENTITY, RecordRef(system="csv", kind="customer", id=cid))
    made = make_envelope(payload, entity=ENTITY, subject=subject, actor="old")
    doc = json.loads(made.to_bytes())
    del doc["data"]["name_digest"]
    return Envelope.model_validate(doc)


async def _append_old(h: Harness, *envelopes: Envelope) -> None:
    for envelope in envelopes:
        assert "name_digest" not in envelope.data
        await h.store.append([envelope])


async def test_events_written_before_names_were_sealed_still_read_and_push() -> None:
    h = Harness()
    await _append_old(h, _v1_observed("o1", "Old Name Ltd"), _v1_observed("o2", "OLD name ltd"))
    outcomes = await h.run()
    assert [o.status for o in outcomes] == ["pushed", "rejected"]  # twins found in clear
    held = await h.ledger.find("customer", "csv/customer/o1")
    assert held is not None and held.name == "Old Name Ltd"
    state = SyncState(ENTITY, h.ledger.ledger)
    await state.load(h.store)
    assert state.records["csv/customer/o1"].ledger_ref == held.ledger_id


async def test_after_shredding_a_customer_with_only_a_name_is_not_pushed() -> None:
    h = Harness()
    await h.ingest([customer("c1", name=NAME)])
    envelope, _ = await _observed(h, "csv/customer/c1")
    assert envelope.pii is not None
    h.keys.shred(envelope.pii.key_id)
    outcomes = await h.run()
    assert [o.status for o in outcomes] == ["rejected"]
    assert "subject_erased" in (await _log_bytes(h)).decode()
    assert h.ledger.count("customer") == 0


async def test_backsync_keeps_no_ledger_name_of_a_customer() -> None:
    h = Harness()
    await h.ingest([customer("c1", name=NAME), invoice("i1", "c1")])
    await h.run()
    held = await h.ledger.find("customer", "csv/customer/c1")
    assert held is not None
    renamed = replace(held, name="Zqxledger Renamed", version="9", updated_at=datetime.now(UTC))
    h.ledger.records[held.ledger_id] = renamed
    state = SyncState(ENTITY, h.ledger.ledger)
    await state.load(h.store)
    sync_back = BackSync(h.store, h.ledger, state, entity=ENTITY, actor="test")
    report = await sync_back.poll(datetime.now(UTC) - timedelta(days=1))
    assert report.observed == 1
    raw = (await _log_bytes(h)).decode()
    assert "LedgerRecordObserved" in raw and "zqxledger" not in raw.lower()


async def test_the_reconciler_compares_names_by_digest_and_its_mirror_keeps_none(
    tmp_path: Path,
) -> None:
    h = Harness()
    await h.ingest([customer("c1", name=NAME)])
    await h.run()
    held = await h.ledger.find("customer", "csv/customer/c1")
    assert held is not None
    names = digester(h.keys, ENTITY)
    exp = Expected("csv/customer/c1", "customer", held.ledger_id, None, None, name=names(NAME))
    engine = open_mirror_engine(tmp_path / "mirror.db")
    try:
        recon = Reconciler(h.store, h.ledger, entity=ENTITY, actor="t",
                           mirror=LedgerMirror(engine), names=names)  # fmt: skip
        assert (await recon.run([exp], {}, full=True)).open == []
        h.ledger.records[held.ledger_id] = replace(held, name="Zqxledger Renamed")
        [found] = (await recon.run([exp], {}, full=True)).open
    finally:
        engine.dispose()
    assert (found.mismatch_type, found.expected, found.actual) == (
        "customer_name_mismatch", None, None,
    )  # fmt: skip
    stored = _files_bytes(tmp_path)
    assert b"zqxledger" not in stored and NAME.lower().encode() not in stored
    assert "zqxledger" not in (await _log_bytes(h)).decode().lower()
    fix = FIXES["customer_name_mismatch"](found, None)  # type: ignore[arg-type]
    assert "csv/customer/c1" in fix and "zqx" not in fix.lower()


def _files_bytes(folder: Path) -> bytes:
    """Every file the mirror wrote (its database and any journal), lower-cased."""
    return b"".join(p.read_bytes() for p in folder.iterdir()).lower()


def test_name_digest_needs_the_key() -> None:
    key = MemoryKeyStore().data_key(names_key_id(ENTITY), create=True)
    assert name_digest(key, "Ann Lee") == name_digest(key, "ANN LEE")
    assert name_digest(bytes(32), "Ann Lee") != name_digest(key, "Ann Lee")
