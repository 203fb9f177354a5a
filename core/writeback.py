"""Payment status back to the source, driven by the log so no write-back is lost.

Back-sync appends ``LedgerRecordObserved`` for each ledger change of a document of ours.
Whatever invoice observation is not settled yet is pending: it is written to the source
(``StatusWriter``, idempotent), which says what became of each update
(``WriteBackOutcome``), and then settled by what the source said:

- **written**: marked ``SourceStatusWritten``;
- **refused** (the source will not take it and asking again would not change that: the
  record is gone from the source, the documents disagree): logged once as
  ``SourceStatusRefused`` with its reason code. That observation is settled; the status
  is written again only when a newer observation of the invoice arrives;
- **not attempted** (a timeout, a rate limit, an update the source gave no outcome):
  nothing is logged, so it is pending again on the next run.

So one record the source no longer has never holds back the others. A crash between the
write and the mark writes it again on the next turn; one before the write leaves it
pending. A writer that raises leaves its whole batch pending (the batches settled before
it stay settled). Only the latest observation of an invoice is written (an older status
would be overwritten anyway).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypedDict

from syncledger.core.decode import read_wanted
from syncledger.core.events import (
    EventData,
    LedgerRecordObserved,
    SourceStatusRefused,
    SourceStatusWritten,
    make_envelope,
)
from syncledger.core.model import RecordRef
from syncledger.core.source_ports import StatusUpdate, StatusWriter, WriteBackOutcome
from syncledger.core.store import EventStore
from syncledger.core.subjects import entity_filter, ledger_subject

_WANTED = (LedgerRecordObserved, SourceStatusWritten, SourceStatusRefused)
#: updates handed to the source at once
BATCH = 100


@dataclass(frozen=True, slots=True)
class Pending:
    seq: int
    observed: LedgerRecordObserved


@dataclass(frozen=True, slots=True)
class Refused:
    """An update the source refused, with its reason code and one-line message."""

    update: StatusUpdate
    code: str
    message: str


@dataclass
class WriteBackDone:
    """What one write-back run did: written, refused (logged), left pending."""

    written: list[StatusUpdate] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    waiting: list[StatusUpdate] = field(default_factory=list)


async def pending_writes(store: EventStore, entity: str, ledger: str) -> list[Pending]:
    """Invoice observations not settled yet (the latest per record): neither written back
    nor refused by the source."""
    latest: dict[str, Pending] = {}
    settled: dict[str, int] = {}
    async for stored in store.read(entity_filter(entity, "ledger", ledger)):
        event = read_wanted(stored.raw, _WANTED)
        if isinstance(event, LedgerRecordObserved) and _writable(event):
            assert event.source_ref is not None
            latest[event.source_ref] = Pending(stored.seq, event)
        elif isinstance(event, SourceStatusWritten | SourceStatusRefused):
            settled[event.source_ref] = max(settled.get(event.source_ref, 0), event.observed_seq)
    return [p for ref, p in latest.items() if p.seq > settled.get(ref, 0)]


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


async def write_back_run(
    store: EventStore, writer: StatusWriter, *, entity: str, ledger: str, actor: str
) -> WriteBackDone:
    """Write every pending status to the source and settle each by its outcome."""
    pending = await pending_writes(store, entity, ledger)
    done = WriteBackDone()
    for start in range(0, len(pending), BATCH):
        batch = pending[start : start + BATCH]
        outcomes = _by_ref(await writer.write_back([_update(p) for p in batch]))
        await _settle(store, batch, outcomes, entity=entity, actor=actor, done=done)
    return done


async def write_back_pending(
    store: EventStore, writer: StatusWriter, *, entity: str, ledger: str, actor: str
) -> list[StatusUpdate]:
    """:func:`write_back_run`; what was written."""
    done = await write_back_run(store, writer, entity=entity, ledger=ledger, actor=actor)
    return done.written


def _by_ref(outcomes: Iterable[WriteBackOutcome]) -> dict[str, WriteBackOutcome]:
    """The outcome of each reference (the first one the source gave)."""
    found: dict[str, WriteBackOutcome] = {}
    for outcome in outcomes:
        found.setdefault(outcome.source_ref, outcome)
    return found


async def _settle(
    store: EventStore,
    batch: Sequence[Pending],
    outcomes: dict[str, WriteBackOutcome],
    *,
    entity: str,
    actor: str,
    done: WriteBackDone,
) -> None:
    envelopes = []
    for p in batch:
        update = _update(p)
        outcome = outcomes.get(update.source_ref) or WriteBackOutcome.not_attempted(
            update.source_ref
        )
        payload = _settlement(p, outcome)
        _count(done, update, outcome)
        if payload is not None:
            subject = ledger_subject(entity, update.ledger, RecordRef.parse(update.source_ref))
            envelopes.append(make_envelope(payload, entity=entity, subject=subject, actor=actor))
    if envelopes:
        await store.append(envelopes)


class _Settles(TypedDict):
    """What a settlement (written or refused) says of the observation it settles."""

    source_ref: str
    ledger: str
    observed_seq: int
    status: str


def _settles(p: Pending) -> _Settles:
    o = p.observed
    assert o.source_ref is not None and o.status is not None
    return _Settles(source_ref=o.source_ref, ledger=o.ledger, observed_seq=p.seq, status=o.status)


def _settlement(p: Pending, outcome: WriteBackOutcome) -> EventData | None:
    if outcome.result == "written":
        return SourceStatusWritten(**_settles(p), balance=p.observed.balance)
    if outcome.result == "refused":
        return SourceStatusRefused(
            **_settles(p),
            code=_refusal_code(outcome),
            message=outcome.message or "the source refused the payment status",
        )
    return None


def _refusal_code(outcome: WriteBackOutcome) -> str:
    return outcome.code or "source_refused"


def _count(done: WriteBackDone, update: StatusUpdate, outcome: WriteBackOutcome) -> None:
    if outcome.result == "written":
        done.written.append(update)
    elif outcome.result == "refused":
        done.refused.append(Refused(update, _refusal_code(outcome), outcome.message))
    else:
        done.waiting.append(update)
