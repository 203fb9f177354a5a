"""Signed webhooks into the log: `syncledger serve` (a real process) vs raw JetStream.

Two embedded nats-servers alike (sync_interval: always): one under serve, one for the
raw baseline. `serve --source webhooks` takes Standard Webhooks deliveries, each one
new customer record, signed with the source's test secret. Deliveries are offered
open-loop at increasing rates (each sent at its scheduled time, whether or not earlier
ones were answered) for a few seconds per rate; a delivery's latency is from sending
it to its 200, which serve answers only once the record and the receipt are
in the log (receipt → durable). Baseline, same run: the same bodies published raw to
JetStream on the other server (nats-py, one publish per body, acks awaited), at each
offered rate and pipelined at full speed.

The load generator shares the machine's two cores with serve and both nats-servers, so
it is kept lean (a fair fix to the harness, not to serve): requests are signed before
the clock starts, sent over 64 keep-alive connections as raw HTTP/1.1 on asyncio streams
(httpx spent more CPU per request than serve), and the bench runs on uvloop.

Prints the load average before and after; per rate: offered/s, answered/s, p50 and p99
ms (ours and raw, timed with ``perf_counter``: uvloop's clock counts whole ms) and the
CPU per answered delivery of serve, of serve's nats-server and of the load generator
(and per raw publish, of the raw nats-server and the load generator); then
``serve_cpu_ms_per_webhook=`` (median over the rates, with the rate one core could
carry at that cost), ``sustained_webhooks_per_s=`` (the highest rate answered in full,
without failures, with p99 < 50 ms), ``raw_publish_per_s=`` and ``ratio_vs_raw=``; then
the CPU budget from the same run: ``cpu_budget_ms_per_webhook=`` (serve + its
nats-server + the load generator's post, medians over the rates) and
``cpu_budget_ms_per_raw_publish=`` (raw nats-server + load generator, pipelined run),
each with the rate the machine's cores could carry at that cost, and
``ratio_ceiling_on_this_machine=`` (their quotient: the best ``ratio_vs_raw`` the cores
allow, whatever the latency). Last, one write at a time on the baseline's server and a
fresh key file: ``p50_ms_single_publish=``, ``p50_ms_atomic_batch_of_one=`` (the store
publishes groups of up to four one-event appends singly since 2026-12-07 10:31; larger
groups, which a busy serve makes, are still atomic batches) and ``p50_ms_new_data_key=``
(one SqliteKeyStore insert, synchronous=FULL; serve now makes these off its event loop,
batched: below).

Where a delivery's cost was, and what was done (2026-12-07):
- data keys: each new customer's key was a synchronous SQLite insert with an fsync on
  serve's event loop (1.6-3.1 ms loaded; py-spy: 20 % of serve's samples at 300/s, every
  delivery in flight held still meanwhile). Now ``core/keys_ahead.py`` makes them before
  the ingest, the ids asked for while one batch is written joining the next, one
  transaction per batch on a worker thread (in-process, 1,000 keys offered at 500/s:
  p50 0.8 ms, p99 16.6 ms each; one by one on the caller 2.2 ms each). The record still
  waits for its key: durable before the record is acknowledged.
- the receipt lookup (``subject_last_seq``, one nats round trip): dropped for a
  hints-only delivery (HubSpot, Jobber), whose one write, the receipt with expect=0,
  decides duplicates in the log; kept (until 13:00, next point) for a delivery carrying
  records, where it stopped a late retry from appending an older version over a newer
  one, run beside the key writes. Ids this process stored answer as duplicates without
  the log.
- record and receipt in one write: done since 2026-12-07 13:00 (``core/source_sync.py``
  ``WebhookDesk``, ``Ingestor.stage`` in ``core/ingest.py``): the records, each expecting
  its subject's last sequence, and the receipt, expecting its subject empty, are one
  atomic append, so nothing is stored of a refused one and no crash window is left
  between them; the receipt lookup before it is gone too (a duplicate or a late older
  retry is refused by the receipt's expectation and stores nothing). A delivery is now
  one atomic batch of the store (two messages, grouped with others) where it was two
  appends, the second after the first; see the figures below for what that costs at low
  rates.
- uvloop for serve (``core/cli.py``): the loop and its transports in C.
- ``gc.freeze()`` once serve listens: a full collection walked every object of the
  process, 34-62 ms per collection in serve under this bench (each a stall of every
  delivery in flight), 0.8 ms after.
- the 200's body rendered once instead of JSON-encoded per request.
- ``serve --workers N`` (SO_REUSEPORT): not done. The listening socket is made in
  ``core/pipeline.py`` (outside this work), and per-process metrics (/metrics would
  answer for one worker of N) and console sessions would need sharing first.
- a bug fixed on the way: after a failed append the desk's ingestor still counted the
  record as stored, so the sender's retry skipped it and stored only the receipt (lost
  record). Now a failed ingest reloads the ingestor from the log.

Serve CPU per delivery, step by step: a closed loop of 1,500 deliveries, 16 in flight,
each step's commit run alternately with the one before on the same machine (load 4.5-8.1,
so throughput and latency there say little; CPU less so): before 1.44-1.61 ms; keys
ahead 1.19-1.47; + uvloop 1.03-1.27; + freeze and the rest 1.18-1.32. In-process (the
Starlette app called directly, memory log, SQLite keys: no HTTP server, no nats), CPU a
delivery 837 us before, 712-759 with keys ahead, 574-679 with the ask/lookup overlap;
of that, Starlette and serve's glue about 95 us and the signature check and body parse
53 us; most of the rest is the Ingestor and the envelopes (pydantic, seven canonical
JSON encodings a delivery: ``core/ingest.py``, ``core/events.py``, outside this work).
One delivery at a time (16 deliveries in flight is where batching starts): p50 8.7-10.0
ms before, 4.9-7.0 ms at 12:49 (three durable writes: key, record, receipt; since 13:00
two: key, then record and receipt in one atomic batch).

Measured 2026-12-07 12:36, 12:41 and 12:49, ``--rates 250,500,750 --seconds 3``, the
machine shared with other work (load average 5.1, 2.9 and 1.6 at the start): no rate
sustained (p99 < 50 ms). 250/s offered: 239-250/s answered, p50 18-191 ms, p99 115-343
ms; 500/s: 363-497/s, p50 50-609 ms, p99 176-1,400 ms (12:49: 497/s, p50 50, p99 176);
750/s: 602-721/s, p99 293-827 ms. Raw pipelined 1,327-3,642/s; ``ratio_vs_raw`` 0.00.
Before these changes, the same bench right after (12:37, load 4.6; 12:50, load 1.9):
250/s answered in full at 12:50 (p50 5 ms, p99 191 ms), else 210/s; 500/s -> 213-413/s
(p99 0.8-4.1 s); 750/s -> 156-442/s (p99 2.1-11.5 s). And alternately, 250/s for 4 s,
three pairs (load 3.4-4.8): before 191-221/s answered, p99 1.1-1.4 s; now 233-246/s,
p99 241-402 ms.

CPU budget from the three runs: a webhook costs 1.67-2.43 ms of the machine's CPU
(serve 1.06-1.50, its nats-server 0.47-0.76 for three requests, the load generator
0.15-0.17) against 0.17-0.25 ms for a raw pipelined publish (nats-server 0.12-0.18, load
generator 0.06-0.07): two cores carry at most 820-1,200 webhooks/s against 7,900-11,600
raw publishes/s, so ``ratio_ceiling_on_this_machine`` is 0.07-0.11: 0.5 of raw cannot be
reached on this machine, not even with serve's own CPU at zero (its nats-server and the
load generator alone, 0.6-0.9 ms a webhook: ceiling ~0.3).

Where 500/s latency went before (12:46, measured by timing the store's group commits
inside serve, not in this file): 78-88 % of the appends went out in atomic batches (mean
13-17 appends a group), acked at p50 16-24 ms, p90 49-57 ms, p99 86-114 ms; the rest as
single publishes, p50 5-8 ms a group; a delivery waited for two of them (record, then
receipt) behind at most four groups in flight (``core/store_jetstream.py``, outside this
work). Publishing every group singly instead (an experiment) was no better: p50 15 ms a
group.

With record and receipt in one atomic append (2026-12-07 13:00-13:04, ``--rates
250,500,750 --seconds 3``, load average 3.6, 2.5 and 1.8 at the start of three runs): no
rate sustained (p99 < 50 ms). 250/s: 249/s answered, p50 20-34 ms, p99 59-116 ms; 500/s:
464-496/s, p50 39-78 ms, p99 117-302 ms; 750/s: 583-731/s, p99 152-871 ms (the 871 ms
run had the raw baseline's p99 at 453 ms too: the machine was busy). Serve CPU 1.05-1.67
ms a delivery, its nats-server 0.46-0.78, load generator 0.15-0.22; ratio ceiling
0.09-0.11; ``ratio_vs_raw`` 0.00. The code before this change, right before the third run
(13:03, load 2.1, through a copy of the package on PYTHONPATH): 250/s p50 6.2 ms, p99 57
ms; 500/s 498/s, p50 77 ms, p99 345 ms; 750/s 579/s, p99 913 ms. So at 500/s a delivery
now waits about half as long (one group instead of two in turn), while at 250/s the
median is higher: below four deliveries in flight the store published the old record and
receipt appends as plain publishes (0.5-0.7 ms each), and a two-message append is always
an atomic batch, whose ack on a file-stored stream costs more (a batch of one message:
p50 3.2-4.9 ms vs 0.5-0.7 for a plain publish, probe below; on a memory-stored stream
the same probe gave 0.33 vs 0.29 ms: the cost is the file store's commit of the batch).
In-process (the desk on JetStream, no HTTP, a probe outside this file, load 2-2.7): 250/s
p50 18 ms, p99 116 ms, batches of 2.7 messages acked at p50 9.5, p99 77 ms; 500/s p50
27-50 ms, p99 122-137 ms, batch acks p50 16-32, p99 77-81 ms. With more groups in flight
(8, 16) batch acks and latency were worse (500/s p99 230-353 ms), with 1-2 no better
(p99 144-162 ms): what a delivery waits for is now one atomic batch commit of the store,
and its p99 on this shared disk.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import nats
from nats.js import api as js_api

from syncledger.adapters.webhooks.platform import TEST_SECRET
from syncledger.adapters.webhooks.sign import sign
from syncledger.core.embedded import EmbeddedNats
from syncledger.core.keystore import SqliteKeyStore
from syncledger.core.store_jetstream import DUPLICATE_WINDOW_S

RATES = (100, 250, 500, 750, 1000, 1500)
P99_TARGET_MS = 50.0

Delivery = tuple[bytes, dict[str, str]]
Send = Callable[[Delivery], Awaitable[bool]]


def deliveries(run: str, n: int) -> list[Delivery]:
    stamp = "2026-12-01T00:00:00Z"
    out = []
    for i in range(n):
        record = {
            "id": f"{run}-{i}",
            "name": f"Bench Customer {run} {i}",
            "currency": "USD",
            "updated_at": stamp,
        }
        body = json.dumps({"type": "customer.updated", "timestamp": stamp, "data": record})
        raw = body.encode()
        out.append((raw, sign(TEST_SECRET, f"msg_{run}_{i}", datetime.now(UTC), raw)))
    return out


def start_serve(data_dir: Path, nats_url: str) -> tuple[subprocess.Popen[bytes], int]:
    log = data_dir / "serve.log"
    env = {
        **os.environ,
        "SYNCLEDGER_DATA_DIR": str(data_dir / "state"),
        "SYNCLEDGER_NATS_URL": nats_url,
        "SYNCLEDGER_ENTITY": "bench",
        "SYNCLEDGER_SERVE_PORT": "0",
    }
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "syncledger.core.cli", "serve", "--source", "webhooks"],
            env=env,
            stdout=out,
            stderr=out,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.findall(r"serving webhooks on port (\d+)", log.read_text(errors="replace"))
        if found:
            return proc, int(found[-1])
        if proc.poll() is not None:
            raise SystemExit(f"serve stopped: {log.read_text()}")
        time.sleep(0.1)
    proc.terminate()
    raise SystemExit(f"serve did not start within a minute: {log.read_text()}")


class Poster:
    """A thin HTTP/1.1 client for the bench: ``connections`` keep-alive connections
    taking deliveries from one queue (httpx spends more CPU per request than serve does,
    and both share this machine's two cores)."""

    def __init__(self, port: int, path: str, connections: int = 64) -> None:
        self.port, self.path, self.connections = port, path, connections
        self.queue: asyncio.Queue[tuple[Delivery, asyncio.Future[bool]]] = asyncio.Queue()
        self.workers: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self.workers = [asyncio.create_task(self._worker()) for _ in range(self.connections)]

    async def stop(self) -> None:
        for w in self.workers:
            w.cancel()
        await asyncio.gather(*self.workers, return_exceptions=True)

    async def post(self, delivery: Delivery) -> bool:
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        await self.queue.put((delivery, done))
        return await done

    async def _worker(self) -> None:
        reader, writer = await self._connect()
        try:
            while True:
                delivery, done = await self.queue.get()
                ok = await self._exchange(reader, writer, delivery)
                if ok is None:  # serve closed the idle connection: sent again on a new one
                    writer.close()
                    reader, writer = await self._connect()
                    ok = await self._exchange(reader, writer, delivery)
                done.set_result(bool(ok))  # never left unanswered: a failure is counted
        finally:
            writer.close()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delivery: Delivery
    ) -> bool | None:
        """One request and its answer: True for a 200; None when the connection was found
        closed (uvicorn closes a keep-alive connection idle for 5 s: a rate's raw half can
        last that long)."""
        body, headers = delivery
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        writer.write(  # a write to a closed connection raises at drain, not here
            f"POST {self.path} HTTP/1.1\r\nhost: 127.0.0.1\r\n{head}"
            f"content-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        try:
            await writer.drain()
            return await _status(reader)
        except (OSError, asyncio.IncompleteReadError):
            return None


async def _status(reader: asyncio.StreamReader) -> bool | None:
    """Read one response; True when it is a 200, None when the connection was closed."""
    status = await reader.readline()
    if not status:
        return None
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return status.split()[1:2] == [b"200"]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def offered(
    rate: int, seconds: float, send: Send, bodies: list[Delivery]
) -> tuple[float, list[float], int]:
    """Send ``bodies`` at ``rate``/s open-loop; (answered/s, latencies ms, failures)."""
    clock = time.perf_counter  # uvloop's loop.time() counts whole milliseconds
    start = clock()
    latencies: list[float] = []
    failures = 0

    async def one(i: int, body: Delivery) -> None:
        nonlocal failures
        await asyncio.sleep(max(0.0, start + i / rate - clock()))
        sent = clock()
        ok = await send(body)
        if ok:
            latencies.append((clock() - sent) * 1000)
        else:
            failures += 1

    n = int(rate * seconds)
    await asyncio.gather(*(one(i, b) for i, b in enumerate(bodies[:n])))
    elapsed = clock() - start
    return len(latencies) / elapsed, latencies, failures


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="per offered rate")
    parser.add_argument(
        "--rates", default=",".join(map(str, RATES)), help="offered rates, comma-separated"
    )
    args = parser.parse_args()
    rates = tuple(int(r) for r in args.rates.split(","))
    print(f"load_average_1min={os.getloadavg()[0]:.2f} cores={os.cpu_count()}")
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedNats(Path(tmp) / "nats") as server,
        EmbeddedNats(Path(tmp) / "raw", stream=None) as raw_server,
    ):
        proc, port = start_serve(Path(tmp), server.url)
        try:
            meters = Meters(serve=proc.pid, nats=_pid(server), raw_nats=_pid(raw_server))
            await against_raw(raw_server, port, meters, args.seconds, rates)
            await where_time_goes(raw_server, Path(tmp) / "probe-keys.db")
        finally:
            proc.terminate()
            proc.wait(20)
    print(f"load_average_1min={os.getloadavg()[0]:.2f}")


