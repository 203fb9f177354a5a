"""The manifest of an audit package, its signature, and the binary proof file format."""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Iterator, Sequence

from pydantic import BaseModel, ConfigDict

from syncledger.audit.errors import PackageInvalid
from syncledger.audit.events import CheckpointSigned
from syncledger.core.ids import canonical_json

FORMAT_VERSION = 3
#: 1: no signer windows; 2: ``signers`` (every signing key with its window);
#: 3: ``recipients`` bound to the signature, errors, approvals, contract results, REPRODUCE.md
SUPPORTED_FORMATS = (1, 2, 3)
#: the first format whose manifest must name its recipients
RECIPIENTS_BOUND_FROM = 3
MANIFEST_LABEL = b"syncledger-audit-manifest/v1\n"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
EVENTS = "events.jsonl"
PROOFS = "proofs.bin"
TRACES = "traces.json"
MAPPINGS = "mappings.json"
HOLDS = "holds.json"
CONSISTENCY = "consistency.json"
ERRORS = "errors.json"
APPROVALS = "approvals.json"
CONTRACT_RESULTS = "contract-results.json"
REPRODUCE = "REPRODUCE.md"
REQUIRED_FILES = (EVENTS, PROOFS, TRACES, MAPPINGS, HOLDS)
#: what format 3 adds to every package
REQUIRED_FROM_3 = (ERRORS, APPROVALS, CONTRACT_RESULTS, REPRODUCE)


def required_files(format_version: int) -> tuple[str, ...]:
    extra = REQUIRED_FROM_3 if format_version >= RECIPIENTS_BOUND_FROM else ()
    return (*REQUIRED_FILES, *extra)


class StreamRange(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    first_seq: int
    last_seq: int
    event_count: int


class SignerEntry(BaseModel):
    """A signing key of the exporting installation and the window it was current for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key_id: str
    public_key: str  # base64 raw Ed25519
    from_size: int = 0
    until_size: int | None = None
    not_before_ms: int | None = None
    not_after_ms: int | None = None


class RecipientBinding(BaseModel):
    """Who the package is encrypted to, as signed: the recipients' key ids in header order
    and the SHA-256 of the header's sealed-key section
    (:func:`syncledger.audit.encryption.recipients_digest`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key_ids: tuple[str, ...]
    sealed_keys_sha256: str


class Manifest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format_version: int
    package_version: int
    previous_package_digest: str | None
    scope: str
    entity: str
    stream: StreamRange
    checkpoint: CheckpointSigned
    files: dict[str, str]  # name -> sha256 hex
    created_at: str
    exported_by: str
    signer_key_id: str
    signers: tuple[SignerEntry, ...] = ()
    recipients: RecipientBinding | None = None  # format 3

    def to_bytes(self) -> bytes:
        return canonical_json(self.model_dump(mode="json"))


class ManifestSignature(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key_id: str
    signature: str  # base64 Ed25519 over MANIFEST_LABEL + manifest.json

    def raw(self) -> bytes:
        return base64.b64decode(self.signature, validate=True)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def package_digest(manifest_bytes: bytes) -> str:
    """The identity of a package: the digest of its signed manifest (not of the ciphertext,
    which differs per recipient set)."""
    return sha256_hex(manifest_bytes)


# ------------------------------------------------------------------ proofs.bin


def pack_proofs(proofs: Sequence[tuple[int, Sequence[bytes]]]) -> bytes:
    """Per event: u64 stream sequence, u8 path length, the RFC 9162 inclusion path."""
    parts: list[bytes] = []
    for seq, path in proofs:
        parts.append(struct.pack(">QB", seq, len(path)))
        parts.extend(path)
    return b"".join(parts)


def unpack_proofs(data: bytes) -> Iterator[tuple[int, list[bytes]]]:
    pos = 0
    while pos < len(data):
        if pos + 9 > len(data):
            raise PackageInvalid("proofs-corrupt", "proofs.bin ends inside a record")
        seq, n = struct.unpack(">QB", data[pos : pos + 9])
        pos += 9
        end = pos + 32 * n
        if end > len(data):
            raise PackageInvalid("proofs-corrupt", f"the proof of event {seq} is cut short")
        yield seq, [data[i : i + 32] for i in range(pos, end, 32)]
        pos = end
