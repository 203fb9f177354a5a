"""The operations the CLI offers, composed from the parts (import, sync, project, reconcile)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import shutil
import signal
import sys
import tempfile
from collections import Counter
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import nats.errors
import nats.js.errors
from sqlalchemy import Engine
from starlette.applications import Starlette

from syncledger.adapters.platforms import mapping_file
from syncledger.adapters.sources.registry import source
from syncledger.core import retry as retries
from syncledger.core.alert_jobs import alert_desk, raising
from syncledger.core.alerts import AlertBook, alert_status_lines
from syncledger.core.backfill import BackfillPlan, Planner
from syncledger.core.backsync import BackSync, BackSyncReport
from syncledger.core.bootstrap import Runtime, audit_context, open_runtime, publish_mapping
from syncledger.core.conflicts import (
    ConflictDesk,
    Decision,
    conflict_lines,
    conflicts_seen,
    open_conflicts,
)
from syncledger.core.conflicts import settle_conflict as settle
from syncledger.core.console_auth import ConsoleAuth, read_token
from syncledger.core.customer_reverse import CustomerReverse
from syncledger.core.data_map_build import checked_rules, publish_data_map
from syncledger.core.delivery import DeliveryReport, InvoiceMailer, read_send_log, send_log_text
from syncledger.core.errors import (
    ConfigurationError,
    EventStoreError,
    EventStoreUnavailable,
    LedgerError,
    LedgerUnavailable,
)
from syncledger.core.ids import uuid7
from syncledger.core.ingest import Ingestor, IngestReport
from syncledger.core.lease import LeaseHolder, PushLease, new_holder, open_bucket
from syncledger.core.ledgers import LedgerHandle, open_ledger, sandbox_book
from syncledger.core.logs import RUN_LOGGER, bind
from syncledger.core.mapping import Mapping, load_mapping
from syncledger.core.metrics import served
from syncledger.core.model import RecordRef
from syncledger.core.outage import (
    RETRY_EVERY_S,
    LedgerSite,
    OutageRetries,
    OutageWatch,
    Stall,
    check_ledger,
    run_watched,
)
from syncledger.core.pii_names import digester
from syncledger.core.ports import SourceItem
from syncledger.core.progress import Meter, silent
from syncledger.core.reconcile import KINDS, Expected, Mismatch, Reconciler, ReconReport
from syncledger.core.reconcile_expected import with_log
from syncledger.core.reconcile_mirror import LedgerMirror, mirror_path, open_mirror_engine
from syncledger.core.reconcile_source import SourceContent, load_state_and_content
from syncledger.core.redact import mask_text
from syncledger.core.reflow import Reflow, request_reflows
from syncledger.core.report_facts import read_facts
from syncledger.core.report_mismatches import mismatch_lines, status_lines
from syncledger.core.reports import Period, Report, report_dir
from syncledger.core.reports import build as build_report
from syncledger.core.reports import write as write_report
from syncledger.core.review import ReviewDesk
from syncledger.core.rollout_scope import (
    WAITING_FOR_ROLLOUT,
    held_line,
    publish_scope,
    status_words,
)
from syncledger.core.run_watch import Job, RunHealth, Tally, banner, cycle_line, gauges_job
from syncledger.core.serve import Endpoint, serve_app
from syncledger.core.settings import Settings
from syncledger.core.source_ports import (
    CustomerDetailsWriter,
    SourceReader,
    StatusWriter,
    WebhookReceiver,
)
from syncledger.core.source_sync import (
    MAX_PAGES,
    SourceLog,
    WebhookDesk,
    poll_source,
    process_webhooks,
    publish_source_mapping,
)
from syncledger.core.sources import SourceHandle, open_source
from syncledger.core.subjects import entity_filter
from syncledger.core.sync import Outcome, SyncService
from syncledger.core.sync_state import SyncState
from syncledger.core.trace import ledger_entry_of, status_written_of, trace
from syncledger.core.validation import reason_help
from syncledger.core.words import (
    money_or_unknown,
    needs_attention,
    outcome_counts,
    outcome_summary,
    plural,
)
from syncledger.core.worker import WorkerStats, build_broker, durable_name, wait_idle
from syncledger.projections.engine import make_engine
from syncledger.projections.queries import ErrorView, MismatchView, ReadModels, UnfoldableView
from syncledger.projections.rebuild import replay, verify
from syncledger.projections.runner import ProjectionRunner
from syncledger.projections.schema import create_all

if TYPE_CHECKING:
    from syncledger.core.partitions import Partition

log = logging.getLogger(__name__)


def ledger_mapping(ledger: str) -> Mapping:
    """The mapping in force for ``ledger``: its platform folder's ``mapping.toml``."""
    return load_mapping(ledger, mapping_file(ledger))


# ---------------------------------------------------------------------- import


async def ingest_items(
    rt: Runtime,
    items: AsyncIterable[SourceItem],
    on_progress: Callable[[int], None] | None = None,
) -> IngestReport:
    s = rt.settings
    ingestor = Ingestor(rt.store, rt.keys, entity=s.entity, actor=s.actor, on_progress=on_progress)
    await ingestor.load()
    return await ingestor.ingest(items)


def source_log(rt: Runtime) -> SourceLog:
    s = rt.settings
    return SourceLog(rt.store, rt.keys, s.entity, s.actor)


async def mapped_log(rt: Runtime, source_id: str) -> SourceLog:
    """The source's log, with its source mapping version published and in force."""
    path = source(source_id).mapping_file()
    log_ = source_log(rt)
    if path is None:
        return log_
    return await publish_source_mapping(log_, source_id, path.read_text(encoding="utf-8"))


async def source_items(reader: SourceReader) -> AsyncIterator[SourceItem]:
    """Everything the source holds now (a backfill read, following ``more``)."""
    cursor = None
    for _ in range(MAX_PAGES):
        page = await reader.read_changes(cursor)
        for item in page.items:
            yield item
        cursor = page.cursor if page.cursor is not None else cursor
        if not page.more:
            return


async def ingest_dir(
    rt: Runtime,
    path: Path,
    on_progress: Callable[[int], None] | None = None,
    encoding: str | None = None,
) -> IngestReport:
    """A folder of CSV files, read whole (``encoding``: the files' text encoding, e.g.
    ``cp1252``; default UTF-8 with or without a byte-order mark)."""
    handle = open_csv(rt.settings, path, encoding)
    try:
        return await ingest_items(rt, source_items(handle.reader), on_progress)
    finally:
        await handle.reader.aclose()


def open_csv(settings: Settings, path: Path, encoding: str | None) -> SourceHandle:
    """The CSV folder ``path`` as a source (``syncledger import <folder>``)."""
    return open_source(settings.model_copy(update={"source": "csv"}), path, encoding=encoding)


async def import_csv(
    settings: Settings, path: Path, encoding: str | None = None, meter: Meter = silent
) -> IngestReport:
    async with open_runtime(settings) as rt:
        with meter(f"importing {path.name or path}", None) as advance:
            return await ingest_dir(rt, path, on_progress=advance, encoding=encoding)


#: the exit code of a command that ran but left something needing attention (issue 16)
NEEDS_ATTENTION = 1


@dataclass(frozen=True, slots=True)
class Said:
    """A command's answer: the text for a person, the same as one JSON object (stable
    keys, docs/json-output.md) and the exit code (README "Exit codes")."""

    text: str
    data: dict[str, object]
    exit_code: int = 0

    def as_json(self) -> str:
        return json.dumps({**self.data, "exit_code": self.exit_code}, sort_keys=True, default=str)


def import_said(report: IngestReport) -> Said:
    """``import``: what the source held, in words; exit 1 when records were refused."""
    text = (
        f"{plural(report.observed, 'new record version')}, {report.unchanged:,} unchanged, "
        f"{plural(report.deleted, 'deletion')}"
        + (
            f", {plural(report.refused, 'record')} refused (`syncledger errors` says why)"
            if report.refused
            else ""
        )
    )
    data: dict[str, object] = {
        "new_versions": report.observed,
        "unchanged": report.unchanged,
        "deleted": report.deleted,
        "refused": report.refused,
        "by_kind": dict(sorted(report.by_kind.items())),
    }
    return Said(text, data, NEEDS_ATTENTION if report.refused else 0)


