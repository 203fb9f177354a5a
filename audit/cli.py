"""``syncledger audit …``: the audit commands (typer).

The main CLI mounts :data:`audit_app` and registers how to open the event store and the
keystore with :func:`set_context_factory`. ``keygen`` and ``verify`` need no context:
they work offline, as an auditor runs them.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, ParamSpec, TypeVar

import typer
from cryptography.hazmat.primitives.asymmetric import x25519

from syncledger.audit import contract_results, keyfiles
from syncledger.audit.approvals import approve_mapping, generate_approver_key
from syncledger.audit.checkpoints import (
    LoggedCheckpoint,
    checkpoint_every,
    checkpoint_now,
    open_keyring,
    rotate_signing_key,
)
from syncledger.audit.context import AuditContext, ContextFactory
from syncledger.audit.errors import PackageInvalid
from syncledger.audit.escrow import EscrowShare, check_custodians
from syncledger.audit.escrow_kek import escrow_kek, record_recovery, recover_kek, write_shares
from syncledger.audit.events import SigningKeyRotated
from syncledger.audit.hold_rules import apply_rules
from syncledger.audit.holds import HoldBook, extend_hold, place_hold, release_hold
from syncledger.audit.kek import rotate_kek
from syncledger.audit.keywindow import load_signers
from syncledger.audit.note import SignedNote
from syncledger.audit.note_checkpoint import log_verifier
from syncledger.audit.package import PackageAccess, export_package
from syncledger.audit.package import record_access as record_package_access
from syncledger.audit.restore import backup_keystore, run_restore_test
from syncledger.audit.retention import RetentionReport, load_policy, run_retention
from syncledger.audit.scope import Scope
from syncledger.audit.signing import SigningKeyring
from syncledger.audit.trace import ProvenTrace, trace_record
from syncledger.audit.verify import (
    VerifiedPackage,
    VerifierState,
    check_approvers,
    check_succession,
    extract,
    verify_package,
)
from syncledger.audit.verifylog import LogReport, verify_log
from syncledger.audit.witness_publish import CheckpointPublisher, Published
from syncledger.core.errors import SyncLedgerError
from syncledger.core.exit_codes import exit_code_of
from syncledger.core.progress import terminal_meter
from syncledger.core.settings import Settings

audit_app = typer.Typer(
    help="Tamper-evident log, legal holds, retention, traces and audit packages.",
    no_args_is_help=True,
)
keys_app = typer.Typer(help="Key-encryption and signing keys.", no_args_is_help=True)
hold_app = typer.Typer(help="Legal holds (they override retention).", no_args_is_help=True)
retention_app = typer.Typer(help="Retention runs (crypto-shredding).", no_args_is_help=True)
audit_app.add_typer(keys_app, name="keys")
audit_app.add_typer(hold_app, name="hold")
audit_app.add_typer(retention_app, name="retention")
rules_app = typer.Typer(
    help="Holds placed by rules on events (<data dir>/audit/hold_rules.toml).",
    no_args_is_help=True,
)
hold_app.add_typer(rules_app, name="rules")

_factory: ContextFactory | None = None
#: where the running command's --data-dir / --entity point (the context factory reads it)
_PLACE: ContextVar[tuple[Path | None, str | None]] = ContextVar(
    "syncledger_audit_place", default=(None, None)
)
DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="state directory (default .syncledger)")
]
Entity = Annotated[str | None, typer.Option("--entity", help="fiscal entity")]
P = ParamSpec("P")
T = TypeVar("T")


def set_context_factory(factory: ContextFactory) -> None:
    """Register how commands open their :class:`AuditContext` (an async context manager)."""
    global _factory
    _factory = factory


def remember_place(data_dir: Path | None, entity: str | None) -> None:
    """Keep the command's --data-dir / --entity where the context factory finds them
    (:func:`chosen_place`): the factory's signature stays the same for every caller."""
    _PLACE.set((data_dir, entity))


