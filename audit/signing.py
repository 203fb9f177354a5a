"""Ed25519 checkpoint/package signing keys, kept in a keyring under ``<data>/audit/signing``.

``keyring.json`` (mode 0600) lists every key ever used: its public half and the window it
was current for (tree sizes and times, :mod:`syncledger.audit.keywindow`), so checkpoints
signed before a rotation still verify and nothing a retired key signs afterwards does.
Only the current key's private half exists on disk (``<key id>.pem``, PKCS#8, mode 0600).
Rotation endorses the new key and the old key's window with the old key before the old
private key is deleted.

When the current private key is lost (or must not sign again), :meth:`SigningKeyring.
replace_lost` installs a new key without that endorsement. Such a key is marked
``needs_witness``: its first checkpoint is appended only once a witness (C2SP
tlog-witness) cosigned it as consistent with the last checkpoint the witness cosigned
for this log, and verifiers trust it only through that cosignature
(:mod:`syncledger.audit.verifylog`).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from syncledger.audit.errors import SigningKeyError
from syncledger.audit.events import SigningKeyRotated
from syncledger.audit.files import atomic_write, locked
from syncledger.audit.keyfiles import (
    key_id,
    load_ed25519_private,
    private_pem,
    raw_public,
    write_secret_file,
)
from syncledger.audit.keywindow import KeyWindow, SignerSet, TrustedSigner, ms_of

ENDORSEMENT_LABEL = b"syncledger-signing-key-endorsement/v1\n"
ENDORSEMENT_LABEL_V2 = b"syncledger-signing-key-endorsement/v2\n"


def endorsement_message(
    new_key: ed25519.Ed25519PublicKey, window: tuple[int, int, int] | None = None
) -> bytes:
    """What the old key signs: the new key, and (v2) ``(new_from_size, old_until_size,
    retired at ms)``, so the old key's own retirement is part of what it endorsed."""
    if window is None:
        return ENDORSEMENT_LABEL + raw_public(new_key)
    tail = "".join(f"{n}\n" for n in window).encode()
    return ENDORSEMENT_LABEL_V2 + raw_public(new_key) + tail


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def public_from_b64(value: str) -> ed25519.Ed25519PublicKey:
    return ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(value))


def verify_signature(key: ed25519.Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True)
class KeyRecord:
    key_id: str
    public_key: ed25519.Ed25519PublicKey
    created_at: str
    retired_at: str | None = None
    from_size: int = 0
    until_size: int | None = None
    #: installed without its predecessor's endorsement: trusted once witnessed
    needs_witness: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "needs_witness": self.needs_witness,
            "public_key": base64.b64encode(raw_public(self.public_key)).decode(),
            "created_at": self.created_at,
            "retired_at": self.retired_at,
            "from_size": self.from_size,
            "until_size": self.until_size,
        }

    @classmethod
    def from_json(cls, kid: str, doc: dict[str, Any]) -> KeyRecord:
        until = doc.get("until_size")
        return cls(
            kid,
            public_from_b64(doc["public_key"]),
            doc["created_at"],
            doc.get("retired_at"),
            int(doc.get("from_size") or 0),
            None if until is None else int(until),
            bool(doc.get("needs_witness", False)),
        )

    def window(self) -> KeyWindow:
        """The tree sizes and times this key was current for."""
        return KeyWindow(
            self.from_size, self.until_size, ms_of(self.created_at), ms_of(self.retired_at)
        )


@dataclass
class Rotation:
    """A rotation under way: the new key is current; the old one still endorses it."""

    ring: SigningKeyring
    old: ed25519.Ed25519PrivateKey
    new: ed25519.Ed25519PublicKey
    from_size: int
    at: datetime

    def finish(self, until_size: int) -> SigningKeyRotated:
        """Close the old key's window at ``until_size``, endorse, delete the old private key."""
        return self.ring._finish(self, max(until_size, 0))


