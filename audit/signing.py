"""Ed25519 checkpoint/package signing keys, kept in a keyring under ``<data>/audit/signing``.

``keyring.json`` lists every key ever used (public half, creation and retirement times) so
that checkpoints signed before a rotation still verify; only the current key's private
half exists on disk (``<key id>.pem``, PKCS#8, mode 0600). Rotation endorses the new key
with the old one before the old private key is deleted.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
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

ENDORSEMENT_LABEL = b"syncledger-signing-key-endorsement/v1\n"


def endorsement_message(new_key: ed25519.Ed25519PublicKey) -> bytes:
    return ENDORSEMENT_LABEL + raw_public(new_key)


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

    def to_json(self) -> dict[str, Any]:
        return {
            "public_key": base64.b64encode(raw_public(self.public_key)).decode(),
            "created_at": self.created_at,
            "retired_at": self.retired_at,
        }


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
            self._records = {
                kid: KeyRecord(
                    kid, public_from_b64(r["public_key"]), r["created_at"], r.get("retired_at")
                )
                for kid, r in doc["keys"].items()
            }
            self._current = doc["current"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SigningKeyError(f"signing keyring {self._file} is unreadable: {exc}") from exc

    def _save(self) -> None:
        doc = {
            "current": self._current,
            "keys": {kid: r.to_json() for kid, r in self._records.items()},
        }
        atomic_write(self._file, json.dumps(doc, indent=2, sort_keys=True).encode())

    @property
    def exists(self) -> bool:
        return self._current is not None

    def create(self) -> SigningKeyRotated:
        """The first signing key; refused when one exists."""
        with locked(self.directory / ".lock"):
            if self._file.exists():
                self._load()
                raise SigningKeyError("a signing key exists already; rotate it instead")
            return self._install(ed25519.Ed25519PrivateKey.generate(), endorsed_by=None)

    def rotate(self) -> SigningKeyRotated:
        """A new current key, endorsed by the old one; the old private key is deleted."""
        with locked(self.directory / ".lock"):
            self._load()
            old = self._private_key()
            event = self._install(ed25519.Ed25519PrivateKey.generate(), endorsed_by=old)
            old_id = key_id(old.public_key())
            self._private_path(old_id).unlink(missing_ok=True)
            return event

    def _install(
        self, new: ed25519.Ed25519PrivateKey, endorsed_by: ed25519.Ed25519PrivateKey | None
    ) -> SigningKeyRotated:
        now = datetime.now(UTC).isoformat()
        new_id = key_id(new.public_key())
        write_secret_file(self._private_path(new_id), private_pem(new))
        old_id = self._current
        if old_id is not None:
            self._records[old_id] = KeyRecord(
                old_id, self._records[old_id].public_key, self._records[old_id].created_at, now
            )
        self._records[new_id] = KeyRecord(new_id, new.public_key(), now)
        self._current, self._private = new_id, new
        self._save()
        endorsement = (
            endorsed_by.sign(endorsement_message(new.public_key())) if endorsed_by else None
        )
        return SigningKeyRotated(
            old_key_id=old_id,
            new_key_id=new_id,
            new_public_key=base64.b64encode(raw_public(new.public_key())).decode(),
            endorsement=base64.b64encode(endorsement).decode() if endorsement else None,
        )

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
        return self.current_key_id, self._private_key().sign(message)

    def current_public_key(self) -> ed25519.Ed25519PublicKey:
        return self._records[self.current_key_id].public_key

    def public_keys(self) -> dict[str, ed25519.Ed25519PublicKey]:
        return {kid: r.public_key for kid, r in self._records.items()}

    def records(self) -> list[KeyRecord]:
        return sorted(self._records.values(), key=lambda r: r.created_at)