async def import_source(settings: Settings) -> IngestReport:
    """What changed in the configured source since the stored cursor, into the log."""
    async with open_runtime(settings) as rt:
        handle = open_source(settings)
        try:
            return await poll_source(await mapped_log(rt, settings.source), handle.reader)
        finally:
            await handle.reader.aclose()


async def plan_backfill(
    settings: Settings, path: Path, encoding: str | None = None
) -> BackfillPlan:
    """What a historical import would do (``core/backfill.py``), writing nothing anywhere:
    not the log, not the data dir (a sandbox ledger is read from a scratch copy of its
    books). The mapping file shapes records exactly as it will when they are pushed."""
    async with _planning_ledger(settings) as ledger:
        planner = Planner(
            ledger.adapter,
            ledger_mapping(ledger.adapter.ledger),
            checked_rules(settings, ledger.adapter.ledger),
            settings.home_currency,
            rollout=settings.rollout,
        )
        handle = open_csv(settings, path, encoding)
        try:
            return await planner.run(source_items(handle.reader))
        finally:
            await handle.reader.aclose()


@contextlib.asynccontextmanager
async def _planning_ledger(settings: Settings) -> AsyncIterator[LedgerHandle]:
    """The ledger to plan against. A sandbox's books are copied to a scratch folder (its
    SQLite file gains journal files even when only read, and tokens are issued); a real
    ledger is the real one (its OAuth tokens are refreshed as any read refreshes them)."""
    with tempfile.TemporaryDirectory(prefix="syncledger-plan-") as scratch:
        planned = settings
        if settings.ledger_url is None:
            planned = settings.model_copy(update={"data_dir": Path(scratch)})
            _copy_books(sandbox_book(settings.data_dir, settings.ledger), Path(scratch))
        ledger = open_ledger(planned)
        try:
            yield ledger
        finally:
            await ledger.aclose()


def _copy_books(book: Path, scratch: Path) -> None:
    """The sandbox's SQLite books (with any journal beside them) into ``scratch``."""
    target = sandbox_book(scratch, book.stem)
    target.parent.mkdir(parents=True)
    for part in (book, *book.parent.glob(f"{book.name}-*")):
        if part.is_file():
            shutil.copy2(part, target.parent / part.name)


# ---------------------------------------------------------------------- sync


async def _ledger_state(rt: Runtime, ledger: LedgerHandle) -> SyncState:
    """What the log says of each record on ``ledger`` for the configured entity."""
    state = SyncState(rt.settings.entity, ledger.adapter.ledger)
    await state.load(rt.store)
    return state


async def sync_service(rt: Runtime, ledger: LedgerHandle) -> SyncService:
    s = rt.settings
    mapping_version = await publish_mapping(rt.store, s.entity, ledger.adapter.ledger, s.actor)
    mapping = ledger_mapping(ledger.adapter.ledger)
    if mapping.version != mapping_version:  # the file changed between the two reads
        raise ConfigurationError(
            f"the {ledger.adapter.ledger} mapping file changed while starting; start again"
        )
    await publish_scope(rt.store, s.entity, ledger.adapter.ledger, s.rollout, s.actor)
    await publish_data_map(rt.store, s, ledger.adapter.ledger)
    service = SyncService(
        rt.store,
        ledger.adapter,
        rt.keys,
        await _ledger_state(rt, ledger),
        entity=s.entity,
        actor=s.actor,
        mapping_version=mapping_version,
        mapping=mapping,
        authority=dict(s.field_authority),
        home_currency=s.home_currency,
        rules=checked_rules(s, ledger.adapter.ledger),
        rollout=s.rollout,
        customer_fields=dict(s.customer_field_authority),
    )
    await service.rollout.release_backlog(s.actor)
    return service


@contextlib.asynccontextmanager
async def review_desk(settings: Settings) -> AsyncIterator[ReviewDesk]:
    """The log and the ledger for ``syncledger review``, closed on the way out."""
    async with open_runtime(settings) as rt:
        ledger = open_ledger(settings)
        try:
            yield ReviewDesk(rt.store, ledger.adapter, settings.entity, settings.actor)
        finally:
            await ledger.aclose()


async def review_json(desk: ReviewDesk) -> dict[str, object]:
    """``review --json``: the records waiting for a person and their candidates (the
    name the ledger holds for each, null where it cannot be read now)."""
    from syncledger.core.review import open_reviews

    waiting = []
    for item in await open_reviews(desk):
        candidates = [
            {"ledger_id": c, "name": await _candidate_name(desk, item.kind, c)}
            for c in item.review_candidates
        ]
        waiting.append(
            {"source_ref": item.source_ref, "reason": item.review_reason, "candidates": candidates}
        )
    return {"entity": desk.entity, "ledger": desk.ledger_id, "waiting": waiting}


async def _candidate_name(desk: ReviewDesk, kind: str | None, ledger_id: str) -> str | None:
    try:
        found = await desk.ledger.get(kind or "customer", ledger_id)
    except LedgerError:
        return None
    return found.name if found is not None else None


async def pending_source_events(rt: Runtime, ledger: str) -> int:
    """How many source events the worker has not acknowledged yet (for progress bars)."""
    js = rt.nc.jetstream()
    try:
        info = await js.consumer_info(rt.settings.stream, durable_name(rt.settings.entity, ledger))
    except nats.js.errors.NotFoundError:  # no consumer yet: everything is pending
        return sum([1 async for _ in rt.store.read(entity_filter(rt.settings.entity, "source"))])
    return int(info.num_pending + info.num_ack_pending)


async def run_worker(
    rt: Runtime,
    ledger: LedgerHandle,
    *,
    until_idle: bool,
    on_outcome: Callable[[Outcome], None] | None = None,
    stop: asyncio.Event | None = None,
    lease: PushLease | None = None,
) -> WorkerStats:
    """Push what the log holds, only while this process holds the push lease. Given a
    held ``lease`` (``run``): when it is lost, stop consuming and wait to take it again.
    Given a held ``lease`` and ``until_idle`` (``sync --once``): push until idle, losing it
    midway raises ``OwnershipLost``; the caller releases it. Without one: take it here or
    raise ``LeaseHeld``, as above, released at the end."""
    if lease is not None and not until_idle:
        return await _push_while_owner(rt, ledger, lease, on_outcome, stop or asyncio.Event())
    if lease is not None:
        stats = await _consume(rt, ledger, lease, until_idle, on_outcome, stop)
        lease.check()
        return stats
    lease = await open_push_lease(rt)
    await lease.take_or_raise()
    try:
        stats = await _consume(rt, ledger, lease, until_idle, on_outcome, stop)
        lease.check()
    finally:
        await lease.release()
    return stats


async def _push_while_owner(
    rt: Runtime,
    ledger: LedgerHandle,
    lease: PushLease,
    on_outcome: Callable[[Outcome], None] | None,
    stop: asyncio.Event,
) -> WorkerStats:
    while True:
        stats = await _consume(rt, ledger, lease, False, on_outcome, stop)
        if stop.is_set():
            return stats
        _announce(f"this process stopped pushing for {lease.scope}; waiting to take it again")
        if not await lease.wait(stop, on_wait=lambda _holder: None):
            return stats
        _announce(f"took over pushing for {lease.scope}")


