"""What a log must agree with once witnesses are trusted: the heads they cosigned.

A *witnessed head* is a C2SP checkpoint carrying a valid ``cosignature/v1`` of a trusted
witness (tlog-cosignature). Its log signature is not re-checked here: the witness only
cosigns what a log key it trusts signed, and a rebuilt log is told apart by that key.

Against the log's own Merkle tree (:mod:`syncledger.audit.verifylog`), each head says:

- its tree size is above the log's: the log was truncated after it was witnessed;
- the log's root at that size differs: the log was rewritten after it was witnessed
  (re-signed by a key of this log), or rebuilt (its keys are not the one the witness
  saw sign that head) — either way not consistent with the witnessed head.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ed25519

from syncledger.audit.merkle import MerkleTree
from syncledger.audit.note import NoteError, NoteVerifier, SignedNote
from syncledger.audit.note_checkpoint import CheckpointBody, log_verifier, parse_note_text
from syncledger.audit.note_cosignature import verified_cosignature


@dataclass(frozen=True)
class WitnessedHead:
    note: SignedNote
    body: CheckpointBody
    witnesses: tuple[str, ...]

    def signed_by(self, origin: str, key: ed25519.Ed25519PublicKey) -> bool:
        """The note carries a signature line of ``key`` (as this log's note key)."""
        verifier = log_verifier(origin, key)
        sig = self.note.by(verifier)
        return sig is not None and verifier.verifies(self.note.text.encode(), sig.signature)


class WitnessedHeads:
    def __init__(self, witnesses: Sequence[NoteVerifier], notes: Iterable[SignedNote]) -> None:
        self.witnesses = list(witnesses)
        self.heads: list[WitnessedHead] = []
        for note in notes:
            self._take(note)
        self.heads.sort(key=lambda h: h.body.tree_size)

    def _take(self, note: SignedNote) -> None:
        names = tuple(w.name for w in self.witnesses if verified_cosignature(note, w))
        if not names:
            return
        try:
            self.heads.append(WitnessedHead(note, parse_note_text(note.text), names))
        except NoteError:
            return

    def __bool__(self) -> bool:
        return bool(self.witnesses)

    def of(self, origin: str) -> list[WitnessedHead]:
        return [h for h in self.heads if h.body.origin == origin]

    def cosigned(self, text: str) -> bool:
        return any(h.note.text == text for h in self.heads)

    def missing_witnesses(self, origin: str) -> list[str]:
        seen = {name for h in self.of(origin) for name in h.witnesses}
        return [w.name for w in self.witnesses if w.name not in seen]

    def divergence(
        self, origin: str, tree: MerkleTree, keys: Iterable[ed25519.Ed25519PublicKey]
    ) -> str | None:
        """The first witnessed head this log contradicts, in one line; None if none."""
        keys = list(keys)
        for head in self.of(origin):
            why = _against(head, origin, tree, keys)
            if why is not None:
                return why
        return None


def _against(
    head: WitnessedHead, origin: str, tree: MerkleTree, keys: list[ed25519.Ed25519PublicKey]
) -> str | None:
    size, by = head.body.tree_size, ", ".join(head.witnesses)
    ours = any(head.signed_by(origin, key) for key in keys)
    agrees = size <= tree.size and tree.root(size) == head.body.root_hash
    if agrees:
        return None
    if not ours:
        return (
            f"the log is not consistent with the head witness {by} cosigned at tree size "
            f"{size}, and none of its keys signed that head: it was rebuilt under a new key"
        )
    if size > tree.size:
        return (
            f"the log holds {tree.size} events but witness {by} cosigned tree size {size}: "
            f"events after {tree.size} were removed (truncated)"
        )
    return (
        f"the log differs from the checkpoint witness {by} cosigned at tree size {size}: "
        "it was rewritten and re-signed after it was witnessed"
    )