def _pid(server: EmbeddedNats) -> int:
    if server.pid is None:
        raise SystemExit("the embedded nats-server did not start")
    return server.pid


@dataclass(frozen=True)
class Meters:
    """The processes whose CPU time the bench accounts for (the bench itself is the load
    generator: ``time.process_time``)."""

    serve: int
    nats: int
    raw_nats: int

    def now(self) -> dict[str, float]:
        return {
            "serve": cpu_seconds(self.serve),
            "nats": cpu_seconds(self.nats),
            "raw_nats": cpu_seconds(self.raw_nats),
            "loadgen": time.process_time(),
        }

    def per_item_ms(self, before: dict[str, float], items: int) -> dict[str, float]:
        """CPU ms per item each process spent since ``before``."""
        after = self.now()
        return {k: 1000 * (after[k] - before[k]) / max(1, items) for k in after}


async def against_raw(
    raw_server: EmbeddedNats, port: int, meters: Meters, seconds: float, rates: tuple[int, ...]
) -> None:
    """Warm serve up, then offer each rate to serve and to raw JetStream."""
    admin = await nats.connect(raw_server.admin_url)  # streams are made by the admin user
    nc = await nats.connect(raw_server.url)  # syncledger's user publishes, as serve does
    poster = Poster(port, "/webhooks/webhooks")
    try:
        await admin.jetstream().add_stream(raw_stream())
        js = nc.jetstream()
        counter = iter(range(10**9))

        async def to_raw(d: Delivery) -> bool:
            subject = f"sl.bench.source.webhooks.customer.{next(counter)}"
            try:
                ack = await js.publish(subject, d[0], headers={"Nats-Msg-Id": d[1]["webhook-id"]})
            except nats.errors.Error:  # no ack in time: a failure of the baseline, counted
                return False
            return ack.seq > 0

        await poster.start()
        await offered(50, 1.0, poster.post, deliveries("warm", 50))
        await report(seconds, rates, poster.post, to_raw, meters)
    finally:
        await poster.stop()
        await nc.close()
        await admin.close()


