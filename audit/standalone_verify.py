"""Verify a syncledger audit package without syncledger: one file, Python 3.11+, the
standard library and ``cryptography`` 50.0 or newer (``cryptography.hazmat.primitives.hpke``;
the lower bound syncledger itself declares for it).

    python standalone_verify.py PACKAGE --identity YOUR.key --signer SIGNERS.json

``--identity`` is your X25519 private key (PKCS#8 PEM, from ``syncledger audit keygen``);
``--signer`` (repeatable) is the signer set the company gave you (``syncledger audit
signer --set``, JSON: every signing key with the tree sizes and times it may sign) or a
bare Ed25519 public key (PEM, no window known). Prints ``OK: …`` and exits 0, or prints
``FAILED [<reason>]: <what>`` and exits 1; the reasons are the ones ``syncledger audit
verify`` gives. 2: the command line or a key file is wrong.

It checks, in this order (docs/audit-format.md §7 specifies each step): the outer format;
that the package is for this identity; the HPKE-sealed content key; the AES-256-GCM
ciphertext; the file container; the manifest signature by a trusted signer; the format
version; every file's SHA-256; the checkpoint signature; the signing keys' windows; each
event's RFC 9162 inclusion proof in stream order; that traces, mappings, errors and
approvals name only events of the package, and approval signatures; and that the signed
manifest names exactly the recipients the package is encrypted to. It does not check
``--previous`` / ``--state`` (succession and replays) or ``--approver``: use syncledger.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import struct
import sys
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

PKG_MAGIC = b"SLAUDIT-PKG/1\n"
FILES_MAGIC = b"SLAUDIT-FILES/1\n"
MAX_HEADER = 1 << 20
SUITE_NAME = "DHKEM(X25519,HKDF-SHA256)/HKDF-SHA256/AES-256-GCM"
INFO_LABEL = b"syncledger audit package content key v1\n"
RECIPIENTS_LABEL = b"syncledger-audit-recipients/v1\n"
MANIFEST_LABEL = b"syncledger-audit-manifest/v1\n"
CHECKPOINT_LABEL = "syncledger-checkpoint/v1"
APPROVAL_LABEL = "syncledger-mapping-approval/v1"
SIGNER_SET_FORMAT = "syncledger-signers/v1"
SUPPORTED_FORMATS = (1, 2, 3)
BOUND_FROM = 3
REQUIRED = ("events.jsonl", "proofs.bin", "traces.json", "mappings.json", "holds.json")
REQUIRED_FROM_3 = ("errors.json", "approvals.json", "contract-results.json", "REPRODUCE.md")
HASH = 32


class Failed(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


class Usage(Exception):
    """The command line or a key file is wrong (exit 2)."""


# ------------------------------------------------------------------ keys


def raw_public(key: ed25519.Ed25519PublicKey | x25519.X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: ed25519.Ed25519PublicKey | x25519.X25519PublicKey) -> str:
    prefix = "ed25519" if isinstance(key, ed25519.Ed25519PublicKey) else "x25519"
    return f"{prefix}:{hashlib.sha256(raw_public(key)).hexdigest()[:16]}"


def _lower(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


@dataclass(frozen=True)
class Window:
    from_size: int = 0
    until_size: int | None = None
    not_before_ms: int | None = None
    not_after_ms: int | None = None

    @classmethod
    def of(cls, doc: Mapping[str, Any]) -> Window:
        def opt(name: str) -> int | None:
            return None if doc.get(name) is None else int(doc[name])

        return cls(
            int(doc.get("from_size") or 0),
            opt("until_size"),
            opt("not_before_ms"),
            opt("not_after_ms"),
        )

    def refusal(self, size: int, ms: int) -> str | None:
        if self.until_size is not None and size > self.until_size:
            return f"it was retired at tree size {self.until_size}, this is tree size {size}"
        if size < self.from_size:
            return f"it became current at tree size {self.from_size}, this is {size}"
        if self.not_after_ms is not None and ms > self.not_after_ms:
            return f"it was retired at {self.not_after_ms} ms, this was signed at {ms}"
        if self.not_before_ms is not None and ms < self.not_before_ms:
            return f"it was created at {self.not_before_ms} ms, this was signed at {ms}"
        return None

    def narrowed(self, other: Window) -> Window:
        return Window(
            max(self.from_size, other.from_size),
            _lower(self.until_size, other.until_size),
            max(self.not_before_ms or 0, other.not_before_ms or 0) or None,
            _lower(self.not_after_ms, other.not_after_ms),
        )


@dataclass(frozen=True)
class Signer:
    key: ed25519.Ed25519PublicKey
    window: Window = Window()


def _signer_entry(entry: Mapping[str, Any]) -> tuple[str, Signer]:
    key = ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(entry["public_key"]))
    if entry.get("key_id", key_id(key)) != key_id(key):
        raise ValueError(f"key id {entry['key_id']} does not match its public key")
    return key_id(key), Signer(key, Window.of(entry))


def load_signer_file(path: Path) -> dict[str, Signer]:
    try:
        data = path.read_bytes()
        if data.lstrip().startswith(b"{"):
            doc = json.loads(data)
            if doc.get("format") != SIGNER_SET_FORMAT:
                raise ValueError(f"format is not {SIGNER_SET_FORMAT}")
            return dict(_signer_entry(entry) for entry in doc["keys"])
        key = serialization.load_pem_public_key(data)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise Usage(f"{path} is not a signer set or an Ed25519 public key: {exc}") from exc
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise Usage(f"{path} does not hold an Ed25519 public key")
    return {key_id(key): Signer(key)}


def load_signers(paths: Sequence[Path]) -> dict[str, Signer]:
    """Every file's keys; a key in several keeps the narrowest window."""
    result: dict[str, Signer] = {}
    for path in paths:
        for kid, signer in load_signer_file(path).items():
            mine = result.get(kid)
            window = signer.window if mine is None else mine.window.narrowed(signer.window)
            result[kid] = Signer(signer.key, window)
    return result


