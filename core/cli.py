"""``syncledger``: the command line (typer). Errors are one line and a non-zero exit."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn, TypeVar

import typer
from pydantic import ValidationError as PydanticValidationError

from syncledger.core import exit_codes
from syncledger.core.errors import LeaseHeld, OwnershipLost, SyncLedgerError
from syncledger.core.exit_codes import exit_code_of
from syncledger.core.redact import mask_text
from syncledger.core.settings import Settings

if TYPE_CHECKING:
    from syncledger.core.backfill import BackfillPlan
    from syncledger.core.ingest import IngestReport
    from syncledger.core.model import RecordRef
    from syncledger.core.pipeline import Said, Served
    from syncledger.core.progress import Meter
    from syncledger.core.reports import Period
    from syncledger.core.retry import Answer

T = TypeVar("T")
EXIT_PUSH_OWNED_ELSEWHERE = exit_codes.PUSH_OWNED_ELSEWHERE
EXIT_UNAVAILABLE = exit_codes.UNAVAILABLE
EXIT_USAGE = exit_codes.USAGE
EXIT_INTERNAL = exit_codes.INTERNAL
EXIT_ABORTED = exit_codes.ABORTED
EXIT_BROKEN_PIPE = exit_codes.BROKEN_PIPE
#: commands that read what earlier commands stored: run where no data directory exists,
#: they say so and create nothing
READ_COMMANDS = frozenset(
    {"status", "errors", "trace", "conflicts", "review", "sends", "retry", "report", "audit"}
    | {"alerts", "mapping"}
)
# typer vendors click: its usage errors share this base with typer.BadParameter
_USAGE_ERROR: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError"
)

app = typer.Typer(
    name="syncledger",
    help="Keep a CRM and an accounting ledger in agreement, and prove it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
projections_app = typer.Typer(help="SQL read models: rebuild and verify.", no_args_is_help=True)
app.add_typer(projections_app, name="projections")

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="state directory (default .syncledger)")
]
Entity = Annotated[str | None, typer.Option("--entity", help="fiscal entity being synced")]
Ledger = Annotated[str | None, typer.Option("--ledger", help="ledger id, e.g. qbo")]
Json = Annotated[bool, typer.Option("--json", help="end with one JSON object")]
JsonOut = Annotated[
    bool,
    typer.Option("--json", help="print one JSON object instead (docs/json-output.md)"),
]


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"syncledger {version('syncledger')}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
) -> None:
    """Keep a CRM and an accounting ledger in agreement, and prove it."""
    from syncledger.core.bootstrap import READING_ONLY
    from syncledger.core.settings_check import check_configuration

    token = READING_ONLY.set(ctx.invoked_subcommand in READ_COMMANDS)
    # put back when the command ends: a caller running several commands in one process
    # (tests, a script using the app) must not carry "read only" into the next one
    ctx.call_on_close(lambda: READING_ONLY.reset(token))
    check_configuration()


def settings(
    data_dir: Path | None = None, entity: str | None = None, ledger: str | None = None
) -> Settings:
    """The settings with the command's options (a value that does not validate is one
    line naming where it came from)."""
    from syncledger.core.settings_check import load_settings

    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if entity is not None:
        overrides["entity"] = entity
    if ledger is not None:
        overrides["ledger"] = ledger
    return load_settings(overrides)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@app.command()
def demo(
    data_dir: DataDir = None,
    ledger: Ledger = None,
    json_out: Json = False,
    published_limits: Annotated[
        bool,
        typer.Option(
            "--published-limits",
            help="hold the sandbox and the client to the platform's own rate limits "
            "(default: raised so the demo takes about a minute; the scale is printed)",
        ),
    ] = False,
    source: Annotated[
        str | None,
        typer.Option("--source", help="run it through a source's sandbox: hubspot or jobber"),
    ] = None,
) -> None:
    """Embedded NATS + sample data + a sandbox ledger, ending with a reconciliation report
    and an audit trace. Safe to run again: nothing is pushed twice. With --source, the
    sample goes through a source's sandbox (HubSpot deals, Jobber invoices) and payment
    status comes back to it."""
    cfg = settings(data_dir, None, ledger)
    if source is None:
        from syncledger.core.demo import run_demo

        run(run_demo(cfg, json_out=json_out, published_limits=published_limits))
        return
    from syncledger.core.demo_source import run_source_demo

    run(run_source_demo(cfg, source, json_out=json_out, published_limits=published_limits))


@app.command()
def sandbox(
    platform: Annotated[str | None, typer.Argument(help="ledger id, e.g. qbo")] = None,
    port: Annotated[int, typer.Option(help="TCP port on 127.0.0.1")] = 8765,
    list_: Annotated[bool, typer.Option("--list", help="print the ledger ids")] = False,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Run a sandbox ledger ("dummy books") as a local HTTP server."""
    from syncledger.core.ledgers import ledger_ids, serve_sandbox

    if json_out and not list_:
        raise typer.BadParameter("--json goes with --list")
    if list_:
        ids = list(ledger_ids())
        typer.echo(_json({"ledgers": ids, "exit_code": 0}) if json_out else "\n".join(ids))
        return
    if platform is None:
        raise typer.BadParameter(f"name a ledger: one of {', '.join(ledger_ids())}")
    from syncledger.core.connect import sandbox_connect_lines

    for line in sandbox_connect_lines(platform, port):
        typer.echo(line, err=True)
    serve_sandbox(platform, port, settings(data_dir).data_dir)