def chosen_place() -> tuple[Path | None, str | None]:
    """The running audit command's --data-dir and --entity (None: the settings')."""
    return _PLACE.get()


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _cli_errors(fn: Callable[P, T]) -> Callable[P, T]:
    """One clear line and a non-zero exit instead of a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return fn(*args, **kwargs)
        except PackageInvalid as exc:
            typer.echo(f"FAILED [{exc.reason}]: {exc.detail}", err=True)
            raise typer.Exit(1) from None
        except SyncLedgerError as exc:
            raise _fail(str(exc), exit_code_of(exc)) from None
        except OSError as exc:
            raise _fail(f"{exc.filename or ''}: {exc.strerror}".strip(": ")) from None

    return wrapper


def _run(
    work: Callable[[AuditContext], Awaitable[T]],
    data_dir: Path | None,
    entity: str | None,
    *,
    progress: bool = False,
) -> T:
    """``work`` on the command's context; ``progress``: long work shows a bar on a terminal."""
    factory = _factory
    if factory is None:
        raise _fail("audit commands are not wired to an event store (no context factory)")
    remember_place(data_dir, entity)

    async def go() -> T:
        async with factory() as ctx:
            if progress:
                ctx.meter = terminal_meter()
            return await work(ctx)

    return asyncio.run(go())


def _print_json(doc: Any) -> None:
    typer.echo(json.dumps(doc, indent=2, sort_keys=True, default=str))


# ---------------------------------------------------------------------- log


@audit_app.command("checkpoint")
@_cli_errors
def checkpoint_cmd(
    every: Annotated[
        float | None, typer.Option(help="keep signing every N seconds while the log grows")
    ] = None,
    data_dir: DataDir = None,
    entity: Entity = None,
) -> None:
    """Sign a checkpoint of the log now (or on a schedule with --every); the configured
    witnesses (SYNCLEDGER_WITNESSES) are asked to cosign it, and it is written to WORM
    storage when SYNCLEDGER_WORM_* is set."""
    if every is not None:
        signed = _run(lambda ctx: _every(ctx, every), data_dir, entity)
        typer.echo(f"signed {signed} checkpoints")
        return
    logged = _run(_checkpoint_published, data_dir, entity)
    cp = logged.checkpoint
    typer.echo(
        f"checkpoint: tree size {cp.tree_size}, root {cp.root_hash.hex()}, "
        f"key {cp.key_id}, event {logged.seq}"
    )
    _say_published(logged.published)


async def _checkpoint_published(ctx: AuditContext) -> LoggedCheckpoint:
    return await checkpoint_now(ctx, publisher=_publisher(ctx))


def _say_published(published: Published | None) -> None:
    """What the witnesses and WORM storage did; exit 1 when one refused (the checkpoint
    is in the log, but a witness refusing it may mean the log forked or was rewritten)."""
    if published is None:
        return
    for name in published.cosigned_by:
        typer.echo(f"cosigned by witness {name}")
    if published.worm is not None:
        typer.echo(f"written to WORM storage as {published.worm} (COMPLIANCE lock)")
    for refusal in published.refusals:
        typer.echo(f"error: {refusal}", err=True)
    if published.refusals:
        raise typer.Exit(1)


async def _every(ctx: AuditContext, seconds: float) -> int:
    stop = asyncio.Event()
    try:
        return await checkpoint_every(ctx, seconds, stop, _publisher(ctx))
    except asyncio.CancelledError:
        stop.set()
        return 0


@audit_app.command("verify-log")
@_cli_errors
def verify_log_cmd(
    witness: Annotated[
        list[str] | None,
        typer.Option(help="a trusted witness's vkey: the log must agree with what it cosigned"),
    ] = None,
    witness_url: Annotated[
        list[str] | None,
        typer.Option(help="also read the witnessed checkpoint from this witness URL"),
    ] = None,
    witnessed: Annotated[
        list[Path] | None, typer.Option(help="a cosigned checkpoint file (C2SP note)")
    ] = None,
    data_dir: DataDir = None,
    entity: Entity = None,
) -> None:
    """Recompute the Merkle tree of the whole stream and check every signed checkpoint;
    with --witness, also against the checkpoints that witness cosigned (read from it)."""
    from syncledger.audit.witness_gather import gather_witnessed, trusted_witnesses

    trusted = trusted_witnesses(witness or [])

    async def work(ctx: AuditContext) -> LogReport:
        notes = await gather_witnessed(ctx.origin, trusted, witness_url or [], witnessed or [])
        return await verify_log(ctx, trusted, notes)

    report = _run(work, data_dir, entity)
    for warning in report.warnings:
        typer.echo(f"warning: {warning}")
    if not report.ok:
        typer.echo(f"DIVERGED after {report.events} events: {report.divergence}", err=True)
        raise typer.Exit(1)
    typer.echo(f"OK: {report.events} events, {report.checkpoints} checkpoints verified")


# ---------------------------------------------------------------------- keys


