"""The witness as a real process (``syncledger witness serve``) on a real port: a log's
checkpoints cosigned over HTTP, a fork shown to two auditors refused, the state kept across
a restart, and a lost signing key recovered through a witnessed rotation. Auditors read
the witnessed head from the witness itself (GET <origin hash>/checkpoint)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncledger.audit.checkpoints import checkpoint_now, open_keyring, rotate_signing_key
from syncledger.audit.context import AuditContext
from syncledger.audit.errors import SigningKeyError
from syncledger.audit.note import NoteVerifier
from syncledger.audit.note_checkpoint import log_verifier
from syncledger.audit.sample import memory_context, write_sample_log
from syncledger.audit.signing import SigningKeyring
from syncledger.audit.verifylog import LogReport, verify_log
from syncledger.audit.witness_client import WitnessEndpoint
from syncledger.audit.witness_gather import gather_witnessed
from syncledger.audit.witness_publish import CheckpointPublisher, Published, WitnessedStore

pytestmark = pytest.mark.integration
START = datetime(2022, 5, 1, tzinfo=UTC)


def cli(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "syncledger.core.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


class WitnessProcess:
    """``syncledger witness serve --port 0``; the port is read from its first line."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self.popen: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> WitnessProcess:
        args = ["witness", "serve", "--state-dir", str(self.state), "--port", "0"]
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "syncledger.core.cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        assert self.popen.stdout is not None
        line = self.popen.stdout.readline()  # printed once it accepts connections
        assert "listening on http://" in line, line
        self.url = line.rsplit(" ", 1)[1].strip()
        return self

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            self.popen.wait(20)


@pytest.fixture
def witness_state(tmp_path: Path) -> Path:
    state = tmp_path / "witness-state"
    cli("witness", "init", "--state-dir", str(state), "--name", "witness.example/w1")
    return state


@pytest.fixture
def witness(witness_state: Path) -> Iterator[WitnessProcess]:
    proc = WitnessProcess(witness_state).start()
    try:
        yield proc
    finally:
        proc.stop()


def witness_key(state: Path) -> NoteVerifier:
    return NoteVerifier.from_vkey(cli("witness", "vkey", "--state-dir", str(state)).strip())


def new_log(path: Path, customers: int = 3) -> AuditContext:
    ctx = memory_context(path)
    asyncio.run(write_sample_log(ctx.store, ctx.keystore, customers=customers, start=START))
    return ctx


def log_vkey(ctx: AuditContext) -> str:
    ring = asyncio.run(open_keyring(ctx))
    return log_verifier(ctx.origin, ring.current_public_key()).vkey()


def publish(ctx: AuditContext, witness: WitnessProcess) -> Published:
    endpoint = WitnessEndpoint(witness.url, witness_key(witness.state))
    publisher = CheckpointPublisher([endpoint], WitnessedStore(ctx.audit_dir))
    logged = asyncio.run(checkpoint_now(ctx, publisher=publisher))
    assert logged.published is not None
    return logged.published


def auditor(ctx: AuditContext, witness: WitnessProcess) -> LogReport:
    """An auditor's verify-log: trusts the witness key, reads its head over HTTP."""
    trusted = [witness_key(witness.state)]

    async def run() -> LogReport:
        notes = await gather_witnessed(ctx.origin, trusted, [witness.url], [])
        return await verify_log(ctx, trusted, notes)

    return asyncio.run(run())


