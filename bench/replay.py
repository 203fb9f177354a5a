"""Benchmark: full projection rebuild (``replay`` into SQLite) vs a raw read of the log.

Starts an embedded nats-server (``sync_interval: always``), appends a realistic sync log
(customers, invoices with lines, payments, each followed by LedgerPushRequested and
LedgerPushSucceeded; some invoices re-versioned), then times

  (a) a raw nats-py ordered-consumer read of the whole stream (messages received, nothing
      done with them), and
  (b) ``projections.replay`` of the whole stream into a fresh SQLite file
      (WAL, synchronous=FULL),

and prints events/s for each; the last line is ``ratio_vs_raw_read=<b/a>``.

Usage: ``python bench/replay.py [--events N] [--batch N]``
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import nats
from nats.js import api as js_api

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from syncledger.core.embedded import EmbeddedNats
from syncledger.core.events import (
    Envelope,
    EventData,
    LedgerPushRequested,
    LedgerPushSucceeded,
    SourceRecordObserved,
    make_envelope,
    subject_for,
)
from syncledger.core.ids import canonical_json, sha256_hex
from syncledger.core.store_jetstream import JetStreamEventStore
from syncledger.projections import make_engine, replay

ENTITIES = ("acme", "globex", "initech", "umbrella")
LEDGERS = ("qbo", "xero")
APPEND_CHUNK = 200
CONCURRENT_APPENDS = 32


def _envelope(entity: str, payload: EventData, ref: str, category: str) -> Envelope:
    system, kind, rid = ref.split("/", 2)
    subject = subject_for(entity, category, system, kind, rid)  # type: ignore[arg-type]
    return make_envelope(payload, entity=entity, subject=subject, actor="bench")


def _record(kind: str, n: int, customer: str, rng: random.Random) -> dict[str, object]:
    if kind == "customer":
        return {"id": f"C{n}", "name": f"Customer {n} Ltd", "currency": "USD",
                "tax_id": f"DE{n:09d}"}  # fmt: skip
    if kind == "payment":
        return {"id": f"P{n}", "customer_id": customer, "invoice_id": f"I{n}",
                "amount": f"{rng.randint(1, 90000) / 100:.2f}", "currency": "USD",
                "paid_on": "2025-03-01", "method": "card"}  # fmt: skip
    lines = [
        {"description": f"Service {i}", "quantity": "2", "unit_price": "12.50",
         "tax_amount": "5.00", "line_type": "service"}
        for i in range(rng.randint(1, 3))
    ]  # fmt: skip
    total = sum(30 for _ in lines)
    return {"id": f"I{n}", "number": f"INV-{n}", "customer_id": customer,
            "issue_date": "2025-02-01", "currency": "USD", "lines": lines,
            "total": f"{total}.00", "status": "open"}  # fmt: skip


def _sync(entity: str, ref: str, kind: str, n: int, version: int, customer: str | None,
          rng: random.Random) -> list[Envelope]:  # fmt: skip
    record = _record(kind, n, (customer or "").rsplit("/", 1)[-1], rng)
    record["version"] = version
    sha = sha256_hex(canonical_json(record))
    ledger = LEDGERS[n % len(LEDGERS)]
    key = sha256_hex(f"{ref}|{version}|{ledger}".encode())
    return [
        _envelope(entity, SourceRecordObserved(ref=ref, kind=kind, version=str(version),
                  content_sha256=sha, record=record, customer_ref=customer), ref, "source"),
        _envelope(entity, LedgerPushRequested(source_ref=ref, ledger=ledger,
                  operation="create" if version == 1 else "update", idempotency_key=key,
                  mapping_version=f"{ledger}-v3", content_sha256=sha), ref, "ledger"),
        _envelope(entity, LedgerPushSucceeded(source_ref=ref, ledger=ledger,
                  ledger_ref=f"{ledger}/{kind}/{n}", ledger_version=str(version),
                  idempotency_key=key, content_sha256=sha, mapping_version=f"{ledger}-v3"),
                  ref, "ledger"),
    ]  # fmt: skip


def sync_log(total: int, seed: int = 7) -> Iterator[list[Envelope]]:
    """Groups of events as a sync worker would append them, ``total`` events or more."""
    rng = random.Random(seed)
    made, n = 0, 0
    while made < total:
        n += 1
        entity = ENTITIES[n % len(ENTITIES)]
        customer = f"csv/customer/C{n // 5}"
        if n % 5 == 0:
            group = _sync(entity, customer, "customer", n // 5, 1, None, rng)
        elif n % 5 == 4:
            group = _sync(entity, f"csv/payment/P{n}", "payment", n, 1, customer, rng)
        else:
            version = 2 if n % 7 == 0 else 1
            group = _sync(entity, f"csv/invoice/I{n}", "invoice", n, version, customer, rng)
        made += len(group)
        yield group


async def append_log(store: JetStreamEventStore, total: int) -> int:
    chunks: list[list[Envelope]] = []
    chunk: list[Envelope] = []
    for group in sync_log(total):
        chunk.extend(group)
        if len(chunk) >= APPEND_CHUNK:
            chunks.append(chunk)
            chunk = []
    if chunk:
        chunks.append(chunk)
    slots = asyncio.Semaphore(CONCURRENT_APPENDS)

    async def one(events: list[Envelope]) -> None:
        async with slots:
            await store.append(events)

    await asyncio.gather(*(one(c) for c in chunks))
    return sum(len(c) for c in chunks)


async def raw_read(url: str, stream: str, expected: int) -> float:
    """Seconds to receive every message of the stream through an ordered consumer."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        started = time.perf_counter()
        sub = await js.subscribe(
            "sl.>", stream=stream, ordered_consumer=True,
            deliver_policy=js_api.DeliverPolicy.ALL,
            pending_msgs_limit=-1, pending_bytes_limit=-1,
        )  # fmt: skip
        received = 0
        while received < expected:
            await sub.next_msg(timeout=10)
            received += 1
        elapsed = time.perf_counter() - started
        await sub.unsubscribe()
        return elapsed
    finally:
        await nc.close()


