"""Exporting an audit package for one scope (customer, entity or period).

The package holds the scope's events (exact stored bytes), an inclusion proof for each
against a freshly signed checkpoint, the traces of the records they belong to, the
mapping versions those used, the legal holds, and — when an earlier package of the same
scope exists — a consistency proof from its checkpoint; and (format 3) each record's
error history (``errors.json``), the approvals of its mapping versions, the recorded
ledger contract runs and a reproduction guide (``REPRODUCE.md``). The content key is
sealed to each recipient (HPKE) first, so the Ed25519-signed manifest names exactly who
the package is encrypted to; then the files are encrypted. Exporting appends
``AuditPackageExported``; ``audit verify --record-access`` appends
``AuditPackageAccessed`` (docs/audit-format.md specifies the format).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric import x25519

from syncledger.audit import approvals, contract_results
from syncledger.audit.business_dates import DocumentDates, in_period
from syncledger.audit.checkpoints import (
    Checkpoint,
    LoggedCheckpoint,
    checkpoint_now,
    open_keyring,
)
from syncledger.audit.container import pack_files
from syncledger.audit.context import AuditContext
from syncledger.audit.encryption import encrypt_sealed, seal_recipients
from syncledger.audit.errors import AuditError
from syncledger.audit.events import (
    AuditPackageAccessed,
    AuditPackageExported,
    SubjectKeyShredded,
)
from syncledger.audit.files import atomic_write
from syncledger.audit.hold_scope import resolve_customer
from syncledger.audit.holds import HOLD_EVENTS, Hold, HoldBook
from syncledger.audit.index import LoggedEvent, LogIndex
from syncledger.audit.keyfiles import key_id
from syncledger.audit.logtree import LogTree
from syncledger.audit.manifest import (
    APPROVALS,
    CONSISTENCY,
    CONTRACT_RESULTS,
    ERRORS,
    EVENTS,
    FORMAT_VERSION,
    HOLDS,
    MANIFEST,
    MANIFEST_LABEL,
    MAPPINGS,
    PROOFS,
    REPRODUCE,
    SIGNATURE,
    TRACES,
    Manifest,
    ManifestSignature,
    RecipientBinding,
    SignerEntry,
    StreamRange,
    pack_proofs,
    package_digest,
    sha256_hex,
)
from syncledger.audit.merkle import MerkleTree
from syncledger.audit.note import SignedNote
from syncledger.audit.package_errors import errors_file
from syncledger.audit.package_guide import GuideFacts, reproduce_md
from syncledger.audit.pauses import gc_paused
from syncledger.audit.retention import load_policy
from syncledger.audit.scope import Scope
from syncledger.audit.signing import SigningKeyring
from syncledger.audit.trace import TraceBuilder
from syncledger.audit.verify import VerifiedPackage
from syncledger.audit.witness_package import checkpoint_file
from syncledger.audit.witness_publish import CheckpointPublisher
from syncledger.core.events import DataMapPublished, MappingVersionPublished
from syncledger.core.ids import canonical_json


def _typed_customer(index: LogIndex, ctx: AuditContext, scope: Scope) -> Scope:
    """``customer:C-17`` as typed names the ref ``hubspot/customer/C-17``."""
    if scope.kind != "customer":
        return scope
    customers = {c for (e, c) in index.by_subject() if e == ctx.entity}
    return Scope("customer", resolve_customer(scope.value, customers) or scope.value)


@dataclass(frozen=True)
class ExportResult:
    path: Path
    scope: str
    package_version: int
    digest: str
    event_count: int
    tree_size: int
    recipients: tuple[str, ...]


# ---------------------------------------------------------------------- selection


@dataclass(frozen=True)
class _Scoped:
    """Decides which events a scope takes: periods by document date in the entity's fiscal
    calendar, cases by the customers of that case's holds (the entity when none named)."""

    scope: Scope
    entity: str
    dates: DocumentDates
    end_month: int
    case_customers: frozenset[str] | None = None

    def takes(self, ev: LoggedEvent) -> bool:
        if self.scope.kind == "entity":
            return ev.entity == self.scope.value
        if ev.entity != self.entity:
            return False
        if self.scope.kind == "customer":
            return ev.customer == self.scope.value or _about_customer(ev, self.scope.value)
        if self.scope.kind == "case":
            named = self.case_customers
            return ev.customer is not None and (not named or ev.customer in named)
        day = self.dates.of_event(ev)
        return day is not None and in_period(self.scope.value, day, self.end_month)


def _about_customer(ev: LoggedEvent, customer: str) -> bool:
    return isinstance(ev.event, SubjectKeyShredded) and ev.event.customer_ref == customer


