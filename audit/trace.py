"""The history of one record, source to ledger to reconciliation, from the log alone.

``trace <ref>`` accepts a source ref (``hubspot/invoice/123``) or a ledger ref
(``qbo/invoice/145``) and returns every event of that record in stream order, the mapping
versions its pushes used, and the reconciliation runs that checked it, each with an RFC
9162 inclusion proof against a signed checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from syncledger.audit.checkpoints import Checkpoint, checkpoint_now, latest_checkpoint
from syncledger.audit.context import AuditContext
from syncledger.audit.errors import AuditError, LogDivergence
from syncledger.audit.index import LINKING, LoggedEvent, LogIndex
from syncledger.audit.logtree import LogTree
from syncledger.audit.personal import PersonalData, open_personal
from syncledger.audit.summaries import summarize
from syncledger.core.events import (
    LedgerItemRequested,
    LedgerPushAbandoned,
    LedgerPushFailed,
    LedgerPushRequested,
    LedgerPushSucceeded,
    MappingVersionPublished,
    MismatchDetected,
    MismatchResolved,
    ReconciliationCompleted,
    RecordLinked,
    ReflowRequested,
    SourceMappingPublished,
    SourceRecordObserved,
    SourceRecordRejected,
)
from syncledger.core.keystore import KeyStore


@dataclass
class TraceStep:
    seq: int
    event_id: str
    type: str
    occurred_at: str
    summary: str
    personal: PersonalData
    proof: list[bytes] = field(default_factory=list)

    def to_json(self, with_proof: bool = True) -> dict[str, Any]:
        """Full form for ``trace --json``; in packages (``with_proof=False``) the step only
        points at its event (``seq``): id, time and proof are in events.jsonl/proofs.bin,
        and personal data appears only where the event has some."""
        doc: dict[str, Any] = {"seq": self.seq, "type": self.type, "summary": self.summary}
        if with_proof or self.personal.status != "none":
            doc["personal_data"] = self.personal.to_json()
        if with_proof:
            doc.update(
                leaf_index=self.seq - 1,
                event_id=self.event_id,
                occurred_at=self.occurred_at,
                inclusion_path=[p.hex() for p in self.proof],
            )
        return doc


@dataclass
class RecordTrace:
    entity: str
    ref: str
    kind: str
    customer: str | None
    source_versions: list[str]
    validation: str
    mapping_versions: list[str]
    push_attempts: list[str]
    ledger_refs: list[str]
    reconciliation: str
    steps: list[TraceStep]

    def to_json(self, with_proofs: bool = True) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "ref": self.ref,
            "kind": self.kind,
            "customer": self.customer,
            "source_versions": self.source_versions,
            "validation": self.validation,
            "mapping_versions": self.mapping_versions,
            "push_attempts": self.push_attempts,
            "ledger_refs": self.ledger_refs,
            "reconciliation": self.reconciliation,
            "steps": [s.to_json(with_proofs) for s in self.steps],
        }


# ---------------------------------------------------------------------- building


#: the events that name the mapping version they used (a test holds every event type
#: with a ``mapping_version`` to this list)
USES_MAPPING = (
    LedgerPushRequested,
    LedgerPushSucceeded,
    LedgerItemRequested,
    SourceRecordRejected,  # the version a rejection was judged under, when it names one
    ReflowRequested,
)
#: a push's attempts and their outcomes
PUSH_ATTEMPTS = (LedgerPushRequested, LedgerPushSucceeded, LedgerPushFailed, LedgerPushAbandoned)


def qualified_ledger_ref(event: LedgerPushSucceeded | RecordLinked) -> str:
    ref = event.ledger_ref
    return ref if "/" in ref else f"{event.ledger}/{ref}"


def _mappings_used(events: list[LoggedEvent]) -> set[tuple[str, str]]:
    """(ledger or source, mapping version) of every mapping the events used: the ledger
    mappings pushes named and the source mappings that shaped observations."""
    ledger = {
        (e.ledger, e.mapping_version)
        for ev in events
        if isinstance(e := ev.event, USES_MAPPING)
        and e.ledger is not None
        and e.mapping_version is not None
    }
    shaped = {
        (e.ref.split("/", 1)[0], e.source_mapping)
        for ev in events
        if isinstance(e := ev.event, SourceRecordObserved) and e.source_mapping is not None
    }
    return ledger | shaped


def resolve_ref(index: LogIndex, ref: str) -> tuple[str, str]:
    """(entity, source ref) for a source or ledger ref; ``AuditError`` when unknown."""
    for entity, source_ref in index.kind_of_ref:
        if source_ref == ref:
            return entity, ref
    for (entity, ledger, ledger_ref), source_ref in index.ledger_to_source.items():
        if ref in (ledger_ref, f"{ledger}/{ledger_ref}"):
            return entity, source_ref
    raise AuditError(f"no record {ref!r} in the log (give a source ref or a ledger ref)")


def _validation(events: list[LoggedEvent]) -> str:
    observed = (ev.seq for ev in events if isinstance(ev.event, SourceRecordObserved))
    latest_seen = max(observed, default=0)
    late = [
        e
        for ev in events
        if isinstance(e := ev.event, SourceRecordRejected) and ev.seq > latest_seen
    ]
    if late:
        return f"rejected ({', '.join(r.code for r in late[-1].reasons)})"
    if any(isinstance(ev.event, LedgerPushRequested | RecordLinked) for ev in events):
        return "valid"
    return "not validated yet"


def _reconciliation(events: list[LoggedEvent], runs: list[LoggedEvent]) -> str:
    open_keys: dict[str, LoggedEvent] = {}
    for ev in events:
        if isinstance(ev.event, MismatchDetected):
            open_keys[ev.event.key] = ev
        elif isinstance(ev.event, MismatchResolved):
            open_keys.pop(ev.event.key, None)
    if open_keys:
        return "open mismatch: " + "; ".join(summarize(ev) for ev in open_keys.values())
    if runs:
        return f"reconciled: {summarize(runs[-1])}"
    if any(isinstance(ev.event, MismatchResolved) for ev in events):
        return "mismatch resolved"
    return "not reconciled yet"


class TraceBuilder:
    """Builds traces from one index; the lookups every trace needs are computed once."""

    def __init__(self, index: LogIndex, keys: KeyStore) -> None:
        self.index, self.keys = index, keys
        self.mappings: dict[tuple[str, str], LoggedEvent] = {
            (e.ledger, e.mapping_version): ev for ev, e in index.of_class(MappingVersionPublished)
        }
        self.mappings.update(
            ((e.source, e.mapping_version), ev) for ev, e in index.of_class(SourceMappingPublished)
        )
        self.runs: dict[tuple[str, str], list[LoggedEvent]] = {}
        for ev, e in index.of_class(ReconciliationCompleted):
            self.runs.setdefault((ev.entity, e.ledger), []).append(ev)
        #: each event's step (its words, its personal data opened), made once however many
        #: traces show the event
        self._steps: dict[int, TraceStep] = {}

    def _step(self, ev: LoggedEvent) -> TraceStep:
        step = self._steps.get(ev.seq)
        if step is None:
            personal = open_personal(self.keys, ev)
            step = TraceStep(ev.seq, ev.id, ev.type, ev.doc["occurred_at"], summarize(ev), personal)
            self._steps[ev.seq] = step
        return step

    def _mapping_events(self, events: list[LoggedEvent]) -> list[LoggedEvent]:
        used = _mappings_used(events)
        return [self.mappings[key] for key in sorted(used) if key in self.mappings]

    def _last_run(self, entity: str, events: list[LoggedEvent]) -> list[LoggedEvent]:
        pushed = [(ev.seq, e.ledger) for ev in events if isinstance(e := ev.event, LINKING)]
        if not pushed:
            return []
        first = min(seq for seq, _ in pushed)
        runs = [
            run
            for ledger in {ledger for _, ledger in pushed}
            for run in self.runs.get((entity, ledger), [])[-1:]
            if run.seq > first
        ]
        return sorted(runs, key=lambda ev: ev.seq)[-1:]

    def build(self, entity: str, ref: str, events: list[LoggedEvent]) -> RecordTrace:
        runs = self._last_run(entity, events)
        related = sorted(
            {ev.seq: ev for ev in [*events, *self._mapping_events(events), *runs]}.values(),
            key=lambda ev: ev.seq,
        )
        return RecordTrace(
            entity=entity,
            ref=ref,
            kind=self.index.record_kind(entity, ref),
            customer=self.index.customer_of_ref.get((entity, ref)),
            source_versions=[
                e.version for ev in events if isinstance(e := ev.event, SourceRecordObserved)
            ],
            validation=_validation(events),
            mapping_versions=sorted({version for _, version in _mappings_used(events)}),
            push_attempts=[summarize(ev) for ev in events if isinstance(ev.event, PUSH_ATTEMPTS)],
            ledger_refs=sorted(
                {qualified_ledger_ref(e) for ev in events if isinstance(e := ev.event, LINKING)}
            ),
            reconciliation=_reconciliation(events, runs),
            steps=[self._step(ev) for ev in related],
        )


# ---------------------------------------------------------------------- with proofs


@dataclass
class ProvenTrace:
    trace: RecordTrace
    checkpoint: Checkpoint

    def to_json(self) -> dict[str, Any]:
        cp = self.checkpoint
        return {
            "checkpoint": {**cp.to_event().model_dump()},
            **self.trace.to_json(with_proofs=True),
        }

    def facts(self) -> tuple[tuple[str, str], ...]:
        """The trace's headline facts, labelled, as `audit trace` and the console show them."""
        t, cp = self.trace, self.checkpoint
        return (
            ("record", f"{t.ref} ({t.kind}, entity {t.entity}, customer {t.customer})"),
            ("source versions", ", ".join(t.source_versions) or "-"),
            ("validation", t.validation),
            ("mapping versions", ", ".join(t.mapping_versions) or "-"),
            ("push attempts", "; ".join(t.push_attempts) or "-"),
            ("ledger ids", ", ".join(t.ledger_refs) or "-"),
            ("reconciliation", t.reconciliation),
            ("checkpoint", f"tree size {cp.tree_size}, root {cp.root_hash.hex()}, {cp.key_id}"),
        )


