"""The C2SP checkpoint text (https://c2sp.org/tlog-checkpoint, *Note text*) and the log's
note key (*Signatures*: the key name SHOULD be the origin).

The text is the origin line, the tree size (decimal, no leading zeroes) and the base64
RFC 6962 root hash, each ending in a newline; extension lines are read past (never
written: the spec does not recommend them).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ed25519

from syncledger.audit.note import SIG_ED25519, NoteError, NoteVerifier, check_key_name


def note_text(origin: str, size: int, root: bytes) -> str:
    """tlog-checkpoint §Note text: origin, tree size, base64 root hash."""
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


@dataclass(frozen=True)
class CheckpointBody:
    origin: str
    tree_size: int
    root_hash: bytes


def parse_note_text(text: str) -> CheckpointBody:
    """The first three lines of a checkpoint note; extension lines are left aside."""
    lines = text.split("\n")
    if len(lines) < 4 or not all(lines[:3]):
        raise NoteError("a checkpoint has an origin, a tree size and a root hash line")
    origin, size, root = lines[:3]
    if not size.isdigit() or (size != "0" and size.startswith("0")):
        raise NoteError(f"checkpoint tree size {size!r} is not a decimal without leading 0")
    try:
        digest = base64.b64decode(root, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteError("checkpoint root hash is not base64") from exc
    if len(digest) != 32:
        raise NoteError("checkpoint root hash is not a SHA-256 hash")
    return CheckpointBody(origin, int(size), digest)


def log_verifier(origin: str, public: ed25519.Ed25519PublicKey) -> NoteVerifier:
    """The note verifier (and vkey) of a log key: named after the origin, type 0x01."""
    return NoteVerifier(check_key_name(origin), SIG_ED25519, public)