async def _consume(
    rt: Runtime,
    ledger: LedgerHandle,
    lease: PushLease,
    until_idle: bool,
    on_outcome: Callable[[Outcome], None] | None,
    stop: asyncio.Event | None,
) -> WorkerStats:
    """One spell of consuming: until idle (or ``stop``), or until the lease is lost. The
    sync state is folded from the log *after* the lease was taken, so it holds every
    outcome an earlier owner logged."""
    s = rt.settings
    service = await sync_service(rt, ledger)
    service.guard = lease.check
    reflow = Reflow(rt.store, service.state, s.entity, s.actor, lease.check)
    await request_reflows(reflow, service.mapping_version)
    broker, stats = build_broker(
        rt.nats_url,
        service,
        stream=s.stream,
        entity=s.entity,
        ledger=ledger.adapter.ledger,
        on_outcome=on_outcome,
        ack_wait=s.ack_wait_s,
        pressure=ledger.pressure,
    )
    await broker.start()
    done: Awaitable[object]
    try:
        if until_idle:
            done = wait_idle(
                rt.nc.jetstream(), s.stream, durable_name(s.entity, ledger.adapter.ledger)
            )
        else:
            done = (stop or asyncio.Event()).wait()
        await _first_of(done, lease.lost.wait(), stats.ownership_lost.wait(), stats.halted.wait())
    except asyncio.CancelledError:
        stats.abort()  # stopped from outside (the ledger is gone): hand the batch back now
        raise
    finally:
        await broker.stop()
    if stats.fatal is not None:  # e.g. a broken token file: stop with its one line
        raise stats.fatal
    return stats


async def push_until_lost(
    rt: Runtime,
    ledger: LedgerHandle,
    lease: PushLease,
    stop: asyncio.Event,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> WorkerStats:
    """Push the runtime's entity+ledger until ``stop`` or until ``lease`` is lost (one
    partition of ``run --entities``; the caller decides what follows)."""
    return await _consume(rt, ledger, lease, False, on_outcome, stop)


async def _first_of(*waits: Awaitable[object]) -> None:
    """Until the first of ``waits`` ends (its error raised); the others are cancelled."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        task.result()


async def open_push_lease(rt: Runtime) -> PushLease:
    """The push lease for the runtime's entity+ledger (not taken yet)."""
    s = rt.settings
    return await PushLease.open(
        rt.nc, s.entity, s.ledger, s.lease_ttl_s, replicas=s.stream_replicas
    )


@contextlib.asynccontextmanager
async def _pushing_alone(rt: Runtime) -> AsyncIterator[PushLease]:
    """The push lease taken at once (``LeaseHeld`` otherwise), the limiters of the ledger
    opened inside sharing their usage with the lease's other holders (core/partitions.py);
    released on the way out."""
    from syncledger.core.partitions import lease_limits

    lease = await open_push_lease(rt)
    await lease.take_or_raise()
    try:
        async with lease_limits(rt, lease):
            yield lease
    finally:
        await lease.release()


@contextlib.asynccontextmanager
async def push_ownership(rt: Runtime, stop: asyncio.Event) -> AsyncIterator[PushLease | None]:
    """``run``: wait until this process holds the push lease (one line when it starts
    waiting, one when it takes over); None when stopped first. Released on the way out,
    so the next owner need not wait for the TTL."""
    lease = await open_push_lease(rt)
    try:
        yield lease if await _take_over(lease, stop) else None
    finally:
        await lease.release()


async def _take_over(lease: PushLease, stop: asyncio.Event) -> bool:
    waited = False

    def waiting(holder: LeaseHolder) -> None:
        nonlocal waited
        waited = True
        _announce(f"{lease.describe(holder)}; waiting to take over")

    if not await lease.wait(stop, on_wait=waiting):
        return False
    if waited:
        _announce(f"took over pushing for {lease.scope}")
    return True


def _announce(line: str) -> None:
    """A line for the operator watching ``run`` (stderr: stdout is for results; a JSON
    log line with ``SYNCLEDGER_LOG_FORMAT=json``)."""
    run_log = logging.getLogger(RUN_LOGGER)
    if run_log.isEnabledFor(logging.INFO) and logging.getLogger().handlers:
        run_log.info(line)
    else:  # logging not set up (a library caller): still say it
        print(line, file=sys.stderr, flush=True)


async def sync_once(settings: Settings) -> str:
    """``sync --once`` as text (see :func:`sync_once_said`)."""
    return (await sync_once_said(settings)).text


async def sync_once_said(settings: Settings, meter: Meter = silent) -> Said:
    """Push until idle, e-mail what asks for it, then say what happened and what needs
    attention; exit 1 when this run refused records or gave pushes up."""
    async with open_runtime(settings) as rt, _pushing_alone(rt) as lease:
        ledger = open_ledger(settings)  # its limiters share their usage (issue 13)
        try:
            total = await pending_source_events(rt, ledger.adapter.ledger)
            with meter(f"sending to {ledger.adapter.ledger}", total) as advance:
                stats = await sync_bounded(rt, ledger, lambda o: _counted(o, advance), lease)
            mail = await _mail(rt, ledger)
            engine = await catch_up(rt)
        finally:
            await ledger.aclose()
    errors = errors_said(ReadModels(engine), settings.entity)
    text = f"{outcome_summary(stats.outcomes)}{_mail_suffix(mail)}\n{errors.text}"
    data: dict[str, object] = {
        "entity": settings.entity,
        "ledger": settings.ledger,
        "records": outcome_counts(stats.outcomes),
        "invoice_emails": {
            "sent": mail.sent,
            "found_sent": mail.recovered,
            "not_sent": mail.failed,
        },
        "attention": errors.data,
    }
    return Said(text, data, NEEDS_ATTENTION if needs_attention(stats.outcomes) else 0)


def _counted(outcome: Outcome, advance: Callable[[int], None]) -> None:
    if outcome.status not in ("retry", "deferred"):  # a retried one is counted when settled
        advance(1)


async def mail_invoices(rt: Runtime, ledger: LedgerHandle) -> str:
    """E-mail the invoices whose source asks for it (core/delivery.py); a summary suffix."""
    return _mail_suffix(await _mail(rt, ledger))


async def _mail(rt: Runtime, ledger: LedgerHandle) -> DeliveryReport:
    s = rt.settings
    return await InvoiceMailer(rt.store, ledger.adapter, entity=s.entity, actor=s.actor).run()


def _mail_suffix(report: DeliveryReport) -> str:
    parts = [
        what
        for n, what in (
            (report.sent, plural(report.sent, "invoice e-mail") + " sent"),
            (report.recovered, f"{report.recovered:,} found already sent"),
            (report.failed, f"{report.failed:,} not sent (`syncledger sends` says why)"),
        )
        if n
    ]
    return f"; {', '.join(parts)}" if parts else ""


async def sends_text(settings: Settings, refs: Sequence[str]) -> str:
    """The send log: which invoice e-mails went out, which did not and why."""
    async with open_runtime(settings) as rt:
        sends = await read_send_log(rt.store, settings.entity, settings.ledger)
    return send_log_text(sends, refs)


async def sync_bounded(
    rt: Runtime,
    ledger: LedgerHandle,
    on_outcome: Callable[[Outcome], None] | None = None,
    lease: PushLease | None = None,
) -> WorkerStats:
    """Push until idle, never longer than the ledger keeps answering: it is asked first
    (credentials it refuses, or silence for ``ledger_wait_s``, end the run with one line
    before anything is pushed), records an earlier outage abandoned are asked for again,
    and whenever nothing moves for ``ledger_wait_s`` it is asked again."""
    s = rt.settings
    site = ledger_site(s, ledger)
    retries = OutageRetries(rt.store, s.entity, ledger.adapter.ledger, s.actor)

    async def ask() -> None:
        try:
            await check_ledger(ledger.adapter, site, within=s.ledger_wait_s)
        except LedgerUnavailable as exc:
            await retries.catch_up()
            waiting = len(retries.waiting())
            raise LedgerUnavailable(
                f"{exc}; {waiting} records wait and will be pushed when it is back"
            ) from exc

    await ask()
    await retries.request()
    stall = Stall(ask, s.ledger_wait_s)

    def saw(outcome: Outcome) -> None:
        stall.saw(outcome.status)
        if on_outcome is not None:
            on_outcome(outcome)

    work = run_worker(rt, ledger, until_idle=True, on_outcome=saw, lease=lease)
    return await run_watched(work, stall.watch())


def outage_job(rt: Runtime, ledger: LedgerHandle) -> Callable[[], Awaitable[object]]:
    """`run`'s job after outages: the log's server storing again once its disk has room,
    and records abandoned while the ledger was away asked for again once it answers."""
    s = rt.settings
    retries = OutageRetries(rt.store, s.entity, ledger.adapter.ledger, s.actor)
    watch = OutageWatch(retries, ledger.adapter, ledger_site(s, ledger))

    async def turn() -> list[str]:
        await rt.store.heal()
        return await watch.turn()

    return turn


def ledger_site(settings: Settings, ledger: LedgerHandle) -> LedgerSite:
    """The ledger in words for messages (its URL masked) and where its tokens are."""
    token_file = settings.ledger_token_file(ledger.adapter.ledger)
    return LedgerSite(mask_text(ledger.description), ledger.adapter.ledger, token_file)


async def sync_forever(settings: Settings) -> None:
    """`syncledger run`: worker + projections + scheduled reconciliation until SIGINT/TERM."""
    from syncledger.core.partitions import lease_limits

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    bind(entity=settings.entity, ledger=settings.ledger, run_id=uuid7())
    health = RunHealth()
    with served(settings.metrics_port, settings.metrics_addr, health.check) as metrics_port:
        async with open_runtime(settings) as rt, _stop_if_nats_lost(rt, stop):
            health.connected(rt.nc)
            async with push_ownership(rt, stop) as lease:
                if lease is None:  # stopped while waiting for the push lease
                    return
                health.pushing = True
                async with lease_limits(rt, lease):  # shared with the next holder
                    await _work_forever(rt, settings, stop, lease, metrics_port)


async def sync_partitions(settings: Settings) -> None:
    """`syncledger run --entities a,b,c`: this worker's fair share of those partitions
    (core/partitions.py), each pushed with its owner's jobs while its lease is held; the
    read models, hold rules and checkpoints once for the process; until SIGINT/TERM."""
    from syncledger.adapters.rate_usage_kv import open_rates_bucket
    from syncledger.core.membership import Membership
    from syncledger.core.partitions import (
        PartitionOwner,
        check_ledgers,
        check_tenants,
        partitions_of,
    )

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    bind(run_id=uuid7())
    health = RunHealth()
    parts = partitions_of(settings)
    check_ledgers(parts)
    check_tenants(parts)  # entities sharing a tenant would share no limiter
    with served(settings.metrics_port, settings.metrics_addr, health.check) as metrics_port:
        async with open_runtime(settings) as rt, _stop_if_nats_lost(rt, stop):
            health.connected(rt.nc)
            kv, ttl = await open_bucket(rt.nc, settings.lease_ttl_s, settings.stream_replicas)
            engine = engine_for(settings)  # caught up by the log-wide jobs' worker
            tally = Tally()
            work = _partition_work(rt, engine, tally)
            rates = await open_rates_bucket(rt.nc, settings.stream_replicas)  # handed over
            owner = PartitionOwner(
                kv, ttl, Membership(kv, ttl), parts, work, _announce, rates=rates
            )
            log_wide = [read_models_job(rt, engine), *process_jobs(rt)]
            progress: list[Job] = [("progress", 60.0, tally.progress)]
            _announce(_partitions_banner(parts, [*log_wide, *progress], metrics_port))
            await owner.membership.join()
            health.pushing = True
            jobs_lease = PushLease(kv, ttl, "the log-wide jobs", LOG_JOBS_KEY, new_holder())
            beside = [
                asyncio.create_task(run_jobs(progress, stop)),
                asyncio.create_task(_log_wide_jobs(rt, jobs_lease, log_wide, stop)),
            ]
            try:
                await owner.run(stop)  # gives up every partition when stopped
            finally:
                stop.set()
                await asyncio.gather(*beside, return_exceptions=True)
                await owner.release_all("this worker stops")
                await owner.membership.leave()


#: the lease of `run --entities`' jobs over the whole log (one worker runs them at a time)
LOG_JOBS_KEY = "jobs.log"


async def _log_wide_jobs(
    rt: Runtime, lease: PushLease, jobs: list[Job], stop: asyncio.Event
) -> None:
    """The read models, hold rules and audit checkpoints cover the whole log, whichever
    partitions a worker owns: one worker at a time runs them (the holder of the
    ``jobs.log`` lease in ``SL_LEASES``), the others try to take it every TTL/3. (Every
    worker folding every event into the one read-model database only competed for it.)"""
    gated = [owner_only(job, lease) for job in jobs]
    try:
        while not stop.is_set():
            if lease.held or await _took(lease):
                await _while_held(rt, lease, gated, stop)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=lease.ttl / 3)
    finally:
        await lease.release()