@app.command()
def connect(
    ledger: Annotated[
        str,
        typer.Argument(help="ledger id: qbo, xero, freshbooks, zoho-books, sage, netsuite, odoo"),
    ],
    data_dir: DataDir = None,
    entity: Entity = None,
    client_id: Annotated[
        str | None, typer.Option("--client-id", help="your app's client id (or the env)")
    ] = None,
    client_secret: Annotated[
        str | None,
        typer.Option("--client-secret", help="your app's client secret (better: the env)"),
    ] = None,
    tenant: Annotated[
        str | None,
        typer.Option("--tenant", help="the tenant / realm to use (id or name)"),
    ] = None,
    no_browser: Annotated[
        bool,
        typer.Option("--no-browser", help="print the address and read back the one it ends on"),
    ] = False,
    redirect_uri: Annotated[
        str | None,
        typer.Option("--redirect-uri", help="the redirect address your app registered"),
    ] = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the redirect")] = 300.0,
    account_id: Annotated[
        str | None, typer.Option("--account-id", help="NetSuite: the account id")
    ] = None,
    consumer_key: Annotated[
        str | None, typer.Option("--consumer-key", help="NetSuite: the consumer key")
    ] = None,
    token_id: Annotated[
        str | None, typer.Option("--token-id", help="NetSuite: the access token id")
    ] = None,
    database: Annotated[str | None, typer.Option("--database", help="Odoo: the database")] = None,
    login: Annotated[str | None, typer.Option("--login", help="Odoo: the login")] = None,
) -> None:
    """Connect a real ledger account: sign in and allow access (OAuth ledgers), or give
    the token / API key (NetSuite, Odoo; secrets are asked with hidden input or read from
    SYNCLEDGER_<LEDGER>_* variables), checked and stored where `sync` reads them; with
    --entity, where that entity reads them (docs/connect-quickbooks.md,
    docs/connect-xero.md, docs/connect-ledgers.md)."""
    from pydantic import SecretStr

    from syncledger.core.connect import ConnectOptions, connect_ledger, require_entity

    if entity is not None:
        require_entity(settings(data_dir), entity)

    flags = {
        "account_id": account_id,
        "consumer_key": consumer_key,
        "token_id": token_id,
        "database": database,
        "login": login,
    }

    options = ConnectOptions(
        ledger=ledger.lower(),
        client_id=client_id,
        client_secret=SecretStr(client_secret) if client_secret else None,
        tenant=tenant,
        no_browser=no_browser,
        redirect_uri=redirect_uri,
        timeout=timeout,
        values=tuple((name, value) for name, value in flags.items() if value),
        entity=entity,
    )
    typer.echo(run(connect_ledger(settings(data_dir, entity), options, _consent())))


def _consent() -> Any:
    from syncledger.adapters.oauth2_connect import Tenant
    from syncledger.core.connect import Consent

    def choose(found: list[Tenant]) -> Tenant:
        for n, t in enumerate(found, 1):
            typer.echo(f"  {n}. {t.name or ''} {t.id}", err=True)
        while True:
            picked = int(typer.prompt(f"which one (1-{len(found)})", type=int, err=True))
            if 1 <= picked <= len(found):
                return found[picked - 1]

    def paste(what: str) -> str:
        return str(typer.prompt(what, err=True))

    def open_browser(url: str) -> bool:
        import webbrowser

        return webbrowser.open(url)

    def ask(wanted: Any) -> str:
        hidden = bool(wanted.secret)
        default = None if wanted.required else ""
        answer = typer.prompt(wanted.prompt, default=default, hide_input=hidden, err=True)
        return str(answer)

    return Consent(lambda text: typer.echo(text, err=True), paste, choose, open_browser, ask)


