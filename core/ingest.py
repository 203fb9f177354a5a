"""Source → log: each new version of a source record becomes ``SourceRecordObserved``.

Change detection by content hash: a record whose content did not change is not
appended again, so re-importing the same data is a no-op. Personal fields are sealed
under the data subject's (the customer's) key before they touch the log.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
from collections.abc import AsyncIterable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from adapters.ports import SourceItem
from core.errors import ConcurrencyError
from core.events import Envelope, SourceRecordDeleted, SourceRecordObserved, make_envelope
from core.ids import canonical_json, uuid7
from core.keystore import KeyStore, PiiSealer, subject_key_id
from core.model import RECORD_TYPES, RecordRef
from core.store import EventStore
from core.subjects import entity_filter, source_subject
from core.validation import MALFORMED_FIELD

CHUNK = 250


@dataclass
class IngestReport:
    observed: int = 0
    unchanged: int = 0
    deleted: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


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
    cls = RECORD_TYPES.get(item.kind)
    personal_names = cls.PII_FIELDS if cls is not None else frozenset()
    public = {k: v for k, v in item.fields.items() if k not in personal_names}
    personal = {k: v for k, v in item.fields.items() if k in personal_names and v is not None}
    return public, personal


def content_hash(public: dict[str, Any], personal: dict[str, Any], key: bytes | None) -> str:
    """sha256 over the public fields and a keyed MAC of the personal ones (a plain hash of
    an email address would be guessable)."""
    h = hashlib.sha256(canonical_json(public))
    if personal and key is not None:
        h.update(hmac.new(key, canonical_json(personal), hashlib.sha256).digest())
    return h.hexdigest()


class Ingestor:
    def __init__(
        self,
        store: EventStore,
        keys: KeyStore,
        *,
        entity: str,
        actor: str,
        on_progress: Callable[[int], None] | None = None,
    ) -> None:
        self._store = store
        self._keys = keys
        self._sealer = PiiSealer(keys)
        self._entity = entity
        self._actor = actor
        self._on_progress = on_progress
        self._latest: dict[str, str] = {}  # source ref -> content hash (or "deleted")
        self._subject_seq: dict[str, int] = {}

    async def load(self) -> None:
        async for stored in self._store.read(entity_filter(self._entity, "source")):
            event = json.loads(stored.raw)
            self._subject_seq[stored.subject] = stored.seq
            data = event["data"]
            if event["type"] == "SourceRecordObserved":
                self._latest[data["ref"]] = data["content_sha256"]
            elif event["type"] == "SourceRecordDeleted":
                self._latest[data["ref"]] = "deleted"

    async def ingest(self, items: AsyncIterable[SourceItem]) -> IngestReport:
        report = IngestReport()
        chunk: list[Envelope] = []
        kind = None
        async for raw_item in items:
            item = normalized(raw_item)
            if chunk and (item.kind != kind or len(chunk) >= CHUNK):
                await self._flush(chunk)
                chunk = []
            kind = item.kind
            envelope = self._envelope_for(item, report)
            if envelope is not None:
                chunk.append(envelope)
        await self._flush(chunk)
        return report

    def _envelope_for(self, item: SourceItem, report: IngestReport) -> Envelope | None:
        ref = RecordRef(system=item.system, kind=item.kind, id=item.id)
        subject = source_subject(self._entity, ref)
        if item.deleted:
            if self._latest.get(str(ref)) in (None, "deleted"):
                report.unchanged += 1
                return None
            self._latest[str(ref)] = "deleted"
            report.deleted += 1
            payload: SourceRecordDeleted | SourceRecordObserved = SourceRecordDeleted(
                ref=str(ref), kind=item.kind, version=item.version
            )
            return make_envelope(payload, entity=self._entity, subject=subject, actor=self._actor)
        return self._observed(item, ref, subject, report)

    def _observed(
        self, item: SourceItem, ref: RecordRef, subject: str, report: IngestReport
    ) -> Envelope | None:
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
        )
        return make_envelope(
            payload,
            entity=self._entity,
            subject=subject,
            actor=self._actor,
            pii=sealed,
            event_id=event_id,
        )

    async def _flush(self, chunk: list[Envelope]) -> None:
        if not chunk:
            return
        await asyncio.gather(*(self._append(ev) for ev in chunk))
        if self._on_progress is not None:
            self._on_progress(len(chunk))

    async def _append(self, envelope: Envelope) -> None:
        """Append with the subject's expected version; on a concurrent write (the worker
        appended a rejection on the same subject) refresh the version and try again."""
        for _ in range(5):
            expected = self._subject_seq.get(envelope.subject, 0)
            try:
                [seq] = await self._store.append([envelope], expect={envelope.subject: expected})
            except ConcurrencyError:
                self._subject_seq[envelope.subject] = await self._store.subject_last_seq(
                    envelope.subject
                )
                continue
            self._subject_seq[envelope.subject] = seq
            return
        raise ConcurrencyError(envelope.subject, self._subject_seq.get(envelope.subject, 0))