async def _took(lease: PushLease) -> bool:
    try:
        taken = await lease.take() is None
    except EventStoreUnavailable as exc:  # tried again next turn
        log.warning("%s", exc)
        return False
    if taken:
        _announce("this worker runs the read models, hold rules and audit checkpoints")
    return taken


async def _while_held(rt: Runtime, lease: PushLease, jobs: list[Job], stop: asyncio.Event) -> None:
    done = asyncio.Event()

    async def until_stop_or_lost() -> None:
        await _first_of(stop.wait(), lease.until_lost())
        done.set()

    watch = asyncio.create_task(until_stop_or_lost())
    try:
        await asyncio.gather(run_jobs(jobs, done), lease.while_held(_checkpoints(rt, done)))
    finally:
        watch.cancel()
        await asyncio.gather(watch, return_exceptions=True)


def _partitions_banner(parts: list[Partition], jobs: list[Job], metrics_port: int | None) -> str:
    """`run`'s first line, naming the partitions instead of one entity and ledger."""
    line = banner(parts[0].settings, jobs, metrics_port)
    scopes = ", ".join(p.scope for p in parts)
    first = f"syncledger run: {plural(len(parts), 'partition')} shared with the other workers"
    return f"{first} ({scopes}); {line.split('; ', 1)[1]}"


def _partition_work(
    rt: Runtime, engine: Engine, tally: Tally
) -> Callable[[Partition, PushLease, asyncio.Event], Awaitable[None]]:
    """What this worker does for a partition it owns: push it and run its owner's jobs
    (each cancelled the moment the lease is lost) until ``stop`` or the loss."""
    from syncledger.core.alert_consumer import ensure_alert_consumer
    from syncledger.core.partitions import partition_runtime

    async def work(part: Partition, lease: PushLease, stop: asyncio.Event) -> None:
        prt = partition_runtime(rt, part)
        bind(entity=part.entity, ledger=part.settings.ledger)
        if prt.settings.alert_channels:
            await ensure_alert_consumer(prt.nc, prt.settings.stream, part.entity)
        ledger = open_ledger(part.settings)
        try:
            async with owner_jobs(prt, ledger, engine) as owned:
                await _push_and_jobs(
                    prt, ledger, lease, stop, [owner_only(j, lease) for j in owned], tally
                )
        finally:
            await ledger.aclose()

    return work


async def _push_and_jobs(
    rt: Runtime,
    ledger: LedgerHandle,
    lease: PushLease,
    stop: asyncio.Event,
    jobs: list[Job],
    tally: Tally,
) -> None:
    """Push until ``stop`` or the lease is lost, the jobs beside it; the push is never
    cancelled from here (its consumer stops gracefully, its batch settled or handed
    back), the jobs end after it."""
    done = asyncio.Event()

    async def until_stop_or_lost() -> None:
        await _first_of(stop.wait(), lease.until_lost())
        done.set()

    watch = asyncio.create_task(until_stop_or_lost())
    beside = asyncio.create_task(run_jobs(jobs, done))
    try:
        await push_until_lost(rt, ledger, lease, done, tally)
    finally:
        done.set()
        watch.cancel()
        await asyncio.gather(watch, beside, return_exceptions=True)


