"""Source change → ledger acknowledgement, on the platform's published limits.

An embedded nats-server (sync_interval: always), the QBO sandbox in-process at rate
scale 1 (QBO's own 10 requests/s and 500/min, held by the adapter's client-side limiter),
and the sync worker running as `run` runs it. Changes arrive as signed Standard Webhooks
deliveries, one new customer each, verified and stored as `serve` stores them, at a
change rate the ledger's limits allow (default 5/s). A change's latency is from its
delivery being in the log to the worker's outcome for it (the ledger's answer appended).
The client-side limiter's own waiting is reported beside it
(``syncledger_rate_limit_wait_seconds_total`` over the run, per change).

Baseline, same run, same sandbox: the same customers created by calling the adapter
directly at the same rate (one ledger request each, no log). Prints p50/p99 for both,
the limiter wait, then ``p99_beyond_limiter_ms=`` and ``ratio_p50_vs_raw=`` last.

Measured 2026-12-07 on the 2-core machine shared with other work (load average 5-13),
150 changes a run, limiter wait 0-0.1 ms per change in every run:

- before (issue 11): at 3/s a p99 of 30.3 s in both runs (one instrumented). The worker
  did not stall: a batch was dropped by FastStream's fill loop when nats-py's fetch timed
  out with a bare ``asyncio.TimeoutError``, and its changes waited for ``ack_wait``
  (30 s) to be redelivered (core/worker.py ``FetchTimeouts``);
- that fixed, fill wait still 250 ms: at 3/s p50 187-304 ms, p99 390-783 ms (5 runs); at
  1/s p50 211 ms, p99 432 ms;
- now, the fill ending once nothing is pending: at 3/s p50 68.7, 51.8, 36.9, 66.0,
  59.6 ms and p99 221.5, 237.5, 150.1, 227.7, 220.4 ms (5 runs); at 1/s p50 66.0 ms,
  p99 262.6 ms. The ledger call alone: p50 13-37 ms, p99 51-170 ms in the same runs.
  bench/push.py (a backlog: whole batches) is unchanged: 1,141 records/min, 0.95 of
  QBO's limit, zero 429s.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from syncledger.adapters.sources.registry import SourceConnection, source
from syncledger.adapters.webhooks.platform import TEST_SECRET
from syncledger.adapters.webhooks.sign import sign
from syncledger.core.bootstrap import Runtime, open_runtime
from syncledger.core.ledgers import LedgerHandle, open_ledger
from syncledger.core.metrics import REGISTRY
from syncledger.core.model import Customer
from syncledger.core.pipeline import run_worker, source_log
from syncledger.core.ports import LedgerAdapter
from syncledger.core.settings import Settings
from syncledger.core.source_ports import WebhookReceiver, WebhookRequest
from syncledger.core.source_sync import WebhookDesk
from syncledger.core.sync import Outcome


def limiter_wait() -> float:
    return REGISTRY.get_sample_value("syncledger_rate_limit_wait_seconds_total") or 0.0


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def delivery(run: str, n: int) -> WebhookRequest:
    stamp = datetime.now(UTC)
    record = {
        "id": f"{run}-{n}",
        "name": f"Latency Customer {run} {n}",
        "currency": "USD",
        "updated_at": stamp.isoformat(),
    }
    body = json.dumps({"type": "customer.created", "timestamp": stamp.isoformat(), "data": record})
    raw = body.encode()
    headers = {k.lower(): v for k, v in sign(TEST_SECRET, f"msg_{run}_{n}", stamp, raw).items()}
    return WebhookRequest("POST", "http://serve/webhooks/webhooks", headers, raw, stamp)


async def paced(rate: float, n: int, one: Callable[[int], Awaitable[None]]) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def at(i: int) -> None:
        await asyncio.sleep(max(0.0, start + i / rate - loop.time()))
        await one(i)

    await asyncio.gather(*(at(i) for i in range(n)))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=5.0, help="changes per second")
    parser.add_argument("--changes", type=int, default=150)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), entity="latency", ledger="qbo", rate_scale=1.0)
        async with open_runtime(settings) as rt:
            ledger = open_ledger(settings)
            try:
                ours, wait = await through_syncledger(rt, ledger, args.rate, args.changes)
                raw = await direct(ledger.adapter, args.rate, args.changes)
            finally:
                await ledger.aclose()
    report(ours, raw, wait, args.changes)


async def through_syncledger(
    rt: Runtime, ledger: LedgerHandle, rate: float, n: int
) -> tuple[list[float], float]:
    reader = source("webhooks").connect(SourceConnection(Path("unused")))
    assert isinstance(reader, WebhookReceiver)
    desk = WebhookDesk(source_log(rt), reader.system)
    stored: dict[str, float] = {}
    latencies: list[float] = []
    done = asyncio.Event()

    def acked(outcome: Outcome) -> None:
        start = stored.get(outcome.source_ref or "")
        if start is not None and outcome.status != "retry":
            latencies.append((time.perf_counter() - start) * 1000)
            if len(latencies) == n:
                done.set()

    stop = asyncio.Event()
    worker = asyncio.create_task(
        run_worker(rt, ledger, until_idle=False, on_outcome=acked, stop=stop)
    )

    async def change(i: int) -> None:
        request = delivery("s", i)
        await desk.receive(reader.verify(request))
        stored[f"webhooks/customer/s-{i}"] = time.perf_counter()

    before = limiter_wait()
    await paced(rate, n, change)
    await asyncio.wait_for(done.wait(), timeout=120 + n / rate)
    wait = limiter_wait() - before
    stop.set()
    await worker
    return latencies, wait


async def direct(adapter: LedgerAdapter, rate: float, n: int) -> list[float]:
    latencies: list[float] = []

    async def create(i: int) -> None:
        customer = Customer(id=f"raw-{i}", name=f"Latency Raw {i}", currency="USD")
        key = hashlib.sha256(f"raw-{i}".encode()).hexdigest()
        start = time.perf_counter()
        await adapter.create_customer(
            customer, external_ref=f"raw/customer/raw-{i}", idempotency_key=key
        )
        latencies.append((time.perf_counter() - start) * 1000)

    await paced(rate, n, create)
    return latencies


def report(ours: list[float], raw: list[float], wait: float, n: int) -> None:
    wait_ms = 1000 * wait / n
    print(f"{'':<28} {'p50 ms':>8} {'p99 ms':>8}")
    print(f"{'change -> ledger ack (ours)':<28} {pct(ours, 50):>8.1f} {pct(ours, 99):>8.1f}")
    print(f"{'ledger call alone (raw)':<28} {pct(raw, 50):>8.1f} {pct(raw, 99):>8.1f}")
    print(f"limiter_wait_ms_per_change={wait_ms:.1f}")
    print(f"p99_beyond_limiter_ms={pct(ours, 99) - wait_ms:.1f}")
    print(f"ratio_p50_vs_raw={pct(ours, 50) / pct(raw, 50):.2f}")


if __name__ == "__main__":
    asyncio.run(main())