def test_a_fork_shown_to_two_auditors_is_refused_by_a_witness_process(
    tmp_path: Path, witness: WitnessProcess, witness_state: Path
) -> None:
    honest = new_log(tmp_path / "honest")
    cli("witness", "trust", "--state-dir", str(witness_state), log_vkey(honest))
    assert publish(honest, witness).cosigned_by == ["witness.example/w1"]
    asyncio.run(write_sample_log(honest.store, honest.keystore, customers=1, start=START))
    assert publish(honest, witness).cosigned_by == ["witness.example/w1"]

    fork = memory_context(tmp_path / "fork")  # the insider's copy of the keys, another history
    shutil.copytree(honest.audit_dir / "signing", fork.audit_dir / "signing")
    asyncio.run(write_sample_log(fork.store, fork.keystore, customers=7, start=START))
    refused = publish(fork, witness)
    assert refused.cosigned_by == []
    assert any("(422)" in r for r in refused.refusals), refused.refusals

    assert auditor(honest, witness).ok
    second = auditor(fork, witness)
    assert second.divergence is not None
    assert "rewritten and re-signed" in second.divergence

    witness.stop()  # the witness's state outlives its process
    again = WitnessProcess(witness_state).start()
    try:
        assert publish(fork, again).cosigned_by == []
        assert publish(honest, again).cosigned_by == ["witness.example/w1"]
    finally:
        again.stop()


def test_a_lost_signing_key_is_recovered_through_the_witness_process(
    tmp_path: Path, witness: WitnessProcess, witness_state: Path
) -> None:
    ctx = new_log(tmp_path / "data")
    cli("witness", "trust", "--state-dir", str(witness_state), log_vkey(ctx))
    assert publish(ctx, witness).cosigned_by
    ring = SigningKeyring.open(ctx.audit_dir / "signing")
    ring._private_path(ring.current_key_id).unlink()  # lost

    rotated = asyncio.run(rotate_signing_key(ctx))
    assert rotated.endorsement is None
    asyncio.run(write_sample_log(ctx.store, ctx.keystore, customers=1, start=START))
    with pytest.raises(SigningKeyError, match="needs a witness cosignature"):
        publish(ctx, witness)  # the witness does not know the new key yet: 403
    cli("witness", "trust", "--state-dir", str(witness_state), log_vkey(ctx))
    assert publish(ctx, witness).cosigned_by == ["witness.example/w1"]
    report = auditor(ctx, witness)
    assert report.ok, report.divergence


def test_the_audit_commands_use_the_configured_witness(
    tmp_path: Path, witness: WitnessProcess, witness_state: Path
) -> None:
    from contextlib import asynccontextmanager

    from typer.testing import CliRunner

    from syncledger.audit import cli as audit_cli

    ctx = new_log(tmp_path / "data")

    @asynccontextmanager
    async def factory() -> AsyncIterator[AuditContext]:
        yield ctx

    audit_cli.set_context_factory(factory)
    runner = CliRunner()
    wkey = witness_key(witness_state).vkey()
    env = {"SYNCLEDGER_WITNESSES": f"{witness.url} {wkey}"}

    def audit(*args: str) -> str:
        result = runner.invoke(audit_cli.audit_app, list(args), env=env)
        assert result.exit_code == 0, result.stdout + result.stderr
        return result.stdout

    try:
        refused = runner.invoke(audit_cli.audit_app, ["checkpoint"], env=env)
        assert refused.exit_code == 1  # the witness does not follow this log yet: 404
        assert "refused the checkpoint (404)" in refused.stderr
        cli("witness", "trust", "--state-dir", str(witness_state), audit("signer", "--vkey"))
        assert "cosigned by witness witness.example/w1" in audit("checkpoint")
        audit("keygen", "--out", str(tmp_path / "auditor"))
        audit("signer", "--set", str(tmp_path / "signers.json"))
        pkg = str(tmp_path / "p.slpkg")
        recipient = str(tmp_path / "auditor.pub")
        audit("export", "--scope", "entity:acme", "--recipient", recipient, "--out", pkg)
        verified = audit(
            "verify", pkg, "--identity", str(tmp_path / "auditor.key"),
            "--signer", str(tmp_path / "signers.json"), "--witness", wkey,
        )  # fmt: skip
        assert "checkpoint cosigned by witness witness.example/w1" in verified
        checked = audit("verify-log", "--witness", wkey, "--witness-url", witness.url)
        assert "OK:" in checked and "3 checkpoints verified" in checked
        audit("trace", "hubspot/invoice/i0", "--tlog-proof", str(tmp_path / "proofs"))
        assert sorted((tmp_path / "proofs").glob("*.proof"))
    finally:
        audit_cli._factory = None
