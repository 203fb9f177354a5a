"""Conflicts a person decides (issue 16 "Every problem has a way out", issue 12's console).

A conflict is a ledger record edited there since we last wrote it
(``ConflictDetected``; ``core/sync_updates.py`` when a push finds the version moved,
``core/backsync.py`` when a document's total changed in the ledger). Where the source
owns the fields (``source_wins``) it was written over and needs nobody; a
``needs_review`` conflict stays *open* (``SyncState``: ``conflict_open``) until:

* a person decides it (``ConflictSettled``, actor in the envelope): ``keep_ledger``
  accepts the ledger's version — nothing is pushed, the record's ledger version token and
  total become the ledger's, so it is not flagged again until the source changes;
  ``overwrite`` has the worker push our latest version over the edit with the version
  token the person saw (never a create, so never a duplicate; a ledger that changed again
  meanwhile refuses it and a new conflict opens);
* or a later push of the record succeeds (the source changed and won, or a retry).

What differs is told field by field (the ledger's value, ours) from what the conflict
recorded; personal and name fields are named without their values, which the event
carries sealed under the data subject's key: ``--personal`` opens them while that key
exists (``[erased]`` after retention shredded it). A decision on a conflict that is not
open is refused (``ConfigurationError``: one line, exit 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from syncledger.core.decode import read_wanted
from syncledger.core.errors import ConfigurationError, KeyStoreError, SubjectErased
from syncledger.core.events import (
    ConflictDetected,
    ConflictSettled,
    Envelope,
    FieldDifference,
    make_envelope,
)
from syncledger.core.ids import uuid7
from syncledger.core.keystore import KeyStore, PiiSealer
from syncledger.core.model import RecordRef
from syncledger.core.store import EventStore
from syncledger.core.subjects import entity_filter, source_subject
from syncledger.core.sync_state import SyncState

Decision = Literal["keep_ledger", "overwrite"]
#: what a personal value shows as without ``--personal``
HIDDEN = "(personal: --personal shows it)"
ERASED = "[erased]"
UNAVAILABLE = "(its key is not available)"


@dataclass(frozen=True, slots=True)
class ConflictDesk:
    """The log (and the keys, to open personal values) for one entity and ledger."""

    store: EventStore
    keys: KeyStore | None
    entity: str
    ledger: str
    actor: str


@dataclass(frozen=True, slots=True)
class ShownDifference:
    field: str
    ledger: str
    ours: str
    personal: bool


@dataclass(frozen=True, slots=True)
class OpenConflict:
    ref: str
    ledger: str
    ledger_ref: str
    recorded_at: str
    expected_version: str | None
    actual_version: str | None
    detail: str
    differences: tuple[ShownDifference, ...]


async def _state(desk: ConflictDesk) -> SyncState:
    state = SyncState(desk.entity, desk.ledger)
    await state.load(desk.store)
    return state


async def open_conflicts(desk: ConflictDesk, *, personal: bool = False) -> list[OpenConflict]:
    """The open conflicts on the desk's ledger, by record, each as last detected."""
    state = await _state(desk)
    wanted = {r.source_ref for r in state.records.values() if r.conflict_open}
    latest: dict[str, tuple[Envelope, ConflictDetected]] = {}
    async for stored in desk.store.read(entity_filter(desk.entity, "ledger", desk.ledger)):
        event = read_wanted(stored.raw, (ConflictDetected,))
        if isinstance(event, ConflictDetected) and event.source_ref in wanted:
            latest[event.source_ref] = (stored.envelope(), event)
    opener = _Opener(desk.keys if personal else None)
    return [_open(env, c, opener) for ref, (env, c) in sorted(latest.items())]


async def conflicts_seen(desk: ConflictDesk) -> int:
    """How many conflicts were ever detected on the desk's ledger (open or not)."""
    found = 0
    async for stored in desk.store.read(entity_filter(desk.entity, "ledger", desk.ledger)):
        found += isinstance(read_wanted(stored.raw, (ConflictDetected,)), ConflictDetected)
    return found


