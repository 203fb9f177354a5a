"""The audit module against a real nats-server (JetStream, sync_interval always)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import nats
import pytest
from cryptography.hazmat.primitives.asymmetric import x25519

from syncledger.audit.checkpoints import checkpoint_now
from syncledger.audit.context import AuditContext
from syncledger.audit.holds import place_hold
from syncledger.audit.logtree import LogTree
from syncledger.audit.merkle import MerkleTree
from syncledger.audit.package import export_package
from syncledger.audit.retention import RetentionPolicy, run_retention
from syncledger.audit.sample import write_sample_log
from syncledger.audit.scope import Scope
from syncledger.audit.signing import SigningKeyring
from syncledger.audit.trace import trace_record
from syncledger.audit.verify import check_succession, signer_map, verify_package
from syncledger.audit.verifylog import verify_log
from syncledger.core.errors import ImmutableLogError
from syncledger.core.ids import uuid7
from syncledger.core.keystore import SqliteKeyStore, load_or_create_kek
from syncledger.core.store_jetstream import JetStreamEventStore

pytestmark = pytest.mark.integration


@pytest.fixture
async def ctx(nats_url: str, tmp_path: Path) -> AsyncIterator[AuditContext]:
    nc = await nats.connect(nats_url)
    stream = "AUDIT_" + uuid7().replace("-", "")[:12].upper()
    store = JetStreamEventStore(nc, stream=stream)
    await store.ensure_stream(create=True)
    keys = SqliteKeyStore(tmp_path / "keys.db", load_or_create_kek(tmp_path / "kek.key"))
    try:
        yield AuditContext(
            store,
            keys,
            tmp_path,
            "acme",
            "it",
            kek_file=tmp_path / "kek.key",
            origin=f"syncledger/{stream}",
        )
    finally:
        await store.close()
        await nc.jetstream().delete_stream(stream)
        await nc.close()
        keys.close()


async def test_checkpoint_proofs_retention_and_packages_on_jetstream(
    ctx: AuditContext, tmp_path: Path
) -> None:
    await write_sample_log(
        ctx.store,
        ctx.keystore,
        customers=4,
        invoices_per_customer=3,
        start=datetime(2019, 6, 1, tzinfo=UTC),
    )
    first = (await checkpoint_now(ctx)).checkpoint
    raws = [s.raw async for s in ctx.store.read()]
    reference = MerkleTree()
    reference.append_entries(raws[: first.tree_size])
    assert reference.root() == first.root_hash

    auditor = x25519.X25519PrivateKey.generate()
    signers = signer_map([SigningKeyring.open(ctx.audit_dir / "signing").current_public_key()])
    out1 = tmp_path / "v1.slpkg"
    await export_package(ctx, Scope.parse("entity:acme"), [auditor.public_key()], out1)
    v1 = verify_package(out1.read_bytes(), auditor, signers)

    await place_hold(ctx, Scope.parse("customer:hubspot/customer/c2"), "dispute D-2")
    report = await run_retention(ctx, RetentionPolicy(), as_of=date(2027, 1, 1), apply=True)
    assert {d.customer for d in report.with_status("held")} == {"hubspot/customer/c2"}
    assert len(report.with_status("shred")) == 3

    out2 = tmp_path / "v2.slpkg"
    await export_package(ctx, Scope.parse("entity:acme"), [auditor.public_key()], out2)
    v2 = verify_package(out2.read_bytes(), auditor, signers)
    check_succession(v2, v1)
    statuses = {
        t["customer"]: {s["personal_data"]["status"] for s in t["steps"] if "personal_data" in s}
        for t in json.loads(v2.files["traces.json"])
        if t["kind"] == "customer"
    }
    assert statuses["hubspot/customer/c2"] == {"present"}
    assert statuses["hubspot/customer/c0"] == {"erased"}

    trace = await trace_record(ctx, "qbo/invoice/1004")
    assert trace.trace.ref == "hubspot/invoice/i4"
    report_log = await verify_log(ctx)
    assert report_log.ok and report_log.checkpoints >= 3


async def test_the_tree_follows_the_stream_incrementally_and_deletes_are_refused(
    ctx: AuditContext,
) -> None:
    await write_sample_log(ctx.store, ctx.keystore, start=datetime(2020, 1, 1, tzinfo=UTC))
    tree = LogTree.open(ctx.audit_dir)
    size = await tree.sync(ctx.store)
    assert size == await ctx.store.last_seq()
    await write_sample_log(
        ctx.store, ctx.keystore, customers=1, start=datetime(2020, 2, 1, tzinfo=UTC)
    )
    again = LogTree.open(ctx.audit_dir)
    assert again.size == size
    assert await again.sync(ctx.store) == await ctx.store.last_seq()
    with pytest.raises(ImmutableLogError):
        await ctx.store.delete(3)
    await checkpoint_now(ctx)
    assert (await verify_log(ctx)).ok
