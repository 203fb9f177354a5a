"""Audit packages: export, offline verification, and every way a package can be wrong."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

from syncledger.audit.container import pack_files, unpack_files
from syncledger.audit.context import AuditContext
from syncledger.audit.encryption import decrypt_package, encrypt_package, recipient_ids
from syncledger.audit.errors import PackageInvalid
from syncledger.audit.events import AuditPackageExported
from syncledger.audit.holds import place_hold
from syncledger.audit.index import LogIndex
from syncledger.audit.manifest import EVENTS, MANIFEST, PROOFS, SIGNATURE, Manifest, package_digest
from syncledger.audit.package import export_package
from syncledger.audit.retention import RetentionPolicy, run_retention
from syncledger.audit.sample import memory_context, write_sample_log
from syncledger.audit.scope import Scope
from syncledger.audit.signing import SigningKeyring
from syncledger.audit.verify import (
    VerifierState,
    check_succession,
    signer_map,
    verify_package,
)

START = datetime(2020, 2, 1, tzinfo=UTC)
C0 = "hubspot/customer/c0"


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


def export(
    ctx: AuditContext, scope: str, *recipients: x25519.X25519PrivateKey, name: str = "p"
) -> bytes:
    out = ctx.data_dir / f"{name}.slpkg"
    asyncio.run(export_package(ctx, Scope.parse(scope), [r.public_key() for r in recipients], out))
    return out.read_bytes()


def reason_of(data: bytes, ctx: AuditContext, who: x25519.X25519PrivateKey) -> str:
    with pytest.raises(PackageInvalid) as caught:
        verify_package(data, who, signers(ctx))
    return caught.value.reason


# ---------------------------------------------------------------------- round trip


def test_a_customer_package_verifies_offline_and_holds_what_was_asked(
    ctx: AuditContext, auditor: x25519.X25519PrivateKey
) -> None:
    data = export(ctx, f"customer:{C0}", auditor)
    pkg = verify_package(data, auditor, signers(ctx))
    m = pkg.manifest
    assert (m.scope, m.package_version, m.previous_package_digest) == (f"customer:{C0}", 1, None)
    events = [json.loads(line) for line in pkg.files[EVENTS].split(b"\n")]
    types = [e["type"] for e in events]
    assert types.count("SourceRecordObserved") == 2  # the customer and its invoice
    assert "MappingVersionPublished" in types and "LedgerPushSucceeded" in types
    assert all(e["entity"] == "acme" for e in events)
    assert "hubspot/customer/c1" not in pkg.files[EVENTS].decode()
    traces = json.loads(pkg.files["traces.json"])
    invoice = next(t for t in traces if t["kind"] == "invoice")
    assert invoice["ledger_refs"] == ["qbo/invoice/1000"]
    assert invoice["validation"] == "valid"
    first = invoice["steps"][1]
    assert first["personal_data"] == {
        "status": "present",
        "fields": {"billing_email": "ap@example.com"},
    }


def test_exporting_is_recorded_in_the_log_with_who_scope_and_digest(
    ctx: AuditContext, auditor: x25519.X25519PrivateKey
) -> None:
    data = export(ctx, "entity:acme", auditor)
    pkg = verify_package(data, auditor, signers(ctx))
    index = asyncio.run(LogIndex.build(ctx.store))
    (recorded,) = [
        AuditPackageExported.model_validate(ev.data) for ev in index.of_type("AuditPackageExported")
    ]
    assert recorded.digest == pkg.digest
    assert recorded.scope == "entity:acme"
    assert recorded.exported_by == "tester"
    assert recorded.event_count == pkg.manifest.stream.event_count


def test_every_recipient_can_open_and_no_one_else(ctx: AuditContext) -> None:
    alice, bob, eve = (x25519.X25519PrivateKey.generate() for _ in range(3))
    data = export(ctx, "period:2020", alice, bob)
    assert len(recipient_ids(data)) == 2
    for who in (alice, bob):
        assert verify_package(data, who, signers(ctx)).manifest.scope == "period:2020"
    assert reason_of(data, ctx, eve) == "not-for-this-identity"


def test_an_untrusted_signer_is_named(ctx: AuditContext, auditor: x25519.X25519PrivateKey) -> None:
    data = export(ctx, f"customer:{C0}", auditor)
    stranger = signer_map([ed25519.Ed25519PrivateKey.generate().public_key()])
    with pytest.raises(PackageInvalid) as caught:
        verify_package(data, auditor, stranger)
    assert caught.value.reason == "untrusted-signer"


# ---------------------------------------------------------------------- tampering


def test_every_single_byte_flip_in_the_package_file_is_detected(
    ctx: AuditContext, auditor: x25519.X25519PrivateKey
) -> None:
    data = export(ctx, f"customer:{C0}", auditor)
    reasons: dict[str, int] = {}
    for i in range(len(data)):
        flipped = bytearray(data)
        flipped[i] ^= 0x01
        reason = reason_of(bytes(flipped), ctx, auditor)
        reasons[reason] = reasons.get(reason, 0) + 1
    assert sum(reasons.values()) == len(data)
    assert set(reasons) <= {
        "not-a-package",
        "header-corrupt",
        "not-for-this-identity",
        "key-unwrap-failed",
        "ciphertext-tampered",
    }
    assert reasons["ciphertext-tampered"] > len(data) // 2


def test_every_single_byte_flip_inside_the_encryption_is_detected(
    ctx: AuditContext, auditor: x25519.X25519PrivateKey
) -> None:
    """Someone holding a recipient key re-encrypts altered content: the signature, digests
    and proofs still catch every byte."""
    inner = decrypt_package(export(ctx, f"customer:{C0}", auditor), auditor)
    keys = signers(ctx)
    reasons: set[str] = set()
    for i in range(len(inner)):
        flipped = bytearray(inner)
        flipped[i] ^= 0x01
        with pytest.raises(PackageInvalid) as caught:
            verify_package(encrypt_package(bytes(flipped), [auditor.public_key()]), auditor, keys)
        reasons.add(caught.value.reason.split(":")[0])
    assert {"manifest-signature-invalid", "file-digest-mismatch", "container-corrupt"} <= reasons


@pytest.mark.parametrize("keep", [0, 10, 100, 0.5, -1])
def test_truncated_packages_are_rejected(
    ctx: AuditContext, auditor: x25519.X25519PrivateKey, keep: float
) -> None:
    data = export(ctx, f"customer:{C0}", auditor)
    cut = int(len(data) * keep) if isinstance(keep, float) else keep
    assert reason_of(data[:cut], ctx, auditor) in {
        "not-a-package",
        "header-corrupt",
        "ciphertext-tampered",
    }


def test_reordered_ciphertext_blocks_are_rejected(
    ctx: AuditContext, auditor: x25519.X25519PrivateKey
) -> None:
    data = export(ctx, f"customer:{C0}", auditor)
    a, b = len(data) - 64, len(data) - 48
    swapped = data[:a] + data[b : b + 16] + data[a:b] + data[b + 16 :]
    assert len(swapped) == len(data) and swapped != data
    assert reason_of(swapped, ctx, auditor) == "ciphertext-tampered"


def _resign(ctx: AuditContext, files: dict[str, bytes], **changes: object) -> dict[str, bytes]:
    """Forge with the real signing key (an insider bug): proofs must still catch it."""
    import base64
    import hashlib

    from syncledger.audit.manifest import MANIFEST_LABEL, ManifestSignature

    manifest = Manifest.model_validate_json(files[MANIFEST])
    digests = {
        n: hashlib.sha256(d).hexdigest() for n, d in files.items() if n not in (MANIFEST, SIGNATURE)
    }
    manifest = manifest.model_copy(update={"files": digests, **changes})
    body = manifest.to_bytes()
    kid, sig = SigningKeyring.open(ctx.audit_dir / "signing").sign(MANIFEST_LABEL + body)
    signed = ManifestSignature(key_id=kid, signature=base64.b64encode(sig).decode())
    return {**files, MANIFEST: body, SIGNATURE: signed.model_dump_json().encode()}


def test_reordered_events_fail_their_proofs_even_when_re_signed(
    ctx: AuditContext, auditor: x25519.X25519PrivateKey
) -> None:
    files = unpack_files(decrypt_package(export(ctx, f"customer:{C0}", auditor), auditor))
    lines = files[EVENTS].split(b"\n")
    lines[1], lines[2] = lines[2], lines[1]
    forged = _resign(ctx, {**files, EVENTS: b"\n".join(lines)})
    data = encrypt_package(pack_files(forged), [auditor.public_key()])
    assert reason_of(data, ctx, auditor).startswith("inclusion-proof-failed:")


def test_dropped_events_are_caught_even_when_re_signed(
    ctx: AuditContext, auditor: x25519.X25519PrivateKey
) -> None:
    files = unpack_files(decrypt_package(export(ctx, f"customer:{C0}", auditor), auditor))
    forged = _resign(ctx, {**files, EVENTS: files[EVENTS].rsplit(b"\n", 1)[0]})
    data = encrypt_package(pack_files(forged), [auditor.public_key()])
    assert reason_of(data, ctx, auditor) == "event-count-mismatch"
    assert PROOFS in files


# ---------------------------------------------------------------------- versions, replays


def test_packages_of_a_scope_chain_and_an_older_one_is_rejected_as_a_replay(
    ctx: AuditContext, auditor: x25519.X25519PrivateKey, tmp_path: Path
) -> None:
    v1 = export(ctx, f"customer:{C0}", auditor, name="v1")
    asyncio.run(write_sample_log(ctx.store, ctx.keystore, customers=1, start=START))
    v2 = export(ctx, f"customer:{C0}", auditor, name="v2")
    keys = signers(ctx)
    p1, p2 = (verify_package(d, auditor, keys) for d in (v1, v2))
    assert p2.manifest.package_version == 2
    assert p2.manifest.previous_package_digest == p1.digest == package_digest(p1.manifest_bytes)
    check_succession(p2, p1)  # chain and RFC 9162 consistency proof hold
    with pytest.raises(PackageInvalid) as caught:
        check_succession(p1, p2)
    assert caught.value.reason == "replayed-older-package"

    state = VerifierState(tmp_path / "seen.json")
    state.check(p2)
    state.record(p2)
    again = VerifierState(tmp_path / "seen.json")
    again.check(p2)  # the same package again is fine
    with pytest.raises(PackageInvalid) as caught:
        again.check(p1)
    assert caught.value.reason == "replayed-older-package"


# ---------------------------------------------------------------------- erasure


def test_a_shredded_subject_reads_as_erased_while_every_proof_still_verifies(
    ctx: AuditContext, auditor: x25519.X25519PrivateKey
) -> None:
    before = verify_package(export(ctx, "entity:acme", auditor, name="b"), auditor, signers(ctx))
    policy = RetentionPolicy(default_years=1)
    asyncio.run(run_retention(ctx, policy, as_of=date(2030, 1, 1), apply=True))
    after = verify_package(export(ctx, "entity:acme", auditor, name="a"), auditor, signers(ctx))
    check_succession(after, before)
    statuses = {
        step["personal_data"]["status"]
        for trace in json.loads(after.files["traces.json"])
        for step in trace["steps"]
        if "personal_data" in step
    }
    assert "erased" in statuses and "present" not in statuses
    assert b"ap@example.com" not in after.files["traces.json"]
    old_events = before.files[EVENTS].split(b"\n")
    assert all(line in after.files[EVENTS] for line in old_events)  # bytes unchanged


def test_a_held_subject_keeps_its_personal_data_in_packages(
    ctx: AuditContext, auditor: x25519.X25519PrivateKey
) -> None:
    asyncio.run(place_hold(ctx, Scope.parse(f"customer:{C0}"), "litigation 2031-7"))
    asyncio.run(
        run_retention(ctx, RetentionPolicy(default_years=1), as_of=date(2030, 1, 1), apply=True)
    )
    pkg = verify_package(export(ctx, f"customer:{C0}", auditor), auditor, signers(ctx))
    assert b"ap@example.com" in pkg.files["traces.json"]
    holds = json.loads(pkg.files["holds.json"])
    assert [h["reason"] for h in holds] == ["litigation 2031-7"]
