"""Records rejected under an earlier mapping version re-flow by themselves once a new
version is in force (issue #16, "Rolling out and changing safely").

When the worker starts consuming (``core/pipeline.py``), the mapping version it runs with
is the one in force (``core/bootstrap.publish_mapping`` published it, or ``syncledger
mapping publish`` did before). Each record that

* is rejected by this ledger's worker (not by the import) for its latest source version
  (the source has not changed since: a changed record is tried by itself anyway),
* was rejected under another version (or before rejections named their version), and
  has not been re-flowed under this one yet,
* and was rejected for at least one reason the mapping can change (:data:`MAPPING_CODES`),

gets one ``ReflowRequested`` on its source subject, which the worker handles like a
``RetryRequested``: the latest version is validated under the new mapping and pushed with
its usual idempotency key (never a duplicate), or rejected again with the new version
named in ``SourceRecordRejected.mapping_version`` (so it is not re-flowed again until the
next version).

Which reasons the mapping can change: the transforms rewrite any field before validation,
so every validation rule's verdict can change (a missing field filled by ``rename``, a
currency by ``constant``, …), and the item policy decides ``unmatched_item``,
``invalid_split`` and ``ledger_item_missing``. Not the mapping's to change (left to their
own ways, :data:`OTHER_CODES`): a customer the source does not hold
(``customer_not_found``), a dependency not in the ledger (``*_not_synced``: those records
are asked for again when it arrives, ``core/sync_outcomes._release``, so a customer fixed
by the new version carries its invoices along), the ledger's figures
(``refund_exceeds_credit``, the dispute rules), a duplicate customer name (compared on
the names the source gave), posted money changed (``*_changed``), erased personal data,
and what the source itself delivered malformed (``malformed_row``, ``merged_invoice``).

Appends are made with the subject's last sequence as the worker saw it: a record another
writer touched meanwhile (a new version, a person's retry) is left to that event. Records
go in dependency order (customers first), so a document's customer is in the ledger by
the time the document is tried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from syncledger.core.errors import ConcurrencyError
from syncledger.core.events import ReflowRequested, make_envelope
from syncledger.core.model import RecordRef
from syncledger.core.store import EventStore
from syncledger.core.subjects import source_subject
from syncledger.core.sync_state import RecordState, SyncState
from syncledger.core.validation import (
    CUSTOMER_NOT_FOUND,
    DISPUTE_ALREADY_CREDITED,
    DISPUTE_ON_PAID_INVOICE,
    MALFORMED_ROW,
    MERGED_INVOICE,
    REASON_CODES,
    REFUND_EXCEEDS_CREDIT,
)

log = logging.getLogger(__name__)

#: rule codes whose verdict the mapping file cannot change (see the module docstring)
OTHER_CODES: Final = frozenset({
    CUSTOMER_NOT_FOUND, DISPUTE_ALREADY_CREDITED, DISPUTE_ON_PAID_INVOICE, MALFORMED_ROW,
    MERGED_INVOICE, REFUND_EXCEEDS_CREDIT,
})  # fmt: skip
#: rule codes a new mapping version can turn (``ledger_item_missing`` included: the
#: item map decides which ledger item a line names)
MAPPING_CODES: Final = REASON_CODES - OTHER_CODES
#: dependency order: a record's customer (and invoice, credit) before it
_ORDER: Final = ("customer", "invoice", "credit_note", "payment", "refund")


@dataclass(frozen=True, slots=True)
class Reflow:
    """Who asks: the worker's log, entity and actor, and its ownership check."""

    store: EventStore
    state: SyncState
    entity: str
    actor: str
    guard: Callable[[], None] | None = None


def reflowable(rec: RecordState, version: str) -> bool:
    """Whether ``rec`` is to be tried again under mapping ``version``."""
    return (
        rec.observed_seq > 0
        and not rec.deleted
        and rec.rejected_here
        and rec.rejected_sha is not None
        and rec.rejected_sha == rec.observed_sha
        and version not in (rec.rejected_mapping, rec.reflowed_mapping)
        and any(code in MAPPING_CODES for code in rec.rejected_codes)
    )


def candidates(state: SyncState, version: str) -> list[RecordState]:
    """The records to re-flow under ``version``, in dependency order then log order."""
    found = [rec for rec in state.records.values() if reflowable(rec, version)]
    return sorted(found, key=lambda r: (_rank(r.kind), r.observed_seq))


def _rank(kind: str) -> int:
    return _ORDER.index(kind) if kind in _ORDER else len(_ORDER)


async def request_reflows(reflow: Reflow, version: str) -> int:
    """Append ``ReflowRequested`` for every candidate; how many were appended."""
    asked = 0
    for rec in candidates(reflow.state, version):
        asked += await _ask(reflow, rec, version)
    if asked:
        log.info("mapping %s is in force: %d rejected records are tried again", version, asked)
    return asked


async def _ask(reflow: Reflow, rec: RecordState, version: str) -> int:
    subject = source_subject(reflow.entity, RecordRef.parse(rec.source_ref))
    payload = ReflowRequested(
        ref=rec.source_ref,
        ledger=reflow.state.ledger,
        mapping_version=version,
        rejected_under=rec.rejected_mapping,
        codes=rec.rejected_codes,
    )
    envelope = make_envelope(payload, entity=reflow.entity, subject=subject, actor=reflow.actor)
    if reflow.guard is not None:
        reflow.guard()
    try:
        await reflow.store.append(
            [envelope], expect={subject: reflow.state.subject_seq.get(subject, 0)}
        )
    except ConcurrencyError:
        return 0  # touched meanwhile: the event that did it is handled on its own
    return 1