@app.command()
def connections(data_dir: DataDir = None, entity: Entity = None, json_out: JsonOut = False) -> None:
    """Each ledger's connection: connected, expired, revoked or never; the tenant; the
    last token refresh; and the command that connects it again. Then each entity's own
    (an entity whose table names its ledger URL); --entity: only what it uses."""
    import dataclasses

    from syncledger.core.connect import connection_statuses, require_entity, statuses_text

    cfg = settings(data_dir)
    if entity is not None:
        require_entity(cfg, entity)
    rows = connection_statuses(cfg, entity=entity)
    if json_out:
        data = [dataclasses.asdict(r) for r in rows]
        typer.echo(_json({"connections": data, "exit_code": 0}))
        return
    typer.echo(statuses_text(rows))


@app.command("import")
def import_(
    path: Annotated[
        Path | None,
        typer.Argument(help="directory with customers.csv, invoices.csv, … (the CSV source)"),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--source", help="read the source's changes since the last import (e.g. hubspot)"
        ),
    ] = None,
    backfill: Annotated[
        bool, typer.Option("--backfill", help="historical migration: import, then sync until idle")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="with --backfill: report, write nothing")
    ] = False,
    encoding: Annotated[
        str | None,
        typer.Option(
            "--encoding", help="the CSV files' text encoding, e.g. cp1252 (default UTF-8)"
        ),
    ] = None,
    data_dir: DataDir = None,
    entity: Entity = None,
    ledger: Ledger = None,
    json_out: JsonOut = False,
) -> None:
    """Append new versions of the source's records to the log: a CSV directory, or what
    changed in a source (``--source``) since the last import. Exit 1 when records were
    refused (`syncledger errors` says why) or, with --backfill, the sync refused or gave
    up records."""
    from syncledger.core.pipeline import import_csv, import_source, plan_backfill

    if (path is None) == (source is None):
        raise typer.BadParameter("give a CSV directory or --source <id>, not both or neither")
    if path is not None and not path.is_dir():
        raise typer.BadParameter(f"{path} is not a directory of CSV files (see docs/csv.md)")
    if dry_run and (not backfill or path is None):
        raise typer.BadParameter("--dry-run goes with --backfill and a CSV directory")
    if encoding is not None and path is None:
        raise typer.BadParameter("--encoding goes with a CSV directory")
    if encoding is not None:
        _check_encoding(encoding)
    cfg = settings(data_dir, entity, ledger)
    if path is not None and dry_run:
        plan = run(plan_backfill(cfg, path, encoding))
        typer.echo(_json(_plan_json(plan)) if json_out else plan.text())
        return
    if source is not None:
        report = run(import_source(cfg.model_copy(update={"source": source})))
    else:
        assert path is not None
        report = run(import_csv(cfg, path, encoding, _meter()))
    _imported(report, cfg if backfill else None, json_out)


def _imported(report: IngestReport, backfill: Settings | None, json_out: bool) -> None:
    """Say what the import did; with ``backfill``, sync until idle and say that too."""
    from syncledger.core.pipeline import import_said

    said = import_said(report)
    if backfill is None:
        _answer(said, json_out)
        return
    if not json_out:
        typer.echo(said.text)
    synced = _backfill_sync(backfill, json_out)
    code = max(said.exit_code, synced.exit_code if synced is not None else 0)
    if json_out:
        sync_data = synced.data if synced is not None else None
        typer.echo(_json({**said.data, "sync": sync_data, "exit_code": code}))
    elif synced is not None:
        typer.echo(synced.text)
    if code:
        raise typer.Exit(code)


def _backfill_sync(cfg: Settings, json_out: bool) -> Said | None:
    """The backfill's sync (None: another process pushes, the records were queued)."""
    from syncledger.core.pipeline import sync_once_said

    try:
        return run(sync_once_said(cfg, _meter()))
    except LeaseHeld as exc:  # the owner pushes them: nothing to do here
        typer.echo(f"{exc}; your records were queued", err=json_out)
    except OwnershipLost as exc:
        _owned_elsewhere(f"{exc}; your records are in the log for the next owner to push")
    return None


def _plan_json(plan: BackfillPlan) -> dict[str, object]:
    return {
        "would_create": plan.create,
        "would_match": plan.link,
        "would_refuse": plan.reject,
        "would_wait_for_review": plan.review,
        "nothing_to_send": plan.skip,
        "ledger_items_to_create": plan.items,
        "duplicate_names": plan.duplicates,
        "outcomes": plan.outcomes,
        "exit_code": 0,
    }


def _json(data: dict[str, object]) -> str:
    import json

    return json.dumps(data, sort_keys=True, default=str)


def _answer(said: Said, json_out: bool) -> None:
    """Print a command's answer (text, or one JSON object with its exit code) and end
    with its exit code (1: something needs attention)."""
    typer.echo(said.as_json() if json_out else said.text)
    if said.exit_code:
        raise typer.Exit(said.exit_code)


