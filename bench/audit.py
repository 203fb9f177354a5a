"""Audit benchmarks: a checkpoint over 1,000,000 events; export and verify of a
100,000-event package. Prints seconds, events/s, and the ratio to a raw baseline
(hashing the same bytes with hashlib) measured in the same run. Targets: < 10 s each.

    .venv/bin/python bench/audit.py [--events 1000000] [--package-events 100000]
"""

# ruff: noqa: E402 - imports must follow the sys.path fix below
from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/audit.py`, this file's folder comes first on sys.path and its name
# would shadow the `audit` package: drop that folder before importing it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import argparse
import asyncio
import hashlib
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric import x25519

from syncledger.audit.checkpoints import checkpoint_now
from syncledger.audit.context import AuditContext
from syncledger.audit.package import export_package
from syncledger.audit.sample import write_sample_log
from syncledger.audit.scope import Scope
from syncledger.audit.signing import SigningKeyring
from syncledger.audit.verify import signer_map, verify_package
from syncledger.core.events import Envelope
from syncledger.core.keystore import MemoryKeyStore
from syncledger.core.store import STREAM_SUBJECTS, StoredEvent, subject_matches
from syncledger.core.store_memory import MemoryEventStore

TEMPLATE = (
    '{{"actor":"sync","causation_id":null,"correlation_id":"{id}","data":{{"content_sha256":'
    '"{digest}","customer_ref":"hubspot/customer/c{c}","kind":"invoice","record":{{"currency":'
    '"EUR","total":"{total}.00"}},"ref":"hubspot/invoice/i{n}","version":"1"}},"data_sha256":'
    '"{digest}","entity":"acme","id":"{id}","occurred_at":"2024-03-01T10:00:00Z","pii":null,'
    '"recorded_at":"2024-03-01T10:00:01Z","schema_version":1,"subject":'
    '"sl.acme.source.hubspot.invoice.i{n}","type":"SourceRecordObserved"}}'
)


class RawStore:
    """An event store holding pre-serialised events (building 1M envelopes through pydantic
    would dominate the run); implements what a checkpoint uses."""

    def __init__(self, raws: list[bytes]) -> None:
        self.events = [
            StoredEvent(i + 1, "sl.acme.source.hubspot.invoice.x", r) for i, r in enumerate(raws)
        ]

    async def append(self, events: Sequence[Envelope], expect: object = None) -> list[int]:
        start = len(self.events)
        for i, ev in enumerate(events):
            self.events.append(StoredEvent(start + i + 1, ev.subject, ev.to_bytes()))
        return list(range(start + 1, len(self.events) + 1))

    async def read(
        self, subjects: str = STREAM_SUBJECTS, from_seq: int = 1
    ) -> AsyncIterator[StoredEvent]:
        for stored in self.events[max(from_seq, 1) - 1 :]:
            if subjects == STREAM_SUBJECTS or subject_matches(subjects, stored.subject):
                yield stored

    async def last_seq(self) -> int:
        return len(self.events)


def raw_events(n: int) -> list[bytes]:
    return [
        TEMPLATE.format(
            id=f"0190{i:032x}"[:36], digest=f"{i:064x}", c=i % 5000, n=i, total=i % 997
        ).encode()
        for i in range(n)
    ]


def baseline(raws: Sequence[bytes]) -> float:
    start = time.perf_counter()
    for raw in raws:
        hashlib.sha256(raw).digest()
    return time.perf_counter() - start


def report(name: str, seconds: float, events: int, base: float) -> None:
    print(
        f"{name:<34} {seconds:8.2f} s {events / seconds:12,.0f} events/s "
        f"{seconds / base:8.1f}x raw sha256 ({base:.2f} s)"
    )


async def bench_checkpoint(n: int) -> None:
    raws = raw_events(n)
    base = baseline(raws)
    with tempfile.TemporaryDirectory() as tmp:
        store = RawStore(raws)
        ctx = AuditContext(store, MemoryKeyStore(), Path(tmp), "acme", "bench")  # type: ignore[arg-type]
        start = time.perf_counter()
        logged = await checkpoint_now(ctx)
        report(f"checkpoint over {n:,} events", time.perf_counter() - start, n, base)
        start = time.perf_counter()
        again = await checkpoint_now(ctx)
        took = time.perf_counter() - start
        grown = again.checkpoint.tree_size - logged.checkpoint.tree_size
        label = f"next checkpoint (+{grown} events)"
        print(f"{label:<34} {took * 1000:8.1f} ms (incremental: no recompute)")


async def sample_store(n: int) -> AuditContext:
    tmp = Path(tempfile.mkdtemp(prefix="sl-bench-"))
    ctx = AuditContext(MemoryEventStore(), MemoryKeyStore(), tmp, "acme", "bench")
    per_customer = 1 + 3 * 3 + 1  # customer + 3 invoices (3-4 events each)
    await write_sample_log(
        ctx.store,
        ctx.keystore,
        customers=max(1, n // per_customer),
        invoices_per_customer=3,
        start=datetime(2024, 1, 1, tzinfo=UTC),
    )
    return ctx


async def bench_package(n: int) -> None:
    ctx = await sample_store(n)
    raws = [s.raw async for s in ctx.store.read()]
    base = baseline(raws)
    auditor = x25519.X25519PrivateKey.generate()
    out = ctx.data_dir / "bench.slpkg"
    start = time.perf_counter()
    result = await export_package(ctx, Scope.parse("entity:acme"), [auditor.public_key()], out)
    report(
        f"export {result.event_count:,}-event package",
        time.perf_counter() - start,
        result.event_count,
        base,
    )
    signers = signer_map([SigningKeyring.open(ctx.audit_dir / "signing").current_public_key()])
    data = out.read_bytes()
    start = time.perf_counter()
    verified = verify_package(data, auditor, signers)
    report(
        f"verify {verified.manifest.stream.event_count:,}-event package",
        time.perf_counter() - start,
        verified.manifest.stream.event_count,
        base,
    )
    print(f"{'package size':<34} {len(data) / 1e6:8.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--package-events", type=int, default=100_000)
    args = parser.parse_args()
    asyncio.run(bench_checkpoint(args.events))
    asyncio.run(bench_package(args.package_events))


if __name__ == "__main__":
    main()
