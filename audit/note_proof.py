"""Inclusion proofs as C2SP tlog-proofs (https://c2sp.org/tlog-proof, *Format*), so an
auditor's own tools check an event's place in the log without syncledger.

A proof is the line ``c2sp.org/tlog-proof@v1``, an optional ``extra <base64>`` line (not
written here: the auditor has the event itself), ``index <zero-based leaf index>``, the
RFC 6962 inclusion path (one base64 SHA-256 hash a line, the leaf's sibling first), an
empty line, then the checkpoint note verbatim (tlog-checkpoint), with the log's
signature and the cosignatures the data directory holds for it.

The leaf of event ``seq`` is index ``seq - 1``; its leaf hash is the RFC 9162 hash of
the event's exact stored bytes (``SHA-256(0x00 || bytes)``). Verifying (*Verifying a tlog
proof*): the checkpoint must be signed by a trusted log key, cosigned by each required
witness, and the path must lead from the leaf hash to its root hash.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass

from syncledger.audit.checkpoints import Checkpoint, open_keyring
from syncledger.audit.context import AuditContext
from syncledger.audit.merkle import verify_inclusion
from syncledger.audit.note import NoteError, NoteVerifier, SignedNote, parse_note, verify_note
from syncledger.audit.note_checkpoint import parse_note_text
from syncledger.audit.note_cosignature import verified_cosignature
from syncledger.audit.witness_publish import WitnessedStore

HEADER = "c2sp.org/tlog-proof@v1"


@dataclass(frozen=True)
class TlogProof:
    index: int
    path: tuple[bytes, ...]
    note: SignedNote
    extra: bytes | None = None

    def render(self) -> bytes:
        lines = [HEADER]
        if self.extra is not None:
            lines.append("extra " + base64.b64encode(self.extra).decode())
        lines.append(f"index {self.index}")
        lines += [base64.b64encode(h).decode() for h in self.path]
        return ("\n".join(lines) + "\n\n").encode() + self.note.render()


def parse_tlog_proof(data: bytes) -> TlogProof:
    head, sep, rest = data.partition(b"\n\n")
    lines = head.decode("utf-8", "replace").split("\n")
    if not sep or lines[0] != HEADER:
        raise NoteError(f"not a {HEADER} proof")
    extra = None
    if len(lines) > 1 and lines[1].startswith("extra "):
        extra = _b64(lines.pop(1)[6:])
    if len(lines) < 2 or not lines[1].startswith("index ") or not lines[1][6:].isdigit():
        raise NoteError("the proof has no 'index <n>' line")
    path = tuple(_b64(line) for line in lines[2:])
    return TlogProof(int(lines[1][6:]), path, parse_note(rest), extra)


def verify_tlog_proof(
    proof: TlogProof,
    leaf_hash: bytes,
    logs: Sequence[NoteVerifier],
    witnesses: Sequence[NoteVerifier] = (),
) -> None:
    """Raise :class:`NoteError` unless the proof holds for ``leaf_hash``."""
    verify_note(proof.note, logs)
    for witness in witnesses:
        if verified_cosignature(proof.note, witness) is None:
            raise NoteError(f"the checkpoint carries no valid cosignature of {witness.name}")
    body = parse_note_text(proof.note.text)
    if not verify_inclusion(proof.index, body.tree_size, leaf_hash, proof.path, body.root_hash):
        raise NoteError(f"leaf {proof.index} is not in the tree of size {body.tree_size}")


async def checkpoint_note(ctx: AuditContext, cp: Checkpoint) -> SignedNote | None:
    """``cp`` as a C2SP note with the cosignatures kept for it (None: a v1 checkpoint)."""
    keyring = await open_keyring(ctx)
    note = cp.note(keyring.signer_record(cp.key_id).public_key)
    witnessed = WitnessedStore(ctx.audit_dir).at(cp.tree_size)
    if note is not None and witnessed is not None and witnessed.text == note.text:
        return note.with_signatures(witnessed.signatures)
    return note


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteError("a proof line is not base64") from exc
