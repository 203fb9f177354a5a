"""Witness cosignatures of checkpoints (https://c2sp.org/tlog-cosignature, Ed25519 only).

By section of the spec:

- *Format*: a cosignature is a note signature line whose key ID is
  ``SHA-256(<name> || "\\n" || 0x04 || Ed25519 public key)[:4]`` and whose signature is a
  ``timestamped_signature``: an 8-byte big-endian POSIX timestamp (seconds) followed by
  the 64-byte Ed25519 signature. A timestamp above 2^63 - 1 is refused.
- *Ed25519 signed message*: ``cosignature/v1\\n``, ``time <timestamp>\\n`` (decimal, no
  leading zeroes), then the whole checkpoint note text (with its final newline, without
  its signature lines).

ML-DSA-44 cosignatures (type 0x06) are not made or read here; a witness of ours uses
Ed25519 (the spec's SHOULD for ML-DSA-44 is not followed: ``cryptography`` offers no
ML-DSA in the version pinned here).
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ed25519

from syncledger.audit.keyfiles import raw_public
from syncledger.audit.note import (
    SIG_COSIGNATURE_V1,
    NoteSignature,
    NoteVerifier,
    SignedNote,
    check_key_name,
    key_id,
)

MAX_TIMESTAMP = (1 << 63) - 1


def cosigned_message(text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


def cosign(text: str, name: str, key: ed25519.Ed25519PrivateKey, timestamp: int) -> NoteSignature:
    """A ``cosignature/v1`` line by witness ``name`` over checkpoint note text ``text``."""
    if not 0 < timestamp <= MAX_TIMESTAMP:
        raise ValueError(f"cosignature timestamp {timestamp} is out of range")
    kid = key_id(check_key_name(name), SIG_COSIGNATURE_V1, raw_public(key.public_key()))
    signature = key.sign(cosigned_message(text, timestamp))
    return NoteSignature(name, kid, timestamp.to_bytes(8, "big") + signature)


def cosigner(name: str, public: ed25519.Ed25519PublicKey) -> NoteVerifier:
    return NoteVerifier(check_key_name(name), SIG_COSIGNATURE_V1, public)


@dataclass(frozen=True)
class Cosignature:
    witness: NoteVerifier
    timestamp: int


def verified_cosignature(note: SignedNote, witness: NoteVerifier) -> Cosignature | None:
    """``witness``'s cosignature on ``note`` if present and valid; None if absent or bad."""
    sig = note.by(witness)
    if sig is None or witness.sig_type != SIG_COSIGNATURE_V1 or len(sig.signature) != 72:
        return None
    timestamp = int.from_bytes(sig.signature[:8], "big")
    if timestamp > MAX_TIMESTAMP:
        return None
    message = cosigned_message(note.text, timestamp)
    return Cosignature(witness, timestamp) if witness.verifies(message, sig.signature[8:]) else None
