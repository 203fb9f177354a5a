"""Invoice e-mails through the ledger, at most once each, driven by the log.

An invoice whose source asks for it (``Invoice.send``) is e-mailed to the customer by the
ledger (``core.ports.InvoiceSender``: QBO ``send``, Xero ``Email``) once it is in the
ledger. Sending is never idempotent — twice is two e-mails — so each send is written
down before and after:

1. ``InvoiceSendRequested`` is appended;
2. the ledger is asked to send;
3. ``InvoiceSent`` (or ``InvoiceSendFailed`` with the ledger's reason) is appended.

A crash or a timeout between 1 and 3 leaves a request without an outcome. The next turn
asks the ledger whether the invoice went out (``delivery``) before anything else: sent →
``InvoiceSent`` (recovered), not sent → sent now, cannot tell → ``InvoiceSendFailed``
(``unknown``) for a person to check in the ledger: never a second e-mail on a guess.
The send log (``syncledger sends``) answers "did the invoice e-mail go out?".
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from syncledger.core.decode import read_wanted
from syncledger.core.errors import (
    ConcurrencyError,
    PermanentLedgerError,
    TransientLedgerError,
)
from syncledger.core.events import (
    EventData,
    InvoiceSendFailed,
    InvoiceSendRequested,
    InvoiceSent,
    LedgerPushSucceeded,
    RecordLinked,
    SourceRecordObserved,
    make_envelope,
)
from syncledger.core.model import RecordRef
from syncledger.core.ports import InvoiceDelivery, InvoiceSender, LedgerAdapter
from syncledger.core.store import EventStore
from syncledger.core.subjects import entity_filter, ledger_subject

log = logging.getLogger(__name__)

_LEDGER = (LedgerPushSucceeded, RecordLinked, InvoiceSendRequested, InvoiceSent, InvoiceSendFailed)


@dataclass
class SendState:
    """One invoice's e-mail as the log tells it."""

    source_ref: str
    ledger_ref: str | None = None
    asked: bool = False  # the latest source version asks for it
    requested: bool = False  # a request was written down
    done: bool = False  # sent, or failed for good


@dataclass
class SendLog:
    """Every invoice the log says something about, for one entity and ledger."""

    ledger: str
    invoices: dict[str, SendState] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)  # the send log, in order
    #: the last sequence on each ledger subject: a request is appended only if nothing
    #: else was since, so two processes never both send one invoice
    last_seq: dict[str, int] = field(default_factory=dict)

    def of(self, ref: str) -> SendState:
        return self.invoices.setdefault(ref, SendState(ref))

    def pending(self) -> list[SendState]:
        return [s for s in self.invoices.values() if s.asked and s.ledger_ref and not s.done]


async def read_send_log(store: EventStore, entity: str, ledger: str) -> SendLog:
    out = SendLog(ledger)
    async for stored in store.read(entity_filter(entity, "source")):
        event = read_wanted(stored.raw, (SourceRecordObserved,))
        if isinstance(event, SourceRecordObserved) and event.kind == "invoice":
            out.of(event.ref).asked = _asks(event.record.get("send"))
    async for stored in store.read(entity_filter(entity, "ledger", ledger)):
        out.last_seq[stored.subject] = stored.seq
        _fold(out, read_wanted(stored.raw, _LEDGER))
    return out


