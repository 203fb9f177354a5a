"""``syncledger demo``: sample data → log → sandbox ledger → read models → report → trace."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from syncledger.adapters.platforms import Platform, platform
from syncledger.adapters.ratelimit import scaled_count
from syncledger.core.bootstrap import Runtime, audit_context, open_runtime
from syncledger.core.ledgers import LedgerHandle, open_ledger
from syncledger.core.model import RecordRef
from syncledger.core.pipeline import (
    catch_up,
    errors_report,
    ingest_dir,
    pending_source_events,
    reconcile_with,
    run_worker,
)
from syncledger.core.reconcile import KINDS, ReconReport
from syncledger.core.sample_data import sample_data_dir
from syncledger.core.settings import Settings
from syncledger.core.sync import Outcome
from syncledger.core.words import plural
from syncledger.core.worker import WorkerStats
from syncledger.projections.queries import ReadModels

PUSHED = ("pushed", "linked", "recovered")
#: the demo's ~430 sample records take 200 (QBO, batched) to 1,400 (NetSuite) requests;
#: a sliding one-minute window this wide holds back only NetSuite's, once
DEMO_REQUESTS_PER_MINUTE = 1000


@dataclass
class DemoSummary:
    entity: str
    ledger: str
    pushed: int
    rejected: int
    mismatches: int
    ledger_duplicates: int
    events: int
    synced: int
    observed: int
    rate_scale: float
    source: str = "csv"
    #: source documents showing the payment status back-sync wrote to them
    written_back: int = 0
    #: forged or stale webhooks refused (the source demo sends one)
    webhooks_refused: int = 0

    def as_json(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


async def _import(rt: Runtime, console: Console) -> int:
    with _progress(console) as bar:
        task = bar.add_task("importing sample data", total=None)
        report = await ingest_dir(rt, sample_data_dir(), on_progress=lambda n: bar.advance(task, n))
        bar.update(task, total=report.observed, completed=report.observed)
    console.print(
        f"source: {plural(report.observed, 'new record version')}, {report.unchanged:,} unchanged",
        highlight=False,
    )
    return report.observed


async def sync_with_progress(rt: Runtime, ledger: LedgerHandle, console: Console) -> WorkerStats:
    total = await pending_source_events(rt, ledger.adapter.ledger)
    with _progress(console) as bar:
        task = bar.add_task(f"syncing to {ledger.adapter.ledger}", total=total)

        def advance(outcome: Outcome) -> None:
            if outcome.status != "retry":
                bar.advance(task)

        stats = await run_worker(rt, ledger, until_idle=True, on_outcome=advance)
        bar.update(task, completed=total)
    return stats


def _first_synced_invoice(models: ReadModels, entity: str, ledger: str) -> RecordRef | None:
    links = sorted(models.links_for(entity, ledger, "invoice"), key=lambda ln: ln.source_ref)
    return RecordRef.parse(links[0].source_ref) if links else None


def demo_rate_scale(plat: Platform) -> float:
    """The rate scale that lets the demo's sandbox take about ``DEMO_REQUESTS_PER_MINUTE``
    (a whole number, at least 1: QBO's 500/min → 2×, FreshBooks' 100/min → 10×)."""
    return float(max(1, math.ceil(DEMO_REQUESTS_PER_MINUTE / plat.requests_per_minute)))


def demo_settings(settings: Settings, *, published_limits: bool) -> Settings:
    """The demo's settings: the platform's own limits with ``published_limits`` or for a
    ledger URL, a ``rate_scale`` the user set, else :func:`demo_rate_scale`."""
    if published_limits or settings.ledger_url is not None:
        scale = 1.0
    elif "rate_scale" in settings.model_fields_set:
        scale = settings.rate_scale
    else:
        scale = demo_rate_scale(platform(settings.ledger))
    return settings.model_copy(update={"rate_scale": scale})


def rate_scale_note(plat: Platform, scale: float) -> str | None:
    """One line saying the sandbox is not at the platform's limits (None when it is)."""
    if scale == 1.0:
        return None
    per_minute = plat.requests_per_minute
    owner = f"{plat.title}'" if plat.title.endswith("s") else f"{plat.title}'s"
    return (
        f"sandbox running at {scale:g}× {owner} rate limits ({per_minute:,}/min → "
        f"{scaled_count(per_minute, scale):,}/min) to keep the demo short; "
        "--published-limits for the real ones"
    )


def announce(console: Console, rt: Runtime, ledger: LedgerHandle, source: str = "") -> None:
    """The demo's first lines: what runs where, and the rate scale when it is not 1."""
    s = rt.settings
    from_source = f" source={source}" if source else ""
    console.print(
        f"[bold]syncledger demo[/] entity={s.entity}{from_source} "
        f"ledger={ledger.description} log={rt.nats_address}"
    )
    note = rate_scale_note(platform(s.ledger), s.rate_scale)
    if note is not None:
        console.print(note, highlight=False, markup=False)