@keys_app.command("rotate")
@_cli_errors
def keys_rotate(data_dir: DataDir = None, entity: Entity = None) -> None:
    """Re-wrap every data key under a new key-encryption key (KEK)."""
    result = _run(rotate_kek, data_dir, entity)
    verb = "finished an interrupted rotation" if result.resumed else "rotated"
    typer.echo(
        f"{verb}: {result.rewrapped} data keys now wrapped by {result.new_kek_id} "
        f"(was {result.old_kek_id})"
    )


@keys_app.command("rotate-signing")
@_cli_errors
def keys_rotate_signing(
    lost_key: Annotated[
        bool,
        typer.Option(
            "--lost-key",
            help="the current private key is lost (or must not sign again): the new key is "
            "trusted once a witness cosigns its first checkpoint",
        ),
    ] = False,
    data_dir: DataDir = None,
    entity: Entity = None,
) -> None:
    """Replace the checkpoint signing key; old public keys stay in the keyring. Without
    the old private key (--lost-key, or when it is missing) nothing endorses the new key."""
    event, vkey = _run(lambda ctx: _rotate_signing(ctx, lost_key), data_dir, entity)
    typer.echo(
        f"signing key {event.new_key_id} replaces {event.old_key_id}; "
        "give auditors the new public key (audit signer --public)"
    )
    if event.endorsement is None and event.old_key_id is not None:
        typer.echo(
            "the old key did not endorse it: have each witness trust the new key "
            f"(syncledger witness trust --state-dir <dir> '{vkey}'), then run "
            "`syncledger audit checkpoint`: it is accepted once a witness cosigns it"
        )


async def _rotate_signing(ctx: AuditContext, lost: bool) -> tuple[SigningKeyRotated, str]:
    event = await rotate_signing_key(ctx, lost=lost)
    ring = await open_keyring(ctx)
    return event, log_verifier(ctx.origin, ring.current_public_key()).vkey()


@keys_app.command("list")
@_cli_errors
def keys_list(data_dir: DataDir = None, entity: Entity = None) -> None:
    """The signing keyring (current and retired keys)."""
    ring = _run(open_keyring, data_dir, entity)
    for record in ring.records():
        state = f"retired {record.retired_at}" if record.retired_at else "current"
        typer.echo(f"{record.key_id}  created {record.created_at}  {state}")


@keys_app.command("escrow")
@_cli_errors
def keys_escrow(
    custodians: Annotated[int, typer.Option(help="how many custodians get a share (2-16)")],
    threshold: Annotated[int, typer.Option(help="how many shares rebuild the KEK (2-N)")],
    name: Annotated[
        list[str] | None,
        typer.Option(
            "--name", help="a custodian's name, once per custodian (default custodian-1..N)"
        ),
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out-dir", help="write each share to its own file (0600) here")
    ] = None,
    show: Annotated[
        bool, typer.Option("--print", help="print the shares once instead of writing files")
    ] = False,
    data_dir: DataDir = None,
    entity: Entity = None,
) -> None:
    """Split the KEK among custodians: any --threshold of the --custodians shares rebuild it
    (`audit keys recover`). Records the escrow in the log, never a share."""
    names = list(name or [f"custodian-{i}" for i in range(1, custodians + 1)])
    if len(names) != custodians:
        raise _fail(f"--custodians {custodians} but {len(names)} --name given", 2)
    if (out_dir is None) != show:
        raise _fail("give exactly one of --out-dir DIR or --print", 2)
    check_custodians(names, threshold)
    deliver = _print_shares if out_dir is None else functools.partial(_write_shares, out_dir)
    shares = _run(lambda ctx: escrow_kek(ctx, names, threshold, deliver), data_dir, entity)
    first = shares[0]
    typer.echo(
        f"escrowed {first.kek_id} ({first.environment}): {len(shares)} shares, any "
        f"{threshold} rebuild it; recorded in the log without the shares"
    )


def _write_shares(out_dir: Path, shares: list[EscrowShare]) -> None:
    for share, path in zip(shares, write_shares(shares, out_dir), strict=True):
        typer.echo(f"share {share.index} of {share.count} for {share.custodian}: {path}")


def _print_shares(shares: list[EscrowShare]) -> None:
    for share in shares:
        typer.echo(share.to_text())


