"""QuickBooks Online v3 ledger adapter: ``QboLedger`` implements ``LedgerAdapter``.

Idempotency, two layers (PLATFORMS.md: QBO's ``requestid`` alone has let duplicates
through): every write carries ``?requestid=`` derived from our idempotency key, so the HTTP
layer may resend it after a timeout and QBO replays the first answer; and every record we
create carries our source reference (``Notes`` / ``PrivateNote``, see ``qbo_mapping``),
which ``find`` reads back after a crash. A customer create refused as a duplicate name
(6240) is resolved the same way when the existing customer carries our reference.

Updates are sparse (only the mapped fields are sent) with our ``version`` as the
``SyncToken``, so QBO refuses a stale one (5010 → ``StaleVersionError``). An update first reads
the record (to put our reference line back into text a person may have added); before a
batch, ``prefetch`` reads the batch's customers and invoices in one query (``SELECT * FROM
Customer WHERE Id IN ('1', '2')``: the query language's ``IN`` operator, "Query operations
and syntax", developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-
online-api/data-queries; the ids in lists bounded as the batch matcher bounds its values,
``qbo_matching``) and each update takes its record from there once. QBO still checks
the SyncToken at the write, so a bulk read a little older than the write lets nothing stale
through. A credit note is
a ``CreditMemo``; applied to an invoice, QBO records a ``Payment`` of ``TotalAmt`` 0 linking
both (``create_credit_note``).

Multi-write operations run each write through the record's ``WriteSteps`` journal, under a
``requestid`` derived from the step's key: a credit note applied to an invoice is
``credit_memo`` (``POST /creditmemo``) then ``apply`` (the zero ``Payment``); a refund is
``check`` (``POST /purchase``) then ``link`` (the payment line paying the cheque out of
the credit). A step whose answer was lost is looked up before it is written again: the
credit memo and the cheque by our reference, the application by the customer's payments
linking the credit memo and the invoice, the link by what the customer's payments pay of
the cheque. A credit note without an invoice, a payment (its application is a ``Line`` of
its own body), an update and a void are one write each and are not journaled.

What a record is applied to (``applied_to``) is read from the payments, the one place QBO
records it (``qbo_links``): a payment's own Invoice lines; for a credit memo, the Invoice
lines its CreditMemo lines pay; for a refund cheque, the credit memo or overpaying payment
whose lines pay it. ``get`` and ``find`` read the payments of the record's customer,
``list_all`` every payment once, ``changes`` each customer's once.

Overpayments: a ``Payment`` whose ``TotalAmt`` is all the money received and whose one
``Line`` (linking the invoice) is the part applied; QBO keeps the rest as the payment's
``UnappliedAmt``, the customer's credit (``balance``). Nothing applied: a payment with no
``Line``. A credit memo's credit left is its ``RemainingCredit``.

Refunds (``create_refund``): QBO's ``RefundReceipt`` refunds a sale and consumes no
credit, so it is not used. Intuit's way to pay a customer's credit back is a cheque to the
customer against Accounts Receivable (a ``Purchase``, ``PaymentType`` Check, one
``AccountBasedExpenseLineDetail`` line on A/R, ``EntityRef`` the customer: an A/R charge),
which the credit then pays: for a credit memo, a zero ``Payment`` with a ``Check`` line
and a ``CreditMemo`` line (as a credit memo applied to an invoice); for an overpayment, a
sparse update of that ``Payment`` adding a ``Check`` line (a Payment cannot link another
Payment). So ``RemainingCredit`` / ``UnappliedAmt`` drop by the amount. The refund's ledger
id is the cheque's, our reference is in its ``PrivateNote``. QBO would write a cheque above
the credit left, so that is checked first (``PermanentLedgerError``). The cheque and its
link are the two journaled steps above; ``find("refund")`` reports the cheque only once the
credit pays it all, so a retry after a crash between the two completes the link instead of
writing a second cheque.

Tax (``qbo_tax``): the company's tax model is read once (``CompanyInfo.Country``,
``Preferences.TaxPrefs.PartnerTaxEnabled``) and decides how a document's tax is sent: per
line ``TAX`` / ``NON`` and ``TxnTaxCodeRef`` under automated sales tax (QBO computes the
tax), the explicit ``TxnTaxDetail`` otherwise. The ``TxnTaxCodeRef`` of a taxed document is
the mapping's ``txn_tax_code_ref`` or else the customer's ``DefaultTaxCodeRef`` (read once
per customer). After every create or update of an invoice or credit memo the document QBO
answered with is compared with ours: a different tax or total is logged as a warning at
once, and the record's ``tax`` (QBO's ``TotalTax``) lets the reconciler record it.

Tax ids: ``create_customer`` / ``update_customer`` send ``PrimaryTaxIdentifier``, but QBO
returns it masked and cannot query it, so ``match_customer`` matches on DisplayName and
email only (``capabilities.matches_tax_id`` is False). A batch's new customers are
matched at once (``match_customers``, ``core.ports.CustomerBatchMatcher``): one
``DisplayName IN (...)`` query, one ``PrimaryEmailAddr IN (...)`` query when any has an
e-mail (QBO's query has ``IN`` but no ``OR``; facts and limits in ``qbo_matching``).

Items (``find_item`` / ``create_item``, ``qbo_items``): a line naming an item is booked
to it by ``ItemRef``; the codes of a document (of every document of a ``create_many``) are
resolved before anything is written, so a line naming no item of the company is refused
with nothing sent. Items found are kept for the adapter's lifetime; a refused reference
(2500) drops them. ``get`` / ``find`` / ``list_all`` / ``changes`` fill ``line_items``
from the ``ItemRef`` names QBO answers with.

Limits: 500 requests/min per realm and 10/s per realm and app, held by the client-side
limiter before sending. Batch: at most 30 payloads per ``/batch`` call — Intuit's batch page
says 10 but its limits page says 30, and users report 30 accepted and 31 refused
(intuit/QuickBooks-V3-DotNET-SDK#358, whose SDK moved to 30 in #363).

Invoice e-mail (``core.ports.InvoiceSender``): ``send_invoice`` / ``delivery`` through
``POST invoice/{id}/send`` and the invoice's ``EmailStatus``; facts, citations and the
undocumented cases are in ``qbo_sending``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import quote

from typing_extensions import Unpack

from syncledger.adapters.http import LedgerHttp
from syncledger.adapters.kit.connect import HttpOptions, HttpSpec
from syncledger.adapters.kit.details import Details, ReadsCustomerDetails
from syncledger.adapters.kit.reads import unless_absent
from syncledger.adapters.oauth2 import Auth
from syncledger.adapters.prefetch import Prefetched
from syncledger.adapters.qbo.customer_details import (
    address_as_written,
    address_parts,
    customer_details,
)
from syncledger.adapters.qbo.errors import (
    DUPLICATE_NAME_CODE,
    INVALID_REFERENCE_CODE,
    NOT_FOUND_CODE,
    fault_error,
    parse_fault,
    translate_qbo,
)
from syncledger.adapters.qbo.items import QboItems, qbo_literal
from syncledger.adapters.qbo.links import (
    PaymentBook,
    applies,
    check_paid,
    credit_applied_to,
    refund_applied_to,
)
from syncledger.adapters.qbo.mapping import (
    APPLIES_MARKER,
    ENTITY,
    KINDS,
    LINK_TYPE,
    CreditApplication,
    CreditRefund,
    QboMapping,
    check_ref_length,
    load_mapping,
    ref_in,
    to_record,
    with_ref,
)
from syncledger.adapters.qbo.matching import in_lists, match_many, match_one
from syncledger.adapters.qbo.sending import QboInvoiceSender
from syncledger.adapters.qbo.tax import TaxModelReader, TaxPlan, read_back_difference
from syncledger.adapters.ratelimit import Rate, RateLimiter
from syncledger.core import ports
from syncledger.core.errors import LedgerError, PermanentLedgerError, StaleVersionError
from syncledger.core.model import CreditNote, Customer, Invoice, Refund
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
)

PRODUCTION_URL = "https://quickbooks.api.intuit.com"
SANDBOX_URL = "https://sandbox-quickbooks.api.intuit.com"
TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"  # noqa: S105 (a URL)
QBO_RATES = (Rate(10, 1.0), Rate(500, 60.0))
QBO_HTTP = HttpSpec("qbo", translate_qbo, QBO_RATES)
QBO_BATCH_RATE = Rate(40, 60.0)  # batch requests per minute per realm + app
BATCH_LIMIT = 30
REQUESTID_LIMIT = 50
BATCH_REQUESTID_LIMIT = 36
CDC_LIMIT = 1000
_HEX = re.compile(r"^[0-9a-fA-F]+$")
log = logging.getLogger("syncledger.qbo")
Document = Invoice | CreditNote


def request_id(idempotency_key: str, limit: int = REQUESTID_LIMIT) -> str:
    """A ``requestid`` of at most ``limit`` characters, the same for the same key: the
    key's own leading hex digits when it is a digest (our keys are sha256 hex), else the
    leading hex digits of its sha256."""
    digest = idempotency_key if _HEX.match(idempotency_key) else _sha256(idempotency_key)
    return digest.lower()[:limit]


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One payload of a ``/batch`` call: an entity ``body`` for create / update / delete
    (``kind`` canonical), or a query statement for ``query``."""

    operation: Literal["create", "update", "delete", "query"]
    kind: str
    body: dict[str, Any] | str


