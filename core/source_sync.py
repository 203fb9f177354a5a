"""Source → log through the source port (``core/source_ports.py``), whatever the source.

* :func:`poll_source` — delta reads: each page's records are appended (``Ingestor``:
  unchanged content is skipped), then ``SourceCursorAdvanced``. A crash between the two
  re-reads that page next time and appends nothing new; the cursor never runs ahead of
  the records.
* :class:`WebhookDesk` — a verified delivery is stored before ``serve`` answers. Records
  a signed body carries are appended first, then the receipt ``WebhookReceived``; hints
  are stored in the receipt and re-read later (:func:`process_webhooks`). The receipt's
  subject is the delivery's own (``…source.<system>.webhook.<delivery id>``) and is
  appended only when that subject is empty, so a retried or duplicated delivery is
  stored once, however late it comes.
* :func:`process_webhooks` — receipts whose hints were not re-read yet: the records are
  re-read through the source (a webhook is a hint, not the record), appended, then
  ``WebhookProcessed``. A crash in between re-reads them again; ingest skips what the
  log already holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from syncledger.core.decode import read_wanted
from syncledger.core.errors import ConcurrencyError
from syncledger.core.events import (
    EventData,
    RecordHintData,
    SourceCursorAdvanced,
    SourceMappingPublished,
    WebhookProcessed,
    WebhookReceived,
    make_envelope,
    subject_for,
)
from syncledger.core.ingest import (
    Ingestor,
    IngestReport,
    customer_ref_of,
    split_personal,
)
from syncledger.core.keys_ahead import KeysAhead, forget
from syncledger.core.keystore import KeyStore, subject_key_id
from syncledger.core.source_ports import (
    RecordFetcher,
    RecordHint,
    SourceItem,
    SourceReader,
    WebhookDelivery,
)
from syncledger.core.store import EventStore

#: the most pages one poll reads before it lets the other jobs run (it goes on next turn)
MAX_PAGES = 50


@dataclass(frozen=True, slots=True)
class SourceLog:
    """Where a source's events go: the store, the keys that seal personal fields, and
    who appends."""

    store: EventStore
    keys: KeyStore
    entity: str
    actor: str
    #: the source mapping version in force (``publish_source_mapping``), named on each
    #: observation it shaped
    mapping: str | None = None

    def ingestor(self) -> Ingestor:
        return Ingestor(
            self.store, self.keys, entity=self.entity, actor=self.actor, source_mapping=self.mapping
        )

    def subject(self, system: str, kind: str, key: str) -> str:
        return subject_for(self.entity, "source", system, kind, key)

    def every(self, system: str, kind: str) -> str:
        """The subjects of every ``kind`` event of ``system`` (a NATS wildcard)."""
        return self.subject(system, kind, "x").rsplit(".", 1)[0] + ".*"

    async def append(self, subject: str, payload: EventData, *, expect: int | None = None) -> None:
        envelope = make_envelope(payload, entity=self.entity, subject=subject, actor=self.actor)
        await self.store.append([envelope], None if expect is None else {subject: expect})


async def _items(items: Iterable[SourceItem]) -> AsyncIterator[SourceItem]:
    for item in items:
        yield item


# ---------------------------------------------------------------------- mapping


async def publish_source_mapping(log: SourceLog, source_id: str, content: str) -> SourceLog:
    """``log`` naming the source mapping ``content`` as in force; ``SourceMappingPublished``
    is appended the first time this version is seen (once, however many processes)."""
    digest = hashlib.sha256(content.encode()).hexdigest()
    version = f"{source_id}@{digest[:12]}"
    subject = subject_for(
        log.entity, "audit", "syncledger", "source-mapping", f"{source_id}-{digest[:12]}"
    )
    if await log.store.subject_last_seq(subject) == 0:
        payload = SourceMappingPublished(
            source=source_id, mapping_version=version, sha256=digest, content=content
        )
        with contextlib.suppress(ConcurrencyError):  # another process published it
            await log.append(subject, payload, expect=0)
    return replace(log, mapping=version)


# ---------------------------------------------------------------------- delta reads


async def last_cursor(log: SourceLog, system: str) -> str | None:
    """The cursor the source's delta reads go on from (None: never read)."""
    cursor = None
    async for stored in log.store.read(log.subject(system, "cursor", "delta")):
        event = read_wanted(stored.raw, (SourceCursorAdvanced,))
        if isinstance(event, SourceCursorAdvanced):
            cursor = event.cursor
    return cursor


