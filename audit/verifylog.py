"""``audit verify-log``: recompute the Merkle tree of the whole stream and check it against
every signed checkpoint in it; report the first divergence.

The tree is rebuilt from the stored bytes (the cached tree is not trusted). Each
``CheckpointSigned`` must be signed by a known key and commit to exactly the root the log
gives at its size. Signing keys are the local keyring's, plus keys announced in the log
by ``SigningKeyRotated`` with a valid endorsement from a key already trusted (the first
announced key is trusted when no local keyring exists). Each key may only sign inside its
window (:mod:`syncledger.audit.keywindow`): a rotation closes the old key's window at the
size it endorsed (or, for rotations recorded before windows existed, at the size before
the rotation event), so a checkpoint by a retired key over a later tree is refused.

Given trusted witnesses (:mod:`syncledger.audit.witness_check`), the log must also agree
with every head they cosigned: a witnessed tree size above the log's is a truncation, a
different root at a witnessed size a rewrite (re-signed by this log's keys) or a rebuild
(under keys the witness never saw sign it); a witness with no cosigned head for this
origin is itself a failure. A key installed without its predecessor's endorsement
(``SigningKeyRotated`` with no endorsement: a lost-key rotation) is trusted only when its
first checkpoint is one a trusted witness cosigned; without witnesses that is a warning.

The leaf hashes recorded when events were appended (``audit/tree``) are compared as the
log is read, so a changed event is named as soon as it is read; an event the store cannot
give back, or an audit event that does not parse, ends the check with one line naming it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ed25519
from pydantic import ValidationError as PydanticValidationError

from syncledger.audit.checkpoints import Checkpoint
from syncledger.audit.context import AuditContext
from syncledger.audit.events import CheckpointSigned, SigningKeyRotated
from syncledger.audit.keywindow import KeyWindow, SignerSet, TrustedSigner
from syncledger.audit.merkle import MerkleTree, leaf_hash
from syncledger.audit.note import NoteVerifier, SignedNote
from syncledger.audit.signing import SigningKeyring, endorsement_message, public_from_b64
from syncledger.audit.signing import verify_signature as sig_ok
from syncledger.audit.treefiles import TreeFiles
from syncledger.audit.witness_check import WitnessedHeads
from syncledger.audit.witness_publish import WitnessedStore
from syncledger.core.decode import decode_payload
from syncledger.core.errors import SyncLedgerError, UndecodableEvent

#: the stored bytes of the only events verification reads, found without parsing the rest
_CHECKPOINT = f'"type":"{CheckpointSigned.__name__}"'.encode()
_ROTATED = f'"type":"{SigningKeyRotated.__name__}"'.encode()


@dataclass
class LogReport:
    events: int = 0
    checkpoints: int = 0
    divergence: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.divergence is None


class _Verifier:
    def __init__(
        self, trusted: SignerSet, cached: MerkleTree, heads: WitnessedHeads | None = None
    ) -> None:
        self.trusted = trusted
        self.heads = heads or WitnessedHeads([], [])
        self.unendorsed: set[str] = set()
        self.tofu = not trusted.signers
        self.cached = cached
        self.tree = MerkleTree()
        self.report = LogReport()
        self.verified_size = 0

    def add(self, seq: int, raw: bytes) -> bool:
        """Take one event; False once a divergence was found."""
        if seq != self.tree.size + 1:
            return self._diverged(
                f"event {self.tree.size + 1} is missing from the log "
                f"(the next stored event is {seq})"
            )
        leaf = leaf_hash(raw)
        if seq <= self.cached.size and self.cached.leaf(seq - 1) != leaf:
            return self._diverged(
                f"event {seq} differs from what was recorded when it was appended"
            )
        self.tree.append(leaf)
        self.report.events += 1
        if _CHECKPOINT in raw or _ROTATED in raw:
            return self._audit_event(seq, raw)
        return True

    def _audit_event(self, seq: int, raw: bytes) -> bool:
        try:
            match decode_payload(json.loads(raw)):
                case CheckpointSigned() as signed:
                    return self._checkpoint(seq, Checkpoint.from_event(signed))
                case SigningKeyRotated() as rotated:
                    self._rotated(seq, rotated)
        except (UndecodableEvent, PydanticValidationError, ValueError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return self._diverged(f"the audit event at event {seq} is unreadable: {first}")
        return True

    def _checkpoint(self, seq: int, cp: Checkpoint) -> bool:
        if not cp.verify(self.trusted.public_keys()):
            return self._diverged(
                f"checkpoint at event {seq} (tree size {cp.tree_size}) is "
                f"not validly signed by a known key ({cp.key_id})"
            )
        outside = self.trusted.refusal(cp.key_id, cp.tree_size, cp.timestamp_ms)
        if outside is not None:
            return self._diverged(
                f"checkpoint at event {seq} (tree size {cp.tree_size}) is signed outside "
                f"its key's window: {outside}"
            )
        if cp.tree_size >= seq:
            return self._diverged(f"checkpoint at event {seq} claims tree size {cp.tree_size}")
        if self.tree.root(cp.tree_size) != cp.root_hash:
            return self._diverged(self._mismatch(seq, cp))
        if cp.key_id in self.unendorsed and not self._first_of_lost_key(seq, cp):
            return False
        self.report.checkpoints += 1
        self.verified_size = max(self.verified_size, cp.tree_size)
        return True

    def _first_of_lost_key(self, seq: int, cp: Checkpoint) -> bool:
        """The first checkpoint of a key nothing endorsed: witnessed, or not trusted."""
        self.unendorsed.discard(cp.key_id)
        if not self.heads:
            self.report.warnings.append(
                f"key {cp.key_id} replaced a lost key without endorsement; its checkpoints "
                "are trusted only when a witness cosigned its first one: give --witness"
            )
            return True
        if self.heads.cosigned(cp.note_text()):
            return True
        return self._diverged(
            f"checkpoint at event {seq} (tree size {cp.tree_size}) is the first by key "
            f"{cp.key_id}, installed without its predecessor's endorsement, and no trusted "
            "witness cosigned it"
        )

    def _mismatch(self, seq: int, cp: Checkpoint) -> str:
        where = self._first_changed_leaf(cp.tree_size)
        changed = (
            f"event {where} differs from what was recorded when it was appended"
            if where
            else f"an event in {self.verified_size + 1}–{cp.tree_size} differs from what was signed"
        )
        return (
            f"checkpoint at event {seq} (tree size {cp.tree_size}, signed by {cp.key_id}) "
            f"does not match the log: {changed}"
        )

    def _first_changed_leaf(self, size: int) -> int | None:
        for i in range(self.verified_size, min(size, self.cached.size)):
            if self.cached.leaf(i) != self.tree.leaf(i):
                return i + 1
        return None

    def _rotated(self, seq: int, data: SigningKeyRotated) -> None:
        new = public_from_b64(data.new_public_key)
        if data.old_key_id is not None and data.endorsement is None:
            self._lost_key(seq, data, new)
        elif self._endorsed(data, new) or (self.tofu and data.old_key_id is None):
            if data.new_key_id not in self.trusted.signers:
                window = KeyWindow(from_size=data.new_from_size or 0)
                self.trusted.signers[data.new_key_id] = TrustedSigner(new, window)
            if data.old_key_id is not None:
                until = data.old_until_size if data.old_until_size is not None else seq - 1
                self.trusted.narrow({data.old_key_id: KeyWindow(until_size=until)})
            self.tofu = False

    def _lost_key(self, seq: int, data: SigningKeyRotated, new: ed25519.Ed25519PublicKey) -> None:
        """A lost-key rotation: the old key signs no more; the new one waits for a witness."""
        if data.old_key_id not in self.trusted.signers:
            return
        until = data.old_until_size if data.old_until_size is not None else seq - 1
        self.trusted.narrow({data.old_key_id: KeyWindow(until_size=until)})
        window = KeyWindow(from_size=data.new_from_size or 0)
        known = self.trusted.get(data.new_key_id)
        if known is None:
            self.trusted.signers[data.new_key_id] = TrustedSigner(new, window)
        self.unendorsed.add(data.new_key_id)

    def _endorsed(self, data: SigningKeyRotated, new: ed25519.Ed25519PublicKey) -> bool:
        old = self.trusted.get(data.old_key_id or "")
        if old is None or data.endorsement is None:
            return False
        window = None
        if data.old_until_size is not None and data.at_ms is not None:
            window = (data.new_from_size or 0, data.old_until_size, data.at_ms)
        message = endorsement_message(new, window)
        return sig_ok(old.public_key, base64.b64decode(data.endorsement), message)

    def _diverged(self, message: str) -> bool:
        self.report.divergence = message
        return False

    def unreadable(self, exc: SyncLedgerError) -> LogReport:
        """The store failed while being read: the first event it could not give is bad."""
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        self._diverged(f"event {self.tree.size + 1} cannot be read from the log: {first}")
        return self.report

    def finish(self, origin: str) -> LogReport:
        if self.report.ok and self.cached.size > self.tree.size:
            self._diverged(
                f"the log holds {self.tree.size} events but {self.cached.size} were "
                "recorded before: events were removed"
            )
        if self.report.ok and self.heads:
            self._check_witnessed(origin)
        if self.report.ok and self.report.checkpoints == 0:
            self.report.warnings.append("no signed checkpoint in the log yet")
        elif self.report.ok and self.verified_size < self.tree.size:
            self.report.warnings.append(
                f"events {self.verified_size + 1}–{self.tree.size} are not covered by a "
                "checkpoint yet (run `syncledger audit checkpoint`)"
            )
        return self.report

    def _check_witnessed(self, origin: str) -> None:
        missing = self.heads.missing_witnesses(origin)
        if missing:
            self._diverged(
                f"witness {', '.join(missing)} cosigned no checkpoint of {origin}: "
                "nothing outside the data directory vouches for this log"
            )
            return
        keys = self.trusted.public_keys().values()
        why = self.heads.divergence(origin, self.tree, keys)
        if why is not None:
            self._diverged(why)


async def verify_log(
    ctx: AuditContext,
    witnesses: Sequence[NoteVerifier] = (),
    witnessed: Iterable[SignedNote] = (),
) -> LogReport:
    """Check the whole log; with ``witnesses``, also against the heads they cosigned
    (``witnessed``: checkpoints fetched from them or given, plus those kept locally)."""
    trusted = SigningKeyring.open(ctx.audit_dir / "signing").signer_set()
    kept = WitnessedStore(ctx.audit_dir).notes() if witnesses else []
    heads = WitnessedHeads(witnesses, [*witnessed, *kept])
    verifier = _Verifier(trusted, TreeFiles(ctx.audit_dir / "tree").load(), heads)
    try:
        async for stored in ctx.store.read():
            if not verifier.add(stored.seq, stored.raw):
                break
    except SyncLedgerError as exc:
        return verifier.unreadable(exc)
    return verifier.finish(ctx.origin)
