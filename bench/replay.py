"""Benchmark: full projection rebuild (``replay``) vs a raw read of the log.

Starts an embedded nats-server (``sync_interval: always``), appends a realistic sync log
(customers, invoices with lines, payments, each followed by LedgerPushRequested and
LedgerPushSucceeded; some invoices re-versioned), then times

  (a) a raw nats-py ordered-consumer read of the whole stream (``next_msg`` per message,
      nothing done with them): the baseline the issue names,
  (a') the store's own read (core/jetstream_read.py: a pull consumer, a batch per
      request), nothing done with the events: the floor under a replay,
  (b) ``projections.replay`` of the whole stream into a fresh SQLite file
      (WAL; batches ``synchronous=NORMAL``, the swap ``FULL``: projections/engine.py),
  (c) the same into PostgreSQL (a throw-away server from the Debian binaries, as the
      tests start it, ``fsync=off``), unless ``--no-postgres`` or no server binaries,

and prints events/s for each and ``ratio_vs_raw_read=<b/a>``. Then the peak RSS of a
rebuild as ``replay`` runs it (its fold process included) in a fresh process at half the
stream and at the whole stream (``rss_half_mb``, ``rss_full_mb``). ``--postgres-events N``
instead appends N events and times (a), (a') and (c) only: ``PostgreSQL at scale``.

It also prints the load average before the reads and at the end, and the CPU per event of
the raw read (this process), of the replay's reader (this process) and of its fold process,
with ``cpu_ratio`` = raw CPU / (reader + fold CPU): the ratio a machine too busy to run the
replay's two processes side by side tends to, and the one load moves least.

Where the time goes (2-core machine shared with other work). The raw baseline costs its
client ~58-64 us of CPU an event, two thirds of it nats-py making a task per ``next_msg``.
The store reads through a pull consumer, messages delivered to a callback on an inbox, at
most 2,000 held (19-21 us CPU an event, about 40% of it nats-py parsing each message's
headers; the reader of a replay 24-28 us with the batching). A rebuild of >= 100,000
events folds in a process of its own (projections/fold_process.py: raw bytes over a
socket, up to four batches in flight so neither side waits for the other). The fold
process was ~54 us an event (in-process, 60,000 events: decode 18, fold 18, SQL 14, the
rest commits and eviction); what cut it, each measured alone on the same log:
  - its garbage collector, which walked the working set's row dicts and found no cycles,
    collects rarely (thresholds 100,000/50/100 after ``gc.freeze()``): -9 us of decode
    and fold (34 -> 25),
  - SQLite binds each row by position through one ``itemgetter`` instead of by name:
    SQL 10.5 -> 7.5 us,
  - a rebuild's tables get their secondary indexes once the rows are in (before the
    swap): SQL 14.4 -> 10.5 us,
  - the envelope is parsed into a msgspec struct of the five fields read (the rest
    skipped unbuilt; anything it refuses read the general way): ~1-2 us.
Together: 41-43 us in-process; in the benchmark's fold process (its ~0.6 s of imports,
the unpickling and the commits included) 42-49 us under load 6-8, where the code before
measured 63-68 us in replays alternated with it on the same log. What is left: decoding
~14 us (msgspec ~4, pydantic validation of the payload ~4, the rest building the event),
the fold ~12 us (working-set bookkeeping), SQL ~8 us, commits and eviction.
PostgreSQL batches go by COPY into a staging table and one set-based upsert
(projections/db.py); its fold process gains the same cuts except the SQLite binding.
Memory: a rebuild's working set evicts its written rows past 50,000 and stays complete
(a Bloom filter says which groups to read back), so the peak RSS is flat in log length.

On an idle machine the two processes each get a core and the replay runs at the pace of
the fold process (~42 us an event, against the raw read's ~60): above 1. On a busy one
the wall-clock ratio moves with what else runs in each phase (the raw read and the replay
are timed one after the other); ``cpu_ratio`` (0.83-0.89) is the figure to expect when
the machine is saturated throughout.

Measured 2026-12-07, 200,000 events, two runs (load average 6.9-7.9 before the reads):
SQLite 1.03 and 1.48 of the raw read (cpu_ratio 0.84, 0.86), PostgreSQL 1.00 and 1.37
(cpu_ratio 0.83, 0.89, the server's own CPU not counted); peak RSS 146.4 and 147.3 MB
(run 2: 147.2, 147.1) at 100,000 and 200,000 events: flat.
Before this work (README as of d658470): SQLite 0.57 and 0.63, PostgreSQL 0.61 and 0.43
(load 4-8); that code gave 0.57 at 100,000 events this morning (load 1.5). Runs of
intermediate states of this work (two batches in flight) gave SQLite 1.52 at load 9.3
and 0.54 at load 5.6 (PostgreSQL 1.30, 0.42): under load the wall-clock ratio swings
with what else runs during each timed phase; cpu_ratio does not.
``--postgres-events 1000000`` (one run, load 7.3 before the reads): 8,802 events/s into
PostgreSQL (113.6 s) vs raw 6.8k/s: 1.30 of the raw read, cpu_ratio 0.92 (was 6,708
events/s, 0.54).

Usage: ``python bench/replay.py [--events N] [--batch N] [--no-postgres]
[--postgres-events N]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import resource
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
from syncledger.projections import ProjectionRunner, make_engine, replay
from syncledger.projections.rebuild import PROCESS_THRESHOLD, REBUILD_MAX_CACHED_ROWS
from syncledger.projections.schema import tables_for

ENTITIES = ("acme", "globex", "initech", "umbrella")
#: CPU seconds per event of the raw read (this process), of the last replay's reader and
#: of its fold process: what the ratio comes to when the machine is busy
RAW_CPU: list[float] = []
REPLAY_CPU: list[tuple[float, float]] = []
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
        cpu = time.process_time()
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
        RAW_CPU.append((time.process_time() - cpu) / expected)
        await sub.unsubscribe()
        return elapsed
    finally:
        await nc.close()


async def pull_read(url: str, stream: str, expected: int) -> float:
    """Seconds to read every event through the store's own read (the pull reader,
    core/jetstream_read.py), nothing done with them: the floor under a replay."""
    nc = await nats.connect(url)
    try:
        store = JetStreamEventStore(nc, stream=stream)
        started = time.perf_counter()
        received = 0
        async for _ in store.read():
            received += 1
        elapsed = time.perf_counter() - started
        assert received == expected, (received, expected)
        return elapsed
    finally:
        await nc.close()


async def timed_replay(url: str, stream: str, db_url: str, batch: int) -> tuple[float, int]:
    """Seconds and events of a replay; prints the CPU per event of this process (the
    read) and of the fold process (counted once it has ended)."""
    nc = await nats.connect(url)
    try:
        store = JetStreamEventStore(nc, stream=stream)
        engine = make_engine(db_url)
        own, children = time.process_time(), _children_cpu()
        started = time.perf_counter()
        result = await replay(engine, store, batch_size=batch)
        elapsed = time.perf_counter() - started
        own, children = time.process_time() - own, _children_cpu() - children
        engine.dispose()
        REPLAY_CPU.append((own / result.events, children / result.events))
        return elapsed, result.events
    finally:
        await nc.close()


def _print_cpu(note: str = "") -> None:
    """CPU per event of the last replay, and the raw read's over the replay's: the ratio a
    machine too busy to run the two processes side by side tends to."""
    reader, fold = REPLAY_CPU[-1]
    raw = RAW_CPU[-1]
    print(
        f"  cpu per event: reader {reader * 1e6:.0f} us + fold process {fold * 1e6:.0f} us "
        f"(raw read {raw * 1e6:.0f} us): cpu_ratio={raw / (reader + fold):.3f}{note}"
    )


_PG_NOTE = " (the PostgreSQL server's own CPU not counted)"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _print_load(when: str) -> None:
    one, five, fifteen = os.getloadavg()
    print(f"load_average ({when}): {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cpus")


def _peak_rss_mb() -> float:
    """The larger peak RSS of this process and of its (ended) fold process."""
    own = float("nan")
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            own = int(line.split()[1]) / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return max(own, children)


async def rss_probe(url: str, stream: str, until: int, batch: int) -> None:
    """In a fresh process: rebuild up to ``until`` into a scratch SQLite file as ``replay``
    does (fold process, capped working set); print the peak RSS of either process."""
    with tempfile.TemporaryDirectory(prefix="sl-bench-rss-") as tmp:
        nc = await nats.connect(url)
        try:
            engine = make_engine(f"sqlite:///{tmp}/rss.db")
            runner = ProjectionRunner(
                engine, JetStreamEventStore(nc, stream=stream), tables=tables_for(prefix="r_"),
                batch_size=batch, fresh=True, process_threshold=PROCESS_THRESHOLD,
                max_cached_rows=REBUILD_MAX_CACHED_ROWS,
            )  # fmt: skip
            try:
                await runner.catch_up(until=until)
            finally:
                await runner.close()
            engine.dispose()
        finally:
            await nc.close()
    print(f"{_peak_rss_mb():.1f}")


async def probed_rss(url: str, stream: str, until: int, batch: int) -> float:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--probe", url, stream, str(until), "--batch", str(batch),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await proc.communicate()
    return float(out.decode().strip().splitlines()[-1])


@contextlib.contextmanager
def postgres_url(wanted: bool) -> Iterator[str | None]:
    if not wanted:
        yield None
        return
    from tests.support.servers import _pg_bindir, postgres_server

    if _pg_bindir() is None:
        print("postgres: no server binaries (make postgres); skipped")
        yield None
        return
    with postgres_server() as url:
        yield url


async def appended_log(tmp: str, server: EmbeddedNats, events: int) -> tuple[str, int]:
    nc = await nats.connect(server.url)
    store = JetStreamEventStore(nc)
    await store.ensure_stream()
    started = time.perf_counter()
    appended = await append_log(store, events)
    append_s = time.perf_counter() - started
    await store.close()
    await nc.close()
    print(f"appended={appended} events in {append_s:.1f}s ({appended / append_s:,.0f}/s)")
    return store.stream, appended


async def reads(url: str, stream: str, appended: int) -> float:
    """The raw ordered-consumer read (the baseline) and the store's pull read, printed;
    returns the baseline's events/s."""
    raw_s = await raw_read(url, stream, appended)
    raw_rate = appended / raw_s
    print(f"raw_read: {raw_s:.2f}s  {raw_rate:,.0f} events/s  (ordered consumer, next_msg; "
          f"{RAW_CPU[-1] * 1e6:.0f} us CPU an event)")  # fmt: skip
    pull_s = await pull_read(url, stream, appended)
    print(f"pull_read: {pull_s:.2f}s  {appended / pull_s:,.0f} events/s  (the store's read, "
          f"nothing done)")  # fmt: skip
    return raw_rate