@dataclass(frozen=True, slots=True)
class BatchResult:
    item: BatchItem
    records: tuple[LedgerRecord, ...] = ()
    error: LedgerError | None = None


class QboLedger(ReadsCustomerDetails[QboMapping]):
    """QuickBooks Online for one company (realm). Build with ``QboLedger.connect``."""

    ledger = "qbo"
    details = Details(customer_details, address_parts, address_as_written)
    capabilities = LedgerCapabilities(
        batch_size=BATCH_LIMIT,
        requests_per_minute=500,
        requests_per_second=10,
        idempotency="requestid + reference lookup",
        delta="CDC",
        kinds=KINDS,
        matches_tax_id=False,  # PrimaryTaxIdentifier is masked on read and not queryable
    )

    def __init__(
        self,
        http: LedgerHttp,
        *,
        realm_id: str,
        mapping: QboMapping | None = None,
        find_window: timedelta | None = timedelta(days=30),
        page_size: int = 1000,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        batch_limiter: RateLimiter | None = None,
    ) -> None:
        self.realm_id = realm_id
        self._batch_limiter = batch_limiter or RateLimiter(QBO_BATCH_RATE)
        self.mapping = mapping or load_mapping()
        self._http = http
        self._find_window = find_window
        self._page = page_size
        self._now = now
        self._items = QboItems(self.mapping, self._select_items, self._write_item)
        self._tax = TaxModelReader(self.mapping.tax, self._company_read, realm_id)
        #: customer ledger id → its DefaultTaxCodeRef (None: it has none)
        self._customer_tax_codes: dict[str, str | None] = {}
        self._prefetched: Prefetched[dict[str, Any]] = Prefetched()
        self._sender = QboInvoiceSender(http, self._url, self._params)

    @classmethod
    def connect(
        cls,
        *,
        realm_id: str,
        auth: Auth,
        base_url: str = PRODUCTION_URL,
        mapping: QboMapping | None = None,
        find_window: timedelta | None = timedelta(days=30),
        batch_limiter: RateLimiter | None = None,
        page_size: int = 1000,
        **options: Unpack[HttpOptions],
    ) -> QboLedger:
        """``limiter``: pass the tenant's shared one (``RateLimiters.for_tenant``); by
        default a private limiter at QBO's published rates."""
        http = QBO_HTTP.open(base_url=base_url, auth=auth, **options)
        return cls(
            http,
            realm_id=realm_id,
            mapping=mapping,
            find_window=find_window,
            page_size=page_size,
            batch_limiter=batch_limiter,
        )

    # ------------------------------------------------------------------ writes

    async def create_customer(self, req: ports.CustomerWrite) -> PushResult:
        body = self.mapping.customer_body(req.customer, req.external_ref)
        try:
            raw = await self._write("customer", body, req.idempotency_key)
        except PermanentLedgerError as exc:
            if exc.code != DUPLICATE_NAME_CODE:
                raise
            return await self._ours_by_name(req.customer.name, req.external_ref, exc)
        return _pushed(raw)

    async def send_invoice(
        self, invoice_ledger_id: str, *, to: str | None = None
    ) -> InvoiceDelivery:
        """E-mail the invoice through QBO's ``send`` (``qbo_sending``): to ``to``, else its
        ``BillEmail``, else its customer's ``PrimaryEmailAddr``; never retried once sent."""
        return await self._sender.send_invoice(invoice_ledger_id, to=to)

    async def delivery(self, invoice_ledger_id: str) -> InvoiceDelivery | None:
        """The invoice's ``EmailStatus`` / ``BillEmail`` / ``DeliveryInfo`` as QBO holds them."""
        return await self._sender.delivery(invoice_ledger_id)

    async def find_item(self, code: str) -> LedgerItem | None:
        """The item named ``code`` (QBO ``Name``), else the one whose ``Id`` is ``code``."""
        return await self._items.find(code)

    async def create_item(self, req: ports.ItemWrite) -> LedgerItem:
        """A ``Service`` item named ``code`` (see ``qbo_items``); the item of that name
        when there is one already."""
        return await self._items.create(req.code, req.idempotency_key)

    async def create_invoice(self, req: ports.InvoiceWrite) -> PushResult:
        items = await self._items.resolve([req.invoice])
        tax = await self._tax_plan(req.invoice, req.customer_ledger_id)
        body = self.mapping.invoice_body(
            req.invoice, req.customer_ledger_id, req.external_ref, tax, items
        )
        raw = await self._write("invoice", body, req.idempotency_key)
        _check_read_back(req.invoice, raw)
        return _pushed(raw)

    async def apply_payment(self, req: ports.PaymentWrite) -> PushResult:
        """A ``Payment`` of ``TotalAmt`` ``payment.amount`` applying ``applied`` (None: all)
        to the invoice; QBO keeps the rest as its ``UnappliedAmt``."""
        rate = await self._unapplied_rate(req.invoice_ledger_id) if req.applied == 0 else None
        body = self.mapping.payment_body(
            req.payment,
            req.customer_ledger_id,
            req.invoice_ledger_id,
            req.external_ref,
            req.applied,
            rate,
        )
        return _pushed(await self._write("payment", body, req.idempotency_key))

    async def create_refund(self, req: ports.RefundWrite) -> PushResult:
        """A cheque to the customer against A/R, then the payment line that pays it out of
        the credit: two journaled steps, ``check`` and ``link`` (see the module docstring).
        Returns the cheque."""
        credit = await self._refund_credit(
            req.refund, req.customer_ledger_id, req.credit_kind, req.credit_ledger_id
        )
        journal = req.journal()
        check = await journal.step(
            "check",
            self._check_writer(req.refund, credit, req.external_ref),
            self._found_step("refund", req.external_ref),
        )
        await journal.step(
            "link",
            self._link_writer(req.refund, credit, check.ledger_id, req.external_ref),
            self._link_finder(req.customer_ledger_id, check.ledger_id, req.refund.amount),
        )
        return PushResult(check.ledger_id, check.detail.get("version"))

    async def update_customer(self, req: ports.CustomerUpdate) -> PushResult:
        """Sparse update of the mapped fields with SyncToken ``version`` (the current one
        when None). A field the customer no longer has is left as QBO holds it."""
        body = self.mapping.customer_update_body(req.customer)
        return await self._update(
            "customer", req.ledger_id, req.version, body, req.external_ref, req.idempotency_key
        )

    async def update_invoice(self, req: ports.InvoiceUpdate) -> PushResult:
        """Sparse update replacing the lines, discount, tax and header fields with SyncToken
        ``version`` (the current one when None); QBO keeps what was paid on it applied, so
        the balance is the new total less that."""
        items = await self._items.resolve([req.invoice])
        tax = await self._tax_plan(req.invoice, req.customer_ledger_id)
        body = self.mapping.invoice_update_body(req.invoice, req.customer_ledger_id, tax, items)
        raw = await self._update_raw(
            "invoice", req.ledger_id, req.version, body, req.external_ref, req.idempotency_key
        )
        _check_read_back(req.invoice, raw)
        return _pushed(raw)

    async def create_credit_note(self, req: ports.CreditNoteWrite) -> PushResult:
        """A ``CreditMemo``; given an invoice (checked first: same customer and currency),
        its credit is applied there, at most the invoice's open balance (any rest stays as
        the customer's credit): then the memo and the zero ``Payment`` applying it are two
        journaled steps, ``credit_memo`` and ``apply``. Returns the credit memo."""
        items = await self._items.resolve([req.credit_note])
        tax = await self._tax_plan(req.credit_note, req.customer_ledger_id)
        body = self.mapping.credit_note_body(
            req.credit_note, req.customer_ledger_id, req.external_ref, tax, items
        )
        if req.invoice_ledger_id is None:  # one write: nothing to journal
            raw = await self._write("credit_note", body, req.idempotency_key)
            _check_read_back(req.credit_note, raw)
            return _pushed(raw)
        invoice = await self._credit_target(
            req.credit_note, req.customer_ledger_id, req.invoice_ledger_id
        )
        journal = req.journal()
        memo = await journal.step(
            "credit_memo",
            self._writer("credit_note", body, req.credit_note),
            self._found_step("credit_note", req.external_ref),
        )
        await journal.step(
            "apply",
            self._apply_writer(req.credit_note, memo.ledger_id, invoice, req.external_ref),
            self._apply_finder(invoice, memo.ledger_id),
        )
        applied = await self._current("credit_note", memo.ledger_id)
        return PushResult(applied.ledger_id, applied.version)

    async def void_invoice(self, req: ports.VoidWrite) -> PushResult:
        """Void with the given SyncToken (``version``), or the current one when None."""
        token = (
            req.version
            if req.version is not None
            else await self._sync_token("invoice", req.ledger_id)
        )
        body = {"Id": req.ledger_id, "SyncToken": token}
        raw = await self._write("invoice", body, req.idempotency_key, operation="void")
        return _pushed(raw)

    async def batch(self, items: Sequence[BatchItem], *, idempotency_key: str) -> list[BatchResult]:
        """Send ``items`` through ``/batch`` in chunks of 30; results in item order. Each
        chunk carries a ``requestid`` (≤ 36 characters) derived from the key and the chunk
        index, so a resent chunk is replayed rather than applied twice."""
        results: list[BatchResult] = []
        for index, chunk in enumerate(_chunks(items, BATCH_LIMIT)):
            rid = request_id(f"{idempotency_key}:{index}", BATCH_REQUESTID_LIMIT)
            results.extend(await self._batch_chunk(chunk, rid))
        return results

    async def create_many(
        self, requests: Sequence[CreateRequest], *, batch_key: str
    ) -> list[PushResult | LedgerError]:
        """Invoices and payments through ``/batch`` (30 per request, one ``requestid``
        per chunk derived from ``batch_key``; a payment applies ``applied`` of its amount);
        credit notes one by one, since creating and applying one are two dependent writes
        (journaled through the request's ``steps``).
        The items every document names are resolved first; a request QBO could not take
        as it is (a line naming no item, a total QBO would compute differently) is refused
        alone, before the batch. One result per request, in order."""
        results: dict[int, PushResult | LedgerError] = {}
        items = await self._items.resolve(
            r.invoice if isinstance(r, ports.InvoiceWrite) else r.credit_note
            for r in requests
            if not isinstance(r, ports.PaymentWrite)
        )
        batched: list[tuple[int, BatchItem]] = []
        for index, request in enumerate(requests):
            if isinstance(request, ports.CreditNoteWrite):
                continue
            try:
                body = await self._create_body(request, items)
            except PermanentLedgerError as exc:
                results[index] = exc
                continue
            kind = "invoice" if isinstance(request, ports.InvoiceWrite) else "payment"
            batched.append((index, BatchItem("create", kind, body)))
        answers = await self._batch_items([item for _, item in batched], batch_key)
        for (index, _), answer in zip(batched, answers, strict=True):
            results[index] = answer.error or self._created(requests[index], answer.records[0])
        for index, request in enumerate(requests):
            if index not in results:
                assert isinstance(request, ports.CreditNoteWrite)
                results[index] = await self._credit_note_result(request)
        return [results[i] for i in range(len(requests))]

    async def _batch_items(self, items: list[BatchItem], key: str) -> list[BatchResult]:
        return await self.batch(items, idempotency_key=key) if items else []

    async def _create_body(
        self, request: ports.InvoiceWrite | ports.PaymentWrite, items: Mapping[str, LedgerItem]
    ) -> dict[str, Any]:
        ref, customer = request.external_ref, request.customer_ledger_id
        if isinstance(request, ports.InvoiceWrite):
            tax = await self._tax_plan(request.invoice, customer)
            return self.mapping.invoice_body(request.invoice, customer, ref, tax, items)
        rate = await self._rate_for(request)
        return self.mapping.payment_body(
            request.payment, customer, request.invoice_ledger_id, ref, request.applied, rate
        )

    @staticmethod
    def _created(request: CreateRequest, record: LedgerRecord) -> PushResult:
        if isinstance(request, ports.InvoiceWrite):
            _check_read_back(request.invoice, record.raw)
        return _from_record(record)

    async def _rate_for(self, request: ports.PaymentWrite) -> Decimal | None:
        if request.applied != 0:
            return None
        return await self._unapplied_rate(request.invoice_ledger_id)

    async def _credit_note_result(self, request: ports.CreditNoteWrite) -> PushResult | LedgerError:
        try:
            return await self.create_credit_note(request)
        except (PermanentLedgerError, StaleVersionError) as exc:
            return exc

    # ------------------------------------------------------------------- reads

    async def find(self, kind: str, external_ref: str) -> LedgerRecord | None:
        """The record carrying ``external_ref`` in its reference field. QBO cannot filter
        on ``Notes`` / ``PrivateNote``, so this scans newest first (the record a crash
        left behind is among the newest), over ``find_window`` (None: all history). A
        refund cheque the credit does not pay in full yet is not reported: the refund is
        not done, and ``create_refund`` with the same reference completes it."""
        raw = await self._find_raw(kind, external_ref)
        if raw is None:
            return None
        [record] = await self._records(kind, [raw])
        paid = sum((amount for _, amount in record.applied_to), Decimal(0))
        if kind == "refund" and paid < (record.total or Decimal(0)):
            return None
        return record

    async def _find_raw(self, kind: str, external_ref: str) -> dict[str, Any] | None:
        ref_field = self.mapping.ref_field[kind]
        async for raw in self._pages(kind, self._find_where(kind), "MetaData.CreateTime DESC"):
            if ref_in(raw.get(ref_field)) == external_ref:
                return raw
        return None

    async def match_customer(self, customer: Customer) -> list[LedgerRecord]:
        """Customers with the same DisplayName or primary email (active or not). QBO
        cannot be searched by tax id: ``PrimaryTaxIdentifier`` is write-only."""
        found = await match_one(self._customer_rows, customer)
        return [self._record("customer", raw) for raw in found]

    async def match_customers(
        self, customers: Mapping[str, Customer]
    ) -> dict[str, list[LedgerRecord]]:
        """``match_customer`` for a batch's customers: one ``DisplayName IN`` query and
        one ``PrimaryEmailAddr IN`` query for all of them (``qbo_matching``)."""
        found = await match_many(self._customer_rows, customers)
        return {ref: [self._record("customer", raw) for raw in got] for ref, got in found.items()}

    async def _customer_rows(self, where: str) -> list[dict[str, Any]]:
        """Every customer, active or not, meeting ``where``: all pages."""
        return [raw async for raw in self._pages("customer", f"{where} AND {_ANY_ACTIVE}", "Id")]

    async def get(self, kind: str, ledger_id: str) -> LedgerRecord | None:
        url = self._url(f"{_entity(kind).lower()}/{quote(ledger_id, safe='')}")
        read = self._http.json("GET", url, params=self._params(), idempotent=True)
        answer = await unless_absent(read, NOT_FOUND_CODE)
        if answer is None:
            return None
        raw = answer[_entity(kind)]
        return (await self._records(kind, [raw]))[0] if self._listed(kind, raw) else None

    async def list_all(self, kind: str) -> AsyncIterator[LedgerRecord]:
        """Every record of ``kind``. The zero-amount payments that apply our credit notes
        are part of those credit notes (or refunds), not payments of their own, and are
        left out; so are purchases other than refunds. Credit notes and refunds read every
        payment once, for their ``applied_to``."""
        where = _ANY_ACTIVE if _entity(kind) == "Customer" else ""
        book = PaymentBook(self._customer_payments, self._all_payments)
        async for rows in self._page_rows(kind, where, "Id"):
            listed = [raw for raw in rows if self._listed(kind, raw) and not _applies(kind, raw)]
            for record in await self._records(kind, listed, book):
                yield record

    async def changes(self, since: datetime) -> AsyncIterator[LedgerRecord]:
        """Records changed at or after ``since`` through CDC (30-day look-back in QBO),
        following up per entity when an answer holds the 1,000-object maximum."""
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        pending = {kind: since for kind in self.capabilities.kinds}
        seen: set[tuple[str, str, str | None]] = set()
        book = PaymentBook(self._customer_payments)
        while pending:
            answer = await self._cdc(list(pending), min(pending.values()))
            pending = self._follow_ups(answer, pending)
            documents = answer.get("invoice", []) + answer.get("credit_note", [])
            await self._items.learn_ids(documents)
            for kind, rows in answer.items():
                for raw in rows:
                    if not self._listed(kind, raw) and raw.get("status") != "Deleted":
                        continue
                    record = await self._linked(self._record(kind, raw), book)
                    if (kind, record.ledger_id, record.version) not in seen:
                        seen.add((kind, record.ledger_id, record.version))
                        yield record

    async def aclose(self) -> None:
        await self._http.aclose()

    # ----------------------------------------------------------------- helpers

    def _url(self, resource: str) -> str:
        return f"/v3/company/{quote(self.realm_id, safe='')}/{resource}"

    def _params(self, **extra: str) -> dict[str, str | int]:
        return {"minorversion": self.mapping.minor_version, **extra}

    def _record(self, kind: str, raw: dict[str, Any]) -> LedgerRecord:
        return to_record(kind, raw, self.mapping.ref_field[kind], self._items.codes_by_id())

    async def _records(
        self, kind: str, raws: list[dict[str, Any]], book: PaymentBook | None = None
    ) -> list[LedgerRecord]:
        """``raws`` as records, the items their lines name by id only looked up first, and
        what credit notes and refunds are applied to read from ``book`` (by default, the
        payments of each one's customer)."""
        if kind in ("invoice", "credit_note"):
            await self._items.learn_ids(raws)
        records = [self._record(kind, raw) for raw in raws]
        if kind not in ("credit_note", "refund"):
            return records
        book = book or PaymentBook(self._customer_payments)
        return [await self._linked(record, book) for record in records]

    async def _linked(self, record: LedgerRecord, book: PaymentBook) -> LedgerRecord:
        """``record`` with what the payments say it is applied to (credit notes: invoices;
        refunds: the credit paying them). Other kinds are returned as they are."""
        if record.kind not in ("credit_note", "refund") or record.status == "deleted":
            return record
        payments = await book.of(record.customer_ledger_id)
        if record.kind == "credit_note":
            return replace(record, applied_to=credit_applied_to(record.ledger_id, payments))
        link_type = LINK_TYPE.get(str(record.raw.get("PaymentType")), "")
        applied = refund_applied_to(record.ledger_id, link_type, payments)
        return replace(record, applied_to=applied)

    def _listed(self, kind: str, raw: dict[str, Any]) -> bool:
        """Whether ``raw`` is a record of ``kind``: of the purchases, only refunds are."""
        return kind != "refund" or self.mapping.is_refund(raw)

    async def _write(
        self, kind: str, body: dict[str, Any], key: str, *, operation: str | None = None
    ) -> dict[str, Any]:
        params = self._params(requestid=request_id(key))
        if operation:
            params["operation"] = operation
        url = self._url(_resource(kind).lower())
        try:
            answer = await self._http.json("POST", url, params=params, body=body, idempotent=True)
        except PermanentLedgerError as exc:
            if exc.code == INVALID_REFERENCE_CODE:  # perhaps an item we knew is gone
                self._items.forget()
            raise
        raw: dict[str, Any] = answer[_resource(kind)]
        return raw

    async def _select_items(self, where: str) -> list[dict[str, Any]]:
        return await self._select("item", where, "Id")

    async def _write_item(self, body: dict[str, Any], key: str) -> dict[str, Any]:
        return await self._write("item", body, key)

    async def _sync_token(self, kind: str, ledger_id: str) -> str:
        return str((await self._current(kind, ledger_id)).version)

    async def prefetch(self, kind: str, ledger_ids: Sequence[str]) -> None:
        """Read the records a batch is about to update (``SELECT * FROM Customer WHERE Id
        IN ('1', '2')``, module docstring), the ids cut into lists as the batch matcher
        cuts its values (``qbo_matching.in_lists``: Intuit names no limit) and each query
        read to its last page; each record is served once to the update's read of the
        current record (``adapters.prefetch``)."""
        if ENTITY.get(kind) not in _PREFETCHED:
            return
        wanted = sorted({i for i in ledger_ids if i.isdigit()}, key=int)
        active = f" AND {_ANY_ACTIVE}" if kind == "customer" else ""
        for chunk in in_lists(wanted):
            listed = ", ".join(qbo_literal(i) for i in chunk)
            async for raw in self._pages(kind, f"Id IN ({listed}){active}", "Id"):
                if self._listed(kind, raw):
                    self._prefetched.keep(kind, str(raw["Id"]), raw)

    async def _current(self, kind: str, ledger_id: str) -> LedgerRecord:
        raw = self._prefetched.take(kind, ledger_id)
        record = (await self._records(kind, [raw]))[0] if raw is not None else None
        record = record or await self.get(kind, ledger_id)
        if record is None or record.version is None:
            raise PermanentLedgerError(
                f"QuickBooks Online has no {kind.replace('_', ' ')} {ledger_id}: it was "
                "deleted or never created; check the link",
                code=NOT_FOUND_CODE,
            )
        return record

    async def _update(
        self,
        kind: str,
        ledger_id: str,
        version: str | None,
        fields: dict[str, Any],
        external_ref: str,
        key: str,
    ) -> PushResult:
        """A sparse update of ``fields``. The record is read first so that our reference
        line is put back into the text a person may have added around it."""
        return _pushed(await self._update_raw(kind, ledger_id, version, fields, external_ref, key))

    async def _update_raw(
        self,
        kind: str,
        ledger_id: str,
        version: str | None,
        fields: dict[str, Any],
        external_ref: str,
        key: str,
    ) -> dict[str, Any]:
        """``_update``, answering with the record QBO holds after it."""
        current = await self._current(kind, ledger_id)
        ref_field = self.mapping.ref_field[kind]
        note = with_ref(current.raw.get(ref_field), external_ref)
        check_ref_length(ref_field, note, f"{kind.replace('_', ' ')} {ledger_id}")
        token = version if version is not None else current.version
        body = fields | {ref_field: note, "Id": ledger_id, "SyncToken": token, "sparse": True}
        return await self._write(kind, body, key)

    async def _credit_target(
        self, credit_note: CreditNote, customer_ledger_id: str, invoice_ledger_id: str
    ) -> LedgerRecord:
        invoice = await self._current("invoice", invoice_ledger_id)
        ours = (customer_ledger_id, credit_note.currency)
        theirs = (invoice.customer_ledger_id, invoice.currency)
        if theirs != ours:
            raise PermanentLedgerError(
                f"credit note {credit_note.number} (customer {ours[0]}, {ours[1]}) cannot be "
                f"applied to invoice {invoice_ledger_id} (customer {theirs[0]}, {theirs[1]}): "
                "QuickBooks applies credit only within one customer and currency; fix the "
                "credit note's invoice or customer in the source",
                code="syncledger.credit_target",
            )
        return invoice

    # ----------------------------------------------------- multi-write steps

    def _writer(self, kind: str, body: dict[str, Any], doc: Document | None = None) -> StepWrite:
        """A step creating ``body`` under the step's ``requestid`` (the answer compared with
        ``doc``, when given)."""

        async def write(key: str) -> StepResult:
            raw = await self._write(kind, body, key)
            if doc is not None:
                _check_read_back(doc, raw)
            return _step_result(raw)

        return write

    def _found_step(self, kind: str, external_ref: str) -> StepFind:
        """The step that created our ``kind`` carrying ``external_ref``, if it landed."""

        async def find() -> StepResult | None:
            raw = await self._find_raw(kind, external_ref)
            return None if raw is None else _step_result(raw)

        return find

    def _apply_writer(
        self, credit_note: CreditNote, memo_id: str, invoice: LedgerRecord, ref: str
    ) -> StepWrite:
        """The zero-amount ``Payment`` linking the invoice and the credit memo, for what is
        left of both. Reading the credit memo first keeps a repeated call from applying it
        twice even if QBO fails to replay a ``requestid``: every application spends all of
        the credit or all of the balance, so once one landed there is nothing left to
        apply. The ``requestid`` comes from the step key and the amount."""

        async def write(key: str) -> StepResult:
            memo = await self._current("credit_note", memo_id)
            amount = min(memo.balance or Decimal(0), invoice.balance or Decimal(0))
            if amount <= 0:  # applied by an earlier call with this key, or nothing owed
                return StepResult(memo_id)
            customer_id = str(invoice.customer_ledger_id)
            application = CreditApplication(customer_id, invoice.ledger_id, memo_id, amount)
            body = self.mapping.credit_application_body(credit_note, application, ref)
            return _step_result(await self._write("payment", body, f"{key}:{amount}"))

        return write

    def _apply_finder(self, invoice: LedgerRecord, memo_id: str) -> StepFind:
        """The customer's payment spending the credit memo on the invoice, if one landed."""

        async def find() -> StepResult | None:
            payments = await self._customer_payments(str(invoice.customer_ledger_id))
            found = next((p for p in payments if applies(p, memo_id, invoice.ledger_id)), None)
            return None if found is None else _step_result(found)

        return find

    def _check_writer(self, refund: Refund, credit: LedgerRecord, ref: str) -> StepWrite:
        """The refund cheque, once the credit is known to cover it (QBO would write a
        cheque above the credit left). A credit that no longer covers it may have been spent
        on this very cheque by an earlier call (a repeat without a journal): that cheque,
        found by our reference, is the answer."""

        async def write(key: str) -> StepResult:
            if refund.amount > (credit.balance or Decimal(0)):
                earlier = await self._find_raw("refund", ref)
                if earlier is not None:
                    return _step_result(earlier)
                _check_credit_left(refund, credit)
            rate = _decimal(credit.raw.get("ExchangeRate"))
            customer = str(credit.customer_ledger_id)
            body = self.mapping.refund_body(refund, customer, ref, rate)
            return _step_result(await self._write("refund", body, key))

        return write

    def _link_writer(
        self, refund: Refund, credit: LedgerRecord, check_id: str, ref: str
    ) -> StepWrite:
        """Link what of the cheque no payment pays yet to the credit: a zero payment for a
        credit memo, a line added to the overpaying payment. Its ``requestid`` comes from
        the step key and the amount; QBO refuses a link above the credit left or the
        cheque's open amount."""

        async def write(key: str) -> StepResult:
            customer = str(credit.customer_ledger_id)
            payments = await self._customer_payments(customer)
            left = refund.amount - check_paid(check_id, self._check_link_type(), payments)
            if left > 0:
                body = self._spend_body(refund, credit, check_id, left, ref)
                await self._write("payment", body, f"{key}:{left}")
            return StepResult(check_id)

        return write

    def _link_finder(self, customer_id: str, check_id: str, amount: Decimal) -> StepFind:
        """The cheque, once the customer's payments pay all of it."""

        async def find() -> StepResult | None:
            payments = await self._customer_payments(customer_id)
            paid = check_paid(check_id, self._check_link_type(), payments)
            return StepResult(check_id) if paid >= amount else None

        return find

    def _spend_body(
        self, refund: Refund, credit: LedgerRecord, check_id: str, amount: Decimal, ref: str
    ) -> dict[str, Any]:
        if credit.kind == "payment":
            return self.mapping.overpayment_refund_body(credit, amount, check_id)
        customer = str(credit.customer_ledger_id)
        spend = CreditRefund(customer, check_id, credit.ledger_id, amount)
        return self.mapping.credit_refund_body(refund, spend, ref)

    def _check_link_type(self) -> str:
        return LINK_TYPE[self.mapping.refund["payment_type"]]

    async def _unapplied_rate(self, invoice_ledger_id: str) -> Decimal | None:
        """The invoice's exchange rate, for a payment that applies nothing to it (QBO
        takes a linked invoice's; with no line there is none to take)."""
        invoice = await self._current("invoice", invoice_ledger_id)
        return _decimal(invoice.raw.get("ExchangeRate"))

    async def _refund_credit(
        self, refund: Refund, customer_ledger_id: str, kind: str, ledger_id: str
    ) -> LedgerRecord:
        """The credit a refund draws on, refused unsent when it is another customer's
        (``syncledger.credit_of_another_customer``, as the other adapters) or only
        in another currency (``syncledger.credit_in_another_currency``)."""
        credit = await self._current(kind, ledger_id)
        ours = (customer_ledger_id, refund.currency)
        theirs = (credit.customer_ledger_id, credit.currency)
        if theirs != ours:
            what = kind.replace("_", " ")
            raise PermanentLedgerError(
                f"refund {refund.id} (customer {ours[0]}, {ours[1]}) cannot be paid out of "
                f"{what} {ledger_id} (customer {theirs[0]}, {theirs[1]}): QuickBooks refunds "
                "a credit only to its customer, in its currency; fix the refund's "
                f"{what}, customer or currency in the source",
                code="syncledger.credit_of_another_customer"
                if theirs[0] != ours[0]
                else "syncledger.credit_in_another_currency",
            )
        return credit

    async def _tax_plan(self, doc: Document, customer_ledger_id: str) -> TaxPlan:
        """How ``doc``'s tax goes out: the company's model, and for a taxed document in a
        US company without ``txn_tax_code_ref`` in the mapping, the customer's
        ``DefaultTaxCodeRef`` as its ``TxnTaxCodeRef``."""
        plan = await self._tax.plan()
        if doc.tax_total == 0 or not plan.needs_customer_code:
            return plan
        return plan.for_customer(await self._customer_tax_code(customer_ledger_id))

    async def _customer_tax_code(self, customer_id: str) -> str | None:
        if customer_id not in self._customer_tax_codes:
            customer = await self.get("customer", customer_id)  # None: QBO refuses the write
            ref = customer.raw.get("DefaultTaxCodeRef") if customer else None
            code = ref.get("value") if isinstance(ref, dict) else None
            self._customer_tax_codes[customer_id] = None if code is None else str(code)
        return self._customer_tax_codes[customer_id]

    async def _company_read(self, resource: str) -> dict[str, Any]:
        """``GET`` a company resource (``preferences``, ``companyinfo/{realm}``)."""
        url = self._url(resource)
        answer: dict[str, Any] = await self._http.json(
            "GET", url, params=self._params(), idempotent=True
        )
        return answer

    async def _customer_payments(self, customer_id: str) -> list[dict[str, Any]]:
        """Every payment of the customer: what its credit notes and refunds are linked by."""
        where = f"CustomerRef = {qbo_literal(customer_id)}"
        return [raw async for raw in self._pages("payment", where, "Id")]

    async def _all_payments(self) -> list[dict[str, Any]]:
        return [raw async for raw in self._pages("payment", "", "Id")]

    async def _ours_by_name(
        self, name: str, external_ref: str, refused: PermanentLedgerError
    ) -> PushResult:
        where = f"DisplayName = {qbo_literal(name)} AND {_ANY_ACTIVE}"
        for raw in await self._select("customer", where, "Id"):
            if ref_in(raw.get(self.mapping.ref_field["customer"])) == external_ref:
                return _pushed(raw, recovered=True)
        raise refused

    async def _query(self, statement: str) -> dict[str, Any]:
        params = self._params(query=statement)
        answer = await self._http.json("GET", self._url("query"), params=params, idempotent=True)
        result: dict[str, Any] = answer.get("QueryResponse", {})
        return result

    async def _select(
        self, kind: str, where: str, order: str, start: int = 1, size: int | None = None
    ) -> list[dict[str, Any]]:
        # the QBO query language, not SQL; every value went through qbo_literal
        statement = f"SELECT * FROM {_resource(kind)}"  # noqa: S608
        statement += f" WHERE {where}" if where else ""
        statement += f" ORDERBY {order} STARTPOSITION {start} MAXRESULTS {size or self._page}"
        rows: list[dict[str, Any]] = (await self._query(statement)).get(_resource(kind), [])
        return rows

    async def _pages(self, kind: str, where: str, order: str) -> AsyncIterator[dict[str, Any]]:
        async for rows in self._page_rows(kind, where, order):
            for raw in rows:
                yield raw

    async def _page_rows(
        self, kind: str, where: str, order: str
    ) -> AsyncIterator[list[dict[str, Any]]]:
        start = 1
        while True:
            rows = await self._select(kind, where, order, start)
            yield rows
            if len(rows) < self._page:
                return
            start += len(rows)

    def _find_where(self, kind: str) -> str:
        clauses = [_ANY_ACTIVE] if kind == "customer" else []
        if self._find_window is not None:
            since = (self._now() - self._find_window).isoformat()
            clauses.append(f"MetaData.CreateTime >= {qbo_literal(since)}")
        return " AND ".join(clauses)

    async def _cdc(self, kinds: list[str], since: datetime) -> dict[str, list[dict[str, Any]]]:
        params = self._params(
            entities=",".join(_entity(k) for k in kinds), changedSince=since.isoformat()
        )
        answer = await self._http.json("GET", self._url("cdc"), params=params, idempotent=True)
        found: dict[str, list[dict[str, Any]]] = {}
        for block in answer.get("CDCResponse", []):
            for response in block.get("QueryResponse", []):
                for kind in kinds:
                    found.setdefault(kind, []).extend(response.get(_entity(kind), []))
        return found

    def _follow_ups(
        self, answer: dict[str, list[dict[str, Any]]], asked: dict[str, datetime]
    ) -> dict[str, datetime]:
        """Entities whose answer was cut at the CDC maximum, with the cursor to go on from."""
        again: dict[str, datetime] = {}
        for kind, rows in answer.items():
            if len(rows) >= CDC_LIMIT:
                last = self._record(kind, rows[-1]).updated_at
                if last is not None and last > asked[kind]:
                    again[kind] = last
        return again

    async def _batch_chunk(self, chunk: Sequence[BatchItem], rid: str) -> list[BatchResult]:
        body = {"BatchItemRequest": [_batch_request(f"b{i}", it) for i, it in enumerate(chunk)]}
        params = self._params(requestid=rid)
        async with self._batch_limiter.slot():  # QBO's batch limit, on top of the request one
            answer = await self._http.json(
                "POST", self._url("batch"), params=params, body=body, idempotent=True
            )
        by_bid = {str(r.get("bId")): r for r in answer.get("BatchItemResponse", [])}
        return [self._batch_result(it, by_bid.get(f"b{i}", {})) for i, it in enumerate(chunk)]

    def _batch_result(self, item: BatchItem, response: dict[str, Any]) -> BatchResult:
        fault = parse_fault(response.get("Fault")) if "Fault" in response else None
        if fault is not None:
            return BatchResult(item, error=fault_error(fault, status=400, where="QBO batch"))
        if item.operation == "query":
            rows = response.get("QueryResponse", {}).get(_entity(item.kind), [])
            return BatchResult(item, records=tuple(self._record(item.kind, r) for r in rows))
        raw = response.get(_entity(item.kind))
        if raw is None:
            return BatchResult(item, error=PermanentLedgerError("QBO batch: item not answered"))
        return BatchResult(item, records=(self._record(item.kind, raw),))


