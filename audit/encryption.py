"""The outer layer of an audit package: one content key, wrapped to each recipient by HPKE.

Layout: ``SLAUDIT-PKG/1\\n``, a u32 header length, the header (canonical JSON: AEAD nonce
and, per recipient, its key id and the HPKE-sealed content key), then the AES-256-GCM
ciphertext of the file container. The AEAD's associated data is everything before the
ciphertext, so no byte of the file can change without the package failing to open.

An exporter seals the content key first (:func:`seal_recipients`), signs the recipients'
binding (:func:`recipients_digest` of the sealed-key section) into the manifest, then
encrypts (:func:`encrypt_sealed`); docs/audit-format.md §2 and §5.4.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from syncledger.audit.errors import PackageInvalid
from syncledger.audit.hpke import SUITE_NAME, HpkeOpenError, open_sealed, seal
from syncledger.audit.keyfiles import key_id
from syncledger.core.ids import canonical_json

MAGIC = b"SLAUDIT-PKG/1\n"
INFO_LABEL = b"syncledger audit package content key v1\n"
MAX_HEADER = 1 << 20
RECIPIENTS_LABEL = b"syncledger-audit-recipients/v1\n"


def _info(recipient_id: str) -> bytes:
    return INFO_LABEL + recipient_id.encode()


@dataclass(frozen=True)
class SealedRecipients:
    """A content key sealed to each recipient, before any content is encrypted under it:
    the exporter signs :meth:`binding` into the manifest, then encrypts."""

    content_key: bytes = field(repr=False)
    nonce: bytes
    entries: tuple[tuple[str, bytes], ...]  # (key id, HPKE enc || ct of the content key)

    def key_ids(self) -> tuple[str, ...]:
        return tuple(rid for rid, _ in self.entries)

    def binding(self) -> str:
        return recipients_digest(self.entries)


def seal_recipients(recipients: Sequence[x25519.X25519PublicKey]) -> SealedRecipients:
    if not recipients:
        raise PackageInvalid("no-recipients", "an audit package needs at least one recipient")
    content_key, nonce = AESGCM.generate_key(bit_length=256), os.urandom(12)
    entries = tuple(
        (key_id(public), seal(public, content_key, _info(key_id(public)))) for public in recipients
    )
    return SealedRecipients(content_key, nonce, entries)


def recipients_digest(entries: Sequence[tuple[str, bytes]]) -> str:
    """SHA-256 (hex) of the header's sealed-key section: the label, then per recipient in
    header order its key id and its base64 sealed key, each ending in a newline."""
    lines = [f"{rid}\n{base64.b64encode(sealed).decode()}\n" for rid, sealed in entries]
    return hashlib.sha256(RECIPIENTS_LABEL + "".join(lines).encode()).hexdigest()


def encrypt_sealed(inner: bytes, sealed: SealedRecipients) -> bytes:
    entries = [
        {"key_id": rid, "sealed_key": base64.b64encode(key).decode()} for rid, key in sealed.entries
    ]
    header = canonical_json(
        {
            "aead": "AES-256-GCM",
            "hpke": SUITE_NAME,
            "mode": "base",
            "nonce": base64.b64encode(sealed.nonce).decode(),
            "recipients": entries,
        }
    )
    prefix = MAGIC + struct.pack(">I", len(header)) + header
    return prefix + AESGCM(sealed.content_key).encrypt(sealed.nonce, inner, prefix)


def encrypt_package(inner: bytes, recipients: Sequence[x25519.X25519PublicKey]) -> bytes:
    return encrypt_sealed(inner, seal_recipients(recipients))


def sealed_section(data: bytes) -> list[tuple[str, bytes]]:
    """The header's recipients as (key id, sealed key), in header order (no key needed)."""
    _, header = _split(data)
    return [
        (str(e["key_id"]), base64.b64decode(e["sealed_key"], validate=True))
        for e in header["recipients"]
    ]


def recipient_ids(data: bytes) -> list[str]:
    """The key ids a package is encrypted to (no key needed)."""
    _, header = _split(data)
    return [str(entry["key_id"]) for entry in header["recipients"]]


def _split(data: bytes) -> tuple[int, dict[str, Any]]:
    if not data.startswith(MAGIC):
        raise PackageInvalid("not-a-package", "the file does not start like an audit package")
    if len(data) < len(MAGIC) + 4:
        raise PackageInvalid("header-corrupt", "the package ends inside its header")
    (length,) = struct.unpack(">I", data[len(MAGIC) : len(MAGIC) + 4])
    end = len(MAGIC) + 4 + length
    if length > MAX_HEADER or end > len(data):
        raise PackageInvalid("header-corrupt", "the header length is impossible")
    try:
        header = json.loads(data[len(MAGIC) + 4 : end])
        _check_header(header)
    except (ValueError, TypeError, KeyError) as exc:
        raise PackageInvalid("header-corrupt", "the package header is not readable") from exc
    return end, header


def _check_header(header: dict[str, Any]) -> None:
    if header["aead"] != "AES-256-GCM" or header["hpke"] != SUITE_NAME:
        raise ValueError("unsupported algorithms")
    base64.b64decode(header["nonce"], validate=True)
    for entry in header["recipients"]:
        str(entry["key_id"])
        base64.b64decode(entry["sealed_key"], validate=True)


def decrypt_package(data: bytes, identity: x25519.X25519PrivateKey) -> bytes:
    """The file container inside; ``PackageInvalid`` names what failed."""
    end, header = _split(data)
    rid = key_id(identity.public_key())
    entry = next((e for e in header["recipients"] if e["key_id"] == rid), None)
    if entry is None:
        raise PackageInvalid(
            "not-for-this-identity",
            f"the package is encrypted to {', '.join(e['key_id'] for e in header['recipients'])}"
            f", not to {rid}",
        )
    try:
        content_key = open_sealed(identity, base64.b64decode(entry["sealed_key"]), _info(rid))
    except HpkeOpenError as exc:
        raise PackageInvalid("key-unwrap-failed", "the content key does not open") from exc
    try:
        return AESGCM(content_key).decrypt(
            base64.b64decode(header["nonce"]), data[end:], data[:end]
        )
    except (InvalidTag, ValueError) as exc:
        raise PackageInvalid(
            "ciphertext-tampered",
            "the package content fails authentication (altered, truncated or reordered bytes)",
        ) from exc
