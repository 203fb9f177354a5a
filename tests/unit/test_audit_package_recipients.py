"""Recipients bound to the signature: a co-recipient who re-encrypts the content to someone
else cannot produce a package that verifies (``recipients-not-signed``)."""

from __future__ import annotations

import asyncio
import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

from syncledger.audit.container import pack_files, unpack_files
from syncledger.audit.context import AuditContext
from syncledger.audit.encryption import (
    MAGIC,
    decrypt_package,
    encrypt_package,
    recipient_ids,
    recipients_digest,
    sealed_section,
)
from syncledger.audit.errors import PackageInvalid
from syncledger.audit.keyfiles import key_id
from syncledger.audit.manifest import MANIFEST, SIGNATURE, Manifest
from syncledger.audit.package import export_package
from syncledger.audit.sample import memory_context, write_sample_log
from syncledger.audit.scope import Scope
from syncledger.audit.signing import SigningKeyring
from syncledger.audit.verify import signer_map, verify_package

START = datetime(2020, 2, 1, tzinfo=UTC)


@pytest.fixture
def ctx(tmp_path: Path) -> AuditContext:
    context = memory_context(tmp_path / "data")
    asyncio.run(
        write_sample_log(
            context.store, context.keystore, customers=2, invoices_per_customer=1, start=START
        )
    )
    return context


def signers(ctx: AuditContext) -> dict[str, ed25519.Ed25519PublicKey]:
    return signer_map([SigningKeyring.open(ctx.audit_dir / "signing").current_public_key()])


def export(ctx: AuditContext, *recipients: x25519.X25519PrivateKey) -> bytes:
    out = ctx.data_dir / "p.slpkg"
    keys = [r.public_key() for r in recipients]
    asyncio.run(export_package(ctx, Scope.parse("entity:acme"), keys, out))
    return out.read_bytes()


def reason_of(data: bytes, who: x25519.X25519PrivateKey, ctx: AuditContext) -> str:
    with pytest.raises(PackageInvalid) as caught:
        verify_package(data, who, signers(ctx))
    return caught.value.reason


def test_the_signed_manifest_names_every_recipient_and_the_sealed_keys(
    ctx: AuditContext,
) -> None:
    alice, bob = x25519.X25519PrivateKey.generate(), x25519.X25519PrivateKey.generate()
    data = export(ctx, alice, bob)
    for who in (alice, bob):
        bound = verify_package(data, who, signers(ctx)).manifest.recipients
        assert bound is not None
        assert list(bound.key_ids) == recipient_ids(data)
        assert bound.key_ids == (key_id(alice.public_key()), key_id(bob.public_key()))
        assert bound.sealed_keys_sha256 == recipients_digest(sealed_section(data))


def test_a_co_recipient_re_wrapping_for_a_third_key_is_refused(ctx: AuditContext) -> None:
    alice, bob, carol = (x25519.X25519PrivateKey.generate() for _ in range(3))
    data = export(ctx, alice, bob)
    inner = decrypt_package(data, bob)  # bob is a legitimate recipient
    for recipients, reader in (
        ([carol], carol),  # re-encrypted to carol alone
        ([alice, bob, carol], carol),  # carol added beside the named recipients
        ([alice, bob, carol], alice),  # ... refused for the original recipients too
        ([bob], bob),  # alice dropped
        ([bob, alice], alice),  # the same keys, newly sealed and reordered
    ):
        rewrapped = encrypt_package(inner, [r.public_key() for r in recipients])
        assert reason_of(rewrapped, reader, ctx) == "recipients-not-signed"


def test_re_using_the_sealed_keys_with_other_content_still_fails_authentication(
    ctx: AuditContext,
) -> None:
    """The recipients' section left as signed, the ciphertext swapped: AES-GCM refuses."""
    alice = x25519.X25519PrivateKey.generate()
    first, second = export(ctx, alice), export(ctx, alice)
    spliced = first[: _header_end(first)] + second[_header_end(second) :]
    assert reason_of(spliced, alice, ctx) == "ciphertext-tampered"


def _header_end(data: bytes) -> int:
    (length,) = struct.unpack(">I", data[len(MAGIC) : len(MAGIC) + 4])
    return len(MAGIC) + 4 + int(length)


def test_a_format_3_manifest_without_recipients_is_refused(ctx: AuditContext) -> None:
    """An insider with the signing key who strips the binding gains nothing."""
    import base64

    from syncledger.audit.manifest import MANIFEST_LABEL, ManifestSignature

    alice = x25519.X25519PrivateKey.generate()
    files = unpack_files(decrypt_package(export(ctx, alice), alice))
    body = Manifest.model_validate_json(files[MANIFEST]).model_copy(update={"recipients": None})
    raw = body.to_bytes()
    kid, sig = SigningKeyring.open(ctx.audit_dir / "signing").sign(MANIFEST_LABEL + raw)
    signed = ManifestSignature(key_id=kid, signature=base64.b64encode(sig).decode())
    forged = {**files, MANIFEST: raw, SIGNATURE: signed.model_dump_json().encode()}
    data = encrypt_package(pack_files(forged), [alice.public_key()])
    assert reason_of(data, alice, ctx) == "recipients-not-signed"
