"""The rebuild's fold process takes a batch while it folds the one before, and never
folds a batch sent behind one that failed (that would move the checkpoint over a gap)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from syncledger.core.errors import ProjectionError
from syncledger.core.events import LedgerPushRequested, make_envelope, subject_for
from syncledger.core.store import StoredEvent
from syncledger.projections import make_engine
from syncledger.projections.fold_process import FoldProcess, settings_for
from syncledger.projections.schema import create_tables, tables_for

SUBJECT = subject_for("acme", "ledger", "csv", "invoice", "I1")


@pytest.fixture
async def process(tmp_path: Path) -> AsyncIterator[FoldProcess]:
    """A fold process over fresh read models in SQLite, closed after the test."""
    engine = make_engine(f"sqlite:///{tmp_path / 'rm.db'}")
    tables = tables_for(prefix="t_", suffix="_t")
    create_tables(engine, tables)
    settings = settings_for(engine, name="p", tables=tables, fresh=True, max_cached_rows=100)
    process = FoldProcess(settings)
    try:
        yield process
    finally:
        await process.close()
        engine.dispose()


def _pushed(seq: int, *, schema_version: int = 1) -> StoredEvent:
    payload = LedgerPushRequested(
        source_ref="csv/invoice/I1", ledger="qbo", operation="create",
        idempotency_key=f"k{seq}", mapping_version="qbo-v3", content_sha256="s",
    )  # fmt: skip
    envelope = json.loads(
        make_envelope(payload, entity="acme", subject=SUBJECT, actor="t").to_bytes()
    )
    envelope["schema_version"] = schema_version
    return StoredEvent(seq, SUBJECT, json.dumps(envelope).encode())


async def test_a_batch_sent_behind_a_failed_one_is_not_applied(process: FoldProcess) -> None:
    assert (await process.start()).last_seq == 0
    newer, fine = _pushed(1, schema_version=99), _pushed(2)  # 99: refused, never skipped
    first, second = await asyncio.gather(
        process.apply([newer]), process.apply([fine]), return_exceptions=True
    )
    assert isinstance(first, ProjectionError) and "newer than this code" in str(first)
    assert isinstance(second, ProjectionError) and "not applied" in str(second)
    assert (await process.start()).last_seq == 0  # nothing moved past event 1
    assert await process.apply([fine]) == []
    assert (await process.start()).last_seq == 2


async def test_batches_sent_together_are_applied_in_order(process: FoldProcess) -> None:
    await process.start()
    batches = [[_pushed(seq)] for seq in range(1, 9)]
    assert await asyncio.gather(*(process.apply(b) for b in batches)) == [[]] * 8
    assert (await process.start()).last_seq == 8
