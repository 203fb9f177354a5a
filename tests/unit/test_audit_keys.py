"""Signing keys bounded in time (issue 18): a retired key forges nothing that verifies,
verifier state survives a rotation, verify-log on a broken store, key file modes."""

from __future__ import annotations

import asyncio
import base64
import stat
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
from typer.testing import CliRunner

from syncledger.audit import cli
from syncledger.audit.checkpoints import Checkpoint, checkpoint_now, rotate_signing_key
from syncledger.audit.container import pack_files, unpack_files
from syncledger.audit.context import AuditContext
from syncledger.audit.encryption import decrypt_package, encrypt_sealed, seal_recipients
from syncledger.audit.errors import PackageInvalid
from syncledger.audit.keyfiles import key_id, load_ed25519_private, private_pem, public_pem
from syncledger.audit.keywindow import KeyWindow, SignerSet, load_signers
from syncledger.audit.logtree import LogTree
from syncledger.audit.manifest import (
    MANIFEST,
    MANIFEST_LABEL,
    SIGNATURE,
    Manifest,
    ManifestSignature,
    RecipientBinding,
    sha256_hex,
)
from syncledger.audit.package import export_package
from syncledger.audit.sample import memory_context, write_sample_log
from syncledger.audit.scope import Scope
from syncledger.audit.signing import SigningKeyring
from syncledger.audit.verify import (
    VerifiedPackage,
    VerifierState,
    check_succession,
    signer_map,
    verify_package,
)
from syncledger.audit.verifylog import verify_log
from syncledger.core.errors import EventStoreUnavailable
from syncledger.core.store import STREAM_SUBJECTS, StoredEvent
from syncledger.core.store_memory import MemoryEventStore

START = datetime(2022, 4, 1, tzinfo=UTC)
SCOPE = "customer:hubspot/customer/c0"
runner = CliRunner()


@pytest.fixture
def ctx(tmp_path: Path) -> AuditContext:
    context = memory_context(tmp_path / "data")
    asyncio.run(write_sample_log(context.store, context.keystore, customers=2, start=START))
    return context


@pytest.fixture
def auditor() -> x25519.X25519PrivateKey:
    return x25519.X25519PrivateKey.generate()


def ring(ctx: AuditContext) -> SigningKeyring:
    return SigningKeyring.open(ctx.audit_dir / "signing")


def steal_current_key(ctx: AuditContext) -> ed25519.Ed25519PrivateKey:
    """A copy of the current private key, as an insider or a backup would keep it."""
    kid = ring(ctx).current_key_id
    return load_ed25519_private(ctx.audit_dir / "signing" / (kid.replace(":", "-") + ".pem"))


def grow(ctx: AuditContext) -> None:
    asyncio.run(write_sample_log(ctx.store, ctx.keystore, customers=1, start=START))


def export(ctx: AuditContext, auditor: x25519.X25519PrivateKey, name: str) -> bytes:
    out = ctx.data_dir / f"{name}.slpkg"
    asyncio.run(export_package(ctx, Scope.parse(SCOPE), [auditor.public_key()], out))
    return out.read_bytes()


def rotated_history(
    ctx: AuditContext, auditor: x25519.X25519PrivateKey
) -> tuple[bytes, bytes, ed25519.Ed25519PrivateKey]:
    """v1 signed by the first key, rotation, more events, v2 by the new key; and a copy
    of the retired key."""
    v1 = export(ctx, auditor, "v1")
    old = steal_current_key(ctx)
    asyncio.run(rotate_signing_key(ctx))
    grow(ctx)
    v2 = export(ctx, auditor, "v2")
    return v1, v2, old


def forge_with(
    key: ed25519.Ed25519PrivateKey, genuine: bytes, auditor: x25519.X25519PrivateKey
) -> bytes:
    """The genuine newer package re-signed (checkpoint and manifest) by ``key``, sealed to
    the auditor before signing as an exporter does (so the recipients binding holds and
    only the key's window can stop it)."""
    files = unpack_files(decrypt_package(genuine, auditor))
    manifest = Manifest.model_validate_json(files[MANIFEST])
    kid = _kid(key)
    cp = Checkpoint.from_event(manifest.checkpoint)
    unsigned = Checkpoint(cp.origin, cp.tree_size, cp.root_hash, cp.timestamp_ms, kid)
    signed = Checkpoint(**{**unsigned.__dict__, "signature": key.sign(unsigned.signed_text())})
    sealed = seal_recipients([auditor.public_key()])
    binding = RecipientBinding(key_ids=sealed.key_ids(), sealed_keys_sha256=sealed.binding())
    forged = manifest.model_copy(
        update={
            "checkpoint": signed.to_event(),
            "signer_key_id": kid,
            "signers": (),
            "recipients": binding,
        }
    )
    body = forged.to_bytes()
    sig = base64.b64encode(key.sign(MANIFEST_LABEL + body)).decode()
    files[MANIFEST] = body
    files[SIGNATURE] = ManifestSignature(key_id=kid, signature=sig).model_dump_json().encode()
    return encrypt_sealed(pack_files(files), sealed)


