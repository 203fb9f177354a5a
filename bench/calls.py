"""Ledger requests per pushed record, per platform, on the demo's sample data.

A ledger API call is the scarce resource (Xero allows 5,000 a day; Zoho's plans
1,000-10,000), so this counts every HTTP request each adapter sends to its in-process
sandbox (OAuth token requests included: a counting wrapper around the transport the
adapter is given) and divides by the records pushed (pushed, linked or recovered).

For each platform, in a fresh temporary data directory with the embedded NATS server:

1. **first import**: the whole sample data set (``core/sample_data``, ~430 records), as
   ``syncledger demo`` pushes it; reference data (customers, items, tax codes) is met for
   the first time here;
2. **second import** (steady state): a changed batch on the same log and ledger,
   :data:`UPDATED_CUSTOMERS` customers with a new e-mail address and :data:`NEW_INVOICES`
   new invoices (copies of sample invoices under new ids and numbers).

It prints one line per platform and import (requests, pushed records, requests per pushed
record, the sandbox's 429s), the request count by method and path with ``--paths``, the
raw figure of the baseline (the platform with the fewest requests per record in steady
state), and ``calls_per_record_max=`` last: the highest steady-state figure over all
platforms (target <= 1.1). The process-wide per-platform counter the adapters keep
(``syncledger_ledger_requests_total``, the Prometheus counter ``core.metrics`` serves) is printed
beside it as a cross-check; it leaves out OAuth token requests.

Sandboxes run at :data:`RATE_SCALE` times the platform's limits so the run is not paced
by them (it measures counts, not throughput): four to five minutes on two shared cores
(``--ledger`` runs a subset).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx

from syncledger.adapters.platforms import Connection, platform, platform_ids
from syncledger.adapters.sources.csv_source import CsvSource
from syncledger.core.bootstrap import Runtime, open_runtime
from syncledger.core.ledgers import LedgerHandle, sandbox_book
from syncledger.core.metrics import requests_sent
from syncledger.core.pipeline import ingest_items, run_worker
from syncledger.core.ports import SourceItem
from syncledger.core.sample_data import sample_data_dir
from syncledger.core.settings import Settings
from syncledger.core.sync import Outcome

PUSHED = ("pushed", "linked", "recovered")
RATE_SCALE = 50.0
UPDATED_CUSTOMERS = 20
NEW_INVOICES = 30
_ID = re.compile(r"(?<=/)[^/]*\d[^/]*(?=/|$)")


class CountingTransport(httpx.AsyncBaseTransport):
    """Passes every request on, counting it by method and path (ids shown as ``{id}``)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.paths: Counter[str] = Counter()

    @property
    def total(self) -> int:
        return sum(self.paths.values())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths[f"{request.method} {_ID.sub('{id}', request.url.path)}"] += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class Run:
    requests: int = 0
    sent: int = 0  # by the adapters' own counter (no token requests)
    pushed: int = 0
    throttled: int = 0
    paths: Counter[str] = field(default_factory=Counter)

    @property
    def per_record(self) -> float:
        return self.requests / self.pushed if self.pushed else float("inf")


def open_counted_ledger(settings: Settings) -> tuple[LedgerHandle, CountingTransport]:
    """``core.ledgers.open_ledger``'s sandbox branch with a counting transport."""
    plat = platform(settings.ledger)
    book = sandbox_book(settings.data_dir, plat.id)
    book.parent.mkdir(parents=True, exist_ok=True)
    app = plat.sandbox_app(book, home_currency=settings.home_currency, rate_scale=RATE_SCALE)
    counted = CountingTransport(httpx.ASGITransport(app=app))
    token_file = settings.data_dir / "tokens" / f"{plat.id}.json"
    conn = Connection(plat.sandbox_url, token_file, {}, counted, rate_scale=RATE_SCALE)
    handle = LedgerHandle(plat.connect(conn), plat.sandbox_handle(app), plat.title)
    return handle, counted


async def sample_items() -> list[SourceItem]:
    return [item async for item in CsvSource(sample_data_dir()).changes()]


def changed_batch(first: list[SourceItem]) -> list[SourceItem]:
    """Updated customers (new e-mail) and new invoices copied from sample ones."""
    customers = [i for i in first if i.kind == "customer" and i.fields.get("email")]
    invoices = [i for i in first if i.kind == "invoice" and i.fields.get("status") == "open"]
    out = [
        replace(
            c, version=c.version + "-2", fields={**c.fields, "email": f"new.{c.fields['email']}"}
        )
        for c in customers[:UPDATED_CUSTOMERS]
    ]
    for n, inv in enumerate(invoices[:NEW_INVOICES]):
        fields = {**inv.fields, "id": f"INV-B{n}", "number": f"B{n}"}
        out.append(replace(inv, id=f"INV-B{n}", fields=fields))
    return out


async def feed(items: Iterable[SourceItem]) -> AsyncIterator[SourceItem]:
    for item in items:
        yield item


async def push(
    rt: Runtime, ledger: LedgerHandle, counted: CountingTransport, items: list[SourceItem]
) -> Run:
    assert ledger.sandbox is not None
    before_paths, before_sent = counted.paths.copy(), requests_sent(ledger.adapter.ledger)
    before_throttled = ledger.sandbox.throttled
    await ingest_items(rt, feed(items))
    run = Run()

    def seen(outcome: Outcome) -> None:
        run.pushed += outcome.status in PUSHED

    await run_worker(rt, ledger, until_idle=True, on_outcome=seen)
    run.paths = counted.paths - before_paths
    run.requests = sum(run.paths.values())
    run.sent = requests_sent(ledger.adapter.ledger) - before_sent
    run.throttled = ledger.sandbox.throttled - before_throttled
    return run


async def measure(ledger_id: str, items: list[SourceItem]) -> tuple[Run, Run]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), entity="bench", ledger=ledger_id)
        async with open_runtime(settings) as rt:
            ledger, counted = open_counted_ledger(settings)
            try:
                first = await push(rt, ledger, counted, items)
                second = await push(rt, ledger, counted, changed_batch(items))
            finally:
                await ledger.aclose()
    return first, second


def line(ledger_id: str, label: str, run: Run) -> str:
    return (
        f"{ledger_id:<11} {label:<7} requests={run.requests:<5} pushed={run.pushed:<4} "
        f"requests_per_record={run.per_record:.2f} (adapter counter {run.sent}, "
        f"429s {run.throttled})"
    )


def print_paths(run: Run) -> None:
    for path, count in run.paths.most_common():
        print(f"    {count:>5}  {path}")


async def main(ledgers: list[str], paths: bool) -> None:
    items = await sample_items()
    steady: dict[str, Run] = {}
    for ledger_id in ledgers:
        first, second = await measure(ledger_id, items)
        print(line(ledger_id, "first", first))
        if paths:
            print_paths(first)
        print(line(ledger_id, "steady", second))
        if paths:
            print_paths(second)
        steady[ledger_id] = second
    best = min(steady, key=lambda k: steady[k].per_record)
    worst = max(steady.values(), key=lambda r: r.per_record)
    print(
        f"baseline={best} requests={steady[best].requests} pushed={steady[best].pushed} "
        f"requests_per_record={steady[best].per_record:.2f} (steady state, fewest)"
    )
    print(f"calls_per_record_max={worst.per_record:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ledger", action="append", choices=platform_ids(), help="repeatable")
    parser.add_argument("--paths", action="store_true", help="requests by method and path")
    args = parser.parse_args()
    asyncio.run(main(args.ledger or list(platform_ids()), args.paths))