async def _work_forever(
    rt: Runtime,
    settings: Settings,
    stop: asyncio.Event,
    lease: PushLease,
    metrics_port: int | None = None,
) -> None:
    """The worker and the background jobs of `run`, until ``stop``."""
    ledger = open_ledger(settings)
    tally = Tally()
    background = asyncio.create_task(_maintain(rt, ledger, stop, tally, metrics_port, lease))
    try:
        await run_worker(rt, ledger, until_idle=False, stop=stop, lease=lease, on_outcome=tally)
    finally:
        stop.set()
        if rt.connection_lost.is_set():  # a running job would only wait for its timeout
            background.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await background
        await ledger.aclose()


@contextlib.asynccontextmanager
async def _stop_if_nats_lost(rt: Runtime, stop: asyncio.Event) -> AsyncIterator[None]:
    """Sets ``stop`` when the connection to NATS is gone for good (reconnecting for
    ``SYNCLEDGER_NATS_RECONNECT_S`` failed); then — or when something gave up earlier
    because NATS was away — ``run`` ends with one line, non-zero."""

    async def watch() -> None:
        await rt.connection_lost.wait()
        stop.set()

    watcher = asyncio.create_task(watch())
    cause: BaseException | None = None
    try:
        yield
    except (OSError, nats.errors.Error, EventStoreError) as exc:
        if rt.nc.is_connected and not rt.connection_lost.is_set():
            raise
        cause = exc  # a consequence: the line below says what happened
    finally:
        watcher.cancel()
    if cause is not None or rt.connection_lost.is_set():
        raise EventStoreUnavailable(
            f"lost the connection to NATS ({rt.nats_address}) and it did not come back in "
            f"time (`run` waits up to {rt.settings.nats_reconnect_s:.0f} s, "
            "SYNCLEDGER_NATS_RECONNECT_S): check that nats-server is running, then start "
            "`run` again"
        ) from cause


async def _maintain(
    rt: Runtime,
    ledger: LedgerHandle,
    stop: asyncio.Event,
    tally: Tally | None = None,
    metrics_port: int | None = None,
    lease: PushLease | None = None,
) -> None:
    """Beside the worker: read models every few seconds, and on their own schedules the
    reconciler, back-sync, the source poller and signed audit checkpoints. A failing job
    is logged and tried again at its next turn; it never stops the others. Given the
    ``lease``, the jobs that act for the entity+ledger run only while it is held."""
    engine = await catch_up(rt)
    checkpoints = asyncio.create_task(_checkpoints(rt, stop))
    try:
        async with owner_jobs(rt, ledger, engine) as owned:
            gated = [owner_only(job, lease) for job in owned] if lease is not None else owned
            jobs = [read_models_job(rt, engine), *gated, *process_jobs(rt)]
            if tally is not None:
                jobs.append(("progress", 60.0, tally.progress))
            _announce(banner(rt.settings, jobs, metrics_port))
            await run_jobs(jobs, stop)
    finally:
        await checkpoints


def read_models_job(rt: Runtime, engine: Engine) -> Job:
    """The read models caught up every 2 s (once per process: they hold every entity)."""
    return ("read models", 2.0, lambda: ProjectionRunner(engine, rt.store).catch_up())


def process_jobs(rt: Runtime) -> list[Job]:
    """`run`'s jobs over the whole log, whichever entities the process pushes."""
    return [("hold rules", HOLD_RULES_EVERY_S, _hold_rules(rt))]


@contextlib.asynccontextmanager
async def owner_jobs(rt: Runtime, ledger: LedgerHandle, engine: Engine) -> AsyncIterator[list[Job]]:
    """The jobs that act for the runtime's entity+ledger — they call the ledger, the
    source or the alert channels, whose limits are the tenant's — so only the owner of its
    push lease runs them: reconciliation, back-sync, outage retries, invoice e-mails,
    gauges, the source poll and webhooks, alert delivery."""
    s = rt.settings
    handle = open_source(s) if _has_source(s) else None
    reader = handle.reader if handle is not None else None
    writer = reader if isinstance(reader, StatusWriter) else None
    jobs: list[Job] = [
        ("reconciliation", s.reconcile_every_s, lambda: reconcile_with(rt, ledger, engine)),
        ("back-sync", s.backsync_every_s, lambda: backsync_with(rt, ledger, writer)),
        ("outages", RETRY_EVERY_S, outage_job(rt, ledger)),
        ("invoice e-mails", 10.0, lambda: mail_invoices(rt, ledger)),
        ("gauges", 5.0, gauges_job(rt, ledger.adapter.ledger, engine)),
    ]
    try:
        if reader is not None:
            polled = reader
            log_ = await mapped_log(rt, s.source)
            jobs.append(("source poll", s.source_poll_every_s, lambda: poll_source(log_, polled)))
            jobs.append(("webhooks", 2.0, lambda: process_webhooks(log_, polled)))
        async with contextlib.AsyncExitStack() as alerting:
            if s.alert_channels:  # finance alerts: raised by a subscriber, tried here
                desk = await alerting.enter_async_context(alert_desk(rt))
                await alerting.enter_async_context(raising(rt, desk))
                jobs.append(("alerts", s.alerts_every_s, desk.turn))
            yield jobs
    finally:
        if reader is not None:
            await reader.aclose()


def owner_only(job: Job, lease: PushLease) -> Job:
    """``job`` skipped while ``lease`` is not held and cancelled the moment it is lost."""
    name, every, turn = job

    async def guarded() -> object:
        return await lease.while_held(turn())

    return name, every, guarded


def _has_source(s: Settings) -> bool:
    """`run` reads a source when one is configured: any but CSV, or a CSV folder."""
    return s.source != "csv" or s.source_dir is not None


async def run_jobs(jobs: list[Job], stop: asyncio.Event) -> None:
    """Each job at its interval (the short ones at once) until ``stop``."""
    loop = asyncio.get_running_loop()
    due = {name: loop.time() + (0 if every <= 2 else every) for name, every, _ in jobs}
    while not stop.is_set():
        for name, every, job in jobs:
            if loop.time() >= due[name]:
                await _run_job(name, job)
                due[name] = loop.time() + every
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)


async def _run_job(name: str, job: Callable[[], Awaitable[object]]) -> None:
    try:
        result = await job()
    except EventStoreError as exc:  # NATS away for a moment: one line, not a traceback
        log.warning("%s failed: %s; trying again at its next turn", name, exc)
        return
    except Exception:
        log.exception("%s failed; trying again at its next turn", name)
        return
    line = cycle_line(name, result)
    if line is not None:
        _announce(line)


#: how often ``run`` reads new events for the hold rules (a hold placed late is still placed)
HOLD_RULES_EVERY_S = 10.0


def _hold_rules(rt: Runtime) -> Callable[[], Awaitable[str]]:
    """Legal holds placed by the rules in ``<data dir>/audit/hold_rules.toml`` as the log
    grows (none while the file is absent); each is placed once, across restarts."""
    from syncledger.audit.hold_rules import HoldRuleEvaluator

    return HoldRuleEvaluator(audit_context(rt)).turn_line


async def _checkpoints(rt: Runtime, stop: asyncio.Event) -> None:
    """Signed audit checkpoints while the log grows (``syncledger audit checkpoint``),
    cosigned by the configured witnesses and written to WORM storage as the command does;
    a witness or store that refuses is logged, and the next checkpoint asks again."""
    from syncledger.audit.checkpoints import checkpoint_every
    from syncledger.audit.witness_config import configured_publisher

    ctx = audit_context(rt)
    publisher = configured_publisher(rt.settings, ctx.audit_dir)
    try:
        await checkpoint_every(ctx, rt.settings.checkpoint_every_s, stop, publisher)
    except Exception:
        log.exception("audit checkpoints stopped; `syncledger audit checkpoint` signs one")


# ---------------------------------------------------------------------- projections


def engine_for(settings: Settings) -> Engine:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.projections_url)
    create_all(engine)
    return engine


async def catch_up(rt: Runtime) -> Engine:
    engine = engine_for(rt.settings)
    await ProjectionRunner(engine, rt.store).catch_up()
    return engine


