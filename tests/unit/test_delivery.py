"""Invoice e-mails through the ledger: once each, never twice on a guess (core/delivery.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

from syncledger.adapters.memory import MemoryLedger
from syncledger.core.delivery import InvoiceMailer, read_send_log, send_log_text
from syncledger.core.errors import PermanentLedgerError, TransientLedgerError
from syncledger.core.events import Envelope, InvoiceSendFailed, InvoiceSendRequested
from syncledger.core.ports import InvoiceDelivery
from syncledger.core.source_ports import SourceItem
from syncledger.core.store import StoredEvent
from syncledger.core.store_memory import MemoryEventStore
from tests.support.records import customer, invoice
from tests.unit.test_sync import ENTITY, Harness


@dataclass
class MailingLedger(MemoryLedger):
    """The in-memory ledger with an outbox: what it e-mailed, per invoice."""

    outbox: list[str] = field(default_factory=list)
    knows: bool = True  # it can say whether an invoice was e-mailed
    refuse: str | None = None  # refuse every send with this message
    lose_answer: bool = False  # send, then fail as a timeout would

    async def send_invoice(
        self, invoice_ledger_id: str, *, to: str | None = None
    ) -> InvoiceDelivery:
        if self.refuse:
            raise PermanentLedgerError(self.refuse)
        self.outbox.append(invoice_ledger_id)
        if self.lose_answer:
            self.lose_answer = False
            raise TransientLedgerError("timed out after sending")
        return InvoiceDelivery(sent=True)

    async def delivery(self, invoice_ledger_id: str) -> InvoiceDelivery | None:
        if not self.knows:
            return None
        return InvoiceDelivery(sent=invoice_ledger_id in self.outbox)


def asking(item: SourceItem) -> SourceItem:
    return replace(item, fields={**item.fields, "send": "true"})


async def pushed(ledger: MemoryLedger, *items: SourceItem) -> Harness:
    h = Harness(ledger=ledger)
    await h.ingest([customer("c1"), *items])
    await h.run()
    return h


def mailer(h: Harness) -> InvoiceMailer:
    return InvoiceMailer(h.store, h.ledger, entity=ENTITY, actor="test")


async def types(h: Harness) -> list[str]:
    return [type(s.envelope().payload()).__name__ async for s in h.store.read()]


async def test_an_invoice_that_asks_is_emailed_once() -> None:
    ledger = MailingLedger()
    h = await pushed(ledger, asking(invoice("i1", "c1")), invoice("i2", "c1"))
    first = await mailer(h).run()
    second = await mailer(h).run()
    assert (first.sent, second.sent) == (1, 0)
    linked = await ledger.find("invoice", "csv/invoice/i1")
    assert linked is not None and ledger.outbox == [linked.ledger_id]
    log = await read_send_log(h.store, ENTITY, ledger.ledger)
    assert send_log_text(log) == "csv/invoice/i1: e-mailed by memory"


async def test_a_send_whose_answer_was_lost_is_found_sent_and_not_sent_again() -> None:
    ledger = MailingLedger(lose_answer=True)
    h = await pushed(ledger, asking(invoice("i1", "c1")))
    first = await mailer(h).run()
    assert first.sent == 0  # the answer was lost
    second = await mailer(h).run()
    assert second.recovered == 1
    assert len(ledger.outbox) == 1
    assert (await types(h)).count("InvoiceSent") == 1


async def test_an_interrupted_send_the_ledger_cannot_confirm_is_never_repeated() -> None:
    ledger = MailingLedger(lose_answer=True, knows=False)
    h = await pushed(ledger, asking(invoice("i1", "c1")))
    await mailer(h).run()
    await mailer(h).run()
    await mailer(h).run()
    assert len(ledger.outbox) == 1
    failed = [s.envelope().payload() async for s in h.store.read()]
    [reason] = [e.reason for e in failed if isinstance(e, InvoiceSendFailed)]
    assert reason.startswith("unknown:")


async def test_a_request_written_before_a_crash_is_sent_when_the_ledger_says_not_sent() -> None:
    ledger = MailingLedger()
    h = await pushed(ledger, asking(invoice("i1", "c1")))
    linked = await ledger.find("invoice", "csv/invoice/i1")
    assert linked is not None
    await mailer(h)._append(  # the process died right after writing the request
        (await read_send_log(h.store, ENTITY, ledger.ledger)).pending()[0],
        InvoiceSendRequested(
            source_ref="csv/invoice/i1", ledger="memory", ledger_ref=linked.ledger_id
        ),
    )
    report = await mailer(h).run()
    assert (report.sent, len(ledger.outbox)) == (1, 1)


async def test_a_refused_send_is_logged_with_the_ledger_reason_and_not_retried() -> None:
    ledger = MailingLedger(refuse="the customer has no e-mail address: add one, then send")
    h = await pushed(ledger, asking(invoice("i1", "c1")))
    assert (await mailer(h).run()).failed == 1
    assert (await mailer(h).run()).failed == 0
    log = await read_send_log(h.store, ENTITY, ledger.ledger)
    assert "NOT e-mailed by memory: the customer has no e-mail address" in send_log_text(log)


async def test_a_ledger_that_cannot_email_says_so_once() -> None:
    ledger = MemoryLedger()
    h = await pushed(ledger, asking(invoice("i1", "c1")))
    assert (await mailer(h).run()).failed == 1
    assert (await mailer(h).run()).failed == 0
    kinds = await types(h)
    assert "InvoiceSent" not in kinds and kinds.count("InvoiceSendFailed") == 1


async def test_nothing_is_sent_for_an_invoice_that_does_not_ask() -> None:
    ledger = MailingLedger()
    h = await pushed(ledger, invoice("i1", "c1"))
    assert (await mailer(h).run()).sent == 0
    assert ledger.outbox == []
    assert "InvoiceSent" not in await types(h)


class Interleaved(MemoryEventStore):
    """The harness's log, read with a pause after each event, as a real log's reads
    yield: mailers running at once read the same state before any of them writes."""

    def __init__(self, inner: MemoryEventStore) -> None:
        self.inner = inner

    async def read(self, subjects: str = "sl.>", from_seq: int = 1) -> AsyncIterator[StoredEvent]:
        async for stored in self.inner.read(subjects, from_seq):
            await asyncio.sleep(0)
            yield stored

    async def append(
        self, events: Sequence[Envelope], expect: Mapping[str, int] | None = None
    ) -> list[int]:
        await asyncio.sleep(0)
        return await self.inner.append(events, expect)


async def test_two_processes_mailing_at_once_send_one_email() -> None:
    ledger = MailingLedger()
    h = await pushed(ledger, asking(invoice("i1", "c1")), asking(invoice("i2", "c1")))
    log = Interleaved(h.store)
    mailers = [InvoiceMailer(log, ledger, entity=ENTITY, actor=f"p{n}") for n in range(3)]
    reports = await asyncio.gather(*(m.run() for m in mailers))
    assert sum(r.sent for r in reports) == 2
    assert sorted(ledger.outbox) == sorted(set(ledger.outbox)) and len(ledger.outbox) == 2
