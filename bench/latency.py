"""Source change → ledger acknowledgement, on the platform's published limits.

An embedded nats-server (sync_interval: always), the QBO sandbox in-process at rate
scale 1 (QBO's own 10 requests/s and 500/min, held by the adapter's client-side limiter),
and the sync worker running as `run` runs it. Changes arrive as signed Standard Webhooks
deliveries, one new customer each, verified and stored as `serve` stores them, at a
change rate given by ``--rate`` (default 5/s). A change's latency is from its delivery
being in the log to the worker's outcome for it (the ledger's answer appended).

The limiter's waiting is measured per change (``LimiterLog``): every request's time from
asking the limiter to being let through (behind other requests included), by the change
being handled. Printed per change, p50/p99:

- *its own requests in the limiter*;
- *ack beyond its own limiter wait*: latency minus that (``p99_beyond_own_limiter_wait_ms``);
- *ack beyond limiter while pending*: latency minus the time, while the change was
  pending, in which the limiter held any request back (``p99_beyond_limiter_ms``). The
  worker handles a batch's changes one after the other and reports their outcomes when the
  batch is done, so a request held back delays every change behind it and its batch-mates,
  not only its own. What it still leaves in: the backlog the holding built up before the
  change arrived.

Also ``ledger_requests_per_change`` (the adapters' ``syncledger_ledger_requests_total``),
the ledger requests/s that makes at ``--rate``, and the mean limiter wait per change beside
``syncledger_rate_limit_wait_seconds_total`` (which counts only the sleeps of the request
at the head of the limiter). Baseline, same run, same sandbox: the same customers created
by calling the adapter directly at the same rate (one ledger request each, no log).
``p99_beyond_limiter_ms=`` and ``ratio_p50_vs_raw=`` are printed last.

**5 changes/s on QBO**: a new customer costs a match before its create. One by one that
was two QBO requests (``match_customer``: one query on DisplayName, a second one when the
customer has an e-mail, then the create): 5 changes/s was 10 requests/s, above what the
limiter passes (10 requests per 1.05 s, slack for clock differences, each counted from its
answer: at most ~9.5 requests/s), so the worker's backlog grew for the whole run (p99
4.2-5.2 s, below). Now the worker matches a batch's new customers at once
(``core/sync_matches.py``; QBO: one ``DisplayName IN (...)`` query, plus one
``PrimaryEmailAddr IN (...)`` when any has an e-mail, ``adapters/qbo/matching.py``), so a
change costs 1 + (match queries / changes) requests: ``ledger_requests_per_change`` 1.85-1.89
at 5/s (the batches are mostly of one change while the worker keeps up; they grow, and the
cost per change falls, as soon as requests are held back), 2.00 at 3/s (every batch one
change). Sustained beyond a minute, QBO's 500 requests/min (~7.9/s with the slack) binds:
at 5/s that needs at most 1.58 requests per change, batches of 1.7 new customers on
average. Measured 13:25 (450 changes, 90 s): 1.68 requests per change, 8.39 requests/s
offered, p99 11.0 s, 2.04 s beyond the limiter while pending: the backlog grew once the
minute window was full.

**Past a minute** (issue 11): the worker's fill now ends at once only while the ledger's
limiters are comfortable; while a window is more than 70 % used (``RateLimiter.pressed``,
handed to the worker as ``LedgerHandle.pressure``) the fill waits up to ``FILL_S``
(core/worker.py ``FetchTimeouts``) so more changes share a batch's match. New customers
are still created one request each: QBO's ``/batch`` path (``create_many``) takes
invoices and payments only, and the worker batches documents, not customers.

Measured 2026-12-07 13:43-13:52, same machine (load average 1.9-3.6), with the pressed fill
of 500 ms:

- 5/s, 450 changes (2 runs): p50 269, 310 ms; **p99 764, 822 ms**, own limiter wait mean
  0.2 ms (p99 1.7, 0.4 ms), **p99 beyond the limiter while pending 763, 820 ms**;
  ``ledger_requests_per_change`` **1.42, 1.41** (7.12, 7.07 requests/s offered: within
  500/min, the limiter never held a request back for long);
- 5/s, 150 changes (1 run): p50 200 ms, p99 444 ms, 1.51 requests per change (7.57/s);
- 3/s (1 run, never pressed): p50 28.5 ms, p99 71.0 ms, 2.00 requests per change.

With a pressed fill of 250 ms (13:31-13:40, load 0.7-2.3) batches stayed too small:
5/s, 450 changes, p99 5.1, 3.6 s (beyond the limiter while pending 992, 499 ms),
1.62, 1.60 requests per change (8.1, 8.0/s: the minute window still bound near the end);
150 changes p99 297 ms, 1.74; 3/s p99 80 ms, 2.00.

Measured 2026-12-07 12:42-12:47 on the 2-core machine shared with other work (load average
4.3-5.6; the 3/s run ended at 2.6), 150 changes a run:

- 5/s (3 runs): p50 336, 322, 202 ms; **p99 637, 650, 491 ms**. Own limiter wait per change
  mean 75, 80, 78 ms (p99 348, 360, 392 ms); p99 beyond it 530, 637, 426 ms; **p99 beyond
  the limiter while pending 268, 275, 182 ms** (< 1 s). ``ledger_requests_per_change``
  1.86, 1.85, 1.89 (9.3-9.5 requests/s offered). Ledger call alone p50 22-60 ms, p99
  65-80 ms;
- 3/s (1 run): p50 10.2 ms, p99 62.1 ms, limiter wait mean 0.1 ms, p99 beyond the limiter
  62.0 ms, ``ledger_requests_per_change=2.00``.

Before the batch match, same day (load average 6.5-7.8): 5/s (3 runs) p50 2268, 1836, 2316
ms; p99 4921, 4229, 5169 ms; own limiter wait mean 116, 125, 108 ms; p99 beyond the limiter
while pending 2371, 1923, 2793 ms; ``ledger_requests_per_change=2.00``. 4/s: p50 62.9 ms,
p99 270.0 ms. 3/s: p50 59.0 ms, p99 244.9 ms.

Before, at 3/s (issue 11): a p99 of 30.3 s in both runs: a batch was dropped by
FastStream's fill loop when nats-py's fetch timed out with a bare ``asyncio.TimeoutError``,
and its changes waited for ``ack_wait`` (30 s) to be redelivered (core/worker.py
``FetchTimeouts``); that fixed, fill wait still 250 ms: p50 187-304 ms, p99 390-783 ms;
the fill ending once nothing is pending: p50 37-69 ms, p99 150-238 ms (5 runs), at 1/s
p50 66 ms, p99 263 ms. bench/push.py (a backlog: whole batches) is unchanged: 0.95 of
QBO's limit, zero 429s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import structlog

from syncledger.adapters.ratelimit import LIMITER_REGISTRY, RateLimiter
from syncledger.adapters.sources.registry import SourceConnection, source
from syncledger.adapters.webhooks.platform import TEST_SECRET
from syncledger.adapters.webhooks.sign import sign
from syncledger.core.bootstrap import Runtime, open_runtime
from syncledger.core.ledgers import LedgerHandle, open_ledger
from syncledger.core.metrics import REGISTRY, requests_sent
from syncledger.core.model import Customer
from syncledger.core.pipeline import run_worker, source_log
from syncledger.core.ports import CustomerWrite, LedgerAdapter
from syncledger.core.settings import Settings
from syncledger.core.source_ports import WebhookReceiver, WebhookRequest
from syncledger.core.source_sync import WebhookDesk
from syncledger.core.sync import Outcome

Interval = tuple[float, float]


def limiter_wait() -> float:
    return REGISTRY.get_sample_value("syncledger_rate_limit_wait_seconds_total") or 0.0


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


@dataclass
class LimiterLog:
    """Every request's time in the client-side limiters (asked -> let through, so the
    wait behind other requests for the limiter's lock is counted too), by the ref of the
    change being handled (the worker binds it as log context; ``""`` outside one).

    A ``LimiterRegistry``: the limiters built while it is current are watched, by
    wrapping their ``slot``/``acquire`` on the instance (a bench-only measurement; the
    limiter has no per-request hook)."""

    waits: list[tuple[str, Interval]] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # the watched limiters' rates

    def register(self, limiter: RateLimiter) -> None:
        self.names.append(limiter.name)
        slot, acquire = limiter.slot, limiter.acquire

        @contextlib.asynccontextmanager
        async def timed_slot() -> AsyncIterator[None]:
            asked = time.perf_counter()
            async with slot():
                self._record(asked)
                yield

        async def timed_acquire() -> None:
            asked = time.perf_counter()
            await acquire()
            self._record(asked)

        limiter.slot = timed_slot  # type: ignore[method-assign]  # measurement only
        limiter.acquire = timed_acquire  # type: ignore[method-assign]

    def _record(self, asked: float) -> None:
        ref = structlog.contextvars.get_contextvars().get("ref", "")
        self.waits.append((str(ref), (asked, time.perf_counter())))

    def own(self, ref: str) -> float:
        """Seconds the change's own requests spent in the limiters."""
        return sum(end - start for r, (start, end) in self.waits if r == ref)

    def during(self, span: Interval) -> float:
        """Seconds within ``span`` in which some request (any change's) was held by a
        limiter: the worker handles a batch's changes one after the other, so that
        holds back every change waiting behind it."""
        clipped = [(max(s, span[0]), min(e, span[1])) for _, (s, e) in self.waits]
        return sum(e - s for s, e in merged([c for c in clipped if c[1] > c[0]]))


