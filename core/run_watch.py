"""What ``syncledger run`` tells the operator watching it, and the gauges it keeps.

- A start banner: entity, ledger, source, each job and how often it runs, where metrics
  are served, how to stop.
- A line per cycle that did something: records settled in the last minute by outcome,
  a reconciliation's summary, a back-sync that saw changes, a source poll or webhook turn
  that appended records, an alert turn that raised or delivered.
- Gauges refreshed every few seconds: events each durable consumer has not acknowledged
  (``syncledger_consumer_pending``), mismatches open (``syncledger_open_mismatches``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import nats.js.errors
from nats.aio.client import Client as NatsClient
from sqlalchemy import Engine

from syncledger.core.alert_consumer import consumer_name
from syncledger.core.alerts import TurnReport
from syncledger.core.bootstrap import Runtime
from syncledger.core.ingest import IngestReport
from syncledger.core.metrics import CONSUMER_PENDING, OPEN_MISMATCHES
from syncledger.core.reconcile import ReconReport
from syncledger.core.settings import Settings
from syncledger.core.sync_context import Outcome
from syncledger.core.words import outcome_summary, plural
from syncledger.core.worker import durable_name
from syncledger.projections.queries import ReadModels

Job = tuple[str, float, Callable[[], Awaitable[object]]]
_NOTHING_SEEN = re.compile(r": 0 changed records")


def _every(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def banner(settings: Settings, jobs: Sequence[Job], metrics_port: int | None) -> str:
    where = (settings.ledger_url and "its API") or "the in-process sandbox"
    source = settings.source if settings.source != "csv" or settings.source_dir else "none"
    schedule = ", ".join(f"{name} every {_every(every)}" for name, every, _ in jobs)
    metrics = (
        f"metrics on http://{settings.metrics_addr}:{metrics_port}/metrics"
        if metrics_port is not None
        else "no metrics (set SYNCLEDGER_METRICS_PORT)"
    )
    return (
        f"syncledger run: entity {settings.entity}, ledger {settings.ledger} ({where}), "
        f"source {source}; {schedule}; {metrics}; stop with Ctrl-C or SIGTERM"
    )


@dataclass
class Tally:
    """Outcomes the worker settled since the last progress line."""

    counts: Counter[str] = field(default_factory=Counter)

    def __call__(self, outcome: Outcome) -> None:
        if outcome.status not in ("ignored", "deferred", "skipped"):
            self.counts[outcome.status] += 1

    async def progress(self) -> str | None:
        if not self.counts:
            return None
        done = outcome_summary(self.counts)
        self.counts.clear()
        return f"records in the last minute: {done}"


def cycle_line(name: str, result: object) -> str | None:
    """One line for a job's turn that did something; None for a quiet one."""
    if isinstance(result, ReconReport):
        return result.text().splitlines()[0]
    if isinstance(result, TurnReport):
        busy = result.raised or result.delivered or result.failed or result.parked
        return result.text() if busy or result.withdrawn else None
    if isinstance(result, IngestReport):
        if result.observed or result.deleted or result.refused:
            return (
                f"{name}: {plural(result.observed, 'new record version')}, "
                f"{plural(result.deleted, 'deletion')}, {result.refused:,} refused"
            )
        return None
    if isinstance(result, str) and result and name != "invoice e-mails":
        first = result.splitlines()[0]
        return None if _NOTHING_SEEN.search(first) else first
    return None


@dataclass
class RunHealth:
    """``/readyz`` of ``run``'s metrics port: ready once connected to NATS, and while the
    connection holds; the line says whether this process pushes or stands by."""

    nc: NatsClient | None = None
    pushing: bool = False

    def connected(self, nc: NatsClient) -> None:
        self.nc = nc

    def check(self) -> tuple[bool, str]:
        if self.nc is None:
            return False, "starting: connecting to NATS"
        if not self.nc.is_connected:
            return False, "NATS connection lost: reconnecting"
        if not self.pushing:
            return True, "ready: waiting for the push lease (another process pushes)"
        return True, "ready: pushing"


def gauges_job(rt: Runtime, ledger: str, engine: Engine) -> Callable[[], Awaitable[object]]:
    s = rt.settings
    consumers = [durable_name(s.entity, ledger)]
    if s.alert_channels:
        consumers.append(consumer_name(s.entity))

    async def turn() -> None:
        js = rt.nc.jetstream()
        for consumer in consumers:
            try:
                info = await js.consumer_info(s.stream, consumer)
            except nats.js.errors.NotFoundError:
                continue
            pending = int(info.num_pending or 0) + int(info.num_ack_pending or 0)
            CONSUMER_PENDING.labels(consumer=consumer).set(pending)
        open_now = ReadModels(engine).open_mismatches(s.entity, ledger)
        OPEN_MISMATCHES.labels(ledger=ledger).set(len(open_now))

    return turn
