"""What ``syncledger mapping diff`` reads from the log, and nothing it writes: the ledger
mapping version in force (the last ``MappingVersionPublished`` of the ledger, on the
entity's audit subjects ``…audit.syncledger.mapping.<ledger>-<digest>``, as
``core/bootstrap.publish_mapping`` appends them) and each source record's latest version
with its personal fields opened (the worker judges them opened, so the dry run must too).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from syncledger.core.decode import decode_json, read_json
from syncledger.core.errors import KeyStoreError, UndecodableEvent
from syncledger.core.events import (
    Envelope,
    MappingVersionPublished,
    SourceRecordDeleted,
    SourceRecordObserved,
    subject_for,
)
from syncledger.core.keystore import KeyStore, PiiSealer
from syncledger.core.model import RecordRef
from syncledger.core.ports import SourceItem
from syncledger.core.store import EventStore
from syncledger.core.subjects import entity_filter
from syncledger.core.sync_state import version_key

log = logging.getLogger(__name__)
_OBSERVED = (SourceRecordObserved.__name__, SourceRecordDeleted.__name__)


def mapping_subjects(entity: str) -> str:
    """The subjects every ledger mapping version of ``entity`` is published on."""
    one = subject_for(entity, "audit", "syncledger", "mapping", "x")
    return one.rsplit(".", 1)[0] + ".>"


async def last_published(
    store: EventStore, entity: str, ledger: str
) -> MappingVersionPublished | None:
    """The ledger's mapping version in force: the last one published (None: none yet)."""
    last: MappingVersionPublished | None = None
    async for stored in store.read(mapping_subjects(entity)):
        try:
            event = decode_json(read_json(stored.raw), stored.raw).event
        except UndecodableEvent:
            continue
        if isinstance(event, MappingVersionPublished) and event.ledger == ledger:
            last = event
    return last


@dataclass
class _Latest:
    version: str
    envelope: Envelope | None  #: None: deleted at this version
    event: SourceRecordObserved | None


async def latest_items(
    store: EventStore, keys: KeyStore, entity: str
) -> list[tuple[str, SourceItem]]:
    """Each live source record's latest version as the worker reads it, in log order.
    A record whose personal data was erased (or cannot be opened) is left out (logged):
    it cannot be judged, and the worker rejects it as ``subject_erased`` anyway."""
    latest: dict[str, _Latest] = {}
    async for stored in store.read(entity_filter(entity, "source")):
        _take(latest, stored.raw)
    sealer = PiiSealer(keys)
    found = [
        (ref, item)
        for ref, row in latest.items()
        if row.event is not None
        and row.envelope is not None
        and (item := _item(sealer, row.envelope, row.event)) is not None
    ]
    return found


def _take(latest: dict[str, _Latest], raw: bytes) -> None:
    try:
        parsed: Any = read_json(raw)
        if not isinstance(parsed, dict) or parsed.get("type") not in _OBSERVED:
            return
        decoded = decode_json(parsed, raw)
    except UndecodableEvent:
        return  # listed by `syncledger errors` as unfoldable
    event = decoded.event
    if not isinstance(event, SourceRecordObserved | SourceRecordDeleted):
        return
    now = latest.get(event.ref)
    if now is not None and version_key(event.version) < version_key(now.version):
        return  # an older version arriving late never replaces a newer one (as the worker)
    if isinstance(event, SourceRecordObserved):
        latest[event.ref] = _Latest(event.version, decoded.envelope, event)
    else:
        latest[event.ref] = _Latest(event.version, None, None)


def _item(sealer: PiiSealer, envelope: Envelope, event: SourceRecordObserved) -> SourceItem | None:
    fields = dict(event.record)
    if envelope.pii is not None:
        try:
            fields.update(sealer.open(envelope.pii, envelope.id))
        except KeyStoreError as exc:  # erased, or a key that does not open it
            log.info("%s left out of the dry run: %s", event.ref, type(exc).__name__)
            return None
    ref = RecordRef.parse(event.ref)
    return SourceItem(ref.system, ref.kind, ref.id, event.version, fields)