async def main(events: int, batch: int, postgres: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="sl-bench-replay-") as tmp, \
            EmbeddedNats(Path(tmp)) as server:  # fmt: skip
        stream, appended = await appended_log(tmp, server, events)
        _print_load("before the reads")
        raw_rate = await reads(server.url, stream, appended)
        sqlite_url = f"sqlite:///{Path(tmp) / 'readmodels.db'}"
        replay_s, replayed = await timed_replay(server.url, stream, sqlite_url, batch)
        replay_rate = replayed / replay_s
        print(f"replay_sqlite: {replay_s:.2f}s  {replay_rate:,.0f} events/s  (batch={batch})")
        print(f"ratio_vs_raw_read={replay_rate / raw_rate:.3f}")
        _print_cpu()
        with postgres_url(postgres) as pg_url:
            if pg_url is not None:
                pg_s, pg_n = await timed_replay(server.url, stream, pg_url, batch)
                print(f"replay_postgres: {pg_s:.2f}s  {pg_n / pg_s:,.0f} events/s  "
                      f"ratio_vs_raw_read={pg_n / pg_s / raw_rate:.3f}")  # fmt: skip
                _print_cpu(_PG_NOTE)
        half = await probed_rss(server.url, stream, appended // 2, batch)
        full = await probed_rss(server.url, stream, appended, batch)
        print(f"rss_half_mb={half:.1f} (events={appended // 2})  rss_full_mb={full:.1f} "
              f"(events={appended})")  # fmt: skip
        _print_load("at the end")


async def postgres_at_scale(events: int, batch: int) -> None:
    """``--postgres-events``: a log of ``events`` replayed into PostgreSQL only, with the
    raw read of the same stream in the same run."""
    with tempfile.TemporaryDirectory(prefix="sl-bench-replay-pg-") as tmp, \
            EmbeddedNats(Path(tmp)) as server, postgres_url(True) as pg_url:  # fmt: skip
        if pg_url is None:
            return
        stream, appended = await appended_log(tmp, server, events)
        _print_load("before the reads")
        raw_rate = await reads(server.url, stream, appended)
        pg_s, pg_n = await timed_replay(server.url, stream, pg_url, batch)
        print(f"replay_postgres: events={pg_n} {pg_s:.1f}s  {pg_n / pg_s:,.0f} events/s  "
              f"(batch={batch}, COPY)")  # fmt: skip
        print(f"postgres_ratio_vs_raw_read={pg_n / pg_s / raw_rate:.3f}")
        _print_cpu(_PG_NOTE)
        _print_load("at the end")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--postgres-events", type=int, default=0,
                        help="instead: replay a log this long into PostgreSQL only")  # fmt: skip
    parser.add_argument("--probe", nargs=3, metavar=("URL", "STREAM", "UNTIL"),
                        help=argparse.SUPPRESS)  # fmt: skip
    args = parser.parse_args()
    if args.probe:
        url, stream, until = args.probe
        asyncio.run(rss_probe(url, stream, int(until), args.batch))
    elif args.postgres_events:
        asyncio.run(postgres_at_scale(args.postgres_events, args.batch))
    else:
        asyncio.run(main(args.events, args.batch, not args.no_postgres))
