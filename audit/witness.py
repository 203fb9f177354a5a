"""A checkpoint witness (https://c2sp.org/tlog-witness): it cosigns a log's checkpoint only
when it is consistent with the last one it cosigned for that origin.

Its state lives in its own directory, apart from any data directory (created 0700):

- ``witness.json`` (0600): its name and, per log origin, the log vkeys it trusts;
- ``witness.pem`` (PKCS#8, 0600): its Ed25519 key;
- ``checkpoints/<sha256 of the origin, hex>`` (0600): the latest checkpoint it cosigned,
  as a signed note carrying the log's verified signature(s) and its cosignature. Written
  atomically, checked and replaced under one lock (tlog-witness *add-checkpoint*: the
  check of the old size and the update are atomic, so a slower request cannot roll back).

:meth:`Witness.add_checkpoint` answers as tlog-witness §add-checkpoint says: 404 unknown
origin, 403 no (or a failing) signature of a trusted log key, 400 an old size above the
checkpoint's (or a body that is not the spec's), 409 an old size that is not the latest
cosigned one (body: that size and a newline, ``text/x.tlog.size``), 422 a proof given
from size 0, a consistency proof that does not verify, or an equal size with another root;
200 with the cosignature line. A fork, a rollback and a truncation are thus all refused:
none is consistent with the head the witness holds. The 409/422 requests are not logged
(the spec's MAY).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519

from syncledger.audit.errors import AuditError
from syncledger.audit.files import atomic_write, locked
from syncledger.audit.keyfiles import load_ed25519_private, private_pem, write_secret_file
from syncledger.audit.merkle import verify_consistency
from syncledger.audit.note import (
    SIG_ED25519,
    NoteError,
    NoteVerifier,
    SignedNote,
    check_key_name,
    parse_note,
    verify_note,
)
from syncledger.audit.note_checkpoint import CheckpointBody, parse_note_text
from syncledger.audit.note_cosignature import cosign, cosigner

SIZE_TYPE = "text/x.tlog.size"
MAX_PROOF_LINES = 63
EMPTY_ROOT = hashlib.sha256(b"").digest()  # RFC 9162 §2.1.1: the hash of an empty list


class WitnessError(AuditError):
    """The witness's state directory is missing, unreadable or misconfigured."""


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, body, content type."""

    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


def _refuse(status: int, why: str) -> Answer:
    return Answer(status, (why + "\n").encode())


@dataclass(frozen=True)
class Submission:
    old_size: int
    proof: tuple[bytes, ...]
    note: SignedNote
    body: CheckpointBody


def parse_submission(data: bytes) -> Submission:
    """``old N``, proof lines, a blank line, the checkpoint (tlog-witness §add-checkpoint)."""
    head, sep, rest = data.partition(b"\n\n")
    lines = head.split(b"\n") if sep else []
    if not lines or not lines[0].startswith(b"old "):
        raise NoteError("the body does not start with an 'old <size>' line and a blank line")
    size = lines[0][4:].decode("ascii", "replace")
    if not size.isdigit() or (size != "0" and size.startswith("0")):
        raise NoteError(f"old size {size!r} is not a decimal without leading zeroes")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise NoteError(f"more than {MAX_PROOF_LINES} consistency proof lines")
    try:
        proof = tuple(base64.b64decode(line, validate=True) for line in lines[1:])
    except (binascii.Error, ValueError) as exc:
        raise NoteError("a consistency proof line is not base64") from exc
    note = parse_note(rest)
    return Submission(int(size), proof, note, parse_note_text(note.text))


@dataclass
class Witness:
    """One witness: its state directory, name, key and the logs it follows."""

    directory: Path
    name: str
    key: ed25519.Ed25519PrivateKey
    logs: dict[str, list[str]] = field(default_factory=dict)
    clock: Callable[[], float] = time.time

    # ---------------------------------------------------------------- state

    @classmethod
    def create(cls, directory: Path, name: str) -> Witness:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        directory.chmod(0o700)
        if (directory / "witness.json").exists():
            raise WitnessError(f"{directory} holds a witness already")
        key = ed25519.Ed25519PrivateKey.generate()
        write_secret_file(directory / "witness.pem", private_pem(key))
        witness = cls(directory, check_key_name(name), key)
        witness.save()
        return witness

    @classmethod
    def open(cls, directory: Path) -> Witness:
        try:
            doc = json.loads((directory / "witness.json").read_text())
            key = load_ed25519_private(directory / "witness.pem")
            return cls(directory, doc["name"], key, {o: list(v) for o, v in doc["logs"].items()})
        except (OSError, ValueError, KeyError, TypeError, AuditError) as exc:
            raise WitnessError(
                f"{directory} is not a witness state directory (run `syncledger witness "
                f"init`): {exc}"
            ) from exc

    def save(self) -> None:
        doc = {"name": self.name, "logs": self.logs}
        data = json.dumps(doc, indent=2, sort_keys=True).encode()
        atomic_write(self.directory / "witness.json", data, mode=0o600)

    def trust(self, vkey: str) -> NoteVerifier:
        """Follow the log whose origin is the vkey's name, trusting that key for it."""
        verifier = NoteVerifier.from_vkey(vkey)
        if verifier.sig_type != SIG_ED25519:
            raise WitnessError(f"{verifier.name}: a log key is an Ed25519 note key (type 0x01)")
        with locked(self.directory / ".lock"):
            self.trusted_keys(verifier.name)  # what other processes added meanwhile
            keys = self.logs.setdefault(verifier.name, [])
            if verifier.vkey() not in keys:
                keys.append(verifier.vkey())
            self.save()
        return verifier

    def trusted_keys(self, origin: str) -> list[NoteVerifier]:
        """The log keys trusted for ``origin``, re-read: ``trust`` may run beside ``serve``."""
        try:
            doc = json.loads((self.directory / "witness.json").read_text())
            self.logs = {o: list(v) for o, v in doc["logs"].items()}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise WitnessError(f"{self.directory}/witness.json is unreadable: {exc}") from exc
        return [NoteVerifier.from_vkey(v) for v in self.logs.get(origin, [])]

    @property
    def verifier(self) -> NoteVerifier:
        return cosigner(self.name, self.key.public_key())

    def _path(self, origin: str) -> Path:
        return self.directory / "checkpoints" / hashlib.sha256(origin.encode()).hexdigest()

    def latest(self, origin: str) -> SignedNote | None:
        """The latest checkpoint cosigned for ``origin`` (log and witness signatures)."""
        try:
            return parse_note(self._path(origin).read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, NoteError) as exc:
            raise WitnessError(f"the witness state of {origin} is unreadable: {exc}") from exc

    def latest_by_hash(self, origin_hash: str) -> bytes | None:
        path = self.directory / "checkpoints" / origin_hash.lower()
        if len(origin_hash) != 64 or not path.is_file():
            return None
        return path.read_bytes()

    # ---------------------------------------------------------------- add-checkpoint

    def add_checkpoint(self, data: bytes) -> Answer:
        try:
            sub = parse_submission(data)
        except NoteError as exc:
            return _refuse(400, str(exc))
        trusted = self.trusted_keys(sub.body.origin)
        if not trusted:
            return _refuse(404, f"unknown log origin {sub.body.origin}")
        try:
            signed = verify_note(sub.note, trusted)
        except NoteError as exc:
            return _refuse(403, str(exc))
        if sub.old_size > sub.body.tree_size:
            return _refuse(400, "the old size is above the checkpoint's tree size")
        with locked(self.directory / ".lock"):
            return self._under_lock(sub, signed)

    def _under_lock(self, sub: Submission, signed: list[NoteVerifier]) -> Answer:
        latest = self.latest(sub.body.origin)
        held = parse_note_text(latest.text) if latest is not None else None
        held_size = held.tree_size if held is not None else 0
        if sub.old_size != held_size:
            return Answer(409, f"{held_size}\n".encode(), SIZE_TYPE)
        refusal = _inconsistent(sub, held)
        if refusal is not None:
            return _refuse(422, refusal)
        line = cosign(sub.note.text, self.name, self.key, int(self.clock()))
        kept = [s for s in sub.note.signatures if any(s == sub.note.by(v) for v in signed)]
        record = SignedNote(sub.note.text, (*kept, line))
        path = self._path(sub.body.origin)
        atomic_write(path, record.render(), mode=0o600)
        _sync_directory(path.parent)  # the rename too is on disk before the answer
        return Answer(200, line.line().encode())


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _inconsistent(sub: Submission, held: CheckpointBody | None) -> str | None:
    """Why the submitted checkpoint does not extend the held one; None when it does."""
    if sub.body.tree_size == 0 and sub.body.root_hash != EMPTY_ROOT:
        return "a checkpoint of size 0 must have the empty tree's root hash"
    if held is None or sub.old_size == 0:
        return "a consistency proof from size 0 must be empty" if sub.proof else None
    if sub.old_size == sub.body.tree_size:
        same = held.root_hash == sub.body.root_hash and not sub.proof
        return None if same else "same tree size, another root hash: a fork"
    ok = verify_consistency(
        held.tree_size, sub.body.tree_size, held.root_hash, sub.body.root_hash, sub.proof
    )
    return None if ok else "the consistency proof does not verify: a fork or a rewrite"
