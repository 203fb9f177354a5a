"""The standalone verifier (audit/standalone_verify.py): one file, the standard library and
``cryptography`` only, run as an auditor runs it (a clean interpreter, ``python -I``, on a
copy of the file), answering what ``audit verify`` answers on fresh and tampered packages."""

from __future__ import annotations

import ast
import asyncio
import base64
import hashlib
import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

from syncledger.audit import standalone_verify
from syncledger.audit.container import pack_files, unpack_files
from syncledger.audit.context import AuditContext
from syncledger.audit.encryption import decrypt_package, encrypt_package
from syncledger.audit.errors import PackageInvalid
from syncledger.audit.keyfiles import private_pem, public_pem
from syncledger.audit.keywindow import load_signers
from syncledger.audit.manifest import (
    EVENTS,
    MANIFEST,
    MANIFEST_LABEL,
    REQUIRED_FROM_3,
    SIGNATURE,
    Manifest,
    ManifestSignature,
)
from syncledger.audit.package import export_package
from syncledger.audit.sample import memory_context, write_sample_log
from syncledger.audit.scope import Scope
from syncledger.audit.signing import SigningKeyring
from syncledger.audit.verify import verify_package
from syncledger.core.ids import canonical_json

START = datetime(2020, 2, 1, tzinfo=UTC)
SOURCE = Path(standalone_verify.__file__)


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


@pytest.fixture
def kit(
    ctx: AuditContext, auditor: x25519.X25519PrivateKey, tmp_path: Path
) -> tuple[Path, Path, Path]:
    """What an auditor holds: the verifier (a copy, away from syncledger), their key, the
    signer set; the package is exported afresh."""
    folder = tmp_path / "auditor"
    folder.mkdir()
    script = folder / "standalone_verify.py"
    shutil.copyfile(SOURCE, script)
    (folder / "me.key").write_bytes(private_pem(auditor))
    out = folder / "p.slpkg"
    asyncio.run(export_package(ctx, Scope.parse("entity:acme"), [auditor.public_key()], out))
    (folder / "signers.json").write_bytes(
        SigningKeyring.open(ctx.audit_dir / "signing").signer_set().to_bytes(ctx.origin)
    )
    return script, folder / "me.key", folder / "signers.json"


def standalone(script: Path, package: Path, identity: Path, *signers: Path) -> tuple[int, str]:
    command = [sys.executable, "-I", str(script), str(package), "--identity", str(identity)]
    for signer in signers:
        command += ["--signer", str(signer)]
    done = subprocess.run(
        command, cwd=script.parent, capture_output=True, text=True, env={}, check=False
    )
    return done.returncode, (done.stdout + done.stderr).strip()


def syncledger_answer(data: bytes, identity: Path, signers: Path) -> str:
    from syncledger.audit.keyfiles import load_x25519_private

    try:
        pkg = verify_package(data, load_x25519_private(identity), load_signers([signers]))
    except PackageInvalid as exc:
        return f"FAILED [{exc.reason}]"
    return pkg.summary()


# ---------------------------------------------------------------------- the file itself


