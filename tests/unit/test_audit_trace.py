"""Trace: one record from source to ledger to reconciliation, each event proven."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncledger.audit.context import AuditContext
from syncledger.audit.errors import AuditError
from syncledger.audit.merkle import leaf_hash, verify_inclusion
from syncledger.audit.sample import memory_context, write_sample_log
from syncledger.audit.signing import SigningKeyring
from syncledger.audit.trace import trace_record

START = datetime(2022, 1, 10, tzinfo=UTC)


@pytest.fixture
def ctx(tmp_path: Path) -> AuditContext:
    context = memory_context(tmp_path / "data")
    asyncio.run(write_sample_log(context.store, context.keystore, start=START))
    return context


def test_trace_of_an_invoice_tells_the_whole_story(ctx: AuditContext) -> None:
    proven = asyncio.run(trace_record(ctx, "hubspot/invoice/i0"))
    t = proven.trace
    assert (t.kind, t.customer, t.entity) == ("invoice", "hubspot/customer/c0", "acme")
    assert t.source_versions == ["1"]
    assert t.validation == "valid"
    assert t.mapping_versions == ["qbo-invoice@3"]
    assert len(t.push_attempts) == 3 and "attempt 1 on qbo failed: 503" in t.push_attempts[1]
    assert t.ledger_refs == ["qbo/invoice/1000"]
    assert t.reconciliation.startswith("reconciled: run run-1")
    types = [s.type for s in t.steps]
    assert types == [
        "MappingVersionPublished",
        "SourceRecordObserved",
        "LedgerPushRequested",
        "LedgerPushFailed",
        "LedgerPushSucceeded",
        "ReconciliationCompleted",
    ]
    assert t.steps[1].personal.fields == {"billing_email": "ap@example.com"}


def test_every_step_carries_a_proof_against_a_signed_checkpoint(ctx: AuditContext) -> None:
    proven = asyncio.run(trace_record(ctx, "hubspot/invoice/i1"))
    cp = proven.checkpoint
    assert cp.verify(SigningKeyring.open(ctx.audit_dir / "signing").public_keys())
    raws = {s.seq: s.raw for s in asyncio.run(_stored(ctx))}
    for step in proven.trace.steps:
        assert verify_inclusion(
            step.seq - 1, cp.tree_size, leaf_hash(raws[step.seq]), step.proof, cp.root_hash
        )
    assert proven.trace.reconciliation.startswith("open mismatch: amount_mismatch")


def test_a_ledger_ref_finds_its_source_record(ctx: AuditContext) -> None:
    proven = asyncio.run(trace_record(ctx, "qbo/invoice/1003"))
    assert proven.trace.ref == "hubspot/invoice/i3"


def test_an_unknown_ref_is_a_clear_error(ctx: AuditContext) -> None:
    with pytest.raises(AuditError, match="no record 'hubspot/invoice/zz'"):
        asyncio.run(trace_record(ctx, "hubspot/invoice/zz"))


def test_a_second_trace_reuses_the_covering_checkpoint(ctx: AuditContext) -> None:
    first = asyncio.run(trace_record(ctx, "hubspot/invoice/i0")).checkpoint
    second = asyncio.run(trace_record(ctx, "hubspot/invoice/i2")).checkpoint
    assert first == second


async def _stored(ctx: AuditContext) -> list:  # type: ignore[type-arg]
    return [s async for s in ctx.store.read()]


def test_items_made_and_retries_for_a_record_are_in_its_trace(ctx: AuditContext) -> None:
    from syncledger.core.events import (
        LedgerItemCreated,
        LedgerItemRequested,
        RetryRequested,
        make_envelope,
    )
    from syncledger.core.model import RecordRef
    from syncledger.core.subjects import ledger_subject, source_subject

    ref = RecordRef.parse("hubspot/invoice/i0")
    ledger = ledger_subject("acme", "qbo", ref)
    events = [
        make_envelope(
            RetryRequested(ref=str(ref), ledger="qbo", reason="ops asked"),
            entity="acme",
            subject=source_subject("acme", ref),
            actor="ops",
        ),
        make_envelope(
            LedgerItemRequested(
                source_ref=str(ref), ledger="qbo", code="SKU-9", mapping_version="qbo@1"
            ),
            entity="acme",
            subject=ledger,
            actor="sync",
        ),
        make_envelope(
            LedgerItemCreated(
                source_ref=str(ref), ledger="qbo", code="SKU-9", ledger_item_ref="42"
            ),
            entity="acme",
            subject=ledger,
            actor="sync",
        ),
    ]
    asyncio.run(ctx.store.append(events))
    steps = asyncio.run(trace_record(ctx, str(ref))).trace.steps
    told = {s.type: s.summary for s in steps}
    assert told["RetryRequested"] == "retry requested on qbo: ops asked"
    assert told["LedgerItemRequested"].startswith("item 'SKU-9' is not in qbo: creating it")
    assert told["LedgerItemCreated"] == "item 'SKU-9' created in qbo as 42"
