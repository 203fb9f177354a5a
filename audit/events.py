"""Audit event types (DESIGN §4, category ``audit``) and their subjects.

``MappingVersionPublished`` lives in :mod:`syncledger.core.events`; everything the audit module
appends is defined here. None of these carries personal data or key material.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from syncledger.core.events import Category, EventData, event_type, subject_for

AUDIT_SYSTEM = "syncledger"
HoldScopeKind = Literal["customer", "entity", "period", "case"]


def audit_subject(entity: str, kind: str, raw_id: str) -> str:
    return subject_for(entity, "audit", AUDIT_SYSTEM, kind, raw_id)


def audit_filter(kind: str) -> str:
    """A NATS filter for one kind of audit event across all entities."""
    return f"sl.*.audit.{AUDIT_SYSTEM}.{kind}.*"


@event_type
class CheckpointSigned(EventData):
    """A signed statement of the Merkle tree head: every event up to ``tree_size``."""

    category: ClassVar[Category] = "audit"
    origin: str
    tree_size: int
    root_hash: str  # hex
    timestamp_ms: int
    key_id: str
    signature: str  # base64 Ed25519 over the checkpoint text


@event_type
class SigningKeyRotated(EventData):
    """A new checkpoint signing key, endorsed by the key it replaces."""

    category: ClassVar[Category] = "audit"
    old_key_id: str | None
    new_key_id: str
    new_public_key: str  # base64 raw Ed25519
    endorsement: str | None  # base64 signature of the old key over the new key (and window)
    #: the new key is current from this tree size; the old one signed up to ``old_until_size``
    new_from_size: int | None = None
    old_until_size: int | None = None
    at_ms: int | None = None  # when the old key was retired (ms since the Unix epoch)


@event_type
class KeyEncryptionKeyRotated(EventData):
    """All data keys were re-wrapped under a new key-encryption key."""

    category: ClassVar[Category] = "audit"
    old_kek_id: str
    new_kek_id: str
    rewrapped: int


@event_type
class LegalHoldPlaced(EventData):
    category: ClassVar[Category] = "audit"
    hold_id: str
    scope_kind: HoldScopeKind
    scope_value: str
    reason: str
    placed_by: str
    case_customers: tuple[str, ...] = ()  # a case hold limited to these customers
    review_on: str | None = None  # ISO date the hold is due for review (it stays until released)
    rule: str | None = None  # the hold rule that placed it automatically (``hold_rules.toml``)
    trigger_event: str | None = None  # the id of the event that made the rule fire


@event_type
class LegalHoldReleased(EventData):
    category: ClassVar[Category] = "audit"
    hold_id: str
    reason: str
    released_by: str


@event_type
class LegalHoldExtended(EventData):
    """A hold's review date moved (by an identity with the compliance role)."""

    category: ClassVar[Category] = "audit"
    hold_id: str
    review_on: str  # ISO date
    reason: str
    extended_by: str


@event_type
class SubjectKeyShredded(EventData):
    """A data subject's key was destroyed: its personal fields now read as erased.

    Projections must drop every personal value they derived from this subject's events.
    """

    category: ClassVar[Category] = "audit"
    key_id: str
    customer_ref: str | None
    reason: Literal["retention", "erasure-request"]
    run_id: str | None = None
    expired_on: str | None = None  # ISO date the retention period ended


@event_type
class RetentionRunCompleted(EventData):
    category: ClassVar[Category] = "audit"
    run_id: str
    as_of: str
    shredded: int
    held: int
    not_expired: int
    held_hold_ids: tuple[str, ...] = ()


@event_type
class AuditPackageExported(EventData):
    category: ClassVar[Category] = "audit"
    scope: str
    package_version: int
    digest: str  # sha256 of the signed manifest
    previous_digest: str | None
    tree_size: int
    event_count: int
    recipients: tuple[str, ...]  # recipient key ids
    exported_by: str


@event_type
class MappingVersionApproved(EventData):
    """An approver signed a published mapping version (Ed25519 over
    :func:`syncledger.audit.approvals.approval_text`: ledger, version and its sha256)."""

    category: ClassVar[Category] = "audit"
    ledger: str
    mapping_version: str
    sha256: str  # of the mapping file as published (``MappingVersionPublished.sha256``)
    approver_key_id: str
    approver_public_key: str  # base64 raw Ed25519
    signature: str  # base64 Ed25519 over the approval text
    approved_by: str  # the acting identity that recorded it


@event_type
class AuditPackageAccessed(EventData):
    """A package was opened (verified, and possibly extracted) on an installation that
    records it: by whom, with which recipient key, and what verification answered."""

    category: ClassVar[Category] = "audit"
    digest: str | None  # of the signed manifest; None when it could not be read
    scope: str | None
    package_version: int | None
    identity_key_id: str  # the recipient key it was opened with
    accessed_by: str
    action: Literal["verify", "extract"]
    result: str  # "ok" or the failure reason


@event_type
class KeyEncryptionKeyEscrowed(EventData):
    """The KEK was split among custodians: any ``threshold`` of the ``custodians``' shares
    rebuild it (``audit keys escrow``). Never carries a share."""

    category: ClassVar[Category] = "audit"
    kek_id: str
    environment: str
    custodians: tuple[str, ...]
    threshold: int


@event_type
class KeyEncryptionKeyRecovered(EventData):
    """The KEK was rebuilt from escrow shares (``audit keys recover``) and put in place."""

    category: ClassVar[Category] = "audit"
    kek_id: str
    environment: str
    custodians: tuple[str, ...]  # whose shares were combined
    threshold: int