_ANY_ACTIVE = "Active IN (true, false)"
#: the entities ``prefetch`` reads in bulk (their updates read the record first)
_PREFETCHED = ("Customer", "Invoice")


def _applies(kind: str, raw: dict[str, Any]) -> bool:
    """A zero payment applying our credit note (or spending credit on a refund)."""
    return kind == "payment" and str(raw.get("PrivateNote", "")).startswith(APPLIES_MARKER)


def _resource(kind: str) -> str:
    """The entity of ``kind``, or ``Item``: what the adapter writes and queries (the
    items lines name are not records it syncs)."""
    return "Item" if kind == "item" else _entity(kind)


def _entity(kind: str) -> str:
    try:
        return ENTITY[kind]
    except KeyError:
        raise PermanentLedgerError(
            f"QuickBooks Online adapter does not handle {kind!r} records", code="unsupported"
        ) from None


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else to_decimal(value)


def _check_read_back(doc: Document, raw: Mapping[str, Any]) -> None:
    """Compare the document QBO answered with (what it holds: under automated sales tax,
    the tax it computed) with ours; a difference is logged at once (the reconciler
    records it as a mismatch from the record's ``tax`` and ``total``)."""
    difference = read_back_difference(doc, raw)
    if difference is not None:
        log.warning("QuickBooks holds another amount than the source: %s", difference)