def raw_stream() -> js_api.StreamConfig:
    """The baseline's stream, configured as syncledger's own (``core/store_jetstream.py``:
    file storage, limits, discard new, deny delete/purge, the same duplicate window,
    atomic batches allowed) on a server alike (``sync_interval: always``)."""
    return js_api.StreamConfig(
        name="RAWBENCH",
        subjects=["sl.bench.>"],
        storage=js_api.StorageType.FILE,
        retention=js_api.RetentionPolicy.LIMITS,
        discard=js_api.DiscardPolicy.NEW,
        deny_delete=True,
        deny_purge=True,
        duplicate_window=DUPLICATE_WINDOW_S,
        allow_atomic=True,
    )


async def report(
    seconds: float, rates: tuple[int, ...], to_serve: Send, to_raw: Send, meters: Meters
) -> None:
    print(
        f"{'offered/s':>10} {'ours/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'fail':>5}"
        f" {'cpu ms/hook serve nats gen':>27} | {'raw/s':>7} {'p50 ms':>7} {'p99 ms':>7}"
        f" {'fail':>5} {'cpu ms/msg nats gen':>20}"
    )
    sustained, ours_cpu = 0, []
    for rate in rates:
        bodies = deliveries(f"r{rate}", int(rate * seconds))
        before = meters.now()
        got, lat, fail = await offered(rate, seconds, to_serve, bodies)
        ours = meters.per_item_ms(before, len(lat))
        ours_cpu.append(ours)
        before = meters.now()
        raw_got, raw_lat, raw_fail = await offered(rate, seconds, to_raw, bodies)
        raw = meters.per_item_ms(before, len(raw_lat))
        p99 = pct(lat, 99)
        print(
            f"{rate:>10} {got:>8.0f} {pct(lat, 50):>7.1f} {p99:>7.1f} {fail:>5}"
            f" {ours['serve']:>15.2f} {ours['nats']:>5.2f} {ours['loadgen']:>5.2f}"
            f" | {raw_got:>7.0f} {pct(raw_lat, 50):>7.1f} {pct(raw_lat, 99):>7.1f} {raw_fail:>5}"
            f" {raw['raw_nats']:>14.2f} {raw['loadgen']:>5.2f}"
        )
        if fail == 0 and got >= 0.95 * rate and p99 < P99_TARGET_MS:
            sustained = rate
    full = deliveries("full", 3000)
    before = meters.now()
    start = time.perf_counter()
    acked = await asyncio.gather(*(to_raw(d) for d in full))
    raw_rate = sum(acked) / (time.perf_counter() - start)
    raw_cpu = meters.per_item_ms(before, sum(acked))
    cpu_ms = statistics.median(c["serve"] for c in ours_cpu)
    print(f"serve_cpu_ms_per_webhook={cpu_ms:.2f} (one core's ceiling {1000 / cpu_ms:.0f}/s)")
    print(f"sustained_webhooks_per_s={sustained}")
    print(f"raw_publish_per_s={raw_rate:.0f}")
    print(f"ratio_vs_raw={sustained / raw_rate:.2f}")
    cpu_budget(ours_cpu, raw_cpu)