async def timed_replay(url: str, stream: str, db: Path, batch: int) -> tuple[float, int]:
    nc = await nats.connect(url)
    try:
        store = JetStreamEventStore(nc, stream=stream)
        engine = make_engine(f"sqlite:///{db}")
        started = time.perf_counter()
        result = await replay(engine, store, batch_size=batch)
        elapsed = time.perf_counter() - started
        engine.dispose()
        return elapsed, result.events
    finally:
        await nc.close()


async def main(events: int, batch: int) -> None:
    with tempfile.TemporaryDirectory(prefix="sl-bench-replay-") as tmp, \
            EmbeddedNats(Path(tmp)) as server:  # fmt: skip
        nc = await nats.connect(server.url)
        store = JetStreamEventStore(nc)
        await store.ensure_stream()
        started = time.perf_counter()
        appended = await append_log(store, events)
        append_s = time.perf_counter() - started
        await store.close()
        await nc.close()
        print(f"appended={appended} events in {append_s:.1f}s ({appended / append_s:,.0f}/s)")
        raw_s = await raw_read(server.url, store.stream, appended)
        raw_rate = appended / raw_s
        print(f"raw_read: {raw_s:.2f}s  {raw_rate:,.0f} events/s")
        replay_s, replayed = await timed_replay(
            server.url, store.stream, Path(tmp) / "readmodels.db", batch
        )
        replay_rate = replayed / replay_s
        print(f"replay_sqlite: {replay_s:.2f}s  {replay_rate:,.0f} events/s  (batch={batch})")
        print(f"ratio_vs_raw_read={replay_rate / raw_rate:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=2000)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.batch))