async def poll_source(log: SourceLog, reader: SourceReader) -> IngestReport:
    """Append what changed in the source since the stored cursor (module docstring)."""
    ingestor = log.ingestor()
    await ingestor.load()
    report = IngestReport()
    cursor = await last_cursor(log, reader.system)
    for _ in range(MAX_PAGES):
        page = await reader.read_changes(cursor)
        report.absorb(await ingestor.ingest(_items(page.items)))
        if page.cursor is not None and page.cursor != cursor:
            cursor = page.cursor
            advanced = SourceCursorAdvanced(
                source=reader.system, cursor=cursor, records=len(page.items)
            )
            await log.append(log.subject(reader.system, "cursor", "delta"), advanced)
        if not page.more:
            break
    return report


# ---------------------------------------------------------------------- webhooks


@dataclass
class Receipt:
    """What ``serve`` answers from: stored now, or stored before (a duplicate)."""

    duplicate: bool
    records: int


@dataclass
class WebhookDesk:
    """Stores verified deliveries of one source (module docstring). Deliveries are
    stored concurrently (the log commits them in groups); two tries of one delivery race
    for its empty subject and one wins, the other is answered as a duplicate.

    Per delivery, in the fewest waits that keep those guarantees:

    - a delivery id this process stored or saw stored is answered as a duplicate at once
      (``recent``, a fast path only: the log's empty-subject check decides the rest);
    - hints only: one write, the receipt appended where its subject is empty (a duplicate
      is refused by the log itself, however late and in whichever process);
    - records: the receipt subject is looked up while the new customers' data keys are
      made off the event loop (``core.keys_ahead``), both before the records are
      appended, so a late retry never appends an older version over a newer one; then
      the records, then the receipt. A failed ingest forgets the ingestor's memory of
      what it appended (it may name a version the log did not take), so the retry
      re-reads the log and appends what is missing."""

    log: SourceLog
    system: str
    _ingestor: Ingestor | None = None
    _loading: asyncio.Lock = field(default_factory=asyncio.Lock)
    _keys_ahead: KeysAhead | None = None
    _recent: _RecentIds = field(default_factory=lambda: _RecentIds(RECENT_IDS))

    async def receive(self, delivery: WebhookDelivery) -> Receipt:
        if delivery.delivery_id in self._recent:
            return Receipt(duplicate=True, records=0)
        subject = self.log.subject(self.system, "webhook", delivery.delivery_id)
        if delivery.items and await self._stored_before(subject, delivery.items):
            self._recent.add(delivery.delivery_id)
            return Receipt(duplicate=True, records=0)
        try:
            await self.log.append(subject, self._receipt(delivery), expect=0)
        except ConcurrencyError:  # another try of it was stored a moment ago
            self._recent.add(delivery.delivery_id)
            return Receipt(duplicate=True, records=0)
        self._recent.add(delivery.delivery_id)
        return Receipt(duplicate=False, records=len(delivery.items))

    async def _stored_before(self, subject: str, items: Sequence[SourceItem]) -> bool:
        """True when the delivery's receipt is in the log; else its records are appended."""
        keys = self._keys().ask(self._key_ids(items))  # made while the lookup goes out
        try:
            seen = await self.log.store.subject_last_seq(subject)
        except BaseException:
            forget(keys)
            raise
        if seen:
            forget(keys)
            return True
        if keys is not None:
            await keys
        ingestor = await self._loaded()
        try:
            await ingestor.ingest(_items(items))
        except BaseException:
            self._ingestor = None  # reload from the log next time (class docstring)
            raise
        return False

    def _key_ids(self, items: Sequence[SourceItem]) -> list[str]:
        """The data keys the ingest will seal these records' personal fields with. Read
        from the items as they came (the ingest's clean-up changes only odd values, and a
        key missed here is still made by the ingest, on the event loop)."""
        wanted = []
        for item in items:
            if isinstance(item.fields, Mapping) and split_personal(item)[1]:
                own = f"{item.system}/{item.kind}/{item.id}"
                wanted.append(subject_key_id(self.log.entity, customer_ref_of(item) or own))
        return wanted

    def _keys(self) -> KeysAhead:
        if self._keys_ahead is None:
            self._keys_ahead = KeysAhead(self.log.keys)
        return self._keys_ahead

    def _receipt(self, delivery: WebhookDelivery) -> WebhookReceived:
        hints = tuple(
            RecordHintData(kind=h.kind, id=h.id, deleted=h.deleted) for h in delivery.hints
        )
        return WebhookReceived(
            source=self.system,
            delivery_id=delivery.delivery_id,
            hints=hints,
            records=len(delivery.items),
        )

    async def _loaded(self) -> Ingestor:
        if self._ingestor is not None:
            return self._ingestor
        async with self._loading:
            if self._ingestor is None:
                ingestor = self.log.ingestor()
                await ingestor.load()
                self._ingestor = ingestor
            return self._ingestor


