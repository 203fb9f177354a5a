"""Issue 18's attacks on the log, with a witness (in-process over ASGI): insider rewrite +
re-sign, tail truncation, a rebuilt log under a new key, a retired key's forgery, a fork
shown to two auditors, and a lost signing key recovered by a witnessed rotation."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from syncledger.audit.checkpoints import (
    checkpoint_every,
    checkpoint_now,
    latest_checkpoint,
    open_keyring,
    rotate_signing_key,
    sign_checkpoint,
)
from syncledger.audit.context import AuditContext
from syncledger.audit.errors import SigningKeyError
from syncledger.audit.events import CheckpointSigned, audit_filter
from syncledger.audit.keyfiles import load_ed25519_private
from syncledger.audit.logtree import LogTree
from syncledger.audit.note_checkpoint import log_verifier
from syncledger.audit.sample import memory_context, write_sample_log
from syncledger.audit.signing import SigningKeyring
from syncledger.audit.verifylog import LogReport, verify_log
from syncledger.audit.witness import Witness
from syncledger.audit.witness_client import WitnessEndpoint
from syncledger.audit.witness_publish import CheckpointPublisher, WitnessedStore
from syncledger.audit.witness_server import witness_app
from syncledger.core.store import STREAM_SUBJECTS, StoredEvent
from syncledger.core.store_memory import MemoryEventStore

START = datetime(2021, 3, 1, tzinfo=UTC)


def new_log(path: Path, customers: int = 3) -> AuditContext:
    ctx = memory_context(path)
    asyncio.run(write_sample_log(ctx.store, ctx.keystore, customers=customers, start=START))
    return ctx


def vkey_of(ctx: AuditContext) -> str:
    ring = asyncio.run(open_keyring(ctx))
    return log_verifier(ctx.origin, ring.current_public_key()).vkey()


def publisher(ctx: AuditContext, witness: Witness) -> CheckpointPublisher:
    return CheckpointPublisher(
        [WitnessEndpoint("http://witness", witness.verifier)],
        WitnessedStore(ctx.audit_dir),
        transport=httpx.ASGITransport(app=witness_app(witness)),
    )


def witnessed_checkpoint(ctx: AuditContext, witness: Witness) -> list[str]:
    logged = asyncio.run(checkpoint_now(ctx, publisher=publisher(ctx, witness)))
    assert logged.published is not None
    return logged.published.cosigned_by


def audit(ctx: AuditContext, witness: Witness | None) -> LogReport:
    if witness is None:
        return asyncio.run(verify_log(ctx))
    latest = witness.latest(ctx.origin)
    return asyncio.run(verify_log(ctx, [witness.verifier], [latest] if latest else []))


@pytest.fixture
def witness(tmp_path: Path) -> Witness:
    return Witness.create(tmp_path / "witness-state", "witness.example/w1")


@pytest.fixture
def ctx(tmp_path: Path, witness: Witness) -> AuditContext:
    context = new_log(tmp_path / "data")
    witness.trust(vkey_of(context))
    assert witnessed_checkpoint(context, witness) == ["witness.example/w1"]
    asyncio.run(write_sample_log(context.store, context.keystore, customers=1, start=START))
    assert witnessed_checkpoint(context, witness) == ["witness.example/w1"]
    return context


def insider_copy(ctx: AuditContext, path: Path, customers: int) -> AuditContext:
    """Another history under the same origin, signed with a copy of the log's keys."""
    shutil.copytree(ctx.audit_dir / "signing", path / "audit" / "signing")
    return new_log(path, customers)


def test_an_honest_log_agrees_with_its_witness(ctx: AuditContext, witness: Witness) -> None:
    report = audit(ctx, witness)
    assert report.ok, report.divergence
    assert report.checkpoints == 2


