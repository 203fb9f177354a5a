"""C2SP signed notes (https://c2sp.org/signed-note): text, a blank line, signature lines.

Followed here, by section of the spec:

- *Format*: the text ends in a newline; the signatures follow the *last* blank line; each
  signature line is ``— <key name> <base64(4-byte key ID || signature)>`` (U+2014, a
  space); no ASCII control character other than newline; key names are non-empty and
  hold no space and no ``+``. Verifiers must accept at least 16 signatures: we accept up
  to :data:`MAX_SIGNATURES` (100) and refuse notes above :data:`MAX_NOTE_BYTES`.
- *Signatures*: signatures of unknown keys (name and key ID not both matching) are
  ignored; a signature of a known key that fails makes the whole note refused; a note
  with no verified signature of a known key is refused.
- *Ed25519 signatures*: ``key ID = SHA-256(name || 0x0A || 0x01 || public key)[:4]``
  (the spec's example vkey and note are a unit test).
- *Verifier keys*: ``<name>+<hex key ID>+<base64(type byte || public key)>``; type
  ``0x01`` (Ed25519 note signatures) and ``0x04`` (tlog-cosignature Ed25519 cosignatures,
  :mod:`syncledger.audit.note_cosignature`) are the two read here; others are refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ed25519

from syncledger.audit.errors import AuditError
from syncledger.audit.keyfiles import raw_public
from syncledger.audit.signing import verify_signature

SIG_ED25519 = 0x01
SIG_COSIGNATURE_V1 = 0x04
SIGNATURE_PREFIX = "\u2014 "
MAX_SIGNATURES = 100
MAX_NOTE_BYTES = 1 << 20
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")


class NoteError(AuditError):
    """A signed note is malformed or does not verify."""


def check_key_name(name: str) -> str:
    if not name or "+" in name or any(c.isspace() for c in name):
        raise NoteError(f"{name!r} is not a note key name (non-empty, no spaces, no '+')")
    return name


def key_id(name: str, sig_type: int, public: bytes) -> bytes:
    """signed-note §Signatures: ``SHA-256(name || 0x0A || type || public key)[:4]``."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public).digest()[:4]


@dataclass(frozen=True)
class NoteVerifier:
    """A trusted key: name, signature type and Ed25519 public key (its vkey)."""

    name: str
    sig_type: int
    public_key: ed25519.Ed25519PublicKey

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.sig_type, raw_public(self.public_key))

    def vkey(self) -> str:
        material = base64.b64encode(bytes([self.sig_type]) + raw_public(self.public_key))
        return f"{self.name}+{self.key_id.hex()}+{material.decode()}"

    @classmethod
    def from_vkey(cls, text: str) -> NoteVerifier:
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise NoteError(f"{text!r} is not a verifier key (<name>+<key id>+<key>)")
        name, hex_id, b64 = parts
        material = _b64(b64, "verifier key")
        if len(material) != 33 or material[0] not in (SIG_ED25519, SIG_COSIGNATURE_V1):
            raise NoteError(f"verifier key {name}: not an Ed25519 (0x01 or 0x04) key")
        public = ed25519.Ed25519PublicKey.from_public_bytes(material[1:])
        verifier = cls(check_key_name(name), material[0], public)
        if verifier.key_id.hex() != hex_id.lower():
            raise NoteError(f"verifier key {name}: key id {hex_id} does not match its key")
        return verifier

    def verifies(self, message: bytes, signature: bytes) -> bool:
        return verify_signature(self.public_key, signature, message)


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        payload = base64.b64encode(self.key_id + self.signature).decode()
        return f"{SIGNATURE_PREFIX}{self.name} {payload}\n"

    @classmethod
    def parse(cls, line: str) -> NoteSignature:
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError(f"not a note signature line: {line[:40]!r}")
        name, _, b64 = line[len(SIGNATURE_PREFIX) :].partition(" ")
        raw = _b64(b64, "signature")
        if len(raw) < 5 or " " in b64:
            raise NoteError(f"signature of {name} is too short")
        return cls(check_key_name(name), raw[:4], raw[4:])


@dataclass(frozen=True)
class SignedNote:
    text: str
    signatures: tuple[NoteSignature, ...]

    def render(self) -> bytes:
        return (self.text + "\n" + "".join(s.line() for s in self.signatures)).encode()

    def with_signatures(self, more: Iterable[NoteSignature]) -> SignedNote:
        """This note with ``more`` signatures added (one per name and key ID)."""
        seen = {(s.name, s.key_id) for s in self.signatures}
        extra = [s for s in more if (s.name, s.key_id) not in seen]
        return SignedNote(self.text, (*self.signatures, *extra))

    def by(self, verifier: NoteVerifier) -> NoteSignature | None:
        for sig in self.signatures:
            if sig.name == verifier.name and sig.key_id == verifier.key_id:
                return sig
        return None


def sign_note(
    text: str, name: str, key: ed25519.Ed25519PrivateKey, sig_type: int = SIG_ED25519
) -> NoteSignature:
    """An Ed25519 note signature over ``text`` (signed-note §Ed25519 signatures)."""
    _check_text(text)
    kid = key_id(check_key_name(name), sig_type, raw_public(key.public_key()))
    return NoteSignature(name, kid, key.sign(text.encode()))


def parse_note(data: bytes) -> SignedNote:
    """Split a signed note at its last blank line; no signature is verified here."""
    if len(data) > MAX_NOTE_BYTES:
        raise NoteError(f"the note is larger than {MAX_NOTE_BYTES} bytes")
    try:
        whole = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NoteError("the note is not UTF-8") from exc
    cut = whole.rfind("\n\n")
    if cut < 0 or not whole.endswith("\n"):
        raise NoteError("the note has no blank line before its signatures")
    text, lines = whole[: cut + 1], whole[cut + 2 :].splitlines()
    _check_text(text)
    if not lines or len(lines) > MAX_SIGNATURES:
        raise NoteError(f"the note has {len(lines)} signatures (1–{MAX_SIGNATURES} allowed)")
    return SignedNote(text, tuple(NoteSignature.parse(line) for line in lines))


def verify_note(note: SignedNote, verifiers: Sequence[NoteVerifier]) -> list[NoteVerifier]:
    """The known keys whose Ed25519 note signature verifies over the text.

    A known key's failing signature refuses the whole note; none verified refuses it too.
    (Cosignature verifiers sign another message: :mod:`~syncledger.audit.note_cosignature`.)
    """
    verified = []
    for verifier in verifiers:
        sig = note.by(verifier)
        if sig is None:
            continue
        if not verifier.verifies(note.text.encode(), sig.signature):
            raise NoteError(f"the signature of known key {verifier.name} does not verify")
        verified.append(verifier)
    if not verified:
        raise NoteError("the note carries no signature of a trusted key")
    return verified


def _check_text(text: str) -> None:
    if not text.endswith("\n") or _CONTROL.search(text):
        raise NoteError("note text must end in a newline and hold no control characters")


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteError(f"the {what} is not base64") from exc
