"""Trace proofs as C2SP tlog-proofs, and packages carrying the witnessed checkpoint."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import x25519

from syncledger.audit.checkpoints import checkpoint_now, open_keyring
from syncledger.audit.context import AuditContext
from syncledger.audit.errors import PackageInvalid
from syncledger.audit.merkle import leaf_hash
from syncledger.audit.note import NoteError, NoteVerifier
from syncledger.audit.note_checkpoint import log_verifier
from syncledger.audit.note_proof import (
    TlogProof,
    checkpoint_note,
    parse_tlog_proof,
    verify_tlog_proof,
)
from syncledger.audit.package import export_package
from syncledger.audit.sample import memory_context, write_sample_log
from syncledger.audit.scope import Scope
from syncledger.audit.trace import trace_record
from syncledger.audit.verify import signer_map, verify_package
from syncledger.audit.witness import Witness
from syncledger.audit.witness_client import WitnessEndpoint
from syncledger.audit.witness_package import CHECKPOINT_NOTE, check_witnessed
from syncledger.audit.witness_publish import CheckpointPublisher, WitnessedStore
from syncledger.audit.witness_server import witness_app

START = datetime(2020, 2, 1, tzinfo=UTC)


@pytest.fixture
def witness(tmp_path: Path) -> Witness:
    return Witness.create(tmp_path / "witness", "witness.example/w1")


@pytest.fixture
def ctx(tmp_path: Path, witness: Witness) -> AuditContext:
    context = memory_context(tmp_path / "data")
    asyncio.run(write_sample_log(context.store, context.keystore, start=START))
    witness.trust(log_key(context).vkey())
    return context


def log_key(ctx: AuditContext) -> NoteVerifier:
    ring = asyncio.run(open_keyring(ctx))
    return log_verifier(ctx.origin, ring.current_public_key())


def publisher(ctx: AuditContext, witness: Witness) -> CheckpointPublisher:
    return CheckpointPublisher(
        [WitnessEndpoint("http://witness", witness.verifier)],
        WitnessedStore(ctx.audit_dir),
        transport=httpx.ASGITransport(app=witness_app(witness)),
    )


async def raw_of(ctx: AuditContext, seq: int) -> bytes:
    async for stored in ctx.store.read(from_seq=seq):
        return stored.raw
    raise AssertionError(f"no event {seq}")


def test_trace_proofs_are_tlog_proofs_an_outsider_verifies(
    ctx: AuditContext, witness: Witness
) -> None:
    asyncio.run(checkpoint_now(ctx, publisher=publisher(ctx, witness)))
    proven = asyncio.run(trace_record(ctx, "hubspot/invoice/i0"))
    note = asyncio.run(checkpoint_note(ctx, proven.checkpoint))
    assert note is not None
    step = proven.trace.steps[0]
    data = TlogProof(step.seq - 1, tuple(step.proof), note).render()
    assert data.startswith(b"c2sp.org/tlog-proof@v1\nindex ")
    proof = parse_tlog_proof(data)
    leaf = leaf_hash(asyncio.run(raw_of(ctx, step.seq)))
    verify_tlog_proof(proof, leaf, [log_key(ctx)], [witness.verifier])
    with pytest.raises(NoteError, match="is not in the tree"):
        verify_tlog_proof(proof, leaf_hash(b"another event"), [log_key(ctx)])
    stranger = Witness.create(ctx.data_dir.parent / "stranger", "witness.example/w2")
    with pytest.raises(NoteError, match="no valid cosignature"):
        verify_tlog_proof(proof, leaf, [log_key(ctx)], [stranger.verifier])


def test_packages_carry_the_witnessed_checkpoint(ctx: AuditContext, witness: Witness) -> None:
    auditor = x25519.X25519PrivateKey.generate()
    out = ctx.data_dir / "p.slpkg"
    scope = Scope.parse("entity:acme")
    asyncio.run(export_package(ctx, scope, [auditor.public_key()], out, publisher(ctx, witness)))
    keys = signer_map([asyncio.run(open_keyring(ctx)).current_public_key()])
    pkg = verify_package(out.read_bytes(), auditor, keys)
    assert CHECKPOINT_NOTE in pkg.manifest.files
    (cosig,) = check_witnessed(pkg.files, pkg.checkpoint, [witness.verifier])
    assert cosig.witness == witness.verifier

    plain = ctx.data_dir / "plain.slpkg"
    asyncio.run(export_package(ctx, scope, [auditor.public_key()], plain))
    unwitnessed = verify_package(plain.read_bytes(), auditor, keys)
    assert check_witnessed(unwitnessed.files, unwitnessed.checkpoint, []) == []
    with pytest.raises(PackageInvalid) as refused:
        check_witnessed(unwitnessed.files, unwitnessed.checkpoint, [witness.verifier])
    assert refused.value.reason == "checkpoint-not-witnessed"
