"""Mapping approvals: a published mapping version signed by an approver's Ed25519 key.

``syncledger audit approve-mapping --ledger X --key approver.key`` signs the approval text
of the ledger's mapping version in force (or ``--version``) and appends
``MappingVersionApproved``. The signed text (UTF-8, each line ending in a newline)::

    syncledger-mapping-approval/v1
    <ledger>
    <mapping version>
    <sha256 of the mapping file as published, hex>

A package carries, in ``approvals.json``, every approval of the mapping versions in its
``mappings.json`` (the approval events themselves are in ``events.jsonl`` with their
inclusion proofs). ``audit verify`` checks every approval's signature always, and with
``--approver KEY`` that each mapping version in the package was approved by one of
those keys. Approver keys are the approvers' own (``audit approver-keygen``); syncledger
never holds their private halves.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from syncledger.audit.context import AuditContext
from syncledger.audit.errors import AuditError, PackageInvalid
from syncledger.audit.events import MappingVersionApproved
from syncledger.audit.index import LoggedEvent
from syncledger.audit.keyfiles import (
    key_id,
    load_ed25519_private,
    private_pem,
    public_pem,
    raw_public,
    write_public_file,
    write_secret_file,
)
from syncledger.audit.signing import verify_signature
from syncledger.core.events import MappingVersionPublished, subject_for

APPROVAL_LABEL = "syncledger-mapping-approval/v1"
FORMAT = "syncledger-approvals/v1"


def approval_text(ledger: str, mapping_version: str, sha256: str) -> bytes:
    lines = (APPROVAL_LABEL, ledger, mapping_version, sha256)
    return "".join(line + "\n" for line in lines).encode()


def generate_approver_key(prefix: Path) -> tuple[Path, Path, str]:
    """``<prefix>.key`` (Ed25519 PKCS#8, 0600) and ``<prefix>.pub``; paths and key id."""
    key = ed25519.Ed25519PrivateKey.generate()
    private_path = prefix.with_name(prefix.name + ".key")
    public_path = prefix.with_name(prefix.name + ".pub")
    write_secret_file(private_path, private_pem(key))
    write_public_file(public_path, public_pem(key.public_key()))
    return private_path, public_path, key_id(key.public_key())


# ---------------------------------------------------------------------- approving


async def _published(ctx: AuditContext, ledger: str) -> list[MappingVersionPublished]:
    found: list[MappingVersionPublished] = []
    one = subject_for(ctx.entity, "audit", "x", "x", "x")
    async for stored in ctx.store.read(".".join(one.split(".")[:3]) + ".>"):
        data = stored.envelope().payload()
        if isinstance(data, MappingVersionPublished) and data.ledger == ledger:
            found.append(data)
    return found


def _chosen(
    published: Sequence[MappingVersionPublished], ledger: str, version: str | None
) -> MappingVersionPublished:
    if not published:
        raise AuditError(
            f"no mapping version of {ledger} is published; `syncledger mapping publish` first"
        )
    if version is None:
        return published[-1]
    match = [p for p in published if p.mapping_version == version]
    if not match:
        known = ", ".join(sorted({p.mapping_version for p in published}))
        raise AuditError(f"{version} is not a published mapping version of {ledger} ({known})")
    return match[-1]


def sign_approval(
    key: ed25519.Ed25519PrivateKey, mapping: MappingVersionPublished, approved_by: str
) -> MappingVersionApproved:
    public = key.public_key()
    signature = key.sign(approval_text(mapping.ledger, mapping.mapping_version, mapping.sha256))
    return MappingVersionApproved(
        ledger=mapping.ledger,
        mapping_version=mapping.mapping_version,
        sha256=mapping.sha256,
        approver_key_id=key_id(public),
        approver_public_key=base64.b64encode(raw_public(public)).decode(),
        signature=base64.b64encode(signature).decode(),
        approved_by=approved_by,
    )


async def approve_mapping(
    ctx: AuditContext, ledger: str, key_file: Path, version: str | None = None
) -> MappingVersionApproved:
    """Sign the mapping version in force (or ``version``) and append the approval."""
    key = load_ed25519_private(key_file)
    mapping = _chosen(await _published(ctx, ledger), ledger, version)
    event = sign_approval(key, mapping, ctx.actor)
    raw_id = f"{ledger}-{mapping.sha256[:12]}-{event.approver_key_id.split(':')[-1]}"
    await ctx.append_audit(event, "approval", raw_id)
    return event


# ---------------------------------------------------------------------- packages


def approval_events(
    index_events: Sequence[LoggedEvent], mapping_versions: set[str]
) -> list[LoggedEvent]:
    """The approval events of these mapping versions, in log order."""
    return [
        ev
        for ev in index_events
        if isinstance(ev.event, MappingVersionApproved)
        and ev.event.mapping_version in mapping_versions
    ]


def approvals_file(events: Sequence[LoggedEvent]) -> dict[str, Any]:
    approvals = [
        {"seq": ev.seq, **ev.event.model_dump(mode="json")}
        for ev in events
        if isinstance(ev.event, MappingVersionApproved)
    ]
    return {"format": FORMAT, "approvals": approvals}


# ---------------------------------------------------------------------- verifying


@dataclass(frozen=True)
class Approval:
    seq: int
    ledger: str
    mapping_version: str
    sha256: str
    key_id: str
    public_key: ed25519.Ed25519PublicKey
    signature: bytes

    @classmethod
    def of(cls, doc: Mapping[str, Any]) -> Approval:
        public = ed25519.Ed25519PublicKey.from_public_bytes(
            base64.b64decode(doc["approver_public_key"], validate=True)
        )
        return cls(
            int(doc["seq"]),
            str(doc["ledger"]),
            str(doc["mapping_version"]),
            str(doc["sha256"]),
            str(doc["approver_key_id"]),
            public,
            base64.b64decode(doc["signature"], validate=True),
        )

    def valid(self) -> bool:
        text = approval_text(self.ledger, self.mapping_version, self.sha256)
        return key_id(self.public_key) == self.key_id and verify_signature(
            self.public_key, self.signature, text
        )


def read_approvals(data: bytes) -> list[Approval]:
    try:
        doc = json.loads(data)
        if doc.get("format") != FORMAT:
            raise ValueError(f"format is not {FORMAT}")
        return [Approval.of(entry) for entry in doc["approvals"]]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise PackageInvalid("approvals-corrupt", "approvals.json is unreadable") from exc


def _published_digests(mappings: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Mapping version -> its published sha256, which must be the content's."""
    digests: dict[str, str] = {}
    for m in mappings:
        version, digest = str(m["mapping_version"]), str(m["sha256"])
        if hashlib.sha256(str(m["content"]).encode()).hexdigest() != digest:
            raise PackageInvalid(
                f"mapping-digest-mismatch:{version}",
                f"the content of mapping version {version} does not hash to its sha256",
            )
        digests[version] = digest
    return digests


def check_approvals(
    approvals: Sequence[Approval], mappings: Sequence[Mapping[str, Any]], seqs: set[int]
) -> None:
    """Every approval is of a mapping version in the package, signed by its stated key."""
    digests = _published_digests(mappings)
    for a in approvals:
        if a.seq not in seqs:
            raise PackageInvalid(
                "approval-references-unknown-event", f"approval event {a.seq} is not in it"
            )
        if digests.get(a.mapping_version) != a.sha256:
            raise PackageInvalid(
                f"approval-for-other-mapping:{a.mapping_version}",
                f"approval {a.seq} is for content the package's {a.mapping_version} is not",
            )
        if not a.valid():
            raise PackageInvalid(
                f"approval-signature-invalid:{a.mapping_version}",
                f"the approval by {a.key_id} (event {a.seq}) does not verify",
            )


def check_approved_by(
    approvals: Sequence[Approval],
    mapping_versions: Sequence[str],
    approvers: Mapping[str, ed25519.Ed25519PublicKey],
) -> dict[str, list[str]]:
    """Each mapping version has a valid approval by one of ``approvers`` (by key id, and
    the same public key); returns version -> approving key ids."""
    approved: dict[str, list[str]] = {}
    for a in approvals:
        trusted = approvers.get(a.key_id)
        if trusted is not None and raw_public(trusted) == raw_public(a.public_key) and a.valid():
            approved.setdefault(a.mapping_version, []).append(a.key_id)
    for version in mapping_versions:
        if version not in approved:
            raise PackageInvalid(
                f"mapping-not-approved:{version}",
                f"mapping version {version} carries no approval by {', '.join(approvers)}",
            )
    return approved
