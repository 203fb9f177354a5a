"""What audit operations run against: an event store, a keystore, a data directory.

The main CLI registers a factory (``syncledger.audit.cli.set_context_factory``) that opens the real
JetStream store and SQLite keystore; tests build contexts on the in-memory fakes.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from syncledger.audit.events import audit_subject
from syncledger.core.events import EventData, make_envelope
from syncledger.core.keystore import KeyStore
from syncledger.core.progress import Meter, silent
from syncledger.core.store import EventStore


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class AuditContext:
    """Everything an audit command needs. ``kek_file`` is only used by KEK rotation."""

    store: EventStore
    keystore: KeyStore
    data_dir: Path
    entity: str
    actor: str
    kek_file: Path | None = None
    origin: str = "syncledger/SYNCLEDGER"
    clock: Callable[[], datetime] = field(default=utc_now)
    #: progress of long work (retention, export) on a terminal; silent elsewhere
    meter: Meter = field(default=silent)

    @property
    def audit_dir(self) -> Path:
        return self.data_dir / "audit"

    async def append_audit(
        self,
        payload: EventData,
        kind: str,
        raw_id: str,
        *,
        entity: str | None = None,
        first: bool = False,
    ) -> int:
        """Append one audit event; return its stream sequence. ``first``: only as the
        first event of its subject (``ConcurrencyError`` when one is there already)."""
        ent = entity or self.entity
        envelope = make_envelope(
            payload,
            entity=ent,
            subject=audit_subject(ent, kind, raw_id),
            actor=self.actor,
            occurred_at=self.clock(),
        )
        expect = {envelope.subject: 0} if first else None
        (seq,) = await self.store.append([envelope], expect)
        return seq


ContextFactory = Callable[[], AbstractAsyncContextManager[AuditContext]]