def _meter() -> Meter:
    """Progress on stderr when it is a terminal (never in pipes or tests)."""
    from syncledger.core.progress import terminal_meter

    return terminal_meter()


def _check_encoding(name: str) -> None:
    import codecs

    try:
        codecs.lookup(name)
    except LookupError:
        raise typer.BadParameter(f"unknown encoding {name!r}: use e.g. utf-8 or cp1252") from None


@app.command()
def serve(
    source: Annotated[
        str | None,
        typer.Option("--source", help="the source whose webhooks to take (required to take)"),
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", help="TCP port (default SYNCLEDGER_SERVE_PORT, 8089)")
    ] = None,
    data_dir: DataDir = None,
    entity: Entity = None,
) -> None:
    """The web console (docs/console.md), /metrics, /healthz, /readyz and the source's
    signed webhooks at POST /webhooks/<source>: each verified delivery is in the log
    before it is answered; forged or stale ones get 401. Without --source, a configured
    source that takes no webhooks leaves the console alone."""
    from syncledger.core.pipeline import serve as serve_all

    cfg = settings(data_dir, entity)
    update: dict[str, Any] = {}
    if source is not None:
        update["source"] = source
    if port is not None:
        if not 0 <= port < 65536:
            raise typer.BadParameter(f"--port {port} is not a TCP port (0-65535)")
        update["serve_port"] = port
    cfg = cfg.model_copy(update=update)
    ready = _frozen_once_serving(_served_lines(cfg.serve_addr))
    _run_serving(serve_all(cfg, ready=ready, webhooks_required=source is not None))


def _frozen_once_serving(tell: Callable[[Served], None]) -> Callable[[Served], None]:
    """``tell``, then what serve holds once it listens (modules, settings, connections:
    hundreds of thousands of objects that live as long as the process) moved out of the
    garbage collector's sight (``gc.freeze``). Otherwise each full collection walks them
    all: 45-62 ms measured on this machine, a stall of every delivery in flight."""

    def frozen(served: Served) -> None:
        tell(served)
        gc.freeze()

    return frozen


def _run_serving(coro: Coroutine[Any, Any, None]) -> None:
    """``serve`` on uvloop where it is installed (not on Windows): its C event loop and
    transports cost less CPU per webhook than asyncio's (bench/ingest.py)."""
    try:
        import uvloop
    except ImportError:
        run(coro)
        return
    uvloop.run(coro)


def _served_lines(addr: str) -> Callable[[Served], None]:
    def tell(served: Served) -> None:
        if served.webhooks:
            typer.echo(f"serving webhooks on port {served.port}: " + ", ".join(
                f"POST /webhooks/{s}" for s in served.webhooks
            ))  # fmt: skip
        mode = "operator login enabled" if served.writable else "read-only"
        typer.echo(f"serving the console on http://{addr}:{served.port}/ ({mode})")

    return tell


@app.command()
def sync(
    once: Annotated[bool, typer.Option("--once", help="run until idle, then report")] = False,
    data_dir: DataDir = None,
    entity: Entity = None,
    ledger: Ledger = None,
    json_out: JsonOut = False,
) -> None:
    """Push what the log holds to the ledger (``--once``: until nothing is left to do,
    then say what happened; exit 1 when records were refused or given up)."""
    from syncledger.core.pipeline import sync_forever, sync_once_said

    if json_out and not once:
        raise typer.BadParameter("--json goes with --once")
    cfg = settings(data_dir, entity, ledger)
    if not once:
        run(sync_forever(cfg))
        return
    try:
        said = run(sync_once_said(cfg, _meter()))
    except LeaseHeld as exc:
        _owned_elsewhere(f"{exc}; it pushes what the log holds, this sync pushed nothing")
    except OwnershipLost as exc:
        _owned_elsewhere(f"{exc}; what is left is pushed by the next owner")
    _answer(said, json_out)


def _owned_elsewhere(line: str) -> NoReturn:
    typer.echo(f"error: {line}", err=True)
    raise typer.Exit(EXIT_PUSH_OWNED_ELSEWHERE)


@app.command("run")
def run_cmd(
    data_dir: DataDir = None,
    entity: Entity = None,
    ledger: Ledger = None,
    entities: Annotated[
        str | None,
        typer.Option(
            "--entities",
            help="a,b,c: share these entities with the other workers, each owning its fair "
            "share (SYNCLEDGER_ENTITIES; docs/operations.md, Scaling out)",
        ),
    ] = None,
) -> None:
    """Unattended: the sync worker and the projections, until interrupted. With
    --entities, one push loop per entity this worker owns."""
    from syncledger.core.pipeline import sync_forever, sync_partitions

    cfg = settings(data_dir, entity, ledger)
    if entities is not None:
        cfg = _with_entities(cfg, entities)
    if entity is not None and cfg.entities:
        raise typer.BadParameter("give --entity or --entities (SYNCLEDGER_ENTITIES), not both")
    run(sync_partitions(cfg) if cfg.entities else sync_forever(cfg))