async def covering_checkpoint(ctx: AuditContext, tree: LogTree, last_seq: int) -> Checkpoint:
    """The latest signed checkpoint if it covers ``last_seq``, else a fresh one."""
    logged = await latest_checkpoint(ctx)
    if logged is None or logged.checkpoint.tree_size < last_seq:
        logged = await checkpoint_now(ctx, tree)
    await tree.sync(ctx.store)
    cp = logged.checkpoint
    if tree.tree.root(cp.tree_size) != cp.root_hash:
        raise LogDivergence(
            f"the log no longer matches checkpoint {cp.tree_size}: run "
            "`syncledger audit verify-log`"
        )
    return cp


async def trace_record(ctx: AuditContext, ref: str) -> ProvenTrace:
    index = await LogIndex.build(ctx.store)
    entity, source_ref = resolve_ref(index, ref)
    events = [ev for ev in index.events if ev.ref == source_ref and ev.entity == entity]
    trace = TraceBuilder(index, ctx.keystore).build(entity, source_ref, events)
    tree = LogTree.open(ctx.audit_dir)
    cp = await covering_checkpoint(ctx, tree, max(s.seq for s in trace.steps))
    for step in trace.steps:
        step.proof = tree.tree.inclusion_proof(step.seq - 1, cp.tree_size)
    return ProvenTrace(trace, cp)