class _Opener:
    """Opens a conflict's sealed personal values (only when given the keys)."""

    def __init__(self, keys: KeyStore | None) -> None:
        self._sealer = PiiSealer(keys) if keys is not None else None

    def values(self, env: Envelope) -> dict[str, Any] | str:
        """field → [ledger, ours], or what to show instead of each value."""
        if self._sealer is None or env.pii is None:
            return HIDDEN
        try:
            opened = self._sealer.open(env.pii, env.id)
        except SubjectErased:
            return ERASED
        except KeyStoreError:
            return UNAVAILABLE
        found = opened.get("differences")
        return found if isinstance(found, dict) else UNAVAILABLE


def _open(env: Envelope, c: ConflictDetected, opener: _Opener) -> OpenConflict:
    sealed = opener.values(env) if any(d.personal for d in c.differences) else {}
    return OpenConflict(
        ref=c.source_ref,
        ledger=c.ledger,
        ledger_ref=c.ledger_ref,
        recorded_at=f"{env.recorded_at:%Y-%m-%d %H:%M:%S}",
        expected_version=c.expected_version,
        actual_version=c.actual_version,
        detail=c.detail,
        differences=tuple(_shown(d, sealed) for d in c.differences),
    )


def _shown(d: FieldDifference, sealed: dict[str, Any] | str) -> ShownDifference:
    if not d.personal:
        return ShownDifference(d.field, d.ledger or "", d.ours or "", False)
    if isinstance(sealed, str):
        return ShownDifference(d.field, sealed, sealed, True)
    pair = sealed.get(d.field)
    if not isinstance(pair, list) or len(pair) != 2:
        return ShownDifference(d.field, UNAVAILABLE, UNAVAILABLE, True)
    return ShownDifference(d.field, str(pair[0]), str(pair[1]), True)


def conflict_lines(found: list[OpenConflict], ledger: str, seen: int) -> list[str]:
    """``syncledger conflicts``: each open conflict with what differs, and how to decide."""
    if not found:
        closed = f" ({seen} detected before: all settled)" if seen else ""
        return [f"no open conflicts on {ledger}{closed}"]
    lines = [f"{len(found)} open conflict{'s' if len(found) != 1 else ''} on {ledger}:"]
    for c in found:
        lines.append(
            f"  {c.ref}  edited in {c.ledger} as {c.ledger_ref} "
            f"(version {c.expected_version or '?'} → {c.actual_version or '?'}, {c.recorded_at})"
        )
        lines.extend(
            f"    {d.field}: ledger {d.ledger}, ours {d.ours}"
            if d.ledger != d.ours or not d.personal
            else f"    {d.field}: {d.ledger}"
            for d in c.differences
        )
        if not c.differences:
            lines.append("    (what differs was not recorded: `syncledger trace` has its history)")
    lines.append(
        "decide with: syncledger conflicts <ref> --keep-ledger  (the ledger's version "
        "stands)  or  --overwrite  (our version is pushed over it)"
    )
    return lines


async def settle_conflict(
    desk: ConflictDesk, ref: RecordRef, decision: Decision, note: str = ""
) -> str:
    """Append the decision on one open conflict; the worker carries out an overwrite."""
    rec = (await _state(desk)).records.get(str(ref))
    if rec is None or not rec.conflict_open:
        raise ConfigurationError(
            f"{ref} has no open conflict on {desk.ledger}: `syncledger conflicts` lists "
            "the open ones"
        )
    payload = ConflictSettled(
        ref=str(ref),
        ledger=desk.ledger,
        decision=decision,
        ledger_version=rec.conflict_version,
        request_id=uuid7(),
        note=note,
    )
    subject = source_subject(desk.entity, ref)
    await desk.store.append(
        [make_envelope(payload, entity=desk.entity, subject=subject, actor=desk.actor)]
    )
    if decision == "keep_ledger":
        return (
            f"{ref}: the ledger's version (version {rec.conflict_version}) is kept; "
            "nothing is pushed"
        )
    return (
        f"{ref}: our version will be pushed over {desk.ledger}'s edit (version "
        f"{rec.conflict_version}); the worker does it next (`syncledger trace` follows it)"
    )
