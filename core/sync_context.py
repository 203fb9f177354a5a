"""What every part of the sync shares: the work item, the outcome, the service's settings
and ports (:class:`SyncContext`), and the pure rules (idempotency key, backoff, the
records a record needs in the ledger first)."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from syncledger.core.mapping import Mapping
from syncledger.core.model import CreditNote, Customer, Payment, Record, RecordRef, Refund
from syncledger.core.ports import LedgerAdapter
from syncledger.core.store import EventStore
from syncledger.core.sync_matches import BatchMatches
from syncledger.core.sync_state import RecordState, SyncState
from syncledger.core.validation import LedgerRules

Status = Literal[
    "pushed",
    "linked",
    "recovered",
    "rejected",
    "skipped",
    "retry",
    "abandoned",
    "ignored",
    "review",  # waiting for a person to decide (``syncledger review``)
    "deferred",  # held for a batch; replaced by the batch's outcome in handle_many
    "held",  # out of the rollout scope: waits for rollout (``core/rollout_gate.py``)
]
Operation = Literal["create", "update", "void"]
#: who wins a conflicting ledger-side edit, per kind (the source owns contact details; the
#: ledger owns posted documents and everything about money)
DEFAULT_AUTHORITY: dict[str, str] = {
    "customer": "source",
    "invoice": "ledger",
    "credit_note": "ledger",
}
#: a dependency's reference, the rejection code and why the dependent cannot go yet
Missing = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Outcome:
    status: Status
    source_ref: str | None = None
    retry_after: float | None = None


def idempotency_key(source_ref: str, content_sha: str, ledger: str) -> str:
    return hashlib.sha256(f"{source_ref}\x00{content_sha}\x00{ledger}".encode()).hexdigest()


def backoff(attempt: int, retry_after: float | None, base: float, cap: float = 300.0) -> float:
    """Exponential backoff with full jitter, never sooner than the ledger asked."""
    delay: float = random.uniform(0, min(cap, base * 2 ** (attempt - 1)))
    return max(delay, retry_after or 0.0)


@dataclass(frozen=True, slots=True)
class Work:
    ref: RecordRef
    state: RecordState
    record: Record | None  # None: a source delete
    content_sha: str
    key: str
    causation: str
    correlation: str
    operation: Operation = "create"
    applied: Decimal | None = None  # payments: the part applied (None: all of it)


@dataclass(slots=True)
class SyncContext:
    """The ports and settings of one sync service, shared by its parts."""

    store: EventStore
    ledger: LedgerAdapter
    state: SyncState
    entity: str
    actor: str
    mapping_version: str
    mapping: Mapping | None
    authority: dict[str, str]
    home_currency: str
    max_attempts: int
    base_delay: float
    #: what the ledger accepts (its platform folder's ``rules.py``)
    rules: LedgerRules
    #: called right before every ledger write (and every push intent); raises
    #: ``OwnershipLost`` once this process no longer holds the entity+ledger lease
    guard: Callable[[], None] | None = field(default=None)
    #: the customer details the ledger owns (``customer_field_authority``): kept out of
    #: customer updates (a create still sends them: the ledger holds nothing yet)
    ledger_owned: tuple[str, ...] = ()
    #: the current batch's customer matches, read at once (``core/sync_matches.py``)
    matches: BatchMatches = field(default_factory=BatchMatches)

    @property
    def name(self) -> str:
        """The ledger's id (``qbo``, ``xero``, …)."""
        return self.ledger.ledger

    def check_owner(self) -> None:
        if self.guard is not None:
            self.guard()

    def link_of(self, ref: str) -> str:
        linked = self.state.get(ref).ledger_ref
        assert linked is not None, f"dependency {ref} checked before the push"
        return linked


def needs(rec: Record) -> list[tuple[str, str]]:
    """The records ``rec`` refers to, which must be in the ledger before it."""
    if isinstance(rec, Customer):
        return []
    needed = [("customer", rec.customer_key())]
    if isinstance(rec, Payment):
        needed.append(("invoice", rec.invoice_id))
    if isinstance(rec, CreditNote) and rec.invoice_id:
        needed.append(("invoice", rec.invoice_id))
    if isinstance(rec, Refund):
        needed.append((rec.credit_kind, rec.credit_id))
    return needed
