"""Ports (DESIGN §7): what the sync process needs from a source and from a ledger.

Adapters raise only the ledger errors of ``syncledger.core.errors`` (``TransientLedgerError``,
``PermanentLedgerError``, ``StaleVersionError``, ``AuthExpiredError``).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, Protocol, runtime_checkable

from syncledger.core.errors import LedgerError
from syncledger.core.model import CreditNote, Customer, Invoice, Payment, Refund

#: Set while the sync asks whether the ledger answers at all (``core/outage.py``): an
#: adapter then hands a transient answer — a 429 with its ``Retry-After``, a 5xx — back at
#: once instead of waiting it out and asking again, so "slow down" counts as an answer and
#: the check stays within its bound.
ANSWER_NOW: ContextVar[bool] = ContextVar("syncledger_answer_now", default=False)


@dataclass(frozen=True, slots=True)
class SourceItem:
    """One record version as a source delivered it, before validation.

    ``fields`` is the raw mapping (strings as read); ``version`` orders versions of
    the same record (the source's updated-at or revision)."""

    system: str
    kind: str
    id: str
    version: str
    fields: dict[str, Any]
    deleted: bool = False


class SourceAdapter(Protocol):
    system: str

    def changes(self, since: str | None = None) -> AsyncIterator[SourceItem]:
        """Records changed after the cursor ``since`` (None: everything)."""
        ...


@dataclass(frozen=True, slots=True)
class LedgerCapabilities:
    batch_size: int = 1
    requests_per_minute: int = 60
    requests_per_second: float | None = None
    idempotency: str = "none"  # e.g. "requestid", "Idempotency-Key", "reference lookup"
    delta: str = "none"  # e.g. "CDC", "If-Modified-Since"
    kinds: tuple[str, ...] = ("customer", "invoice", "payment", "credit_note", "refund")
    #: ``match_customer`` also finds customers by tax id (QBO cannot: its tax id is
    #: write-only)
    matches_tax_id: bool = True


@dataclass(frozen=True, slots=True)
class LedgerRecord:
    """What a ledger holds for one record, in canonical terms."""

    kind: str
    ledger_id: str
    version: str | None
    external_ref: str | None  # our source ref stored on the ledger record
    name: str | None = None  # customers: display name; documents: number
    customer_ledger_id: str | None = None
    currency: str | None = None
    total: Decimal | None = None
    #: invoices and credit notes: the tax the ledger holds on the document (what it
    #: computed, where it computes tax itself); None when the platform does not say
    tax: Decimal | None = None
    #: invoices: what is still owed; payments and credit notes: the credit not yet applied
    #: to an invoice nor refunded
    balance: Decimal | None = None
    status: str | None = None  # "open", "paid", "partially_paid", "void"
    updated_at: datetime | None = None
    #: invoices and credit notes: the item code (``LedgerItem.code``) each line is booked
    #: to, in line order; None for a line booked to no item (an account, a discount).
    #: Always filled by ``get``; list reads leave it empty where the platform's lists
    #: carry no lines (Zoho)
    line_items: tuple[str | None, ...] = ()
    #: payments and credit notes: (invoice ledger id, amount) for each invoice this
    #: document is applied to; refunds: (credit ledger id, amount) of the credit the refund
    #: is paid out of. The reconciler checks that what the log intended is here
    applied_to: tuple[tuple[str, Decimal], ...] = ()
    #: invoices: the due date, where the platform's reads return it (docs/reconciliation.md
    #: lists which); None never compares
    due_date: date | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class LedgerItem:
    """A product or service of the ledger's item list, which invoice lines are booked to.

    ``code`` is the text a document line names it by on that platform (QBO ``Name``, Xero
    ``Code``, Zoho ``name``, FreshBooks ``name``, Sage ``item_code``, NetSuite ``itemId``,
    Odoo ``default_code``); ``ledger_id`` is the platform's id for it."""

    ledger_id: str
    code: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class PushResult:
    ledger_id: str
    version: str | None
    recovered: bool = False  # the idempotency mechanism returned an earlier write


@dataclass(frozen=True, slots=True)
class StepResult:
    """What one write of a multi-write operation left in the ledger: the id of what it
    created or changed, and whatever small facts the later steps need (text only)."""

    ledger_id: str
    detail: Mapping[str, str] = field(default_factory=dict)


StepWrite = Callable[[str], Awaitable[StepResult]]
StepFind = Callable[[], Awaitable[StepResult | None]]


class WriteSteps(Protocol):
    """The journal of a record's multi-write operation (a credit note and its
    application, a refund and its link, a document and its posting, ...).

    An adapter whose operation takes more than one ledger write runs each write through
    ``step``: the sync logs the step's intent before ``write`` and its outcome after, so a
    crash or a failure between two writes resumes at the first step without an outcome.
    ``write`` gets the step's own idempotency key (derived from the record's key and the
    step name). ``find`` is asked only when the step's intent is logged but its outcome is
    not (the answer was lost): it returns the step's result when the write landed, else
    None, and then ``write`` is called again with the same key. A step already done returns
    its logged result without calling either. Step names are stable per operation."""

    async def step(self, name: str, write: StepWrite, find: StepFind) -> StepResult: ...


class DirectSteps:
    """No journal: each step is simply written (tools, tests, the backfill planner)."""

    def __init__(self, key: str) -> None:
        self._key = key

    async def step(self, name: str, write: StepWrite, find: StepFind) -> StepResult:
        return await write(step_key(self._key, name))


def step_key(key: str, name: str) -> str:
    """A step's idempotency key: the record's key and the step name, hashed to the 64 hex
    characters every platform's key field takes (truncate further where one needs it)."""
    return hashlib.sha256(f"{key}\x00step\x00{name}".encode()).hexdigest()


def steps_or_direct(steps: WriteSteps | None, key: str) -> WriteSteps:
    return steps if steps is not None else DirectSteps(key)


class Journaled:
    """A write that may take several ledger writes: its ``steps`` journal, or none."""

    __slots__ = ()
    steps: WriteSteps | None
    idempotency_key: str

    def journal(self) -> WriteSteps:
        """The record's journal; without one, each step simply written under its key."""
        return steps_or_direct(self.steps, self.idempotency_key)


@dataclass(frozen=True, slots=True)
class CustomerWrite:
    """``create_customer``: a new customer carrying our reference ``external_ref``."""

    customer: Customer
    external_ref: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class ItemWrite:
    """``create_item``: a service item whose code is ``code``."""

    code: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class InvoiceWrite(Journaled):
    """``create_invoice``: a new invoice of the customer ``customer_ledger_id``."""

    invoice: Invoice
    customer_ledger_id: str
    external_ref: str
    idempotency_key: str
    steps: WriteSteps | None = None  # the record's journal, for multi-write operations

    @property
    def record(self) -> Invoice:
        return self.invoice


@dataclass(frozen=True, slots=True)
class PaymentWrite(Journaled):
    """``apply_payment``: the receipt of ``payment.amount``, ``applied`` of it (None: all)
    applied to the invoice ``invoice_ledger_id``."""

    payment: Payment
    customer_ledger_id: str
    invoice_ledger_id: str
    external_ref: str
    idempotency_key: str
    steps: WriteSteps | None = None
    applied: Decimal | None = None

    @property
    def record(self) -> Payment:
        return self.payment

    @property
    def part(self) -> Decimal:
        """What is applied to the invoice: ``applied``, or the whole amount."""
        return self.payment.amount if self.applied is None else self.applied


@dataclass(frozen=True, slots=True)
class RefundWrite(Journaled):
    """``create_refund``: ``refund.amount`` paid back out of the credit
    ``credit_ledger_id`` (a payment's unapplied remainder or a credit note's credit)."""

    refund: Refund
    customer_ledger_id: str
    credit_kind: Literal["payment", "credit_note"]
    credit_ledger_id: str
    external_ref: str
    idempotency_key: str
    steps: WriteSteps | None = None


@dataclass(frozen=True, slots=True)
class CreditNoteWrite(Journaled):
    """``create_credit_note``: a new credit note, applied to ``invoice_ledger_id`` when
    one is given."""

    credit_note: CreditNote
    customer_ledger_id: str
    invoice_ledger_id: str | None
    external_ref: str
    idempotency_key: str
    steps: WriteSteps | None = None

    @property
    def record(self) -> CreditNote:
        return self.credit_note


@dataclass(frozen=True, slots=True)
class CustomerUpdate:
    """``update_customer``: the customer ``ledger_id`` as read at ``version``."""

    customer: Customer
    ledger_id: str
    version: str | None
    external_ref: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class InvoiceUpdate(Journaled):
    """``update_invoice``: the invoice ``ledger_id`` as read at ``version``."""

    invoice: Invoice
    ledger_id: str
    version: str | None
    customer_ledger_id: str
    external_ref: str
    idempotency_key: str
    steps: WriteSteps | None = None


@dataclass(frozen=True, slots=True)
class VoidWrite(Journaled):
    """``void_invoice``: the invoice ``ledger_id`` as read at ``version``."""

    ledger_id: str
    version: str | None
    idempotency_key: str
    steps: WriteSteps | None = None


#: one document of a ``BatchCreator.create_many`` batch (its customer, and invoice,
#: already linked)
CreateRequest = InvoiceWrite | PaymentWrite | CreditNoteWrite


class LedgerAdapter(Protocol):
    """A ledger. Each write takes one request value (above), which names the record, our
    reference ``external_ref`` stored on it, the ``idempotency_key`` a retry reuses and,
    for multi-write operations, the record's ``steps`` journal."""

    ledger: str  # platform id, e.g. "qbo"
    capabilities: LedgerCapabilities

    async def find(self, kind: str, external_ref: str) -> LedgerRecord | None:
        """The ledger record carrying our reference ``external_ref`` (crash recovery)."""
        ...

    async def match_customer(self, customer: Customer) -> list[LedgerRecord]:
        """Existing ledger customers that may be this one (name / email / tax id)."""
        ...

    async def create_customer(self, req: CustomerWrite) -> PushResult: ...

    async def find_item(self, code: str) -> LedgerItem | None:
        """The ledger's item whose code is ``code`` (or, failing that, whose id is): None
        when there is none. Invoice and credit-note lines with ``item_code`` are booked to
        the item this finds; a line naming no item of the ledger is refused
        (``PermanentLedgerError``) and nothing is written."""
        ...

    async def create_item(self, req: ItemWrite) -> LedgerItem:
        """Create a service item ``req.code`` booked to the income account the adapter
        books lines to (mapping file). An item whose code already exists is returned as it
        is (the code is the item's natural key): never a second item."""
        ...

    async def create_invoice(self, req: InvoiceWrite) -> PushResult: ...

    async def apply_payment(self, req: PaymentWrite) -> PushResult:
        """Record the receipt of ``payment.amount`` and apply ``applied`` of it (default:
        all) to the invoice. An overpayment: ``applied`` is the invoice's open balance and
        the rest stays on the customer's account as unapplied credit (the payment's
        ``balance`` in ``get``), to be applied later or refunded."""
        ...

    async def create_refund(self, req: RefundWrite) -> PushResult:
        """Pay ``refund.amount`` back to the customer out of a credit they hold: a
        payment's unapplied remainder or a credit note's remaining credit. The credit's
        ``balance`` drops by the amount; more than remains is refused
        (``PermanentLedgerError``)."""
        ...

    async def update_customer(self, req: CustomerUpdate) -> PushResult:
        """Replace the customer's mapped fields; ``StaleVersionError`` if ``version`` is old."""
        ...

    async def update_invoice(self, req: InvoiceUpdate) -> PushResult:
        """Replace the invoice's lines and totals; ``StaleVersionError`` if ``version`` is old."""
        ...

    async def create_credit_note(self, req: CreditNoteWrite) -> PushResult:
        """Create a credit note; when ``invoice_ledger_id`` is given, apply it to that
        invoice (its balance drops by the credit note's total)."""
        ...

    async def void_invoice(self, req: VoidWrite) -> PushResult: ...

    async def get(self, kind: str, ledger_id: str) -> LedgerRecord | None: ...

    def list_all(self, kind: str) -> AsyncIterator[LedgerRecord]:
        """Every record of ``kind`` (paged under the hood)."""
        ...

    def changes(self, since: datetime) -> AsyncIterator[LedgerRecord]:
        """Records changed since ``since`` via the platform's delta mechanism."""
        ...

    async def aclose(self) -> None: ...


async def create_one(ledger: LedgerAdapter, req: CreateRequest) -> PushResult:
    """``req`` written alone, by the write method of its kind."""
    if isinstance(req, InvoiceWrite):
        return await ledger.create_invoice(req)
    if isinstance(req, PaymentWrite):
        return await ledger.apply_payment(req)
    return await ledger.create_credit_note(req)


@runtime_checkable
class BatchCreator(Protocol):
    """A ledger with a batch endpoint (QBO ``/batch``): many creates in one request."""

    async def create_many(
        self, requests: Sequence[CreateRequest], *, batch_key: str
    ) -> list[PushResult | LedgerError]:
        """One result per request, in order: what was created, or why not. A transport
        failure of the whole call raises instead (nothing is known about any item)."""
        ...


@runtime_checkable
class Prefetcher(Protocol):
    """A ledger that reads many records in one request. Before handling a batch of
    events, the worker names the records the batch is about to update or void; the
    adapter reads them in bulk, and each update's check of the current version is served
    from that read (once, and only while fresh) instead of one request per record."""

    async def prefetch(self, kind: str, ledger_ids: Sequence[str]) -> None:
        """Read ``ledger_ids`` of ``kind`` now. A hint: failing here costs nothing but the
        per-record reads it would have saved (transient errors are swallowed by core)."""
        ...


@runtime_checkable
class CustomerBatchMatcher(Protocol):
    """A ledger that matches many new customers in a few requests. Before handling a
    batch, the worker names the batch's customers that have no ledger link yet; each
    one's match before its create is then answered from this (``core.sync_matches``)
    instead of one ``match_customer`` request each.

    The rules are ``match_customer``'s, and must be equality of name (case and spacing
    aside), e-mail or tax id: a customer the batch writes drops the answers of the
    batch-mates sharing one of those, which are then matched one by one again."""

    async def match_customers(
        self, customers: Mapping[str, Customer]
    ) -> Mapping[str, list[LedgerRecord]]:
        """For each customer (by the caller's id for it), what ``match_customer`` would
        answer now. A customer left out of the answer is matched one by one; transient
        errors raise (core then matches one by one, as without this)."""
        ...


class RatePressure(Protocol):
    """How close the ledger's client-side rate limits are to binding, read by the worker
    before it ends a batch's fill early (``core/worker.py`` ``FetchTimeouts``): while
    pressed, the fill waits its whole pull timeout so more changes share a batch's
    requests (one batch match for all its new customers: fewer requests per change)."""

    def pressed(self) -> bool:
        """Whether one of the ledger's rate windows is nearly used up now."""
        ...


@dataclass(frozen=True, slots=True)
class InvoiceDelivery:
    """What the ledger says about an invoice's e-mail to the customer."""

    sent: bool  # the ledger records it as sent to the customer
    to: str | None = None  # the address it went to, where the ledger says
    at: datetime | None = None  # when, where the ledger says


@runtime_checkable
class InvoiceSender(Protocol):
    """A ledger that e-mails an invoice to its customer (QBO ``send``, Xero ``Email``).

    Sending is not idempotent on any platform (twice is two e-mails), so core asks
    :meth:`delivery` before sending again after a crash, and never sends twice when the
    ledger cannot tell."""

    async def send_invoice(
        self, invoice_ledger_id: str, *, to: str | None = None
    ) -> InvoiceDelivery:
        """E-mail the invoice to ``to`` (None: the customer's address on file) and return
        what the ledger then records."""
        ...

    async def delivery(self, invoice_ledger_id: str) -> InvoiceDelivery | None:
        """Whether the ledger records the invoice as sent (None: it cannot tell)."""
        ...
