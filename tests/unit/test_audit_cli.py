"""The `syncledger audit` commands end to end on the in-memory store, as a user runs them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from syncledger.audit import cli
from syncledger.audit.context import AuditContext
from syncledger.audit.sample import memory_context, write_sample_log

runner = CliRunner()


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[AuditContext]:
    context = memory_context(tmp_path / "data", actor="alice")
    asyncio.run(
        write_sample_log(context.store, context.keystore, start=datetime(2020, 1, 5, tzinfo=UTC))
    )
    context.audit_dir.mkdir(parents=True, exist_ok=True)
    (context.audit_dir / "roles.toml").write_text('compliance = ["alice"]\n')

    @asynccontextmanager
    async def factory() -> AsyncIterator[AuditContext]:
        yield context

    cli.set_context_factory(factory)
    yield context
    cli._factory = None


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(cli.audit_app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_checkpoint_and_verify_log(ctx: AuditContext) -> None:
    code, out, _ = invoke("checkpoint")
    assert code == 0 and out.startswith("checkpoint: tree size")
    code, out, _ = invoke("verify-log")
    assert code == 0 and "1 checkpoints verified" in out


def test_auditor_round_trip_keygen_signer_export_verify(ctx: AuditContext, tmp_path: Path) -> None:
    assert invoke("keygen", "--out", str(tmp_path / "auditor"))[0] == 0
    assert invoke("signer", "--public", str(tmp_path / "signer.pub"))[0] == 0
    assert (tmp_path / "auditor.key").stat().st_mode & 0o777 == 0o600
    assert b"BEGIN PRIVATE KEY" in (tmp_path / "auditor.key").read_bytes()
    assert b"BEGIN PUBLIC KEY" in (tmp_path / "signer.pub").read_bytes()
    code, out, err = invoke(
        "export",
        "--scope",
        "customer:hubspot/customer/c1",
        "--recipient",
        str(tmp_path / "auditor.pub"),
        "--out",
        str(tmp_path / "p.slpkg"),
    )
    assert code == 0, err
    assert "exported customer:hubspot/customer/c1 version 1" in out
    code, out, err = invoke(
        "verify",
        str(tmp_path / "p.slpkg"),
        "--identity",
        str(tmp_path / "auditor.key"),
        "--signer",
        str(tmp_path / "signer.pub"),
        "--extract",
        str(tmp_path / "x"),
        "--state",
        str(tmp_path / "seen.json"),
    )
    assert code == 0, err
    assert out.startswith("OK: package customer:hubspot/customer/c1 version 1")
    proofs = json.loads((tmp_path / "x" / "proofs.json").read_text())
    assert proofs and {"leaf_index", "tree_size", "inclusion_path"} <= set(proofs[0])


def test_verify_failure_is_one_named_line_and_non_zero(ctx: AuditContext, tmp_path: Path) -> None:
    invoke("keygen", "--out", str(tmp_path / "a"))
    invoke("keygen", "--out", str(tmp_path / "b"))
    invoke("signer", "--public", str(tmp_path / "s.pub"))
    invoke(
        "export",
        "--scope",
        "entity:acme",
        "--recipient",
        str(tmp_path / "a.pub"),
        "--out",
        str(tmp_path / "p"),
    )
    code, out, err = invoke(
        "verify",
        str(tmp_path / "p"),
        "--identity",
        str(tmp_path / "b.key"),
        "--signer",
        str(tmp_path / "s.pub"),
    )
    assert code == 1 and out == ""
    assert err.startswith("FAILED [not-for-this-identity]:") and err.count("\n") == 1
    data = bytearray((tmp_path / "p").read_bytes())
    data[-5] ^= 0xFF
    (tmp_path / "p").write_bytes(bytes(data))
    code, _, err = invoke(
        "verify",
        str(tmp_path / "p"),
        "--identity",
        str(tmp_path / "a.key"),
        "--signer",
        str(tmp_path / "s.pub"),
    )
    assert code == 1 and err.startswith("FAILED [ciphertext-tampered]")


def test_holds_and_retention_from_the_command_line(ctx: AuditContext) -> None:
    code, out, _ = invoke(
        "hold", "place", "--scope", "customer:hubspot/customer/c0", "--reason", "litigation L-1"
    )
    assert code == 0 and "placed hold-" in out and "by alice" in out
    hold_id = out.split()[1]
    code, out, _ = invoke("hold", "list")
    assert hold_id in out and "litigation L-1" in out
    code, out, _ = invoke("retention", "run", "--dry-run", "--as-of", "2031-01-01")
    assert code == 0 and "2 would shred, 1 kept by holds" in out
    assert f"kept by {hold_id}: acme hubspot/customer/c0" in out
    code, out, _ = invoke("retention", "run", "--apply", "--as-of", "2031-01-01", "--json")
    report = json.loads(out)
    assert len(report["shredded"]) == 2 and report["held"][0]["holds"] == [hold_id]
    assert invoke("hold", "release", hold_id, "--reason", "settled")[0] == 0
    assert "no active legal holds" in invoke("hold", "list")[1]


def test_trace_hides_personal_fields_unless_asked(ctx: AuditContext) -> None:
    code, out, _ = invoke("trace", "hubspot/invoice/i0")
    assert code == 0
    assert "ledger ids: qbo/invoice/1000" in out and "inclusion proof (leaf" in out
    assert "ap@example.com" not in out and "personal data: present" in out
    assert "ap@example.com" in invoke("trace", "hubspot/invoice/i0", "--personal")[1]
    doc = json.loads(invoke("trace", "hubspot/invoice/i0", "--json")[1])
    assert doc["steps"][0]["inclusion_path"]


def test_user_errors_are_one_line_without_traceback(ctx: AuditContext, tmp_path: Path) -> None:
    for args, message in (
        (("retention", "run"), "error: give exactly one of --dry-run or --apply"),
        (("trace", "nope/x/1"), "error: no record 'nope/x/1' in the log"),
        (("hold", "place", "--scope", "planet:mars", "--reason", "x"), "error: scope"),
        (
            (
                "export",
                "--scope",
                "galaxy:1",
                "--recipient",
                str(tmp_path / "none.pub"),
                "--out",
                str(tmp_path / "o"),
            ),
            "error: scope",
        ),
        (("keys", "rotate"), "error: KEK rotation needs the SQLite keystore"),
        (
            (
                "verify",
                str(tmp_path / "missing"),
                "--identity",
                str(tmp_path / "k"),
                "--signer",
                str(tmp_path / "s"),
            ),
            "error: cannot read key file",
        ),
    ):
        code, _, err = invoke(*args)
        # a wrong argument (a scope that is no scope) is a usage error, the rest need attention
        assert code == (2 if message == "error: scope" else 1), args
        assert err.startswith(message), (args, err)
        assert "Traceback" not in err and err.count("\n") == 1


def test_signing_key_rotation_keeps_old_keys_listed(ctx: AuditContext, tmp_path: Path) -> None:
    invoke("checkpoint")
    code, out, _ = invoke("keys", "rotate-signing")
    assert code == 0 and "replaces ed25519:" in out
    listing = invoke("keys", "list")[1].splitlines()
    assert len(listing) == 2 and "retired" in listing[0] and "current" in listing[1]
    code, out, _ = invoke("signer", "--public", str(tmp_path / "s.pub"), "--all")
    assert code == 0 and len(list(tmp_path.glob("s.pub.ed25519-*.pem"))) == 1
    assert invoke("verify-log")[0] == 0


def test_commands_need_a_context_factory() -> None:
    cli._factory = None
    code, _, err = invoke("checkpoint")
    assert code == 1 and "not wired to an event store" in err


def test_hold_review_dates_empty_scopes_and_extension_from_the_command_line(
    ctx: AuditContext,
) -> None:
    code, _, err = invoke("hold", "place", "--scope", "customer:zz9", "--reason", "x")
    assert code == 1 and "--allow-empty" in err and len(err.splitlines()) == 1
    code, out, _ = invoke(
        "hold", "place", "--scope", "customer:C1", "--reason", "claim", "--review-on", "2030-01-31"
    )
    assert code == 0 and "on customer:hubspot/customer/c1" in out
    assert "review on 2030-01-31" in out
    hold_id = out.split()[1]
    code, out, _ = invoke(
        "hold", "extend", hold_id, "--review-on", "2031-01-31", "--reason", "claim open"
    )
    assert code == 0 and "review on 2031-01-31" in out
    assert "review on 2031-01-31" in invoke("hold", "list")[1]
    place = ("hold", "place", "--scope", "customer:c2", "--reason", "y", "--for")
    code, out, _ = invoke(*place, "90d")
    assert code == 0 and "review on" in out
    code, _, err = invoke(*place, "9x")
    assert code == 2 and "not a duration" in err
