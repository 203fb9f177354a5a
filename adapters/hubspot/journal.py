"""HubSpot's Webhooks Journal (2026-03): a pull feed of change events with offsets.

Facts (SOURCES.md §1.7 and HubSpot's 2026-03 ``webhooksJournal.json`` spec, read for facts
only; HubSpot's journal-entries guide, developers.hubspot.com/docs/api-reference/2026-03/
webhooks-journal/journal-entries/guide):

- ``GET /webhooks-journal/journal/2026-03/latest`` (and ``/earliest``): one entry;
  ``GET /webhooks-journal/journal/2026-03/batch/{offset}/next/{count}`` and
  ``.../batch/earliest/{count}`` (``count`` >= 1): a ``BatchResponseJournalFetchResponse``
  (``status``, ``results``, ``startedAt``, ``completedAt``) whose ``results`` are
  ``JournalFetchResponse`` entries: ``currentOffset`` (a UUID), ``expiresAt`` and ``url``;
- an entry's ``url`` is a temporary pre-signed URL of the entry's JSON file, requested
  **without** an ``Authorization`` header (guide; the 2027-03-beta reference says so in
  the same words); the journal keeps the past **3 days** (guide);
- OAuth apps only: "Webhooks v4" (the journal) is not available to static/private-token
  apps (§1.7 feature matrix); the spec's only security scheme on these paths is ``oauth2``;
- the journal paths carry ``x-hubspot-rate-limit-exemptions: daily, ten-secondly``: they
  do not count against the account's limits. We still send them through the account's
  burst limiter (the safe side: no journal limit is documented, so none is assumed);
- an offset that expired or does not exist: ``404`` (2027-03-beta reference, "Fails with a
  404 if the offset has expired or doesn't exist"; assumed for 2026-03 too).

**Not documented by HubSpot** (no spec schema): the entry file's content. The fields read
here are those of a HubSpot developer advocate's journal tool (GitHub
``sejal27/sej-webhooks-journal`` ``src/types/api.ts``: ``offset``, ``publishedAt``,
``journalEvents[]`` with ``objectTypeId``, ``objectId``, ``action``, ``portalId``,
``propertyChanges``) [S]. The safe path: an event is only a *hint* (its record is re-read
through the CRM API before anything reaches the log), an event naming an object type we
do not read is skipped, and a file without a ``journalEvents`` list stops the read (the
offset does not move) instead of being taken as empty.

Object type ids: contacts ``0-1``, companies ``0-2``, deals ``0-3`` (SOURCES §1.1 deals
path; the others as HubSpot numbers them), line items ``0-8`` — a line item's event hints
the deals it belongs to (one parent, §1.5).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from syncledger.adapters.http import LedgerHttp
from syncledger.adapters.hubspot.errors import HubSpotError, boundary
from syncledger.core.errors import ConfigurationError
from syncledger.core.source_ports import RecordHint

BASE = "/webhooks-journal/journal/2026-03"
#: entries asked per batch (the spec sets a minimum of 1 and documents no maximum)
BATCH = 50
#: object type id → (the reader's kind, hint kind, id prefix); see the module docstring
OBJECTS = {
    "0-1": ("contacts", "customer", "contact-"),
    "0-2": ("companies", "customer", ""),
    "0-3": ("deals", "invoice", ""),
}
LINE_ITEMS = "0-8"
GONE = {"DELETE", "GDPR_DELETE"}


class JournalOffsetLost(HubSpotError):
    """The stored offset is no longer in the journal (older than its 3 days)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One ``JournalFetchResponse``."""

    offset: str
    url: str


@dataclass(frozen=True, slots=True)
class Event:
    """What one journal event says: which object changed and how."""

    object_type: str
    object_id: str
    action: str
    portal: str | None


def wanted(value: str | None, *, static_token: bool) -> bool:
    """``SYNCLEDGER_HUBSPOT_JOURNAL``: ``true`` or ``false`` (unset: false); ``true`` needs
    OAuth, since the journal serves OAuth apps only."""
    text = (value or "false").strip().lower()
    if text not in {"true", "false"}:
        raise ConfigurationError(f"SYNCLEDGER_HUBSPOT_JOURNAL is {value!r}: write true or false")
    if text == "true" and static_token:
        raise ConfigurationError(
            "SYNCLEDGER_HUBSPOT_JOURNAL=true needs OAuth (SYNCLEDGER_HUBSPOT_CLIENT_ID, "
            "_CLIENT_SECRET, _REFRESH_TOKEN): HubSpot's Webhooks Journal serves OAuth apps "
            "only, not a static token (unset SYNCLEDGER_HUBSPOT_ACCESS_TOKEN or the journal)"
        )
    return text == "true"


def _entry(raw: Any) -> Entry:
    if not isinstance(raw, dict) or not raw.get("currentOffset") or not raw.get("url"):
        raise HubSpotError("HubSpot answered a journal entry without its offset or url")
    return Entry(str(raw["currentOffset"]), str(raw["url"]))


def _entries(body: Any) -> list[Entry]:
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise HubSpotError("HubSpot answered a journal batch without results", transient=True)
    return [_entry(r) for r in body["results"]]


def events_of(document: Any) -> list[Event]:
    """The events of one entry file (fields: module docstring)."""
    rows = document.get("journalEvents") if isinstance(document, dict) else None
    if not isinstance(rows, list):
        raise HubSpotError(
            "a HubSpot journal file holds no journalEvents list: its offset is kept and "
            "read again next time",
            transient=True,
        )
    return [e for e in (_event(r) for r in rows) if e is not None]


def _event(row: Any) -> Event | None:
    if not isinstance(row, dict) or row.get("objectId") is None:
        return None
    portal = row.get("portalId")
    return Event(
        str(row.get("objectTypeId", "")),
        str(row["objectId"]),
        str(row.get("action", "")).upper(),
        None if portal is None else str(portal),
    )


def hints_of(events: Iterable[Event], portal: str | None) -> list[RecordHint]:
    """Each object once (its last event decides ``deleted``), in the journal's order;
    events of another portal (the global journal spans every installing account) and of
    object types we do not read are skipped. Line items are left to :func:`line_items`."""
    found: dict[tuple[str, str], RecordHint] = {}
    for event in events:
        if portal is not None and event.portal is not None and event.portal != portal:
            continue
        if event.object_type not in OBJECTS:
            continue
        _kind, hint_kind, prefix = OBJECTS[event.object_type]
        key = (hint_kind, prefix + event.object_id)
        found.pop(key, None)
        found[key] = RecordHint(hint_kind, key[1], event.action in GONE)
    return list(found.values())


def line_items(events: Iterable[Event], portal: str | None) -> list[str]:
    return list(
        dict.fromkeys(
            e.object_id
            for e in events
            if e.object_type == LINE_ITEMS and (portal is None or e.portal in (None, portal))
        )
    )


class HubSpotJournal:
    """The journal calls: ``api`` (the account's authenticated client) for the journal,
    ``files`` (no credentials) for the entries' pre-signed files."""

    def __init__(self, api: LedgerHttp, files: LedgerHttp, *, batch: int = BATCH) -> None:
        self._api = api
        self._files = files
        self._batch = batch

    async def latest(self) -> str | None:
        """The newest entry's offset; None when the journal holds none (a 404)."""
        try:
            with boundary("reading HubSpot's latest journal entry"):
                body = await self._api.json("GET", f"{BASE}/latest", idempotent=True)
        except HubSpotError as exc:
            if exc.code == "404":
                return None
            raise
        return _entry(body).offset

    async def after(self, offset: str | None) -> list[Entry]:
        """Up to a batch of entries after ``offset`` (None: from the earliest)."""
        path = (
            f"{BASE}/batch/earliest/{self._batch}"
            if offset is None
            else f"{BASE}/batch/{offset}/next/{self._batch}"
        )
        try:
            with boundary("reading HubSpot's webhooks journal"):
                body = await self._api.json("GET", path, idempotent=True)
        except HubSpotError as exc:
            if exc.code == "404" and offset is not None:
                raise JournalOffsetLost(
                    f"HubSpot's journal no longer holds offset {offset} (it keeps 3 days)",
                    code="404",
                ) from exc
            if exc.code == "404":
                return []
            raise
        return _entries(body)

    async def events(self, entries: Sequence[Entry]) -> list[Event]:
        found: list[Event] = []
        for entry in entries:
            with boundary("downloading a HubSpot journal file"):
                document = await self._files.json("GET", entry.url, idempotent=True)
            found += events_of(document)
        return found

    @property
    def batch(self) -> int:
        return self._batch

    async def aclose(self) -> None:
        await self._api.aclose()
        await self._files.aclose()
