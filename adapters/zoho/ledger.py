"""Zoho Books API v3 ledger adapter: ``ZohoLedger`` implements ``LedgerAdapter``.

Idempotency: Zoho has no idempotency key, so a write whose outcome is unknown is
check-then-write (``_guarded``): the adapter looks for the record the write would leave —
the document whose ``reference_number`` is our reference, the contact whose notes carry
our reference key, the credit already applied, the invoice already void or sent — and
writes only when it finds none. A write is sent once per attempt and never re-sent
blindly after a timeout: the next attempt's lookup finds it if it landed. A create is
looked up before its first attempt only when its outcome is unknown (a request is the
scarce resource: 1,000 a day on the Free plan): the sync's journal asks a step's ``find``
then, and for a key this process sent without learning the outcome the adapter looks
first (``WriteMemo``, keyed by ``idempotency_key``); a key already answered returns that
answer. When Zoho refuses a contact name (3062) or a document number (1001) as taken, the
record holding it is ours if it carries our reference.

Concurrency: Zoho has no version token or conditional update. ``version`` is
``last_modified_time`` plus a digest of the record's fields (``zoho_mapping``); a stale
version is refused after reading the record, just before writing (a change landing in
between is not detected). Before a batch of updates the worker calls ``prefetch``
(``core.ports.Prefetcher``): Zoho documents no read of many records by id (``GET
/contacts`` takes no id list), so customers are read by a delta read that covers them,
``GET /contacts?sort_column=last_modified_time&sort_order=D`` (a ``sort_column`` the
contacts OpenAPI document lists), at most ``PREFETCH_PAGES`` pages; its rows carry every
field of the version. Each update's check takes its prefetched row (once, and only within
60 s: ``adapters.prefetch.Prefetched``) and reads only when there is none, so the window
in which a change made in Zoho goes unnoticed widens to the prefetch's age (≤ 60 s).
Invoices, credit notes and payments are not prefetched: their lists sort by creation
only.

Requests per new invoice (``create_many``, ``core.ports.BatchCreator``): Zoho documents no
bulk create, no create that leaves an invoice other than a draft without e-mailing it (the
create's ``send`` parameter mails it to the customer's contacts;
``create-an-invoice-request`` has no status; ``is_quick_create`` with ``batch_payments``
records payments with the invoice, it does not leave an unpaid one sent) and no bulk "mark
as sent": of the invoice paths, only ``POST /invoices/{invoice_id}/status/sent``
(``mark_invoice_sent``, "Mark a draft invoice as sent") marks one sent, and the paths
taking many invoices mail them (``POST /invoices/email``, at most 10), remind, print,
export or tie them to sales orders. The mark-as-sent answer
(``mark-an-invoice-as-sent-response``) is only ``code``/``message``, while the create
answers the whole invoice, as a draft. (Books v3 OpenAPI ``invoices.yml``, read at
fordez/zoho-books-mcp-server-openapi@c30dde8, ``mcp_server/openapi-all/``.) So each
invoice is still two writes; the read of its version after marking it sent is shared by
the batch: one page of ``GET /invoices?sort_column=created_time&sort_order=D``, the ids it
misses read one by one. A customer update is one ``PUT``, whose answer carries the
contact. In the bench's steady mix (20 customer updates, 30 new invoices) that is a floor
of (30 × 2 + 20) / 50 = 1.60 requests per record with no read at all, above the 1.1
target. Sending an invoice marks it sent (Zoho KB "How do I mark an invoice as sent?",
zoho.com/om/books/kb/invoices/draft-sent-invoice) but mails the customer, which a sync
must not do unasked. Each document of a batch is otherwise created as alone (its own
journal, lookups and refusals). The currency and rate of an invoice this adapter wrote are
remembered (bounded) for its payments, which need its rate: a rate changed in Zoho
afterwards is not seen by them.

Limits per organisation, held before sending: 100 requests a minute, the plan's daily
cap (1,000 on Free up to 10,000; ``daily_limit``) and 10 requests in flight (5 on
Free; ``concurrency``). Pagination: ``page``/``per_page`` (≤ 200) until
``page_context.has_more_page`` is false.

Delta (``changes``): Zoho's Books v3 OpenAPI documents (zoho.com/books/api/v3, "Download
... OpenAPI Document" on each module's page; read at fordez/zoho-books-mcp-server-openapi
@972c369, ``mcp_server/openapi-all/``) list the ``sort_column`` values each list takes:
contacts ``contact_name, first_name, last_name, email, outstanding_receivable_amount,
created_time, last_modified_time``; invoices ``customer_name, invoice_number, date,
due_date, total, balance, created_time``; credit notes ``customer_name,
creditnote_number, balance, total, date, created_time``; customer payments name none
(their example is ``created_time``). So contacts are listed by ``last_modified_time``
newest first and read until the first row older than the cursor, but only while
``page_context`` says the answer is sorted so; invoices, credit notes and payments are
listed by ``created_time``, oldest first, every page, each row kept when its
``last_modified_time`` is at or after the cursor (a row without one is kept). That costs
one request per 200 records of each kind, but no modified record is passed over because
of where it sorts. The ``last_modified_time`` list filter is not used: the invoices
schema calls it "modified after", integrators found the live API matching it exactly.

Overpayments: one ``POST /customerpayments`` of the whole ``amount`` received with
``invoices: [{invoice_id, amount_applied}]`` for the part applied (``invoices: []`` when
nothing is): Zoho keeps the rest on the payment as ``unused_amount``, the customer's
"excess payment" credit, which is the payment's ``balance``. No credit note is made.

Refunds: ``POST /creditnotes/{id}/refunds`` (a credit note's remaining ``balance``) or
``POST /customerpayments/{id}/refunds`` (a payment's ``unused_amount``), with ``date``,
``amount``, ``refund_mode``, our reference in ``reference_number`` and
``from_account_id``: the mapping's ``[refund] from_account_id``, else the organisation's
primary account of ``GET /bankaccounts``. The credit is read first: a refund above what
is left, to another customer or in another currency is refused before sending. A refund
lives under its credit, so its ledger id names both (``zoho_mapping.refund_ledger_id``);
the check before writing lists the credit's refunds. ``find``/``list_all`` of refunds
read ``GET /creditnotes/refunds`` and, as Zoho has no organisation-wide list of payment
refunds, each customer payment's refunds (one request per payment). ``changes`` does not
list refunds (their lists carry no modification time); a refund changes its credit,
which ``changes`` lists.

Credit notes: Zoho's credit-note request schemas have no document discount (``discount``,
``discount_type`` and ``is_discount_before_tax`` are invoice fields only), and no other
documented construct takes an amount off a credit note after tax. A credit note with a
discount is therefore refused before anything is sent
(``syncledger.credit_note_discount_unsupported``): sent without it, it would have stood
at its undiscounted total.

Tax read back (``LedgerRecord.tax``): an invoice's ``tax_total``, else the sum of the
``taxes`` summary a credit note (or invoice) read in full carries; list rows carry
neither, so records from lists have no tax (None), as they have no lines.

Multi-write operations, each write a step of the record's journal (``WriteSteps``): an
invoice with ``[invoice] mark_sent`` is created (``invoice``), then marked as sent
(``sent``: ``POST /invoices/{id}/status/sent``; Zoho creates API invoices as drafts and
takes no payment on one); a credit note for an invoice is created (``credit_note``), then
applied (``apply``: ``POST /creditnotes/{id}/invoices`` with ``invoices: [{invoice_id,
amount_applied}]``: its total, at most the invoice's ``balance``, as the sync intends). A
step's ``find`` asks Zoho whether its write landed: the document by reference, the
invoice's status, the credit note's ``GET /creditnotes/{id}/invoices`` rows. Under a
journal each write is sent once and a failure goes back to the journal (whose next run
asks ``find`` first); without one it is retried here, check-then-write, as every other
write. Payments (one ``POST /customerpayments``
carrying the application), refunds (one ``POST .../refunds`` under the credit, which also
draws the credit down), updates and voids are single writes and are not journaled.

Applications (``LedgerRecord.applied_to``): a payment's ``invoices[]`` (``invoice_id``,
``amount_applied``) of ``GET /customerpayments/{id}``; a credit note's
``invoices_credited[]`` (``invoice_id``, ``credited_amount``) of ``GET
/creditnotes/{id}/invoices``, as Zoho's Python client library reads them
(``CustomerPaymentsParser.get_customer_payment``, ``CreditNotesParser.
list_invoices_credited``); a refund is applied to the credit it lives under, for its
amount. List rows carry no applications, so ``list_all``, ``changes`` and ``find`` read
them for a payment or credit note of which something is used (``total`` differs from
``unused_amount`` / ``balance``): one request each, remembered per record version, so a
second reconciliation of unchanged documents reads none again. Contact rows carry no
notes either, so a listed contact is read in full once per ``last_modified_time`` for
our reference (``external_ref``, which duplicate checks need).

Items (``zoho_items``): a line whose ``item_code`` is set is sent with the ``item_id`` of
the item named so (or of that id), looked up once per adapter (``GET /items?name=``) and
cached; a code naming no item refuses the document before anything is sent
(``unknown_item``). Zoho's invoice request schemas (``create-an-invoice-request``,
``update-an-invoice-request``) require ``line_items[].item_id``, so lines without a code
go to the mapping's default item: ``[invoice.lines] item_id``, else the item named
``[invoice.lines] item_name`` (looked up by name, created once when missing, as
``create_item`` makes items); credit-note lines alike, so a credit reverses the account
its invoice was booked to. Read back, a line on the default item has no code.
``create_item`` makes a service item named
the code, booked to ``[new_items] account_id`` (else the default item's account, else
Sales); a create that timed out is looked up by name before it is sent again, and a
refused one ends with the item holding the name. Reads give each document line's item
code (``LedgerRecord.line_items``) from its ``item_id`` through the cache, an unknown id
read once. Zoho's lists carry no lines, so ``list_all`` and ``changes`` (and ``find``,
which searches the list) leave ``line_items`` empty rather than read every document in
full (that would double a reconciliation's calls against a 1,000-a-day plan); ``get``
fills it.

Tax ids: the contact list cannot be filtered on Zoho's tax numbers (``gst_no``,
``vat_reg_no``, ``tax_reg_no``, per edition) and its rows omit them. ``create_customer``
and ``update_customer`` write a ``syncledger-tax: <tax id>`` line into the notes (and the
edition's field when the mapping names it); ``match_customer`` finds it with
``search_text`` and confirms on the contact read in full. A contact entered by hand is
found by its tax id only if its notes or the mapped field carry it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import quote

from typing_extensions import Unpack

from syncledger.adapters.http import LedgerHttp, RetryPolicy
from syncledger.adapters.items import items_for_lines
from syncledger.adapters.kit.connect import HttpOptions, HttpSpec
from syncledger.adapters.kit.details import Details, ReadsCustomerDetails
from syncledger.adapters.kit.paging import Page, walk
from syncledger.adapters.kit.reads import unless_absent
from syncledger.adapters.kit.retries import Retries, write_or_find
from syncledger.adapters.oauth2 import Auth
from syncledger.adapters.prefetch import Bounded, Prefetched
from syncledger.adapters.ratelimit import Rate
from syncledger.adapters.writes import WriteMemo
from syncledger.adapters.zoho.customer_details import (
    address_as_written,
    address_parts,
    customer_details,
    drops_person_detail,
    persons_kept,
)
from syncledger.adapters.zoho.errors import (
    ALREADY_EXISTS,
    DUPLICATE_CONTACT,
    NOT_FOUND,
    checked,
    translate_zoho,
)
from syncledger.adapters.zoho.items import (
    ItemCache,
    by_name,
    line_item_ids,
    may_be_id,
    may_be_name,
    named,
    new_item_body,
)
from syncledger.adapters.zoho.mapping import (
    CREDIT_LEFT,
    REFUNDS,
    RESOURCES,
    OrgSettings,
    ZohoMapping,
    ZohoTax,
    load_mapping,
    ref_in,
    ref_key,
    reference_token,
    refund_record,
    refuse_credit_note_discount,
    split_refund_id,
    tax_in,
    tax_key,
    to_record,
    version_of,
    zoho_moment,
)
from syncledger.core import ports
from syncledger.core.errors import (
    LedgerError,
    PermanentLedgerError,
    StaleVersionError,
    TransientLedgerError,
)
from syncledger.core.model import CreditNote, Customer, Invoice, Payment, Refund
from syncledger.core.money import to_decimal
from syncledger.core.ports import (
    CreateRequest,
    LedgerCapabilities,
    LedgerItem,
    LedgerRecord,
    PushResult,
    StepFind,
    StepResult,
    StepWrite,
    WriteSteps,
    create_one,
)

PRODUCTION_URL = "https://www.zohoapis.com"
TOKEN_URL = "https://accounts.zoho.com/oauth/v2/token"  # noqa: S105 (a URL)
API = "/books/v3"
PER_MINUTE = 100
FREE_DAILY_LIMIT = 1_000
PAID_CONCURRENCY = 10
PAGE_SIZE = 200
#: applications (and contact references) remembered per record version before the memory
#: is cleared
APPLICATIONS_KEPT = 20_000
#: pages of contacts (newest change first) a prefetch reads at most before the ids it
#: did not meet are read one by one
PREFETCH_PAGES = 2
#: invoices whose currency and rate this adapter wrote, remembered for their payments
RATES_KEPT = 10_000
T = TypeVar("T")
Applications = tuple[tuple[str, Decimal], ...]


def zoho_rates(
    per_minute: int = PER_MINUTE, daily_limit: int = FREE_DAILY_LIMIT, window: float = 60.0
) -> tuple[Rate, Rate]:
    """Zoho's published limits as client-side rates: a minute window and a day."""
    return Rate(per_minute, window), Rate(daily_limit, 86_400.0)


