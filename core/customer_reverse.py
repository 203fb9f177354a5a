"""Customer details the ledger owns, back to the source record, driven by the log.

Issue #11 ("Deal to cash, both directions"). With ``customer_field_authority`` giving a
detail to the ledger, back-sync hands this module the customers of ours that changed in
the ledger. For each, the ledger's values of the owned details (:mod:`customer_details`)
are compared with what the source is known to hold: its last version in the log, or a
write-back already logged. A difference is logged as ``CustomerDetailsObserved``, its
values sealed under the customer's key (the source record's own key, so erasing the
customer shreds them too). Every observation without a ``CustomerDetailsWritten`` after it
is then written to the source (:class:`CustomerDetailsWriter`, idempotent) and marked: a
crash between the two writes it again on the next turn, one before the write leaves it
pending; nothing is lost.

No re-import to turn it on later: the log records under which owned fields the ledger's
customers were last compared (``CustomerFieldAuthorityApplied``); when the setting says
otherwise, every customer of ours in the ledger is compared once, on the next back-sync.

Not echoed back: the mark carries the ledger version the details came from when nothing
else of the ledger record differs from the source (its name), and the worker takes that
version as its own (core/sync_state.py), so the source's next version — which now holds
the ledger's values — is pushed as our own write, not met as a conflict.

The billing address goes back in parts only (core/customer_details.py): the observation
seals the ledger's parts and the ones the bookkeeper changed beside the text, and the source
is given those parts (``CustomerDetailsUpdate.address``). An address the ledger holds as one
text is refused ``free_text`` here, never handed to the source to split.

An erased customer's details cannot be opened: its pending write-back is marked refused
(``erased``) and never written.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from syncledger.core.customer_details import (
    AddressParts,
    LedgerAddressParts,
    LedgerCustomerDetails,
    changed_parts,
    changes,
    ledger_owned,
    same,
)
from syncledger.core.decode import read_wanted
from syncledger.core.errors import SubjectErased
from syncledger.core.events import (
    CustomerDetailsObserved,
    CustomerDetailsWritten,
    CustomerFieldAuthorityApplied,
    Envelope,
    EventData,
    FieldRefused,
    SealedPii,
    SourceRecordObserved,
    make_envelope,
    subject_for,
)
from syncledger.core.ids import uuid7
from syncledger.core.keystore import KeyStore, PiiSealer
from syncledger.core.model import RecordRef
from syncledger.core.ports import LedgerAdapter, LedgerRecord
from syncledger.core.source_ports import (
    CustomerDetailsRefusal,
    CustomerDetailsUpdate,
    CustomerDetailsWriter,
)
from syncledger.core.store import EventStore
from syncledger.core.subjects import entity_filter, ledger_subject, source_subject
from syncledger.core.sync_state import SyncState

log = logging.getLogger(__name__)
_LEDGER_EVENTS = (CustomerDetailsObserved, CustomerDetailsWritten, CustomerFieldAuthorityApplied)
#: updates handed to the source at once
BATCH = 100
#: sealed beside an observed address: the ledger's parts, and the ones that changed
PARTS, CHANGED = "billing_address_parts", "billing_address_changed"
ADDRESS = "billing_address"


@dataclass
class ReverseReport:
    observed: int = 0
    written: int = 0  # customers whose details the source took (some fields may be refused)
    refused: int = 0  # fields the source would not take
    waiting: int = 0  # observations pending for a run that has a source to write to
    compared: int = 0  # customers compared in a catch-up (the setting changed)
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Sealed:
    event_id: str
    pii: SealedPii | None
    seq: int = 0


@dataclass(frozen=True, slots=True)
class _Pending:
    seq: int
    event: CustomerDetailsObserved
    sealed: _Sealed


@dataclass
class _LogView:
    """What the log says about customers' details: the source's last version of each
    customer, the latest observation per customer, the marks, the authority last applied."""

    source: dict[str, _Sealed] = field(default_factory=dict)
    observed: dict[str, _Pending] = field(default_factory=dict)
    marked: dict[str, int] = field(default_factory=dict)
    applied: tuple[str, ...] | None = None

    def pending(self) -> list[_Pending]:
        return [p for ref, p in self.observed.items() if p.seq > self.marked.get(ref, 0)]


class CustomerReverse:
    """The reverse direction for one entity and ledger (built by the composition root)."""

    def __init__(
        self,
        store: EventStore,
        keys: KeyStore,
        ledger: LedgerAdapter,
        state: SyncState,
        *,
        entity: str,
        actor: str,
        authority: Mapping[str, str],
        writer: CustomerDetailsWriter | None,
    ) -> None:
        self._store, self._ledger, self._state = store, ledger, state
        self._sealer = PiiSealer(keys)
        self._entity, self._actor = entity, actor
        self._owned = ledger_owned(authority)
        self._writer = writer

    @property
    def owned(self) -> tuple[str, ...]:
        return self._owned

    async def run(self, changed: Sequence[LedgerRecord]) -> ReverseReport:
        """Compare the changed customers (all of ours once, after the setting changed),
        log the differences, write every pending one to the source and mark it."""
        report = ReverseReport()
        details = self._ledger if isinstance(self._ledger, LedgerCustomerDetails) else None
        if not self._owned or details is None:
            if self._owned:
                report.lines.append(
                    f"customer details stay one-way: {self._ledger.ledger} does not say "
                    "which details its customers hold"
                )
            return report
        view = await self._view()
        records = {r.ledger_id: r for r in changed if self._ours(r)}
        catch_up = view.applied != self._owned
        if catch_up:
            records.update({r.ledger_id: r async for r in self._ours_in_ledger()})
            report.compared = len(records)
        await self._read_source(view, [r.external_ref or "" for r in records.values()], catch_up)
        for rec in records.values():
            await self._compare(details, rec, view, report)
        await self._write_pending(view, report)
        if catch_up:
            await self._applied(report.compared)
        return report

    # ------------------------------------------------------------------ the log

    async def _view(self) -> _LogView:
        view = _LogView()
        async for stored in self._store.read(
            entity_filter(self._entity, "ledger", self._ledger.ledger)
        ):
            event = read_wanted(stored.raw, _LEDGER_EVENTS)
            if event is not None:
                self._fold(view, stored.seq, stored.raw, event)
        return view

    async def _read_source(self, view: _LogView, refs: list[str], every: bool) -> None:
        """The source's last version of the customers to compare: all customers' subjects
        in one read for a catch-up, else each one's own subject (usually none or a few)."""
        if every:
            wildcard = subject_for(self._entity, "source", "x", "customer", "x").split(".")
            wildcard[3], wildcard[5] = "*", "*"
            await self._read_subjects(view, ".".join(wildcard))
            return
        for ref in refs:
            await self._read_subjects(view, source_subject(self._entity, RecordRef.parse(ref)))

    async def _read_subjects(self, view: _LogView, subjects: str) -> None:
        async for stored in self._store.read(subjects):
            event = read_wanted(stored.raw, (SourceRecordObserved,))
            if isinstance(event, SourceRecordObserved):
                env = Envelope.from_bytes(stored.raw)
                view.source[event.ref] = _Sealed(env.id, env.pii, stored.seq)

    @staticmethod
    def _fold(view: _LogView, seq: int, raw: bytes, event: EventData) -> None:
        if isinstance(event, CustomerDetailsObserved):
            env = Envelope.from_bytes(raw)
            view.observed[event.source_ref] = _Pending(seq, event, _Sealed(env.id, env.pii))
        elif isinstance(event, CustomerDetailsWritten):
            ref = event.source_ref
            view.marked[ref] = max(view.marked.get(ref, 0), event.observed_seq)
        elif isinstance(event, CustomerFieldAuthorityApplied):
            view.applied = event.ledger_fields

    def _open(self, sealed: _Sealed | None) -> dict[str, Any] | None:
        """The personal fields of an event; None when it has none or they are erased."""
        if sealed is None or sealed.pii is None:
            return None
        try:
            return self._sealer.open(sealed.pii, sealed.event_id)
        except SubjectErased:
            return None

    # ------------------------------------------------------------------ compare

    def _ours(self, rec: LedgerRecord) -> bool:
        state = self._state.records.get(rec.external_ref or "")
        return rec.kind == "customer" and state is not None and state.ledger_ref == rec.ledger_id

    async def _ours_in_ledger(self) -> Any:
        async for rec in self._ledger.list_all("customer"):
            if self._ours(rec):
                yield rec

    async def _compare(
        self,
        details: LedgerCustomerDetails,
        rec: LedgerRecord,
        view: _LogView,
        report: ReverseReport,
    ) -> None:
        ref = rec.external_ref or ""
        source_sealed = view.source.get(ref)
        source = self._open(source_sealed)
        if source is None or source_sealed is None or source_sealed.pii is None:
            return  # never read from the source, or erased: nothing to compare with
        known = dict(source)
        pending = view.observed.get(ref)
        if pending is not None and pending.seq > source_sealed.seq:  # not read back yet
            known.update(self._open(pending.sealed) or {})
        found: dict[str, Any] = changes(self._owned, details.customer_details(rec), known)
        if ADDRESS in found:
            found |= self._address(rec, known, view.observed.get(ref))
            found = {k: v for k, v in found.items() if v is not None}
        if not found:
            return
        adopt = (rec.name or "").strip() == str(source.get("name") or "").strip()
        seq, event, sealed = await self._observe(rec, ref, found, adopt, source_sealed.pii)
        view.observed[ref] = _Pending(seq, event, sealed)
        report.observed += 1

    def _address(
        self, rec: LedgerRecord, known: Mapping[str, Any], last: _Pending | None
    ) -> dict[str, Any]:
        """The parts to seal beside a changed address (none: the ledger holds no parts, it
        is refused when written; ``billing_address: None``: only cleared parts, no change)."""
        ledger = self._ledger
        if not isinstance(ledger, LedgerAddressParts):
            return {}
        parts = ledger.address_parts(rec)
        if parts is None:
            return {}
        changed = changed_parts(parts, self._before(ledger, known, last))
        if not changed:
            return {ADDRESS: None}
        return {PARTS: parts.as_dict(), CHANGED: list(changed)}

    def _before(
        self, ledger: LedgerAddressParts, known: Mapping[str, Any], last: _Pending | None
    ) -> AddressParts:
        """The ledger's parts when the source last took them: the last observation's, if the
        source holds its address; else the parts the forward sync wrote for the source's."""
        seen = self._open(last.sealed) if last is not None else None
        text = str(known.get(ADDRESS) or "")
        if seen and isinstance(seen.get(PARTS), dict) and same(ADDRESS, seen.get(ADDRESS), text):
            return AddressParts.from_dict(seen[PARTS])
        return ledger.address_as_written(text)

    async def _observe(
        self, rec: LedgerRecord, ref: str, found: dict[str, Any], adopt: bool, key: SealedPii
    ) -> tuple[int, CustomerDetailsObserved, _Sealed]:
        event = CustomerDetailsObserved(
            source_ref=ref,
            ledger=self._ledger.ledger,
            ledger_ref=rec.ledger_id,
            ledger_version=rec.version,
            fields=tuple(sorted(set(found) - {PARTS, CHANGED})),
            adopt_version=adopt,
        )
        event_id = uuid7()
        pii = self._sealer.seal(key.key_id, found, event_id)
        seq = await self._append(ref, [event], pii=pii, event_id=event_id)
        return seq, event, _Sealed(event_id, pii)

    # ------------------------------------------------------------------ write

    async def _write_pending(self, view: _LogView, report: ReverseReport) -> None:
        pending = view.pending()
        if self._writer is None:
            report.waiting = len(pending)
            return
        for start in range(0, len(pending), BATCH):
            await self._write_batch(self._writer, pending[start : start + BATCH], report)

    async def _write_batch(
        self, writer: CustomerDetailsWriter, batch: list[_Pending], report: ReverseReport
    ) -> None:
        updates, erased, refusals = [], [], []
        for p in batch:
            values = self._open(p.sealed)
            if values is None:
                erased.append(p)
                continue
            update, refused = _update(p.event, values, self._no_parts())
            refusals += refused
            if update.values:
                updates.append(update)
        refusals += await writer.write_customer_details(updates) if updates else []
        by_ref: dict[str, list[CustomerDetailsRefusal]] = {}
        for r in refusals:
            by_ref.setdefault(r.source_ref, []).append(r)
        for p in batch:
            await self._mark(p, by_ref.get(p.event.source_ref, []), p in erased, report)

    async def _mark(
        self,
        p: _Pending,
        refusals: list[CustomerDetailsRefusal],
        erased: bool,
        report: ReverseReport,
    ) -> None:
        fields = p.event.fields
        refused = (
            [FieldRefused(field=f, reason="erased") for f in fields]
            if erased
            else [FieldRefused(field=r.field, reason=r.reason) for r in refusals]
        )
        no = {r.field for r in refused}
        written = tuple(f for f in fields if f not in no)
        adopt = p.event.adopt_version and not refused
        mark = CustomerDetailsWritten(
            source_ref=p.event.source_ref,
            ledger=p.event.ledger,
            observed_seq=p.seq,
            written=written,
            refused=tuple(refused),
            ledger_version=p.event.ledger_version if adopt else None,
        )
        await self._append(p.event.source_ref, [mark])
        report.written += bool(written)
        report.refused += len(refused)
        report.lines.append(_line(p.event.source_ref, written, refusals, erased))

    def _no_parts(self) -> tuple[str, str]:
        """Why an address observed without parts is not written (reason code, message)."""
        name = self._ledger.ledger
        if isinstance(self._ledger, LedgerAddressParts):
            return "free_text", (
                f"{name} holds this address as one text of several lines in one field (as "
                "the forward sync writes it), not in its address fields; it is not split "
                "back: enter the street, city, region, postal code and country in those fields"
            )
        return "no_parts", (
            f"the {name} adapter reads the address from one field only, not in parts; "
            "it is not split back"
        )

    async def _applied(self, compared: int) -> None:
        event = CustomerFieldAuthorityApplied(
            ledger=self._ledger.ledger, ledger_fields=self._owned, customers=compared
        )
        subject = subject_for(
            self._entity, "ledger", self._ledger.ledger, "authority", "customer_fields"
        )
        env = make_envelope(event, entity=self._entity, subject=subject, actor=self._actor)
        await self._store.append([env])

    async def _append(
        self,
        ref: str,
        events: list[EventData],
        *,
        pii: SealedPii | None = None,
        event_id: str | None = None,
    ) -> int:
        subject = ledger_subject(self._entity, self._ledger.ledger, RecordRef.parse(ref))
        envelopes = [
            make_envelope(
                e,
                entity=self._entity,
                subject=subject,
                actor=self._actor,
                pii=pii,
                event_id=event_id,
            )
            for e in events
        ]
        seqs = await self._store.append(envelopes)
        for seq, env in zip(seqs, envelopes, strict=True):
            self._state.fold(seq, subject, env.payload())
        return seqs[-1]


