"""When a signing key may sign: the tree sizes and times it was the current key for.

A key is current from the log size at which it was installed until the log size at which
it was retired (and between the two times). A checkpoint or package manifest signed by a
key for a tree size (or at a time) outside that window is refused: a copy of a retired key
cannot vouch for anything that happened after it was retired.

The window travels with the key: in ``keyring.json``, in the signer set given to auditors
(``audit signer --set``), in every package manifest, and in ``SigningKeyRotated`` events.
Windows are only ever narrowed by what a verifier learns, never widened.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from syncledger.audit.errors import AuditError
from syncledger.audit.keyfiles import key_id, load_ed25519_public, raw_public

SIGNER_SET_FORMAT = "syncledger-signers/v1"


def ms_of(moment: str | None) -> int | None:
    """Milliseconds since the epoch of an ISO 8601 time (None stays None)."""
    return None if moment is None else int(datetime.fromisoformat(moment).timestamp() * 1000)


def _lower(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


@dataclass(frozen=True)
class KeyWindow:
    """Tree sizes ``from_size``…``until_size`` and times (ms) a key was current for."""

    from_size: int = 0
    until_size: int | None = None
    not_before_ms: int | None = None
    not_after_ms: int | None = None

    def refusal(self, tree_size: int, timestamp_ms: int) -> str | None:
        """Why a signature over ``tree_size`` at ``timestamp_ms`` is outside; None if inside."""
        if self.until_size is not None and tree_size > self.until_size:
            return f"it was retired at tree size {self.until_size}, this is tree size {tree_size}"
        if tree_size < self.from_size:
            return f"it became current at tree size {self.from_size}, this is {tree_size}"
        if self.not_after_ms is not None and timestamp_ms > self.not_after_ms:
            return f"it was retired at {self.not_after_ms} ms, this was signed at {timestamp_ms}"
        if self.not_before_ms is not None and timestamp_ms < self.not_before_ms:
            return f"it was created at {self.not_before_ms} ms, this was signed at {timestamp_ms}"
        return None

    def narrowed(self, other: KeyWindow) -> KeyWindow:
        """The window both agree on (what a verifier learns can only shrink it)."""
        return KeyWindow(
            max(self.from_size, other.from_size),
            _lower(self.until_size, other.until_size),
            max(self.not_before_ms or 0, other.not_before_ms or 0) or None,
            _lower(self.not_after_ms, other.not_after_ms),
        )

    def to_json(self) -> dict[str, int | None]:
        return {
            "from_size": self.from_size,
            "until_size": self.until_size,
            "not_before_ms": self.not_before_ms,
            "not_after_ms": self.not_after_ms,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> KeyWindow:
        return cls(
            int(doc.get("from_size") or 0),
            _int_or_none(doc.get("until_size")),
            _int_or_none(doc.get("not_before_ms")),
            _int_or_none(doc.get("not_after_ms")),
        )


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


@dataclass(frozen=True)
class TrustedSigner:
    public_key: ed25519.Ed25519PublicKey
    window: KeyWindow = field(default_factory=KeyWindow)

    def to_json(self) -> dict[str, Any]:
        public = base64.b64encode(raw_public(self.public_key)).decode()
        return {"key_id": key_id(self.public_key), "public_key": public, **self.window.to_json()}


class SignerSet:
    """The signer keys a verifier trusts, each with the window it may sign in."""

    def __init__(self, signers: Mapping[str, TrustedSigner] | None = None) -> None:
        self.signers: dict[str, TrustedSigner] = dict(signers or {})

    @classmethod
    def of(cls, keys: Mapping[str, ed25519.Ed25519PublicKey] | SignerSet) -> SignerSet:
        """Plain keys (no window known: unbounded) or a signer set as is."""
        if isinstance(keys, SignerSet):
            return keys
        return cls({kid: TrustedSigner(k) for kid, k in keys.items()})

    def get(self, kid: str) -> TrustedSigner | None:
        return self.signers.get(kid)

    def public_keys(self) -> dict[str, ed25519.Ed25519PublicKey]:
        return {kid: s.public_key for kid, s in self.signers.items()}

    def refusal(self, kid: str, tree_size: int, timestamp_ms: int) -> str | None:
        signer = self.signers.get(kid)
        if signer is None:
            return f"{kid} is not a trusted signer key"
        why = signer.window.refusal(tree_size, timestamp_ms)
        return None if why is None else f"key {kid} may not sign this: {why}"

    def narrow(self, windows: Mapping[str, KeyWindow]) -> None:
        """Apply what was learned about trusted keys' windows (never widens, never adds)."""
        for kid, window in windows.items():
            signer = self.signers.get(kid)
            if signer is not None:
                self.signers[kid] = replace(signer, window=signer.window.narrowed(window))

    def merged(self, other: SignerSet) -> SignerSet:
        """Both sets' keys; a key in both keeps the narrower window."""
        result = SignerSet(self.signers)
        for kid, signer in other.signers.items():
            mine = result.signers.get(kid)
            window = signer.window if mine is None else mine.window.narrowed(signer.window)
            result.signers[kid] = TrustedSigner(signer.public_key, window)
        return result

    def windows(self) -> dict[str, KeyWindow]:
        return {kid: s.window for kid, s in self.signers.items()}

    def to_bytes(self, origin: str) -> bytes:
        doc = {
            "format": SIGNER_SET_FORMAT,
            "origin": origin,
            "keys": [s.to_json() for s in self.signers.values()],
        }
        return json.dumps(doc, indent=2, sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes, source: str) -> SignerSet:
        try:
            doc = json.loads(data)
            if doc.get("format") != SIGNER_SET_FORMAT:
                raise ValueError(f"format is not {SIGNER_SET_FORMAT}")
            return cls(dict(_signer_entry(entry) for entry in doc["keys"]))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise AuditError(f"{source} is not a syncledger signer set: {exc}") from exc


def _signer_entry(entry: Mapping[str, Any]) -> tuple[str, TrustedSigner]:
    public = ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(entry["public_key"]))
    kid = key_id(public)
    if entry.get("key_id", kid) != kid:
        raise ValueError(f"key id {entry['key_id']} does not match its public key")
    return kid, TrustedSigner(public, KeyWindow.from_json(entry))


def load_signers(paths: Iterable[Path]) -> SignerSet:
    """``--signer`` files: PEM public keys (no window known) or signer sets (JSON)."""
    result = SignerSet()
    for path in paths:
        result = result.merged(_load_one(path))
    return result


def _load_one(path: Path) -> SignerSet:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AuditError(f"cannot read signer file {path}: {exc.strerror}") from exc
    if data.lstrip().startswith(b"{"):
        return SignerSet.from_bytes(data, str(path))
    key = load_ed25519_public(path)
    return SignerSet({key_id(key): TrustedSigner(key)})
