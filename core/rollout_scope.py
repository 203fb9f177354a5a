"""The rollout scope in force, as the log says it (``RolloutScopeChanged``), and the words
people read about records waiting for rollout (``status``, ``trace``, the console).

One subject per entity and ledger holds every change of scope in order, so the scope in
force is the last event on it. A new one is appended only when the configured rule's
digest differs from it (the way mapping versions are published, ``core/bootstrap.py``):
each change once, however many times a process starts, and back-and-forth changes each
logged. No rule and nothing logged yet appends nothing: a setup without ``[rollout]``
leaves the log as it always was.
"""

from __future__ import annotations

from collections.abc import Sequence

from syncledger.core.decode import read_wanted
from syncledger.core.errors import ConcurrencyError
from syncledger.core.events import (
    LedgerPushRequested,
    LedgerPushSucceeded,
    RecordHeldForRollout,
    RecordLinked,
    RolloutScopeChanged,
    SourceRecordObserved,
    make_envelope,
    subject_for,
)
from syncledger.core.rollout import EVERYTHING, RolloutRule, digest_of
from syncledger.core.store import EventStore
from syncledger.core.trace import TraceLine

#: ``sync_state.status`` (and ``records.status``) of a version held out of the scope
WAITING_FOR_ROLLOUT = "waiting_for_rollout"
#: how a status value reads for a person (every other value reads as it is)
_STATUS_WORDS = {WAITING_FOR_ROLLOUT: "waiting for rollout"}


def status_words(status: str) -> str:
    return _STATUS_WORDS.get(status, status)


def scope_subject(entity: str, ledger: str) -> str:
    return subject_for(entity, "audit", "syncledger", "rollout", ledger)


async def scope_in_force(store: EventStore, entity: str, ledger: str) -> RolloutScopeChanged | None:
    """The last scope change logged for ``ledger`` (None: never one)."""
    return (await _last_change(store, scope_subject(entity, ledger)))[1]


async def _last_change(store: EventStore, subject: str) -> tuple[int, RolloutScopeChanged | None]:
    last = await store.subject_last_seq(subject)
    if last == 0:
        return 0, None
    async for stored in store.read(subject, last):
        event = read_wanted(stored.raw, (RolloutScopeChanged,))
        if isinstance(event, RolloutScopeChanged):
            return last, event
    return last, None


async def publish_scope(
    store: EventStore, entity: str, ledger: str, rule: RolloutRule | None, actor: str
) -> str:
    """The digest of the scope in force; ``RolloutScopeChanged`` appended when it changed
    (a process racing us appends the same change first: read again, never twice)."""
    digest, subject = digest_of(rule), scope_subject(entity, ledger)
    for _ in range(3):
        seen, logged = await _last_change(store, subject)
        if (logged.rule_sha256 if logged is not None else EVERYTHING) == digest:
            return digest  # unchanged (never scoped and no rule: nothing to say)
        payload = RolloutScopeChanged(
            ledger=ledger, rule=None if rule is None else rule.as_written(), rule_sha256=digest
        )
        envelope = make_envelope(payload, entity=entity, subject=subject, actor=actor)
        try:
            await store.append([envelope], expect={subject: seen})
            return digest
        except ConcurrencyError:
            continue
    return digest


def held_line(lines: Sequence[TraceLine]) -> str | None:
    """``trace``: "waiting for rollout on qbo …" when the record's latest version is held
    and nothing has pushed it since; None otherwise."""
    latest: str | None = None
    held: RecordHeldForRollout | None = None
    for line in lines:
        event = line.event
        if isinstance(event, SourceRecordObserved):
            latest = event.content_sha256
        elif isinstance(event, RecordHeldForRollout):
            held = event
        elif isinstance(event, LedgerPushRequested | LedgerPushSucceeded | RecordLinked):
            held = None if held is not None and event.ledger == held.ledger else held
    if held is None or held.content_sha256 != latest:
        return None
    return (
        f"waiting for rollout on {held.ledger}: out of the [rollout] scope "
        f"{held.rule_sha256[:12]}; widen it and sync to push it"
    )
