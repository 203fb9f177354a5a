"""Source → log: each new version of a source record becomes ``SourceRecordObserved``.

Change detection by content hash: a record whose content did not change is not
appended again, so re-importing the same data is a no-op. Personal fields are sealed
under the data subject's (the customer's) key before they touch the log; so is every
field of a record its source could not read cleanly (its cells may have shifted into
any column), and a refusal's reasons never show a personal value
(:mod:`syncledger.core.pii_text`).

A version whose amounts or quantities no ledger can hold (an exponent, NaN, a number of
13 integer digits, …: :func:`syncledger.core.validation.storable_number_reasons`) never enters the
log as an observation: it becomes ``SourceRecordRejected`` without a ledger, with its
reasons, which ``syncledger errors`` shows as refused at import. Importing the corrected
row appends it as usual.

Two imports of the same data at once append each version once: every append expects
the subject's last sequence, and on a conflict the importer reads what others appended
since it last looked and skips its own event when another import appended that very
version meanwhile.

:meth:`Ingestor.stage` hands the envelopes an ingest would append, with the expectations,
to a caller that appends them itself with events of its own in one atomic append (the
webhook desk: a delivery's records and its receipt). Staging leaves the ingestor's memory
as it was; the caller reports an acknowledged append (:meth:`Ingestor.appended`), or asks
for what is still new after a conflict on a record's subject (:meth:`Ingestor.restage`:
the same reading as above), so a refused append leaves nothing to undo.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
from collections.abc import AsyncIterable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from syncledger.core.decode import decode_wanted, read_json
from syncledger.core.errors import ConcurrencyError, UndecodableEvent
from syncledger.core.events import (
    Envelope,
    EventData,
    RejectionReason,
    SourceRecordDeleted,
    SourceRecordObserved,
    SourceRecordRejected,
    make_envelope,
)
from syncledger.core.ids import canonical_json, uuid7
from syncledger.core.keystore import KeyStore, PiiSealer, subject_key_id
from syncledger.core.metrics import count_rejection
from syncledger.core.model import RECORD_TYPES, RecordRef
from syncledger.core.pii_names import digester
from syncledger.core.pii_text import echoable, is_malformed, strip_reasons
from syncledger.core.ports import SourceItem
from syncledger.core.store import EventStore
from syncledger.core.subjects import entity_filter, source_subject
from syncledger.core.validation import MALFORMED_FIELD, storable_number_reasons

CHUNK = 250
APPEND_TRIES = 5
DELETED = "deleted"  # the mark of a deleted record, beside content hashes
#: an integer too long to turn into text (CPython refuses beyond 4300 digits)
_HUGE_INT = 10**4000


@dataclass
class IngestReport:
    observed: int = 0
    unchanged: int = 0
    deleted: int = 0
    refused: int = 0  # versions refused before the log (``syncledger errors`` lists them)
    by_kind: dict[str, int] = field(default_factory=dict)

    def absorb(self, part: IngestReport) -> None:
        """Add ``part`` (another ingest of the same run) to these counts."""
        self.observed += part.observed
        self.unchanged += part.unchanged
        self.deleted += part.deleted
        self.refused += part.refused
        for kind, n in part.by_kind.items():
            self.by_kind[kind] = self.by_kind.get(kind, 0) + n

    def appended_by_another(self, event: EventData) -> None:
        """Count ``event`` as unchanged: a concurrent import appended that version."""
        self.unchanged += 1
        match event:
            case SourceRecordDeleted():
                self.deleted -= 1
            case SourceRecordRejected():
                self.refused -= 1
            case SourceRecordObserved():
                self.observed -= 1
                self.by_kind[event.kind] -= 1


_REF_PART = re.compile(r"^[^/\s]{1,200}$")


def _ref_part(raw: Any) -> str:
    """A usable reference part: the text itself when it is one, else a digest of it."""
    text = raw if isinstance(raw, str) else repr(raw)
    if _REF_PART.match(text):
        return text
    return "h" + hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:32]


def _text(text: str) -> str:
    """Text that encodes as UTF-8 (a lone surrogate is kept visibly as an escape)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _plain(value: Any) -> Any:
    """A JSON-storable copy of whatever a source delivered (bad input is data)."""
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= _HUGE_INT:
        return f"an integer of more than {len(str(_HUGE_INT)) - 1} digits"
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, Mapping):
        return {_text(str(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return str(value)


def normalized(item: SourceItem) -> SourceItem:
    """The item with a usable reference and JSON-storable fields; what could not be kept
    as it came is reported under ``_malformed`` for validation to reject."""
    fields = item.fields if isinstance(item.fields, Mapping) else None
    clean = (
        _plain(fields)
        if fields is not None
        else {MALFORMED_FIELD: [f"the source delivered {type(item.fields).__name__}, not fields"]}
    )
    return SourceItem(
        _ref_part(item.system),
        _ref_part(item.kind),
        _ref_part(item.id),
        item.version if isinstance(item.version, str) else str(item.version),
        clean,
        bool(item.deleted),
    )


def customer_ref_of(item: SourceItem) -> str | None:
    if item.kind == "customer":
        return str(RecordRef(system=item.system, kind="customer", id=item.id))
    cid = item.fields.get("customer_id")
    if isinstance(cid, str) and cid.strip():
        return f"{item.system}/customer/{cid.strip()}"
    return None


def split_personal(item: SourceItem) -> tuple[dict[str, Any], dict[str, Any]]:
    """(public fields, personal fields to seal). Every field of a malformed record is
    personal: its cells may have shifted, so any column may hold a name or an address."""
    if is_malformed(item.fields):
        return {}, {k: v for k, v in item.fields.items() if v is not None}
    cls = RECORD_TYPES.get(item.kind)
    personal_names = cls.PII_FIELDS if cls is not None else frozenset()
    public = {k: v for k, v in item.fields.items() if k not in personal_names}
    personal = {k: v for k, v in item.fields.items() if k in personal_names and v is not None}
    return public, personal


#: the events that say what a record's latest version is (:func:`mark_of`)
Marking = SourceRecordObserved | SourceRecordDeleted | SourceRecordRejected
_MARKING = (SourceRecordObserved, SourceRecordDeleted, SourceRecordRejected)


def mark_of(event: EventData) -> str | None:
    """What an event says the record's latest version is: its content hash, ``deleted``,
    or the hash of a version refused at import; ``None`` for anything else (a worker's
    rejection names a ledger and says nothing about the source's version)."""
    match event:
        case SourceRecordDeleted():
            return DELETED
        case SourceRecordObserved():
            return event.content_sha256
        case SourceRecordRejected() if event.ledger is None:
            return event.content_sha256
    return None


def content_hash(public: dict[str, Any], personal: dict[str, Any], key: bytes | None) -> str:
    """sha256 over the public fields and a keyed MAC of the personal ones (a plain hash of
    an email address would be guessable)."""
    h = hashlib.sha256(canonical_json(public))
    if personal and key is not None:
        h.update(hmac.new(key, canonical_json(personal), hashlib.sha256).digest())
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class Staged:
    """What an ingest would append (:meth:`Ingestor.stage`): the envelopes in order, the
    last sequence each subject is expected at, and each subject's record ref and mark
    (see :func:`mark_of`) once they are in the log."""

    envelopes: tuple[Envelope, ...]
    expect: Mapping[str, int]
    marks: Mapping[str, tuple[str, str]]


class Ingestor:
    def __init__(
        self,
        store: EventStore,
        keys: KeyStore,
        *,
        entity: str,
        actor: str,
        on_progress: Callable[[int], None] | None = None,
        source_mapping: str | None = None,
    ) -> None:
        self._source_mapping = source_mapping
        self._store = store
        self._keys = keys
        self._sealer = PiiSealer(keys)
        self._names = digester(keys, entity)
        self._entity = entity
        self._actor = actor
        self._on_progress = on_progress
        self._latest: dict[str, str] = {}  # source ref -> content hash (or "deleted")
        self._subject_seq: dict[str, int] = {}
        self._seen = 0  # the newest source event read so far (stream sequence)

    async def load(self) -> None:
        async for stored in self._store.read(entity_filter(self._entity, "source")):
            self._fold(stored.seq, stored.subject, stored.raw)

    def _fold(self, seq: int, subject: str, raw: bytes) -> str | None:
        """Take one stored source event into account; return its mark (see :func:`mark_of`).
        An event that cannot be read (an older version's) counts only for its sequence."""
        self._subject_seq[subject] = seq
        self._seen = max(self._seen, seq)
        try:
            event = decode_wanted(read_json(raw), _MARKING)
        except UndecodableEvent:
            return None
        if not isinstance(event, Marking):
            return None  # no event of a marking type
        mark = mark_of(event)
        if mark is not None:
            self._latest[event.ref] = mark
        return mark

    async def ingest(self, items: AsyncIterable[SourceItem]) -> IngestReport:
        report = IngestReport()
        chunk: list[Envelope] = []
        kind = None
        async for raw_item in items:
            item = normalized(raw_item)
            if chunk and (item.kind != kind or len(chunk) >= CHUNK):
                await self._flush(chunk, report)
                chunk = []
            kind = item.kind
            envelope = self._envelope_for(item, report)
            if envelope is not None:
                chunk.append(envelope)
        await self._flush(chunk, report)
        return report

    def stage(self, items: Iterable[SourceItem]) -> Staged:
        """The envelopes ingesting ``items`` would append now, unappended (module
        docstring); the ingestor's memory is left as it was, even when staging fails."""
        before: dict[str, str | None] = {}
        envelopes: list[Envelope] = []
        scratch = IngestReport()
        try:
            for raw_item in items:
                item = normalized(raw_item)
                ref = str(RecordRef(system=item.system, kind=item.kind, id=item.id))
                before.setdefault(ref, self._latest.get(ref))
                envelope = self._envelope_for(item, scratch)
                if envelope is not None:
                    envelopes.append(envelope)
            marks = {ev.subject: (_ref(ev), self._latest[_ref(ev)]) for ev in envelopes}
        finally:
            self._restore(before)
        return self._staged(envelopes, marks)

    def _staged(
        self, envelopes: Sequence[Envelope], marks: Mapping[str, tuple[str, str]]
    ) -> Staged:
        expect = {ev.subject: self._subject_seq.get(ev.subject, 0) for ev in envelopes}
        kept = {ev.subject: marks[ev.subject] for ev in envelopes}
        return Staged(tuple(envelopes), expect, kept)

    def _restore(self, before: Mapping[str, str | None]) -> None:
        for ref, mark in before.items():
            if mark is None:
                self._latest.pop(ref, None)
            else:
                self._latest[ref] = mark

    def appended(self, staged: Staged, seqs: Sequence[int]) -> None:
        """``staged`` is in the log at ``seqs`` (one per envelope)."""
        for envelope, seq in zip(staged.envelopes, seqs, strict=True):
            if seq > self._subject_seq.get(envelope.subject, 0):
                self._subject_seq[envelope.subject] = seq
                ref, mark = staged.marks[envelope.subject]
                self._latest[ref] = mark

    async def restage(self, staged: Staged) -> Staged:
        """``staged`` after its append was refused on a record's subject: the log read
        since this ingestor last looked (one read), each envelope whose version the log
        now holds as its record's latest dropped, the rest expecting their subjects' new
        last sequences (appended after what was read, as :meth:`ingest` does)."""
        known = {ev.subject: self._subject_seq.get(ev.subject, 0) for ev in staged.envelopes}
        await self._read_new()
        kept = []
        for ev in staged.envelopes:
            ref, mark = staged.marks[ev.subject]
            if self._latest.get(ref) == mark:
                continue  # another writer appended this very version
            if self._subject_seq.get(ev.subject, 0) <= known[ev.subject]:  # not read yet
                self._subject_seq[ev.subject] = await self._store.subject_last_seq(ev.subject)
            kept.append(ev)
        return self._staged(kept, staged.marks)

    def _envelope_for(self, item: SourceItem, report: IngestReport) -> Envelope | None:
        ref = RecordRef(system=item.system, kind=item.kind, id=item.id)
        subject = source_subject(self._entity, ref)
        if item.deleted:
            if self._latest.get(str(ref)) in (None, DELETED):
                report.unchanged += 1
                return None
            self._latest[str(ref)] = DELETED
            report.deleted += 1
            payload: SourceRecordDeleted | SourceRecordObserved = SourceRecordDeleted(
                ref=str(ref), kind=item.kind, version=item.version
            )
            return make_envelope(payload, entity=self._entity, subject=subject, actor=self._actor)
        return self._observed(item, ref, subject, report)

    def _observed(
        self, item: SourceItem, ref: RecordRef, subject: str, report: IngestReport
    ) -> Envelope | None:
        refusals = storable_number_reasons(item.kind, item.fields)
        if refusals:
            return self._refused(item, ref, subject, tuple(refusals), report)
        public, personal = split_personal(item)
        customer_ref = customer_ref_of(item)
        key_id = subject_key_id(self._entity, customer_ref or str(ref))
        key = self._keys.data_key(key_id, create=True) if personal else None
        sha = content_hash(public, personal, key)
        if self._latest.get(str(ref)) == sha:
            report.unchanged += 1
            return None
        self._latest[str(ref)] = sha
        report.observed += 1
        report.by_kind[item.kind] = report.by_kind.get(item.kind, 0) + 1
        event_id = uuid7()
        sealed = self._sealer.seal(key_id, personal, event_id) if personal else None
        payload = SourceRecordObserved(
            ref=str(ref),
            kind=item.kind,
            version=item.version,
            content_sha256=sha,
            record=public,
            customer_ref=customer_ref,
            source_mapping=self._source_mapping,
            name_digest=self._name_digest(item),
        )
        return make_envelope(
            payload,
            entity=self._entity,
            subject=subject,
            actor=self._actor,
            pii=sealed,
            event_id=event_id,
        )

    def _name_digest(self, item: SourceItem) -> str | None:
        """A customer's name as the duplicate check and the reconciler compare it (the
        name itself is sealed); none for a malformed row, whose name cell may be another's."""
        if item.kind != "customer" or is_malformed(item.fields):
            return None
        return self._names(item.fields.get("name"))

    def _refused(
        self,
        item: SourceItem,
        ref: RecordRef,
        subject: str,
        reasons: tuple[RejectionReason, ...],
        report: IngestReport,
    ) -> Envelope | None:
        """The version refused, with its reasons, instead of its observation. Its hash
        leaves personal fields out (no data key is made for a record kept out of the
        log): fixing the numbers is what changes it. A malformed version is all personal: its
        hash is keyed, so that two different ones differ."""
        public, personal = split_personal(item)
        malformed = is_malformed(item.fields)
        sha = self._keyed(ref, item, personal) if malformed else content_hash(public, {}, None)
        if self._latest.get(str(ref)) == sha:
            report.unchanged += 1
            return None
        self._latest[str(ref)] = sha
        report.refused += 1
        for reason in reasons:
            count_rejection("import", reason.code)
        payload = SourceRecordRejected(
            ref=str(ref),
            kind=item.kind,
            content_sha256=sha,
            reasons=strip_reasons(reasons, echoable(item.kind, item.fields)),
        )
        return make_envelope(payload, entity=self._entity, subject=subject, actor=self._actor)

    def _keyed(self, ref: RecordRef, item: SourceItem, personal: dict[str, Any]) -> str:
        key_id = subject_key_id(self._entity, customer_ref_of(item) or str(ref))
        return content_hash({}, personal, self._keys.data_key(key_id, create=True))

    async def _flush(self, chunk: list[Envelope], report: IngestReport) -> None:
        if not chunk:
            return
        pending = chunk
        for _ in range(APPEND_TRIES):
            appended = await asyncio.gather(*(self._try_append(ev) for ev in pending))
            conflicted = [ev for ev, done in zip(pending, appended, strict=True) if not done]
            pending = await self._still_new(conflicted, report) if conflicted else []
            if not pending:
                break
        else:
            first = pending[0]
            raise ConcurrencyError(first.subject, self._subject_seq.get(first.subject, 0))
        if self._on_progress is not None:
            self._on_progress(len(chunk))

    async def _try_append(self, envelope: Envelope) -> bool:
        """Append with the subject's expected version; False when another write landed
        on the subject since this import last looked."""
        expected = self._subject_seq.get(envelope.subject, 0)
        try:
            [seq] = await self._store.append([envelope], expect={envelope.subject: expected})
        except ConcurrencyError:
            return False
        self._subject_seq[envelope.subject] = seq
        return True

    async def _still_new(self, conflicted: list[Envelope], report: IngestReport) -> list[Envelope]:
        """Read what others appended since this import last looked (one read for the
        whole chunk); of ``conflicted``, drop each event whose version another import
        appended meanwhile, and return the rest to append after what was read (a
        worker's rejection, another import's different version)."""
        known = {ev.subject: self._subject_seq.get(ev.subject, 0) for ev in conflicted}
        theirs: dict[str, str] = {}
        for seq, subject, mark in await self._read_new():
            if mark is not None and seq > known.get(subject, seq):
                theirs[subject] = mark
        still = []
        for ev in conflicted:
            event = ev.payload()
            mine = mark_of(event)
            if theirs.get(ev.subject) == mine:
                report.appended_by_another(event)
                continue
            self._latest[_ref(ev)] = str(mine)  # ours goes after theirs
            if self._subject_seq.get(ev.subject, 0) <= known[ev.subject]:  # not read yet
                self._subject_seq[ev.subject] = await self._store.subject_last_seq(ev.subject)
            still.append(ev)
        return still

    async def _read_new(self) -> list[tuple[int, str, str | None]]:
        """Fold the source events appended since this ingestor last looked; each one's
        (sequence, subject, mark)."""
        folded = []
        async for stored in self._store.read(entity_filter(self._entity, "source"), self._seen + 1):
            folded.append(
                (stored.seq, stored.subject, self._fold(stored.seq, stored.subject, stored.raw))
            )
        return folded


def _ref(envelope: Envelope) -> str:
    """The record ref an ingest envelope is about (every ingest event names one)."""
    return str(envelope.data["ref"])