@keys_app.command("recover")
@_cli_errors
def keys_recover(
    share: Annotated[list[Path], typer.Option("--share", help="a custodian's share file")],
    data_dir: DataDir = None,
    entity: Entity = None,
) -> None:
    """Rebuild the KEK from custodians' shares and put it where the KEK is read from
    (SYNCLEDGER_KEK_FILE or the default place); never over a different KEK."""
    from syncledger.core.bootstrap import kek_file

    settings = _settings(data_dir, entity)
    target = kek_file(settings).path
    keys_db = settings.data_dir / "keys.db"
    recovery = recover_kek(share, target, settings.environment, keys_db)
    verb = "rebuilt" if recovery.written else "rebuilt (already in place)"
    typer.echo(
        f"{verb} {recovery.kek_id} ({recovery.environment}) from the shares of "
        f"{', '.join(recovery.custodians)} -> {recovery.path}"
    )
    _run(lambda ctx: record_recovery(ctx, recovery), data_dir, entity)


def _settings(data_dir: Path | None, entity: str | None) -> Settings:
    """The settings with the command's --data-dir / --entity (for commands that work
    without the log, e.g. while the KEK is lost)."""
    from syncledger.core.settings_check import load_settings

    given = {"data_dir": data_dir, "entity": entity}
    return load_settings({k: v for k, v in given.items() if v is not None})


@keys_app.command("restore-test")
@_cli_errors
def keys_restore_test(
    keys_db: Annotated[Path, typer.Option("--keys-db", help="a keys.db backup to test")],
    share: Annotated[
        list[Path] | None, typer.Option("--share", help="rebuild the KEK from these shares")
    ] = None,
    kek: Annotated[
        Path | None, typer.Option("--kek-file", help="the KEK file (default: the one in use)")
    ] = None,
    data_dir: DataDir = None,
    entity: Entity = None,
) -> None:
    """Prove a keys.db backup restores: every live data key unwraps, one sealed field per
    data subject in the log decrypts. Writes nothing to the data directory; exit 0 only
    when everything restores."""
    if share and kek is not None:
        raise _fail("give --kek-file or --share, not both", 2)
    report = _run(lambda ctx: run_restore_test(ctx, keys_db, share or [], kek), data_dir, entity)
    for line in report.lines():
        typer.echo(line, err=not report.ok)
    if not report.ok:
        raise typer.Exit(1)


@keys_app.command("backup")
@_cli_errors
def keys_backup(
    out: Annotated[Path, typer.Option("--out", help="the backup file to create (0600)")],
    data_dir: DataDir = None,
    entity: Entity = None,
) -> None:
    """A consistent copy of keys.db (SQLite's backup API). The KEK is not in it: keep the
    KEK (or its escrow) apart."""
    settings = _settings(data_dir, entity)
    done = backup_keystore(settings.data_dir / "keys.db", out, settings.environment)
    typer.echo(
        f"backed up {done.live_keys} live data keys ({done.environment or 'untagged'}, "
        f"wrapped by {', '.join(done.kek_ids) or 'no KEK yet'}) to {done.path}; test it "
        "with `audit keys restore-test --keys-db` and keep the KEK apart from it"
    )


@audit_app.command("signer")
@_cli_errors
def signer_cmd(
    public: Annotated[
        Path | None, typer.Option("--public", help="write the current public key (PEM) here")
    ] = None,
    all_keys: Annotated[
        bool, typer.Option("--all", help="also write retired keys as <file>.<key id>.pem")
    ] = False,
    signer_set: Annotated[
        Path | None,
        typer.Option("--set", help="write every key with the tree sizes/times it may sign (JSON)"),
    ] = None,
    vkey: Annotated[
        bool, typer.Option("--vkey", help="print the current key as a C2SP note vkey")
    ] = False,
    data_dir: DataDir = None,
    entity: Entity = None,
) -> None:
    """Write the signing public key(s), for auditors' `audit verify --signer`. The signer
    set (--set) bounds each key to when it was current: give auditors that file."""
    if public is None and signer_set is None and not vkey:
        raise _fail("give --public FILE, --set FILE and/or --vkey", 2)
    ring, origin = _run(_ring_and_origin, data_dir, entity)
    if vkey:
        typer.echo(log_verifier(origin, ring.current_public_key()).vkey())
    if signer_set is not None:
        keyfiles.write_public_file(signer_set, ring.signer_set().to_bytes(origin))
        typer.echo(f"wrote {len(ring.records())} signing keys with their windows to {signer_set}")
    if public is not None:
        keyfiles.write_public_file(public, keyfiles.public_pem(ring.current_public_key()))
        typer.echo(f"wrote {ring.current_key_id} to {public}")
        if all_keys:
            _write_retired(ring, public)


async def _ring_and_origin(ctx: AuditContext) -> tuple[SigningKeyring, str]:
    return await open_keyring(ctx), ctx.origin