class SigningKeyring:
    """The signing keys of one installation (one data directory)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._records: dict[str, KeyRecord] = {}
        self._current: str | None = None
        self._private: ed25519.Ed25519PrivateKey | None = None

    @property
    def _file(self) -> Path:
        return self.directory / "keyring.json"

    def _private_path(self, kid: str) -> Path:
        return self.directory / (kid.replace(":", "-") + ".pem")

    # ------------------------------------------------------------------ load / create

    @classmethod
    def open(cls, directory: Path) -> SigningKeyring:
        ring = cls(directory)
        if ring._file.exists():
            ring._load()
        return ring

    def _load(self) -> None:
        try:
            doc = json.loads(self._file.read_text())
            self._records = {kid: KeyRecord.from_json(kid, r) for kid, r in doc["keys"].items()}
            self._current = doc["current"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SigningKeyError(f"signing keyring {self._file} is unreadable: {exc}") from exc

    def _save(self) -> None:
        doc = {
            "current": self._current,
            "keys": {kid: r.to_json() for kid, r in self._records.items()},
        }
        atomic_write(self._file, json.dumps(doc, indent=2, sort_keys=True).encode(), mode=0o600)

    @property
    def exists(self) -> bool:
        return self._current is not None

    def create(self, now: datetime | None = None) -> SigningKeyRotated:
        """The first signing key (current from tree size 0); refused when one exists."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.directory.chmod(0o700)  # private keys live here: only their owner may list it
        with locked(self.directory / ".lock"):
            if self._file.exists():
                self._load()
                raise SigningKeyError("a signing key exists already; rotate it instead")
            new = ed25519.Ed25519PrivateKey.generate()
            self._install(new, from_size=0, at=now or datetime.now(UTC))
            return _announcement(None, new.public_key(), None, None)

    def begin_rotation(self, from_size: int, now: datetime | None = None) -> Rotation:
        """Install a new current key, current from tree size ``from_size``; the old one
        signs nothing more. :meth:`Rotation.finish` closes the old key's window."""
        with locked(self.directory / ".lock"):
            self._load()
            old = self._private_key()
            at = now or datetime.now(UTC)
            new = ed25519.Ed25519PrivateKey.generate()
            self._install(new, from_size=from_size, at=at)
            return Rotation(self, old, new.public_key(), from_size, at)

    def replace_lost(self, at_size: int, now: datetime | None = None) -> SigningKeyRotated:
        """A new current key when the current private key is lost: nothing endorses it;
        the old key's window closes at ``at_size`` and its private file (if any) goes."""
        with locked(self.directory / ".lock"):
            self._load()
            old_id = self.current_key_id
            at = now or datetime.now(UTC)
            self._records[old_id] = replace(self._records[old_id], until_size=at_size)
            new = ed25519.Ed25519PrivateKey.generate()
            self._install(new, from_size=at_size, at=at, needs_witness=True)
            self._private_path(old_id).unlink(missing_ok=True)
        return _announcement(old_id, new.public_key(), None, (at_size, at_size, _ms(at)))

    def private_key_present(self) -> bool:
        return self._private_path(self.current_key_id).exists()

    def mark_witnessed(self, kid: str) -> None:
        """``kid``'s first checkpoint was cosigned by a witness: it signs like any key."""
        with locked(self.directory / ".lock"):
            self._load()
            self._records[kid] = replace(self._records[kid], needs_witness=False)
            self._save()

    def rotate(self, at_size: int, now: datetime | None = None) -> SigningKeyRotated:
        """Rotate in one step when the log size cannot change meanwhile (tests, tools)."""
        return self.begin_rotation(at_size, now).finish(at_size)

    def _finish(self, rotation: Rotation, until_size: int) -> SigningKeyRotated:
        old_id = key_id(rotation.old.public_key())
        with locked(self.directory / ".lock"):
            self._load()
            record = self._records[old_id]
            self._records[old_id] = replace(record, until_size=until_size)
            self._save()
            self._private_path(old_id).unlink(missing_ok=True)
        window = (rotation.from_size, until_size, _ms(rotation.at))
        endorsement = rotation.old.sign(endorsement_message(rotation.new, window))
        return _announcement(old_id, rotation.new, endorsement, window)

    def _install(
        self,
        new: ed25519.Ed25519PrivateKey,
        from_size: int,
        at: datetime,
        needs_witness: bool = False,
    ) -> None:
        now = at.isoformat()
        new_id = key_id(new.public_key())
        write_secret_file(self._private_path(new_id), private_pem(new))
        old_id = self._current
        if old_id is not None:
            self._records[old_id] = replace(self._records[old_id], retired_at=now)
        self._records[new_id] = KeyRecord(
            new_id, new.public_key(), now, from_size=from_size, needs_witness=needs_witness
        )
        self._current, self._private = new_id, new
        self._save()

    # ------------------------------------------------------------------ use

    @property
    def current_key_id(self) -> str:
        if self._current is None:
            raise SigningKeyError(
                f"no signing key in {self.directory}: run `syncledger audit checkpoint` "
                "(it creates one) or restore the audit directory from backup"
            )
        return self._current

    def _private_key(self) -> ed25519.Ed25519PrivateKey:
        if self._private is None:
            kid = self.current_key_id
            self._private = load_ed25519_private(self._private_path(kid))
            if key_id(self._private.public_key()) != kid:
                raise SigningKeyError(f"{self._private_path(kid)} does not hold key {kid}")
        return self._private

    def sign(self, message: bytes) -> tuple[str, bytes]:
        kid, signature = self.sign_built(lambda _: message)
        return kid, signature

    def sign_built(self, build: Callable[[KeyRecord], bytes]) -> tuple[str, bytes]:
        """Sign ``build(current key)`` with the key current *now*: the keyring is re-read
        first, so a long-running process never signs with a key rotated out meanwhile."""
        with locked(self.directory / ".lock"):
            if self._file.exists():
                self._load()
            kid = self.current_key_id
            if self._private is not None and key_id(self._private.public_key()) != kid:
                self._private = None
            return kid, self._private_key().sign(build(self._records[kid]))

    def signer_record(self, kid: str) -> KeyRecord:
        return self._records[kid]

    def current_record(self) -> KeyRecord:
        return self._records[self.current_key_id]

    def current_public_key(self) -> ed25519.Ed25519PublicKey:
        return self._records[self.current_key_id].public_key

    def public_keys(self) -> dict[str, ed25519.Ed25519PublicKey]:
        return {kid: r.public_key for kid, r in self._records.items()}

    def records(self) -> list[KeyRecord]:
        return sorted(self._records.values(), key=lambda r: r.created_at)

    def signer_set(self) -> SignerSet:
        """Every key with its window: what auditors are given (``audit signer --set``)."""
        signers = {r.key_id: TrustedSigner(r.public_key, r.window()) for r in self.records()}
        return SignerSet(signers)


def _announcement(
    old_id: str | None,
    new: ed25519.Ed25519PublicKey,
    endorsement: bytes | None,
    window: tuple[int, int, int] | None,
) -> SigningKeyRotated:
    return SigningKeyRotated(
        old_key_id=old_id,
        new_key_id=key_id(new),
        new_public_key=base64.b64encode(raw_public(new)).decode(),
        endorsement=base64.b64encode(endorsement).decode() if endorsement else None,
        new_from_size=window[0] if window else 0,
        old_until_size=window[1] if window else None,
        at_ms=window[2] if window else None,
    )