def _with_entities(cfg: Settings, names: str) -> Settings:
    from syncledger.core.settings_check import load_settings

    chosen = load_settings({"entities": names}).entities
    if not chosen:
        raise typer.BadParameter("--entities names no entity: give a,b,c")
    return cfg.model_copy(update={"entities": chosen})


@app.command()
def replay(data_dir: DataDir = None) -> None:
    """Rebuild every read model from the log (blue/green swap)."""
    from syncledger.core.pipeline import replay_projections

    typer.echo(run(replay_projections(settings(data_dir), _meter())))


@projections_app.command("verify")
def projections_verify(data_dir: DataDir = None) -> None:
    """Rebuild into scratch tables and compare digests with the live read models."""
    from syncledger.core.pipeline import verify_projections

    ok, text = run(verify_projections(settings(data_dir)))
    typer.echo(text)
    if not ok:
        raise typer.Exit(1)


@app.command()
def reconcile(
    data_dir: DataDir = None,
    entity: Entity = None,
    ledger: Ledger = None,
    json_out: Json = False,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="read every ledger record (a full sweep) instead of only what changed "
            "since the last run",
        ),
    ] = False,
) -> None:
    """Compare the read models with what the ledger holds; record mismatches.

    A routine run reads only the ledger's changes since the last one (the mirror in the
    data dir); a full sweep runs with --full, the first time, and once
    SYNCLEDGER_RECONCILE_FULL_EVERY_S has passed since the last (default: daily).

    Exit code: 0 when the books agree, 1 while mismatches are open (they are recorded
    and printed first; `syncledger errors` says how to fix each), 2 usage or
    configuration error, 3 the ledger or the log cannot be reached, 70 internal error.
    With --json the object carries "exit_code" too."""
    from syncledger.core.pipeline import reconcile_exit_code, reconcile_now

    report = run(reconcile_now(settings(data_dir, entity, ledger), full=full))
    code = reconcile_exit_code(report)
    if json_out:
        import json

        typer.echo(json.dumps({**report.as_dict(), "exit_code": code}, sort_keys=True))
    else:
        typer.echo(report.text())
    if code:
        raise typer.Exit(code)


report_app = typer.Typer(
    help="Daily comparison and monthly reconciliation reports (HTML with charts, CSV, JSON).",
    no_args_is_help=True,
)
app.add_typer(report_app, name="report")


@report_app.command("daily")
def report_daily(
    day: Annotated[
        str | None, typer.Option("--date", help="YYYY-MM-DD document date (default yesterday)")
    ] = None,
    data_dir: DataDir = None,
    entity: Entity = None,
    ledger: Ledger = None,
) -> None:
    """The daily comparison report: documents dated DAY, source vs ledger; prints the
    headline and the paths of the three files under <data dir>/reports/<entity>/<ledger>/."""
    from syncledger.core.reports import parse_day

    _report(lambda today: parse_day(day, today), data_dir, entity, ledger)


@report_app.command("monthly")
def report_monthly(
    period: Annotated[
        str | None, typer.Option("--period", help="YYYY-MM (default the last whole month)")
    ] = None,
    data_dir: DataDir = None,
    entity: Entity = None,
    ledger: Ledger = None,
) -> None:
    """The monthly reconciliation report (with DSO): documents dated in the month."""
    from syncledger.core.reports import parse_month

    _report(lambda today: parse_month(period, today), data_dir, entity, ledger)


def _report(
    parse: Callable[[date], Period],
    data_dir: Path | None,
    entity: str | None,
    ledger: str | None,
) -> None:
    from syncledger.core.errors import ConfigurationError
    from syncledger.core.pipeline import report_now

    try:
        chosen = parse(datetime.now(UTC).date())
    except ConfigurationError as exc:
        raise typer.BadParameter(str(exc)) from None
    report, paths = run(report_now(settings(data_dir, entity, ledger), chosen))
    typer.echo(report.headline)
    typer.echo("\n".join(str(p) for p in paths))


@app.command()
def trace(
    ref: Annotated[str, typer.Argument(help="<system>/<kind>/<id>, e.g. csv/invoice/INV-1001")],
    data_dir: DataDir = None,
    entity: Entity = None,
    json_out: JsonOut = False,
) -> None:
    """One record's events in order, ending at its ledger id."""
    from syncledger.core.model import RecordRef
    from syncledger.core.pipeline import trace_said
    from syncledger.core.sources import canonical_ref

    try:
        parsed = canonical_ref(RecordRef.parse(ref))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    _answer(run(trace_said(settings(data_dir, entity), parsed)), json_out)


