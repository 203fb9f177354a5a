"""Source → log through the source port (``core/source_ports.py``), whatever the source.

* :func:`poll_source` — delta reads: each page's records are appended (``Ingestor``:
  unchanged content is skipped), then ``SourceCursorAdvanced``. A crash between the two
  re-reads that page next time and appends nothing new; the cursor never runs ahead of
  the records.
* :class:`WebhookDesk` — a verified delivery is stored before ``serve`` answers. Records
  a signed body carries and the receipt ``WebhookReceived`` are one atomic append; hints
  are stored in the receipt and re-read later (:func:`process_webhooks`). The receipt's
  subject is the delivery's own (``…source.<system>.webhook.<delivery id>``) and is
  appended only when that subject is empty, so a retried or duplicated delivery is
  stored once, however late it comes, and stores nothing when it is a duplicate.
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
    Envelope,
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
    APPEND_TRIES,
    Ingestor,
    IngestReport,
    Staged,
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
#: the most records a delivery stores in one append with its receipt (``WebhookDesk``)
ONE_APPEND_MAX = 500


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

    Per delivery, one append: the records the Ingestor would append (``Ingestor.stage``:
    each expecting its subject's last sequence) and the receipt expecting its subject
    empty, all or nothing (the store commits a multi-event append atomically). So:

    - a delivery id this process stored or saw stored is answered as a duplicate at once
      (``recent``, a fast path only: the log's empty-subject check decides the rest);
    - a duplicate, however late and in whichever process, stores nothing: its receipt's
      expectation fails and takes its records with it; so does a late retry of an older
      version after a newer one (no lookup of the receipt subject before the append);
    - a refused append is read as a duplicate when the receipt subject is taken (one
      lookup, only then); else a record's subject moved (another writer's version): the
      ingestor reads what was appended, drops a version the log already holds, and the
      rest go again with the receipt (``Ingestor.restage``), up to ``APPEND_TRIES``;
    - no crash window between record and receipt; a failed append (the log away)
      reloads the ingestor from the log before the next delivery, as a failed ingest did;
    - new customers' data keys are made off the event loop (``core.keys_ahead``) and are
      durable before the append.

    A delivery of more than ``one_append_max`` records (a JetStream atomic batch holds at
    most 1,000 messages: ``MAX_BATCH`` in ``core/store_jetstream.py``, ADR-50; a larger
    append there goes out message by message) takes the two-step path instead: the receipt
    subject looked up (a retry appends nothing), the records ingested, then the receipt."""

    log: SourceLog
    system: str
    one_append_max: int = ONE_APPEND_MAX
    _ingestor: Ingestor | None = None
    _loading: asyncio.Lock = field(default_factory=asyncio.Lock)
    _keys_ahead: KeysAhead | None = None
    _recent: _RecentIds = field(default_factory=lambda: _RecentIds(RECENT_IDS))

    async def receive(self, delivery: WebhookDelivery) -> Receipt:
        if delivery.delivery_id in self._recent:
            return Receipt(duplicate=True, records=0)
        subject = self.log.subject(self.system, "webhook", delivery.delivery_id)
        if len(delivery.items) > self.one_append_max:
            stored = await self._in_two_steps(subject, delivery)
        else:
            stored = await self._in_one_append(subject, delivery)
        self._recent.add(delivery.delivery_id)
        return Receipt(duplicate=not stored, records=len(delivery.items) if stored else 0)

    async def _in_one_append(self, subject: str, delivery: WebhookDelivery) -> bool:
        """True when the records and receipt were appended; False: a duplicate."""
        receipt = self._envelope(subject, self._receipt(delivery))
        if not delivery.items:
            return await self._appended([receipt], {subject: 0})
        keys = self._keys().ask(self._key_ids(delivery.items))
        if keys is not None:
            await keys
        ingestor = await self._loaded()
        try:
            return await self._with_records(ingestor, ingestor.stage(delivery.items), receipt)
        except BaseException:
            self._ingestor = None  # reload from the log next time (class docstring)
            raise

    async def _with_records(self, ingestor: Ingestor, staged: Staged, receipt: Envelope) -> bool:
        for _ in range(APPEND_TRIES):
            try:
                expect = {**staged.expect, receipt.subject: 0}
                seqs = await self.log.store.append([*staged.envelopes, receipt], expect)
            except ConcurrencyError:
                if not staged.envelopes or await self._receipt_stored(receipt.subject):
                    return False
                staged = await ingestor.restage(staged)
                continue
            ingestor.appended(staged, seqs[:-1])
            return True
        raise ConcurrencyError(receipt.subject, 0, "the records' subjects kept moving")

    async def _receipt_stored(self, subject: str) -> bool:
        return await self.log.store.subject_last_seq(subject) > 0

    async def _appended(self, envelopes: list[Envelope], expect: dict[str, int]) -> bool:
        try:
            await self.log.store.append(envelopes, expect)
        except ConcurrencyError:  # another try of it was stored a moment ago
            return False
        return True

    def _envelope(self, subject: str, payload: EventData) -> Envelope:
        log = self.log
        return make_envelope(payload, entity=log.entity, subject=subject, actor=log.actor)

    async def _in_two_steps(self, subject: str, delivery: WebhookDelivery) -> bool:
        """A delivery too large for one append (class docstring)."""
        if await self._stored_before(subject, delivery.items):
            return False
        receipt = self._envelope(subject, self._receipt(delivery))
        return await self._appended([receipt], {subject: 0})

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