def _write_retired(ring: SigningKeyring, public: Path) -> None:
    for record in ring.records():
        if record.retired_at:
            path = public.with_name(f"{public.name}.{record.key_id.replace(':', '-')}.pem")
            keyfiles.write_public_file(path, keyfiles.public_pem(record.public_key))
            typer.echo(f"wrote {record.key_id} to {path}")


@audit_app.command("keygen")
@_cli_errors
def keygen_cmd(
    out: Annotated[Path, typer.Option("--out", help="prefix: writes <prefix>.key, .pub")],
) -> None:
    """Create an X25519 recipient key pair for receiving audit packages."""
    private, public, kid = keyfiles.generate_recipient(out)
    typer.echo(f"recipient {kid}: private key {private} (keep it secret), public key {public}")


# ---------------------------------------------------------------------- holds


@hold_app.command("place")
@_cli_errors
def hold_place(
    scope: Annotated[
        str, typer.Option(help="customer:<id> | entity:<id> | period:<yyyy[-mm]> | case:<id>")
    ],
    reason: Annotated[str, typer.Option(help="why (matter, request, reference)")],
    customer: Annotated[
        list[str] | None, typer.Option(help="limit a case hold to these customers")
    ] = None,
    review_on: Annotated[
        str | None, typer.Option(help="review the hold on this date (yyyy-mm-dd)")
    ] = None,
    duration: Annotated[
        str | None, typer.Option("--for", help="review after this long: 90d, 12w, 6m or 2y")
    ] = None,
    allow_empty: Annotated[
        bool, typer.Option(help="place it even though it matches no customer yet")
    ] = False,
    data_dir: DataDir = None,
    entity: Entity = None,
) -> None:
    """Place a legal hold: nothing it covers is shredded until it is released."""
    parsed = Scope.parse(scope)
    review = _review_date(review_on, duration)
    hold = _run(
        lambda ctx: place_hold(
            ctx, parsed, reason, tuple(customer or ()), review_on=review, allow_empty=allow_empty
        ),
        data_dir,
        entity,
    )
    review_text = f", review on {hold.review_on}" if hold.review_on else ""
    typer.echo(
        f"placed {hold.hold_id} on {hold.scope} ({hold.entity}) by {hold.placed_by}{review_text}"
    )


def _review_date(review_on: str | None, duration: str | None) -> date | None:
    if review_on is not None and duration is not None:
        raise _fail("give --review-on or --for, not both", 2)
    if review_on is not None:
        return _date(review_on, "--review-on")
    return None if duration is None else _after(duration)


def _after(duration: str) -> date:
    units = {"d": 1, "w": 7, "m": 30, "y": 365}
    number, unit = duration[:-1], duration[-1:].lower()
    if unit not in units or not number.isdigit() or int(number) == 0:
        raise _fail(f"--for {duration!r} is not a duration like 90d, 12w, 6m or 2y", 2)
    return date.today() + timedelta(days=int(number) * units[unit])


@hold_app.command("extend")
@_cli_errors
def hold_extend(
    hold_id: Annotated[str, typer.Argument(help="the hold id (see `hold list`)")],
    review_on: Annotated[str, typer.Option(help="the new review date (yyyy-mm-dd)")],
    reason: Annotated[str, typer.Option(help="why it must be kept longer")],
    data_dir: DataDir = None,
    entity: Entity = None,
) -> None:
    """Move a legal hold's review date (compliance role only)."""
    day = _date(review_on, "--review-on")
    hold = _run(lambda ctx: extend_hold(ctx, hold_id, day, reason), data_dir, entity)
    typer.echo(f"extended {hold.hold_id} on {hold.scope}: review on {hold.review_on}")


@hold_app.command("release")
@_cli_errors
def hold_release(
    hold_id: Annotated[str, typer.Argument(help="the hold id (see `hold list`)")],
    reason: Annotated[str, typer.Option(help="why it may be released")],
    data_dir: DataDir = None,
    entity: Entity = None,
) -> None:
    """Release a legal hold (compliance role only)."""
    hold = _run(lambda ctx: release_hold(ctx, hold_id, reason), data_dir, entity)
    typer.echo(f"released {hold.hold_id} on {hold.scope} by {hold.released_by}")


