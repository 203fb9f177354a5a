"""Signed checkpoints: Ed25519 over the tree head, appended to the log as events.

Checkpoints are signed as C2SP checkpoints (https://c2sp.org/tlog-checkpoint, *Note
text*): a signed note (:mod:`syncledger.audit.note`) whose text is the origin line, the
tree size in decimal and the base64 RFC 6962/9162 root hash, with no extension lines (the
spec does not recommend them). The signature line's key name is the origin (the spec's
SHOULD) and its key ID the signed-note Ed25519 one, so Go's ``golang.org/x/mod/sumdb/note``
or any C2SP verifier checks it with :func:`log_verifier`'s vkey. The time of a checkpoint
is the log event's, outside what is signed: a key's window is enforced on tree sizes.

Checkpoints signed before this format (kept in logs, which keep their history) signed the
text below; :meth:`Checkpoint.verify` accepts either, so old logs keep verifying.
The ``syncledger-checkpoint/v1`` text (UTF-8, each line ending in a newline)::

    syncledger-checkpoint/v1
    <origin>
    <tree size, decimal>
    <root hash, base64>
    <timestamp, milliseconds since the Unix epoch, decimal>
    <signing key id>

Anyone with the signer's public key can check a checkpoint with any Ed25519 library.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ed25519

from syncledger.audit.context import AuditContext
from syncledger.audit.errors import SigningKeyError
from syncledger.audit.events import CheckpointSigned, SigningKeyRotated, audit_filter
from syncledger.audit.keyfiles import raw_public
from syncledger.audit.logtree import LogTree
from syncledger.audit.note import SIG_ED25519, NoteSignature, SignedNote, key_id
from syncledger.audit.note_checkpoint import note_text
from syncledger.audit.signing import KeyRecord, SigningKeyring, verify_signature
from syncledger.audit.witness_publish import CheckpointPublisher, Published

LABEL = "syncledger-checkpoint/v1"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root_hash: bytes
    timestamp_ms: int
    key_id: str
    signature: bytes = b""

    def signed_text(self) -> bytes:
        lines = (
            LABEL,
            self.origin,
            str(self.tree_size),
            base64.b64encode(self.root_hash).decode(),
            str(self.timestamp_ms),
            self.key_id,
        )
        return "".join(line + "\n" for line in lines).encode()

    def to_event(self) -> CheckpointSigned:
        return CheckpointSigned(
            origin=self.origin,
            tree_size=self.tree_size,
            root_hash=self.root_hash.hex(),
            timestamp_ms=self.timestamp_ms,
            key_id=self.key_id,
            signature=base64.b64encode(self.signature).decode(),
        )

    @classmethod
    def from_event(cls, data: CheckpointSigned) -> Checkpoint:
        return cls(
            data.origin,
            data.tree_size,
            bytes.fromhex(data.root_hash),
            data.timestamp_ms,
            data.key_id,
            base64.b64decode(data.signature),
        )

    def note_text(self) -> str:
        return note_text(self.origin, self.tree_size, self.root_hash)

    def is_note(self, key: ed25519.Ed25519PublicKey) -> bool:
        """Signed as a C2SP checkpoint (not the older ``syncledger-checkpoint/v1`` text)."""
        return verify_signature(key, self.signature, self.note_text().encode())

    def verify(self, keys: dict[str, ed25519.Ed25519PublicKey]) -> bool:
        key = keys.get(self.key_id)
        if key is None:
            return False
        return self.is_note(key) or verify_signature(key, self.signature, self.signed_text())

    def note(self, key: ed25519.Ed25519PublicKey) -> SignedNote | None:
        """This checkpoint as a C2SP signed note; None for a ``syncledger-checkpoint/v1``."""
        if not self.is_note(key):
            return None
        kid = key_id(self.origin, SIG_ED25519, raw_public(key))
        return SignedNote(self.note_text(), (NoteSignature(self.origin, kid, self.signature),))


def sign_checkpoint(
    keyring: SigningKeyring, origin: str, size: int, root: bytes, timestamp_ms: int
) -> Checkpoint:
    """Signed by the key current at signing time (re-read from the keyring)."""

    def text(record: KeyRecord) -> bytes:
        return note_text(origin, size, root).encode()

    kid, signature = keyring.sign_built(text)
    return Checkpoint(origin, size, root, timestamp_ms, kid, signature)


async def open_keyring(ctx: AuditContext) -> SigningKeyring:
    """The signing keyring, created (and announced in the log) on first use."""
    keyring = SigningKeyring.open(ctx.audit_dir / "signing")
    if not keyring.exists:
        announced = keyring.create(ctx.clock())
        await ctx.append_audit(announced, "signing-key", announced.new_key_id)
    return keyring


async def rotate_signing_key(ctx: AuditContext, lost: bool = False) -> SigningKeyRotated:
    """A new signing key, current from the log's size now; the old key's window closes at
    the size reached once it can sign no more (so a checkpoint it was signing meanwhile
    stays inside its window). Appends the endorsed ``SigningKeyRotated``.

    ``lost`` (or the current private key missing): nothing endorses the new key; its first
    checkpoint must be cosigned by a witness (:func:`checkpoint_now`)."""
    keyring = await open_keyring(ctx)
    if lost or not keyring.private_key_present():
        event = keyring.replace_lost(await ctx.store.last_seq(), ctx.clock())
    else:
        rotation = keyring.begin_rotation(await ctx.store.last_seq(), ctx.clock())
        event = rotation.finish(await ctx.store.last_seq())
    await ctx.append_audit(event, "signing-key", event.new_key_id)
    return event


@dataclass(frozen=True)
class LoggedCheckpoint:
    seq: int
    checkpoint: Checkpoint
    published: Published | None = None


async def latest_checkpoint(ctx: AuditContext) -> LoggedCheckpoint | None:
    latest: LoggedCheckpoint | None = None
    async for stored in ctx.store.read(audit_filter("checkpoint")):
        data = stored.envelope().payload()
        if isinstance(data, CheckpointSigned):
            latest = LoggedCheckpoint(stored.seq, Checkpoint.from_event(data))
    return latest


async def checkpoint_now(
    ctx: AuditContext, tree: LogTree | None = None, publisher: CheckpointPublisher | None = None
) -> LoggedCheckpoint:
    """Bring the tree up to date, sign its head and append ``CheckpointSigned``; with a
    ``publisher``, witnesses are asked to cosign it (and it is written to WORM storage).

    A key installed without endorsement (lost-key rotation) has its first checkpoint
    appended only when a witness cosigned it; otherwise :class:`SigningKeyError`."""
    keyring = await open_keyring(ctx)
    tree = tree or LogTree.open(ctx.audit_dir)
    size = await tree.sync(ctx.store)
    if size < keyring.current_record().from_size:  # read just before a rotation
        size = await tree.sync(ctx.store)
    stamp = int(ctx.clock().timestamp() * 1000)
    cp = sign_checkpoint(keyring, ctx.origin, size, tree.tree.root(size), stamp)
    published = await _publish(keyring, cp, tree, publisher)
    seq = await ctx.append_audit(cp.to_event(), "checkpoint", str(size))
    if publisher is not None and published is not None:
        await publisher.publish_worm(published)
    return LoggedCheckpoint(seq, cp, published)


async def _publish(
    keyring: SigningKeyring,
    cp: Checkpoint,
    tree: LogTree,
    publisher: CheckpointPublisher | None,
) -> Published | None:
    record = keyring.signer_record(cp.key_id)
    note = cp.note(record.public_key)
    if publisher is None or note is None or not publisher.witnesses:
        if record.needs_witness:
            raise SigningKeyError(
                _UNWITNESSED.format(kid=cp.key_id, why="no witness is configured")
            )
        return None if publisher is None or note is None else Published(note=note)
    published = await publisher.witness(note, tree.tree)
    if record.needs_witness:
        if not published.cosigned_by:
            why = "; ".join(published.refusals) or "no witness answered"
            raise SigningKeyError(_UNWITNESSED.format(kid=cp.key_id, why=why))
        keyring.mark_witnessed(cp.key_id)
    return published


_UNWITNESSED = (
    "signing key {kid} replaced a lost key: its first checkpoint needs a witness "
    "cosignature and got none ({why}); configure SYNCLEDGER_WITNESSES, have each witness "
    "trust the key's vkey (`syncledger witness trust`), then run `audit checkpoint` again"
)


async def checkpoint_if_grown(
    ctx: AuditContext, tree: LogTree, publisher: CheckpointPublisher | None = None
) -> LoggedCheckpoint | None:
    """A scheduled checkpoint: only when events other than the last checkpoint landed."""
    last = await latest_checkpoint(ctx)
    if last is not None and await ctx.store.last_seq() <= last.seq:
        return None
    return await checkpoint_now(ctx, tree, publisher)


async def checkpoint_every(
    ctx: AuditContext,
    seconds: float,
    stop: asyncio.Event,
    publisher: CheckpointPublisher | None = None,
) -> int:
    """Sign a checkpoint every ``seconds`` while the log grows, until ``stop`` is set.

    Returns how many checkpoints were signed. The composition root runs this next to the
    workers; ``syncledger audit checkpoint --every N`` runs it in the foreground.
    """
    tree = LogTree.open(ctx.audit_dir)
    signed = 0
    while not stop.is_set():
        made = await checkpoint_if_grown(ctx, tree, publisher)
        if made is not None:
            signed += 1
            for refusal in made.published.refusals if made.published else ():
                log.warning("checkpoint at size %d: %s", made.checkpoint.tree_size, refusal)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds)
    return signed
