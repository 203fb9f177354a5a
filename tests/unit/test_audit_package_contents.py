"""Format 3 packages: error histories, approvals, contract runs, the reproduction guide,
older formats still verifying, and access recorded."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
from typer.testing import CliRunner

from syncledger.audit import cli, contract_results
from syncledger.audit.approvals import approve_mapping, generate_approver_key
from syncledger.audit.container import pack_files, unpack_files
from syncledger.audit.context import AuditContext
from syncledger.audit.encryption import decrypt_package, encrypt_package
from syncledger.audit.errors import AuditError, PackageInvalid
from syncledger.audit.events import AuditPackageAccessed, MappingVersionApproved
from syncledger.audit.index import LogIndex
from syncledger.audit.keyfiles import load_ed25519_public, private_pem
from syncledger.audit.manifest import (
    APPROVALS,
    CONTRACT_RESULTS,
    ERRORS,
    EVENTS,
    MANIFEST,
    MANIFEST_LABEL,
    PROOFS,
    REPRODUCE,
    REQUIRED_FROM_3,
    SIGNATURE,
    Manifest,
    ManifestSignature,
    unpack_proofs,
)
from syncledger.audit.package import export_package
from syncledger.audit.sample import MAPPING, memory_context, write_sample_log
from syncledger.audit.scope import Scope
from syncledger.audit.signing import SigningKeyring
from syncledger.audit.verify import check_approvers, signer_map, verify_package
from syncledger.core.events import (
    EventData,
    LedgerPushAbandoned,
    MismatchResolved,
    RejectionReason,
    SourceRecordRejected,
    make_envelope,
    subject_for,
)
from syncledger.core.ids import canonical_json

START = datetime(2020, 2, 1, tzinfo=UTC)
runner = CliRunner()


@pytest.fixture
def ctx(tmp_path: Path) -> AuditContext:
    context = memory_context(tmp_path / "data")
    asyncio.run(
        write_sample_log(
            context.store, context.keystore, customers=2, invoices_per_customer=1, start=START
        )
    )
    return context


@pytest.fixture
def auditor() -> x25519.X25519PrivateKey:
    return x25519.X25519PrivateKey.generate()


def signers(ctx: AuditContext) -> dict[str, ed25519.Ed25519PublicKey]:
    return signer_map([SigningKeyring.open(ctx.audit_dir / "signing").current_public_key()])


def export(ctx: AuditContext, scope: str, who: x25519.X25519PrivateKey, name: str = "p") -> bytes:
    out = ctx.data_dir / f"{name}.slpkg"
    asyncio.run(export_package(ctx, Scope.parse(scope), [who.public_key()], out))
    return out.read_bytes()


def append(ctx: AuditContext, *payloads: EventData) -> None:
    envelopes = [
        make_envelope(
            p,
            entity="acme",
            subject=subject_for("acme", p.category, "hubspot", "invoice", f"x{i}"),
            actor="test",
        )
        for i, p in enumerate(payloads)
    ]
    asyncio.run(ctx.store.append(envelopes))


def resign(ctx: AuditContext, files: dict[str, bytes], **changes: object) -> dict[str, bytes]:
    """An insider with the real signing key re-signs altered content."""
    manifest = Manifest.model_validate_json(files[MANIFEST])
    digests = {
        n: hashlib.sha256(d).hexdigest() for n, d in files.items() if n not in (MANIFEST, SIGNATURE)
    }
    body = manifest.model_copy(update={"files": digests, **changes}).to_bytes()
    kid, sig = SigningKeyring.open(ctx.audit_dir / "signing").sign(MANIFEST_LABEL + body)
    signed = ManifestSignature(key_id=kid, signature=base64.b64encode(sig).decode())
    return {**files, MANIFEST: body, SIGNATURE: signed.model_dump_json().encode()}


# ---------------------------------------------------------------------- errors.json


def test_errors_json_holds_each_records_error_history_in_order(
    ctx: AuditContext, auditor: x25519.X25519PrivateKey
) -> None:
    ref = "hubspot/invoice/i1"
    append(
        ctx,
        SourceRecordRejected(
            ref="hubspot/invoice/bad",
            kind="invoice",
            content_sha256="0" * 64,
            reasons=(RejectionReason(code="invalid_total", message="total is not a number"),),
        ),
        LedgerPushAbandoned(
            source_ref=ref, ledger="qbo", idempotency_key="k", attempts=5, message="refused"
        ),
        MismatchResolved(key=f"amount:{ref}", ledger="qbo", run_id="run-2"),
    )
    pkg = verify_package(export(ctx, "entity:acme", auditor), auditor, signers(ctx))
    doc = json.loads(pkg.files[ERRORS])
    records = {r["ref"]: r for r in doc["records"]}
    assert doc["counts"] == {
        "LedgerPushAbandoned": 1,
        "LedgerPushFailed": 1,
        "MismatchDetected": 1,
        "MismatchResolved": 1,
        "SourceRecordRejected": 1,
    }
    rejected = records["hubspot/invoice/bad"]["events"]
    assert rejected[0]["data"]["reasons"][0]["code"] == "invalid_total"
    history = [e["type"] for e in records[ref]["events"]]
    assert history == ["MismatchDetected", "LedgerPushAbandoned", "MismatchResolved"]
    assert records[ref]["open_mismatches"] == []
    assert records["hubspot/invoice/i0"]["events"][0]["data"]["code"] == "503"
    seqs = [seq for seq, _ in unpack_proofs(pkg.files[PROOFS])]
    by_seq = dict(zip(seqs, pkg.files[EVENTS].split(b"\n"), strict=True))
    for record in doc["records"]:  # every entry is an event of the package, of its type
        for entry in record["events"]:
            assert json.loads(by_seq[entry["seq"]])["type"] == entry["type"]


def test_a_package_with_an_altered_errors_json_is_refused_even_when_re_signed(
    ctx: AuditContext, auditor: x25519.X25519PrivateKey
) -> None:
    files = unpack_files(decrypt_package(export(ctx, "entity:acme", auditor), auditor))
    doc = json.loads(files[ERRORS])
    doc["records"][0]["events"][0]["seq"] = 999
    forged = resign(ctx, {**files, ERRORS: json.dumps(doc).encode()})
    data = encrypt_package(pack_files(forged), [auditor.public_key()])
    with pytest.raises(PackageInvalid) as caught:
        verify_package(data, auditor, signers(ctx))
    assert caught.value.reason == "errors-reference-unknown-event"


# ---------------------------------------------------------------------- approvals


def approver(tmp_path: Path, name: str = "approver") -> tuple[Path, Path]:
    private, public, _ = generate_approver_key(tmp_path / name)
    return private, public


def test_an_approved_mapping_version_travels_in_the_package_and_verifies(
    ctx: AuditContext, auditor: x25519.X25519PrivateKey, tmp_path: Path
) -> None:
    key, pub = approver(tmp_path)
    event = asyncio.run(approve_mapping(ctx, "qbo", key))
    assert event.mapping_version == MAPPING
    assert (tmp_path / "approver.key").stat().st_mode & 0o777 == 0o600
    pkg = verify_package(
        export(ctx, "customer:hubspot/customer/c0", auditor), auditor, signers(ctx)
    )
    (approval,) = json.loads(pkg.files[APPROVALS])["approvals"]
    assert approval["approver_key_id"] == event.approver_key_id
    assert approval["sha256"] == hashlib.sha256(b"mapping").hexdigest()
    assert b"MappingVersionApproved" in pkg.files[EVENTS]  # the event, with its proof
    trusted = load_ed25519_public(pub)
    assert check_approvers(pkg, {event.approver_key_id: trusted}) == {
        MAPPING: [event.approver_key_id]
    }
    other = ed25519.Ed25519PrivateKey.generate().public_key()
    with pytest.raises(PackageInvalid) as caught:
        check_approvers(pkg, {"ed25519:0000000000000000": other})
    assert caught.value.reason == f"mapping-not-approved:{MAPPING}"


def test_an_unapproved_mapping_is_named_when_approvers_are_required(
    ctx: AuditContext, auditor: x25519.X25519PrivateKey, tmp_path: Path
) -> None:
    _, pub = approver(tmp_path)
    pkg = verify_package(export(ctx, "entity:acme", auditor), auditor, signers(ctx))
    assert json.loads(pkg.files[APPROVALS])["approvals"] == []
    trusted = load_ed25519_public(pub)
    with pytest.raises(PackageInvalid) as caught:
        check_approvers(pkg, {"ed25519:x": trusted})
    assert caught.value.reason == f"mapping-not-approved:{MAPPING}"


def test_a_forged_approval_is_refused_even_in_a_package_the_insider_re_signed(
    ctx: AuditContext, auditor: x25519.X25519PrivateKey, tmp_path: Path
) -> None:
    key, _ = approver(tmp_path)
    asyncio.run(approve_mapping(ctx, "qbo", key))
    files = unpack_files(decrypt_package(export(ctx, "entity:acme", auditor), auditor))
    doc = json.loads(files[APPROVALS])
    forger = ed25519.Ed25519PrivateKey.generate()
    doc["approvals"][0]["signature"] = base64.b64encode(forger.sign(b"approve")).decode()
    forged = resign(ctx, {**files, APPROVALS: json.dumps(doc).encode()})
    data = encrypt_package(pack_files(forged), [auditor.public_key()])
    with pytest.raises(PackageInvalid) as caught:
        verify_package(data, auditor, signers(ctx))
    assert caught.value.reason == f"approval-signature-invalid:{MAPPING}"


def test_approving_names_what_is_wrong(ctx: AuditContext, tmp_path: Path) -> None:
    key, _ = approver(tmp_path)
    with pytest.raises(AuditError, match="no mapping version of xero"):
        asyncio.run(approve_mapping(ctx, "xero", key))
    with pytest.raises(AuditError, match="not a published mapping version"):
        asyncio.run(approve_mapping(ctx, "qbo", key, version="qbo@nope"))


# ---------------------------------------------------------------------- contract results


SUITE = """
import pytest