#: delivery ids a desk remembers as stored (its duplicate fast path)
RECENT_IDS = 50_000


class _RecentIds:
    """The last ``size`` ids added, oldest forgotten first."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._ids: dict[str, None] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._ids

    def add(self, key: str) -> None:
        self._ids[key] = None
        if len(self._ids) > self._size:
            del self._ids[next(iter(self._ids))]


async def pending_hints(log: SourceLog, system: str) -> dict[str, tuple[int, WebhookReceived]]:
    """Receipts with hints not re-read yet: delivery subject -> (its last seq, receipt)."""
    pending: dict[str, tuple[int, WebhookReceived]] = {}
    async for stored in log.store.read(log.every(system, "webhook")):
        event = read_wanted(stored.raw, (WebhookReceived, WebhookProcessed))
        if isinstance(event, WebhookReceived) and event.hints:
            pending[stored.subject] = (stored.seq, event)
        elif isinstance(event, WebhookProcessed):
            pending.pop(stored.subject, None)
    return pending


async def process_webhooks(log: SourceLog, reader: SourceReader) -> IngestReport:
    """Re-read the records pending receipts name; append them, then ``WebhookProcessed``."""
    report = IngestReport()
    if not isinstance(reader, RecordFetcher):
        return report
    pending = await pending_hints(log, reader.system)
    if not pending:
        return report
    ingestor = log.ingestor()
    await ingestor.load()
    for subject, (seq, receipt) in pending.items():
        hints = [RecordHint(h.kind, h.id, h.deleted) for h in receipt.hints]
        items = await reader.fetch(hints)
        report.absorb(await ingestor.ingest(_items(_in_order(items))))
        done = WebhookProcessed(
            source=reader.system, delivery_id=receipt.delivery_id, records=len(items)
        )
        try:
            await log.append(subject, done, expect=seq)
        except ConcurrencyError:
            continue  # another process marked it meanwhile
    return report


_ORDER = {"customer": 0, "invoice": 1, "credit_note": 2, "payment": 3, "refund": 4}


def _in_order(items: Sequence[SourceItem]) -> list[SourceItem]:
    """Customers before the documents naming them (as delta reads deliver them)."""
    return sorted(items, key=lambda i: _ORDER.get(i.kind, len(_ORDER)))
