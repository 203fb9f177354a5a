"""Xero Accounting API ledger adapter: ``XeroLedger`` implements ``LedgerAdapter``.

Idempotency, two layers. Every write carries an ``Idempotency-Key`` (≤ 128 characters)
derived from our key, so a retry after a timeout or a 429 replays the first answer. Xero
keeps a key only 6 minutes, and caches an internal error under it too; so after a 5xx the
adapter looks for the write by our reference and, when it did not land, retries under a
fresh key. Every record we create carries our source reference (``ContactNumber`` /
``Reference``, see ``xero_mapping``), which ``find`` reads back after a crash; a create
refused as a duplicate (contact name or number, invoice number) is resolved the same way
when the existing record carries our reference.

Versions: Xero has no concurrency token. ``UpdatedDateUTC`` is the version: an update or
void first reads the record and refuses with ``StaleVersionError`` when it changed since
``version`` was read. The read and the write are two calls, so a change landing between
them is not caught (Xero offers nothing tighter). That read is usually the batch's bulk
read (``prefetch``, below), so the window in which a change made in Xero goes unnoticed
widens to the prefetch's age: at most 60 s (``adapters.prefetch.MAX_AGE_S``); a change
the prefetched copy shows is refused as before.

Requests per record. Before a batch of updates and voids the worker names their records
(``core.ports.Prefetcher``): contacts and invoices are read in one ``GET /Contacts?IDs=…``
or ``GET /Invoices?IDs=…`` per 100 (xero_accounting.yaml v16.1.0, getContacts ``IDs``:
"Filter by a comma separated list of ContactIDs. Allows you to retrieve a specific set of
contacts in a single call"; getInvoices ``IDs``: "Filter by a comma-separated list of
InvoicesIDs"), each record served once to its update's version check. Our own writes to a
record (an update, a payment or credit applied to an invoice) drop its prefetched copy.
Measured by ``bench/calls.py`` on the demo data (with the bulk creates below): first import
1.56 -> 0.70 requests per pushed record, steady state 1.40 -> 0.46; most of what remains in
the first import is core's read of each payment's invoice before paying it.

Bulk creates (``core.ports.BatchCreator``): a batch's invoices go in one ``PUT /Invoices``
and its payments applied in full in one ``PUT /Payments`` (createInvoices "Creates one or
more sales invoices or purchase bills", createPayments "Creates multiple payments for
invoices or credit notes"), with ``summarizeErrors=false`` ("If false return 200 OK and mix
of successfully created objects and any with validation errors"), at most ``BULK_LIMIT``
elements a request (developer.xero.com/documentation/guides/oauth2/limits: no element limit
under 3.5 MB, "we recommend you look to batch elements in bundles of up to 50"). Each
element carries our reference, so its result is found by it in the answer; an element
refused as a duplicate is resolved by ``find`` as a single create is. The request goes
under an ``Idempotency-Key`` derived from the batch's: a timeout or 429 is resent under it
and replayed; after a 5xx, or an answer without every element, each of its records gets
that transient error, and core retries each alone, asking ``find`` first (its write's
outcome is unknown). Overpayments and
credit notes, two dependent writes each, are written one by one.

Reads: ``GET /{Collection}?page=n&pageSize=100`` until ``pagination.pageCount``; the delta
is ``If-Modified-Since`` on each collection (deleted payments come back with
``Status: DELETED`` and map to status ``deleted``).

Overpayments: a payment applied in full is a ``Payment`` against the invoice (``PUT
/Payments``). One with credit left over (``applied`` below its amount) is received whole as
an ``Overpayment`` (``PUT /BankTransactions``, ``Type: RECEIVE-OVERPAYMENT``, ``LineAmountTypes:
NoTax``, one line of the full amount), then ``applied`` of it is allocated to the invoice
(``PUT /Overpayments/{id}/Allocations``; none when ``applied`` is 0). So the cash is one
bank transaction of what was received, and the payment's ledger id is the
``OverpaymentID``: ``get`` reads ``Total`` as its total and ``RemainingCredit`` as its
balance. (Xero's API cannot make the UI's "payment + overpayment" receipt in one call, and a
Payment may not exceed the amount due.) Its reference says what is allocated (``applies
225.45``), so ``find`` reports the payment only once that landed and a retry finishes the
allocation instead of receiving the money twice.

Multi-write operations run each write through the record's ``WriteSteps`` journal, its
``Idempotency-Key`` derived from the step's key: a credit note applied to an invoice is
``credit_note`` (``PUT /CreditNotes``) then ``allocation`` (``PUT
/CreditNotes/{id}/Allocations``, what the invoice still owes, at most the credit); an
overpayment with a part applied is ``overpayment`` (``PUT /BankTransactions``) then
``allocation`` (``PUT /Overpayments/{id}/Allocations``). Xero keeps a key 6 minutes, so a
step whose answer was lost is looked up before it is written again: the credit note and the
overpayment by our reference, an allocation in the credit's ``Allocations``. A refund (one
``PUT /Payments``), a payment applied in full or not at all, a credit note without an
invoice, an update and a void are one write each and are not journaled.

What a record is applied to (``applied_to``) comes with the record itself, on every read
(``xero_mapping.applications``): a credit note's or overpayment's ``Allocations``
(``Invoice.InvoiceID``, ``Amount``), a Payment's ``Invoice`` and ``Amount``, a refund's
credit and ``Amount``.

Refunds: ``PUT /Payments`` with ``CreditNote: {CreditNoteID}`` (cash refund of a credit
note, ``PaymentType`` ARCREDITPAYMENT) or ``Overpayment: {OverpaymentID}`` (refund of an
overpayment, AROVERPAYMENTPAYMENT), with ``Account``, ``Amount``, ``Date`` and our reference
in ``Reference``; the credit's ``RemainingCredit`` drops, and Xero refuses more than remains.
The Payment names no contact: Xero pays it to the credit's, so a credit of another contact
than the refund's customer is refused before sending (``xero_refunds``,
``syncledger.credit_of_another_customer``). The credit's ``Contact`` comes from the
overpayment read the refund already made, or from the answer to our own write of the credit
note (the last ``RATES_KEPT`` kept), else from one ``GET /CreditNotes/{id}``: a contact
changed in Xero after our write of the credit note is not seen. A refund in another
currency than its credit's ``CurrencyCode`` (from the same read or write) is refused
before sending too (``syncledger.credit_in_another_currency``, as QBO and Zoho Books),
in the home currency as well: the Payment carries no currency and Xero would pay its
figure in the credit's.
Listing payments asks for ``PaymentType=="ACCRECPAYMENT"`` (plus RECEIVE-OVERPAYMENTs),
listing refunds for the two refund types.

Exchange rates: a foreign-currency invoice or credit note goes with the source's
``exchange_rate`` as ``CurrencyRate`` and is refused without one. Payments, overpayments
and refunds in a foreign currency carry a ``CurrencyRate`` too: without one Xero applies
a rate of its own (xero_accounting.yaml v16.1.0: ``Payment.CurrencyRate`` "Exchange rate
when payment is received. Only used for non base currency invoices and credit notes";
``Overpayment.CurrencyRate`` and ``Invoice.CurrencyRate`` "If no rate is specified, the
XE.com day rate is used"; developer.xero.com/documentation/best-practices/data-integrity/
multicurrency: never default it). Canonical payments and refunds carry no rate of their
own, so the rate sent is the one the source gave the document they settle: the invoice's
for a payment or an overpayment, the credit note's or the overpayment's for a refund, read
from the answer to our own write of that document (the source's rate as sent; the last
``RATES_KEPT`` documents are kept), else from Xero (one ``GET``). The realised exchange
difference Xero books on the payment is therefore zero. A settled document in another
currency, or without a rate, refuses the payment before anything is sent
(``syncledger.exchange_rate_missing``): never an assumed rate.

Tax ids: ``TaxNumber`` is written on create and update (the mapping) and ``match_customer``
asks ``where`` for ``TaxNumber`` as given and in its compact form (letters and digits
only), comparing ignoring case, spaces, dots and dashes. A number stored in Xero with other
punctuation than those two forms is not found (``where`` cannot normalise). A batch's new
customers are matched at once (``match_customers``, ``core.ports.CustomerBatchMatcher``):
their clauses joined by ``OR`` in as few requests as Xero's URL length allows
(``xero_matching``).

Items: ``find_item`` asks ``GET /Items?where=Code=="…"`` (Xero compares ignoring case; an
exact-case match is preferred), then, for a GUID, ``GET /Items/{ItemID}``; what it finds is
cached by code and by id for the adapter's life. ``create_item`` (called right after
``find_item`` found nothing) does not look again: ``PUT /Items`` (``summarizeErrors=true``)
with the ``Idempotency-Key`` derived from ours: a retry after a timeout replays the first
answer, a 5xx first looks the item up by code, and Xero's refusal of a duplicate code
("Price List Item with Code 'X' already exists") ends by returning the item that has it.
Document lines naming an item are resolved through the same cache before anything is sent (a
code no item has is refused, ``unknown_item``, nothing written) and carry the item's
``Code`` as ``ItemCode``; Xero books the line to it. Read back, ``line_items`` come from
each line's ``ItemCode``, which Xero's document answers carry (no extra request).

Limits, per tenant: 5 calls in flight, 60 per minute and 5,000 per day, held before
sending (a semaphore and the client-side limiter); 429s are waited out per ``Retry-After``.
The app-wide 10,000 per minute is left to the composition root's shared limiter.

Invoice e-mail (``core.ports.InvoiceSender``): ``send_invoice`` through ``POST
/Invoices/{InvoiceID}/Email`` and ``delivery`` from the invoice's ``SentToContact``; facts,
citations and the undocumented cases are in ``xero_sending``.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeGuard
from urllib.parse import quote

from typing_extensions import Unpack

from syncledger.adapters.http import LedgerHttp, RetryPolicy
from syncledger.adapters.items import items_for_lines
from syncledger.adapters.kit.connect import HttpOptions, HttpSpec
from syncledger.adapters.kit.details import Details, ReadsCustomerDetails
from syncledger.adapters.kit.paging import Page, next_number, walk
from syncledger.adapters.kit.reads import unless_absent
from syncledger.adapters.kit.retries import Retries, write_or_find
from syncledger.adapters.oauth2 import Auth
from syncledger.adapters.prefetch import Bounded, Prefetched
from syncledger.adapters.ratelimit import Rate
from syncledger.adapters.xero.customer_details import (
    address_as_written,
    address_parts,
    customer_details,
)
from syncledger.adapters.xero.errors import (
    NOT_FOUND_CODE,
    XeroServerError,
    element_error,
    is_duplicate,
    is_duplicate_item,
    translate_xero,
)
from syncledger.adapters.xero.mapping import (
    COLLECTION,
    ID_FIELD,
    ITEM_CODE_LIMIT,
    OVERPAYMENT_TYPE,
    PAYMENT_TYPE,
    REFUND_TYPES,
    XeroMapping,
    allocated_to,
    applies_in,
    contact_number,
    load_mapping,
    ref_in,
    ref_note,
    same_version,
    to_item,
)
from syncledger.adapters.xero.matching import clauses, match_many, matches, where_literal
from syncledger.adapters.xero.refunds import (
    absent_credit,
    credit_contact,
    require_credit_currency,
    require_own_credit,
)
from syncledger.adapters.xero.sending import XeroInvoiceSender
from syncledger.core import ports
from syncledger.core.errors import (
    LedgerError,
    MoneyError,
    PermanentLedgerError,
    StaleVersionError,
    TransientLedgerError,
)
from syncledger.core.model import CreditNote, Customer, Invoice, Payment, Refund
from syncledger.core.money import to_decimal
from syncledger.core.ports import (
    CreateRequest,
    InvoiceDelivery,
    LedgerCapabilities,
    LedgerItem,
    LedgerRecord,
    PushResult,
    StepFind,
    StepResult,
    StepWrite,
    create_one,
)

PRODUCTION_URL = "https://api.xero.com"
TOKEN_URL = "https://identity.xero.com/connect/token"  # noqa: S105 (a URL)
API = "/api.xro/2.0"
XERO_RATES = (Rate(60, 60.0), Rate(5000, 86400.0))
XERO_HTTP = HttpSpec("xero", translate_xero, XERO_RATES)
CONCURRENT_CALLS = 5
PAGE_SIZE = 100
BULK_LIMIT = 50
RATES_KEPT = 10_000  # documents whose rate we wrote, kept for their payments
IDEMPOTENCY_KEY_LIMIT = 128
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_KEY_CHARS = re.compile(r"^[\x21-\x7e]+$")
_DOCUMENT_KINDS = ("invoice", "credit_note")
_REFUNDS = " OR ".join(f'PaymentType=="{t}"' for t in REFUND_TYPES)
#: the kinds ``prefetch`` reads by ``IDs`` (the only two collections whose GET takes
#: it), with the filter each needs to list every record asked for
_BY_IDS: dict[str, dict[str, str]] = {"customer": {"includeArchived": "true"}, "invoice": {}}
#: where each kind is read from: (collection kind, filter)
_SOURCES: dict[str, tuple[tuple[str, dict[str, str]], ...]] = {
    "customer": (("customer", {"includeArchived": "true"}),),
    "payment": (
        ("payment", {"where": f'PaymentType=="{PAYMENT_TYPE}"'}),
        ("overpayment", {"where": f'Type=="{OVERPAYMENT_TYPE}"'}),
    ),
    "refund": (("refund", {"where": _REFUNDS}),),
}


def wire_key(key: str) -> str:
    """An ``Idempotency-Key`` for our key: itself when it fits, else its sha256."""
    if len(key) <= IDEMPOTENCY_KEY_LIMIT and _KEY_CHARS.match(key):
        return key
    return hashlib.sha256(key.encode()).hexdigest()


def step_key(key: str, step: str) -> str:
    """The key of one step of a multi-call write (``credit-note``, ``allocation``)."""
    return wire_key(f"{wire_key(key)[:100]}:{step}")


def fresh_key(key: str) -> str:
    """A new key for a write whose earlier attempt Xero answered with a 5xx."""
    return f"{wire_key(key)[:64]}:{uuid.uuid4().hex}"


@dataclass(frozen=True, slots=True)
class Written:
    raw: dict[str, Any]
    recovered: bool = False


Recover = Callable[[], Awaitable[dict[str, Any] | None]]


class XeroLedger(ReadsCustomerDetails[XeroMapping]):
    """Xero for one organisation (tenant). Build with ``XeroLedger.connect``."""

    ledger = "xero"
    details = Details(customer_details, address_parts, address_as_written)
    capabilities = LedgerCapabilities(
        batch_size=BULK_LIMIT,
        requests_per_minute=60,
        requests_per_second=None,
        idempotency="Idempotency-Key (kept 6 min) + reference lookup",
        delta="If-Modified-Since",
        matches_tax_id=True,
    )

    def __init__(
        self,
        http: LedgerHttp,
        *,
        tenant_id: str,
        mapping: XeroMapping | None = None,
        retry: RetryPolicy | None = None,
        concurrency: int = CONCURRENT_CALLS,
        page_size: int = PAGE_SIZE,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.mapping = mapping or load_mapping()
        self._http = http
        self._retries = Retries.of(retry, sleep, rng)
        self._slots = asyncio.Semaphore(concurrency)
        self._page = page_size
        self._base_currency: str | None = None
        self._items_by_code: dict[str, LedgerItem] = {}
        self._items_by_id: dict[str, LedgerItem] = {}  # by lower-case ItemID
        self._prefetched: Prefetched[dict[str, Any]] = Prefetched()  # by lower-case id
        self._sender = XeroInvoiceSender(http, self._slots, self._invoice_raw)
        #: currency, rate and ContactID of the documents we wrote, by (kind, lower-case id)
        self._rates: Bounded[tuple[str, str], dict[str, Any]] = Bounded(RATES_KEPT)

    @classmethod
    def connect(
        cls,
        *,
        tenant_id: str,
        auth: Auth,
        base_url: str = PRODUCTION_URL,
        mapping: XeroMapping | None = None,
        concurrency: int = CONCURRENT_CALLS,
        page_size: int = PAGE_SIZE,
        **options: Unpack[HttpOptions],
    ) -> XeroLedger:
        """``limiter``: pass the tenant's shared one (``RateLimiters.for_tenant``); by
        default a private limiter at Xero's published per-tenant rates."""
        headers = {"Xero-Tenant-Id": tenant_id}
        http = XERO_HTTP.open(base_url=base_url, auth=auth, headers=headers, **options)
        return cls(
            http,
            tenant_id=tenant_id,
            mapping=mapping,
            retry=options.get("retry"),
            concurrency=concurrency,
            page_size=page_size,
        )

    # ------------------------------------------------------------------ writes

    async def create_customer(self, req: ports.CustomerWrite) -> PushResult:
        body = self.mapping.customer_body(req.customer, req.external_ref)
        return await self._create("customer", body, req.idempotency_key, req.external_ref)

    async def create_invoice(self, req: ports.InvoiceWrite) -> PushResult:
        await self._require_rate(req.invoice)
        items = await self._line_items(req.invoice)
        body = self.mapping.invoice_body(
            req.invoice, req.customer_ledger_id, req.external_ref, items
        )
        return await self._create("invoice", body, req.idempotency_key, req.external_ref)

    async def apply_payment(self, req: ports.PaymentWrite) -> PushResult:
        """All of it applied: a ``Payment`` tied to the invoice (the customer follows from
        the invoice). Less: an ``Overpayment`` of the whole amount, ``applied`` of it
        allocated to the invoice (module docstring). In a foreign currency either carries
        the invoice's ``CurrencyRate`` (module docstring, "Exchange rates")."""
        part = req.part
        if not Decimal(0) <= part <= req.payment.amount:
            raise PermanentLedgerError(
                f"payment {req.payment.id}: cannot apply {part} of a {req.payment.amount} payment",
                code="syncledger.bad_applied",
            )
        self._prefetched.forget("invoice", req.invoice_ledger_id.lower())
        rate = await self._credit_rate(req.payment, "invoice", req.invoice_ledger_id)
        if part == req.payment.amount:
            body = self.mapping.payment_body(
                req.payment, req.invoice_ledger_id, req.external_ref, rate
            )
            return await self._create("payment", body, req.idempotency_key, req.external_ref)
        return await self._overpay(req, part, rate)

    async def create_refund(self, req: ports.RefundWrite) -> PushResult:
        """A Payment out of the credit note or the overpayment; Xero refuses more than its
        ``RemainingCredit``. Refused before sending: a payment applied in full (a
        ``Payment``, no overpayment), which holds no credit, and a credit of another
        contact than ``customer_ledger_id`` (Xero would pay it to that contact), and a
        refund in another currency than the credit's (``xero_refunds``). The credit is
        read once (an overpayment always; a credit note only when this adapter did not
        write it), its currency and rate taken from the same read."""
        credit = "overpayment" if req.credit_kind == "payment" else "credit_note"
        held = await self._refunded_credit(req.refund, credit, req.credit_ledger_id)
        require_own_credit(req.refund, req.customer_ledger_id, credit, req.credit_ledger_id, held)
        require_credit_currency(req.refund, credit, req.credit_ledger_id, held)
        rate = await self._credit_rate(req.refund, credit, req.credit_ledger_id, held)
        body = self.mapping.refund_body(
            req.refund, req.credit_kind, req.credit_ledger_id, req.external_ref, rate
        )
        return await self._create("refund", body, req.idempotency_key, req.external_ref)

    async def _refunded_credit(
        self, refund: Refund, kind: str, ledger_id: str
    ) -> Mapping[str, Any]:
        """The credit a refund is paid out of: an overpayment as Xero holds it; a credit
        note as our own write of it answered (its contact, currency and rate), else as Xero
        holds it (one ``GET``). Refused when Xero holds none."""
        held = None if kind == "overpayment" else self._rates.get((kind, ledger_id.lower()))
        if held is None or credit_contact(held) is None:
            held = await self._settled(kind, ledger_id)
        if held is None:
            raise absent_credit(refund, kind, ledger_id)
        return held

    async def create_credit_note(self, req: ports.CreditNoteWrite) -> PushResult:
        """Create (AUTHORISED); given an invoice, allocate it there through
        ``/CreditNotes/{id}/Allocations`` (what the invoice still owes, at most the credit):
        two journaled steps, ``credit_note`` and ``allocation``."""
        await self._require_rate(req.credit_note)
        items = await self._line_items(req.credit_note)
        body = self.mapping.credit_note_body(
            req.credit_note, req.customer_ledger_id, req.external_ref, items
        )
        if req.invoice_ledger_id is None:  # one write: nothing to journal
            key = step_key(req.idempotency_key, "credit-note")
            return await self._create("credit_note", body, key, req.external_ref)
        self._prefetched.forget("invoice", req.invoice_ledger_id.lower())
        journal = req.journal()
        note = await journal.step(
            "credit_note",
            self._creator("credit_note", body, req.external_ref),
            self._found_step("credit_note", req.external_ref),
        )
        await journal.step(
            "allocation",
            self._credit_allocator(note.ledger_id, req.credit_note, req.invoice_ledger_id),
            self._step_if(
                self._credit_allocated(note.ledger_id, req.invoice_ledger_id), note.ledger_id
            ),
        )
        current = await self.get("credit_note", note.ledger_id)
        version = current.version if current is not None else note.detail.get("version")
        return PushResult(note.ledger_id, version)

    async def update_customer(self, req: ports.CustomerUpdate) -> PushResult:
        await self._current("customer", req.ledger_id, req.version, prefetched=True)
        body = self.mapping.customer_body(req.customer, req.external_ref) | {
            "ContactID": req.ledger_id
        }
        return await self._update("customer", req.ledger_id, body, req.idempotency_key)

    async def update_invoice(self, req: ports.InvoiceUpdate) -> PushResult:
        await self._current("invoice", req.ledger_id, req.version, prefetched=True)
        await self._require_rate(req.invoice)
        items = await self._line_items(req.invoice)
        body = self.mapping.invoice_body(
            req.invoice, req.customer_ledger_id, req.external_ref, items
        )
        return await self._update(
            "invoice", req.ledger_id, body | {"InvoiceID": req.ledger_id}, req.idempotency_key
        )

    async def void_invoice(self, req: ports.VoidWrite) -> PushResult:
        """``Status: VOIDED`` (only an AUTHORISED invoice with nothing paid or credited).
        An invoice already void is reported as recovered, whatever ``version`` says."""
        current = await self._current("invoice", req.ledger_id, None, prefetched=True)
        if current.status == "void":
            return PushResult(req.ledger_id, current.version, recovered=True)
        if req.version is not None and not same_version(current.version, req.version):
            raise _stale("invoice", req.ledger_id, current.version, req.version)
        body = {"InvoiceID": req.ledger_id, "Status": "VOIDED"}
        try:
            return await self._update("invoice", req.ledger_id, body, req.idempotency_key)
        except PermanentLedgerError:
            again = await self.get("invoice", req.ledger_id)
            if again is not None and again.status == "void":
                return PushResult(req.ledger_id, again.version, recovered=True)
            raise

    # -------------------------------------------------------------------- bulk

    async def prefetch(self, kind: str, ledger_ids: Sequence[str]) -> None:
        """Read the contacts or invoices a batch is about to update or void in one
        ``GET /Contacts?IDs=…`` / ``GET /Invoices?IDs=…`` per 100 (module docstring,
        "Requests per record"); their version checks are then served from it. Other kinds
        have no read by ids and are read one by one, as before."""
        if kind not in _BY_IDS:
            return
        ids = list(dict.fromkeys(i.lower() for i in ledger_ids if _GUID.match(i)))
        for start in range(0, len(ids), self._page):
            chunk = ",".join(ids[start : start + self._page])
            async for raw in self._pages(kind, _BY_IDS[kind] | {"IDs": chunk}):
                self._prefetched.keep(kind, str(raw.get(ID_FIELD[kind], "")).lower(), raw)

    async def create_many(
        self, requests: Sequence[CreateRequest], *, batch_key: str
    ) -> list[PushResult | LedgerError]:
        """Invoices in one ``PUT /Invoices``, payments applied in full in one ``PUT
        /Payments`` (module docstring, "Bulk creates"); overpayments and credit notes, two
        dependent writes each, one by one through their journal. A request refused before
        sending (no rate, an unknown item) is refused alone. One result per request, in
        order; when a bulk request failed as a whole, each of its records has that error
        (core retries each alone, looking for it by our reference first)."""
        results: dict[int, PushResult | LedgerError] = {}
        bulk: dict[str, list[int]] = {"invoice": [], "payment": []}
        bodies: dict[int, dict[str, Any]] = {}
        for index, request in enumerate(requests):
            try:
                body = await self._bulk_body(request)
            except LedgerError as exc:
                results[index] = exc
                continue
            if body is not None:
                bodies[index] = body
                invoice = isinstance(request, ports.InvoiceWrite)
                bulk["invoice" if invoice else "payment"].append(index)
        for kind, all_indexes in bulk.items():
            for start in range(0, len(all_indexes), BULK_LIMIT):
                indexes = all_indexes[start : start + BULK_LIMIT]
                chosen = [requests[i] for i in indexes]
                answers: list[PushResult | LedgerError]
                try:
                    answers = await self._create_all(
                        kind,
                        chosen,
                        [bodies[i] for i in indexes],
                        step_key(batch_key, f"{kind}{start}"),
                    )
                except LedgerError as exc:  # nothing is known about any of them
                    answers = [exc] * len(indexes)
                results.update(zip(indexes, answers, strict=True))
        for index, request in enumerate(requests):
            if index not in results:
                results[index] = await self._create_alone(request)
        return [results[i] for i in range(len(requests))]

    async def _bulk_body(self, request: CreateRequest) -> dict[str, Any] | None:
        """The element ``request`` adds to its kind's bulk create, or None: it is written
        alone (an overpayment, a credit note)."""
        customer_id, ref = request.customer_ledger_id, request.external_ref
        if isinstance(request, ports.InvoiceWrite):
            await self._require_rate(request.invoice)
            items = await self._line_items(request.invoice)
            return self.mapping.invoice_body(request.invoice, customer_id, ref, items)
        if not isinstance(request, ports.PaymentWrite) or request.part != request.payment.amount:
            return None
        self._prefetched.forget("invoice", request.invoice_ledger_id.lower())
        rate = await self._credit_rate(request.payment, "invoice", request.invoice_ledger_id)
        return self.mapping.payment_body(request.payment, request.invoice_ledger_id, ref, rate)

    async def _create_all(
        self,
        kind: str,
        requests: Sequence[CreateRequest],
        elements: list[dict[str, Any]],
        key: str,
    ) -> list[PushResult | LedgerError]:
        """``PUT /{Collection}?summarizeErrors=false`` of ``elements`` under one
        ``Idempotency-Key``: a timeout or a 429 is resent under it (Xero replays the first
        answer); a 5xx raises at once (Xero would replay it, and which elements landed is
        unknown). A refusal of the whole request (a body Xero cannot bind) saved nothing:
        each element is then sent alone, for an answer of its own."""
        if len(elements) == 1:
            return [await self._create_alone(requests[0], elements[0])]
        path, collection = f"{API}/{_collection(kind)}", _collection(kind)
        params = {"summarizeErrors": "false"} | self._read_params(kind)

        async def attempt(_: int, previous: TransientLedgerError | None) -> Any:
            async with self._slots:
                return await self._http.json(
                    "PUT",
                    path,
                    params=params,
                    body={collection: elements},
                    idempotent=False,
                    headers={"Idempotency-Key": wire_key(key)},
                )

        try:
            answer = await self._retries.run(
                attempt,
                label=f"xero PUT {path} ({len(elements)})",
                resend=lambda exc: not isinstance(exc, XeroServerError),
            )
        except PermanentLedgerError:
            return [await self._create_alone(r, e) for r, e in zip(requests, elements, strict=True)]
        rows = _rows_in_order(answer, collection, [r.external_ref for r in requests])
        return [
            await self._element_result(kind, row, r.external_ref)
            for row, r in zip(rows, requests, strict=True)
        ]

    async def _element_result(
        self, kind: str, row: dict[str, Any], external_ref: str
    ) -> PushResult | LedgerError:
        """One element of a bulk answer: created, refused, or refused as a duplicate of
        the record carrying our reference (a create whose answer was lost), found."""
        error = element_error(row, f"Xero PUT {API}/{_collection(kind)}")
        if error is None:
            self._keep_rate(kind, row)
            return _pushed(kind, Written(row))
        if not is_duplicate(error):
            return error
        try:
            return await self._ours_after_duplicate(kind, external_ref, error)
        except LedgerError as exc:
            return exc

    async def _create_alone(
        self, request: CreateRequest, element: dict[str, Any] | None = None
    ) -> PushResult | LedgerError:
        """``request`` written on its own, under its own key; its refusal is its result."""
        try:
            if element is not None:
                key, ref = request.idempotency_key, request.external_ref
                return await self._create(request.record.kind, element, key, ref)
            return await create_one(self, request)
        except LedgerError as exc:
            return exc

    # ------------------------------------------------------------------- items

    async def send_invoice(
        self, invoice_ledger_id: str, *, to: str | None = None
    ) -> InvoiceDelivery:
        """E-mail the invoice to its contact through ``emailInvoice`` (``xero_sending``);
        ``to`` is refused: Xero takes no address."""
        return await self._sender.send_invoice(invoice_ledger_id, to=to)

    async def delivery(self, invoice_ledger_id: str) -> InvoiceDelivery | None:
        """The invoice's ``SentToContact`` as Xero holds it."""
        return await self._sender.delivery(invoice_ledger_id)

    async def _invoice_raw(self, ledger_id: str) -> dict[str, Any] | None:
        return await self._read_one("invoice", ledger_id)

    async def find_item(self, code: str) -> LedgerItem | None:
        """The item whose ``Code`` is ``code`` (Xero compares ignoring case; an exact-case
        match is preferred), else, for a GUID, the item whose ``ItemID`` it is. Found items
        are cached by code and id for the adapter's life."""
        cached = self._items_by_code.get(code) or self._items_by_id.get(code.lower())
        if cached is not None:
            return cached
        raw = await self._item_coded(code)
        if raw is None and _GUID.match(code):
            raw = await self._read_one("item", code)
        return None if raw is None else self._remember(to_item(raw), code)

    async def create_item(self, req: ports.ItemWrite) -> LedgerItem:
        """A sold, untracked (service) item ``code`` whose sales book to the invoice lines'
        account (``[new_items]``). The item that already has ``code`` is returned as it is:
        from the cache, or after Xero refused the create as a duplicate (a create whose
        answer was lost lands there too, or is replayed under its key). Not looked up
        first: the caller has just asked ``find_item``, and Xero's refusal says it all."""
        existing = self._items_by_code.get(req.code)
        if existing is not None:
            return existing
        _check_item_code(req.code)
        try:
            written = await self._write(
                "PUT",
                f"{API}/Items",
                "item",
                self.mapping.item_body(req.code),
                req.idempotency_key,
                {"summarizeErrors": "true"},
                recover=lambda: self._item_coded(req.code),
            )
        except PermanentLedgerError as exc:
            if not is_duplicate_item(exc):
                raise
            raw = await self._item_coded(req.code)
            if raw is None:
                raise
            return self._remember(to_item(raw), req.code)
        return self._remember(to_item(written.raw), req.code)

    async def _item_coded(self, code: str) -> dict[str, Any] | None:
        """``GET /Items?where=Code=="…"``: the exact-case match, else one ignoring case."""
        answer = await self._read(f"{API}/Items", {"where": f"Code=={where_literal(code)}"})
        rows: list[dict[str, Any]] = answer.get("Items") or []
        exact = [r for r in rows if str(r.get("Code")) == code]
        alike = [r for r in rows if str(r.get("Code", "")).casefold() == code.casefold()]
        return next(iter(exact or alike), None)

    def _remember(self, item: LedgerItem, asked: str) -> LedgerItem:
        self._items_by_code[item.code] = item
        self._items_by_id[item.ledger_id.lower()] = item
        if asked.lower() != item.ledger_id.lower():
            self._items_by_code[asked] = item
        return item

    async def _line_items(self, doc: Invoice | CreditNote) -> dict[str, str]:
        """Each item code ``doc``'s lines name → the ``Code`` of its Xero item. A code no
        item has (by Code or ItemID) is refused before anything is written."""
        items = await items_for_lines(doc, self.find_item, "Xero")
        return {code: item.code for code, item in items.items()}

    # ------------------------------------------------------------------- reads

    async def find(self, kind: str, external_ref: str) -> LedgerRecord | None:
        """The record carrying ``external_ref``: by ``ContactNumber`` for customers, by
        ``Reference`` for documents, payments and refunds (deleted and voided ones
        included). A payment is a Payment or else an Overpayment, reported only once the
        part its reference says is allocated to the invoice is (else the push is redone,
        and finishes the allocation)."""
        found = await self._find_raw(kind, external_ref)
        if found is None and kind == "payment":
            found = await self._overpayment_by_ref(external_ref)
            if found is not None and allocated_to(found) < (
                applies_in(found.get("Reference")) or 0
            ):
                return None
        return None if found is None else self.mapping.record(kind, found)

    async def _find_raw(self, kind: str, external_ref: str) -> dict[str, Any] | None:
        params = self._find_params(kind, external_ref)
        async for raw in self._pages(kind, params):
            if _carries(kind, raw, external_ref) and _is_kind(kind, raw):
                return raw
        return None

    async def match_customer(self, customer: Customer) -> list[LedgerRecord]:
        """Contacts (archived ones too) with the same name, email or tax number,
        ignoring case (``xero_matching``)."""
        rows = await self._contacts_where(" OR ".join(clauses(customer)))
        return [self.mapping.record("customer", raw) for raw in rows if matches(raw, customer)]

    async def match_customers(
        self, customers: Mapping[str, Customer]
    ) -> dict[str, list[LedgerRecord]]:
        """``match_customer`` for a batch's customers: their clauses in one ``where``
        (``OR``), as few requests as the URL length allows (``xero_matching``)."""
        found = await match_many(self._contacts_where, customers)
        record = self.mapping.record
        return {ref: [record("customer", raw) for raw in got] for ref, got in found.items()}

    async def _contacts_where(self, where: str) -> list[dict[str, Any]]:
        params = {"where": where, "includeArchived": "true"}
        return [raw async for raw in self._pages("customer", params)]

    async def get(self, kind: str, ledger_id: str) -> LedgerRecord | None:
        """By id only: a Xero id is a GUID, and Xero would read anything else as a
        contact or document number."""
        if not _GUID.match(ledger_id):
            return None
        raw = await self._read_one(kind, ledger_id)
        if raw is None and kind == "payment":
            raw = await self._read_overpayment(ledger_id)
        return self.mapping.record(kind, raw) if raw is not None and _is_kind(kind, raw) else None

    async def _read_one(self, kind: str, ledger_id: str) -> dict[str, Any] | None:
        path = f"{API}/{_collection(kind)}/{quote(ledger_id, safe='')}"
        answer = await unless_absent(self._read(path, self._read_params(kind)), NOT_FOUND_CODE)
        rows: list[dict[str, Any]] = (answer or {}).get(_collection(kind)) or []
        return rows[0] if rows else None

    async def list_all(self, kind: str) -> AsyncIterator[LedgerRecord]:
        """Payments are invoice payments and RECEIVE-OVERPAYMENTs; refunds the payments
        out of a credit note or an overpayment."""
        async for record in self._records(kind):
            yield record

    async def changes(self, since: datetime) -> AsyncIterator[LedgerRecord]:
        """Records created or changed at or after ``since`` (to the millisecond), kind by
        kind, through ``If-Modified-Since``."""
        headers = {"If-Modified-Since": _http_moment(since)}
        for kind in self.capabilities.kinds:
            async for record in self._records(kind, headers):
                yield record

    async def _records(
        self, kind: str, headers: Mapping[str, str] | None = None
    ) -> AsyncIterator[LedgerRecord]:
        for source, params in _SOURCES.get(kind, ((kind, {}),)):
            async for raw in self._pages(source, params, headers):
                yield self.mapping.record(kind, raw)

    async def aclose(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------ write helpers

    async def _create(
        self, kind: str, element: dict[str, Any], key: str, external_ref: str
    ) -> PushResult:
        path = f"{API}/{_collection(kind)}"
        params = {"summarizeErrors": "true"} | self._read_params(kind)
        try:
            written = await self._write(
                "PUT",
                path,
                kind,
                element,
                key,
                params,
                recover=lambda: self._found(kind, external_ref),
            )
        except PermanentLedgerError as exc:
            if not is_duplicate(exc):
                raise
            return await self._ours_after_duplicate(kind, external_ref, exc)
        return _pushed(kind, written)

    async def _update(
        self, kind: str, ledger_id: str, element: dict[str, Any], key: str
    ) -> PushResult:
        """POST of the full record; after a 5xx it is simply sent again under a new key
        (a replacement applied twice leaves the same record)."""
        path = f"{API}/{_collection(kind)}/{quote(ledger_id, safe='')}"
        self._prefetched.forget(kind, ledger_id.lower())
        written = await self._write(
            "POST", path, kind, element, key, self._read_params(kind), recover=_nothing
        )
        return _pushed(kind, written)

    # ----------------------------------------------------- multi-write steps

    def _creator(self, kind: str, element: dict[str, Any], external_ref: str) -> StepWrite:
        """A step creating ``element`` under the step's ``Idempotency-Key``."""

        async def write(key: str) -> StepResult:
            return _step_result(await self._create(kind, element, key, external_ref))

        return write

    def _found_step(self, kind: str, external_ref: str) -> StepFind:
        """The step that created our ``kind`` carrying ``external_ref``, if it landed."""

        async def find() -> StepResult | None:
            raw = await self._find_raw(kind, external_ref)
            return None if raw is None else _step_result(_pushed(kind, Written(raw)))

        return find

    @staticmethod
    def _step_if(done: Recover, ledger_id: str) -> StepFind:
        """A step's ``find`` from ``done``, which answers the credit once the step landed."""

        async def find() -> StepResult | None:
            return None if await done() is None else StepResult(ledger_id)

        return find

    def _credit_allocated(self, credit_note_id: str, invoice_id: str) -> Recover:
        async def allocated() -> dict[str, Any] | None:
            current = await self.get("credit_note", credit_note_id)
            landed = current is not None and _allocated(current.raw, invoice_id)
            return current.raw if landed and current is not None else None

        return allocated

    def _credit_allocator(
        self, credit_note_id: str, credit_note: CreditNote, invoice_id: str
    ) -> StepWrite:
        """Allocate what the invoice still owes, at most the credit note's total (the rest
        stays with the customer, as the sync logged it); nothing when it owes nothing."""

        async def write(key: str) -> StepResult:
            invoice = await self._current("invoice", invoice_id, None)
            owed = invoice.balance if invoice.status in ("open", "partially_paid") else None
            amount = min(credit_note.total, owed or Decimal(0))
            if amount > 0:
                await self._put_allocation(
                    "CreditNotes",
                    credit_note_id,
                    invoice_id,
                    amount,
                    credit_note.issue_date.isoformat(),
                    key,
                    self._credit_allocated(credit_note_id, invoice_id),
                )
            return StepResult(credit_note_id)

        return write

    async def _put_allocation(
        self,
        collection: str,
        credit_id: str,
        invoice_id: str,
        amount: Decimal,
        on: str,
        key: str,
        allocated: Recover,
    ) -> None:
        """Allocate ``amount`` of a credit (credit note or overpayment) to an invoice under
        the ``Idempotency-Key`` ``key``; a refusal after a lost answer is checked against
        what the credit now shows."""
        element = {"Invoice": {"InvoiceID": invoice_id}, "Amount": amount, "Date": on}
        path = f"{API}/{collection}/{quote(credit_id, safe='')}/Allocations"
        try:
            await self._write(
                "PUT",
                path,
                "allocation",
                element,
                key,
                {"summarizeErrors": "true"},
                recover=allocated,
            )
        except PermanentLedgerError:
            if await allocated() is None:
                raise

    async def _overpay(
        self, req: ports.PaymentWrite, applied: Decimal, rate: Decimal | None
    ) -> PushResult:
        """The overpayment of the whole payment, then ``applied`` of it allocated to the
        invoice: two journaled steps, ``overpayment`` and ``allocation`` (one write, not
        journaled, when nothing is applied)."""
        invoice_id = req.invoice_ledger_id
        receive = self._receiver(
            req.payment, req.customer_ledger_id, invoice_id, req.external_ref, applied, rate
        )
        if not applied:
            received = await receive(step_key(req.idempotency_key, "overpayment"))
        else:
            journal = req.journal()
            received = await journal.step(
                "overpayment", receive, self._overpayment_found(req.external_ref)
            )
            done = self._overpayment_allocated(received.ledger_id, invoice_id, applied)
            await journal.step(
                "allocation",
                self._overpayment_allocator(
                    received.ledger_id, req.payment, invoice_id, applied, done
                ),
                self._step_if(done, received.ledger_id),
            )
        current = await self._read_overpayment(received.ledger_id)
        if current is None:
            return PushResult(received.ledger_id, received.detail.get("version"))
        return _pushed("overpayment", Written(current))

    def _receiver(
        self,
        payment: Payment,
        customer_ledger_id: str,
        invoice_ledger_id: str,
        external_ref: str,
        applied: Decimal = Decimal(0),
        rate: Decimal | None = None,
    ) -> StepWrite:
        """``PUT /BankTransactions`` receiving the whole payment, once the invoice is known
        to take ``applied``. An invoice that no longer takes it may have been paid by this
        very overpayment in an earlier call (a repeat without a journal): that overpayment,
        found by our reference, is the answer."""

        async def write(key: str) -> StepResult:
            invoice = await self._current("invoice", invoice_ledger_id, None) if applied else None
            if invoice is not None and not _takes(invoice, applied):
                earlier = await self._overpayment_by_ref(external_ref)
                if earlier is not None:
                    return _step_result(_pushed("overpayment", Written(earlier)))
                raise _overapplied(payment, invoice, applied)
            body = self.mapping.overpayment_body(
                payment, customer_ledger_id, external_ref, applied, rate
            )
            written = await self._write(
                "PUT",
                f"{API}/BankTransactions",
                "bank_transaction",
                body,
                key,
                {"summarizeErrors": "true"},
                recover=lambda: self._overpayment_by_ref(external_ref),
            )
            return _step_result(_pushed("overpayment", written))

        return write

    def _overpayment_found(self, external_ref: str) -> StepFind:
        async def find() -> StepResult | None:
            raw = await self._overpayment_by_ref(external_ref)
            return None if raw is None else _step_result(_pushed("overpayment", Written(raw)))

        return find

    def _overpayment_allocated(
        self, overpayment_id: str, invoice_id: str, amount: Decimal
    ) -> Recover:
        async def allocated() -> dict[str, Any] | None:
            current = await self._read_overpayment(overpayment_id)
            done = current is not None and allocated_to(current, invoice_id) >= amount
            return current if done else None

        return allocated

    def _overpayment_allocator(
        self,
        overpayment_id: str,
        payment: Payment,
        invoice_id: str,
        amount: Decimal,
        allocated: Recover,
    ) -> StepWrite:
        async def write(key: str) -> StepResult:
            await self._put_allocation(
                "Overpayments",
                overpayment_id,
                invoice_id,
                amount,
                payment.paid_on.isoformat(),
                key,
                allocated,
            )
            return StepResult(overpayment_id)

        return write

    async def _read_overpayment(self, ledger_id: str) -> dict[str, Any] | None:
        if not _GUID.match(ledger_id):
            return None
        raw = await self._read_one("overpayment", ledger_id)
        return raw if raw is not None and raw.get("Type") == OVERPAYMENT_TYPE else None

    async def _overpayment_by_ref(self, external_ref: str) -> dict[str, Any] | None:
        params = self._find_params("overpayment", external_ref)
        async for raw in self._pages("overpayment", params):
            if _carries("overpayment", raw, external_ref) and raw.get("Type") == OVERPAYMENT_TYPE:
                return raw
        return None

    async def _write(
        self,
        method: str,
        path: str,
        kind: str,
        element: dict[str, Any],
        key: str,
        params: Mapping[str, str],
        *,
        recover: Recover,
    ) -> Written:
        """Send until answered: after a timeout or 429 the resend goes under the same key
        (Xero replays the first answer); after a 5xx ``recover`` is asked first (did the
        write land?), then the resend goes under a fresh key, since Xero would replay the
        cached error."""
        keys = [wire_key(key)]

        async def write(previous: TransientLedgerError | None) -> dict[str, Any]:
            if isinstance(previous, XeroServerError):  # not found by ``recover``
                keys.append(fresh_key(key))
            sent = await self._send(method, path, kind, element, keys[-1], params)
            self._keep_rate(kind, sent)
            return sent

        landed = await write_or_find(
            self._retries, write, recover, label=f"xero {method} {path}", unsure=_server_error
        )
        return Written(landed.value, recovered=landed.found)

    async def _send(
        self,
        method: str,
        path: str,
        kind: str,
        element: dict[str, Any],
        key: str,
        params: Mapping[str, str],
    ) -> dict[str, Any]:
        collection = "Allocations" if kind == "allocation" else _collection(kind)
        async with self._slots:
            answer = await self._http.json(
                method,
                path,
                params=params,
                body={collection: [element]},
                idempotent=False,
                headers={"Idempotency-Key": key},
            )
        return _first(answer, collection, f"Xero {method} {path}")

    async def _found(self, kind: str, external_ref: str) -> dict[str, Any] | None:
        record = await self.find(kind, external_ref)
        return record.raw if record is not None else None

    async def _ours_after_duplicate(
        self, kind: str, external_ref: str, refused: PermanentLedgerError
    ) -> PushResult:
        record = await self.find(kind, external_ref)
        if record is None:
            raise refused
        return PushResult(record.ledger_id, record.version, recovered=True)

    async def _current(
        self, kind: str, ledger_id: str, version: str | None, *, prefetched: bool = False
    ) -> LedgerRecord:
        """The record as the ledger holds it, refused as stale when its version is not
        ``version``. ``prefetched``: an update's or void's check, served from the batch's
        bulk read when it holds the record (``prefetch``), else read now."""
        kept = self._prefetched.take(kind, ledger_id.lower()) if prefetched else None
        record = self.mapping.record(kind, kept) if kept is not None else None
        if record is None:
            record = await self.get(kind, ledger_id)
        if record is None:
            raise PermanentLedgerError(
                f"Xero has no {kind} {ledger_id}: it was deleted or never created; check the link",
                code=NOT_FOUND_CODE,
            )
        if version is not None and not same_version(record.version, version):
            raise _stale(kind, ledger_id, record.version, version)
        return record

    async def _require_rate(self, doc: Invoice | CreditNote) -> None:
        if doc.exchange_rate is not None:
            return
        base = await self._organisation_currency()
        if doc.currency != base:
            raise PermanentLedgerError(
                f"{doc.kind} {doc.number} is in {doc.currency} but the organisation keeps its "
                f"books in {base}: give the exchange rate in the source (syncledger never "
                "assumes one)",
                code="syncledger.exchange_rate_missing",
            )

    async def _credit_rate(
        self,
        money: Payment | Refund,
        kind: str,
        ledger_id: str,
        held: Mapping[str, Any] | None = None,
    ) -> Decimal | None:
        """The ``CurrencyRate`` a payment (or refund) in a foreign currency is sent with:
        the rate of the document it settles (``kind``: the invoice, the credit note or the
        overpayment), which for a document syncledger created is the source's own
        ``exchange_rate``. None in the organisation's currency. A document in another
        currency or without a rate refuses the payment before anything is sent, rather
        than leaving Xero to apply its XE.com day rate (module docstring). ``held``: the
        document as already read or written, if the caller has it."""
        if money.currency == await self._organisation_currency():
            return None
        held = (
            held
            or self._rates.get((kind, ledger_id.lower()))
            or await self._settled(kind, ledger_id)
        )
        rate = None if held is None else held.get("CurrencyRate")
        if held is None or held.get("CurrencyCode") != money.currency or not _positive(rate):
            raise _no_rate(money, kind, ledger_id, held)
        return to_decimal(rate)

    def _keep_rate(self, kind: str, answer: Mapping[str, Any]) -> None:
        """Remember the currency and rate Xero answered a write of our invoice or credit
        note with (the source's, as sent), for the payments and refunds that settle it,
        and its ``Contact``, whose credit a refund out of it is (``xero_refunds``)."""
        ledger_id = answer.get(ID_FIELD.get(kind, ""))
        if kind not in _DOCUMENT_KINDS or not ledger_id or not answer.get("CurrencyCode"):
            return
        held = {f: answer.get(f) for f in ("CurrencyCode", "CurrencyRate")}
        held["Contact"] = {"ContactID": credit_contact(answer)}  # the id only: no details
        self._rates.put((kind, str(ledger_id).lower()), held)

    async def _settled(self, kind: str, ledger_id: str) -> dict[str, Any] | None:
        if kind == "overpayment":
            return await self._read_overpayment(ledger_id)
        held = await self.get(kind, ledger_id)
        return None if held is None else held.raw

    async def _organisation_currency(self) -> str:
        if self._base_currency is None:
            answer = await self._read(f"{API}/Organisation")
            organisations = answer.get("Organisations") or [{}]
            self._base_currency = str(organisations[0].get("BaseCurrency") or "")
        return self._base_currency

    # ------------------------------------------------------------- read helpers

    async def _read(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        async with self._slots:
            answer = await self._http.json(
                "GET", path, params=params, idempotent=True, headers=headers
            )
        return answer if isinstance(answer, dict) else {}

    async def _pages(
        self,
        kind: str,
        params: Mapping[str, str],
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        path = f"{API}/{_collection(kind)}"

        async def read(page: int) -> Page[dict[str, Any], int]:
            paging = {"page": str(page), "pageSize": str(self._page)}
            query = {**params, **self._read_params(kind), **paging}
            answer = await self._read(path, query, headers)
            rows: list[dict[str, Any]] = answer.get(_collection(kind)) or []
            pages = (answer.get("pagination") or {}).get("pageCount")
            last = pages is not None and page >= int(pages)
            return Page(rows, next_number(page, rows, self._page, last))

        async for raw in walk(read, 1):
            yield raw

    def _read_params(self, kind: str) -> dict[str, str]:
        return {"unitdp": "4"} if kind in _DOCUMENT_KINDS else {}

    def _find_params(self, kind: str, external_ref: str) -> dict[str, str]:
        if kind == "customer":
            where = f"ContactNumber=={where_literal(contact_number(external_ref))}"
            return {"where": where, "includeArchived": "true"}
        _collection(kind)
        return {"where": f"Reference.Contains({where_literal(ref_note(external_ref))})"}


# ------------------------------------------------------------------ helpers


def _check_item_code(code: str) -> None:
    if not code.strip() or len(code) > ITEM_CODE_LIMIT:
        raise PermanentLedgerError(
            f"item code {code!r}: Xero item codes are 1 to {ITEM_CODE_LIMIT} characters; map "
            "the source's code to a shorter one in the mapping's [items.map]",
            code="syncledger.bad_item_code",
        )


def _collection(kind: str) -> str:
    try:
        return COLLECTION[kind]
    except KeyError:
        raise PermanentLedgerError(
            f"Xero adapter does not handle {kind!r} records", code="unsupported"
        ) from None


def _first(answer: Any, collection: str, where: str) -> dict[str, Any]:
    rows = answer.get(collection) if isinstance(answer, dict) else None
    if not rows or not isinstance(rows[0], dict):
        raise PermanentLedgerError(f"{where}: answered without the record", code="syncledger.empty")
    error = element_error(rows[0], where)
    if error is not None:
        raise error
    row: dict[str, Any] = rows[0]
    return row


def _rows_in_order(answer: Any, collection: str, refs: list[str]) -> list[dict[str, Any]]:
    """A bulk answer's elements, one per element sent, in the order sent: matched by our
    reference, else by position. An answer with another count is no answer: transient
    (the records are looked for by our reference on the retry)."""
    rows = answer.get(collection) if isinstance(answer, dict) else None
    if not isinstance(rows, list) or len(rows) != len(refs) or not _all_dicts(rows):
        raise TransientLedgerError(
            f"Xero PUT {API}/{collection}: answered {len(rows or [])} elements for "
            f"{len(refs)}: each record is looked for by our reference and retried",
            code="syncledger.bulk_answer",
        )
    by_ref = {ref_in(row.get("Reference")): row for row in rows}
    if all(ref in by_ref for ref in refs):
        return [by_ref[ref] for ref in refs]
    return rows


def _all_dicts(rows: list[Any]) -> TypeGuard[list[dict[str, Any]]]:
    return all(isinstance(row, dict) for row in rows)


def _takes(invoice: LedgerRecord, applied: Decimal) -> bool:
    """Whether the invoice is open for ``applied`` more."""
    return invoice.status in ("open", "partially_paid") and applied <= (invoice.balance or 0)


def _overapplied(payment: Payment, invoice: LedgerRecord, applied: Decimal) -> LedgerError:
    """Refused before receiving anything: what the allocation would be refused for."""
    return PermanentLedgerError(
        f"payment {payment.id}: cannot apply {applied} to Xero invoice {invoice.ledger_id} "
        f"({invoice.status}, {invoice.balance} due): check the payment's invoice",
        code="syncledger.overapplied",
    )


def _step_result(pushed: PushResult) -> StepResult:
    """A step's result: what it wrote, and its version (``UpdatedDateUTC``) when known."""
    detail = {} if pushed.version is None else {"version": pushed.version}
    return StepResult(pushed.ledger_id, detail)


def _pushed(kind: str, written: Written) -> PushResult:
    raw = written.raw
    version = raw.get("UpdatedDateUTC")
    return PushResult(
        ledger_id=str(raw[ID_FIELD[kind]]),
        version=None if version is None else str(version),
        recovered=written.recovered,
    )


def _carries(kind: str, raw: Mapping[str, Any], external_ref: str) -> bool:
    if kind == "customer":
        number = str(raw.get("ContactNumber") or "")
        return number.casefold() == contact_number(external_ref).casefold()
    return ref_in(raw.get("Reference")) == external_ref


def _is_kind(kind: str, raw: Mapping[str, Any]) -> bool:
    """A Payment read as a ``payment`` or a ``refund`` is of that kind (the two share
    Xero's Payments)."""
    payment_type = raw.get("PaymentType")
    if kind == "refund":
        return payment_type in REFUND_TYPES
    if kind == "payment" and payment_type is not None:
        return payment_type not in REFUND_TYPES
    return True


def _allocated(credit_note: Mapping[str, Any], invoice_id: str) -> bool:
    return any(
        str((a.get("Invoice") or {}).get("InvoiceID", "")).lower() == invoice_id.lower()
        for a in credit_note.get("Allocations") or []
    )


def _no_rate(
    money: Payment | Refund, kind: str, ledger_id: str, held: Mapping[str, Any] | None
) -> PermanentLedgerError:
    found = (
        "is not in Xero"
        if held is None
        else f"is in {held.get('CurrencyCode')} at rate {held.get('CurrencyRate')}"
    )
    return PermanentLedgerError(
        f"{money.kind} {money.id} is in {money.currency} but the {kind.replace('_', ' ')} it "
        f"settles ({ledger_id}) {found}: syncledger sends the rate the source gave that "
        "document and never lets Xero pick one; fix the document's currency or rate",
        code="syncledger.exchange_rate_missing",
    )


def _positive(rate: object) -> bool:
    try:
        return rate is not None and to_decimal(rate) > 0
    except MoneyError:
        return False


def _stale(kind: str, ledger_id: str, current: str | None, expected: str) -> StaleVersionError:
    return StaleVersionError(
        f"Xero {kind} {ledger_id} changed since it was read (UpdatedDateUTC {current}, "
        f"expected {expected}): read it again and retry",
        code="UpdatedDateUTC",
    )


def _http_moment(since: datetime) -> str:
    moment = since if since.tzinfo else since.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


async def _nothing() -> dict[str, Any] | None:
    return None


def _server_error(exc: TransientLedgerError) -> bool:
    """After a 5xx the write may have landed (and Xero would replay the error under its
    key); after a timeout or a 429 the resend under the same key is replayed."""
    return isinstance(exc, XeroServerError)