def load_identity(path: Path) -> x25519.X25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise Usage(f"{path} is not an unencrypted PKCS#8 PEM private key: {exc}") from exc
    if not isinstance(key, x25519.X25519PrivateKey):
        raise Usage(f"{path} does not hold an X25519 private key")
    return key


def signature_ok(key: ed25519.Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


# ------------------------------------------------------------------ outer layer


def split_header(data: bytes) -> tuple[int, dict[str, Any]]:
    if not data.startswith(PKG_MAGIC):
        raise Failed("not-a-package", "the file does not start like an audit package")
    if len(data) < len(PKG_MAGIC) + 4:
        raise Failed("header-corrupt", "the package ends inside its header")
    (length,) = struct.unpack(">I", data[len(PKG_MAGIC) : len(PKG_MAGIC) + 4])
    end = len(PKG_MAGIC) + 4 + length
    if length > MAX_HEADER or end > len(data):
        raise Failed("header-corrupt", "the header length is impossible")
    try:
        header = json.loads(data[len(PKG_MAGIC) + 4 : end])
        if header["aead"] != "AES-256-GCM" or header["hpke"] != SUITE_NAME:
            raise ValueError("unsupported algorithms")
        base64.b64decode(header["nonce"], validate=True)
        for entry in header["recipients"]:
            str(entry["key_id"])
            base64.b64decode(entry["sealed_key"], validate=True)
    except (ValueError, TypeError, KeyError) as exc:
        raise Failed("header-corrupt", "the package header is not readable") from exc
    return end, header


def decrypt(data: bytes, identity: x25519.X25519PrivateKey) -> bytes:
    end, header = split_header(data)
    rid = key_id(identity.public_key())
    entry = next((e for e in header["recipients"] if e["key_id"] == rid), None)
    if entry is None:
        others = ", ".join(e["key_id"] for e in header["recipients"])
        raise Failed("not-for-this-identity", f"the package is encrypted to {others}, not {rid}")
    suite = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
    try:
        sealed = base64.b64decode(entry["sealed_key"])
        content_key = suite.decrypt(sealed, identity, info=INFO_LABEL + rid.encode())
    except (InvalidTag, ValueError) as exc:
        raise Failed("key-unwrap-failed", "the content key does not open") from exc
    try:
        return AESGCM(content_key).decrypt(
            base64.b64decode(header["nonce"]), data[end:], data[:end]
        )
    except (InvalidTag, ValueError) as exc:
        raise Failed("ciphertext-tampered", "the package content fails authentication") from exc


def recipients_section(data: bytes) -> list[tuple[str, bytes]]:
    _, header = split_header(data)
    return [(str(e["key_id"]), base64.b64decode(e["sealed_key"])) for e in header["recipients"]]


def recipients_digest(section: Sequence[tuple[str, bytes]]) -> str:
    lines = "".join(f"{rid}\n{base64.b64encode(sealed).decode()}\n" for rid, sealed in section)
    return hashlib.sha256(RECIPIENTS_LABEL + lines.encode()).hexdigest()


# ------------------------------------------------------------------ file container


def unpack_files(data: bytes) -> dict[str, bytes]:
    pos = 0

    def take(n: int) -> bytes:
        nonlocal pos
        if pos + n > len(data):
            raise Failed("container-corrupt", "the file container ends early")
        pos += n
        return data[pos - n : pos]

    if take(len(FILES_MAGIC)) != FILES_MAGIC:
        raise Failed("container-corrupt", "not a syncledger file container")
    files: dict[str, bytes] = {}
    previous = ""
    for _ in range(struct.unpack(">I", take(4))[0]):
        try:
            name = take(struct.unpack(">H", take(2))[0]).decode()
        except UnicodeDecodeError as exc:
            raise Failed("container-corrupt", "a file name is not UTF-8") from exc
        if name <= previous:
            raise Failed("container-corrupt", f"file {name!r} is out of order")
        files[name] = take(struct.unpack(">Q", take(8))[0])
        previous = name
    if pos != len(data):
        raise Failed("container-corrupt", "bytes follow the last file")
    return files


# ------------------------------------------------------------------ manifest

_MANIFEST_KEYS = {
    "format_version": int,
    "package_version": int,
    "scope": str,
    "entity": str,
    "stream": dict,
    "checkpoint": dict,
    "files": dict,
    "created_at": str,
    "exported_by": str,
    "signer_key_id": str,
}
_OPTIONAL_KEYS = {"previous_package_digest", "signers", "recipients"}
_CHECKPOINT_KEYS = {
    "origin": str,
    "tree_size": int,
    "root_hash": str,
    "timestamp_ms": int,
    "key_id": str,
    "signature": str,
}


def _typed(doc: Any, keys: Mapping[str, type], optional: Collection[str] = ()) -> None:
    if not isinstance(doc, dict):
        raise ValueError("not an object")
    for name, kind in keys.items():
        if not isinstance(doc.get(name), kind) or isinstance(doc.get(name), bool):
            raise ValueError(f"{name} is missing or not {kind.__name__}")
    unknown = set(doc) - set(keys) - set(optional)
    if unknown:
        raise ValueError(f"unknown fields {sorted(unknown)}")


def parse_manifest(raw: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(raw)
        _typed(doc, _MANIFEST_KEYS, _OPTIONAL_KEYS)
        _typed(doc["stream"], {"first_seq": int, "last_seq": int, "event_count": int})
        _typed(doc["checkpoint"], _CHECKPOINT_KEYS, {"category", "schema_version"})
        if not all(isinstance(v, str) for v in doc["files"].values()):
            raise ValueError("a file digest is not text")
        for entry in doc.get("signers") or ():
            Window.of(entry)
            str(entry["key_id"])
        bound = doc.get("recipients")
        if bound is not None:
            _typed(bound, {"key_ids": list, "sealed_keys_sha256": str})
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise Failed("manifest-corrupt", f"the signed manifest is unreadable ({exc})") from exc
    return dict(doc)


def check_manifest_signature(
    files: dict[str, bytes], signers: Mapping[str, Signer]
) -> tuple[dict[str, Any], bytes, str]:
    for name in ("manifest.json", "manifest.sig"):
        if name not in files:
            raise Failed(f"missing-file:{name}", f"the package has no {name}")
    manifest_bytes = files.pop("manifest.json")
    try:
        sig = json.loads(files.pop("manifest.sig"))
        kid = sig["key_id"]
        signature = base64.b64decode(sig["signature"], validate=True)
        if not isinstance(kid, str) or set(sig) != {"key_id", "signature"}:
            raise ValueError("not a manifest signature")
    except (ValueError, KeyError, TypeError) as exc:
        raise Failed("manifest-signature-invalid", "manifest.sig is unreadable") from exc
    signer = signers.get(kid)
    if signer is None:
        raise Failed("untrusted-signer", f"signed by {kid}, which is not a trusted signer key")
    if not signature_ok(signer.key, signature, MANIFEST_LABEL + manifest_bytes):
        raise Failed("manifest-signature-invalid", "the manifest signature is wrong")
    return parse_manifest(manifest_bytes), manifest_bytes, kid


def check_format(manifest: Mapping[str, Any]) -> None:
    if manifest["format_version"] not in SUPPORTED_FORMATS:
        raise Failed(
            "unsupported-format",
            f"format version {manifest['format_version']} is not one this verifier knows",
        )


def narrow(signers: dict[str, Signer], manifest: Mapping[str, Any]) -> None:
    """The manifest's signer windows may only narrow the trusted keys' windows."""
    for entry in manifest.get("signers") or ():
        signer = signers.get(entry["key_id"])
        if signer is not None:
            window = signer.window.narrowed(Window.of(entry))
            signers[entry["key_id"]] = replace(signer, window=window)


def check_digests(manifest: Mapping[str, Any], files: dict[str, bytes]) -> None:
    required = [*REQUIRED, *(REQUIRED_FROM_3 if manifest["format_version"] >= BOUND_FROM else ())]
    for name in [*required, *manifest["files"]]:
        if name not in files:
            raise Failed(f"missing-file:{name}", f"{name} is not in the package")
    for name in files:
        if name not in manifest["files"]:
            raise Failed(f"unexpected-file:{name}", f"{name} is not in the manifest")
    for name, digest in manifest["files"].items():
        if hashlib.sha256(files[name]).hexdigest() != digest:
            raise Failed(f"file-digest-mismatch:{name}", f"{name} was altered")


# ------------------------------------------------------------------ checkpoint


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root_hash: bytes
    timestamp_ms: int
    key_id: str
    signature: bytes

    def signed_texts(self) -> tuple[bytes, bytes]:
        """The C2SP tlog-checkpoint note text (origin, size, base64 root: what checkpoints
        are signed over now), and the ``syncledger-checkpoint/v1`` text of older ones."""
        root = base64.b64encode(self.root_hash).decode()
        note = f"{self.origin}\n{self.tree_size}\n{root}\n".encode()
        return note, self.v1_text()

    def v1_text(self) -> bytes:
        lines = (
            CHECKPOINT_LABEL,
            self.origin,
            str(self.tree_size),
            base64.b64encode(self.root_hash).decode(),
            str(self.timestamp_ms),
            self.key_id,
        )
        return "".join(line + "\n" for line in lines).encode()


def check_window(signers: Mapping[str, Signer], kid: str, cp: Checkpoint, what: str) -> None:
    signer = signers.get(kid)
    why = (
        f"{kid} is not a trusted signer key"
        if signer is None
        else signer.window.refusal(cp.tree_size, cp.timestamp_ms)
    )
    if why is not None:
        prefix = "" if signer is None else f"key {kid} may not sign this: "
        raise Failed("key-outside-window", f"the {what} is refused: {prefix}{why}")


def check_checkpoint(manifest: Mapping[str, Any], signers: Mapping[str, Signer]) -> Checkpoint:
    c = manifest["checkpoint"]
    try:
        cp = Checkpoint(
            c["origin"],
            c["tree_size"],
            bytes.fromhex(c["root_hash"]),
            c["timestamp_ms"],
            c["key_id"],
            base64.b64decode(c["signature"]),
        )
    except ValueError as exc:
        raise Failed("checkpoint-corrupt", "the checkpoint is unreadable") from exc
    signer = signers.get(cp.key_id)
    if signer is None or not any(
        signature_ok(signer.key, cp.signature, text) for text in cp.signed_texts()
    ):
        raise Failed(
            "checkpoint-signature-invalid",
            f"checkpoint of tree size {cp.tree_size} is not signed by a trusted key",
        )
    check_window(signers, cp.key_id, cp, f"checkpoint of tree size {cp.tree_size}")
    return cp


# ------------------------------------------------------------------ RFC 9162


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def inclusion_ok(index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2; every value must be a 32-byte hash."""
    if not all(len(h) == HASH for h in (leaf, root, *path)) or not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def unpack_proofs(data: bytes) -> Iterator[tuple[int, list[bytes]]]:
    pos = 0
    while pos < len(data):
        if pos + 9 > len(data):
            raise Failed("proofs-corrupt", "proofs.bin ends inside a record")
        seq, n = struct.unpack(">QB", data[pos : pos + 9])
        pos += 9
        end = pos + HASH * n
        if end > len(data):
            raise Failed("proofs-corrupt", f"the proof of event {seq} is cut short")
        yield seq, [data[i : i + HASH] for i in range(pos, end, HASH)]
        pos = end


def check_order(seq: int, previous: int, stream: Mapping[str, int], size: int) -> None:
    first, last = stream["first_seq"], stream["last_seq"]
    if seq <= previous:
        raise Failed("event-out-of-order", f"event {seq} follows event {previous}")
    if not (first <= seq <= last and seq <= size):
        raise Failed("event-outside-range", f"event {seq} is outside {first}–{last} / tree {size}")
    if previous == 0 and seq != first:
        raise Failed("event-outside-range", f"first event is {seq}, not {first}")


def check_events(manifest: Mapping[str, Any], files: dict[str, bytes], cp: Checkpoint) -> set[int]:
    events = files["events.jsonl"]
    lines = events.split(b"\n") if events else []
    proofs = list(unpack_proofs(files["proofs.bin"]))
    stream = manifest["stream"]
    if len(lines) != len(proofs) or len(lines) != stream["event_count"]:
        raise Failed(
            "event-count-mismatch",
            f"{len(lines)} events and {len(proofs)} proofs; "
            f"the manifest says {stream['event_count']}",
        )
    seqs: set[int] = set()
    previous = 0
    for raw, (seq, path) in zip(lines, proofs, strict=True):
        check_order(seq, previous, stream, cp.tree_size)
        if not inclusion_ok(seq - 1, cp.tree_size, leaf_hash(raw), path, cp.root_hash):
            raise Failed(
                f"inclusion-proof-failed:{seq}",
                f"event {seq} is not in the log of the signed checkpoint (size {cp.tree_size})",
            )
        seqs.add(seq)
        previous = seq
    return seqs


# ------------------------------------------------------------------ references


def check_references(files: dict[str, bytes], seqs: set[int]) -> None:
    try:
        traces = json.loads(files["traces.json"])
        mappings = json.loads(files["mappings.json"])
        steps = [int(step["seq"]) for trace in traces for step in trace["steps"]]
        mapped = [int(m["seq"]) for m in mappings]
    except (ValueError, KeyError, TypeError) as exc:
        raise Failed("traces-corrupt", "traces or mappings are unreadable") from exc
    for seq in steps:
        if seq not in seqs:
            raise Failed("trace-references-unknown-event", f"event {seq} is missing")
    for seq in mapped:
        if seq not in seqs:
            raise Failed("mapping-references-unknown-event", f"event {seq} is missing")


def check_errors(files: dict[str, bytes], seqs: set[int]) -> None:
    try:
        doc = json.loads(files["errors.json"])
        named = [int(e["seq"]) for r in doc["records"] for e in r["events"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise Failed("errors-corrupt", "errors.json is unreadable") from exc
    for seq in named:
        if seq not in seqs:
            raise Failed("errors-reference-unknown-event", f"event {seq} is missing")


def _mapping_digests(files: dict[str, bytes]) -> dict[str, str]:
    digests: dict[str, str] = {}
    for m in json.loads(files["mappings.json"]):
        version, digest = str(m["mapping_version"]), str(m["sha256"])
        if hashlib.sha256(str(m["content"]).encode()).hexdigest() != digest:
            raise Failed(
                f"mapping-digest-mismatch:{version}",
                f"the content of mapping version {version} does not hash to its sha256",
            )
        digests[version] = digest
    return digests


def _approval(doc: Mapping[str, Any]) -> tuple[int, str, str, str, bytes, bytes]:
    return (
        int(doc["seq"]),
        str(doc["mapping_version"]),
        str(doc["sha256"]),
        str(doc["approver_key_id"]),
        base64.b64decode(doc["approver_public_key"], validate=True),
        base64.b64decode(doc["signature"], validate=True),
    )


def check_approvals(files: dict[str, bytes], seqs: set[int]) -> None:
    try:
        doc = json.loads(files["approvals.json"])
        if doc.get("format") != "syncledger-approvals/v1":
            raise ValueError("unknown format")
        entries = [(e, _approval(e)) for e in doc["approvals"]]
        keys = [ed25519.Ed25519PublicKey.from_public_bytes(a[4]) for _, a in entries]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise Failed("approvals-corrupt", "approvals.json is unreadable") from exc
    digests = _mapping_digests(files)
    for (doc_entry, (seq, version, digest, kid, _, sig)), key in zip(entries, keys, strict=True):
        if seq not in seqs:
            raise Failed("approval-references-unknown-event", f"approval event {seq} is not in it")
        if digests.get(version) != digest:
            raise Failed(
                f"approval-for-other-mapping:{version}",
                f"approval {seq} is for content the package's {version} is not",
            )
        lines = (APPROVAL_LABEL, str(doc_entry["ledger"]), version, digest)
        text = "".join(line + "\n" for line in lines).encode()
        if key_id(key) != kid or not signature_ok(key, sig, text):
            raise Failed(
                f"approval-signature-invalid:{version}",
                f"the approval by {kid} (event {seq}) does not verify",
            )


def check_recipients(manifest: Mapping[str, Any], data: bytes) -> None:
    if manifest["format_version"] < BOUND_FROM:
        return
    bound = manifest.get("recipients")
    section = recipients_section(data)
    if bound is None:
        raise Failed("recipients-not-signed", "the manifest names no recipients")
    actual = [rid for rid, _ in section]
    if bound["key_ids"] != actual or bound["sealed_keys_sha256"] != recipients_digest(section):
        raise Failed(
            "recipients-not-signed",
            f"the package is encrypted to {', '.join(actual)}; the signed manifest names "
            f"{', '.join(bound['key_ids'])} with other sealed keys (re-encrypted after signing)",
        )


# ------------------------------------------------------------------ witnesses
# c2sp.org/signed-note (vkeys, signature lines, key IDs) and c2sp.org/tlog-cosignature
# (type 0x04: 8-byte big-endian timestamp, then Ed25519 over "cosignature/v1\n",
# "time <t>\n" and the checkpoint note text); docs/audit-format.md "checkpoint.note".

CHECKPOINT_NOTE = "checkpoint.note"
COSIGNATURE_V1 = 0x04
_SIGNATURE_LINE = "\u2014 "


@dataclass(frozen=True)
class Witness:
    name: str
    key_id: bytes
    key: ed25519.Ed25519PublicKey


def parse_witness(vkey: str) -> Witness:
    """``<name>+<hex key ID>+<base64(0x04 || Ed25519 public key)>``."""
    try:
        name, hex_id, blob = vkey.strip().split("+", 2)
        raw = base64.b64decode(blob, validate=True)
        kid = bytes.fromhex(hex_id)
    except (ValueError, binascii.Error) as exc:
        raise Usage(f"--witness {vkey!r} is not a witness verifier key") from exc
    if not name or len(kid) != 4 or len(raw) != 33 or raw[0] != COSIGNATURE_V1:
        raise Usage(f"--witness {vkey!r} is not an Ed25519 cosignature (type 0x04) vkey")
    expected = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    if expected != kid:
        raise Usage(f"--witness {vkey!r}: its key ID does not match its key")
    return Witness(name, kid, ed25519.Ed25519PublicKey.from_public_bytes(raw[1:]))


def _note_parts(data: bytes) -> tuple[str, list[tuple[str, bytes]]]:
    text = data.decode("utf-8")
    body, sep, sigs = text.rpartition("\n\n")
    if not sep or not sigs.endswith("\n"):
        raise Failed("checkpoint-not-witnessed", f"{CHECKPOINT_NOTE} is not a signed note")
    lines: list[tuple[str, bytes]] = []
    for line in sigs[:-1].split("\n"):
        if not line.startswith(_SIGNATURE_LINE) or line.count(" ") != 2:
            raise Failed("checkpoint-not-witnessed", f"{CHECKPOINT_NOTE}: bad signature line")
        name, blob = line[len(_SIGNATURE_LINE) :].split(" ")
        try:
            lines.append((name, base64.b64decode(blob, validate=True)))
        except binascii.Error as exc:
            raise Failed("checkpoint-not-witnessed", f"{CHECKPOINT_NOTE}: bad base64") from exc
    return body + "\n", lines


def check_witnessed(files: dict[str, bytes], cp: Checkpoint, witnesses: Sequence[Witness]) -> None:
    """Each witness cosigned exactly the checkpoint the manifest states."""
    if not witnesses:
        return
    data = files.get(CHECKPOINT_NOTE)
    if data is None:
        raise Failed("checkpoint-not-witnessed", f"the package has no {CHECKPOINT_NOTE}")
    text, lines = _note_parts(data)
    if text.encode() != cp.signed_texts()[0]:
        raise Failed("checkpoint-not-witnessed", f"{CHECKPOINT_NOTE} is not the checkpoint")
    for w in witnesses:
        if not any(_cosigned(w, name, blob, text) for name, blob in lines):
            raise Failed(
                "checkpoint-not-witnessed",
                f"the checkpoint of tree size {cp.tree_size} carries no valid cosignature "
                f"of witness {w.name}",
            )


def _cosigned(w: Witness, name: str, blob: bytes, text: str) -> bool:
    if name != w.name or blob[:4] != w.key_id or len(blob) != 4 + 72:
        return False
    stamp = int.from_bytes(blob[4:12], "big")
    message = f"cosignature/v1\ntime {stamp}\n{text}".encode()
    return stamp < (1 << 63) and signature_ok(w.key, blob[12:], message)


# ------------------------------------------------------------------ verify


def verify(
    data: bytes,
    identity: x25519.X25519PrivateKey,
    signers: dict[str, Signer],
    witnesses: Sequence[Witness] = (),
) -> str:
    files = unpack_files(decrypt(data, identity))
    manifest, manifest_bytes, signed_by = check_manifest_signature(files, signers)
    check_format(manifest)
    narrow(signers, manifest)
    check_digests(manifest, files)
    cp = check_checkpoint(manifest, signers)
    check_window(signers, signed_by, cp, "manifest signature")
    seqs = check_events(manifest, files, cp)
    check_references(files, seqs)
    if manifest["format_version"] >= BOUND_FROM:
        check_errors(files, seqs)
        check_approvals(files, seqs)
    check_recipients(manifest, data)
    check_witnessed(files, cp, witnesses)
    return summary(manifest, hashlib.sha256(manifest_bytes).hexdigest())


def summary(m: Mapping[str, Any], digest: str) -> str:
    s, c = m["stream"], m["checkpoint"]
    return (
        f"OK: package {m['scope']} version {m['package_version']}, {s['event_count']} "
        f"events (seq {s['first_seq']}–{s['last_seq']}), tree size "
        f"{c['tree_size']}, root {c['root_hash']}, signed by "
        f"{m['signer_key_id']}, digest {digest}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a syncledger audit package.")
    parser.add_argument("package", type=Path)
    parser.add_argument("--identity", type=Path, required=True, help="X25519 private key (PEM)")
    parser.add_argument(
        "--signer", type=Path, action="append", required=True, help="signer set or PEM key"
    )
    parser.add_argument(
        "--witness",
        action="append",
        default=[],
        help="a witness's verifier key (vkey): its cosignature on the checkpoint is required",
    )
    args = parser.parse_args(argv)
    try:
        identity, signers = load_identity(args.identity), load_signers(args.signer)
        witnesses = [parse_witness(v) for v in args.witness]
        data = args.package.read_bytes()
    except (Usage, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        print(verify(data, identity, signers, witnesses))
    except Failed as exc:
        print(f"FAILED [{exc.reason}]: {exc.detail}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