async def run_demo(
    settings: Settings, *, json_out: bool = False, published_limits: bool = False
) -> DemoSummary:
    console = Console(stderr=json_out, soft_wrap=True)
    settings = demo_settings(settings, published_limits=published_limits)
    async with open_runtime(settings) as rt:
        ledger = open_ledger(settings)
        try:
            announce(console, rt, ledger)
            observed = await _import(rt, console)
            stats = await sync_with_progress(rt, ledger, console)
            engine = await catch_up(rt)
            report = await reconcile_with(rt, ledger, engine)
            models = ReadModels(engine)
            ref = _first_synced_invoice(models, settings.entity, ledger.adapter.ledger)
            audit = await audit_trace_lines(rt, ref) if ref is not None else []
            last_seq = await rt.store.last_seq()
        finally:
            await ledger.aclose()
    summary = summary_of(settings, models, stats, report, last_seq, observed)
    print_reports(console, settings, models, report)
    if ref is not None:
        console.rule(f"audit trace {ref}")
        console.print("\n".join(audit), highlight=False, markup=False)
    console.rule("summary")
    print(summary.as_json() if json_out else plain_summary(summary))
    return summary


async def audit_trace_lines(rt: Runtime, ref: RecordRef) -> list[str]:
    """The record's audit trail, each event's inclusion proof checked against a freshly
    signed checkpoint of the log (what `syncledger audit trace` prints in full)."""
    from syncledger.audit.merkle import leaf_hash, verify_inclusion
    from syncledger.audit.trace import trace_record

    ctx = audit_context(rt)
    proven = await trace_record(ctx, str(ref))
    t, cp = proven.trace, proven.checkpoint
    lines = [
        f"record {t.ref} (customer {t.customer}); validation: {t.validation}",
        f"mapping: {', '.join(t.mapping_versions)}; ledger: {', '.join(t.ledger_refs)}",
        f"reconciliation: {t.reconciliation}",
        f"signed checkpoint: size {cp.tree_size}, root {cp.root_hash.hex()[:16]}…, key {cp.key_id}",
    ]
    for step in t.steps:
        raw = await anext(e.raw async for e in rt.store.read(from_seq=step.seq))
        ok = verify_inclusion(step.seq - 1, cp.tree_size, leaf_hash(raw), step.proof, cp.root_hash)
        lines.append(
            f"  #{step.seq:<6} {step.type:<22} {step.summary}  "
            f"[proof: {len(step.proof)} hashes, {'verified' if ok else 'FAILED'}]"
        )
    return lines


def summary_of(
    settings: Settings,
    models: ReadModels,
    stats: WorkerStats,
    report: ReconReport,
    last_seq: int,
    observed: int,
) -> DemoSummary:
    errors = models.open_errors(settings.entity)
    synced = sum(len(models.links_for(settings.entity, report.ledger, k)) for k in KINDS)
    return DemoSummary(
        entity=settings.entity,
        ledger=report.ledger,
        pushed=sum(stats.outcomes.get(k, 0) for k in PUSHED),
        rejected=sum(1 for e in errors if e.error == "rejected"),
        mismatches=len(report.open),
        ledger_duplicates=report.ledger_duplicates,
        events=last_seq,
        synced=synced,
        observed=observed,
        rate_scale=settings.rate_scale,
    )


def print_reports(
    console: Console, settings: Settings, models: ReadModels, report: ReconReport
) -> None:
    console.rule("rejected records")
    console.print(errors_report(models, settings.entity), highlight=False, markup=False)
    console.rule("reconciliation")
    console.print(report.text(), highlight=False, markup=False)


def plain_summary(summary: DemoSummary) -> str:
    """The demo's last line in words (``--json`` gives the same as one object)."""
    parts = [
        f"{plural(summary.observed, 'record version')} read from {summary.source}",
        f"{plural(summary.pushed, 'record')} sent to {summary.ledger} or matched there",
        f"{plural(summary.synced, 'record')} in {summary.ledger} now",
        f"{plural(summary.rejected, 'record')} refused (listed above)",
        plural(summary.mismatches, "open mismatch", "open mismatches"),
        plural(summary.ledger_duplicates, "duplicate") + " in the ledger",
        f"{plural(summary.events, 'event')} in the log",
    ]
    if summary.written_back:
        parts.append(f"{plural(summary.written_back, 'source document')} show the payment status")
    if summary.webhooks_refused:
        parts.append(f"{plural(summary.webhooks_refused, 'forged webhook')} refused")
    if summary.rate_scale != 1.0:
        parts.append(f"sandbox at {summary.rate_scale:g}× the platform's rate limits")
    return f"entity {summary.entity}: " + "; ".join(parts)
