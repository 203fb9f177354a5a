"""``syncledger demo --source <id>``: deal to cash and back, on sandboxes.

The source's sandbox with a person at it (``DemoSandbox``) takes the sample data; our
reader reads it into the log; the worker pushes it to the sandbox ledger; a bookkeeper
records payments in the ledger; back-sync writes payment status back to the source
documents; the person changes one more record and the source's signed webhook
announces it (stored, re-read, pushed), while a forged copy is refused. It ends with the
reconciliation report and the audit trace of a paid document, from the source's record
to the ledger and back to its payment status.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal

import httpx
from rich.console import Console

from syncledger.adapters.sources.registry import DemoSandbox, SourceConnection, source
from syncledger.core.bootstrap import Runtime, open_runtime
from syncledger.core.demo import (
    DemoSummary,
    announce,
    audit_trace_lines,
    demo_settings,
    plain_summary,
    print_reports,
    summary_of,
    sync_with_progress,
)
from syncledger.core.errors import ConfigurationError, PermanentLedgerError
from syncledger.core.ledgers import LedgerHandle, open_ledger
from syncledger.core.model import Payment, RecordRef
from syncledger.core.pipeline import backsync_with, catch_up, mapped_log, reconcile_with
from syncledger.core.ports import PaymentWrite
from syncledger.core.settings import Settings
from syncledger.core.source_ports import (
    SourceReader,
    StatusWriter,
    WebhookReceiver,
    WebhookRefused,
)
from syncledger.core.source_sync import WebhookDesk, poll_source, process_webhooks
from syncledger.core.words import plural
from syncledger.projections.queries import ReadModels

#: how many of the synced invoices the demo's bookkeeper records a payment for
PAYMENTS = 10


@dataclass
class SourceDemo:
    """The source side of the demo: its sandbox and our reader connected to it."""

    source_id: str
    sandbox: DemoSandbox
    reader: SourceReader


def _connect(settings: Settings, source_id: str) -> SourceDemo:
    plat = source(source_id)
    sandbox = plat.demo_sandbox(rate_scale=settings.rate_scale)
    if sandbox is None or plat.sandbox_url is None:
        raise ConfigurationError(
            f"source {source_id!r} has no sandbox for the demo: use --source hubspot or "
            "--source jobber (or leave --source out for the CSV sample)"
        )
    token_file = settings.data_dir / "tokens" / f"demo-source-{plat.id}.json"
    token_file.unlink(missing_ok=True)  # the sandbox starts afresh each run: so do its grants
    connection = SourceConnection(
        token_file,
        plat.sandbox_url,
        transport=httpx.ASGITransport(app=sandbox.app),
        rate_scale=settings.rate_scale,
    )
    return SourceDemo(plat.id, sandbox, plat.connect(connection))


async def run_source_demo(
    settings: Settings,
    source_id: str,
    *,
    json_out: bool = False,
    published_limits: bool = False,
) -> DemoSummary:
    console = Console(stderr=json_out, soft_wrap=True)
    settings = demo_settings(settings, published_limits=published_limits)
    demo = _connect(settings, source_id)
    async with open_runtime(settings) as rt:
        ledger = open_ledger(settings)
        try:
            announce(console, rt, ledger, source_id)
            summary = await _deal_to_cash(rt, ledger, demo, console)
        finally:
            await ledger.aclose()
            await demo.reader.aclose()
    console.rule("summary")
    print(summary.as_json() if json_out else plain_summary(summary))
    return summary


async def _deal_to_cash(
    rt: Runtime, ledger: LedgerHandle, demo: SourceDemo, console: Console
) -> DemoSummary:
    console.print(await demo.sandbox.seed(), highlight=False, markup=False)
    log = await mapped_log(rt, demo.source_id)
    imported = await poll_source(log, demo.reader)
    console.print(
        f"source: {plural(imported.observed, 'new record version')} read through the "
        f"{demo.reader.system} API, {imported.refused:,} refused at import",
        highlight=False,
    )
    stats = await sync_with_progress(rt, ledger, console)
    paid = await _bookkeeper_pays(rt, ledger, console)
    console.print(await backsync_with(rt, ledger, _writer(demo.reader)), highlight=False)
    refused = await _webhooks(rt, demo, console)
    more = await sync_with_progress(rt, ledger, console)
    for outcome, n in more.outcomes.items():
        stats.outcomes[outcome] = stats.outcomes.get(outcome, 0) + n
    shows = await demo.sandbox.shows_paid()
    console.print(
        f"{demo.reader.system}: {plural(shows, 'document')} "
        f"{'shows its' if shows == 1 else 'show their'} payment status",
        highlight=False,
    )
    engine = await catch_up(rt)
    report = await reconcile_with(rt, ledger, engine)
    models = ReadModels(engine)
    print_reports(console, rt.settings, models, report)
    if paid:
        console.rule(f"audit trace {paid[0]}")
        trace = await audit_trace_lines(rt, paid[0])
        console.print("\n".join(trace), highlight=False, markup=False)
    last_seq = await rt.store.last_seq()
    summary = summary_of(rt.settings, models, stats, report, last_seq, imported.observed)
    return replace(
        summary,
        source=demo.reader.system,
        written_back=shows,
        webhooks_refused=refused,
    )


def _writer(reader: SourceReader) -> StatusWriter | None:
    return reader if isinstance(reader, StatusWriter) else None


async def _bookkeeper_pays(rt: Runtime, ledger: LedgerHandle, console: Console) -> list[RecordRef]:
    """A bookkeeper records full payments in the ledger for the first synced invoices
    (not through syncledger: the ledger's own record, ours only to observe)."""
    engine = await catch_up(rt)
    s = rt.settings
    links = sorted(
        ReadModels(engine).links_for(s.entity, ledger.adapter.ledger, "invoice"),
        key=lambda ln: ln.source_ref,
    )
    paid: list[RecordRef] = []
    for link in links[:PAYMENTS]:
        if await _pay(ledger, link.ledger_ref, len(paid)):
            paid.append(RecordRef.parse(link.source_ref))
    console.print(f"bookkeeper: {plural(len(paid), 'invoice')} paid in the ledger", highlight=False)
    return paid


async def _pay(ledger: LedgerHandle, invoice_ledger_id: str, n: int) -> bool:
    invoice = await ledger.adapter.get("invoice", invoice_ledger_id)
    if invoice is None or not invoice.balance or invoice.customer_ledger_id is None:
        return False
    assert invoice.currency is not None
    payment = Payment(
        id=f"bookkeeper-{n}",
        customer_id=invoice.customer_ledger_id,
        invoice_id=invoice_ledger_id,
        amount=Decimal(invoice.balance),
        currency=invoice.currency,
        paid_on=datetime.now(UTC).date(),
    )
    key = hashlib.sha256(f"demo-bookkeeper/{invoice_ledger_id}".encode()).hexdigest()
    try:
        await ledger.adapter.apply_payment(
            PaymentWrite(
                payment,
                customer_ledger_id=invoice.customer_ledger_id,
                invoice_ledger_id=invoice_ledger_id,
                external_ref=f"bookkeeper-{n}",  # no reference of ours: the bookkeeper's own
                idempotency_key=key,
            )
        )
    except PermanentLedgerError:
        return False
    return True


async def _webhooks(rt: Runtime, demo: SourceDemo, console: Console) -> int:
    """One genuine delivery stored, re-read and queued for the ledger; one forged copy
    refused. Returns how many were refused."""
    reader = demo.reader
    if not isinstance(reader, WebhookReceiver):
        return 0
    hint = await demo.sandbox.change_one()
    request = demo.sandbox.delivery([hint])
    log = await mapped_log(rt, demo.source_id)
    receipt = await WebhookDesk(log, reader.system).receive(reader.verify(request))
    reread = await process_webhooks(log, reader)
    console.print(
        f"webhook: {hint.kind} {hint.id} announced, stored (duplicate: {receipt.duplicate}), "
        f"re-read through the API: {reread.observed} new versions",
        highlight=False,
    )
    forged = replace(request, body=request.body + b" ")  # one byte more than was signed
    try:
        reader.verify(forged)
    except WebhookRefused as exc:
        console.print(f"forged webhook refused ({exc.reason})", highlight=False)
        return 1
    console.print("forged webhook was NOT refused", style="bold red")
    return 0
