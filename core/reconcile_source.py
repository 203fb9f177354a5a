"""What the reconciler needs of the source records' content, read from the log.

The read models keep a record's total and currency; a due date, the item codes of the
lines and a customer's name are in the ``SourceRecordObserved`` events only. This fold keeps,
per record, those facts of its newest version together with that version's content hash:
the reconciler compares them only when that hash is the one the log says was pushed (the
ledger was given this content; a newer version still on its way is not a mismatch).

Only public fields are read (personal ones are sealed, and not compared: a customer's
e-mail is one of them). A customer's name is personal too: it is compared by its keyed
digest (``core/pii_names.py``), which the event carries; an event written while names were
kept in clear has its name digested here when a digest is given (else it is kept as read).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from syncledger.core.decode import decode_wanted
from syncledger.core.errors import UndecodableEvent
from syncledger.core.events import SourceRecordObserved
from syncledger.core.pii_names import NameDigest
from syncledger.core.store import EventStore
from syncledger.core.sync_state import SyncState, version_key

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SourceFacts:
    """The compared facts of one source record version."""

    content_sha256: str
    version: str
    due_date: date | None = None
    item_codes: tuple[str, ...] | None = None
    #: customers: the name's keyed digest (or, from an old event read without a digest,
    #: the name as it was kept in clear)
    name: str | None = None


@dataclass
class SourceContent:
    """Per source ref, the facts of its newest version (``names``: digests names that
    old events kept in clear)."""

    facts: dict[str, SourceFacts] = field(default_factory=dict)
    names: NameDigest | None = None

    def fold(self, event: SourceRecordObserved) -> None:
        known = self.facts.get(event.ref)
        if known is not None and version_key(event.version) < version_key(known.version):
            return  # an older version arriving late never overwrites a newer one
        self.facts[event.ref] = facts_of(event, self.names)

    def pushed(self, ref: str, pushed_sha: str | None) -> SourceFacts | None:
        """The facts of ``ref`` when its newest version is the one pushed."""
        found = self.facts.get(ref)
        return found if found is not None and found.content_sha256 == pushed_sha else None


def facts_of(event: SourceRecordObserved, names: NameDigest | None = None) -> SourceFacts:
    record = event.record
    return SourceFacts(
        event.content_sha256,
        event.version,
        due_date=_date(record.get("due_date")) if event.kind == "invoice" else None,
        item_codes=_codes(record.get("lines")) if event.kind != "customer" else None,
        name=_name(event, names) if event.kind == "customer" else None,
    )


def _name(event: SourceRecordObserved, names: NameDigest | None) -> str | None:
    """The digest the event carries; an old event's clear name, digested when possible."""
    if event.name_digest is not None:
        return event.name_digest
    clear = _text(event.record.get("name"))
    return names(clear) if names is not None and clear is not None else clear


def _date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _codes(lines: Any) -> tuple[str, ...] | None:
    if not isinstance(lines, list):
        return None
    codes = [ln.get("item_code") for ln in lines if isinstance(ln, dict)]
    return tuple(c for c in codes if isinstance(c, str) and c)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


async def load_state_and_content(
    store: EventStore, state: SyncState, names: NameDigest | None = None
) -> SourceContent:
    """Fold the entity's source events and the ledger's events into ``state`` (as
    ``SyncState.load`` does) and the source content into the result: one read of the log."""
    content = SourceContent(names=names)
    await state.load(store, also=lambda event: _fold_content(content, event))
    return content


def _fold_content(content: SourceContent, event: dict[str, Any]) -> None:
    try:
        observed = decode_wanted(event, (SourceRecordObserved,))
    except UndecodableEvent:
        return  # SyncState.apply has logged it
    if isinstance(observed, SourceRecordObserved):
        content.fold(observed)
