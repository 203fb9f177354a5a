"""Offline verification of an audit package: needs only the file, the recipient's private
key and the trusted signer public key(s). Every failure is a :class:`PackageInvalid`
whose ``reason`` names the check that failed.

Checks, in order: outer format; the package is for this identity; the content key
unwraps; the ciphertext authenticates; the file container parses; the manifest signature
is by a trusted signer; the format version; every file's digest, with none missing or
extra; the checkpoint signature; each event's RFC 9162 inclusion proof against the
checkpoint, in strictly increasing stream order within the manifest's range; traces and
mapping versions refer only to events in the package; (format 3) errors and approvals
name only events of the package and every approval's signature holds; (format 3) the
signed manifest names exactly the recipients the package is encrypted to; and, given the
previous package or a verifier state file, that this package is not an older or forked
one and that the log grew consistently (RFC 9162 consistency proof) since the previous
package. docs/audit-format.md §7 specifies each step; audit/standalone_verify.py does the
same without syncledger.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
from pydantic import ValidationError as PydanticValidationError

from syncledger.audit.approvals import check_approvals, check_approved_by, read_approvals
from syncledger.audit.checkpoints import Checkpoint
from syncledger.audit.container import unpack_files
from syncledger.audit.encryption import decrypt_package, recipients_digest, sealed_section
from syncledger.audit.errors import PackageInvalid
from syncledger.audit.files import atomic_write
from syncledger.audit.keyfiles import key_id
from syncledger.audit.keywindow import KeyWindow, SignerSet
from syncledger.audit.manifest import (
    APPROVALS,
    CONSISTENCY,
    ERRORS,
    EVENTS,
    FORMAT_VERSION,
    MANIFEST,
    MANIFEST_LABEL,
    MAPPINGS,
    PROOFS,
    RECIPIENTS_BOUND_FROM,
    SIGNATURE,
    SUPPORTED_FORMATS,
    TRACES,
    Manifest,
    ManifestSignature,
    package_digest,
    required_files,
    sha256_hex,
    unpack_proofs,
)
from syncledger.audit.merkle import leaf_hash, verify_consistency, verify_inclusion
from syncledger.audit.package_errors import check_errors_file
from syncledger.audit.pauses import gc_paused
from syncledger.audit.signing import verify_signature

Signers = Mapping[str, ed25519.Ed25519PublicKey] | SignerSet


@dataclass(frozen=True)
class VerifiedPackage:
    manifest: Manifest
    manifest_bytes: bytes
    digest: str
    checkpoint: Checkpoint
    files: dict[str, bytes]
    #: the exporting installation's key windows, as its trusted signature vouches for them
    windows: dict[str, KeyWindow] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        return self.checkpoint.origin

    def summary(self) -> str:
        m = self.manifest
        return (
            f"OK: package {m.scope} version {m.package_version}, {m.stream.event_count} "
            f"events (seq {m.stream.first_seq}–{m.stream.last_seq}), tree size "
            f"{m.checkpoint.tree_size}, root {m.checkpoint.root_hash}, signed by "
            f"{m.signer_key_id}, digest {self.digest}"
        )


def signer_map(keys: Sequence[ed25519.Ed25519PublicKey]) -> dict[str, ed25519.Ed25519PublicKey]:
    return {key_id(k): k for k in keys}


# ---------------------------------------------------------------------- steps


def _manifest(files: dict[str, bytes], signers: SignerSet) -> tuple[Manifest, bytes, str]:
    for name in (MANIFEST, SIGNATURE):
        if name not in files:
            raise PackageInvalid(f"missing-file:{name}", f"the package has no {name}")
    manifest_bytes = files.pop(MANIFEST)
    try:
        sig = ManifestSignature.model_validate_json(files.pop(SIGNATURE))
        raw_sig = sig.raw()
    except (PydanticValidationError, ValueError) as exc:
        raise PackageInvalid("manifest-signature-invalid", "manifest.sig is unreadable") from exc
    signer = signers.get(sig.key_id)
    if signer is None:
        raise PackageInvalid(
            "untrusted-signer", f"signed by {sig.key_id}, which is not a trusted signer key"
        )
    if not verify_signature(signer.public_key, raw_sig, MANIFEST_LABEL + manifest_bytes):
        raise PackageInvalid("manifest-signature-invalid", "the manifest signature is wrong")
    try:
        manifest = Manifest.model_validate_json(manifest_bytes)
    except PydanticValidationError as exc:
        raise PackageInvalid("manifest-corrupt", "the signed manifest is unreadable") from exc
    return manifest, manifest_bytes, sig.key_id


def _check_format(manifest: Manifest) -> None:
    if manifest.format_version not in SUPPORTED_FORMATS:
        raise PackageInvalid(
            "unsupported-format",
            f"format version {manifest.format_version} is not "
            f"{FORMAT_VERSION}; use a newer syncledger to verify it",
        )


def _windows(manifest: Manifest) -> dict[str, KeyWindow]:
    """The key windows the (trusted) manifest signer states."""
    return {
        e.key_id: KeyWindow(e.from_size, e.until_size, e.not_before_ms, e.not_after_ms)
        for e in manifest.signers
    }


def _check_window(signers: SignerSet, kid: str, cp: Checkpoint, what: str) -> None:
    why = signers.refusal(kid, cp.tree_size, cp.timestamp_ms)
    if why is not None:
        raise PackageInvalid("key-outside-window", f"the {what} is refused: {why}")


def _check_digests(manifest: Manifest, files: dict[str, bytes]) -> None:
    for name in [*required_files(manifest.format_version), *manifest.files]:
        if name not in files:
            raise PackageInvalid(f"missing-file:{name}", f"{name} is not in the package")
    for name in files:
        if name not in manifest.files:
            raise PackageInvalid(f"unexpected-file:{name}", f"{name} is not in the manifest")
    for name, digest in manifest.files.items():
        if sha256_hex(files[name]) != digest:
            raise PackageInvalid(f"file-digest-mismatch:{name}", f"{name} was altered")


def _checkpoint(manifest: Manifest, signers: SignerSet) -> Checkpoint:
    try:
        cp = Checkpoint.from_event(manifest.checkpoint)
    except ValueError as exc:
        raise PackageInvalid("checkpoint-corrupt", "the checkpoint is unreadable") from exc
    if not cp.verify(signers.public_keys()):
        raise PackageInvalid(
            "checkpoint-signature-invalid",
            f"checkpoint of tree size {cp.tree_size} is not signed by a trusted key",
        )
    _check_window(signers, cp.key_id, cp, f"checkpoint of tree size {cp.tree_size}")
    return cp


def _check_events(manifest: Manifest, files: dict[str, bytes], cp: Checkpoint) -> set[int]:
    lines = files[EVENTS].split(b"\n") if files[EVENTS] else []
    proofs = list(unpack_proofs(files[PROOFS]))
    rng = manifest.stream
    if len(lines) != len(proofs) or len(lines) != rng.event_count:
        raise PackageInvalid(
            "event-count-mismatch",
            f"{len(lines)} events and {len(proofs)} proofs; the manifest says {rng.event_count}",
        )
    seqs: set[int] = set()
    previous = 0
    for raw, (seq, path) in zip(lines, proofs, strict=True):
        _check_order(seq, previous, rng.first_seq, rng.last_seq, cp.tree_size)
        if not verify_inclusion(seq - 1, cp.tree_size, leaf_hash(raw), path, cp.root_hash):
            raise PackageInvalid(
                f"inclusion-proof-failed:{seq}",
                f"event {seq} is not in the log of the signed checkpoint (size {cp.tree_size})",
            )
        seqs.add(seq)
        previous = seq
    return seqs


def _check_order(seq: int, previous: int, first: int, last: int, size: int) -> None:
    if seq <= previous:
        raise PackageInvalid("event-out-of-order", f"event {seq} follows event {previous}")
    if not (first <= seq <= last and seq <= size):
        raise PackageInvalid(
            "event-outside-range", f"event {seq} is outside {first}–{last} / tree {size}"
        )
    if previous == 0 and seq != first:
        raise PackageInvalid("event-outside-range", f"first event is {seq}, not {first}")


def _check_references(files: dict[str, bytes], seqs: set[int]) -> None:
    try:
        traces: list[dict[str, Any]] = json.loads(files[TRACES])
        mappings: list[dict[str, Any]] = json.loads(files[MAPPINGS])
        steps = [int(step["seq"]) for trace in traces for step in trace["steps"]]
        mapped = [int(m["seq"]) for m in mappings]
    except (ValueError, KeyError, TypeError) as exc:
        raise PackageInvalid("traces-corrupt", "traces or mappings are unreadable") from exc
    for seq in steps:
        if seq not in seqs:
            raise PackageInvalid("trace-references-unknown-event", f"event {seq} is missing")
    for seq in mapped:
        if seq not in seqs:
            raise PackageInvalid("mapping-references-unknown-event", f"event {seq} is missing")


def _check_auditor_files(manifest: Manifest, files: dict[str, bytes], seqs: set[int]) -> None:
    """Format 3: errors.json and approvals.json name only the package's events; every
    approval is of a mapping version in it, signed by the key it states."""
    if manifest.format_version < RECIPIENTS_BOUND_FROM:
        return
    check_errors_file(files[ERRORS], seqs)
    try:
        mappings: list[dict[str, Any]] = json.loads(files[MAPPINGS])
    except ValueError as exc:
        raise PackageInvalid("traces-corrupt", "mappings.json is unreadable") from exc
    check_approvals(read_approvals(files[APPROVALS]), mappings, seqs)


def _check_recipients(manifest: Manifest, data: bytes) -> None:
    """Format 3: the signed manifest names exactly the recipients the header seals the
    content key to (key ids in order, and the digest of the sealed-key section), so a
    co-recipient who re-encrypts the content to anyone else is refused."""
    if manifest.format_version < RECIPIENTS_BOUND_FROM:
        return
    bound = manifest.recipients
    section = sealed_section(data)
    if bound is None:
        raise PackageInvalid("recipients-not-signed", "the manifest names no recipients")
    actual = tuple(rid for rid, _ in section)
    if bound.key_ids != actual or bound.sealed_keys_sha256 != recipients_digest(section):
        raise PackageInvalid(
            "recipients-not-signed",
            f"the package is encrypted to {', '.join(actual)}; the signed manifest names "
            f"{', '.join(bound.key_ids)} with other sealed keys (re-encrypted after signing)",
        )


# ---------------------------------------------------------------------- verify


def verify_package(
    data: bytes, identity: x25519.X25519PrivateKey, signers: Signers
) -> VerifiedPackage:
    """Verify ``data``; ``signers`` are plain trusted keys (no window known) or a
    :class:`SignerSet` whose windows bound what each key may sign."""
    with gc_paused():
        return _verify(data, identity, SignerSet(SignerSet.of(signers).signers))


def _verify(data: bytes, identity: x25519.X25519PrivateKey, signers: SignerSet) -> VerifiedPackage:
    files = unpack_files(decrypt_package(data, identity))
    manifest, manifest_bytes, signed_by = _manifest(files, signers)
    _check_format(manifest)
    windows = _windows(manifest)
    signers.narrow(windows)  # a trusted signer's word may only narrow a window
    _check_digests(manifest, files)
    cp = _checkpoint(manifest, signers)
    _check_window(signers, signed_by, cp, "manifest signature")
    seqs = _check_events(manifest, files, cp)
    _check_references(files, seqs)
    _check_auditor_files(manifest, files, seqs)
    _check_recipients(manifest, data)
    digest = package_digest(manifest_bytes)
    return VerifiedPackage(manifest, manifest_bytes, digest, cp, files, windows)


def check_approvers(
    pkg: VerifiedPackage, approvers: Mapping[str, ed25519.Ed25519PublicKey]
) -> dict[str, list[str]]:
    """Every mapping version in the package carries a valid approval by one of
    ``approvers`` (``mapping-not-approved:<version>`` otherwise); version -> key ids."""
    if APPROVALS not in pkg.files:
        raise PackageInvalid(
            "approvals-missing",
            f"format {pkg.manifest.format_version} packages carry no approvals",
        )
    mappings = json.loads(pkg.files[MAPPINGS])
    versions = [str(m["mapping_version"]) for m in mappings]
    return check_approved_by(read_approvals(pkg.files[APPROVALS]), versions, approvers)


def check_succession(new: VerifiedPackage, old: VerifiedPackage) -> None:
    """``new`` follows ``old`` (any earlier version) of the same scope and log, over a log
    that only grew: the digest chain (directly, or as recorded for earlier versions) and
    the RFC 9162 consistency proof from ``old``'s checkpoint."""
    n, o = new.manifest, old.manifest
    if n.scope != o.scope or new.origin != old.origin:
        raise PackageInvalid(
            "scope-mismatch", f"{n.scope} of {new.origin} does not follow {o.scope} of {old.origin}"
        )
    if n.package_version <= o.package_version:
        raise PackageInvalid(
            "replayed-older-package",
            f"version {n.package_version} is not newer than version {o.package_version}",
        )
    if n.package_version == o.package_version + 1:
        if n.previous_package_digest != old.digest:
            raise PackageInvalid("chain-broken", "the previous-package digest does not match")
        _check_growth(new, old.checkpoint, _immediate_proof(new))
        return
    _check_growth(new, old.checkpoint, _earlier_proof(new, old))


