"""``syncledger retry`` and ``syncledger repush``: a person asks the worker to try a
record again, and is told what will happen before anything is appended.

* a rejected record whose source version is still the rejected one, refused only by rules
  about the record itself, would be refused again: nothing is appended ("nothing changed
  since the rejection"); correcting it in the source and importing it again is the way;
* a rejection that depends on more than the record (a dependency, the mapping, the
  ledger's items or figures) and an abandoned push are queued (``RetryRequested``);
* a record waiting for review is decided with ``syncledger review``, not retried;
* a synced record deleted in the ledger is created again on purpose with ``repush``
  (``RepushRequested``), only once the ledger is seen not to hold it any more; the worker
  looks for it by our reference first and links it when it is there.
"""

from __future__ import annotations

from dataclasses import dataclass

from syncledger.core.decode import read_wanted
from syncledger.core.errors import ConfigurationError
from syncledger.core.events import (
    RepushRequested,
    RetryRequested,
    SourceRecordRejected,
    make_envelope,
)
from syncledger.core.ids import uuid7
from syncledger.core.model import RecordRef
from syncledger.core.ports import LedgerAdapter
from syncledger.core.store import EventStore
from syncledger.core.subjects import source_subject
from syncledger.core.sync_state import RecordState, SyncState
from syncledger.core.validation import (
    CUSTOMER_NOT_FOUND,
    DISPUTE_ALREADY_CREDITED,
    DISPUTE_ON_PAID_INVOICE,
    INVALID_SPLIT,
    LEDGER_ITEM_MISSING,
    MISSING_EXCHANGE_RATE,
    REASON_CODES,
    REFUND_EXCEEDS_CREDIT,
    TRANSFER_NOT_ALLOWED,
    UNMATCHED_ITEM,
)

#: rule codes whose verdict depends on more than the record: the mapping, the settings
#: (home currency, transfer rules), the ledger's figures or items, other records
_OUTSIDE = frozenset({
    CUSTOMER_NOT_FOUND, DISPUTE_ALREADY_CREDITED, DISPUTE_ON_PAID_INVOICE, INVALID_SPLIT,
    LEDGER_ITEM_MISSING, MISSING_EXCHANGE_RATE, REFUND_EXCEEDS_CREDIT, TRANSFER_NOT_ALLOWED,
    UNMATCHED_ITEM,
})  # fmt: skip
#: the codes a retry of the unchanged record cannot change
SOURCE_ONLY = REASON_CODES - _OUTSIDE


@dataclass(frozen=True, slots=True)
class Desk:
    """What the operator commands work with (opened by ``core/pipeline.py``)."""

    store: EventStore
    ledger: LedgerAdapter
    entity: str
    actor: str


@dataclass(frozen=True, slots=True)
class Answer:
    text: str
    queued: bool  #: something was appended for the worker


async def request_retry(desk: Desk, ref: RecordRef, reason: str) -> Answer:
    rec = await _record(desk, ref)
    name = desk.ledger.ledger
    if rec.review_key is not None and rec.ledger_ref is None:
        return Answer(
            f"{ref} waits for review on {name}, not for a retry: `syncledger review` lists "
            f"its candidates; decide with `syncledger review {ref} --link ID` or --create",
            False,
        )
    if rec.rejected_sha is not None and rec.rejected_sha == rec.observed_sha:
        codes = await _rejection_codes(desk, ref)
        if codes and set(codes) <= SOURCE_ONLY:
            return Answer(
                f"nothing changed since the rejection: {ref} is still version "
                f"{rec.observed_version}, refused for {', '.join(codes)}; a retry would "
                "refuse it again. Correct it in the source and import it again (the new "
                "version is tried by itself): `syncledger errors` says how",
                False,
            )
        what = f"its rejection ({', '.join(codes) or 'unknown'}) is tried again"
    elif rec.abandoned_key is not None:
        what = "the push given up on is tried again"
    elif rec.ledger_ref is not None and rec.pushed_sha == rec.observed_sha:
        return Answer(_already(rec, ref, name), False)
    else:
        what = "it is tried again"
    await _append(desk, ref, RetryRequested(ref=str(ref), ledger=name, reason=reason))
    return Answer(
        f"queued a retry of {ref} (version {rec.observed_version}) on {name}: {what}; the "
        "worker picks it up next (`syncledger trace` follows it)",
        True,
    )


async def request_repush(desk: Desk, ref: RecordRef, reason: str) -> Answer:
    rec = await _record(desk, ref)
    name = desk.ledger.ledger
    if rec.ledger_ref is None:
        raise ConfigurationError(
            f"{ref} never reached {name}: nothing to push again; `syncledger retry {ref}` "
            "tries a rejected or abandoned record"
        )
    if await desk.ledger.get(ref.kind, rec.ledger_ref) is not None:
        raise ConfigurationError(
            f"{ref} is still in {name} as {rec.ledger_ref}: a repush never makes a "
            "duplicate; nothing to do"
        )
    payload = RepushRequested(ref=str(ref), ledger=name, request_id=uuid7(), reason=reason)
    await _append(desk, ref, payload)
    return Answer(
        f"queued a repush of {ref}: {name} no longer has {rec.ledger_ref}. The worker looks "
        "for it by our reference first (found: linked, not duplicated), else creates it again",
        True,
    )


def _already(rec: RecordState, ref: RecordRef, name: str) -> str:
    return (
        f"{ref} is in {name} as {rec.ledger_ref} with its latest version: nothing to retry "
        f"(if it was deleted in {name}, `syncledger repush {ref}` creates it again)"
    )


async def _record(desk: Desk, ref: RecordRef) -> RecordState:
    state = SyncState(desk.entity, desk.ledger.ledger)
    await state.load(desk.store)
    rec = state.records.get(str(ref))
    if rec is None or not rec.observed_seq:
        raise ConfigurationError(
            f"{ref} has never been imported into entity {desk.entity!r}: check the "
            "reference (`syncledger errors` lists the records that need attention)"
        )
    return rec


async def _rejection_codes(desk: Desk, ref: RecordRef) -> tuple[str, ...]:
    """The codes of the record's latest rejection on this ledger."""
    codes: tuple[str, ...] = ()
    async for stored in desk.store.read(source_subject(desk.entity, ref)):
        event = read_wanted(stored.raw, (SourceRecordRejected,))
        if isinstance(event, SourceRecordRejected) and event.ledger in (
            None,
            desk.ledger.ledger,
        ):
            codes = tuple(r.code for r in event.reasons)
    return codes


async def _append(desk: Desk, ref: RecordRef, payload: RetryRequested | RepushRequested) -> None:
    subject = source_subject(desk.entity, ref)
    await desk.store.append(
        [make_envelope(payload, entity=desk.entity, subject=subject, actor=desk.actor)]
    )
