"""``syncledger witness …``: run a checkpoint witness (C2SP tlog-witness) apart from the
data directory: its own state directory, its own Ed25519 key.

    syncledger witness init --state-dir /srv/witness --name witness.example/w1
    syncledger witness trust --state-dir /srv/witness '<the log's vkey>'
    syncledger witness serve --state-dir /srv/witness --port 7380

The log's vkey is what ``syncledger audit signer --vkey`` prints; the witness's vkey
(printed by ``init`` and ``vkey``) goes into the log's ``SYNCLEDGER_WITNESSES`` and to
auditors (``audit verify-log --witness``, ``audit verify --witness``).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer

from syncledger.audit.note import NoteError
from syncledger.audit.witness import Witness
from syncledger.audit.witness_server import serve_witness
from syncledger.core.errors import SyncLedgerError
from syncledger.core.exit_codes import exit_code_of

witness_app = typer.Typer(
    help="A checkpoint witness (C2SP tlog-witness), run apart from the data directory.",
    no_args_is_help=True,
)
StateDir = Annotated[
    Path, typer.Option("--state-dir", help="the witness's own directory (not a data dir)")
]
P = ParamSpec("P")
T = TypeVar("T")


def _errors(fn: Callable[P, T]) -> Callable[P, T]:
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return fn(*args, **kwargs)
        except NoteError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        except SyncLedgerError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exit_code_of(exc)) from None
        except OSError as exc:
            typer.echo(f"error: {exc.filename or ''}: {exc.strerror}", err=True)
            raise typer.Exit(1) from None

    return wrapper


@witness_app.command("init")
@_errors
def init_cmd(
    state_dir: StateDir,
    name: Annotated[str, typer.Option(help="the witness's name, e.g. witness.example/w1")],
) -> None:
    """Create the witness's key and state; prints its vkey (give it to logs and auditors)."""
    witness = Witness.create(state_dir, name)
    typer.echo(witness.verifier.vkey())


@witness_app.command("trust")
@_errors
def trust_cmd(
    state_dir: StateDir,
    vkey: Annotated[str, typer.Argument(help="the log's vkey (`audit signer --vkey`)")],
) -> None:
    """Follow a log: cosign its checkpoints signed by this key (origin = the vkey's name)."""
    verifier = Witness.open(state_dir).trust(vkey)
    typer.echo(f"following {verifier.name} (key {verifier.key_id.hex()})")


@witness_app.command("vkey")
@_errors
def vkey_cmd(state_dir: StateDir) -> None:
    """Print the witness's cosignature vkey."""
    typer.echo(Witness.open(state_dir).verifier.vkey())


@witness_app.command("latest")
@_errors
def latest_cmd(
    state_dir: StateDir, origin: Annotated[str, typer.Option(help="the log's origin")]
) -> None:
    """Print the latest checkpoint cosigned for a log (with its signatures)."""
    note = Witness.open(state_dir).latest(origin)
    if note is None:
        typer.echo(f"error: no checkpoint of {origin} was cosigned here", err=True)
        raise typer.Exit(1)
    typer.echo(note.render().decode(), nl=False)


@witness_app.command("serve")
@_errors
def serve_cmd(
    state_dir: StateDir,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (0: any free port)")] = 7380,
) -> None:
    """Serve POST /add-checkpoint and GET /<origin hash>/checkpoint until stopped."""
    witness = Witness.open(state_dir)

    def ready(bound: int) -> None:
        typer.echo(f"witness {witness.name} listening on http://{host}:{bound}", err=False)

    asyncio.run(serve_witness(witness, host, port, ready))