def test_creates_an_invoice():
    assert True

def test_reads_it_back():
    assert 1 + 1 == 2

def test_refuses_a_bad_tax_code():
    assert "refused" == "accepted"

@pytest.mark.skip(reason="needs the live sandbox")
def test_live():
    pass
"""


def fake_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    (tree / "tests" / "unit").mkdir(parents=True)
    (tree / "tests" / "unit" / "test_qbo_contract.py").write_text(SUITE)
    return tree


def test_a_contract_run_is_recorded_with_its_counts_and_goes_into_packages(
    ctx: AuditContext, auditor: x25519.X25519PrivateKey, tmp_path: Path
) -> None:
    pkg = verify_package(export(ctx, "entity:acme", auditor, "before"), auditor, signers(ctx))
    before = json.loads(pkg.files[CONTRACT_RESULTS])
    assert before["ledgers"] == {"qbo": None} and before["missing"] == ["qbo"]
    assert "no contract run was recorded for qbo" in before["note"]

    run = contract_results.run_suite(fake_tree(tmp_path), "qbo", START)
    assert (run.tests, run.passed, run.failed, run.errors, run.skipped) == (4, 2, 1, 0, 1)
    assert run.failed_tests == ("tests.unit.test_qbo_contract::test_refuses_a_bad_tax_code",)
    assert run.git_revision is None and not run.ok  # not a git tree; a failure
    contract_results.record_run(ctx.audit_dir, run)

    pkg = verify_package(export(ctx, "entity:acme", auditor, "after"), auditor, signers(ctx))
    after = json.loads(pkg.files[CONTRACT_RESULTS])
    assert after["missing"] == []
    recorded = after["ledgers"]["qbo"]
    assert (recorded["passed"], recorded["failed"], recorded["ok"]) == (2, 1, False)
    assert recorded["suite"] == "tests/unit/test_qbo_contract.py"
    guide = pkg.files[REPRODUCE].decode()
    assert "- qbo: 2 passed, 1 failed, 0 errors, 1 skipped of 4" in guide


def test_a_missing_suite_is_named(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match="no contract suite for 'xero'"):
        contract_results.run_suite(tmp_path, "xero", START)


# ---------------------------------------------------------------------- REPRODUCE.md


def test_the_reproduction_guide_names_inputs_versions_mapping_hashes_and_commands(
    ctx: AuditContext, auditor: x25519.X25519PrivateKey
) -> None:
    pkg = verify_package(export(ctx, "entity:acme", auditor), auditor, signers(ctx))
    guide = pkg.files[REPRODUCE].decode()
    assert f"version {pkg.manifest.package_version}" in guide
    assert f"syncledger version: {contract_results.syncledger_version()}" in guide
    assert f"`{MAPPING}` | `{hashlib.sha256(b'mapping').hexdigest()}`" in guide
    assert "`hubspot/invoice/i0` | 1 |" in guide
    assert pkg.manifest.checkpoint.root_hash in guide
    for command in ("syncledger audit verify-log", "syncledger replay", "projections verify"):
        assert command in guide


# ---------------------------------------------------------------------- formats


def test_format_3_carries_every_new_file_and_a_format_2_package_still_verifies(
    ctx: AuditContext, auditor: x25519.X25519PrivateKey
) -> None:
    files = unpack_files(decrypt_package(export(ctx, "entity:acme", auditor), auditor))
    manifest = Manifest.model_validate_json(files[MANIFEST])
    assert manifest.format_version == 3 and set(REQUIRED_FROM_3) <= set(manifest.files)
    old_files = {n: d for n, d in files.items() if n not in REQUIRED_FROM_3}
    body = json.loads(resign(ctx, old_files, format_version=2)[MANIFEST])
    body.pop("recipients")  # a format 2 manifest has no such field at all, as format 2 wrote
    raw = canonical_json(body)
    kid, sig = SigningKeyring.open(ctx.audit_dir / "signing").sign(MANIFEST_LABEL + raw)
    signed = ManifestSignature(key_id=kid, signature=base64.b64encode(sig).decode())
    old = {**old_files, MANIFEST: raw, SIGNATURE: signed.model_dump_json().encode()}
    data = encrypt_package(pack_files(old), [auditor.public_key()])
    pkg = verify_package(data, auditor, signers(ctx))
    assert pkg.manifest.format_version == 2 and b"recipients" not in pkg.manifest_bytes
    missing = resign(ctx, old_files)  # format 3 without its files
    data = encrypt_package(pack_files(missing), [auditor.public_key()])
    with pytest.raises(PackageInvalid) as caught:
        verify_package(data, auditor, signers(ctx))
    assert caught.value.reason.startswith("missing-file:")


# ---------------------------------------------------------------------- CLI and access


@pytest.fixture
def wired(ctx: AuditContext) -> Iterator[AuditContext]:
    @asynccontextmanager
    async def factory() -> AsyncIterator[AuditContext]:
        yield ctx

    cli.set_context_factory(factory)
    yield ctx
    cli._factory = None


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(cli.audit_app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cli_approve_export_verify_with_approvers_and_access_recorded(
    wired: AuditContext, tmp_path: Path
) -> None:
    assert invoke("approver-keygen", "--out", str(tmp_path / "cfo"))[0] == 0
    code, out, err = invoke(
        "approve-mapping", "--ledger", "qbo", "--key", str(tmp_path / "cfo.key")
    )
    assert code == 0, err
    assert out.startswith(f"approved {MAPPING}")
    assert invoke("keygen", "--out", str(tmp_path / "auditor"))[0] == 0
    assert invoke("signer", "--set", str(tmp_path / "signers.json"))[0] == 0
    pkg = str(tmp_path / "p.slpkg")
    code, _, err = invoke(
        "export",
        "--scope",
        "entity:acme",
        "--recipient",
        str(tmp_path / "auditor.pub"),
        "--out",
        pkg,
    )
    assert code == 0, err
    base = [
        pkg,
        "--identity",
        str(tmp_path / "auditor.key"),
        "--signer",
        str(tmp_path / "signers.json"),
    ]
    code, out, err = invoke(
        "verify", *base, "--approver", str(tmp_path / "cfo.pub"), "--record-access"
    )
    assert code == 0, err
    assert out.startswith("OK: package entity:acme") and "1 mapping versions approved" in out
    assert invoke("approver-keygen", "--out", str(tmp_path / "stranger"))[0] == 0
    code, _, err = invoke(
        "verify", *base, "--approver", str(tmp_path / "stranger.pub"), "--record-access"
    )
    assert code == 1 and f"FAILED [mapping-not-approved:{MAPPING}]" in err
    index = asyncio.run(LogIndex.build(wired.store))
    accesses = [e for _, e in index.of_class(AuditPackageAccessed)]
    assert [(a.result, a.accessed_by, a.action) for a in accesses] == [
        ("ok", "tester", "verify"),
        (f"mapping-not-approved:{MAPPING}", "tester", "verify"),
    ]
    assert accesses[0].digest is not None and accesses[0].scope == "entity:acme"
    assert next(e for _, e in index.of_class(MappingVersionApproved)).approved_by == "tester"


def test_cli_contract_results_records_the_run(wired: AuditContext, tmp_path: Path) -> None:
    code, out, _ = invoke(
        "contract-results", "--platform", "qbo", "--tree", str(fake_tree(tmp_path))
    )
    assert code == 1  # one contract test failed: said, and recorded
    assert "qbo contract suite: 2 passed, 1 failed, 0 errors, 1 skipped" in out
    recorded = contract_results.recorded(wired.audit_dir, "qbo")
    assert recorded is not None and recorded["failed"] == 1


def test_verify_without_record_access_writes_nothing(
    wired: AuditContext, auditor: x25519.X25519PrivateKey, tmp_path: Path
) -> None:
    export(wired, "entity:acme", auditor)
    (tmp_path / "me.key").write_bytes(private_pem(auditor))
    (tmp_path / "signers.json").write_bytes(
        SigningKeyring.open(wired.audit_dir / "signing").signer_set().to_bytes(wired.origin)
    )
    before = asyncio.run(wired.store.last_seq())
    code, _, err = invoke(
        "verify",
        str(wired.data_dir / "p.slpkg"),
        "--identity",
        str(tmp_path / "me.key"),
        "--signer",
        str(tmp_path / "signers.json"),
    )
    assert code == 0, err
    assert asyncio.run(wired.store.last_seq()) == before


def test_a_contract_run_records_the_trees_git_revision_and_whether_it_was_changed(
    tmp_path: Path,
) -> None:
    import subprocess

    tree = fake_tree(tmp_path)

    def git(*args: str) -> str:
        command = ["git", "-C", str(tree), "-c", "user.name=t", "-c", "user.email=t@example.com"]
        done = subprocess.run([*command, *args], capture_output=True, text=True, check=True)
        return done.stdout.strip()

    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "suite")
    run = contract_results.run_suite(tree, "qbo", START)
    assert (run.git_revision, run.git_dirty) == (git("rev-parse", "HEAD"), False)
    suite = tree / "tests" / "unit" / "test_qbo_contract.py"
    suite.write_text(SUITE.replace('"refused" == "accepted"', "True"))
    run = contract_results.run_suite(tree, "qbo", START)
    assert (run.git_dirty, run.failed, run.ok) == (True, 0, True)