def _asks(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().casefold() in {"true", "yes", "1"}


def _fold(out: SendLog, event: EventData | None) -> None:
    match event:
        case LedgerPushSucceeded() | RecordLinked() if event.source_ref.split("/")[1:2] == [
            "invoice"
        ]:
            out.of(event.source_ref).ledger_ref = event.ledger_ref
        case InvoiceSendRequested():
            out.of(event.source_ref).requested = True
        case InvoiceSent():
            state = out.of(event.source_ref)
            state.done = True
            how = " (found sent after an interruption)" if event.recovered else ""
            out.lines.append(f"{event.source_ref}: e-mailed by {event.ledger}{how}")
        case InvoiceSendFailed():
            out.of(event.source_ref).done = True
            out.lines.append(f"{event.source_ref}: NOT e-mailed by {event.ledger}: {event.reason}")


@dataclass
class DeliveryReport:
    sent: int = 0
    recovered: int = 0
    failed: int = 0


class InvoiceMailer:
    """Sends what the log says is pending (module docstring)."""

    def __init__(self, store: EventStore, ledger: LedgerAdapter, *, entity: str, actor: str):
        self._store, self._ledger = store, ledger
        self._entity, self._actor = entity, actor

    async def run(self) -> DeliveryReport:
        report = DeliveryReport()
        sends = await read_send_log(self._store, self._entity, self._ledger.ledger)
        for state in sends.pending():
            if isinstance(self._ledger, InvoiceSender):
                await self._one(self._ledger, state, sends, report)
            else:
                reason = f"{self._ledger.ledger} cannot e-mail invoices through its API"
                await self._append(state, InvoiceSendFailed(**self._ids(state), reason=reason))
                report.failed += 1
        return report

    async def _one(
        self, sender: InvoiceSender, state: SendState, sends: SendLog, report: DeliveryReport
    ) -> None:
        assert state.ledger_ref is not None
        if state.requested:
            known = await self._ask(sender, state)
            if known is None:
                return
            if known.sent:
                await self._append(state, InvoiceSent(**self._ids(state), recovered=True))
                report.recovered += 1
                return
        else:
            request = InvoiceSendRequested(**self._ids(state))
            subject = self._subject(state)
            try:
                await self._append(state, request, expect=sends.last_seq.get(subject, 0))
            except ConcurrencyError:  # another process is sending it: its outcome will show
                return
        await self._send(sender, state, report)

    async def _ask(self, sender: InvoiceSender, state: SendState) -> InvoiceDelivery | None:
        """What the ledger says after an interrupted send; None when it was settled here."""
        assert state.ledger_ref is not None
        known = await sender.delivery(state.ledger_ref)
        if known is None:
            reason = (
                "unknown: a send was interrupted and the ledger cannot say whether the e-mail "
                "went out; check the invoice in the ledger and send it from there if needed"
            )
            await self._append(state, InvoiceSendFailed(**self._ids(state), reason=reason))
        return known

    async def _send(self, sender: InvoiceSender, state: SendState, report: DeliveryReport) -> None:
        assert state.ledger_ref is not None
        try:
            await sender.send_invoice(state.ledger_ref)
        except PermanentLedgerError as exc:
            await self._append(state, InvoiceSendFailed(**self._ids(state), reason=str(exc)))
            report.failed += 1
            return
        except TransientLedgerError as exc:  # asked again next turn, ledger first
            log.warning("e-mail of %s not confirmed (%s); asked again next turn", state, exc)
            return
        await self._append(state, InvoiceSent(**self._ids(state)))
        report.sent += 1

    def _ids(self, state: SendState) -> dict[str, str]:
        assert state.ledger_ref is not None
        return {
            "source_ref": state.source_ref,
            "ledger": self._ledger.ledger,
            "ledger_ref": state.ledger_ref,
        }

    def _subject(self, state: SendState) -> str:
        ref = RecordRef.parse(state.source_ref)
        return ledger_subject(self._entity, self._ledger.ledger, ref)

    async def _append(
        self, state: SendState, payload: EventData, expect: int | None = None
    ) -> None:
        subject = self._subject(state)
        envelope = make_envelope(payload, entity=self._entity, subject=subject, actor=self._actor)
        await self._store.append([envelope], None if expect is None else {subject: expect})


def send_log_text(sends: SendLog, refs: Sequence[str] = ()) -> str:
    lines = [ln for ln in sends.lines if not refs or ln.split(":", 1)[0] in refs]
    waiting = [s.source_ref for s in sends.pending() if not refs or s.source_ref in refs]
    out = lines or ["no invoice e-mails yet"]
    out += [f"{ref}: waiting to be e-mailed by {sends.ledger}" for ref in waiting]
    return "\n".join(out)