def test_insider_rewrite_and_re_sign_is_detected(
    ctx: AuditContext, witness: Witness, tmp_path: Path
) -> None:
    forged = insider_copy(ctx, tmp_path / "insider", customers=5)
    logged = asyncio.run(checkpoint_now(forged, publisher=publisher(forged, witness)))
    assert logged.published is not None and not logged.published.cosigned_by
    assert "422" in logged.published.refusals[0]
    assert audit(forged, None).ok  # alone, the re-signed log looks fine
    report = audit(forged, witness)
    assert not report.ok
    assert report.divergence is not None
    assert "rewritten and re-signed after it was witnessed" in report.divergence


def test_a_log_rebuilt_under_a_new_key_is_detected(
    ctx: AuditContext, witness: Witness, tmp_path: Path
) -> None:
    rebuilt = new_log(tmp_path / "rebuilt", customers=4)
    asyncio.run(checkpoint_now(rebuilt))
    report = audit(rebuilt, witness)
    assert report.divergence is not None
    assert "rebuilt under a new key" in report.divergence


class TruncatedStore:
    """The same log without its events after ``keep``."""

    def __init__(self, inner: MemoryEventStore, keep: int) -> None:
        self.inner, self.keep = inner, keep

    async def read(
        self, subjects: str = STREAM_SUBJECTS, from_seq: int = 1
    ) -> AsyncIterator[StoredEvent]:
        async for stored in self.inner.read(subjects, from_seq):
            if stored.seq <= self.keep:
                yield stored

    async def last_seq(self) -> int:
        return min(self.keep, await self.inner.last_seq())

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_tail_truncation_after_the_last_checkpoint_is_detected(
    ctx: AuditContext, witness: Witness
) -> None:
    held = witness.latest(ctx.origin)
    assert held is not None
    witnessed_size = int(held.text.split("\n")[1])
    assert isinstance(ctx.store, MemoryEventStore)
    shutil.rmtree(ctx.audit_dir / "tree")  # the insider removed the tree cache too
    cut = AuditContext(
        TruncatedStore(ctx.store, witnessed_size - 3),  # type: ignore[arg-type]
        ctx.keystore,
        ctx.data_dir,
        ctx.entity,
        ctx.actor,
    )
    assert audit(cut, None).ok
    report = audit(cut, witness)
    assert report.divergence is not None
    assert f"cosigned tree size {witnessed_size}" in report.divergence
    assert "truncated" in report.divergence


def test_a_checkpoint_forged_with_a_retired_key_is_refused(
    ctx: AuditContext, witness: Witness
) -> None:
    ring = SigningKeyring.open(ctx.audit_dir / "signing")
    stolen = load_ed25519_private(ring._private_path(ring.current_key_id))
    asyncio.run(rotate_signing_key(ctx))
    asyncio.run(write_sample_log(ctx.store, ctx.keystore, customers=1, start=START))
    thief = SigningKeyring(ctx.audit_dir / "thief")
    thief._current, thief._private = ring.current_key_id, stolen
    thief._records = {ring.current_key_id: ring.current_record()}

    async def forge() -> None:
        tree = LogTree.open(ctx.audit_dir)
        size = await tree.sync(ctx.store)
        cp = sign_checkpoint(thief, ctx.origin, size, tree.tree.root(size), 10**13)
        await ctx.append_audit(cp.to_event(), "checkpoint", str(size))

    thief.directory.mkdir()
    asyncio.run(forge())
    for who in (None, witness):
        report = audit(ctx, who)
        assert report.divergence is not None
        assert "outside its key's window" in report.divergence


def test_a_fork_shown_to_two_auditors_is_refused_by_the_witness(
    ctx: AuditContext, witness: Witness, tmp_path: Path
) -> None:
    fork = insider_copy(ctx, tmp_path / "fork", customers=6)
    logged = asyncio.run(checkpoint_now(fork, publisher=publisher(fork, witness)))
    assert logged.published is not None
    assert logged.published.cosigned_by == []
    assert any("(422)" in r for r in logged.published.refusals)
    first_auditor, second_auditor = audit(ctx, witness), audit(fork, witness)
    assert first_auditor.ok
    assert not second_auditor.ok