def _check_credit_left(refund: Refund, credit: LedgerRecord) -> None:
    """QBO writes a cheque whatever the credit, so a refund above it is refused here."""
    left = credit.balance or Decimal(0)
    if refund.amount > left:
        what = credit.kind.replace("_", " ")
        raise PermanentLedgerError(
            f"refund {refund.id} of {refund.amount} {refund.currency} is more than the "
            f"{left} of credit left on {what} {credit.ledger_id} in QuickBooks Online: "
            "lower the refund or draw it on another credit",
            code="syncledger.refund_exceeds_credit",
        )


def _from_record(record: LedgerRecord) -> PushResult:
    return PushResult(ledger_id=record.ledger_id, version=record.version)


def _step_result(raw: dict[str, Any]) -> StepResult:
    """A step's result: what it wrote, and its ``SyncToken`` (the version to answer with)."""
    return StepResult(str(raw["Id"]), {"version": str(raw["SyncToken"])})


def _pushed(raw: dict[str, Any], *, recovered: bool = False) -> PushResult:
    return PushResult(ledger_id=str(raw["Id"]), version=str(raw["SyncToken"]), recovered=recovered)


def _batch_request(bid: str, item: BatchItem) -> dict[str, Any]:
    if item.operation == "query":
        return {"bId": bid, "Query": item.body}
    return {"bId": bid, "operation": item.operation, _entity(item.kind): item.body}


def _chunks(items: Sequence[BatchItem], size: int) -> Iterator[Sequence[BatchItem]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