def merged(intervals: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


@dataclass(frozen=True)
class Change:
    """One change's figures, in ms: latency, its own limiter wait, and the limiter's
    holding of any request while it was pending."""

    latency: float
    own_wait: float
    wait_during: float


@dataclass(frozen=True)
class Measured:
    changes: list[Change]
    requests: int  # ledger requests sent while the changes were handled
    metric_wait: float  # syncledger_rate_limit_wait_seconds_total over the run


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


def watched_ledger(settings: Settings, limiters: LimiterLog) -> LedgerHandle:
    token = LIMITER_REGISTRY.set(limiters)
    try:
        return open_ledger(settings)
    finally:
        LIMITER_REGISTRY.reset(token)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=5.0, help="changes per second")
    parser.add_argument("--changes", type=int, default=150)
    args = parser.parse_args()
    limiters = LimiterLog()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), entity="latency", ledger="qbo", rate_scale=1.0)
        async with open_runtime(settings) as rt:
            ledger = watched_ledger(settings, limiters)
            try:
                ours = await through_syncledger(rt, ledger, limiters, args.rate, args.changes)
                raw = await direct(ledger.adapter, args.rate, args.changes)
            finally:
                await ledger.aclose()
    report(ours, raw, args.rate, limiters.names)


async def through_syncledger(
    rt: Runtime, ledger: LedgerHandle, limiters: LimiterLog, rate: float, n: int
) -> Measured:
    reader = source("webhooks").connect(SourceConnection(Path("unused")))
    assert isinstance(reader, WebhookReceiver)
    desk = WebhookDesk(source_log(rt), reader.system)
    stored: dict[str, float] = {}
    spans: dict[str, Interval] = {}
    done = asyncio.Event()

    def acked(outcome: Outcome) -> None:
        ref = outcome.source_ref or ""
        if ref in stored and ref not in spans and outcome.status != "retry":
            spans[ref] = (stored[ref], time.perf_counter())
            if len(spans) == n:
                done.set()

    stop = asyncio.Event()
    worker = asyncio.create_task(
        run_worker(rt, ledger, until_idle=False, on_outcome=acked, stop=stop)
    )

    async def change(i: int) -> None:
        request = delivery("s", i)
        await desk.receive(reader.verify(request))
        stored[f"webhooks/customer/s-{i}"] = time.perf_counter()

    before, sent = limiter_wait(), requests_sent(ledger.adapter.ledger)
    await paced(rate, n, change)
    await asyncio.wait_for(done.wait(), timeout=120 + n / rate)
    measured = Measured(
        [figures(limiters, ref, span) for ref, span in spans.items()],
        requests_sent(ledger.adapter.ledger) - sent,
        limiter_wait() - before,
    )
    stop.set()
    await worker
    return measured


