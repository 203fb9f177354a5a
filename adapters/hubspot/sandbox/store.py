"""The sandbox's records: companies, contacts, deals, line items and products in memory,
their associations, custom property definitions, and the "person in HubSpot" helpers the
tests use (create, update, archive, move a deal to a stage, sign a webhook).

Times are epoch milliseconds; a datetime property is answered as ISO 8601 UTC with
milliseconds, the way HubSpot's ``SimplePublicObject`` carries ``createdAt``/``updatedAt``
(all property values are strings: SOURCES.md §1.5).

Every edit is also written to the store's Webhooks Journal (:class:`Journal`): one entry
per edit, each holding its events — the object's type id, id, action (``CREATE``,
``UPDATE``, ``DELETE``, ``ASSOCIATION_ADDED``), portal and the properties it set. HubSpot
publishes no schema for an entry's file; the field names are those of a HubSpot developer
advocate's journal tool (GitHub ``sejal27/sej-webhooks-journal`` ``src/types/api.ts``:
``offset``, ``publishedAt``, ``journalEvents[]`` with ``objectTypeId``, ``objectId``,
``action``, ``portalId``, ``occurredAt``, ``propertyChanges``) [S]. The journal keeps 3
days (HubSpot's journal-entries guide, 2026-03)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from syncledger.core.source_ports import WebhookRequest

#: the object types the sandbox holds, by the name in their 2026-03 paths; deals are
#: reached by their object type id ``0-3`` (SOURCES.md §1.1), "deals" is accepted too
OBJECT_TYPES = ("companies", "contacts", "deals", "line_items", "products")
ALIASES = {
    "0-3": "deals",
    "0-1": "contacts",
    "0-2": "companies",
    "company": "companies",
    "contact": "contacts",
    "deal": "deals",
    "line_item": "line_items",
}
#: contacts carry ``lastmodifieddate``, the others ``hs_lastmodifieddate`` (SOURCES.md §1.4)
MODIFIED = {
    t: ("lastmodifieddate" if t == "contacts" else "hs_lastmodifieddate") for t in OBJECT_TYPES
}
#: webhook subscription prefixes (legacy ``<object>.<event>`` types, SOURCES.md §1.7)
WEBHOOK_NAMES = {"companies": "company", "contacts": "contact", "deals": "deal"}
#: object type ids in journal events (deals ``0-3``: SOURCES.md §1.1; the others as
#: HubSpot numbers them)
TYPE_IDS = {
    "contacts": "0-1",
    "companies": "0-2",
    "deals": "0-3",
    "products": "0-7",
    "line_items": "0-8",
}
JOURNAL_PORTAL = 62515
#: how long the journal keeps an entry ("the past 3 days": journal-entries guide)
JOURNAL_KEEP_MS = 3 * 86_400_000


@dataclass(frozen=True)
class JournalEntry:
    """One journal entry: its offset (a UUID), when it was published, its file's key
    (the pre-signed URL's signature) and its events."""

    offset: str
    published_ms: int
    key: str
    events: tuple[dict[str, Any], ...]

    def document(self) -> dict[str, Any]:
        return {
            "offset": self.offset,
            "publishedAt": iso_ms(self.published_ms),
            "journalEvents": list(self.events),
        }


@dataclass
class Journal:
    """The entries, oldest first; those older than :data:`JOURNAL_KEEP_MS` are gone."""

    entries: list[JournalEntry] = field(default_factory=list)

    def write(self, now: int, *events: dict[str, Any]) -> None:
        offset, key = str(uuid.uuid4()), uuid.uuid4().hex
        self.entries.append(JournalEntry(offset, now, key, events))

    def kept(self, now: int) -> list[JournalEntry]:
        return [e for e in self.entries if e.published_ms >= now - JOURNAL_KEEP_MS]

    def after(self, offset: str, now: int) -> list[JournalEntry] | None:
        """The entries after ``offset``; None when it is not (or no longer) kept."""
        kept = self.kept(now)
        at = next((i for i, e in enumerate(kept) if e.offset == offset), None)
        return None if at is None else kept[at + 1 :]

    def find(self, offset: str) -> JournalEntry | None:
        return next((e for e in self.entries if e.offset == offset), None)


def object_type(name: str) -> str | None:
    name = ALIASES.get(name, name)
    return name if name in OBJECT_TYPES else None


def iso_ms(ms: int) -> str:
    when = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


@dataclass
class Record:
    id: str
    properties: dict[str, str]
    created_ms: int
    updated_ms: int
    archived_ms: int | None = None
    history: dict[str, list[tuple[int, str]]] = field(default_factory=dict)

    def wire(
        self, object_type: str, names: Iterable[str] | None, with_history: Iterable[str] = ()
    ) -> dict[str, Any]:
        props = self.all_properties(object_type)
        shown = props if names is None else {n: props[n] for n in names if n in props}
        body: dict[str, Any] = {
            "id": self.id,
            "properties": shown,
            "createdAt": iso_ms(self.created_ms),
            "updatedAt": iso_ms(self.updated_ms),
            "archived": self.archived_ms is not None,
        }
        if self.archived_ms is not None:
            body["archivedAt"] = iso_ms(self.archived_ms)
        wanted = [n for n in with_history if n in self.history]
        if wanted:
            body["propertiesWithHistory"] = {
                n: [{"value": v, "timestamp": iso_ms(t)} for t, v in reversed(self.history[n])]
                for n in wanted
            }
        return body

    def all_properties(self, object_type: str) -> dict[str, str]:
        return {
            **self.properties,
            "hs_object_id": self.id,
            "createdate": iso_ms(self.created_ms),
            MODIFIED[object_type]: iso_ms(self.updated_ms),
        }


@dataclass
class Store:
    """Everything the sandbox holds; ``clock`` gives epoch ms (tests may pin it to make
    equal timestamps)."""

    clock: Callable[[], int] = lambda: int(time.time() * 1000)
    records: dict[str, dict[str, Record]] = field(
        default_factory=lambda: {t: {} for t in OBJECT_TYPES}
    )
    links: set[tuple[str, str, str, str]] = field(default_factory=set)
    property_defs: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {t: {} for t in OBJECT_TYPES}
    )
    property_groups: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    _ids: Iterable[int] = field(default_factory=lambda: itertools.count(1001))
    _events: Iterable[int] = field(default_factory=lambda: itertools.count(9001))
    journal: Journal = field(default_factory=Journal)

    # ------------------------------------------------------------- a person's edits

    def create(self, kind: str, properties: Mapping[str, str], *, at: int | None = None) -> str:
        rid, now = str(next(iter(self._ids))), self._now(at)
        record = Record(rid, {}, now, now)
        self.records[self._type(kind)][rid] = record
        self._set(record, properties, now)
        self._journal(kind, rid, "CREATE", now, properties)
        return rid

    def update(
        self, kind: str, rid: str, properties: Mapping[str, str], *, at: int | None = None
    ) -> None:
        record = self.records[self._type(kind)][rid]
        now = self._now(at)
        self._set(record, properties, now)
        record.updated_ms = now
        self._journal(kind, rid, "UPDATE", now, properties)

    def archive(self, kind: str, rid: str, *, at: int | None = None) -> None:
        record = self.records[self._type(kind)][rid]
        record.archived_ms = record.updated_ms = self._now(at)
        self._journal(kind, rid, "DELETE", record.archived_ms)

    def move_deal(self, deal_id: str, stage: str, *, at: int | None = None) -> None:
        self.update("deals", deal_id, {"dealstage": stage}, at=at)

    def associate(self, kind: str, rid: str, to_kind: str, to_id: str) -> None:
        a, b = self._type(kind), self._type(to_kind)
        self.links |= {(a, rid, b, to_id), (b, to_id, a, rid)}
        now = self._now(None)
        self.journal.write(
            now,
            self._journal_event(a, rid, "ASSOCIATION_ADDED", now),
            self._journal_event(b, to_id, "ASSOCIATION_ADDED", now),
        )

    def signed_webhook(
        self,
        events: Iterable[Mapping[str, Any]],
        *,
        secret: str,
        url: str,
        at: datetime | None = None,
    ) -> WebhookRequest:
        """A delivery as HubSpot sends it: the events as a JSON array, signed v3 with the
        app's client secret over method + url + body + timestamp (ms)."""
        when = at or datetime.now(UTC)
        stamp = str(int(when.timestamp() * 1000))
        body = json.dumps([self._event(e, when) for e in events]).encode()
        signed = f"POST{url}{body.decode()}{stamp}".encode()
        digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
        headers = {
            "content-type": "application/json",
            "x-hubspot-signature-v3": base64.b64encode(digest).decode(),
            "x-hubspot-request-timestamp": stamp,
        }
        return WebhookRequest("POST", url, headers, body, when)

    def event(self, kind: str, rid: str, change: str) -> dict[str, Any]:
        """One event about a record: ``change`` is creation, propertyChange or deletion."""
        name = WEBHOOK_NAMES[self._type(kind)]
        return {"subscriptionType": f"{name}.{change}", "objectId": int(rid)}

    # ------------------------------------------------------------- reads

    def live(self, kind: str, *, archived: bool = False) -> list[Record]:
        rows = self.records[kind].values()
        return sorted(
            (r for r in rows if (r.archived_ms is not None) == archived), key=lambda r: int(r.id)
        )

    def linked(self, kind: str, rid: str, to_kind: str) -> list[str]:
        return sorted(
            (t for a, f, b, t in self.links if (a, f, b) == (kind, rid, to_kind)), key=int
        )

    def _event(self, event: Mapping[str, Any], when: datetime) -> dict[str, Any]:
        return {
            "eventId": next(iter(self._events)),
            "subscriptionId": 1,
            "portalId": 62515,
            "appId": 1,
            "occurredAt": int(when.timestamp() * 1000),
            "attemptNumber": 0,
            **event,
        }

    def _journal(
        self, kind: str, rid: str, action: str, now: int, changes: Mapping[str, str] | None = None
    ) -> None:
        event = self._journal_event(self._type(kind), rid, action, now)
        if changes:
            event["propertyChanges"] = {k: str(v) for k, v in changes.items()}
        self.journal.write(now, event)

    def _journal_event(self, kind: str, rid: str, action: str, now: int) -> dict[str, Any]:
        return {
            "objectTypeId": TYPE_IDS[kind],
            "objectId": int(rid),
            "action": action,
            "portalId": JOURNAL_PORTAL,
            "occurredAt": iso_ms(now),
        }

    def _set(self, record: Record, properties: Mapping[str, str], now: int) -> None:
        for name, value in properties.items():
            record.properties[name] = str(value)
            record.history.setdefault(name, []).append((now, str(value)))

    def _now(self, at: int | None) -> int:
        return self.clock() if at is None else at

    def _type(self, kind: str) -> str:
        found = object_type(kind)
        if found is None:
            raise KeyError(kind)
        return found