async def replay_projections(settings: Settings, meter: Meter = silent) -> str:
    async with open_runtime(settings) as rt:
        with meter("rebuilding the read models", None):
            result = await replay(engine_for(settings), rt.store)
    return (
        f"rebuilt {plural(len(result.tables), 'read model')} from "
        f"{plural(result.events, 'event')} (log position {result.last_seq})"
    )


async def verify_projections(settings: Settings) -> tuple[bool, str]:
    async with open_runtime(settings) as rt:
        engine = await catch_up(rt)
        result = await verify(engine, rt.store)
    if result.ok:
        return True, f"read models match a rebuild from the log at position {result.last_seq}"
    return False, (
        "read models differ from a rebuild at position "
        f"{result.last_seq}: {', '.join(result.differing)}; run `syncledger replay`"
    )


# ---------------------------------------------------------------------- reconcile


def expected_records(models: ReadModels, entity: str, ledger: str) -> list[Expected]:
    out = []
    for kind in KINDS:
        records = {r.source_ref: r for r in models.records(entity, kind)}
        for ln in models.links_for(entity, ledger, kind):
            rec = records.get(ln.source_ref)
            out.append(
                Expected(
                    ln.source_ref,
                    kind,
                    ln.ledger_ref,
                    rec.total if rec and kind != "customer" else None,
                    rec.currency if rec and kind != "customer" else None,
                )
            )
    return out


def with_applications(
    expected: list[Expected], state: SyncState, content: SourceContent | None = None
) -> list[Expected]:
    """``expected`` with what the log knows of each record: pushed tax, what each
    payment, credit note and refund was pushed to be applied to and how much, what was
    paid on each invoice, its customer, and (with ``content``) the due date, line item
    codes and customer name pushed (``core/reconcile_expected.py``)."""
    return with_log(expected, state, content)


async def reconcile_with(
    rt: Runtime, ledger: LedgerHandle, engine: Engine, *, full: bool = False
) -> ReconReport:
    """Reconcile the entity's ledger: incremental against the mirror in the data dir
    (``core/reconcile_mirror.py``), full when ``full``, when the mirror is new or when
    the last full sweep is ``reconcile_full_every_s`` old."""
    s = rt.settings
    models = ReadModels(engine)
    name = ledger.adapter.ledger
    state = SyncState(s.entity, name)
    names = digester(rt.keys, s.entity)
    content = await load_state_and_content(rt.store, state, names)
    open_before = {
        m.key: Mismatch(m.key, m.mismatch_type, m.source_ref, m.ledger_ref, m.expected, m.actual)
        for m in models.open_mismatches(s.entity, name)
    }
    expected = with_applications(expected_records(models, s.entity, name), state, content)
    mirror_engine = open_mirror_engine(mirror_path(s.data_dir, s.entity, name))
    try:
        reconciler = Reconciler(
            rt.store,
            ledger.adapter,
            entity=s.entity,
            actor=s.actor,
            mirror=LedgerMirror(mirror_engine),
            full_every_s=s.reconcile_full_every_s,
            names=names,
        )
        report = await reconciler.run(expected, open_before, full=full)
    finally:
        mirror_engine.dispose()
    await ProjectionRunner(engine, rt.store).catch_up()
    return report


def reconcile_exit_code(report: ReconReport) -> int:
    """``syncledger reconcile``: 1 while mismatches are open (recorded and reported
    first), 0 when the books agree."""
    return NEEDS_ATTENTION if report.open else 0


async def reconcile_now(settings: Settings, *, full: bool = False) -> ReconReport:
    async with open_runtime(settings) as rt:
        ledger = open_ledger(settings)
        try:
            return await reconcile_with(rt, ledger, await catch_up(rt), full=full)
        finally:
            await ledger.aclose()


# ---------------------------------------------------------------------- reports


async def report_now(settings: Settings, period: Period) -> tuple[Report, list[Path]]:
    """`syncledger report`: the period's report for the entity and ledger, from the log as
    it is now, written under ``<data dir>/reports/<entity>/<ledger>/`` (docs/reports.md)."""
    async with open_runtime(settings) as rt:
        facts = await read_facts(rt.store, settings.entity, settings.ledger)
    report = build_report(facts, settings.entity, settings.ledger, period)
    folder = report_dir(settings.data_dir, settings.entity, settings.ledger)
    return report, write_report(report, folder)


# ---------------------------------------------------------------------- back-sync


def _cursor_file(settings: Settings) -> Path:
    return settings.data_dir / "backsync" / f"{settings.entity}-{settings.ledger}.cursor"


def _since(settings: Settings) -> datetime:
    """Where the last poll ended (a cache: losing it re-polls 30 days, which is harmless
    because observations already in the log are recognised and skipped)."""
    try:
        return datetime.fromisoformat(_cursor_file(settings).read_text().strip())
    except (OSError, ValueError):
        return datetime.now(UTC) - timedelta(days=30)