@hold_app.command("list")
@_cli_errors
def hold_list(
    all_holds: Annotated[bool, typer.Option("--all", help="include released holds")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    data_dir: DataDir = None,
    entity: Entity = None,
) -> None:
    """List legal holds (active ones by default)."""
    book = _run(HoldBook.load, data_dir, entity)
    holds = list(book.holds.values()) if all_holds else book.active()
    if as_json:
        _print_json([h.to_json() for h in holds])
        return
    if not holds:
        typer.echo("no legal holds" if all_holds else "no active legal holds")
    for h in holds:
        state = "active" if h.active else f"released by {h.released_by}"
        if h.review_on is not None and h.active:
            due = " (review due)" if h.review_due(date.today()) else ""
            state += f", review on {h.review_on}{due}"
        typer.echo(f"{h.hold_id}  {h.entity}  {h.scope}  {state}  by {h.placed_by}: {h.reason}")


@rules_app.command("apply")
@_cli_errors
def hold_rules_apply(
    rules: Annotated[
        Path | None, typer.Option(help="rules file (default <data dir>/audit/hold_rules.toml)")
    ] = None,
    data_dir: DataDir = None,
    entity: Entity = None,
) -> None:
    """Evaluate the hold rules over the whole log once (`run` does it as the log grows);
    each rule holds a customer once."""
    report = _run(lambda ctx: apply_rules(ctx, rules), data_dir, entity)
    typer.echo(report.text())


# ---------------------------------------------------------------------- retention


@retention_app.command("run")
@_cli_errors
def retention_run(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="report only")] = False,
    apply: Annotated[bool, typer.Option("--apply", help="shred expired, unheld keys")] = False,
    as_of: Annotated[str | None, typer.Option(help="evaluate as of this date (yyyy-mm-dd)")] = None,
    policy: Annotated[Path | None, typer.Option(help="retention policy TOML")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    data_dir: DataDir = None,
    entity: Entity = None,
) -> None:
    """Shred the data keys of subjects past retention, unless a legal hold covers them."""
    if dry_run == apply:
        raise _fail("give exactly one of --dry-run or --apply")
    day = _date(as_of, "--as-of") if as_of is not None else None
    report = _run(
        lambda ctx: run_retention(ctx, load_policy(ctx, policy), as_of=day, apply=apply),
        data_dir,
        entity,
        progress=True,
    )
    if as_json:
        _print_json(report.to_json())
    else:
        _print_retention(report)


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _fail(f"{option} {text!r} is not a date like 2031-12-31") from None


def _print_retention(report: RetentionReport) -> None:
    verb = "shredded" if report.applied else "would shred"
    shred = report.with_status("shred")
    typer.echo(
        f"retention {'run' if report.applied else 'dry run'} as of {report.as_of}: "
        f"{len(shred)} {verb}, {len(report.with_status('held'))} kept by holds, "
        f"{len(report.with_status('retain'))} not expired, "
        f"{len(report.with_status('erased'))} already erased"
    )
    for d in shred:
        typer.echo(
            f"  {verb}: {d.entity} {d.customer} (retained until {d.retained_until}, "
            f"{len(d.key_ids)} keys)"
        )
    for d in report.with_status("held"):
        typer.echo(
            f"  kept by {', '.join(d.hold_ids)}: {d.entity} {d.customer} "
            f"(retention ended {d.retained_until})"
        )


# ---------------------------------------------------------------------- trace


