"""Errors of the audit module, all under :class:`syncledger.core.errors.SyncLedgerError`.

::

    SyncLedgerError
    └── AuditError                  an audit operation could not be done
        ├── MerkleError             a proof was asked for outside the tree, or a tree is corrupt
        ├── LogDivergence           the log no longer matches what was committed to
        ├── SigningKeyError         signing keys missing, unreadable or unknown
        ├── HoldError               a legal hold could not be placed or released
        └── PackageInvalid          an audit package failed verification (``reason`` names it)
"""

from __future__ import annotations

from syncledger.core.errors import SyncLedgerError


class AuditError(SyncLedgerError):
    """An audit operation could not be done."""


class MerkleError(AuditError):
    """A proof was asked for outside the tree, or a stored tree is unusable."""


class LogDivergence(AuditError):
    """The event log no longer matches the hashes or checkpoints committed to earlier."""


class SigningKeyError(AuditError):
    """A signing key is missing, unreadable, or not one we know."""


class HoldError(AuditError):
    """A legal hold could not be placed or released."""


class PackageInvalid(AuditError):
    """An audit package failed verification; ``reason`` is a stable machine-readable code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
