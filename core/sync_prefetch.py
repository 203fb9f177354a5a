"""Bulk reads before a batch: the records a batch of events is about to update or void
are read from the ledger in one request per kind (``Prefetcher``), so each update's
check of the ledger's current version costs no request of its own.

Only records already in the ledger count (their ``ledger_ref`` is known) and only events
that would change them: a new version of the source record, or its deletion. A prefetch
that fails is logged and forgotten; the updates then read one by one, as without it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from syncledger.core.decode import read_json
from syncledger.core.errors import LedgerError, UndecodableEvent
from syncledger.core.events import SourceRecordDeleted, SourceRecordObserved
from syncledger.core.ports import Prefetcher
from syncledger.core.sync_state import SyncState

log = logging.getLogger(__name__)

_CHANGES = {SourceRecordObserved.__name__, SourceRecordDeleted.__name__}


def update_targets(
    items: Sequence[tuple[int, str, bytes]], state: SyncState
) -> dict[str, list[str]]:
    """Ledger ids by kind of the records these events would update or void."""
    targets: dict[str, list[str]] = {}
    for _seq, _subject, raw in items:
        try:
            stored = read_json(raw)
            if stored.get("type") not in _CHANGES:
                continue
            data = stored["data"]
            ref, sha = str(data["ref"]), data.get("content_sha256")
        except (UndecodableEvent, AttributeError, KeyError, TypeError):
            continue  # the handler says what is wrong with it
        rec = state.records.get(ref)
        if rec is None or rec.ledger_ref is None or rec.deleted:
            continue
        if sha is not None and sha == rec.pushed_sha:
            continue  # that version is in the ledger already
        ids = targets.setdefault(rec.kind, [])
        if rec.ledger_ref not in ids:
            ids.append(rec.ledger_ref)
    return targets


async def prefetch(
    ledger: object, items: Sequence[tuple[int, str, bytes]], state: SyncState
) -> None:
    """Ask a ``Prefetcher`` ledger to read the batch's update targets in bulk."""
    if not isinstance(ledger, Prefetcher):
        return
    for kind, ids in update_targets(items, state).items():
        try:
            await ledger.prefetch(kind, ids)
        except LedgerError as exc:
            log.info(
                "bulk read of %d %s records failed (%s); reading one by one", len(ids), kind, exc
            )
