"""A small, realistic log for demos, tests and benchmarks: customers, invoices, pushes,
a failed attempt, a reconciliation run and a mismatch. Personal fields are sealed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from syncledger.audit.context import AuditContext
from syncledger.core.events import (
    Category,
    Envelope,
    EventData,
    LedgerPushFailed,
    LedgerPushRequested,
    LedgerPushSucceeded,
    MappingVersionPublished,
    MismatchDetected,
    ReconciliationCompleted,
    SourceRecordObserved,
    make_envelope,
    subject_for,
)
from syncledger.core.ids import sha256_hex, uuid7
from syncledger.core.keystore import KeyStore, MemoryKeyStore, PiiSealer, subject_key_id
from syncledger.core.store import EventStore
from syncledger.core.store_memory import MemoryEventStore

MAPPING = "qbo-invoice@3"


class SampleLog:
    def __init__(self, keys: KeyStore, entity: str, start: datetime) -> None:
        self.sealer, self.entity, self.clock = PiiSealer(keys), entity, start
        self.envelopes: list[Envelope] = []

    def _add(
        self,
        payload: EventData,
        category: Category,
        kind: str,
        raw_id: str,
        personal: dict[str, str] | None = None,
        customer: str | None = None,
    ) -> None:
        self.clock += timedelta(minutes=1)
        event_id = uuid7()
        pii = None
        if personal is not None and customer is not None:
            key = subject_key_id(self.entity, customer)
            pii = self.sealer.seal(key, personal, event_id)
        system = "hubspot" if category == "source" else "qbo"
        subject = subject_for(self.entity, category, system, kind, raw_id)
        self.envelopes.append(
            make_envelope(
                payload,
                entity=self.entity,
                subject=subject,
                actor="sample",
                occurred_at=self.clock,
                pii=pii,
                event_id=event_id,
            )
        )

    def mapping(self) -> None:
        self._add(
            MappingVersionPublished(
                ledger="qbo",
                mapping_version=MAPPING,
                sha256=sha256_hex(b"mapping"),
                content="mapping",
            ),
            "audit",
            "mapping",
            MAPPING,
        )

    def customer(self, n: int) -> str:
        ref = f"hubspot/customer/c{n}"
        self._add(
            SourceRecordObserved(
                ref=ref,
                kind="customer",
                version="1",
                content_sha256=sha256_hex(ref.encode()),
                record={"currency": "EUR"},
            ),
            "source",
            "customer",
            f"c{n}",
            {"name": f"Customer {n}", "email": f"c{n}@example.com"},
            ref,
        )
        return ref

    def invoice(
        self, customer: str, n: int, *, fail_first: bool = False, mismatch: bool = False
    ) -> str:
        ref = f"hubspot/invoice/i{n}"
        digest = sha256_hex(ref.encode())
        self._add(
            SourceRecordObserved(
                ref=ref,
                kind="invoice",
                version="1",
                content_sha256=digest,
                record={"total": "100.00", "issue_date": self.clock.date().isoformat()},
                customer_ref=customer,
            ),
            "source",
            "invoice",
            f"i{n}",
            {"billing_email": "ap@example.com"},
            customer,
        )
        key = sha256_hex(f"{ref}|1|qbo".encode())
        self._ledger(
            LedgerPushRequested(
                source_ref=ref,
                ledger="qbo",
                operation="create",
                idempotency_key=key,
                mapping_version=MAPPING,
                content_sha256=digest,
            ),
            n,
        )
        if fail_first:
            self._ledger(
                LedgerPushFailed(
                    source_ref=ref,
                    ledger="qbo",
                    idempotency_key=key,
                    attempt=1,
                    code="503",
                    message="unavailable",
                ),
                n,
            )
        self._ledger(
            LedgerPushSucceeded(
                source_ref=ref,
                ledger="qbo",
                ledger_ref=f"qbo/invoice/{1000 + n}",
                idempotency_key=key,
                content_sha256=digest,
                mapping_version=MAPPING,
            ),
            n,
        )
        if mismatch:
            self._add(
                MismatchDetected(
                    key=f"amount:{ref}",
                    mismatch_type="amount_mismatch",
                    ledger="qbo",
                    source_ref=ref,
                    expected="100.00",
                    actual="90.00",
                    run_id="run-1",
                ),
                "recon",
                "mismatch",
                f"i{n}",
            )
        return ref

    def _ledger(self, payload: EventData, n: int) -> None:
        self._add(payload, "ledger", "invoice", f"i{n}")

    def reconciliation(self, run_id: str, checked: int) -> None:
        self._add(
            ReconciliationCompleted(
                run_id=run_id,
                ledger="qbo",
                checked=checked,
                open_mismatches=1,
                detected=1,
                resolved=0,
            ),
            "recon",
            "run",
            run_id,
        )


async def write_sample_log(
    store: EventStore,
    keys: KeyStore,
    *,
    entity: str = "acme",
    customers: int = 3,
    invoices_per_customer: int = 2,
    start: datetime,
    batch: int = 500,
) -> list[str]:
    """Append the sample log; return the customer refs."""
    log = SampleLog(keys, entity, start)
    log.mapping()
    refs, n = [], 0
    for c in range(customers):
        refs.append(log.customer(c))
        for _ in range(invoices_per_customer):
            log.invoice(refs[-1], n, fail_first=n % 3 == 0, mismatch=n == 1)
            n += 1
    log.reconciliation("run-1", n)
    await _append(store, log.envelopes, batch)
    return refs


async def _append(store: EventStore, envelopes: Sequence[Envelope], batch: int) -> None:
    for i in range(0, len(envelopes), batch):
        await store.append(envelopes[i : i + batch])


def memory_context(data_dir: Path, *, entity: str = "acme", actor: str = "tester") -> AuditContext:
    """An :class:`AuditContext` on the in-memory store and keystore (tests, demos)."""
    return AuditContext(MemoryEventStore(), MemoryKeyStore(), data_dir, entity, actor)