def _relevant_holds(book: HoldBook, scope: Scope, entity: str) -> list[Hold]:
    if scope.kind == "entity":
        return [h for h in book.holds.values() if h.entity == scope.value]
    holds = [h for h in book.holds.values() if h.entity == entity]
    if scope.kind == "customer":
        return [h for h in holds if h.scope.kind != "customer" or h.scope.value == scope.value]
    if scope.kind == "case":
        return [h for h in holds if h.scope == scope]
    return holds


def _case_customers(book: HoldBook, scope: Scope, entity: str) -> frozenset[str] | None:
    """The customers a case's holds name (empty: the whole entity); None: no such case."""
    holds = [h for h in book.holds.values() if h.entity == entity and h.scope == scope]
    if not holds:
        return None
    if any(not h.case_customers for h in holds):
        return frozenset()
    return frozenset(c for h in holds for c in h.case_customers)


@dataclass
class Selection:
    events: list[LoggedEvent]
    traces: list[dict[str, Any]]
    holds: list[Hold]


def select(index: LogIndex, ctx: AuditContext, scope: Scope) -> Selection:
    book = HoldBook.fold(ev for ev in index.events if isinstance(ev.event, HOLD_EVENTS))
    scope = _typed_customer(index, ctx, scope)
    case = _case_customers(book, scope, ctx.entity) if scope.kind == "case" else None
    if scope.kind == "case" and case is None:
        raise AuditError(
            f"no legal hold has scope {scope}; `syncledger audit hold list` shows them"
        )
    end_month = load_policy(ctx).end_month(ctx.entity)
    scoped = _Scoped(scope, ctx.entity, DocumentDates.of(index), end_month, case)
    chosen = {ev.seq: ev for ev in index.events if scoped.takes(ev)}
    holds = _relevant_holds(book, scope, ctx.entity)
    hold_seqs = {h.seq for h in holds}
    chosen.update({ev.seq: ev for ev in index.events if ev.seq in hold_seqs})
    traces = _traces(index, ctx, list(chosen.values()))
    by_seq = {ev.seq: ev for ev in index.events}
    for trace in traces:
        for step in trace.steps:
            chosen.setdefault(step.seq, by_seq[step.seq])
    events = sorted(chosen.values(), key=lambda ev: ev.seq)
    return Selection(events, [t.to_json(with_proofs=False) for t in traces], holds)


def _traces(index: LogIndex, ctx: AuditContext, events: Iterable[LoggedEvent]) -> list[Any]:
    by_ref: dict[tuple[str, str], list[LoggedEvent]] = {}
    for ev in sorted(events, key=lambda e: e.seq):
        if ev.ref is not None:
            by_ref.setdefault((ev.entity, ev.ref), []).append(ev)
    builder = TraceBuilder(index, ctx.keystore)
    return [builder.build(entity, ref, evs) for (entity, ref), evs in sorted(by_ref.items())]


# ---------------------------------------------------------------------- files


def _mappings(events: Sequence[LoggedEvent]) -> list[dict[str, Any]]:
    return [
        {"seq": ev.seq, **e.model_dump(mode="json")}
        for ev in events
        if isinstance(e := ev.event, MappingVersionPublished)
    ]


def _earlier(index: LogIndex, scope: Scope) -> list[AuditPackageExported]:
    """Every package exported before for this scope, oldest first."""
    return [e for _, e in index.of_class(AuditPackageExported) if e.scope == str(scope)]


def _consistency(
    tree: MerkleTree, earlier: Sequence[AuditPackageExported], cp: Checkpoint
) -> bytes | None:
    """RFC 9162 consistency proofs to this checkpoint: from the directly preceding package
    (``from`` / ``consistency_path``) and from every earlier one (``earlier``), so a verifier
    holding any older version can check that the log only grew since."""
    proofs = [e for e in earlier if 0 < e.tree_size <= cp.tree_size]
    if not proofs or proofs[-1] is not earlier[-1]:
        return None
    previous = earlier[-1]
    path = tree.consistency_proof(previous.tree_size, cp.tree_size)
    return canonical_json(
        {
            "from": {
                "tree_size": previous.tree_size,
                "root_hash": tree.root(previous.tree_size).hex(),
            },
            "to": {"tree_size": cp.tree_size, "root_hash": cp.root_hash.hex()},
            "consistency_path": [p.hex() for p in path],
            "earlier": [_earlier_proof(tree, e, cp) for e in proofs],
        }
    )


