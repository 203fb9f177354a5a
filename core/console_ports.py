"""What the web console reads and decides through (``core/console.py`` renders it).

The console is core code and reaches the read models, the audit trace and the ledger
only through :class:`ConsoleBackend`; the composition root
(``core/console_wiring.py``) implements it over one runtime. Every value it hands the
pages is a frozen dataclass of text, numbers and :class:`~decimal.Decimal` — nothing the
templates could call back into.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from syncledger.core.alerts import AlertBook


@dataclass(frozen=True, slots=True)
class StatusRow:
    kind: str
    status: str
    count: int


@dataclass(frozen=True, slots=True)
class LedgerStatus:
    """One ledger of the entity (``ledger`` None: records not sent towards any ledger)."""

    ledger: str | None
    rows: tuple[StatusRow, ...]
    open_mismatches: int
    open_errors: int
    waiting_review: int = 0  # of the open errors: records waiting for a person's decision


@dataclass(frozen=True, slots=True)
class StatusView:
    entity: str
    events: int
    ledgers: tuple[LedgerStatus, ...]
    unfoldable: int
    parked_alerts: int
    parked_channels: tuple[tuple[str, str], ...]  # (channel, reason)


@dataclass(frozen=True, slots=True)
class Candidate:
    ledger_id: str
    name: str  # what the ledger calls it, or why it could not be read
    matched: str = ""  # why it matched: "matched by name and e-mail" (rules, no values)


@dataclass(frozen=True, slots=True)
class ReviewItem:
    ref: str
    reason: str
    candidates: tuple[Candidate, ...]


@dataclass(frozen=True, slots=True)
class ReviewQueue:
    ledger: str
    items: tuple[ReviewItem, ...]


@dataclass(frozen=True, slots=True)
class Decision:
    """An operator's answer to one review item: link to ``link``, or create (None)."""

    ref: str
    link: str | None
    note: str
    actor: str


@dataclass(frozen=True, slots=True)
class DifferenceView:
    """One field of an open conflict (a personal one shows no value: ``personal``)."""

    field: str
    ledger: str
    ours: str
    personal: bool


@dataclass(frozen=True, slots=True)
class OpenConflictView:
    """A conflict waiting for a decision: what differs, the version the decision is about."""

    ref: str
    ledger: str
    ledger_ref: str
    recorded_at: str
    expected_version: str | None
    actual_version: str | None
    differences: tuple[DifferenceView, ...]


@dataclass(frozen=True, slots=True)
class ConflictDecision:
    """An operator's decision on one open conflict."""

    ref: str
    decision: Literal["keep_ledger", "overwrite"]
    note: str
    actor: str


@dataclass(frozen=True, slots=True)
class ConflictRow:
    recorded_at: str
    source_ref: str
    ledger: str
    ledger_ref: str
    expected_version: str | None
    actual_version: str | None
    resolution: str
    detail: str


@dataclass(frozen=True, slots=True)
class TraceStepView:
    seq: int
    occurred_at: str
    type: str
    summary: str
    personal: str  # the personal data's status (never the fields themselves)
    proof: tuple[str, ...]  # RFC 9162 inclusion path, hex


@dataclass(frozen=True, slots=True)
class TraceView:
    ref: str
    facts: tuple[tuple[str, str], ...]  # (label, value), as `syncledger audit trace` prints
    steps: tuple[TraceStepView, ...]


class ConsoleBackend(Protocol):
    """The reads and the decisions (review, conflicts) the console offers, for one entity."""

    @property
    def entity(self) -> str: ...

    @property
    def reports_root(self) -> Path:
        """``<data dir>/reports``: the only folder the console serves files from."""
        ...

    async def status(self) -> StatusView: ...

    async def error_lines(self) -> list[str]:
        """The lines of ``syncledger errors`` (records, mismatches, fixes)."""
        ...

    async def reviews(self) -> ReviewQueue: ...

    async def decide(self, decision: Decision) -> str:
        """Append ``ReviewResolved`` (actor ``decision.actor``); the confirmation line.
        ``ConfigurationError`` says why a decision is refused."""
        ...

    async def conflicts(self) -> list[ConflictRow]:
        """Every conflict detected, oldest first (the history)."""
        ...

    async def open_conflicts(self) -> list[OpenConflictView]:
        """The conflicts on the configured ledger waiting for a decision."""
        ...

    async def settle(self, decision: ConflictDecision) -> str:
        """Append ``ConflictSettled`` (actor ``decision.actor``); the confirmation line.
        ``ConfigurationError`` says why a decision is refused."""
        ...

    async def trace(self, ref: str) -> TraceView:
        """A record's history with inclusion proofs; ``SyncLedgerError`` when unknown."""
        ...

    async def alerts(self) -> AlertBook: ...

    async def unready(self) -> str | None:
        """None when the log (NATS) and the read models answer; else one line why not."""
        ...