def _consistency_doc(new: VerifiedPackage) -> dict[str, Any]:
    if CONSISTENCY not in new.files:
        raise PackageInvalid("consistency-proof-missing", "no consistency proof in the package")
    try:
        doc: dict[str, Any] = json.loads(new.files[CONSISTENCY])
    except ValueError as exc:
        raise PackageInvalid("consistency-proof-failed", "consistency.json unreadable") from exc
    return doc


def _proof(entry: Any) -> tuple[int, list[bytes]]:
    try:
        return int(entry["tree_size"]), [bytes.fromhex(h) for h in entry["consistency_path"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise PackageInvalid("consistency-proof-failed", "consistency.json unreadable") from exc


def _immediate_proof(new: VerifiedPackage) -> tuple[int, list[bytes]]:
    doc = _consistency_doc(new)
    if not isinstance(doc.get("from"), dict):
        raise PackageInvalid("consistency-proof-failed", "consistency.json unreadable")
    return _proof({**doc["from"], "consistency_path": doc.get("consistency_path")})


def _earlier_proof(new: VerifiedPackage, old: VerifiedPackage) -> tuple[int, list[bytes]]:
    """The proof from an earlier (not the directly preceding) version, whose digest the
    new package records: the chain holds without the versions in between."""
    version = old.manifest.package_version
    earlier = _consistency_doc(new).get("earlier") or []
    entry = next(
        (e for e in earlier if isinstance(e, dict) and e.get("package_version") == version),
        None,
    )
    if entry is None:
        raise PackageInvalid(
            "consistency-proof-missing",
            f"the package has no consistency proof from version {version}",
        )
    if entry.get("digest") != old.digest:
        raise PackageInvalid(
            "chain-broken", f"version {version} recorded in the package is not this one"
        )
    return _proof(entry)


def _check_growth(new: VerifiedPackage, old_cp: Checkpoint, proof: tuple[int, list[bytes]]) -> None:
    cp = new.checkpoint
    if cp.tree_size < old_cp.tree_size:
        raise PackageInvalid("log-rolled-back", "the log is smaller than in the older package")
    size, path = proof
    if size != old_cp.tree_size or not verify_consistency(
        size, cp.tree_size, old_cp.root_hash, cp.root_hash, path
    ):
        raise PackageInvalid(
            "consistency-proof-failed",
            f"the log of tree size {cp.tree_size} does not extend the one of size "
            f"{old_cp.tree_size} from the previous package",
        )


# ---------------------------------------------------------------------- replay state


class VerifierState:
    """What a verifier has accepted before, per log origin and scope (not per signer key,
    so a rotation does not reset it), and the signer key windows it has learned."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen: dict[str, dict[str, Any]] = {}
        self.windows: dict[str, KeyWindow] = {}
        if path.exists():
            try:
                doc = json.loads(path.read_text())
                self.seen = _rekeyed(doc["scopes"])
                self.windows = {k: KeyWindow.from_json(w) for k, w in doc.get("keys", {}).items()}
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                raise PackageInvalid("state-unreadable", f"{path} is not a state file") from exc

    def _last(self, pkg: VerifiedPackage) -> dict[str, Any] | None:
        m = pkg.manifest
        found = [self.seen.get(f"{pkg.origin} {m.scope}"), self.seen.get(f"* {m.scope}")]
        known = [f for f in found if f is not None]
        return max(known, key=lambda f: int(f["package_version"])) if known else None

    def check(self, pkg: VerifiedPackage) -> None:
        m = pkg.manifest
        last = self._last(pkg)
        if last is None:
            return
        if m.package_version < last["package_version"] or (
            m.checkpoint.tree_size < last["tree_size"]
        ):
            raise PackageInvalid(
                "replayed-older-package",
                f"version {m.package_version} of {m.scope} is older than version "
                f"{last['package_version']} accepted before",
            )
        if m.package_version == last["package_version"] and pkg.digest != last["digest"]:
            raise PackageInvalid(
                "conflicting-package",
                f"a different version {m.package_version} of {m.scope} was accepted before",
            )

    def record(self, pkg: VerifiedPackage) -> None:
        m = pkg.manifest
        self.seen[f"{pkg.origin} {m.scope}"] = {
            "package_version": m.package_version,
            "digest": pkg.digest,
            "tree_size": m.checkpoint.tree_size,
            "root_hash": m.checkpoint.root_hash,
        }
        for kid, window in pkg.windows.items():
            known = self.windows.get(kid)
            self.windows[kid] = window if known is None else known.narrowed(window)
        doc = {"scopes": self.seen, "keys": {k: w.to_json() for k, w in self.windows.items()}}
        atomic_write(self.path, json.dumps(doc, indent=2, sort_keys=True).encode())


def _rekeyed(scopes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """State files written before origins were recorded key by ``<signer> <scope>``; their
    entries hold for the scope in any log (``* <scope>``)."""
    result: dict[str, dict[str, Any]] = {}
    for key, entry in scopes.items():
        first, _, scope = key.partition(" ")
        if first.startswith("ed25519:"):
            key = f"* {scope}"
            older = result.get(key)
            if older is not None and older["package_version"] > entry["package_version"]:
                continue
        result[key] = entry
    return result


def extract(pkg: VerifiedPackage, directory: Path) -> list[Path]:
    """Write the verified files, plus ``proofs.json`` (RFC 9162 fields, base64 hashes)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in sorted(pkg.files.items()):
        (directory / name).write_bytes(data)
        written.append(directory / name)
    proofs = [
        {
            "leaf_index": seq - 1,
            "tree_size": pkg.checkpoint.tree_size,
            "inclusion_path": [base64.b64encode(h).decode() for h in path],
        }
        for seq, path in unpack_proofs(pkg.files[PROOFS])
    ]
    (directory / "proofs.json").write_text(json.dumps(proofs, indent=1))
    (directory / MANIFEST).write_bytes(pkg.manifest_bytes)
    written += [directory / "proofs.json", directory / MANIFEST]
    return written