def _kid(key: ed25519.Ed25519PrivateKey) -> str:
    return key_id(key.public_key())


def refused(data: bytes, auditor: x25519.X25519PrivateKey, signers: object) -> PackageInvalid:
    with pytest.raises(PackageInvalid) as caught:
        verify_package(data, auditor, signers)  # type: ignore[arg-type]
    return caught.value


# ---------------------------------------------------------------------- windows


def test_rotation_closes_the_old_keys_window_in_keyring_event_and_signer_set(
    ctx: AuditContext,
) -> None:
    asyncio.run(checkpoint_now(ctx))
    size = asyncio.run(ctx.store.last_seq())
    event = asyncio.run(rotate_signing_key(ctx))
    records = {r.key_id: r for r in ring(ctx).records()}
    old, new = records[event.old_key_id or ""], records[event.new_key_id]
    assert (old.from_size, old.until_size) == (0, size)
    assert (new.from_size, new.until_size) == (size, None)
    assert (event.new_from_size, event.old_until_size) == (size, size)
    windows = SignerSet.from_bytes(ring(ctx).signer_set().to_bytes("o"), "set").windows()
    assert windows[old.key_id].until_size == size
    assert windows[old.key_id].not_after_ms is not None
    assert windows[new.key_id].until_size is None


def test_a_window_refuses_later_sizes_and_times_and_only_ever_narrows() -> None:
    window = KeyWindow(from_size=10, until_size=20, not_before_ms=1_000, not_after_ms=2_000)
    assert window.refusal(15, 1_500) is None
    assert "retired at tree size 20" in (window.refusal(21, 1_500) or "")
    assert "became current at tree size 10" in (window.refusal(9, 1_500) or "")
    assert "retired at 2000 ms" in (window.refusal(15, 2_001) or "")
    wider = KeyWindow(from_size=0, until_size=None)
    assert window.narrowed(wider) == window
    assert wider.narrowed(KeyWindow(until_size=5)).until_size == 5


def test_verify_log_refuses_a_checkpoint_forged_with_a_retired_key(ctx: AuditContext) -> None:
    asyncio.run(checkpoint_now(ctx))
    old = steal_current_key(ctx)
    asyncio.run(rotate_signing_key(ctx))
    grow(ctx)
    asyncio.run(checkpoint_now(ctx))
    assert asyncio.run(verify_log(ctx)).ok
    tree = LogTree.open(ctx.audit_dir)
    size = asyncio.run(tree.sync(ctx.store))
    stamp = int(datetime.now(UTC).timestamp() * 1000)
    unsigned = Checkpoint(ctx.origin, size, tree.tree.root(size), stamp, _kid(old))
    forged = Checkpoint(**{**unsigned.__dict__, "signature": old.sign(unsigned.signed_text())})
    asyncio.run(ctx.append_audit(forged.to_event(), "checkpoint", str(size)))

    report = asyncio.run(verify_log(ctx))
    assert not report.ok
    assert "signed outside its key's window" in (report.divergence or "")
    assert "retired at tree size" in (report.divergence or "")
    (ctx.audit_dir / "signing" / "keyring.json").unlink()  # the log's word alone
    again = asyncio.run(verify_log(ctx))
    assert "signed outside its key's window" in (again.divergence or "")


def test_a_package_forged_with_a_retired_key_is_refused_by_the_signer_set(
    ctx: AuditContext, auditor: x25519.X25519PrivateKey, tmp_path: Path
) -> None:
    v1, v2, old = rotated_history(ctx, auditor)
    signer_set = tmp_path / "signers.json"
    signer_set.write_bytes(ring(ctx).signer_set().to_bytes(ctx.origin))
    signers = load_signers([signer_set])
    genuine = verify_package(v2, auditor, signers)
    forged = forge_with(old, v2, auditor)

    assert refused(forged, auditor, signers).reason == "key-outside-window"
    # the forgery passes signature checks alone: only the window stops it
    plain = signer_map([old.public_key(), ring(ctx).current_public_key()])
    assert verify_package(forged, auditor, plain).manifest.signer_key_id == _kid(old)
    # the old key's genuine package still verifies under the same signer set
    older = verify_package(v1, auditor, signers)
    assert older.manifest.signer_key_id == _kid(old)
    check_succession(genuine, older)


