"""PEM key files (PKCS#8 private, SubjectPublicKeyInfo public) and key ids."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

from syncledger.audit.errors import AuditError

PrivateKey = ed25519.Ed25519PrivateKey | x25519.X25519PrivateKey
PublicKey = ed25519.Ed25519PublicKey | x25519.X25519PublicKey


def raw_public(key: PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: PublicKey) -> str:
    """``ed25519:<16 hex>`` or ``x25519:<16 hex>``: a digest of the raw public key."""
    prefix = "ed25519" if isinstance(key, ed25519.Ed25519PublicKey) else "x25519"
    return f"{prefix}:{hashlib.sha256(raw_public(key)).hexdigest()[:16]}"


def private_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_pem(key: PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def write_secret_file(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 (refusing to overwrite) and fsync it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise AuditError(f"{path} already exists; refusing to overwrite a key") from exc
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def write_public_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise AuditError(f"cannot read key file {path}: {exc.strerror}") from exc


def _load_private(path: Path) -> object:
    try:
        return serialization.load_pem_private_key(_read(path), password=None)
    except (ValueError, TypeError) as exc:
        raise AuditError(f"{path} is not an unencrypted PKCS#8 PEM private key") from exc


def _load_public(path: Path) -> object:
    try:
        return serialization.load_pem_public_key(_read(path))
    except (ValueError, TypeError) as exc:
        raise AuditError(f"{path} is not a SubjectPublicKeyInfo PEM public key") from exc


def load_x25519_private(path: Path) -> x25519.X25519PrivateKey:
    key = _load_private(path)
    if not isinstance(key, x25519.X25519PrivateKey):
        raise AuditError(f"{path} does not hold an X25519 private key")
    return key


def load_ed25519_private(path: Path) -> ed25519.Ed25519PrivateKey:
    key = _load_private(path)
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise AuditError(f"{path} does not hold an Ed25519 private key")
    return key


def load_x25519_public(path: Path) -> x25519.X25519PublicKey:
    key = _load_public(path)
    if not isinstance(key, x25519.X25519PublicKey):
        raise AuditError(f"{path} does not hold an X25519 public key")
    return key


def load_ed25519_public(path: Path) -> ed25519.Ed25519PublicKey:
    key = _load_public(path)
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise AuditError(f"{path} does not hold an Ed25519 public key")
    return key


def generate_recipient(prefix: Path) -> tuple[Path, Path, str]:
    """Write ``<prefix>.key`` (private, 0600) and ``<prefix>.pub``; return paths and id."""
    key = x25519.X25519PrivateKey.generate()
    private_path = prefix.with_name(prefix.name + ".key")
    public_path = prefix.with_name(prefix.name + ".pub")
    write_secret_file(private_path, private_pem(key))
    write_public_file(public_path, public_pem(key.public_key()))
    return private_path, public_path, key_id(key.public_key())
