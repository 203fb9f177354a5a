"""Checkpoints, the persisted log tree, signing-key rotation and verify-log."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncledger.audit.checkpoints import (
    Checkpoint,
    checkpoint_every,
    checkpoint_now,
    latest_checkpoint,
)
from syncledger.audit.context import AuditContext
from syncledger.audit.errors import LogDivergence
from syncledger.audit.events import SigningKeyRotated
from syncledger.audit.logtree import LogTree
from syncledger.audit.merkle import MerkleTree, leaf_hash
from syncledger.audit.sample import memory_context, write_sample_log
from syncledger.audit.signing import SigningKeyring
from syncledger.audit.verifylog import verify_log
from syncledger.core.store import STREAM_SUBJECTS, StoredEvent
from syncledger.core.store_memory import MemoryEventStore

START = datetime(2021, 3, 1, tzinfo=UTC)


@pytest.fixture
def ctx(tmp_path: Path) -> AuditContext:
    context = memory_context(tmp_path / "data")
    asyncio.run(write_sample_log(context.store, context.keystore, start=START))
    return context


async def all_raw(ctx: AuditContext) -> list[bytes]:
    return [s.raw async for s in ctx.store.read()]


class AlteredStore:
    """The same log with one event's bytes replaced, or one event missing."""

    def __init__(self, inner: MemoryEventStore, seq: int, raw: bytes | None) -> None:
        self.inner, self.seq, self.raw = inner, seq, raw

    async def read(
        self, subjects: str = STREAM_SUBJECTS, from_seq: int = 1
    ) -> AsyncIterator[StoredEvent]:
        async for stored in self.inner.read(subjects, from_seq):
            if stored.seq != self.seq:
                yield stored
            elif self.raw is not None:
                yield StoredEvent(stored.seq, stored.subject, self.raw)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def altered(ctx: AuditContext, seq: int, raw: bytes | None) -> AuditContext:
    assert isinstance(ctx.store, MemoryEventStore)
    return AuditContext(
        AlteredStore(ctx.store, seq, raw),
        ctx.keystore,
        ctx.data_dir,  # type: ignore[arg-type]
        ctx.entity,
        ctx.actor,
    )


def test_a_checkpoint_signs_the_rfc9162_root_of_every_stored_byte(ctx: AuditContext) -> None:
    logged = asyncio.run(checkpoint_now(ctx))
    raws = asyncio.run(all_raw(ctx))
    reference = MerkleTree()
    reference.append_entries(raws[: logged.checkpoint.tree_size])
    assert logged.checkpoint.root_hash == reference.root()
    assert logged.seq == len(raws)  # appended as the newest event
    keys = SigningKeyring.open(ctx.audit_dir / "signing").public_keys()
    assert logged.checkpoint.verify(keys)
    forged = Checkpoint(**{**logged.checkpoint.__dict__, "tree_size": 3})
    assert not forged.verify(keys)


def test_the_tree_is_persisted_and_extended_incrementally(ctx: AuditContext) -> None:
    first = asyncio.run(checkpoint_now(ctx)).checkpoint
    asyncio.run(write_sample_log(ctx.store, ctx.keystore, customers=1, start=START))
    files_before = (ctx.audit_dir / "tree" / "level-00.bin").stat().st_size
    second = asyncio.run(checkpoint_now(ctx)).checkpoint
    reopened = LogTree.open(ctx.audit_dir)
    assert reopened.size == second.tree_size
    assert reopened.tree.root(first.tree_size) == first.root_hash
    assert reopened.tree.root(second.tree_size) == second.root_hash
    grown = (ctx.audit_dir / "tree" / "level-00.bin").stat().st_size
    assert grown - files_before == 32 * (second.tree_size - first.tree_size)


def test_a_tree_cache_that_no_longer_matches_the_log_is_refused(ctx: AuditContext) -> None:
    asyncio.run(checkpoint_now(ctx))
    size = LogTree.open(ctx.audit_dir).size
    bad = altered(ctx, size, b'{"forged":true}')
    with pytest.raises(LogDivergence, match=f"event {size}"):
        asyncio.run(LogTree.open(ctx.audit_dir).sync(bad.store))


def test_verify_log_accepts_an_untouched_log(ctx: AuditContext) -> None:
    asyncio.run(checkpoint_now(ctx))
    asyncio.run(checkpoint_now(ctx))
    report = asyncio.run(verify_log(ctx))
    assert report.ok and report.checkpoints == 2
    assert report.events == len(asyncio.run(all_raw(ctx)))