def _earlier_proof(tree: MerkleTree, e: AuditPackageExported, cp: Checkpoint) -> dict[str, Any]:
    return {
        "package_version": e.package_version,
        "digest": e.digest,
        "tree_size": e.tree_size,
        "root_hash": tree.root(e.tree_size).hex(),
        "consistency_path": [p.hex() for p in tree.consistency_proof(e.tree_size, cp.tree_size)],
    }


def _signer_entries(keyring: SigningKeyring) -> tuple[SignerEntry, ...]:
    signers = keyring.signer_set().signers.values()
    return tuple(SignerEntry.model_validate(s.to_json()) for s in signers)


def _content_files(
    selection: Selection, tree: MerkleTree, cp: Checkpoint, consistency: bytes | None
) -> dict[str, bytes]:
    proofs = [(ev.seq, tree.inclusion_proof(ev.seq - 1, cp.tree_size)) for ev in selection.events]
    files = {
        EVENTS: b"\n".join(ev.raw for ev in selection.events),
        PROOFS: pack_proofs(proofs),
        TRACES: canonical_json(selection.traces),
        MAPPINGS: canonical_json(_mappings(selection.events)),
        HOLDS: canonical_json([h.to_json() for h in selection.holds]),
    }
    if consistency is not None:
        files[CONSISTENCY] = consistency
    return files


# ---------------------------------------------------------------------- auditor files


def _with_approvals(index: LogIndex, selection: Selection) -> Selection:
    """The selection plus the approvals of its mapping versions (proved like any event)."""
    versions = {m["mapping_version"] for m in _mappings(selection.events)}
    found = approvals.approval_events(index.events, versions)
    if not found:
        return selection
    chosen = {ev.seq: ev for ev in selection.events}
    chosen.update({ev.seq: ev for ev in found})
    events = sorted(chosen.values(), key=lambda ev: ev.seq)
    return Selection(events, selection.traces, selection.holds)


def _with_data_maps(index: LogIndex, selection: Selection) -> Selection:
    """The selection plus the data maps of its entities in force up to its last event
    (``DataMapPublished``: where personal data goes and the approved transfer rules),
    proved like any event."""
    entities = {ev.entity for ev in selection.events}
    last = max(ev.seq for ev in selection.events)
    found = [
        ev for ev, _ in index.of_class(DataMapPublished) if ev.entity in entities and ev.seq <= last
    ]
    if not found:
        return selection
    chosen = {ev.seq: ev for ev in (*selection.events, *found)}
    events = sorted(chosen.values(), key=lambda ev: ev.seq)
    return Selection(events, selection.traces, selection.holds)


def _facts(ctx: AuditContext, scope: Scope, version: int, cp: Checkpoint) -> GuideFacts:
    created = ctx.clock().isoformat()
    return GuideFacts(str(scope), version, cp.origin, cp.tree_size, cp.root_hash.hex(), created)


def _ledgers(events: Sequence[LoggedEvent]) -> set[str]:
    """The ledgers the package's events name (pushes, mapping versions, mismatches)."""
    return {ledger for ev in events if isinstance(ledger := ev.data.get("ledger"), str)}


def _auditor_files(ctx: AuditContext, selection: Selection, facts: GuideFacts) -> dict[str, bytes]:
    """Format 3: error histories, approvals, contract runs and the reproduction guide."""
    mappings = _mappings(selection.events)
    approved = approvals.approval_events(selection.events, {m["mapping_version"] for m in mappings})
    counts: dict[str, int] = {}
    for ev in approved:
        counts[ev.data["mapping_version"]] = counts.get(ev.data["mapping_version"], 0) + 1
    contract = contract_results.package_file(ctx.audit_dir, _ledgers(selection.events))
    guide = reproduce_md(facts, selection.events, mappings, counts, contract)
    return {
        ERRORS: canonical_json(errors_file(selection.events)),
        APPROVALS: canonical_json(approvals.approvals_file(approved)),
        CONTRACT_RESULTS: canonical_json(contract),
        REPRODUCE: guide,
    }


# ---------------------------------------------------------------------- export


async def export_package(
    ctx: AuditContext,
    scope: Scope,
    recipients: Sequence[x25519.X25519PublicKey],
    out: Path,
    publisher: CheckpointPublisher | None = None,
) -> ExportResult:
    """Write the package to ``out`` (mode 0600) and record ``AuditPackageExported``;
    ``publisher``: its checkpoint is witnessed first and carries the cosignatures."""
    with gc_paused():
        return await _export(ctx, scope, recipients, out, publisher)