def test_it_imports_only_the_standard_library_and_cryptography() -> None:
    tree = ast.parse(SOURCE.read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports"
            imported.add((node.module or "").split(".")[0])
    assert "cryptography" in imported
    outside = {m for m in imported - {"cryptography"} if m not in sys.stdlib_module_names}
    assert outside == set(), f"imports outside the standard library: {outside}"


# ---------------------------------------------------------------------- same answers


def test_a_fresh_package_verifies_with_the_same_answer_as_audit_verify(
    kit: tuple[Path, Path, Path],
) -> None:
    script, identity, signers = kit
    package = script.parent / "p.slpkg"
    code, said = standalone(script, package, identity, signers)
    assert code == 0, said
    assert said == syncledger_answer(package.read_bytes(), identity, signers)
    assert said.startswith("OK: package entity:acme version 1")


def _flip(data: bytes, at: int) -> bytes:
    flipped = bytearray(data)
    flipped[at] ^= 0x01
    return bytes(flipped)


def _resigned(ctx: AuditContext, files: dict[str, bytes]) -> dict[str, bytes]:
    manifest = Manifest.model_validate_json(files[MANIFEST])
    digests = {
        n: hashlib.sha256(d).hexdigest() for n, d in files.items() if n not in (MANIFEST, SIGNATURE)
    }
    body = manifest.model_copy(update={"files": digests}).to_bytes()
    kid, sig = SigningKeyring.open(ctx.audit_dir / "signing").sign(MANIFEST_LABEL + body)
    signed = ManifestSignature(key_id=kid, signature=base64.b64encode(sig).decode())
    return {**files, MANIFEST: body, SIGNATURE: signed.model_dump_json().encode()}


def tampered(
    ctx: AuditContext, auditor: x25519.X25519PrivateKey, data: bytes
) -> dict[str, tuple[bytes, str]]:
    """Tampered copies, each with the reason both verifiers must give."""
    inner = decrypt_package(data, auditor)
    files = unpack_files(inner)
    carol = x25519.X25519PrivateKey.generate()
    lines = files[EVENTS].split(b"\n")
    dropped = _resigned(ctx, {**files, EVENTS: b"\n".join(lines[:-1])})
    swapped = _resigned(ctx, {**files, EVENTS: b"\n".join([lines[1], lines[0], *lines[2:]])})
    altered = {**files, "holds.json": b"[]\n"}
    return {
        "flipped ciphertext": (_flip(data, len(data) - 20), "ciphertext-tampered"),
        "truncated": (data[:-40], "ciphertext-tampered"),
        "not a package": (b"PK\x03\x04" + data[4:], "not-a-package"),
        "re-wrapped for a third key": (
            encrypt_package(inner, [auditor.public_key(), carol.public_key()]),
            "recipients-not-signed",
        ),
        "a file altered": (
            encrypt_package(pack_files(altered), [auditor.public_key()]),
            "file-digest-mismatch:holds.json",
        ),
        "an event dropped, re-signed": (
            encrypt_package(pack_files(dropped), [auditor.public_key()]),
            "event-count-mismatch",
        ),
        "events reordered, re-signed": (
            encrypt_package(pack_files(swapped), [auditor.public_key()]),
            "inclusion-proof-failed:",
        ),
    }


def test_tampered_copies_are_refused_with_the_reason_audit_verify_gives(
    ctx: AuditContext, auditor: x25519.X25519PrivateKey, kit: tuple[Path, Path, Path]
) -> None:
    script, identity, signers = kit
    data = (script.parent / "p.slpkg").read_bytes()
    for name, (copy, reason) in tampered(ctx, auditor, data).items():
        path = script.parent / "copy.slpkg"
        path.write_bytes(copy)
        code, said = standalone(script, path, identity, signers)
        assert code == 1, (name, said)
        assert said.startswith(f"FAILED [{reason}"), (name, said)
        ours = syncledger_answer(copy, identity, signers)
        assert said.split("]")[0] + "]" == ours, (name, said, ours)


def test_an_untrusted_signer_and_another_identity_are_refused(
    kit: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    script, identity, signers = kit
    package = script.parent / "p.slpkg"
    stranger = tmp_path / "stranger.pub"
    stranger.write_bytes(public_pem(ed25519.Ed25519PrivateKey.generate().public_key()))
    code, said = standalone(script, package, identity, stranger)
    assert (code, said.split("]")[0]) == (1, "FAILED [untrusted-signer")
    other = tmp_path / "other.key"
    other.write_bytes(private_pem(x25519.X25519PrivateKey.generate()))
    code, said = standalone(script, package, other, signers)
    assert (code, said.split("]")[0]) == (1, "FAILED [not-for-this-identity")


def test_a_retired_key_signing_after_its_window_is_refused_by_both(
    ctx: AuditContext, auditor: x25519.X25519PrivateKey, kit: tuple[Path, Path, Path]
) -> None:
    """The signer set bounds each key: a package its key signed for a tree size after
    the key's retirement is refused (key-outside-window)."""
    script, identity, _ = kit
    ring = SigningKeyring.open(ctx.audit_dir / "signing")
    old_id = ring.current_key_id
    ring.rotate(at_size=3)  # the first key is retired at tree size 3
    signer_set = script.parent / "signers-now.json"
    signer_set.write_bytes(
        SigningKeyring.open(ctx.audit_dir / "signing").signer_set().to_bytes(ctx.origin)
    )
    package = script.parent / "p.slpkg"  # signed by the old key for a larger tree
    code, said = standalone(script, package, identity, signer_set)
    assert code == 1 and said.startswith("FAILED [key-outside-window]"), said
    assert said.split("]")[0] + "]" == syncledger_answer(package.read_bytes(), identity, signer_set)
    assert old_id in said


def test_a_bad_command_line_is_exit_2(kit: tuple[Path, Path, Path], tmp_path: Path) -> None:
    script, _, signers = kit
    code, said = standalone(script, script.parent / "p.slpkg", tmp_path / "missing.key", signers)
    assert code == 2 and said.startswith("error:")


def test_a_format_2_package_verifies_with_both(
    ctx: AuditContext, auditor: x25519.X25519PrivateKey, kit: tuple[Path, Path, Path]
) -> None:
    """A package as format 2 wrote it (no recipients, none of format 3's files)."""
    script, identity, signers = kit
    files = unpack_files(decrypt_package((script.parent / "p.slpkg").read_bytes(), auditor))
    old = {n: d for n, d in files.items() if n not in REQUIRED_FROM_3}
    body = json.loads(_resigned(ctx, old)[MANIFEST])
    body.pop("recipients")
    body["format_version"] = 2
    raw = canonical_json(body)
    kid, sig = SigningKeyring.open(ctx.audit_dir / "signing").sign(MANIFEST_LABEL + raw)
    signed = ManifestSignature(key_id=kid, signature=base64.b64encode(sig).decode())
    old = {**old, MANIFEST: raw, SIGNATURE: signed.model_dump_json().encode()}
    path = script.parent / "v2.slpkg"
    path.write_bytes(encrypt_package(pack_files(old), [auditor.public_key()]))
    code, said = standalone(script, path, identity, signers)
    assert code == 0, said
    assert said == syncledger_answer(path.read_bytes(), identity, signers)


def test_a_witness_cosignature_is_checked_like_audit_verify_witness(
    ctx: AuditContext, auditor: x25519.X25519PrivateKey, tmp_path: Path
) -> None:
    """With --witness, the checkpoint must carry that witness's cosignature: a witnessed
    package passes, the same package checked against another witness, or with its
    checkpoint.note missing, fails checkpoint-not-witnessed (as audit verify --witness)."""
    import httpx

    from syncledger.audit.checkpoints import open_keyring
    from syncledger.audit.note_checkpoint import log_verifier
    from syncledger.audit.witness import Witness
    from syncledger.audit.witness_client import WitnessEndpoint
    from syncledger.audit.witness_package import CHECKPOINT_NOTE
    from syncledger.audit.witness_publish import CheckpointPublisher, WitnessedStore
    from syncledger.audit.witness_server import witness_app

    witness = Witness.create(tmp_path / "w-state", "witness.example/w1")
    stranger = Witness.create(tmp_path / "s-state", "witness.example/w2")
    ring = asyncio.run(open_keyring(ctx))
    witness.trust(log_verifier(ctx.origin, ring.current_public_key()).vkey())
    publisher = CheckpointPublisher(
        [WitnessEndpoint("http://witness", witness.verifier)],
        WitnessedStore(ctx.audit_dir),
        transport=httpx.ASGITransport(app=witness_app(witness)),
    )
    folder = tmp_path / "auditor"
    folder.mkdir()
    script = folder / "standalone_verify.py"
    shutil.copyfile(SOURCE, script)
    (folder / "me.key").write_bytes(private_pem(auditor))
    package = folder / "w.slpkg"
    scope = Scope.parse("entity:acme")
    asyncio.run(export_package(ctx, scope, [auditor.public_key()], package, publisher))
    signers = folder / "signers.json"
    signers.write_bytes(
        SigningKeyring.open(ctx.audit_dir / "signing").signer_set().to_bytes(ctx.origin)
    )

    def run(pkg: Path, vkey: str) -> tuple[int, str]:
        command = [sys.executable, "-I", str(script), str(pkg), "--identity",
                   str(folder / "me.key"), "--signer", str(signers), "--witness", vkey]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, env={}, check=False)
        return done.returncode, (done.stdout + done.stderr).strip()

    code, said = run(package, witness.verifier.vkey())
    assert code == 0 and said.startswith("OK: package entity:acme"), said
    code, said = run(package, stranger.verifier.vkey())
    assert code == 1 and said.startswith("FAILED [checkpoint-not-witnessed]"), said
    files = unpack_files(decrypt_package(package.read_bytes(), auditor))
    assert CHECKPOINT_NOTE in files
    code, said = run(package, "not+a+vkey")
    assert code == 2, said
