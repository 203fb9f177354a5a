"""Payment status back to the source, driven by the log so no write-back is lost.

Back-sync appends ``LedgerRecordObserved`` for each ledger change of a document of ours.
Whatever invoice observation has no ``SourceStatusWritten`` after it is pending: it is
written to the source (``StatusWriter``, idempotent) and then marked. A crash between the
two writes it again on the next turn; one before the write leaves it pending. Only the
latest observation of an invoice is written (an older status would be overwritten anyway).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from syncledger.core.decode import read_wanted
from syncledger.core.events import LedgerRecordObserved, SourceStatusWritten, make_envelope
from syncledger.core.model import RecordRef
from syncledger.core.source_ports import StatusUpdate, StatusWriter
from syncledger.core.store import EventStore
from syncledger.core.subjects import entity_filter, ledger_subject

_WANTED = (LedgerRecordObserved, SourceStatusWritten)
#: updates handed to the source at once
BATCH = 100


@dataclass(frozen=True, slots=True)
class Pending:
    seq: int
    observed: LedgerRecordObserved


async def pending_writes(store: EventStore, entity: str, ledger: str) -> list[Pending]:
    """Invoice observations not written back yet (the latest per record)."""
    latest: dict[str, Pending] = {}
    written: dict[str, int] = {}
    async for stored in store.read(entity_filter(entity, "ledger", ledger)):
        event = read_wanted(stored.raw, (LedgerRecordObserved, SourceStatusWritten))
        if isinstance(event, LedgerRecordObserved) and _writable(event):
            assert event.source_ref is not None
            latest[event.source_ref] = Pending(stored.seq, event)
        elif isinstance(event, SourceStatusWritten):
            written[event.source_ref] = max(written.get(event.source_ref, 0), event.observed_seq)
    return [p for ref, p in latest.items() if p.seq > written.get(ref, 0)]


def _writable(event: LedgerRecordObserved) -> bool:
    return event.kind == "invoice" and event.status is not None and event.source_ref is not None


def _update(p: Pending) -> StatusUpdate:
    o = p.observed
    assert o.source_ref is not None and o.status is not None
    return StatusUpdate(
        source_ref=o.source_ref,
        ledger=o.ledger,
        status=o.status,
        currency=o.currency,
        total=o.total,
        balance=o.balance,
        ledger_number=o.number,
        ledger_id=o.ledger_ref,
        link=None,
        at=None,
    )


async def write_back_pending(
    store: EventStore, writer: StatusWriter, *, entity: str, ledger: str, actor: str
) -> list[StatusUpdate]:
    """Write every pending status to the source, then mark each; return what was written."""
    pending = await pending_writes(store, entity, ledger)
    done: list[StatusUpdate] = []
    for start in range(0, len(pending), BATCH):
        batch = pending[start : start + BATCH]
        updates = [_update(p) for p in batch]
        await writer.write_back(updates)
        await _mark(store, batch, entity=entity, actor=actor)
        done.extend(updates)
    return done


async def _mark(store: EventStore, batch: Sequence[Pending], *, entity: str, actor: str) -> None:
    envelopes = []
    for p in batch:
        o = p.observed
        assert o.source_ref is not None and o.status is not None
        payload = SourceStatusWritten(
            source_ref=o.source_ref,
            ledger=o.ledger,
            observed_seq=p.seq,
            status=o.status,
            balance=o.balance,
        )
        subject = ledger_subject(entity, o.ledger, RecordRef.parse(o.source_ref))
        envelopes.append(make_envelope(payload, entity=entity, subject=subject, actor=actor))
    await store.append(envelopes)