def _update(
    event: CustomerDetailsObserved, values: Mapping[str, Any], no_parts: tuple[str, str]
) -> tuple[CustomerDetailsUpdate, list[CustomerDetailsRefusal]]:
    """The update for an observation; an address without parts is refused here with
    ``no_parts`` (reason code, message)."""
    plain = {k: str(v) for k, v in values.items() if k not in (PARTS, CHANGED)}
    parts = values.get(PARTS)
    if ADDRESS not in plain or isinstance(parts, dict):
        changed = tuple(values.get(CHANGED) or ())
        address = AddressParts.from_dict(parts).only(changed) if parts else None
        return CustomerDetailsUpdate(event.source_ref, event.ledger, plain, address), []
    del plain[ADDRESS]
    refusal = CustomerDetailsRefusal(event.source_ref, ADDRESS, *no_parts)
    return CustomerDetailsUpdate(event.source_ref, event.ledger, plain), [refusal]


def _line(
    ref: str, written: tuple[str, ...], refusals: list[CustomerDetailsRefusal], erased: bool
) -> str:
    if erased:
        return f"{ref}: not written back (the customer's personal data is erased)"
    said = [f"{', '.join(written)} written back"] if written else []
    said += [f"{r.field} refused ({r.reason}): {r.message}" for r in refusals]
    return f"{ref}: {'; '.join(said)}"