def test_a_retired_key_forgery_is_refused_with_previous_and_state(
    ctx: AuditContext, auditor: x25519.X25519PrivateKey, tmp_path: Path
) -> None:
    v1, v2, old = rotated_history(ctx, auditor)
    for name, data in (("v1", v1), ("v2", v2)):
        (tmp_path / f"{name}.slpkg").write_bytes(data)
    (tmp_path / "forged.slpkg").write_bytes(forge_with(old, v2, auditor))
    (tmp_path / "auditor.key").write_bytes(_pem(auditor))
    (tmp_path / "set.json").write_bytes(ring(ctx).signer_set().to_bytes(ctx.origin))
    (tmp_path / "old.pub").write_bytes(public_pem(old.public_key()))
    (tmp_path / "new.pub").write_bytes(public_pem(ring(ctx).current_public_key()))
    base = ["--identity", str(tmp_path / "auditor.key")]
    pems = ["--signer", str(tmp_path / "old.pub"), "--signer", str(tmp_path / "new.pub")]

    code, _, err = verify_cli("forged", *base, "--signer", str(tmp_path / "set.json"),
                              "--previous", str(tmp_path / "v1.slpkg"))  # fmt: skip
    assert code == 1 and err.startswith("FAILED [key-outside-window]")
    # bare PEM keys carry no window: the state learns it from the genuine v2
    state = ["--state", str(tmp_path / "seen.json")]
    assert verify_cli("v2", *base, *pems, *state)[0] == 0
    code, _, err = verify_cli("forged", *base, *pems, *state)
    assert code == 1 and err.startswith("FAILED [key-outside-window]"), err


def verify_cli(name: str, *args: str) -> tuple[int, str, str]:
    package = str(Path(args[1]).parent / f"{name}.slpkg")
    result = runner.invoke(cli.audit_app, ["verify", package, *args])
    return result.exit_code, result.stdout, result.stderr


def _pem(key: x25519.X25519PrivateKey) -> bytes:
    return private_pem(key)


# ---------------------------------------------------------------------- replays


def test_an_older_package_after_a_newer_one_is_refused_after_rotation(
    ctx: AuditContext, auditor: x25519.X25519PrivateKey, tmp_path: Path
) -> None:
    v1, v2, _ = rotated_history(ctx, auditor)
    signers = ring(ctx).signer_set()
    p1, p2 = (verify_package(d, auditor, signers) for d in (v1, v2))
    assert p1.manifest.signer_key_id != p2.manifest.signer_key_id
    state = VerifierState(tmp_path / "seen.json")
    state.check(p2)
    state.record(p2)
    with pytest.raises(PackageInvalid) as caught:
        VerifierState(tmp_path / "seen.json").check(p1)
    assert caught.value.reason == "replayed-older-package"


def test_previous_accepts_any_older_version_the_consistency_proof_covers(
    ctx: AuditContext, auditor: x25519.X25519PrivateKey
) -> None:
    v1 = export(ctx, auditor, "v1")
    grow(ctx)
    v2 = export(ctx, auditor, "v2")
    asyncio.run(rotate_signing_key(ctx))
    grow(ctx)
    v3 = export(ctx, auditor, "v3")
    signers = ring(ctx).signer_set()
    p1, p2, p3 = (verify_package(d, auditor, signers) for d in (v1, v2, v3))
    check_succession(p3, p2)
    check_succession(p3, p1)  # skips a version: the proof from v1 is in v3
    with pytest.raises(PackageInvalid) as caught:
        check_succession(p1, p3)
    assert caught.value.reason == "replayed-older-package"
    with pytest.raises(PackageInvalid) as caught:
        check_succession(p3, _other_v1(p1))
    assert caught.value.reason == "chain-broken"


def _other_v1(p1: VerifiedPackage) -> VerifiedPackage:
    """A v1 the chain does not know (another digest)."""
    return VerifiedPackage(
        p1.manifest, p1.manifest_bytes, sha256_hex(b"another"), p1.checkpoint, p1.files
    )