ZOHO_HTTP = HttpSpec("zoho-books", translate_zoho, zoho_rates())


class ZohoLedger(ReadsCustomerDetails[ZohoMapping]):
    """Zoho Books for one organisation. Build with ``ZohoLedger.connect``."""

    ledger = "zoho-books"
    details = Details(customer_details, address_parts, address_as_written)
    capabilities = LedgerCapabilities(
        batch_size=1,
        requests_per_minute=PER_MINUTE,
        requests_per_second=None,
        idempotency="reference lookup (reference_number; contact notes key)",
        delta="last_modified_time of every listed row (contacts: newest first)",
        kinds=("customer", "invoice", "payment", "credit_note", "refund"),
        matches_tax_id=True,
    )

    def __init__(
        self,
        http: LedgerHttp,
        *,
        organization_id: str,
        mapping: ZohoMapping | None = None,
        retry: RetryPolicy | None = None,
        concurrency: int = PAID_CONCURRENCY,
        page_size: int = PAGE_SIZE,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.organization_id = organization_id
        self.mapping = mapping or load_mapping()
        #: customer details the ledger owns (``keep_ledger_details``)
        self._ledger_owned: tuple[str, ...] = ()
        self._http = http
        self._retries = Retries.of(retry, sleep, rng)
        self._slots = asyncio.Semaphore(concurrency)
        self._page = min(page_size, PAGE_SIZE)
        self._settings: OrgSettings | None = None
        self._refund_account: str | None = None
        self._items = ItemCache()
        self._item_account: tuple[str | None] | None = None  # (account,) once known
        self._default_item_id: str | None = None
        self._applications: dict[tuple[str, str, str | None], Applications] = {}
        self._contact_refs: dict[tuple[str, str], str | None] = {}
        self._writes = WriteMemo()
        self._prefetched: Prefetched[dict[str, Any]] = Prefetched()
        self._rates: Bounded[str, dict[str, Any]] = Bounded(RATES_KEPT)

    @classmethod
    def connect(
        cls,
        *,
        organization_id: str,
        auth: Auth,
        base_url: str = PRODUCTION_URL,
        mapping: ZohoMapping | None = None,
        daily_limit: int = FREE_DAILY_LIMIT,
        concurrency: int = PAID_CONCURRENCY,
        page_size: int = PAGE_SIZE,
        **options: Unpack[HttpOptions],
    ) -> ZohoLedger:
        """``limiter``: the organisation's shared one (``RateLimiters.for_tenant``); by
        default a private limiter at Zoho's published rates and ``daily_limit``."""
        rates = zoho_rates(daily_limit=daily_limit)
        http = ZOHO_HTTP.open(base_url=base_url, auth=auth, rates=rates, **options)
        return cls(
            http,
            organization_id=organization_id,
            mapping=mapping,
            retry=options.get("retry"),
            concurrency=concurrency,
            page_size=page_size,
        )

    # ------------------------------------------------------------------ writes

    async def create_customer(self, req: ports.CustomerWrite) -> PushResult:
        org = await self._org()
        body = self.mapping.customer_body(
            req.customer, req.external_ref, org.currency_id(req.customer.currency)
        )
        return await self._create_once("customer", body, req.external_ref, req.idempotency_key)

    async def create_invoice(self, req: ports.InvoiceWrite) -> PushResult:
        """A draft (Zoho creates every API invoice so), then, with ``[invoice]
        mark_sent``, marked as sent: two writes, each a step of ``steps``; then read for
        the version marking it sent gave it (that answer carries none)."""
        made = await self._new_invoice(req)
        if isinstance(made, PushResult):
            return made
        return _pushed("invoice", await self._read("invoice", made.ledger_id), _recovered(made))

    async def _new_invoice(self, req: ports.InvoiceWrite) -> PushResult | StepResult:
        """The created invoice; once marked as sent (``mark_sent``), the step's result,
        whose version is still to be read."""
        ref, key, steps = req.external_ref, req.idempotency_key, req.steps
        org = await self._org()
        items = await self._booking(req.invoice)
        body = self.mapping.invoice_body(req.invoice, req.customer_ledger_id, ref, org, items)
        params = self._numbering("invoice")
        if not self.mapping.mark_sent:
            return await self._create_once("invoice", body, ref, key, params)

        async def run(look: bool) -> StepResult:
            journal = req.journal()
            create = self._create_step("invoice", body, ref, params, retry=steps is None, look=look)
            made = await journal.step("invoice", create, self._found_step("invoice", ref))
            sent = self._mark_sent(made, retry=steps is None)
            await journal.step("sent", sent, self._sent(made.ledger_id))
            return made

        if steps is not None:  # under a journal: its ``find`` asks when unknown
            return await run(False)

        async def read_back(look: bool) -> PushResult:  # the memo keeps whole answers
            made = await run(look)
            raw = await self._read("invoice", made.ledger_id)
            return _pushed("invoice", raw, _recovered(made))

        return await self._writes.once(key, read_back)

    async def apply_payment(self, req: ports.PaymentWrite) -> PushResult:
        """The whole amount received, ``applied`` of it (None: all) to the invoice; the
        rest is the payment's ``unused_amount``."""
        org = await self._org()
        rate = await self._payment_rate(req.payment, req.invoice_ledger_id, org)
        body = self.mapping.payment_body(
            req.payment,
            req.customer_ledger_id,
            req.invoice_ledger_id,
            req.external_ref,
            rate,
            req.applied,
        )
        return await self._create_once("payment", body, req.external_ref, req.idempotency_key)

    async def create_refund(self, req: ports.RefundWrite) -> PushResult:
        """Refund out of a credit note's balance or a payment's unused amount."""
        org = await self._org()
        credit = await self._read(req.credit_kind, req.credit_ledger_id)
        _check_credit(req.refund, req.credit_kind, credit, req.customer_ledger_id)
        account = await self._refund_from()
        body = self.mapping.refund_body(
            req.refund, req.external_ref, account, _credit_rate(req.refund, credit, org)
        )
        path = f"{self._path(req.credit_kind, req.credit_ledger_id)}/refunds"
        token = reference_token(req.external_ref)

        async def earlier() -> dict[str, Any] | None:
            rows = [r async for r in self._pages_at(path, REFUNDS[req.credit_kind][2], once=True)]
            ours = [r for r in rows if r.get("reference_number") == token]
            return _oldest(ours, REFUNDS[req.credit_kind][3])

        async def write() -> dict[str, Any]:
            _refuse_over_credit(req.refund, req.credit_kind, credit)
            answer = await self._call("POST", path, body=body, idempotent=False)
            created: dict[str, Any] = answer[REFUNDS[req.credit_kind][1]]
            return created

        raw, recovered = await self._guarded(earlier, write)
        record = refund_record(req.credit_kind, req.credit_ledger_id, raw, credit)
        return PushResult(record.ledger_id, record.version, recovered)

    async def create_credit_note(self, req: ports.CreditNoteWrite) -> PushResult:
        refuse_credit_note_discount(req.credit_note)
        org = await self._org()
        items = await self._booking(req.credit_note)
        body = self.mapping.credit_note_body(
            req.credit_note, req.customer_ledger_id, req.external_ref, org, items
        )
        params = self._numbering("credit_note")
        if req.invoice_ledger_id is None:
            return await self._create_once(
                "credit_note", body, req.external_ref, req.idempotency_key, params
            )
        invoice_id = req.invoice_ledger_id

        async def run(look: bool) -> PushResult:
            journal = req.journal()
            create = self._create_step(
                "credit_note", body, req.external_ref, params, retry=req.steps is None, look=look
            )
            found = self._found_step("credit_note", req.external_ref)
            note = await journal.step("credit_note", create, found)
            applied = self._credit_applied(note.ledger_id, invoice_id)
            apply = self._apply_credit(note, invoice_id, applied, retry=req.steps is None)
            await journal.step("apply", apply, applied)
            raw = await self._read("credit_note", note.ledger_id)
            return _pushed("credit_note", raw, _recovered(note))

        return await self._journaled(req.steps, req.idempotency_key, run)

    async def create_many(
        self, requests: Sequence[CreateRequest], *, batch_key: str
    ) -> list[PushResult | LedgerError]:
        """Each document created as alone (Zoho documents no bulk create: each is its
        own request, with its own journal and lookups), one result per request in order,
        a refusal that document's alone. What the batch saves is the read of each sent
        invoice's version: one list of the newest invoices for them all (``_versions``)."""
        results: list[PushResult | StepResult | LedgerError] = []
        for request in requests:
            try:
                results.append(await self._create_request(request))
            except LedgerError as exc:
                results.append(exc)
        raws = await self._versions([r.ledger_id for r in results if isinstance(r, StepResult)])
        return [_read_back(r, raws) if isinstance(r, StepResult) else r for r in results]

    async def _create_request(self, request: CreateRequest) -> PushResult | StepResult:
        if isinstance(request, ports.InvoiceWrite):
            return await self._new_invoice(request)
        return await create_one(self, request)

    async def _versions(self, invoice_ids: list[str]) -> dict[str, dict[str, Any] | LedgerError]:
        """The invoices ``invoice_ids`` as Zoho holds them now: one page of the invoice
        list, newest created first (``sort_column=created_time``, documented for ``GET
        /invoices``; its rows carry every field of the version), the ids it does not
        hold read one by one. A failed read is that invoice's result."""
        found: dict[str, dict[str, Any] | LedgerError] = {}
        if not invoice_ids:
            return found
        newest = {"sort_column": "created_time", "sort_order": "D"}
        with contextlib.suppress(LedgerError):  # then each is read alone
            for raw in await self._list_page("invoice", newest):
                if str(raw.get("invoice_id")) in invoice_ids:
                    found[str(raw["invoice_id"])] = raw
        for ident in invoice_ids:
            if ident not in found:
                try:
                    found[ident] = await self._read("invoice", ident)
                except LedgerError as exc:
                    found[ident] = exc
        return found

    async def update_customer(self, req: ports.CustomerUpdate) -> PushResult:
        org = await self._org()
        await self._check_version("customer", req.ledger_id, req.version)
        body = self.mapping.customer_body(
            req.customer, req.external_ref, org.currency_id(req.customer.currency)
        )
        if drops_person_detail(self.mapping, req.customer.model_dump(), self._ledger_owned):
            current = await self._read("customer", req.ledger_id)
            body["contact_persons"] = persons_kept(body["contact_persons"], current)
        answer = await self._call(
            "PUT", self._path("customer", req.ledger_id), body=body, idempotent=True
        )
        return _pushed("customer", answer["contact"])

    async def update_invoice(self, req: ports.InvoiceUpdate) -> PushResult:
        org = await self._org()
        items = await self._booking(req.invoice)
        await self._check_version("invoice", req.ledger_id, req.version)
        body = self.mapping.invoice_body(
            req.invoice, req.customer_ledger_id, req.external_ref, org, items
        )
        path = self._path("invoice", req.ledger_id)
        params = self._numbering("invoice")
        answer = await self._call("PUT", path, params=params, body=body, idempotent=True)
        self._remember_rate("invoice", answer["invoice"])
        return _pushed("invoice", answer["invoice"])

    async def void_invoice(self, req: ports.VoidWrite) -> PushResult:
        """Void the invoice if it is still at ``version`` (any version when None)."""

        async def voided() -> dict[str, Any] | None:
            current = await self._read("invoice", req.ledger_id, once=True)
            if current["status"] == "void":
                return current
            _refuse_stale("invoice", req.ledger_id, current, req.version)
            return None

        async def void() -> dict[str, Any]:
            path = f"{self._path('invoice', req.ledger_id)}/status/void"
            return await self._call("POST", path, idempotent=False)

        _, recovered = await self._guarded(voided, void)
        raw = await self._read("invoice", req.ledger_id)
        return _pushed("invoice", raw, recovered)

    # ------------------------------------------------------------------- reads

    async def find(self, kind: str, external_ref: str) -> LedgerRecord | None:
        """The record carrying our reference ``external_ref``."""
        if kind == "refund":
            token = reference_token(external_ref)
            async with contextlib.aclosing(self._refunds(token)) as found:
                return await anext(found, None)
        raw = await self._lookup(kind, external_ref, once=False)
        if raw is None:
            return None
        if kind == "customer":  # list rows carry no notes: read the contact itself
            raw = await self._read("customer", str(raw["contact_id"]))
        return await self._record(kind, raw)

    async def match_customer(self, customer: Customer) -> list[LedgerRecord]:
        """Customers with the same contact name, with a contact person of the same e-mail
        (active or not), or with the same tax id (see the module docstring), read in full
        so that each carries its reference (list answers omit notes)."""
        found = await self._named(customer) | await self._mailed(customer)
        full = {i: await self._read("customer", i) for i in sorted(found)}
        key = tax_key(customer.tax_id)
        if key is not None:
            for ident in sorted(await self._searched(key) - found):
                raw = await self._read("customer", ident)
                if _has_tax(raw, key, self.mapping.tax_fields):
                    full[ident] = raw
        return [to_record("customer", full[i]) for i in sorted(full)]

    async def get(self, kind: str, ledger_id: str) -> LedgerRecord | None:
        if kind == "refund":
            return await self._get_refund(ledger_id)
        raw = await unless_absent(self._read(kind, ledger_id), NOT_FOUND)
        return None if raw is None else await self._record(kind, raw)

    async def prefetch(self, kind: str, ledger_ids: Sequence[str]) -> None:
        """Customers about to be updated, read in bulk (``core.ports.Prefetcher``; module
        docstring): contacts listed newest change first, at most ``PREFETCH_PAGES``
        pages, each wanted one kept for its update's version check. Other kinds: nothing
        (Zoho documents no bulk read by id, and no list of documents by change time)."""
        wanted = set(ledger_ids)
        params = DELTA_ORDER["customer"] | _ALL
        for page in range(1, PREFETCH_PAGES + 1):
            if kind != "customer" or not wanted:
                return
            rows, more = await self._list("customer", params, page=page)
            for raw in rows:
                if str(raw.get("contact_id")) in wanted:
                    wanted.discard(str(raw["contact_id"]))
                    self._prefetched.keep("customer", str(raw["contact_id"]), raw)
            if not more:
                return

    async def list_all(self, kind: str) -> AsyncIterator[LedgerRecord]:
        if kind == "refund":
            async for record in self._refunds(None):
                yield record
            return
        order = {"sort_column": "created_time", "sort_order": "A"}
        async for raw in self._pages(kind, order | _all_statuses(kind)):
            if kind != "customer" or _is_customer(raw):
                yield await self._record(kind, raw)

    async def changes(self, since: datetime) -> AsyncIterator[LedgerRecord]:
        """Records changed at or after ``since`` (to the second: Zoho's resolution), kind
        by kind (module docstring). A record changed while this runs may come twice: a
        change moves a contact to the front of its order and leaves a document where it
        sorts (by creation). Pages are numbered, so a record deleted while this runs
        shifts the rows after it by one and one row may fall between two pages (Zoho
        offers no cursor)."""
        since = (since if since.tzinfo else since.replace(tzinfo=UTC)).replace(microsecond=0)
        seen: set[tuple[str, str, str | None]] = set()
        for kind in _DELTA_KINDS:
            async for record in self._changed(kind, since):
                if (kind, record.ledger_id, record.version) not in seen:
                    seen.add((kind, record.ledger_id, record.version))
                    yield record

    def keep_ledger_details(self, fields: tuple[str, ...]) -> None:
        """The details the ledger owns: an update leaving them out keeps the contact
        person's (core/customer_details.py ``KeepsLedgerDetails``; one read more)."""
        self._ledger_owned = fields

    async def aclose(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------------- items

    async def find_item(self, code: str) -> LedgerItem | None:
        """The item named ``code`` (a Zoho item's name is its code), else the item whose
        id ``code`` is; remembered for the adapter's life (``zoho_items``)."""
        cached = self._items.by_code.get(code)
        if cached is not None:
            return cached
        raw = await self._item_named(code)
        if raw is not None:
            return self._items.remember(raw, asked=code)
        return await self._item_by_id(code)

    async def create_item(self, req: ports.ItemWrite) -> LedgerItem:
        """A service item named ``code``, booked to the mapping's income account; the item
        already holding that name when there is one. Zoho has no idempotency key: a
        create that timed out is looked up by name before it is sent again, and a create
        Zoho refuses ends with the item holding the name, if any (the refusal otherwise)."""
        found = await self.find_item(req.code)
        if found is not None:
            return found
        body = new_item_body(req.code, await self._new_item_account())

        async def earlier() -> dict[str, Any] | None:
            return await self._item_named(req.code, once=True)

        async def create() -> dict[str, Any]:
            answer = await self._call("POST", f"{API}/items", body=body, idempotent=False)
            created: dict[str, Any] = answer["item"]
            return created

        try:
            raw, _ = await self._guarded(earlier, create, check_first=False)
        except PermanentLedgerError:
            taken = await self._item_named(req.code)  # refused as a duplicate name?
            if taken is None:
                raise
            raw = taken
        return self._items.remember(raw, asked=req.code)

    async def _booking(self, doc: Invoice | CreditNote) -> tuple[str, ...]:
        """The ``item_id`` each line is booked to: its item's, else the default item's
        (``_default_item``). A line naming no item of the organisation is refused before
        anything is written, the default item included."""
        items = await items_for_lines(doc, self.find_item, "Zoho Books")
        default = await self._default_item() if _uncoded(doc) else ""
        return tuple(
            default if line.item_code is None else items[line.item_code].ledger_id
            for line in doc.lines
        )

    async def _default_item(self) -> str:
        """The item lines naming none are booked to (Zoho's invoice schema requires an
        ``item_id`` on every line): ``[invoice.lines] item_id``, else the item named
        ``[invoice.lines] item_name``, created once if the organisation has none."""
        if self._default_item_id is None:
            self._default_item_id = (
                self.mapping.default_item
                or (
                    await self.create_item(
                        ports.ItemWrite(self.mapping.default_item_name, idempotency_key="")
                    )
                ).ledger_id
            )
        return self._default_item_id

    async def _record(self, kind: str, raw: Mapping[str, Any]) -> LedgerRecord:
        """``raw`` as a record, with what a payment or credit note is applied to; a
        document read in full with the item code of each line (a list row carries no
        lines: its ``line_items`` stay empty)."""
        record = to_record(kind, raw)
        if kind == "customer":
            record = replace(record, external_ref=await self._contact_ref(raw))
        if kind in ("payment", "credit_note"):
            record = replace(record, applied_to=await self._applied(kind, raw, record))
        if kind not in ("invoice", "credit_note") or "line_items" not in raw:
            return record
        codes = [await self._item_code(i) for i in line_item_ids(raw)]
        return replace(record, line_items=tuple(codes))

    async def _applied(
        self, kind: str, raw: Mapping[str, Any], record: LedgerRecord
    ) -> Applications:
        """The invoices a payment or credit note is applied to (module docstring): none
        when all of it is left, else read (list rows carry no applications) and
        remembered for that version."""
        if record.total is not None and record.total == record.balance:
            return ()
        key = (kind, record.ledger_id, record.version)
        known = self._applications.get(key)
        if known is None:
            known = await (
                self._paid_invoices(raw)
                if kind == "payment"
                else self._credited_invoices(record.ledger_id)
            )
            if len(self._applications) >= APPLICATIONS_KEPT:
                self._applications.clear()
            self._applications[key] = known
        return known

    async def _contact_ref(self, raw: Mapping[str, Any]) -> str | None:
        """Our reference in a contact's notes; a list row carries none, so the contact is
        read in full once per ``last_modified_time`` (and remembered)."""
        if "notes" in raw:
            return ref_in(raw.get("notes"))
        key = (str(raw["contact_id"]), str(raw.get("last_modified_time")))
        if key not in self._contact_refs:
            full = await self._read("customer", key[0])
            if len(self._contact_refs) >= APPLICATIONS_KEPT:
                self._contact_refs.clear()
            self._contact_refs[key] = ref_in(full.get("notes"))
        return self._contact_refs[key]

    async def _paid_invoices(self, raw: Mapping[str, Any]) -> Applications:
        """A payment's ``invoices`` (read in full when ``raw`` is a list row)."""
        if "invoices" not in raw:
            raw = await self._read("payment", str(raw["payment_id"]))
        return tuple(
            (str(i["invoice_id"]), to_decimal(i["amount_applied"])) for i in raw["invoices"]
        )

    async def _item_code(self, item_id: str | None) -> str | None:
        """The code of the item a line is booked to; None for no item and for the default
        item, which stands for "no code" (``_default_item``)."""
        if item_id is None or item_id in (self.mapping.default_item, self._default_item_id):
            return None
        item = await self._item_by_id(item_id)
        if item is None or item.code.casefold() == self.mapping.default_item_name.casefold():
            return None
        return item.code

    async def _item_named(self, code: str, *, once: bool = False) -> dict[str, Any] | None:
        if not may_be_name(code):
            return None
        rows, _ = await self._list_at(f"{API}/items", "items", by_name(code), once=once)
        return named(rows, code)

    async def _item_by_id(self, item_id: str) -> LedgerItem | None:
        """The item of id ``item_id``: from the cache, else read once."""
        known = self._items.by_id.get(item_id)
        if known is not None or not may_be_id(item_id) or item_id in self._items.missing_ids:
            return known
        try:
            answer = await self._call(
                "GET", f"{API}/items/{quote(item_id, safe='')}", idempotent=True
            )
        except PermanentLedgerError as exc:
            if exc.code != NOT_FOUND:
                raise
            self._items.missing_ids.add(item_id)
            return None
        return self._items.remember(answer["item"])

    async def _new_item_account(self) -> str | None:
        """``[new_items] account_id``; else the account of the default item lines are
        booked to (``[invoice.lines] item_id``); else None: Zoho's Sales account, where
        lines naming no item go."""
        if self._item_account is None:
            account = self.mapping.new_item_account
            default = self.mapping.default_item
            if account is None and default is not None:
                answer = await self._call(
                    "GET", f"{API}/items/{quote(default, safe='')}", idempotent=True
                )
                account = str(answer["item"].get("account_id") or "") or None
            self._item_account = (account,)
        return self._item_account[0]

    # -------------------------------------------------------- check then write

    async def _guarded(
        self,
        check: Callable[[], Awaitable[T | None]],
        write: Callable[[], Awaitable[T]],
        *,
        check_first: bool = True,
        retry: bool = True,
    ) -> tuple[T, bool]:
        """Until it lands or the attempts run out (one without ``retry``): ``check`` for
        an earlier write's result, and write (once) when there is none. True when
        ``check`` found it."""

        async def write_once(_: TransientLedgerError | None) -> T:
            return await write()

        landed = await write_or_find(
            self._retries,
            write_once,
            check,
            label="zoho-books",
            look_first=check_first,
            once=not retry,
        )
        return landed.value, landed.found

    async def _journaled(
        self, steps: WriteSteps | None, key: str, run: Callable[[bool], Awaitable[PushResult]]
    ) -> PushResult:
        """Under the sync's journal, ``run(False)``: its ``find`` asks first when a step's
        outcome is unknown. Without one, the memo says whether to look first."""
        if steps is not None:
            return await run(False)
        return await self._writes.once(key, run)

    async def _create_once(
        self,
        kind: str,
        body: dict[str, Any],
        external_ref: str,
        key: str,
        params: Mapping[str, str] | None = None,
    ) -> PushResult:
        """A single create, looked up first only when its outcome is unknown."""

        async def create(look: bool) -> PushResult:
            raw, recovered = await self._create(kind, body, external_ref, params, look=look)
            return _pushed(kind, raw, recovered)

        return await self._writes.once(key, create)

    async def _create(
        self,
        kind: str,
        body: dict[str, Any],
        external_ref: str,
        params: Mapping[str, str] | None = None,
        *,
        retry: bool = True,
        look: bool,
    ) -> tuple[dict[str, Any], bool]:
        """Sent, and on a lost answer looked for before it is sent again; looked for
        first too when ``look`` (an earlier write's outcome is unknown)."""

        async def earlier() -> dict[str, Any] | None:
            return await self._lookup(kind, external_ref, once=True)

        async def create() -> dict[str, Any]:
            path = f"{API}/{RESOURCES[kind][0]}"
            answer = await self._call("POST", path, params=params, body=body, idempotent=False)
            created: dict[str, Any] = answer[RESOURCES[kind][1]]
            return created

        try:
            made = await self._guarded(earlier, create, check_first=look, retry=retry)
        except PermanentLedgerError as refused:
            if refused.code not in (DUPLICATE_CONTACT, ALREADY_EXISTS):
                raise
            ours = await self._ours_by_number(kind, body, external_ref)
            if ours is None:
                raise
            made = ours, True
        self._remember_rate(kind, made[0])
        return made

    def _remember_rate(self, kind: str, raw: Mapping[str, Any]) -> None:
        """An invoice's currency and rate as written, for its payments (bounded); not
        from a list row found by lookup, which may not carry the rate."""
        if kind != "invoice" or "exchange_rate" not in raw:
            return
        fields = ("invoice_number", "currency_code", "exchange_rate")
        self._rates.put(str(raw["invoice_id"]), {f: raw.get(f) for f in fields})

    async def _ours_by_number(
        self, kind: str, body: Mapping[str, Any], external_ref: str
    ) -> dict[str, Any] | None:
        """Zoho refused a name or number as taken: ours when that record carries our
        reference (its key line was edited away, or the reference lookup missed it)."""
        number_field = RESOURCES[kind][4]
        if not body.get(number_field):
            return None
        rows = await self._list_page(kind, {number_field: str(body[number_field]), **_ALL})
        for row in rows:
            raw = await self._read(kind, str(row[RESOURCES[kind][3]]))
            mine = (
                ref_in(raw.get("notes")) == external_ref
                if kind == "customer"
                else raw.get("reference_number") == reference_token(external_ref)
            )
            if mine:
                return raw
        return None

    # ------------------------------------------------------ multi-write steps

    def _create_step(
        self,
        kind: str,
        body: dict[str, Any],
        external_ref: str,
        params: Mapping[str, str],
        *,
        retry: bool,
        look: bool,
    ) -> StepWrite:
        """The create of a multi-write operation as a step: sent (looked up first when
        ``look``). Under a journal it is sent once (``retry`` False): a failure goes back
        to the journal, whose next run asks ``_found_step`` first; without one it is
        retried here."""

        async def write(key: str) -> StepResult:
            raw, recovered = await self._create(
                kind, body, external_ref, params, retry=retry, look=look
            )
            return _made(kind, raw, recovered=recovered)

        return write

    def _found_step(self, kind: str, external_ref: str) -> StepFind:
        async def find() -> StepResult | None:
            raw = await self._lookup(kind, external_ref, once=False)
            return None if raw is None else _made(kind, raw, recovered=True)

        return find

    def _mark_sent(self, made: StepResult, *, retry: bool) -> StepWrite:
        """``POST /invoices/{id}/status/sent`` (API-created invoices are drafts, and Zoho
        takes no payment on a draft); refused because the invoice is no longer a draft
        (someone sent it meanwhile) counts as done. Without a journal (``retry``), a lost
        answer is retried here after reading the status again."""
        ident = made.ledger_id
        sent = self._sent(ident)

        async def post() -> StepResult:
            path = f"{self._path('invoice', ident)}/status/sent"
            try:
                await self._call("POST", path, idempotent=False)
            except PermanentLedgerError:
                if await sent() is None:
                    raise
            return StepResult(ident)

        async def write(key: str) -> StepResult:
            if made.detail.get("status", "draft") != "draft":
                return StepResult(ident)
            done, _ = await self._guarded(sent, post, check_first=False, retry=retry)
            return done

        return write

    def _sent(self, ident: str) -> StepFind:
        async def find() -> StepResult | None:
            current = await self._read("invoice", ident)
            return None if current["status"] == "draft" else StepResult(ident)

        return find

    def _apply_credit(
        self, note: StepResult, invoice_id: str, applied: StepFind, *, retry: bool
    ) -> StepWrite:
        """``POST /creditnotes/{id}/invoices`` applying the credit note's total, at most
        what the invoice still owes (the rest stays the customer's credit; nothing is
        sent when it owes nothing). Zoho has no idempotency key: when the credit note was
        an earlier one (found, not created), and before any resend without a journal
        (``retry``), ``applied`` is asked first."""
        path = f"{self._path('credit_note', note.ledger_id)}/invoices"

        async def post() -> StepResult:
            total = (
                note.detail.get("total")
                or (await self._read("credit_note", note.ledger_id))["total"]
            )
            owed = (await self._read("invoice", invoice_id))["balance"]
            part = min(to_decimal(total), to_decimal(owed))
            if part > 0:
                body = {"invoices": [{"invoice_id": invoice_id, "amount_applied": part}]}
                await self._call("POST", path, body=body, idempotent=False)
            return StepResult(note.ledger_id)

        async def write(key: str) -> StepResult:
            first = _recovered(note)
            done, _ = await self._guarded(applied, post, check_first=first, retry=retry)
            return done

        return write

    def _credit_applied(self, note_id: str, invoice_id: str) -> StepFind:
        async def find() -> StepResult | None:
            credited = await self._credited_invoices(note_id)
            return StepResult(note_id) if any(i == invoice_id for i, _ in credited) else None

        return find

    async def _credited_invoices(self, note_id: str) -> Applications:
        """``GET /creditnotes/{id}/invoices``: (invoice, ``credited_amount``) per row."""
        path = f"{self._path('credit_note', note_id)}/invoices"
        answer = await self._call("GET", path, idempotent=True)
        return tuple(
            (str(c["invoice_id"]), to_decimal(c["credited_amount"]))
            for c in answer.get("invoices_credited", [])
        )

    async def _check_version(self, kind: str, ledger_id: str, version: str | None) -> None:
        """Refuse a stale write: the record as ``prefetch`` found it (served once, while
        fresh), else as read now."""
        current = self._prefetched.take(kind, ledger_id)
        if version is not None:
            _refuse_stale(kind, ledger_id, current or await self._read(kind, ledger_id), version)

    async def _payment_rate(
        self, payment: Payment, invoice_id: str, org: OrgSettings
    ) -> Decimal | None:
        """None in the base currency; otherwise the invoice's own rate (the payment
        carries none), refusing when the invoice has none or another currency."""
        if payment.currency == org.base_currency:
            return None
        invoice = self._rates.get(invoice_id) or await self._read("invoice", invoice_id)
        rate = invoice.get("exchange_rate")
        if invoice.get("currency_code") != payment.currency or rate in (None, 0, 1):
            raise PermanentLedgerError(
                f"payment {payment.id} is in {payment.currency} but invoice "
                f"{invoice.get('invoice_number')} is in {invoice.get('currency_code')} at rate "
                f"{rate}: syncledger needs the invoice's own exchange rate and never assumes 1",
                code="syncledger.exchange_rate_missing",
            )
        return to_decimal(rate)

    # ----------------------------------------------------------------- lookups

    async def _lookup(self, kind: str, external_ref: str, *, once: bool) -> dict[str, Any] | None:
        if kind == "customer":
            search = {"search_text": ref_key(external_ref), **_ALL}
            rows = [r for r in await self._list_page(kind, search, once=once) if _is_customer(r)]
            return _oldest(rows, "contact_id")
        token = reference_token(external_ref)
        rows = await self._list_page(kind, {"reference_number": token}, once=once)
        return _oldest([r for r in rows if r.get("reference_number") == token], RESOURCES[kind][3])

    async def _named(self, customer: Customer) -> set[str]:
        by_name = "contact_name" if len(customer.name) <= 100 else "contact_name_startswith"
        named = await self._list_page("customer", {by_name: customer.name[:100], **_ALL})
        return {
            str(r["contact_id"])
            for r in named
            if _is_customer(r)
            and str(r.get("contact_name", "")).casefold() == customer.name.casefold()
        }

    async def _mailed(self, customer: Customer) -> set[str]:
        if not customer.email:
            return set()
        mailed = await self._list_page("customer", {"email": customer.email, **_ALL})
        return {str(r["contact_id"]) for r in mailed if _is_customer(r)}

    async def _searched(self, text: str) -> set[str]:
        rows = await self._list_page("customer", {"search_text": text, **_ALL})
        return {str(r["contact_id"]) for r in rows if _is_customer(r)}

    async def _get_refund(self, ledger_id: str) -> LedgerRecord | None:
        parts = split_refund_id(ledger_id)
        if parts is None:
            return None
        credit_kind, credit_id, refund_id = parts
        path = f"{self._path(credit_kind, credit_id)}/refunds/{quote(refund_id, safe='')}"
        try:
            answer = await self._call("GET", path, idempotent=True)
            credit = await self._read(credit_kind, credit_id)
        except PermanentLedgerError as exc:
            if exc.code == NOT_FOUND:
                return None
            raise
        return refund_record(credit_kind, credit_id, answer[REFUNDS[credit_kind][1]], credit)

    async def _refunds(self, token: str | None) -> AsyncGenerator[LedgerRecord, None]:
        """Every refund (those whose ``reference_number`` is ``token``, if given): credit
        note refunds from their organisation-wide list, each read credit note once for its
        customer and currency; then each customer payment's refunds."""
        notes: dict[str, dict[str, Any]] = {}
        path = f"{API}/{RESOURCES['credit_note'][0]}/refunds"
        async for raw in self._pages_at(path, REFUNDS["credit_note"][2]):
            if token is None or raw.get("reference_number") == token:
                note_id = str(raw["creditnote_id"])
                if note_id not in notes:
                    notes[note_id] = await self._read("credit_note", note_id)
                yield refund_record("credit_note", note_id, raw, notes[note_id])
        order = {"sort_column": "created_time", "sort_order": "A"}
        async for payment in self._pages("payment", order):
            payment_id = str(payment["payment_id"])
            path = f"{self._path('payment', payment_id)}/refunds"
            async for raw in self._pages_at(path, REFUNDS["payment"][2]):
                if token is None or raw.get("reference_number") == token:
                    yield refund_record("payment", payment_id, raw, payment)

    async def _refund_from(self) -> str:
        """The account refunds are paid from: the mapping's, else the primary one."""
        if self._refund_account is None:
            self._refund_account = self.mapping.refund_account or await self._primary_account()
        return self._refund_account

    async def _primary_account(self) -> str:
        answer = await self._call("GET", f"{API}/bankaccounts", idempotent=True)
        accounts = [a for a in answer.get("bankaccounts", []) if a.get("is_active", True)]
        primary = next((a for a in accounts if a.get("is_primary_account")), None)
        if primary is None:
            raise PermanentLedgerError(
                "Zoho Books has no primary bank account to pay refunds from: mark one as "
                "primary under Banking, or set [refund] from_account_id in the Zoho mapping",
                code="syncledger.refund_account_missing",
            )
        return str(primary["account_id"])

    async def _changed(self, kind: str, since: datetime) -> AsyncIterator[LedgerRecord]:
        """The records of ``kind`` changed at or after ``since`` (module docstring): every
        page in a documented order, each row kept by its ``last_modified_time`` (a row
        without one is kept); contacts stop at the first older row when the answer says
        it is sorted newest first."""
        path, key = f"{API}/{_resource(kind)}", RESOURCES[kind][2]
        params = DELTA_ORDER[kind] | _all_statuses(kind)
        page = 1
        while True:
            rows, context = await self._page_at(path, key, params, page=page)
            newest_first = _newest_first(context)
            for raw in rows:
                moment = zoho_moment(raw.get("last_modified_time"))
                if moment is not None and moment < since:
                    if newest_first:
                        return
                    continue
                if kind != "customer" or _is_customer(raw):
                    yield await self._record(kind, raw)
            if not context.get("has_more_page"):
                return
            page += 1

    # ----------------------------------------------------------------- helpers

    async def _org(self) -> OrgSettings:
        if self._settings is None:
            currencies = (await self._call("GET", f"{API}/settings/currencies", idempotent=True))[
                "currencies"
            ]
            taxes = (await self._call("GET", f"{API}/settings/taxes", idempotent=True))["taxes"]
            self._settings = _org_settings(currencies, taxes)
        return self._settings

    def _numbering(self, kind: str) -> dict[str, str]:
        return (
            {"ignore_auto_number_generation": "true"} if self.mapping.uses_our_number(kind) else {}
        )

    def _path(self, kind: str, ledger_id: str) -> str:
        return f"{API}/{_resource(kind)}/{quote(ledger_id, safe='')}"

    async def _read(self, kind: str, ledger_id: str, *, once: bool = False) -> dict[str, Any]:
        answer = await self._call("GET", self._path(kind, ledger_id), idempotent=not once)
        raw: dict[str, Any] = answer[RESOURCES[kind][1]]
        return raw

    async def _list_page(
        self, kind: str, params: Mapping[str, str], *, once: bool = False, page: int = 1
    ) -> list[dict[str, Any]]:
        return (await self._list(kind, params, once=once, page=page))[0]

    async def _list(
        self, kind: str, params: Mapping[str, str], *, once: bool = False, page: int = 1
    ) -> tuple[list[dict[str, Any]], bool]:
        path = f"{API}/{_resource(kind)}"
        return await self._list_at(path, RESOURCES[kind][2], params, once=once, page=page)

    async def _list_at(
        self,
        path: str,
        key: str,
        params: Mapping[str, str],
        *,
        once: bool = False,
        page: int = 1,
    ) -> tuple[list[dict[str, Any]], bool]:
        """One page of the list at ``path`` (its rows under ``key``), and whether more
        follow."""
        rows, context = await self._page_at(path, key, params, once=once, page=page)
        return rows, bool(context.get("has_more_page"))

    async def _page_at(
        self,
        path: str,
        key: str,
        params: Mapping[str, str],
        *,
        once: bool = False,
        page: int = 1,
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """One page of the list at ``path``: its rows under ``key`` and its
        ``page_context`` (``has_more_page``, ``sort_column``, ``sort_order``)."""
        query = {**params, "page": str(page), "per_page": str(self._page)}
        answer = await self._call("GET", path, params=query, idempotent=not once)
        context = answer.get("page_context")
        if not isinstance(context, dict):
            raise PermanentLedgerError(
                f"Zoho Books listed {key} without page_context: cannot tell whether more "
                "pages follow",
                code="syncledger.bad_answer",
            )
        rows: list[dict[str, Any]] = answer.get(key, [])
        return rows, context

    async def _pages(self, kind: str, params: Mapping[str, str]) -> AsyncIterator[dict[str, Any]]:
        async for raw in self._pages_at(f"{API}/{_resource(kind)}", RESOURCES[kind][2], params):
            yield raw

    async def _pages_at(
        self, path: str, key: str, params: Mapping[str, str] | None = None, *, once: bool = False
    ) -> AsyncIterator[dict[str, Any]]:
        async def read(page: int) -> Page[dict[str, Any], int]:
            rows, more = await self._list_at(path, key, params or {}, once=once, page=page)
            return Page(rows, page + 1 if more else None)

        async for raw in walk(read, 1):
            yield raw

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        idempotent: bool,
    ) -> dict[str, Any]:
        query = {"organization_id": self.organization_id, **(params or {})}
        async with self._slots:
            answer = await self._http.json(
                method, path, params=query, body=body, idempotent=idempotent
            )
        return checked(answer, f"Zoho Books {method} {path}")


def _resource(kind: str) -> str:
    try:
        return RESOURCES[kind][0]
    except KeyError:
        raise PermanentLedgerError(
            f"Zoho Books adapter does not handle {kind!r} records", code="unsupported"
        ) from None


def _pushed(kind: str, raw: Mapping[str, Any], recovered: bool = False) -> PushResult:
    return PushResult(str(raw[RESOURCES[kind][3]]), version_of(kind, raw), recovered)


def _read_back(
    made: StepResult, raws: Mapping[str, dict[str, Any] | LedgerError]
) -> PushResult | LedgerError:
    """A sent invoice's result: its version as listed or read, else why not."""
    raw = raws[made.ledger_id]
    return raw if isinstance(raw, LedgerError) else _pushed("invoice", raw, _recovered(made))


def _made(kind: str, raw: Mapping[str, Any], *, recovered: bool) -> StepResult:
    """A created document as a step's result, with what the next step needs."""
    detail = {"status": str(raw.get("status") or ""), "total": str(raw.get("total") or "")}
    return StepResult(
        str(raw[RESOURCES[kind][3]]), detail | ({"recovered": "true"} if recovered else {})
    )


def _recovered(made: StepResult) -> bool:
    return made.detail.get("recovered") == "true"


def _refuse_stale(
    kind: str, ledger_id: str, current: Mapping[str, Any], version: str | None
) -> None:
    actual = version_of(kind, current)
    if version is not None and actual != version:
        raise StaleVersionError(
            f"Zoho Books {kind} {ledger_id} changed since it was read (version {version}, now "
            f"{actual}): read it again and retry",
            code="syncledger.stale_version",
        )


def _check_credit(
    refund: Refund, credit_kind: str, credit: Mapping[str, Any], customer_id: str
) -> None:
    where = f"refund {refund.id}: {credit_kind.replace('_', ' ')} {_credit_name(credit)}"
    if str(credit.get("customer_id")) != customer_id:
        raise PermanentLedgerError(
            f"{where} belongs to customer {credit.get('customer_id')}, not {customer_id}: "
            "a refund pays back the customer who holds the credit",
            code="syncledger.credit_of_another_customer",
        )
    if credit.get("currency_code") != refund.currency:
        raise PermanentLedgerError(
            f"{where} is in {credit.get('currency_code')}, the refund in {refund.currency}: "
            "refund in the credit's currency",
            code="syncledger.credit_in_another_currency",
        )


def _refuse_over_credit(refund: Refund, credit_kind: str, credit: Mapping[str, Any]) -> None:
    left = to_decimal(credit.get(CREDIT_LEFT[credit_kind]) or 0)
    if refund.amount > left:
        raise PermanentLedgerError(
            f"refund {refund.id}: {refund.amount} {refund.currency} is more than the {left} "
            f"left on {credit_kind.replace('_', ' ')} {_credit_name(credit)}: refund at most "
            "what remains",
            code="syncledger.refund_exceeds_credit",
        )


def _credit_name(credit: Mapping[str, Any]) -> str:
    return str(credit.get("creditnote_number") or credit.get("payment_number") or "?")


def _credit_rate(refund: Refund, credit: Mapping[str, Any], org: OrgSettings) -> Decimal | None:
    """None in the base currency; otherwise the credit's own exchange rate."""
    if refund.currency == org.base_currency:
        return None
    rate = credit.get("exchange_rate")
    if rate in (None, 0, 1):
        raise PermanentLedgerError(
            f"refund {refund.id} is in {refund.currency} but its credit "
            f"{_credit_name(credit)} has no exchange rate ({rate}): syncledger never assumes 1",
            code="syncledger.exchange_rate_missing",
        )
    return to_decimal(rate)


def _has_tax(raw: Mapping[str, Any], key: str, fields: tuple[str, ...]) -> bool:
    """The contact carries the tax id ``key``: in our notes line or a mapped tax field."""
    return tax_in(raw.get("notes")) == key or any(tax_key(raw.get(f)) == key for f in fields)


def _org_settings(currencies: list[dict[str, Any]], taxes: list[dict[str, Any]]) -> OrgSettings:
    base = next((c for c in currencies if c.get("is_base_currency")), None)
    if base is None:
        raise PermanentLedgerError(
            "Zoho Books lists no base currency for this organisation", code="syncledger.bad_answer"
        )
    return OrgSettings(
        base_currency=str(base["currency_code"]),
        currency_ids={str(c["currency_code"]): str(c["currency_id"]) for c in currencies},
        taxes=tuple(
            ZohoTax(str(t["tax_id"]), str(t["tax_name"]), to_decimal(t["tax_percentage"]))
            for t in taxes
        ),
    )


_ALL = {"filter_by": "Status.All"}
#: the kinds ``changes`` reads (refund lists carry no modification time)
_DELTA_KINDS = ("customer", "invoice", "payment", "credit_note")
#: the order ``changes`` lists each kind in: a ``sort_column`` Zoho documents for that
#: list (module docstring). Only contacts may be sorted by ``last_modified_time``.
DELTA_ORDER: dict[str, dict[str, str]] = {
    "customer": {"sort_column": "last_modified_time", "sort_order": "D"},
    "invoice": {"sort_column": "created_time", "sort_order": "A"},
    "payment": {"sort_column": "created_time", "sort_order": "A"},
    "credit_note": {"sort_column": "created_time", "sort_order": "A"},
}


def _newest_first(context: Mapping[str, Any]) -> bool:
    """The page says it is sorted by modification time, newest first: the first row
    older than the cursor ends the delta (nothing after it is newer)."""
    return context.get("sort_column") == "last_modified_time" and context.get("sort_order") == "D"


def _all_statuses(kind: str) -> dict[str, str]:
    return _ALL if kind == "customer" else {}


def _uncoded(doc: Invoice | CreditNote) -> bool:
    return any(line.item_code is None for line in doc.lines)


def _is_customer(raw: Mapping[str, Any]) -> bool:
    return bool(raw.get("contact_type", "customer") == "customer")


def _oldest(rows: list[dict[str, Any]], id_field: str) -> dict[str, Any] | None:
    """The first-created of several records carrying one reference (ids grow)."""
    return min(rows, key=lambda r: (len(str(r[id_field])), str(r[id_field])), default=None)


__all__ = ["PRODUCTION_URL", "TOKEN_URL", "ZohoLedger", "ref_in", "zoho_rates"]