@audit_app.command("trace")
@_cli_errors
def trace_cmd(
    ref: Annotated[str, typer.Argument(help="a source ref (hubspot/invoice/123) or ledger ref")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    personal: Annotated[bool, typer.Option(help="show personal fields in clear")] = False,
    tlog_proof: Annotated[
        Path | None,
        typer.Option(help="also write each event's proof here as a C2SP tlog-proof (<seq>.proof)"),
    ] = None,
    data_dir: DataDir = None,
    entity: Entity = None,
) -> None:
    """The history of one record, each event with its inclusion proof."""
    proven, note = _run(lambda ctx: _trace_and_note(ctx, ref), data_dir, entity)
    if tlog_proof is not None:
        _write_tlog_proofs(proven, note, tlog_proof)
    if as_json:
        doc = proven.to_json()
        _print_json(doc if personal else _personal_hidden(doc))
    else:
        _print_trace(proven, personal)


async def _trace_and_note(ctx: AuditContext, ref: str) -> tuple[ProvenTrace, SignedNote | None]:
    from syncledger.audit.note_proof import checkpoint_note

    proven = await trace_record(ctx, ref)
    return proven, await checkpoint_note(ctx, proven.checkpoint)


def _write_tlog_proofs(proven: ProvenTrace, note: SignedNote | None, directory: Path) -> None:
    from syncledger.audit.note_proof import TlogProof

    if note is None:
        raise _fail("the covering checkpoint predates C2SP checkpoints: run `audit checkpoint`")
    directory.mkdir(parents=True, exist_ok=True)
    for step in proven.trace.steps:
        proof = TlogProof(step.seq - 1, tuple(step.proof), note)
        (directory / f"{step.seq}.proof").write_bytes(proof.render())
    typer.echo(f"wrote {len(proven.trace.steps)} tlog-proofs to {directory}", err=True)


def _personal_hidden(doc: dict[str, Any]) -> dict[str, Any]:
    """The trace without personal values (their status stays): shown only on --personal."""
    for step in doc["steps"]:
        if step.get("personal_data"):
            step["personal_data"] = {**step["personal_data"], "fields": None}
    return doc


def _print_trace(proven: ProvenTrace, personal: bool) -> None:
    t = proven.trace
    for label, value in proven.facts():
        typer.echo(f"{label:>17}: {value}")
    for step in t.steps:
        typer.echo(f"\n#{step.seq} {step.occurred_at} {step.type}: {step.summary}")
        if step.personal.status != "none":
            shown = step.personal.fields if personal and step.personal.fields else None
            typer.echo(f"    personal data: {shown or step.personal.status}")
        typer.echo(
            f"    inclusion proof (leaf {step.seq - 1}): " + " ".join(p.hex() for p in step.proof)
        )


# ---------------------------------------------------------------------- packages


@audit_app.command("export")
@_cli_errors
def export_cmd(
    scope: Annotated[
        str, typer.Option(help="customer:<id> | entity:<id> | period:<yyyy[-mm]> | case:<id>")
    ],
    recipient: Annotated[list[Path], typer.Option(help="recipient X25519 public key (PEM)")],
    out: Annotated[Path, typer.Option(help="package file to write")],
    data_dir: DataDir = None,
    entity: Entity = None,
) -> None:
    """Export a signed audit package encrypted to each recipient."""
    parsed = Scope.parse(scope)
    keys = [keyfiles.load_x25519_public(path) for path in recipient]
    result = _run(
        lambda ctx: export_package(ctx, parsed, keys, out, _publisher(ctx)),
        data_dir,
        entity,
        progress=True,
    )
    typer.echo(
        f"exported {result.scope} version {result.package_version}: "
        f"{result.event_count} events, tree size {result.tree_size}, digest "
        f"{result.digest} -> {result.path}"
    )


@audit_app.command("verify")
@_cli_errors
def verify_cmd(
    package: Annotated[Path, typer.Argument(help="the package file")],
    identity: Annotated[Path, typer.Option(help="your X25519 private key (PEM)")],
    signer: Annotated[
        list[Path],
        typer.Option(help="trusted signer public key (PEM) or signer set (`audit signer --set`)"),
    ],
    previous: Annotated[
        Path | None, typer.Option(help="the previous package of this scope, to check the chain")
    ] = None,
    state: Annotated[
        Path | None, typer.Option(help="state file remembering accepted packages (replays)")
    ] = None,
    extract_to: Annotated[
        Path | None, typer.Option("--extract", help="write the verified files here")
    ] = None,
    approver: Annotated[
        list[Path] | None,
        typer.Option(help="approver public key (PEM): every mapping version must be approved"),
    ] = None,
    record_access: Annotated[
        bool,
        typer.Option(help="record the opening in this installation's log (AuditPackageAccessed)"),
    ] = False,
    witness: Annotated[
        list[str] | None,
        typer.Option(help="a witness vkey: the package's checkpoint must carry its cosignature"),
    ] = None,
    data_dir: DataDir = None,
    entity: Entity = None,
) -> None:
    """Verify a package offline; names exactly what failed and exits non-zero. With
    --record-access (on the exporting installation) the opening is recorded in its log."""
    me = keyfiles.load_x25519_private(identity)
    if not record_access:
        _verify(package, me, signer, previous, state, extract_to, approver or [], witness or [])
        return
    action: Literal["verify", "extract"] = "extract" if extract_to is not None else "verify"
    try:
        verified = _verify(
            package, me, signer, previous, state, extract_to, approver or [], witness or []
        )
    except PackageInvalid as exc:
        _record_access(None, me, action, exc.reason, data_dir, entity)
        raise
    _record_access(verified, me, action, "ok", data_dir, entity)


def _record_access(
    verified: VerifiedPackage | None,
    me: x25519.X25519PrivateKey,
    action: Literal["verify", "extract"],
    result: str,
    data_dir: Path | None,
    entity: str | None,
) -> None:
    access = PackageAccess(verified, keyfiles.key_id(me.public_key()), action, result)
    _run(lambda ctx: record_package_access(ctx, access), data_dir, entity)


def _verify(
    package: Path,
    me: x25519.X25519PrivateKey,
    signer: list[Path],
    previous: Path | None,
    state: Path | None,
    extract_to: Path | None,
    approver: list[Path],
    witness: list[str],
) -> VerifiedPackage:
    signers = load_signers(signer)
    memory = VerifierState(state) if state is not None else None
    if memory is not None:
        signers.narrow(memory.windows)  # what earlier packages taught about retired keys
    verified = verify_package(package.read_bytes(), me, signers)
    if previous is not None:
        older = verify_package(previous.read_bytes(), me, signers)
        signers.narrow(older.windows)
        verify_package(package.read_bytes(), me, signers)  # under what the older one taught
        check_succession(verified, older)
    approved = _approved(verified, approver) + _witnessed(verified, witness)
    if memory is not None:
        memory.check(verified)
        memory.record(verified)
    if extract_to is not None:
        extract(verified, extract_to)
    typer.echo(verified.summary() + approved)
    return verified


def _witnessed(verified: VerifiedPackage, vkeys: list[str]) -> str:
    from syncledger.audit.witness_gather import trusted_witnesses
    from syncledger.audit.witness_package import check_witnessed

    cosigs = check_witnessed(verified.files, verified.checkpoint, trusted_witnesses(vkeys))
    names = ", ".join(c.witness.name for c in cosigs)
    return f"; checkpoint cosigned by witness {names}" if cosigs else ""


def _publisher(ctx: AuditContext) -> CheckpointPublisher | None:
    from syncledger.audit.witness_config import configured_publisher
    from syncledger.core.settings_check import load_settings

    return configured_publisher(load_settings({}), ctx.audit_dir)


def _approved(verified: VerifiedPackage, approver: list[Path]) -> str:
    if not approver:
        return ""
    keys = {keyfiles.key_id(k): k for k in map(keyfiles.load_ed25519_public, approver)}
    versions = check_approvers(verified, keys)
    return f"; {len(versions)} mapping versions approved by {', '.join(sorted(keys))}"


# ---------------------------------------------------------------------- approvals, contracts


@audit_app.command("approver-keygen")
@_cli_errors
def approver_keygen_cmd(
    out: Annotated[Path, typer.Option("--out", help="prefix: writes <prefix>.key, .pub")],
) -> None:
    """Create an approver's Ed25519 key pair for signing mapping versions."""
    private, public, kid = generate_approver_key(out)
    typer.echo(f"approver {kid}: private key {private} (keep it secret), public key {public}")


@audit_app.command("approve-mapping")
@_cli_errors
def approve_mapping_cmd(
    ledger: Annotated[str, typer.Option(help="the ledger whose mapping version is approved")],
    key: Annotated[Path, typer.Option(help="the approver's Ed25519 private key (PEM)")],
    version: Annotated[
        str | None, typer.Option(help="the mapping version (default: the one in force)")
    ] = None,
    data_dir: DataDir = None,
    entity: Entity = None,
) -> None:
    """Sign a published mapping version with an approver's key (MappingVersionApproved);
    packages carry the approvals and `audit verify --approver` checks them."""
    event = _run(lambda ctx: approve_mapping(ctx, ledger, key, version), data_dir, entity)
    typer.echo(
        f"approved {event.mapping_version} (sha256 {event.sha256}) by {event.approver_key_id}"
    )


@audit_app.command("contract-results")
@_cli_errors
def contract_results_cmd(
    platform: Annotated[str, typer.Option(help="the ledger platform, e.g. qbo or xero")],
    tree: Annotated[
        Path, typer.Option(help="a syncledger source tree (its tests/unit/ has the suites)")
    ] = Path(),
    data_dir: DataDir = None,
    entity: Entity = None,
) -> None:
    """Run the platform's ledger contract suite and record its results for packages."""
    done = _run(lambda ctx: _contract_run(ctx, platform, tree), data_dir, entity)
    run, path = done
    typer.echo(
        f"{platform} contract suite: {run.passed} passed, {run.failed} failed, {run.errors} "
        f"errors, {run.skipped} skipped (revision {run.git_revision}, syncledger "
        f"{run.syncledger_version}) -> {path}"
    )
    if not run.ok:
        raise typer.Exit(1)


async def _contract_run(
    ctx: AuditContext, platform: str, tree: Path
) -> tuple[contract_results.ContractRun, Path]:
    run = await asyncio.to_thread(contract_results.run_suite, tree, platform, ctx.clock())
    return run, contract_results.record_run(ctx.audit_dir, run)