def test_state_files_written_per_signer_before_still_catch_replays(
    ctx: AuditContext, auditor: x25519.X25519PrivateKey, tmp_path: Path
) -> None:
    v1, v2, _ = rotated_history(ctx, auditor)
    signers = ring(ctx).signer_set()
    p1, p2 = (verify_package(d, auditor, signers) for d in (v1, v2))
    legacy = f'{{"scopes": {{"{p2.manifest.signer_key_id} {SCOPE}": {{"package_version": 2, '
    legacy += f'"digest": "{p2.digest}", "tree_size": {p2.checkpoint.tree_size}, '
    legacy += '"root_hash": "00"}}}'
    (tmp_path / "old.json").write_text(legacy)
    with pytest.raises(PackageInvalid) as caught:
        VerifierState(tmp_path / "old.json").check(p1)
    assert caught.value.reason == "replayed-older-package"


# ---------------------------------------------------------------------- broken store


class BrokenStore:
    """The log with one event's bytes replaced, or failing to deliver from one event on."""

    def __init__(self, inner: MemoryEventStore, seq: int, raw: bytes | None) -> None:
        self.inner, self.seq, self.raw = inner, seq, raw

    async def read(
        self, subjects: str = STREAM_SUBJECTS, from_seq: int = 1
    ) -> AsyncIterator[StoredEvent]:
        async for stored in self.inner.read(subjects, from_seq):
            if stored.seq == self.seq and self.raw is None:
                raise EventStoreUnavailable("replay stalled: no message from JetStream")
            yield StoredEvent(
                stored.seq, stored.subject, self.raw if stored.seq == self.seq else stored.raw
            )

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def broken(ctx: AuditContext, seq: int, raw: bytes | None) -> AuditContext:
    assert isinstance(ctx.store, MemoryEventStore)
    store = BrokenStore(ctx.store, seq, raw)
    return AuditContext(store, ctx.keystore, ctx.data_dir, ctx.entity, ctx.actor)  # type: ignore[arg-type]


GARBAGE = b'{"type":"CheckpointSigned","data":\x00\xff not json'


def test_verify_log_names_the_first_bad_event_without_waiting_for_a_checkpoint(
    ctx: AuditContext,
) -> None:
    asyncio.run(checkpoint_now(ctx))
    grow(ctx)
    asyncio.run(LogTree.open(ctx.audit_dir).sync(ctx.store))  # recorded, not yet signed
    last = asyncio.run(ctx.store.last_seq())
    report = asyncio.run(verify_log(broken(ctx, last - 1, b"garbage")))
    assert report.divergence == (
        f"event {last - 1} differs from what was recorded when it was appended"
    )


def test_verify_log_on_unparsable_or_unreadable_events_says_which_one(ctx: AuditContext) -> None:
    asyncio.run(checkpoint_now(ctx))
    for path in (ctx.audit_dir / "tree").glob("*"):
        path.unlink()
    report = asyncio.run(verify_log(broken(ctx, 4, GARBAGE)))
    assert (report.divergence or "").startswith("the audit event at event 4 is unreadable")
    report = asyncio.run(verify_log(broken(ctx, 6, None)))
    assert report.events == 5
    assert report.divergence == (
        "event 6 cannot be read from the log: replay stalled: no message from JetStream"
    )


@pytest.fixture
def broken_cli(ctx: AuditContext) -> Iterator[AuditContext]:
    asyncio.run(checkpoint_now(ctx))
    bad = broken(ctx, 3, GARBAGE)

    @asynccontextmanager
    async def factory() -> AsyncIterator[AuditContext]:
        yield bad

    cli.set_context_factory(factory)
    yield bad
    cli._factory = None


def test_verify_log_cli_on_a_corrupted_store_is_one_line_and_exit_1(
    broken_cli: AuditContext,
) -> None:
    result = runner.invoke(cli.audit_app, ["verify-log"])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr.splitlines() == [
        "DIVERGED after 2 events: event 3 differs from what was recorded when it was appended"
    ]


# ---------------------------------------------------------------------- file modes


def test_keyring_files_are_private(ctx: AuditContext) -> None:
    asyncio.run(checkpoint_now(ctx))
    asyncio.run(rotate_signing_key(ctx))
    signing = ctx.audit_dir / "signing"
    assert stat.S_IMODE((signing / "keyring.json").stat().st_mode) == 0o600
    pems = list(signing.glob("*.pem"))
    assert len(pems) == 1 and stat.S_IMODE(pems[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(signing.stat().st_mode) & 0o077 == 0