def test_verify_log_names_the_first_changed_event(ctx: AuditContext) -> None:
    asyncio.run(checkpoint_now(ctx))
    raws = asyncio.run(all_raw(ctx))
    tampered = raws[4].replace(b'"actor":"sample"', b'"actor":"sampl3"')
    assert tampered != raws[4]
    report = asyncio.run(verify_log(altered(ctx, 5, tampered)))
    assert not report.ok
    assert "event 5 differs" in (report.divergence or "")


def test_verify_log_without_a_tree_cache_still_bounds_the_divergence(ctx: AuditContext) -> None:
    asyncio.run(checkpoint_now(ctx))
    for path in (ctx.audit_dir / "tree").glob("*"):
        path.unlink()
    raws = asyncio.run(all_raw(ctx))
    report = asyncio.run(verify_log(altered(ctx, 3, raws[3 - 1] + b" ")))
    assert "does not match the log" in (report.divergence or "")


def test_verify_log_reports_a_deleted_event(ctx: AuditContext) -> None:
    asyncio.run(checkpoint_now(ctx))
    report = asyncio.run(verify_log(altered(ctx, 7, None)))
    assert report.divergence == "event 7 is missing from the log (the next stored event is 8)"


def test_verify_log_rejects_a_checkpoint_signed_by_an_unknown_key(
    ctx: AuditContext, tmp_path: Path
) -> None:
    asyncio.run(checkpoint_now(ctx))
    stranger = memory_context(tmp_path / "other")
    stranger.store = ctx.store
    asyncio.run(checkpoint_now(stranger))  # a second installation signs into the same log
    report = asyncio.run(verify_log(ctx))
    assert "not validly signed by a known key" in (report.divergence or "")


def test_old_checkpoints_verify_after_signing_key_rotation(ctx: AuditContext) -> None:
    old = asyncio.run(checkpoint_now(ctx)).checkpoint
    ring = SigningKeyring.open(ctx.audit_dir / "signing")
    rotated = ring.rotate(asyncio.run(ctx.store.last_seq()))
    asyncio.run(ctx.append_audit(rotated, "signing-key", rotated.new_key_id))
    new = asyncio.run(checkpoint_now(ctx)).checkpoint
    assert old.key_id != new.key_id == rotated.new_key_id
    keys = SigningKeyring.open(ctx.audit_dir / "signing").public_keys()
    assert old.verify(keys) and new.verify(keys)
    assert not (ctx.audit_dir / "signing" / (old.key_id.replace(":", "-") + ".pem")).exists()
    assert asyncio.run(verify_log(ctx)).checkpoints == 2


def test_verify_log_learns_rotated_keys_from_endorsements_in_the_log(ctx: AuditContext) -> None:
    asyncio.run(checkpoint_now(ctx))
    ring = SigningKeyring.open(ctx.audit_dir / "signing")
    rotated: SigningKeyRotated = ring.rotate(asyncio.run(ctx.store.last_seq()))
    asyncio.run(ctx.append_audit(rotated, "signing-key", rotated.new_key_id))
    asyncio.run(checkpoint_now(ctx))
    (ctx.audit_dir / "signing" / "keyring.json").unlink()  # only the log's word remains
    report = asyncio.run(verify_log(ctx))
    assert report.ok and report.checkpoints == 2


def test_scheduled_checkpoints_only_when_the_log_grew(ctx: AuditContext) -> None:
    async def scenario() -> tuple[int, int]:
        stop = asyncio.Event()
        task = asyncio.create_task(checkpoint_every(ctx, 0.01, stop))
        await asyncio.sleep(0.1)
        quiet = await latest_checkpoint(ctx)
        await write_sample_log(ctx.store, ctx.keystore, customers=1, start=START)
        await asyncio.sleep(0.1)
        stop.set()
        signed = await task
        assert quiet is not None
        return signed, quiet.seq

    signed, _ = asyncio.run(scenario())
    assert signed == 2


def test_leaf_hashes_are_over_the_exact_stored_bytes(ctx: AuditContext) -> None:
    asyncio.run(checkpoint_now(ctx))
    raws = asyncio.run(all_raw(ctx))
    tree = LogTree.open(ctx.audit_dir).tree
    assert all(tree.leaf(i) == leaf_hash(raw) for i, raw in enumerate(raws[: tree.size]))
