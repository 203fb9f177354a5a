"""NetSuite REST record service (SuiteTalk REST) ledger adapter: ``NetSuiteLedger``.

Idempotency. ``X-NetSuite-Idempotency-Key`` only applies to asynchronous requests
(``Prefer: respond-async``): NetSuite ignores it on synchronous calls (REST API browser,
record v1). So every create is an upsert by external id, the way Oracle recommends to
prevent duplicates: ``PUT /record/v1/{record}/eid:{externalId}`` creates the record or
updates the one carrying that externalId, with ``replace=<sublists>`` so a resend replaces
lines instead of appending them. The externalId is a digest of our source reference
(``netsuite_mapping.external_id``), which also makes ``find`` one direct read.

Versions. NetSuite's REST record service has no ETag / If-Match. The version handed out is
``lastModifiedDate`` refined by a content digest (``netsuite_records.version_of``); an
update or void reads the record, refuses with ``StaleVersionError`` when the version moved,
then writes. Another writer can still slip in between that read and the write.

Requests per record. A create is one ``PUT …/eid:`` answered 204 with no body, the
record's URL in ``Location`` (Oracle help "Creating a Record Instance",
section_1545141395.html; "Updating a Record Instance", section_1545142173.html): the id
comes without a read, and a follow-up ``GET …/eid:`` only when ``Location`` is missing.
The record is then read once, for the version handed out (``get`` must give the same one
later: back-sync compares them) and for the SuiteTax check below. An update reads the
record before writing (the stale check: no ETag / If-Match) and after (its version). No
documented mechanism removes those reads: synchronous REST creates no records in bulk
(section_1545141395), a record collection answers ids and links only ("Listing All Record
Instances", section_1540810951.html), and a SuiteQL row is not the REST record the
version digests: its ``lastmodifieddate`` alone (no precision finer than the second is
documented) cannot tell apart an edit made in the same second as our version (the
contract's prefetch test makes one; this adapter is no ``Prefetcher``).
Batch operations ("Batch Operations", article_0127092747.html: up to 100 records a
request, asynchronous only, ``Prefer: respond-async``, each record's outcome a task of
``/async/v1/job/{id}`` to poll) would fold a batch's writes into one request plus polling
but leave the read of each record; not used. So a new document costs 2 requests and an
update 3; the bench's steady mix (20 customer updates, 30 new invoices) needs
(30 × 2 + 20 × 3) / 50 = 2.40 per record, and at least (30 × 2 + 20 × 2) / 50 = 2.0
even with a free stale check. ``match_customer`` names the company name and the e-mail
in one collection query (``OR``: "Record Collection Filtering", section_1545222128.html).

Void. REST web services offer no void: the REST API browser lists no void action or
transform for invoices, and Oracle's help says voiding (of checks) "is not supported in REST
web services"; only SuiteScript's ``transaction.void`` and the UI void. ``void_invoice``
books the closest faithful equivalent: a credit memo mirroring the invoice's lines, applied
to it in full, and a ``syncledger-void:`` line in the invoice memo that marks it void for
us (NetSuite itself shows the invoice as Paid In Full, not Voided). Those are two writes,
each a step of the record's ``WriteSteps`` journal (``void_credit_memo``, ``void_mark``), so
a void cut off between them is finished, never left as a credit memo without its mark.
Reads give that credit memo the status ``void``: it is the invoice's void, not a credit
note of ours (the reconciler would otherwise see an orphan credit note).

Single writes. A credit memo applied to an invoice, a payment applied to one and a refund
drawing on a credit each carry the application in their own ``apply`` sublist: one
request, no step journal. ``get`` reads those sublists back as ``applied_to``
(``netsuite_records``).

Overpayments. One ``customerPayment`` for the full amount received (``payment``), with one
``apply`` line of ``applied`` on the invoice (none when ``applied`` is 0): NetSuite keeps
the rest on the payment as ``unapplied``, credit on the customer's account until applied
or refunded; no credit memo is booked for it. ``get("payment")`` reads ``payment`` as the
total and ``unapplied`` as the balance.

Refunds. A ``customerRefund`` (``PUT …/customerRefund/eid:…``, ``replace=apply``) with
``customer``, ``tranDate``, ``currency`` and one ``apply`` line whose ``doc`` is the credit
memo or the customer payment the money comes out of (both are on the refund's apply
sublist, the Credits subtab of the UI; customer deposits would go on ``deposit``). NetSuite
derives the refund's ``total`` from the line and lowers the credit's ``unapplied``, which
is what ``get`` returns as a credit note's or payment's ``balance``. Before writing, the
adapter reads the credit and refuses (``syncledger.refund_exceeds_credit``) a refund above
its ``unapplied`` amount; NetSuite would refuse it too. A refund already carrying our
externalId is returned as recovered without a second write. The bank ``account`` and the
``paymentMethod`` come from the mapping's ``[refund]`` section (``netsuite_mapping``).

Tax (SuiteTax only: REST web services support no legacy tax; ``netsuite_mapping`` has the
body and its sources). After every invoice or credit memo write the adapter compares what
NetSuite holds with the body it sent: ``total``, ``taxTotal`` and the number of item
lines. A difference (a tax field NetSuite dropped, a tax engine that recomputed, a line
lost) is refused as ``syncledger.ledger_total_differs`` naming both sides: the document is
in NetSuite, but the push is not reported done, so the difference surfaces instead of a
quietly different total. ``get`` reports ``taxTotal`` as ``LedgerRecord.tax``.

Tax ids. Written to the customer's SuiteTax ``taxRegistration`` sublist when the mapping
names a registration country. Not matched on (``capabilities.matches_tax_id`` is False):
no Oracle source documents a SuiteQL table of customer tax registrations, and the legacy
``vatregnumber`` column belongs to legacy tax, which REST does not support.

Limits. Concurrency is governed per account (service tier + 10 per SuiteCloud Plus
licence, shared by every integration): a client-side semaphore holds our share. NetSuite
also counts requests over 60-second and 24-hour windows without publishing the numbers;
the per-minute limiter below is our own, conservative, setting.

Items. A line with an ``item_code`` is booked to the item of that Item Name/Number (or
internal id), found with SuiteQL and cached (``netsuite_items``); the others to the
mapping's default item. A code naming no item is refused (``unknown_item``) before
anything is written. ``create_item`` makes a service sale item, upserted by externalId
like every other create. Reads give each line's item code (``LedgerRecord.line_items``).

Delta. SuiteQL (``POST /query/v1/suiteql``, ``Prefer: transient``) on ``lastmodifieddate``
with a ``TO_TIMESTAMP`` literal in the integration user's time zone (second resolution),
then a read of each record. The record filter ``q=lastModifiedDate ON_OR_AFTER "…"`` takes
the user's date format and works to the minute only.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from typing_extensions import Unpack

from syncledger.adapters.http import LedgerHttp
from syncledger.adapters.jsonwire import encode_json
from syncledger.adapters.kit.connect import HttpOptions, HttpSpec
from syncledger.adapters.kit.details import Details, ReadsCustomerDetails
from syncledger.adapters.kit.paging import Page, next_offset, walk
from syncledger.adapters.kit.reads import unless_absent
from syncledger.adapters.netsuite.currencies import Currencies
from syncledger.adapters.netsuite.customer_details import (
    address_as_written,
    address_parts,
    customer_details,
)
from syncledger.adapters.netsuite.errors import NOT_FOUND, translate_netsuite
from syncledger.adapters.netsuite.items import Items, location_id, suiteql_literal
from syncledger.adapters.netsuite.mapping import (
    NetSuiteMapping,
    external_id,
    ledger_tax,
    ledger_total,
    load_mapping,
    record_of,
    ref_note,
    void_in,
    void_note,
    void_ref,
)
from syncledger.adapters.netsuite.records import line_item_ids, to_record, version_of
from syncledger.adapters.oauth2 import Auth
from syncledger.adapters.ratelimit import Rate
from syncledger.core import ports
from syncledger.core.errors import PermanentLedgerError, StaleVersionError
from syncledger.core.model import CreditNote, Customer, Invoice, Payment, Refund
from syncledger.core.ports import (
    LedgerCapabilities,
    LedgerItem,
    LedgerRecord,
    PushResult,
    StepFind,
    StepResult,
    StepWrite,
)

RECORD_API = "/services/rest/record/v1"
SUITEQL_API = "/services/rest/query/v1/suiteql"
PAGE_LIMIT = 1000  # the maximum ``limit`` of record collections and SuiteQL pages
DEFAULT_CONCURRENCY = 5  # the smallest account limit (shared tier); raise it to your share
DEFAULT_PER_MINUTE = 300  # our own setting: NetSuite does not publish its frequency limits
NETSUITE_HTTP = HttpSpec("netsuite", translate_netsuite, (Rate(DEFAULT_PER_MINUTE, 60.0),))
SUITEQL_TYPES = {
    "CustInvc": "invoice",
    "CustPymt": "payment",
    "CustCred": "credit_note",
    "CustRfnd": "refund",
}
_TIMESTAMP = "YYYY-MM-DD HH24:MI:SS"
EARLIER = "earlier"  # a void step's detail: what an earlier try had already left


def filter_literal(value: str) -> str | None:
    """A ``q`` filter string value, or None when it holds a double quote (no escape exists)."""
    return None if '"' in value else f'"{value}"'


class NetSuiteLedger(ReadsCustomerDetails[NetSuiteMapping]):
    """One NetSuite account through REST web services. Build with ``NetSuiteLedger.connect``."""

    ledger = "netsuite"
    details = Details(customer_details, address_parts, address_as_written)
    capabilities = LedgerCapabilities(
        batch_size=1,
        requests_per_minute=DEFAULT_PER_MINUTE,
        idempotency="externalId upsert (PUT eid:) + reference lookup",
        delta="SuiteQL lastmodifieddate",
        kinds=("customer", "invoice", "payment", "credit_note", "refund"),
        matches_tax_id=False,  # SuiteTax registrations: no documented SuiteQL search
    )

    def __init__(
        self, http: LedgerHttp, *, mapping: NetSuiteMapping | None = None, page_size: int = 1000
    ) -> None:
        self.mapping = mapping or load_mapping()
        self._http = http
        self._page = min(page_size, PAGE_LIMIT)
        self._currencies = Currencies(http)
        self._items = Items(http, self._suiteql, self.mapping)

    @classmethod
    def connect(
        cls,
        *,
        auth: Auth,
        base_url: str,
        concurrency: asyncio.Semaphore | None = None,
        mapping: NetSuiteMapping | None = None,
        page_size: int = 1000,
        **options: Unpack[HttpOptions],
    ) -> NetSuiteLedger:
        """``limiter`` / ``concurrency``: pass the account's shared ones; by default a
        private limiter and semaphore at the conservative defaults above."""
        http = NETSUITE_HTTP.open(
            base_url=base_url,
            auth=auth,
            concurrency=concurrency or asyncio.Semaphore(DEFAULT_CONCURRENCY),
            **options,
        )
        return cls(http, mapping=mapping, page_size=page_size)

    # ------------------------------------------------------------------ writes

    async def create_customer(self, req: ports.CustomerWrite) -> PushResult:
        currency = await self._currencies.id_of(req.customer.currency)
        body = self.mapping.customer_body(req.customer, req.external_ref, currency)
        sublists = self.mapping.customer_sublists(req.customer)
        return await self._upsert("customer", external_id(req.external_ref), body, sublists)

    async def find_item(self, code: str) -> LedgerItem | None:
        return await self._items.find(code)

    async def create_item(self, req: ports.ItemWrite) -> LedgerItem:
        """A service sale item ``code``: see ``netsuite_items`` (the externalId upsert is
        the idempotency; ``idempotency_key`` is not needed)."""
        return await self._items.create(req.code)

    async def create_invoice(self, req: ports.InvoiceWrite) -> PushResult:
        body = await self._invoice_body(req.invoice, req.customer_ledger_id, req.external_ref)
        with self._items.refusal_named(req.invoice):
            return await self._upsert_document(req.invoice, external_id(req.external_ref), body)

    async def apply_payment(self, req: ports.PaymentWrite) -> PushResult:
        """One customer payment of the full amount received, ``applied`` of it on the
        invoice's ``apply`` line (none when 0): NetSuite keeps the rest as the payment's
        ``unapplied`` credit. The payment is in the invoice's rate: the payment model
        carries none, and NetSuite fills the rate of a foreign-currency payment from its own
        currency table; one that applies nothing is sent the invoice's rate outright."""
        part = _applied_part(req.payment, req.applied)
        currency = await self._currencies.id_of(req.payment.currency)
        body = self.mapping.payment_body(
            req.payment,
            req.customer_ledger_id,
            req.invoice_ledger_id,
            req.external_ref,
            currency,
            part,
        )
        if part == 0 and not await self._currencies.is_base(req.payment.currency):
            invoice = await self._current("invoice", req.invoice_ledger_id, None)
            body["exchangeRate"] = invoice.get("exchangeRate")
        return await self._upsert("payment", external_id(req.external_ref), body, ("apply",))

    async def create_refund(self, req: ports.RefundWrite) -> PushResult:
        """A customer refund whose ``apply`` line draws on the credit memo or the customer
        payment. A refund already carrying our externalId is the earlier write (recovered);
        else the credit's ``unapplied`` amount is checked first, so the refusal names it."""
        eid = external_id(req.external_ref)
        earlier = await self._read_path(f"{_path('refund')}/eid:{eid}")
        if earlier is not None:
            return PushResult(str(earlier["id"]), version_of(earlier), recovered=True)
        await self._check_credit_left(req.refund, req.credit_kind, req.credit_ledger_id)
        currency = await self._currencies.id_of(req.refund.currency)
        body = self.mapping.refund_body(
            req.refund, req.customer_ledger_id, req.credit_ledger_id, req.external_ref, currency
        )
        return await self._upsert("refund", eid, body, ("apply",))

    async def create_credit_note(self, req: ports.CreditNoteWrite) -> PushResult:
        """Applied to the invoice up to its amount remaining; any rest stays unapplied."""
        await self._require_rate(req.credit_note)
        currency = await self._currencies.id_of(req.credit_note.currency)
        item_ids = await self._items.line_item_ids(req.credit_note)
        applications = await self._applications(req.credit_note.total, req.invoice_ledger_id)
        body = self.mapping.credit_note_body(
            req.credit_note,
            req.customer_ledger_id,
            req.external_ref,
            currency,
            applications,
            item_ids,
        )
        with self._items.refusal_named(req.credit_note):
            return await self._upsert_document(req.credit_note, external_id(req.external_ref), body)

    async def update_customer(self, req: ports.CustomerUpdate) -> PushResult:
        await self._current("customer", req.ledger_id, req.version)
        currency = await self._currencies.id_of(req.customer.currency)
        body = self.mapping.customer_body(req.customer, req.external_ref, currency)
        await self._patch(
            "customer", req.ledger_id, body, self.mapping.customer_sublists(req.customer)
        )
        return await self._pushed("customer", req.ledger_id)

    async def update_invoice(self, req: ports.InvoiceUpdate) -> PushResult:
        await self._current("invoice", req.ledger_id, req.version)
        body = await self._invoice_body(req.invoice, req.customer_ledger_id, req.external_ref)
        with self._items.refusal_named(req.invoice):
            await self._patch(
                "invoice", req.ledger_id, body, self.mapping.document_sublists("invoice")
            )
        return _verified(
            req.invoice, req.ledger_id, body, await self._current("invoice", req.ledger_id, None)
        )

    async def void_invoice(self, req: ports.VoidWrite) -> PushResult:
        """A mirroring credit memo applied in full (step ``void_credit_memo``), then the
        void mark in the invoice memo (step ``void_mark``): two writes, each a step of
        ``steps``. NetSuite has no idempotency key on synchronous requests, so each write
        looks first: the credit memo is an externalId upsert written only when no memo
        with that externalId exists, the mark only when the memo lacks it. A void
        interrupted between them finishes on retry; ``recovered`` says the credit memo was
        there already."""
        journal = req.journal()
        credit_eid = external_id(void_ref(req.ledger_id))
        memo = await journal.step(
            "void_credit_memo",
            self._void_memo_write(req.ledger_id, credit_eid, req.version),
            self._found_external("credit_note", credit_eid),
        )
        await journal.step(
            "void_mark",
            self._void_mark_write(req.ledger_id, credit_eid),
            self._void_marked(req.ledger_id),
        )
        return await self._pushed("invoice", req.ledger_id, recovered=EARLIER in memo.detail)

    # ------------------------------------------------------------------- reads

    async def find(self, kind: str, external_ref: str) -> LedgerRecord | None:
        raw = await self._read_path(f"{_path(kind)}/eid:{external_id(external_ref)}")
        return None if raw is None else await self._record(kind, raw)

    async def get(self, kind: str, ledger_id: str) -> LedgerRecord | None:
        raw = await self._read(kind, ledger_id)
        return None if raw is None else await self._record(kind, raw)

    async def match_customer(self, customer: Customer) -> list[LedgerRecord]:
        """Customers whose company name or email equals this one's, ignoring case (tax
        ids are not searched: see the module docstring): one collection query naming
        both (``OR``), then each candidate read and compared."""
        wanted = {"companyName": customer.name, "email": customer.email}
        fields = {field: value for field, value in wanted.items() if value}
        found: list[LedgerRecord] = []
        for ledger_id in await self._matching_ids(fields):
            record = await self.get("customer", ledger_id)
            if record is not None and any(_equal(record.raw.get(f), v) for f, v in fields.items()):
                found.append(record)
        return found

    async def list_all(self, kind: str) -> AsyncIterator[LedgerRecord]:
        async for ledger_id in self._collection_ids(kind, {}):
            record = await self.get(kind, ledger_id)
            if record is not None:
                yield record

    async def changes(self, since: datetime) -> AsyncIterator[LedgerRecord]:
        """Records whose ``lastmodifieddate`` is at or after ``since`` (to the second:
        a record changed earlier in that same second may come too)."""
        stamp = self._timestamp(since)
        seen: set[tuple[str, str]] = set()
        for statement in self._change_queries(stamp):
            async for row in self._suiteql(statement):
                kind = SUITEQL_TYPES[str(row["type"])] if "type" in row else "customer"
                if (kind, str(row["id"])) in seen:
                    continue
                seen.add((kind, str(row["id"])))
                record = await self.get(kind, str(row["id"]))
                if record is not None:
                    yield record

    async def aclose(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------ write helpers

    async def _invoice_body(
        self, invoice: Invoice, customer_id: str, external_ref: str
    ) -> dict[str, Any]:
        await self._require_rate(invoice)
        currency = await self._currencies.id_of(invoice.currency)
        item_ids = await self._items.line_item_ids(invoice)
        return self.mapping.invoice_body(invoice, customer_id, external_ref, currency, item_ids)

    async def _require_rate(self, document: Invoice | CreditNote) -> None:
        """Refuse a foreign-currency document without a rate rather than let one be guessed."""
        if document.exchange_rate is not None:
            return
        if not await self._currencies.is_base(document.currency):
            raise PermanentLedgerError(
                f"{document.kind} {document.number} is in {document.currency}, not the base "
                "currency, and carries no exchange rate: add the rate in the source",
                code="syncledger.exchange_rate_missing",
            )

    async def _check_credit_left(self, refund: Refund, credit_kind: str, credit_id: str) -> None:
        credit = await self._current(credit_kind, credit_id, None)
        left = Decimal(credit.get("unapplied", 0))
        if refund.amount > left:
            raise PermanentLedgerError(
                f"refund {refund.id} of {refund.amount} exceeds the {left} left on NetSuite "
                f"{record_of(credit_kind)} {credit_id} (neither applied nor refunded yet): "
                "check the refund amount in the source",
                code="syncledger.refund_exceeds_credit",
            )

    async def _applications(self, total: Decimal, invoice_id: str | None) -> dict[str, Decimal]:
        if invoice_id is None:
            return {}
        invoice = await self._current("invoice", invoice_id, None)
        remaining = Decimal(invoice.get("amountRemaining", 0))
        return {invoice_id: min(total, remaining)} if remaining > 0 else {}

    async def _upsert(
        self, kind: str, eid: str, body: dict[str, Any], replace: Iterable[str]
    ) -> PushResult:
        return await self._pushed(kind, await self._put(kind, eid, body, replace))

    async def _upsert_document(
        self, document: Invoice | CreditNote, eid: str, body: dict[str, Any]
    ) -> PushResult:
        """The document upserted, then read back and compared with ``body``."""
        kind = document.kind
        ledger_id = await self._put(kind, eid, body, self.mapping.document_sublists(kind))
        return _verified(document, ledger_id, body, await self._current(kind, ledger_id, None))

    async def _put(self, kind: str, eid: str, body: dict[str, Any], replace: Iterable[str]) -> str:
        """``PUT …/eid:<eid>``: the upserted record's internal id."""
        response = await self._http.request(
            "PUT",
            f"{_path(kind)}/eid:{eid}",
            params=_replace(replace),
            content=encode_json(body),
            idempotent=True,
        )
        location = response.headers.get("Location", "")
        return location_id(location) or await self._id_of_external(kind, eid)

    async def _patch(
        self, kind: str, ledger_id: str, body: Mapping[str, Any], replace: Iterable[str]
    ) -> None:
        url = f"{_path(kind)}/{quote(ledger_id, safe='')}"
        params = _replace(replace)
        await self._http.request(
            "PATCH", url, params=params, content=encode_json(body), idempotent=True
        )

    async def _pushed(self, kind: str, ledger_id: str, *, recovered: bool = False) -> PushResult:
        raw = await self._current(kind, ledger_id, None)
        return PushResult(ledger_id=ledger_id, version=version_of(raw), recovered=recovered)

    async def _id_of_external(self, kind: str, eid: str) -> str:
        raw = await self._read_path(f"{_path(kind)}/eid:{eid}")
        if raw is None:
            raise PermanentLedgerError(
                f"NetSuite accepted the {kind} upsert but has no record with externalId "
                f"{eid}: check the integration role's permissions",
                code=NOT_FOUND,
            )
        return str(raw["id"])

    async def _current(self, kind: str, ledger_id: str, version: str | None) -> dict[str, Any]:
        raw = await self._read(kind, ledger_id)
        if raw is None:
            raise PermanentLedgerError(
                f"NetSuite has no {kind} {ledger_id}: it was deleted or never created; "
                "check the link",
                code=NOT_FOUND,
            )
        _check_version(kind, ledger_id, raw, version)
        return raw

    # ------------------------------------------------------------------- void

    def _void_memo_write(self, invoice_id: str, credit_eid: str, version: str | None) -> StepWrite:
        async def write(key: str) -> StepResult:
            invoice = await self._current("invoice", invoice_id, None)
            earlier = await self._read_path(f"{_path('credit_note')}/eid:{credit_eid}")
            if earlier is not None:
                return StepResult(str(earlier["id"]), {EARLIER: "credit memo"})
            if void_in(invoice.get("memo")):  # marked by an earlier void whose memo is gone
                return StepResult(invoice_id, {EARLIER: "void mark"})
            _check_version("invoice", invoice_id, invoice, version)
            _check_unpaid(invoice_id, invoice)
            body = _void_credit_memo(invoice, invoice_id)
            replace = self.mapping.document_sublists("credit_note")
            pushed = await self._upsert("credit_note", credit_eid, body, replace)
            return StepResult(pushed.ledger_id)

        return write

    def _void_mark_write(self, invoice_id: str, credit_eid: str) -> StepWrite:
        async def write(key: str) -> StepResult:
            invoice = await self._current("invoice", invoice_id, None)
            if not void_in(invoice.get("memo")):
                memo = "\n".join(filter(None, [invoice.get("memo"), void_note(credit_eid)]))
                await self._patch("invoice", invoice_id, {"memo": memo}, ())
            return StepResult(invoice_id)

        return write

    def _void_marked(self, invoice_id: str) -> StepFind:
        async def find() -> StepResult | None:
            invoice = await self._current("invoice", invoice_id, None)
            return StepResult(invoice_id) if void_in(invoice.get("memo")) else None

        return find

    def _found_external(self, kind: str, eid: str) -> StepFind:
        async def find() -> StepResult | None:
            raw = await self._read_path(f"{_path(kind)}/eid:{eid}")
            return None if raw is None else StepResult(str(raw["id"]))

        return find

    # ------------------------------------------------------------- read helpers

    async def _read(self, kind: str, ledger_id: str) -> dict[str, Any] | None:
        return await self._read_path(f"{_path(kind)}/{quote(ledger_id, safe='')}")

    async def _read_path(self, url: str) -> dict[str, Any] | None:
        params = {"expandSubResources": "true"}
        read = self._http.json("GET", url, params=params, idempotent=True)
        raw: dict[str, Any] | None = await unless_absent(read, NOT_FOUND)
        return raw

    async def _record(self, kind: str, raw: Mapping[str, Any]) -> LedgerRecord:
        currency_id = raw.get("currency", {}).get("id")
        currency = await self._currencies.code_of(None if currency_id is None else str(currency_id))
        lines = await self._line_items(raw) if kind in ("invoice", "credit_note") else ()
        return to_record(kind, raw, self.mapping.ref_field[kind], currency, lines)

    async def _line_items(self, raw: Mapping[str, Any]) -> tuple[str | None, ...]:
        """The item code of each line, from the line's item id (``line_item_ids``)."""
        ids = line_item_ids(raw)
        codes = await self._items.codes_of(i for i in ids if i is not None)
        return tuple(None if i is None else codes.get(i) for i in ids)

    async def _matching_ids(self, fields: Mapping[str, str]) -> list[str]:
        """Ids of the customers any of whose ``fields`` holds its value (a value with a
        double quote, which a filter cannot escape, by its longest part: ``CONTAIN``)."""
        if not fields:
            return []
        condition = " OR ".join(_filter_condition(f, v) for f, v in fields.items())
        return [i async for i in self._collection_ids("customer", {"q": condition})]

    async def _collection_ids(self, kind: str, params: Mapping[str, str]) -> AsyncIterator[str]:
        async def read(offset: int) -> Page[str, int]:
            query: dict[str, str | int] = {**params, "limit": self._page, "offset": offset}
            page = await self._http.json("GET", _path(kind), params=query, idempotent=True)
            ids = [str(item["id"]) for item in page.get("items") or []]
            return Page(ids, next_offset(offset, ids, bool(page.get("hasMore"))))

        async for ledger_id in walk(read, 0):
            yield ledger_id

    async def _suiteql(self, statement: str) -> AsyncIterator[Mapping[str, Any]]:
        async def read(offset: int) -> Page[Mapping[str, Any], int]:
            page = await self._http.json(
                "POST",
                SUITEQL_API,
                params={"limit": self._page, "offset": offset},
                body={"q": statement},
                headers={"Prefer": "transient"},
                idempotent=True,
            )
            items = page.get("items") or []
            return Page(items, next_offset(offset, items, bool(page.get("hasMore"))))

        async for item in walk(read, 0):
            yield item

    def _timestamp(self, since: datetime) -> str:
        aware = since if since.tzinfo else since.replace(tzinfo=UTC)
        return aware.astimezone(ZoneInfo(self.mapping.timezone)).strftime("%Y-%m-%d %H:%M:%S")

    def _change_queries(self, stamp: str) -> list[str]:
        changed = f"lastmodifieddate >= TO_TIMESTAMP({suiteql_literal(stamp)}, '{_TIMESTAMP}')"
        types = ", ".join(suiteql_literal(t) for t in SUITEQL_TYPES)
        # SuiteQL text built from constants and escaped literals only
        return [
            f"SELECT id FROM customer WHERE {changed} ORDER BY id",  # noqa: S608
            f"SELECT id, type FROM transaction WHERE type IN ({types}) AND {changed} "  # noqa: S608
            "ORDER BY id",
        ]


# --------------------------------------------------------------------- helpers


def _filter_condition(field: str, value: str) -> str:
    literal = filter_literal(value)
    if literal is not None:
        return f"{field} IS {literal}"
    return f'{field} CONTAIN "{max(value.split(chr(34)), key=len)}"'


def _path(kind: str) -> str:
    return f"{RECORD_API}/{record_of(kind)}"


def _replace(sublists: Iterable[str]) -> dict[str, str | int]:
    names = ",".join(sublists)
    return {"replace": names} if names else {}


def _check_version(kind: str, ledger_id: str, raw: Mapping[str, Any], version: str | None) -> None:
    if version is not None and version_of(raw) != version:
        raise StaleVersionError(
            f"NetSuite {kind} {ledger_id} changed since version {version} was read "
            f"(now {version_of(raw)}): read it again and retry"
        )


def _check_unpaid(ledger_id: str, invoice: Mapping[str, Any]) -> None:
    if Decimal(invoice.get("amountRemaining", 0)) != Decimal(invoice.get("total", 0)):
        raise PermanentLedgerError(
            f"NetSuite invoice {ledger_id} has payments or credits applied: unapply them in "
            "NetSuite before voiding it (REST web services cannot void a transaction)",
            code="syncledger.void_applied_invoice",
        )


_LINE_FIELDS = ("item", "description", "quantity", "rate", "amount", "taxDetailsReference")
_TAX_FIELDS = ("taxDetailsReference", "taxType", "taxCode", "taxBasis", "taxRate", "taxAmount")
_MIRRORED = (
    "entity",
    "currency",
    "exchangeRate",
    "tranDate",
    "discountItem",
    "discountRate",
    "taxDetailsOverride",
)


def _verified(
    document: Invoice | CreditNote, ledger_id: str, body: Mapping[str, Any], held: dict[str, Any]
) -> PushResult:
    """``held`` (the document as NetSuite has it after the write) against ``body``: same
    total, tax and number of lines, else ``syncledger.ledger_total_differs``."""
    sent = (ledger_total(body), ledger_tax(body), len(body["item"]["items"]))
    lines = held.get("item", {}).get("items", [])
    found = (_decimal(held.get("total")), _decimal(held.get("taxTotal")), len(lines))
    if found != sent:
        raise PermanentLedgerError(
            f"{document.kind} {document.number}: NetSuite {record_of(document.kind)} "
            f"{ledger_id} holds total {found[0]}, tax {found[1]}, {found[2]} lines but was "
            f"sent total {sent[0]}, tax {sent[1]}, {sent[2]} lines (a mismatch: a field "
            "NetSuite did not take, or its tax engine recomputed): check the account's "
            "SuiteTax setup and the [tax] section of the mapping, then push again",
            code="syncledger.ledger_total_differs",
        )
    return PushResult(ledger_id=ledger_id, version=version_of(held))


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _void_credit_memo(invoice: Mapping[str, Any], invoice_id: str) -> dict[str, Any]:
    """A credit memo reversing the invoice line for line (its tax lines too), applied to
    it in full."""
    lines = invoice.get("item", {}).get("items", [])
    taxes = invoice.get("taxDetails", {}).get("items", [])
    body = _copy(invoice, _MIRRORED)
    body["item"] = {"items": [_copy(ln, _LINE_FIELDS) for ln in lines]}
    body["taxDetails"] = {"items": [_copy(ln, _TAX_FIELDS) for ln in taxes]}
    body["memo"] = f"Void of invoice {invoice.get('tranId', invoice_id)}\n" + ref_note(
        void_ref(invoice_id)
    )
    application = {"doc": {"id": invoice_id}, "apply": True, "amount": invoice["total"]}
    body["apply"] = {"items": [application]}
    return body


def _copy(raw: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """The named fields, references reduced to their id (``links`` are read-only)."""
    return {name: _writable(raw[name]) for name in names if raw.get(name) is not None}


def _writable(value: Any) -> Any:
    return {"id": value["id"]} if isinstance(value, Mapping) and "id" in value else value


def _applied_part(payment: Payment, applied: Decimal | None) -> Decimal:
    part = payment.amount if applied is None else applied
    if not Decimal(0) <= part <= payment.amount:
        raise PermanentLedgerError(
            f"payment {payment.id}: cannot apply {part} of {payment.amount} received",
            code="syncledger.bad_applied_amount",
        )
    return part


def _equal(stored: Any, wanted: str) -> bool:
    return isinstance(stored, str) and stored.casefold() == wanted.casefold()