def cpu_budget(ours_cpu: list[dict[str, float]], raw_cpu: dict[str, float]) -> None:
    """What the machine's cores can carry at the CPU each path cost in this run: a webhook
    costs serve + its nats-server + the load generator's post; a raw publish costs its
    nats-server + the load generator's publish (pipelined). The ratio of the two ceilings
    is the best ``ratio_vs_raw`` this machine allows, whatever the latency."""
    cores = os.cpu_count() or 1
    hook = {k: statistics.median(c[k] for c in ours_cpu) for k in ("serve", "nats", "loadgen")}
    hook_ms = sum(hook.values())
    raw_ms = raw_cpu["raw_nats"] + raw_cpu["loadgen"]
    print(
        f"cpu_budget_ms_per_webhook={hook_ms:.2f} (serve {hook['serve']:.2f}, nats-server"
        f" {hook['nats']:.2f}, load generator {hook['loadgen']:.2f}):"
        f" {cores} cores carry at most {cores * 1000 / hook_ms:.0f}/s"
    )
    print(
        f"cpu_budget_ms_per_raw_publish={raw_ms:.3f} (nats-server {raw_cpu['raw_nats']:.3f},"
        f" load generator {raw_cpu['loadgen']:.3f}): {cores} cores carry at most"
        f" {cores * 1000 / raw_ms:.0f}/s"
    )
    print(f"ratio_ceiling_on_this_machine={raw_ms / hook_ms:.2f}")