def _save_cursor(settings: Settings, newest: datetime | None) -> None:
    if newest is not None:
        path = _cursor_file(settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(newest.isoformat())


async def backsync_with(rt: Runtime, ledger: LedgerHandle, writer: StatusWriter | None) -> str:
    return (await backsync_said(rt, ledger, writer)).text


async def backsync_said(rt: Runtime, ledger: LedgerHandle, writer: StatusWriter | None) -> Said:
    """One poll of the ledger's changes into the log, in words and as JSON."""
    s = rt.settings
    state = await _ledger_state(rt, ledger)
    syncer = BackSync(
        rt.store,
        ledger.adapter,
        state,
        entity=s.entity,
        actor=s.actor,
        writer=writer,
        reverse=_reverse(rt, ledger, state, writer),
    )
    report = await syncer.poll(_since(s))
    _save_cursor(s, report.newest)
    return Said(_backsync_text(ledger.adapter.ledger, report), _backsync_json(s, report))


def _reverse(
    rt: Runtime, ledger: LedgerHandle, state: SyncState, writer: object
) -> CustomerReverse | None:
    """Customer details the ledger owns back to the source (one-way when none is owned);
    the source that takes payment status is asked whether it takes customer details."""
    s = rt.settings
    if not any(v == "ledger" for v in s.customer_field_authority.values()):
        return None
    return CustomerReverse(
        rt.store,
        rt.keys,
        ledger.adapter,
        state,
        entity=s.entity,
        actor=s.actor,
        authority=s.customer_field_authority,
        writer=writer if isinstance(writer, CustomerDetailsWriter) else None,
    )


def _backsync_text(ledger: str, report: BackSyncReport) -> str:
    statuses = plural(report.written_back, "payment status", "payment statuses")
    first = (
        f"back-sync from {ledger}: {plural(report.seen, 'changed record')} "
        f"({report.observed:,} new to the log, {report.ours:,} our own writes, "
        f"{report.foreign:,} without our reference), {plural(report.conflicts, 'conflict')}, "
        f"{statuses} written back"
    )
    if report.waiting:
        first += (
            f"; {plural(report.waiting, 'payment status', 'payment statuses')} "
            f"{'waits' if report.waiting == 1 else 'wait'} to be written back to the source "
            "(kept in the log: run `syncledger backsync --source DIR`, or configure the source)"
        )
    if report.details_observed or report.details_written or report.details_refused:
        first += (
            f"; customer details: {report.details_observed:,} changed in the ledger, "
            f"{plural(report.details_written, 'customer')} written back, "
            f"{plural(report.details_refused, 'field')} refused by the source"
        )
    if report.details_waiting:
        first += (
            f"; {plural(report.details_waiting, 'customer')}' details wait for a source that "
            "takes them (docs/operations.md)"
        )
    return "\n".join([first, *(f"  {line}" for line in report.lines)])


def _backsync_json(s: Settings, report: BackSyncReport) -> dict[str, object]:
    return {
        "entity": s.entity,
        "ledger": s.ledger,
        "changed": report.seen,
        "new_to_log": report.observed,
        "our_own_writes": report.ours,
        "without_our_reference": report.foreign,
        "conflicts": report.conflicts,
        "written_back": report.written_back,
        "waiting_to_write_back": report.waiting,
        "customer_details": {
            "changed_in_ledger": report.details_observed,
            "written_back": report.details_written,
            "refused_fields": report.details_refused,
            "waiting": report.details_waiting,
        },
        "lines": list(report.lines),
    }


async def backsync_once(settings: Settings, source_dir: Path | None) -> str:
    return (await backsync_once_said(settings, source_dir)).text


async def backsync_once_said(settings: Settings, source_dir: Path | None) -> Said:
    """One back-sync; payment status goes back to the configured source where it takes
    it (a CSV source only when given its folder)."""
    s = settings if source_dir is None else settings.model_copy(update={"source_dir": source_dir})
    async with open_runtime(s) as rt:
        ledger = open_ledger(s)
        handle = open_source(s) if _has_source(s) else None
        reader = handle.reader if handle is not None else None
        try:
            writer = reader if isinstance(reader, StatusWriter) else None
            return await backsync_said(rt, ledger, writer)
        finally:
            await ledger.aclose()
            if reader is not None:
                await reader.aclose()


# ---------------------------------------------------------------------- operator actions


@contextlib.asynccontextmanager
async def operator_desk(settings: Settings) -> AsyncIterator[retries.Desk]:
    """The log and the ledger for ``retry`` and ``repush``, closed on the way out."""
    async with open_runtime(settings) as rt:
        ledger = open_ledger(settings)
        try:
            yield retries.Desk(rt.store, ledger.adapter, settings.entity, settings.actor)
        finally:
            await ledger.aclose()


async def request_retry(settings: Settings, ref: RecordRef, reason: str) -> retries.Answer:
    """``syncledger retry``: says what it will do; appends ``RetryRequested`` only when a
    retry can change something (``core/retry.py``)."""
    async with operator_desk(settings) as desk:
        return await retries.request_retry(desk, ref, reason)


async def request_repush(settings: Settings, ref: RecordRef, reason: str) -> retries.Answer:
    """``syncledger repush`` (``retry --force``): a synced record the ledger no longer
    holds is created again (``RepushRequested``); never a duplicate of one it holds."""
    async with operator_desk(settings) as desk:
        return await retries.request_repush(desk, ref, reason)


@contextlib.asynccontextmanager
async def conflict_desk(settings: Settings) -> AsyncIterator[ConflictDesk]:
    """The log and the keys for ``syncledger conflicts`` (no ledger connection: the
    conflict recorded what the ledger held)."""
    async with open_runtime(settings) as rt:
        s = settings
        yield ConflictDesk(rt.store, rt.keys, s.entity, s.ledger, s.actor)


async def conflicts_said(settings: Settings, personal: bool = False) -> Said:
    """Open conflicts on the configured ledger, what differs in each, how to decide
    (``core/conflicts.py``); personal values only with ``personal``."""
    async with conflict_desk(settings) as desk:
        found = await open_conflicts(desk, personal=personal)
        seen = await conflicts_seen(desk)
    text = "\n".join(conflict_lines(found, settings.ledger, seen))
    data: dict[str, object] = {
        "entity": settings.entity,
        "ledger": settings.ledger,
        "open": [dataclasses.asdict(c) for c in found],
        "detected": seen,
    }
    return Said(text, data)


async def conflicts_text(settings: Settings, personal: bool = False) -> str:
    """:func:`conflicts_said`'s text."""
    return (await conflicts_said(settings, personal)).text


async def settle_conflict(
    settings: Settings, ref: RecordRef, decision: Decision, note: str = ""
) -> str:
    """``syncledger conflicts REF --keep-ledger | --overwrite``: ``ConflictSettled``."""
    async with conflict_desk(settings) as desk:
        return await settle(desk, ref, decision, note)


# ---------------------------------------------------------------------- reading


async def trace_text(settings: Settings, ref: RecordRef) -> str:
    return (await trace_said(settings, ref)).text


async def trace_said(settings: Settings, ref: RecordRef) -> Said:
    """One record's events in order and where it is in the ledger; an unknown ref is a
    wrong argument, as for `retry` (exit 2)."""
    async with open_runtime(settings) as rt:
        lines = await trace(rt.store, settings.entity, ref)
    if not lines:
        raise ConfigurationError(
            f"no events for {ref} in entity {settings.entity!r}: check the reference "
            "(<system>/<kind>/<id>) and --entity; `syncledger status` counts what is there"
        )
    out = [f"{ln.seq:>7}  {ln.recorded_at[:19]}  {ln.type:<22} {ln.summary}" for ln in lines]
    entry = ledger_entry_of(lines, ref.kind)
    out.append(f"ledger entry: {entry}" if entry else "not in any ledger yet")
    waiting = held_line(lines)
    if waiting is not None:
        out.append(waiting)
    written = status_written_of(lines)
    if written is not None:
        balance = money_or_unknown(written.balance, None)
        out.append(f"back in the source: {written.status} (balance {balance})")
    data: dict[str, object] = {
        "ref": str(ref),
        "entity": settings.entity,
        "events": [
            {"seq": ln.seq, "recorded_at": ln.recorded_at, "type": ln.type, "summary": ln.summary}
            for ln in lines
        ],
        "ledger_entry": entry,
        "written_back": (
            None if written is None else {"status": written.status, "balance": str(written.balance)}
        ),
    }
    return Said("\n".join(out), data)


def errors_report(models: ReadModels, entity: str, now: datetime | None = None) -> str:
    """Records that need attention, open mismatches per ledger (what differs, for how
    long, the fix), then events of the log the read models could not fold (they went on
    without them)."""
    return errors_said(models, entity, now).text


def errors_said(models: ReadModels, entity: str, now: datetime | None = None) -> Said:
    """:func:`errors_report` with its JSON object; exit 1 when anything is listed."""
    errs, stuck = models.open_errors(entity), models.unfoldable(entity)
    found = models.open_mismatches(entity)
    data: dict[str, object] = {
        "entity": entity,
        "records": [_error_json(e) for e in errs],
        "mismatches": [_mismatch_json(m) for m in found],
        "unfoldable_events": [_unfoldable_json(u) for u in stuck],
    }
    if not errs and not stuck and not found:
        return Said("no open errors", data)
    lines = [f"{plural(len(errs), 'record')} {'needs' if len(errs) == 1 else 'need'} attention:"]
    lines = lines if errs else []
    for e in errs:
        lines.extend(_error_lines(e))
    lines.extend(_mismatch_lines(models, entity, found, now or datetime.now(UTC)))
    if stuck:
        lines.append(
            f"{plural(len(stuck), 'event')} in the log could not be folded into the read models:"
        )
    for u in stuck:
        lines.extend(_unfoldable_lines(u))
    return Said("\n".join(lines), data, NEEDS_ATTENTION)


def _error_json(e: ErrorView) -> dict[str, object]:
    reasons = e.reasons or ({"code": e.code or "", "message": e.message},)
    return {
        "source_ref": e.source_ref,
        "kind": e.kind,
        "ledger": e.ledger,
        "problem": e.error,
        "attempts": e.attempts,
        "since": e.occurred_at.isoformat(),
        "reasons": [
            {
                "code": str(r.get("code", "")),
                "message": str(r.get("message", "")),
                "fix": reason_help(str(r.get("code", ""))) or None,
            }
            for r in reasons
        ],
    }


def _mismatch_json(m: MismatchView) -> dict[str, object]:
    return {
        "ledger": m.ledger,
        "type": m.mismatch_type,
        "source_ref": m.source_ref,
        "ledger_ref": m.ledger_ref,
        "expected": m.expected,
        "actual": m.actual,
    }


def _unfoldable_json(u: UnfoldableView) -> dict[str, object]:
    return {"seq": u.seq, "type": u.event_type, "source_ref": u.source_ref, "reason": u.reason}


def _where(e: ErrorView) -> str:
    if e.error == "review":  # projections.fold.REVIEW: a person decides
        return f"waiting for a person on {e.ledger}: `syncledger review`"
    where = "refused at import" if e.error == "refused" else e.error
    return f"{where}{' on ' + e.ledger if e.ledger else ''}"


def _error_lines(e: ErrorView) -> list[str]:
    lines = [f"  {e.source_ref} ({_where(e)})"]
    for r in e.reasons or ({"code": e.code or "", "message": e.message},):
        code = str(r.get("code", ""))
        lines.append(f"    - {code}: {r.get('message', '')}")
        help_text = reason_help(code)
        if help_text:
            lines.append(f"      fix: {help_text}")
    return lines


def _mismatch_lines(
    models: ReadModels, entity: str, found: list[MismatchView], now: datetime
) -> list[str]:
    def linked(m: MismatchView) -> str | None:
        link = models.link(entity, m.source_ref, m.ledger) if m.source_ref else None
        return link.ledger_ref if link else None

    return mismatch_lines(found, now, linked)


def _unfoldable_lines(u: UnfoldableView) -> list[str]:
    about = f" of {u.source_ref}" if u.source_ref else ""
    fix = (
        "correct the record in the source and import it again: the new version replaces "
        "this one (the event itself stays in the log; replay skips it the same way)"
        if u.source_ref
        else "nothing in your data to correct: report it with the sequence number"
    )
    return [f"  event {u.seq} ({u.event_type}{about}): {u.reason}", f"      fix: {fix}"]


async def errors_text(settings: Settings) -> str:
    return (await errors_now(settings)).text


async def errors_now(settings: Settings) -> Said:
    async with open_runtime(settings) as rt:
        engine = await catch_up(rt)
    return errors_said(ReadModels(engine), settings.entity)


async def status_text(settings: Settings) -> str:
    return (await status_now(settings)).text


async def status_now(settings: Settings) -> Said:
    """Records by sync status, open mismatches, alerts; exit 1 when records need
    attention, mismatches are open or alerts are parked."""
    async with open_runtime(settings) as rt:
        engine = await catch_up(rt)
        last = await rt.store.last_seq()
        alerts = AlertBook(settings.entity)
        await alerts.catch_up(rt.store)
    return status_said(ReadModels(engine), settings.entity, last, alerts)


def status_said(models: ReadModels, entity: str, last: int, alerts: AlertBook) -> Said:
    rows = models.status_counts(entity)
    found = models.open_mismatches(entity)
    lines = [f"entity {entity}: {plural(last, 'event')} in the log"]
    for r in rows:
        lines.append(
            f"  {r.ledger or '-':<8} {r.kind:<12} {status_words(r.status):<10} {r.count:>6}"
        )
    lines.extend(status_lines(found))
    held = sum(r.count for r in rows if r.status == WAITING_FOR_ROLLOUT)
    if held:
        lines.append(
            f"{plural(held, 'record')} {'waits' if held == 1 else 'wait'} for rollout (out of "
            "the [rollout] scope: not errors; widen the scope to push them)"
        )
    errs = len(models.open_errors(entity))
    if errs:
        lines.append(f"{plural(errs, 'record')} {'needs' if errs == 1 else 'need'} attention: "
                     "`syncledger errors` says why")  # fmt: skip
    lines.extend(alert_status_lines(alerts))
    stuck = len(models.unfoldable(entity))
    if stuck:
        lines.append(
            f"{plural(stuck, 'event')} could not be folded: `syncledger errors` lists them"
        )
    parked = _parked_alerts(alerts)
    data: dict[str, object] = {
        "entity": entity,
        "events": last,
        "records": [
            {"ledger": r.ledger, "kind": r.kind, "status": r.status, "count": r.count} for r in rows
        ],
        "open_mismatches": dict(sorted(Counter(m.ledger for m in found).items())),
        "records_needing_attention": errs,
        "records_waiting_for_rollout": held,
        "alerts_waiting": sum(1 for a in alerts.alerts.values() if a.status() == "pending"),
        "alerts_parked": parked,
        "channels_parked": sorted(alerts.parked_channels),
        "unfoldable_events": stuck,
    }
    attention = bool(found or errs or parked or alerts.parked_channels)
    return Said("\n".join(lines), data, NEEDS_ATTENTION if attention else 0)


def _parked_alerts(alerts: AlertBook) -> int:
    return sum(1 for a in alerts.alerts.values() if a.status() == "parked")


# ---------------------------------------------------------------------- serve


@dataclass(frozen=True, slots=True)
class Served:
    """What ``serve`` listens for, told to its caller once it listens."""

    port: int
    webhooks: tuple[str, ...]  # the sources whose webhooks it takes (none: console only)
    writable: bool  # an operator token is configured: decisions can be taken in the console


async def serve(
    settings: Settings,
    *,
    ready: Callable[[Served], None] | None = None,
    webhooks_required: bool = False,
) -> None:
    """`syncledger serve` until SIGINT/SIGTERM: the web console (``core/console.py``),
    /metrics, /healthz, /readyz and, when the configured source takes webhooks, its
    endpoint (``core/serve.py``). With ``webhooks_required`` (``serve --source``) a
    source that takes none is an error instead of a console-only serve."""
    from syncledger.core.console import console_routes
    from syncledger.core.console_wiring import open_console

    auth = _console_auth(settings)
    async with (
        open_runtime(settings) as rt,
        _webhook_endpoints(rt, webhooks_required) as endpoints,
        open_console(rt) as backend,
    ):
        app = serve_app(
            endpoints,
            console=console_routes(backend, auth),
            unready=backend.unready,
            public_url=settings.serve_public_url,
        )

        def listening(port: int) -> None:
            if ready is not None:
                ready(Served(port, tuple(endpoints), auth.writable))

        await _serve_until_stopped(app, settings, listening)


def _console_auth(settings: Settings) -> ConsoleAuth:
    path = settings.console_token_file
    return ConsoleAuth(read_token(path) if path is not None else None)


@contextlib.asynccontextmanager
async def _webhook_endpoints(rt: Runtime, required: bool) -> AsyncIterator[dict[str, Endpoint]]:
    """The configured source's webhook endpoint, or none (said in the log) when the
    source takes no webhooks or cannot be opened and ``required`` is not set."""
    s = rt.settings
    try:
        handle = open_source(s)
    except ConfigurationError as exc:
        if required:
            raise
        log.info("no webhooks served (source %s cannot take them: %s)", s.source, exc)
        yield {}
        return
    try:
        reader = handle.reader
        if isinstance(reader, WebhookReceiver) or required:
            yield {s.source: _endpoint(rt, reader, await mapped_log(rt, s.source))}
        else:
            log.info("source %s sends no webhooks: serving the console only", s.source)
            yield {}
    finally:
        await handle.reader.aclose()


def _endpoint(rt: Runtime, reader: SourceReader, log_: SourceLog) -> Endpoint:
    if not isinstance(reader, WebhookReceiver):
        raise ConfigurationError(
            f"source {rt.settings.source!r} sends no webhooks: `serve` has nothing to take; "
            "set SYNCLEDGER_SOURCE to one that does (webhooks, hubspot, jobber)"
        )
    return Endpoint(reader, WebhookDesk(log_, reader.system))


async def _serve_until_stopped(
    app: Starlette, settings: Settings, ready: Callable[[int], None] | None
) -> None:
    import socket

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # answers go out at once: without it a small response waits on the sender's delayed
    # ACK (~40 ms on Linux); accepted connections inherit it from the listener
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((settings.serve_addr, settings.serve_port))
    except OSError as exc:
        sock.close()
        raise ConfigurationError(
            f"cannot listen on {settings.serve_addr}:{settings.serve_port} "
            f"({exc.strerror or exc}): set SYNCLEDGER_SERVE_PORT to a free port"
        ) from None
    sock.listen(128)  # connections queue from now on, before uvicorn accepts them
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    port = int(sock.getsockname()[1])
    log.info("serving on http://%s:%d/", settings.serve_addr, port)
    if ready is not None:
        ready(port)
    await server.serve(sockets=[sock])