def figures(limiters: LimiterLog, ref: str, span: Interval) -> Change:
    ms = 1000.0
    return Change((span[1] - span[0]) * ms, limiters.own(ref) * ms, limiters.during(span) * ms)


async def direct(adapter: LedgerAdapter, rate: float, n: int) -> list[float]:
    latencies: list[float] = []

    async def create(i: int) -> None:
        customer = Customer(id=f"raw-{i}", name=f"Latency Raw {i}", currency="USD")
        key = hashlib.sha256(f"raw-{i}".encode()).hexdigest()
        start = time.perf_counter()
        await adapter.create_customer(
            CustomerWrite(customer, external_ref=f"raw/customer/raw-{i}", idempotency_key=key)
        )
        latencies.append((time.perf_counter() - start) * 1000)

    await paced(rate, n, create)
    return latencies


def report(ours: Measured, raw: list[float], rate: float, limiters: list[str]) -> None:
    changes = ours.changes
    latency = [c.latency for c in changes]
    own = [c.own_wait for c in changes]
    beyond_own = [c.latency - c.own_wait for c in changes]
    beyond_during = [c.latency - c.wait_during for c in changes]
    row = "{:<34} {:>8.1f} {:>8.1f}"
    print(f"{'':<34} {'p50 ms':>8} {'p99 ms':>8}")
    print(row.format("change -> ledger ack (ours)", *_p50_p99(latency)))
    print(row.format("ledger call alone (raw)", *_p50_p99(raw)))
    print(row.format("its own requests in the limiter", *_p50_p99(own)))
    print(row.format("ack beyond its own limiter wait", *_p50_p99(beyond_own)))
    print(row.format("ack beyond limiter while pending", *_p50_p99(beyond_during)))
    print(f"ledger_requests_per_change={ours.requests / len(changes):.2f}")
    print(
        f"limiter_wait_ms_per_change_mean={statistics.fmean(own):.1f} "
        f"(metric: {1000 * ours.metric_wait / len(changes):.1f})"
    )
    offered = rate * ours.requests / len(changes)
    print(f"offered_ledger_requests_per_s={offered:.2f} limiters={','.join(limiters)}")
    print(f"p99_beyond_own_limiter_wait_ms={pct(beyond_own, 99):.1f}")
    print(f"p99_beyond_limiter_ms={pct(beyond_during, 99):.1f}")
    print(f"ratio_p50_vs_raw={pct(latency, 50) / pct(raw, 50):.2f}")


def _p50_p99(values: list[float]) -> tuple[float, float]:
    return pct(values, 50), pct(values, 99)


if __name__ == "__main__":
    asyncio.run(main())