def checkpoints_in(ctx: AuditContext) -> int:
    async def count() -> int:
        found = 0
        async for stored in ctx.store.read(audit_filter("checkpoint")):
            found += isinstance(stored.envelope().payload(), CheckpointSigned)
        return found

    return asyncio.run(count())


def test_a_lost_signing_key_is_recovered_by_a_witnessed_rotation(
    ctx: AuditContext, witness: Witness
) -> None:
    ring = SigningKeyring.open(ctx.audit_dir / "signing")
    ring._private_path(ring.current_key_id).unlink()  # the private key is lost
    event = asyncio.run(rotate_signing_key(ctx))
    assert event.endorsement is None and event.old_key_id is not None
    before = checkpoints_in(ctx)
    with pytest.raises(SigningKeyError, match="needs a witness cosignature"):
        asyncio.run(checkpoint_now(ctx))
    with pytest.raises(SigningKeyError, match=r"\(403\)"):
        asyncio.run(checkpoint_now(ctx, publisher=publisher(ctx, witness)))
    assert checkpoints_in(ctx) == before  # nothing unwitnessed was appended
    witness.trust(vkey_of(ctx))
    assert witnessed_checkpoint(ctx, witness) == ["witness.example/w1"]
    asyncio.run(checkpoint_now(ctx))  # witnessed once: it signs like any key
    report = audit(ctx, witness)
    assert report.ok, report.divergence
    plain = audit(ctx, None)
    assert plain.ok and any("lost key" in w for w in plain.warnings)


def test_an_unwitnessed_key_after_a_lost_key_rotation_is_refused(
    ctx: AuditContext, witness: Witness
) -> None:
    asyncio.run(rotate_signing_key(ctx, lost=True))
    ring = SigningKeyring.open(ctx.audit_dir / "signing")
    ring.mark_witnessed(ring.current_key_id)  # an insider skips the witness
    asyncio.run(checkpoint_now(ctx))
    report = audit(ctx, witness)
    assert report.divergence is not None
    assert "no trusted witness cosigned it" in report.divergence


def test_a_witness_that_never_cosigned_this_log_fails_the_check(
    tmp_path: Path, witness: Witness
) -> None:
    lonely = new_log(tmp_path / "lonely")
    asyncio.run(checkpoint_now(lonely))
    report = audit(lonely, witness)
    assert report.divergence is not None and "cosigned no checkpoint" in report.divergence


def test_scheduled_checkpoints_are_witnessed_and_a_refusal_is_logged_not_fatal(
    tmp_path: Path, witness: Witness, caplog: pytest.LogCaptureFixture
) -> None:
    """`run` signs checkpoints on a schedule with the configured publisher: each is
    cosigned; a witness that does not trust the log refuses, is logged, and the next
    checkpoint is still signed."""
    honest = new_log(tmp_path / "honest")
    witness.trust(vkey_of(honest))
    stranger = new_log(tmp_path / "stranger")  # a log this witness never trusted

    async def signed_up_to(ctx: AuditContext, size: int) -> None:
        for _ in range(2000):  # until the loop has signed the log at this size
            cp = await latest_checkpoint(ctx)
            if cp is not None and cp.checkpoint.tree_size >= size:
                return
            await asyncio.sleep(0.005)
        raise AssertionError(f"no checkpoint of size {size}")

    async def scenario(ctx: AuditContext) -> int:
        stop = asyncio.Event()
        task = asyncio.create_task(checkpoint_every(ctx, 0.01, stop, publisher(ctx, witness)))
        await signed_up_to(ctx, await ctx.store.last_seq())
        await write_sample_log(ctx.store, ctx.keystore, customers=1, start=START)
        await signed_up_to(ctx, await ctx.store.last_seq())
        stop.set()
        return await task

    assert asyncio.run(scenario(honest)) == 2
    latest = witness.latest(honest.origin)
    assert latest is not None
    with caplog.at_level("WARNING", logger="syncledger.audit.checkpoints"):
        assert asyncio.run(scenario(stranger)) == 2  # refused twice, signed twice
    assert caplog.text.count("checkpoint at size") == 2