async def where_time_goes(raw_server: EmbeddedNats, keys_db: Path, n: int = 200) -> None:
    """One at a time, p50 ms: the writes a stored webhook waits on, beside a raw publish —
    a single JetStream publish, an atomic batch of one message (how syncledger's store
    commits an append group), and a new data key in a SqliteKeyStore (every new customer's
    sealed name needs one; synchronous=FULL, on the caller's thread)."""
    admin = await nats.connect(raw_server.admin_url)
    nc = await nats.connect(raw_server.url)
    try:
        await admin.jetstream().add_stream(
            js_api.StreamConfig(
                name="PROBE",
                subjects=["sl.probe.>"],
                storage=js_api.StorageType.FILE,
                allow_atomic=True,
            )
        )
        single = await _p50_ms(n, lambda i: nc.request(f"sl.probe.single.{i}", b"x" * 300))
        atomic = await _p50_ms(n, lambda i: nc.request(f"sl.probe.atomic.{i}", b"x" * 300, headers={
            "Nats-Batch-Id": f"probe-{i}", "Nats-Batch-Sequence": "1", "Nats-Batch-Commit": "1"
        }))  # fmt: skip
    finally:
        await nc.close()
        await admin.close()
    keys = SqliteKeyStore(keys_db, os.urandom(32))

    async def new_key(i: int) -> None:
        keys.data_key(f"probe-{i}", create=True)

    key = await _p50_ms(n, new_key)
    print(f"p50_ms_single_publish={single:.2f}")
    print(f"p50_ms_atomic_batch_of_one={atomic:.2f}")
    print(f"p50_ms_new_data_key={key:.2f}")


async def _p50_ms(n: int, op: Callable[[int], Awaitable[object]]) -> float:
    took = []
    for i in range(n):
        start = time.perf_counter()
        await op(i)
        took.append(1000 * (time.perf_counter() - start))
    return statistics.median(took)


if __name__ == "__main__":
    import uvloop

    uvloop.run(main())  # the load generator's own loop: less of the shared CPU than asyncio's