async def _export(
    ctx: AuditContext,
    scope: Scope,
    recipients: Sequence[x25519.X25519PublicKey],
    out: Path,
    publisher: CheckpointPublisher | None = None,
) -> ExportResult:
    if not recipients:
        raise AuditError("give at least one --recipient public key")
    index = await LogIndex.build(ctx.store, ctx.meter)
    scope = _typed_customer(index, ctx, scope)
    selection = select(index, ctx, scope)
    if not selection.events:
        raise AuditError(f"no events in scope {scope}; nothing to export")
    selection = _with_data_maps(index, _with_approvals(index, selection))
    earlier = _earlier(index, scope)
    previous = earlier[-1] if earlier else None
    version = (previous.package_version + 1) if previous else 1
    keyring = await open_keyring(ctx)
    tree = LogTree.open(ctx.audit_dir)
    with ctx.meter("checkpointing the log", None):
        logged = await checkpoint_now(ctx, tree, publisher)
    cp = logged.checkpoint
    files = _content_files(selection, tree.tree, cp, _consistency(tree.tree, earlier, cp))
    files.update(checkpoint_file(_checkpoint_note(keyring, logged)))
    facts = _facts(ctx, scope, version, cp)
    files.update(_auditor_files(ctx, selection, facts))
    sealed = seal_recipients(recipients)
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        package_version=version,
        previous_package_digest=previous.digest if previous else None,
        scope=str(scope),
        entity=scope.value if scope.kind == "entity" else ctx.entity,
        stream=StreamRange(
            first_seq=selection.events[0].seq,
            last_seq=selection.events[-1].seq,
            event_count=len(selection.events),
        ),
        checkpoint=cp.to_event(),
        files={name: sha256_hex(data) for name, data in sorted(files.items())},
        created_at=facts.created_at,
        exported_by=ctx.actor,
        signer_key_id=keyring.current_key_id,
        signers=_signer_entries(keyring),
        recipients=RecipientBinding(key_ids=sealed.key_ids(), sealed_keys_sha256=sealed.binding()),
    )
    manifest_bytes = manifest.to_bytes()
    kid, signature = keyring.sign(MANIFEST_LABEL + manifest_bytes)
    files[MANIFEST] = manifest_bytes
    files[SIGNATURE] = (
        ManifestSignature(key_id=kid, signature=base64.b64encode(signature).decode())
        .model_dump_json()
        .encode()
    )
    atomic_write(out, encrypt_sealed(pack_files(files), sealed), mode=0o600)
    result = ExportResult(
        out,
        str(scope),
        manifest.package_version,
        package_digest(manifest_bytes),
        len(selection.events),
        cp.tree_size,
        tuple(key_id(r) for r in recipients),
    )
    await _record(ctx, result, manifest)
    return result


def _checkpoint_note(keyring: SigningKeyring, logged: LoggedCheckpoint) -> SignedNote | None:
    """The checkpoint as a C2SP note, with the witnesses' cosignatures when it got any."""
    if logged.published is not None and logged.published.note is not None:
        return logged.published.note
    cp = logged.checkpoint
    return cp.note(keyring.signer_record(cp.key_id).public_key)


async def _record(ctx: AuditContext, result: ExportResult, manifest: Manifest) -> None:
    event = AuditPackageExported(
        scope=result.scope,
        package_version=result.package_version,
        digest=result.digest,
        previous_digest=manifest.previous_package_digest,
        tree_size=result.tree_size,
        event_count=result.event_count,
        recipients=result.recipients,
        exported_by=ctx.actor,
    )
    await ctx.append_audit(event, "package", f"{result.scope}-v{result.package_version}")


# ---------------------------------------------------------------------- access


@dataclass(frozen=True)
class PackageAccess:
    """A package opened by ``audit verify --record-access`` (``verified``: None when it
    failed, ``result`` then being the failure reason)."""

    verified: VerifiedPackage | None
    identity_key_id: str
    action: Literal["verify", "extract"]
    result: str


async def record_access(ctx: AuditContext, access: PackageAccess) -> int:
    """Append ``AuditPackageAccessed`` by the installation's acting identity (never a free
    text)."""
    m = access.verified.manifest if access.verified is not None else None
    event = AuditPackageAccessed(
        digest=access.verified.digest if access.verified is not None else None,
        scope=m.scope if m is not None else None,
        package_version=m.package_version if m is not None else None,
        identity_key_id=access.identity_key_id,
        accessed_by=ctx.actor,
        action=access.action,
        result=access.result,
    )
    raw_id = f"{event.scope or 'unreadable'}-v{event.package_version or 0}"
    return await ctx.append_audit(event, "package-access", raw_id)


def describe(result: ExportResult) -> str:
    return json.dumps(
        {
            "out": str(result.path),
            "scope": result.scope,
            "version": result.package_version,
            "digest": result.digest,
            "events": result.event_count,
            "tree_size": result.tree_size,
            "recipients": list(result.recipients),
        }
    )