@app.command()
def retry(
    ref: Annotated[str, typer.Argument(help="<system>/<kind>/<id> of an abandoned record")],
    reason: Annotated[str, typer.Option(help="why (kept in the log)")] = "",
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="a synced record deleted in the ledger: create it again (= repush)"
        ),
    ] = False,
    data_dir: DataDir = None,
    entity: Entity = None,
    ledger: Ledger = None,
) -> None:
    """Try an abandoned or rejected record again (after fixing the cause); says what it
    will do, and does nothing when nothing changed since the rejection (exit 1)."""
    from syncledger.core.pipeline import request_repush, request_retry

    ask = request_repush if force else request_retry
    _operator_answer(run(ask(settings(data_dir, entity, ledger), _ref(ref), reason)))


@app.command()
def repush(
    ref: Annotated[str, typer.Argument(help="<system>/<kind>/<id> deleted in the ledger")],
    reason: Annotated[str, typer.Option(help="why (kept in the log)")] = "",
    data_dir: DataDir = None,
    entity: Entity = None,
    ledger: Ledger = None,
) -> None:
    """Create a synced record again that was deleted in the ledger (an open
    missing_in_ledger mismatch). Refused while the ledger still holds it; the worker looks
    for it by our reference first, so it is never duplicated."""
    from syncledger.core.pipeline import request_repush

    _operator_answer(run(request_repush(settings(data_dir, entity, ledger), _ref(ref), reason)))


def _ref(text: str) -> RecordRef:
    from syncledger.core.model import RecordRef

    try:
        return RecordRef.parse(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _operator_answer(answer: Answer) -> None:
    """Print what an operator command did; exit 1 when it did nothing (needs attention)."""
    typer.echo(answer.text)
    if not answer.queued:
        raise typer.Exit(1)


@app.command()
def review(
    ref: Annotated[
        str | None, typer.Argument(help="<system>/<kind>/<id> of a record waiting for review")
    ] = None,
    link: Annotated[
        str | None, typer.Option(help="the ledger id of the record it is (one of the candidates)")
    ] = None,
    create: Annotated[bool, typer.Option(help="it is none of the candidates: create it")] = False,
    note: Annotated[str, typer.Option(help="why (kept in the log)")] = "",
    data_dir: DataDir = None,
    entity: Entity = None,
    ledger: Ledger = None,
    json_out: JsonOut = False,
) -> None:
    """Records waiting for a person (ambiguous matches); with REF, decide one."""
    from syncledger.core.model import RecordRef

    config = settings(data_dir, entity, ledger)
    if json_out and ref is not None:
        raise typer.BadParameter("--json goes with the list (syncledger review --json)")
    if ref is None:
        if link is not None or create:
            raise typer.BadParameter("name the record to decide: syncledger review <ref> --link ID")
        if json_out:
            typer.echo(_json({**run(_review_json(config)), "exit_code": 0}))
            return
        typer.echo(run(_review(config, None, link, create, note)))
        return
    try:
        parsed = RecordRef.parse(ref)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if (link is None) == (not create):
        raise typer.BadParameter("give exactly one of --link <ledger id> or --create")
    typer.echo(run(_review(config, parsed, link, create, note)))


async def _review_json(config: Settings) -> dict[str, object]:
    from syncledger.core.pipeline import review_desk, review_json

    async with review_desk(config) as desk:
        return await review_json(desk)


async def _review(
    config: Settings, ref: RecordRef | None, link: str | None, create: bool, note: str
) -> str:
    from syncledger.core.pipeline import review_desk
    from syncledger.core.review import resolve_review, review_text

    async with review_desk(config) as desk:
        if ref is None:
            return await review_text(desk)
        return await resolve_review(desk, ref, link=link, create=create, note=note)


@app.command()
def backsync(
    source: Annotated[
        Path | None, typer.Option(help="CSV directory to write payment status back to")
    ] = None,
    data_dir: DataDir = None,
    entity: Entity = None,
    ledger: Ledger = None,
    json_out: JsonOut = False,
) -> None:
    """Pull what changed in the ledger (payments, voids, edits) into the log once."""
    from syncledger.core.pipeline import backsync_once_said

    if source is not None and not source.is_dir():
        raise typer.BadParameter(f"{source} is not a directory")
    _answer(run(backsync_once_said(settings(data_dir, entity, ledger), source)), json_out)


@app.command()
def sends(
    refs: Annotated[
        list[str] | None, typer.Argument(help="invoice refs (default: all), e.g. csv/invoice/INV-1")
    ] = None,
    data_dir: DataDir = None,
    entity: Entity = None,
    ledger: Ledger = None,
) -> None:
    """Did the invoice e-mail go out? Each invoice whose source asked the ledger to e-mail
    it: sent, not sent and why, or still waiting."""
    from syncledger.core.pipeline import sends_text

    typer.echo(run(sends_text(settings(data_dir, entity, ledger), refs or [])))


@app.command()
def conflicts(
    ref: Annotated[
        str | None, typer.Argument(help="<system>/<kind>/<id> of a record with an open conflict")
    ] = None,
    keep_ledger: Annotated[
        bool, typer.Option("--keep-ledger", help="accept the ledger's version: nothing is pushed")
    ] = False,
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", help="push our latest version over the ledger's edit"),
    ] = False,
    note: Annotated[str, typer.Option(help="why (kept in the log)")] = "",
    personal: Annotated[
        bool, typer.Option("--personal", help="show personal and name values in clear")
    ] = False,
    data_dir: DataDir = None,
    entity: Entity = None,
    ledger: Ledger = None,
    json_out: JsonOut = False,
) -> None:
    """Open conflicts (records edited in the ledger since we wrote them): what differs,
    field by field; with REF, decide one: --keep-ledger or --overwrite."""
    from syncledger.core.pipeline import conflicts_said, settle_conflict

    config = settings(data_dir, entity, ledger)
    if ref is None:
        if keep_ledger or overwrite:
            raise typer.BadParameter("name the record: syncledger conflicts <ref> --keep-ledger")
        _answer(run(conflicts_said(config, personal)), json_out)
        return
    if keep_ledger == overwrite:
        raise typer.BadParameter("give exactly one of --keep-ledger or --overwrite")
    decision: Literal["keep_ledger", "overwrite"] = "keep_ledger" if keep_ledger else "overwrite"
    typer.echo(run(settle_conflict(config, _ref(ref), decision, note)))


@app.command()
def status(data_dir: DataDir = None, entity: Entity = None, json_out: JsonOut = False) -> None:
    """Records by sync status, and open mismatches per ledger. Exit 1 when records need
    attention, mismatches are open or alerts are parked."""
    from syncledger.core.pipeline import status_now

    _answer(run(status_now(settings(data_dir, entity))), json_out)


@app.command()
def errors(data_dir: DataDir = None, entity: Entity = None, json_out: JsonOut = False) -> None:
    """Open problems by record, with the fix to make: rejections, abandoned pushes, and
    open mismatches per ledger (what differs, how long it has been open, the fix). Exit 1
    when anything is listed."""
    from syncledger.core.pipeline import errors_now

    _answer(run(errors_now(settings(data_dir, entity))), json_out)


entities_app = typer.Typer(
    help="What entities leave behind in NATS once the configuration no longer names them.",
    no_args_is_help=True,
)
app.add_typer(entities_app, name="entities")


@entities_app.command("prune")
def entities_prune(
    yes: Annotated[
        bool, typer.Option("--yes", help="delete them (never one whose entity is pushed)")
    ] = False,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """List the durable consumers of entities the configuration no longer names (they
    count towards the stream's consumer limit); --yes deletes each while holding its push
    lease, keeping any whose entity a process pushes. Exit 1 when any is listed or kept."""
    from syncledger.core.entity_prune import prune_said

    _answer(run(prune_said(settings(data_dir), yes)), json_out)


mapping_app = typer.Typer(
    help="A ledger mapping file against the version in force: diff, dry run, publish.",
    no_args_is_help=True,
)
app.add_typer(mapping_app, name="mapping")


@mapping_app.command("diff")
def mapping_diff(
    file: Annotated[
        Path | None,
        typer.Option("--file", help="compare this file (default: the ledger's mapping.toml)"),
    ] = None,
    data_dir: DataDir = None,
    entity: Entity = None,
    ledger: Ledger = None,
    json_out: JsonOut = False,
) -> None:
    """The unified diff between the mapping version in force and the file, and a dry run
    of what it changes for each record's latest version; writes nothing. Exit 0 when no
    record changes, 1 when records change, 2 for a file that does not read."""
    from syncledger.core.mapping_publish import diff_said

    _answer(run(diff_said(settings(data_dir, entity, ledger), file)), json_out)


@mapping_app.command("publish")
def mapping_publish(
    yes: Annotated[bool, typer.Option("--yes", help="publish without asking")] = False,
    data_dir: DataDir = None,
    entity: Entity = None,
    ledger: Ledger = None,
    json_out: JsonOut = False,
) -> None:
    """Show the diff and dry run, ask, then publish the ledger's mapping file as the
    version in force; the next sync start re-flows the records it now accepts."""
    from syncledger.core.mapping_publish import publish_said

    if json_out and not yes:
        raise typer.BadParameter("--json answers without a question: add --yes")

    def confirm(text: str) -> bool:
        if not json_out:
            typer.echo(text)
        return yes or typer.confirm("publish this version?", default=False)

    _answer(run(publish_said(settings(data_dir, entity, ledger), confirm)), json_out)


def data_map_cmd(
    data_dir: DataDir = None, entity: Entity = None, ledger: Ledger = None, json_out: Json = False
) -> None:
    """Where personal data goes: each personal field from the source's field to the
    ledger's, each connection's region ([data_regions]) and the transfer rules
    ([transfer]) with their approval. Exit 1 when the rules refuse the transfer."""
    from syncledger.core.data_map import lines
    from syncledger.core.data_map_build import data_map
    from syncledger.core.pipeline import Said

    found = data_map(settings(data_dir, entity, ledger))
    code = 1 if found.verdict() else 0
    _answer(Said("\n".join(lines(found)), found.to_json(), code), json_out)


def _mount_audit() -> None:
    from syncledger.audit.cli import audit_app, set_context_factory

    set_context_factory(_audit_context)
    audit_app.command("data-map")(data_map_cmd)
    app.add_typer(audit_app, name="audit", help="Merkle log, keys, holds, retention, packages.")
    from syncledger.audit.witness_cli import witness_app

    app.add_typer(witness_app, name="witness")
    from syncledger.core.alerts_cli import alerts_app

    app.add_typer(alerts_app, name="alerts")


@contextlib.asynccontextmanager
async def _audit_context() -> AsyncIterator[Any]:
    from syncledger.audit.cli import chosen_place
    from syncledger.core.bootstrap import audit_context, open_runtime

    async with open_runtime(settings(*chosen_place())) as rt:
        yield audit_context(rt)


def main() -> None:
    from syncledger.core.logs import chosen, configure

    try:
        level, fmt = chosen()
    except SyncLedgerError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    configure(level, fmt)  # masks passwords in every line, whoever wrote it
    _mount_audit()
    try:
        code = app(standalone_mode=False, prog_name="syncledger")
    except BrokenPipeError:
        _quiet_stdout()
        sys.exit(EXIT_BROKEN_PIPE)
    except BaseException as exc:  # every ending is translated by _exit_for
        _exit_for(exc)
    sys.exit(code if isinstance(code, int) else 0)


def _quiet_stdout() -> None:
    """The reader is gone: point stdout at /dev/null so the final flush says nothing."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _exit_for(exc: BaseException) -> NoReturn:
    """One line on stderr (none for a bare command: help was printed) and the exit code of
    the table in README.md "Exit codes"."""
    if isinstance(exc, typer.Exit | SystemExit | KeyboardInterrupt):
        _exit_plain(exc)
    if isinstance(exc, _USAGE_ERROR):
        _exit_usage(exc)
    if isinstance(exc, typer.Abort):
        _say("aborted", EXIT_ABORTED)
    if isinstance(exc, SyncLedgerError | PydanticValidationError):
        _exit_known(exc)
    if os.environ.get("SYNCLEDGER_DEBUG"):
        raise exc
    _say(
        f"internal error: {type(exc).__name__}: {mask_text(str(exc))} "
        "(set SYNCLEDGER_DEBUG=1 for the traceback, and report it)",
        EXIT_INTERNAL,
    )


def _exit_plain(exc: typer.Exit | SystemExit | KeyboardInterrupt) -> NoReturn:
    if isinstance(exc, KeyboardInterrupt):
        _say("interrupted", EXIT_ABORTED)
    code = exc.exit_code if isinstance(exc, typer.Exit) else exc.code
    sys.exit(code if isinstance(code, int) else 0)


def _exit_usage(exc: Exception) -> NoReturn:
    message = exc.format_message()  # type: ignore[attr-defined]
    if type(exc).__name__ == "NoArgsIsHelpError" or not message:
        sys.exit(EXIT_USAGE)  # the help is on the screen: nothing to add
    ctx = getattr(exc, "ctx", None)
    hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
    _say(f"error: {message}{hint}", EXIT_USAGE)


def _exit_known(exc: SyncLedgerError | PydanticValidationError) -> NoReturn:
    if isinstance(exc, PydanticValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        _say(f"error: setting {where}: {first['msg']} (check SYNCLEDGER_* variables)", EXIT_USAGE)
    _say(f"error: {mask_text(str(exc))}", exit_code_of(exc))


def _say(line: str, code: int) -> NoReturn:
    with contextlib.suppress(BrokenPipeError):
        typer.echo(line, err=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
