"""Sage Business Cloud Accounting API v3.1 ledger adapter: ``SageLedger`` implements
``LedgerAdapter``.

Idempotency, two layers: every create carries an ``idempotency_id`` (a name-based GUID,
32 hex digits, derived from our idempotency key and the resource) inside the resource body,
so the HTTP layer may resend it after a timeout and Sage answers the first reply again for
7 days (developer.sage.com, Idempotency); and every record carries our source reference
(``notes``, or a token in a payment's ``reference``, see ``sage_mapping``), which ``find``
reads back after a crash or after those 7 days. A contact create refused because its
unique ``reference`` is taken is resolved the same way when that contact carries ours;
when it does not, the next candidate reference is tried (``sage_mapping``: a contact's
``reference`` holds at most 10 characters, so long source ids get a derived code).

Field lengths: Sage publishes ``maxLength`` for the strings we send (swagger
``swagger.full.json``, see ``sage_mapping``); a longer value is refused here
(``too_long``) before anything is sent, and ``core/validation.py`` refuses it at ingest.

Updating an invoice's lines: Sage's swagger documents ``PUT /sales_invoices/{key}`` with
``sales_invoice.invoice_lines`` items that carry no ``id`` and no ``_destroy``
(``putSalesInvoices``); no Sage source documents a way to remove or edit one line. So the
adapter sends the documented body (every line of ours, none of the old ones named) and
then checks what Sage answers: its total, tax and number of lines must be ours, else the
update is refused (``syncledger.lines_not_replaced`` / ``syncledger.total_mismatch``)
instead of being taken as done. That Sage replaces the lines on such a PUT is an
assumption this check guards; the sandbox replaces them (``sage_rules``).

Read-back: every create and update compares the document Sage answers with ours (total,
tax, line count) before it counts; reads give the document's ``tax_amount`` as ``tax``.

Concurrency: Sage has no version token. ``update_*`` and ``void_invoice`` read the record
first and refuse with ``StaleVersionError`` when its version (``updated_at`` + content
digest) is not the one given; a change landing between that read and the write is not
detected. Before a batch, ``prefetch`` reads the records the batch will update in one
delta read (``sage_prefetch``); an update takes its record from that read instead of
reading it (once, within 60 s, ``adapters.prefetch``), so the window in which a change
made in Sage goes unnoticed widens to the prefetch's age (at most 60 s). A prefetched
copy whose version is not the one given is not trusted alone: the record is read again
and refused as stale when that read shows the change too (a change made before the bulk
read is refused as before).

Limits: 200 requests per 60 s per business (the official figure; a secondary source says
100/min and 2,500/day), held by the client-side limiter before sending; pass another
``RateLimiter`` to ``connect`` to change it. The 100 MB/hour volume limit is not counted
client-side: a 429 for it is waited out like any other. Delta: ``updated_or_created_since``
per resource; paging: ``items_per_page`` (≤ 200) following ``$next``.

Overpayments: one customer receipt (``POST /contact_payments``, ``transaction_type_id``
``CUSTOMER_RECEIPT``) of the whole amount received (``total_amount``) whose
``allocated_artefacts`` give the invoice only the applied part (none when ``applied`` is 0);
Sage keeps the rest on the customer's account as the receipt's ``payment_on_account``, and
its ``outstanding_amount`` is the payment's ``balance``. Never a credit note.

Refunds: a customer refund (``POST /contact_payments``, ``transaction_type_id``
``CUSTOMER_REFUND``) allocating its whole amount to the credit it pays out: a sales credit
note's id, or for an overpayment the id of the receipt's ``payment_on_account`` (read from
the receipt first). Sage lowers that credit's ``outstanding_amount`` and refuses more than
is outstanding (422 ``RecordInvalid``), so nothing is checked before the write: a retry
after a lost answer must reach the ``idempotency_id`` replay, which a pre-check would refuse.
Its reference is kept like a receipt's (``sage_mapping``); refunds are the receipts of
transaction type ``CUSTOMER_REFUND`` (``[refund]`` in the mapping may override the type,
bank account and reference rules, by default the receipts').

Items (``sage_items``): ``find_item`` looks a code up among the business's services, then
its products (``item_code``, exact), then as an id; ``create_item`` makes a service sold to
the ``[invoice.lines]`` account, with an ``idempotency_id``; a code Sage refuses as taken
ends with the item holding it. A line with ``item_code`` is booked to its item
(``service_id`` / ``product_id`` and the item's sales account); a code naming no item is
refused (``unknown_item``) before anything is written. Reads fill ``line_items`` from the
``service`` / ``product`` link on each line, ids mapped to codes through the same cache.

Matching customers: contacts keep ``tax_id`` in ``tax_number``, but ``GET /contacts``
cannot filter on it (``search`` covers name, company name and reference), so
``match_customer`` compares name, email and tax number (ignoring case, spaces, dots and
dashes) over an index of the customers kept by one delta read per match
(``sage_customers``), then reads the few that match in full.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
from typing_extensions import Unpack

from syncledger.adapters.http import LedgerHttp
from syncledger.adapters.jsonwire import decode_json
from syncledger.adapters.kit.connect import HttpOptions, HttpSpec
from syncledger.adapters.kit.details import Details, ReadsCustomerDetails
from syncledger.adapters.kit.reads import unless_absent
from syncledger.adapters.oauth2 import Auth
from syncledger.adapters.ratelimit import Rate
from syncledger.adapters.sage.applied import Applications, note_applications
from syncledger.adapters.sage.customer_details import (
    address_as_written,
    address_parts,
    customer_details,
)
from syncledger.adapters.sage.customers import CustomerIndex
from syncledger.adapters.sage.errors import NOT_FOUND_CODE, is_taken_reference, translate_sage
from syncledger.adapters.sage.items import SageItems
from syncledger.adapters.sage.mapping import (
    CODE_LIMIT,
    Document,
    SageMapping,
    load_mapping,
    ref_at_end,
    ref_in,
    ref_token,
    source_id,
    to_record,
    token_in,
    version_of,
)
from syncledger.adapters.sage.paging import PAGE_LIMIT, as_dict, pages
from syncledger.adapters.sage.prefetch import BulkReads
from syncledger.core import ports
from syncledger.core.errors import PermanentLedgerError, StaleVersionError
from syncledger.core.model import CreditNote, Customer
from syncledger.core.ports import (
    LedgerCapabilities,
    LedgerItem,
    LedgerRecord,
    PushResult,
    StepFind,
    StepResult,
)

PRODUCTION_URL = "https://api.accounting.sage.com/v3.1"
TOKEN_URL = "https://oauth.accounting.sage.com/token"  # noqa: S105 (a URL)
SAGE_RATES = (Rate(200, 60.0),)
SAGE_HTTP = HttpSpec("sage", translate_sage, SAGE_RATES)
RESOURCE = {
    "customer": "contacts",
    "invoice": "sales_invoices",
    "credit_note": "sales_credit_notes",
    "payment": "contact_payments",
    "refund": "contact_payments",
    "allocation": "contact_allocations",
}
BODY_KEY = {
    "customer": "contact",
    "invoice": "sales_invoice",
    "credit_note": "sales_credit_note",
    "payment": "contact_payment",
    "refund": "contact_payment",
    "allocation": "contact_allocation",
}
#: kinds kept as contact payments, told apart by their transaction type
TRANSACTION_KINDS = frozenset({"payment", "refund"})
#: kinds whose lines are booked to items, and the key of their lines
DOCUMENT_LINES = {"invoice": "invoice_lines", "credit_note": "credit_note_lines"}
DOCUMENT_KINDS = frozenset(DOCUMENT_LINES)
SEARCHABLE = frozenset({"customer", "invoice", "credit_note"})
_NAMESPACE = uuid.UUID("8d0f8a52-5b7e-4e0c-9b57-2a9c6f1e4d3b")  # syncledger's, fixed


def idempotency_id(idempotency_key: str, scope: str) -> str:
    """A hyphenless GUID (32 hex digits), the same for the same key and scope."""
    return uuid.uuid5(_NAMESPACE, f"{scope}:{idempotency_key}").hex


class SageLedger(ReadsCustomerDetails[SageMapping]):
    """Sage Accounting for one business. Build with ``SageLedger.connect``."""

    ledger = "sage"
    details = Details(customer_details, address_parts, address_as_written)
    capabilities = LedgerCapabilities(
        batch_size=1,
        requests_per_minute=200,
        requests_per_second=None,
        idempotency="idempotency_id (7 days) + reference lookup",
        delta="updated_or_created_since",
        kinds=("customer", "invoice", "payment", "credit_note", "refund"),
    )

    def __init__(
        self,
        http: LedgerHttp,
        *,
        mapping: SageMapping | None = None,
        find_window: timedelta | None = timedelta(days=30),
        page_size: int = PAGE_LIMIT,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.mapping = mapping or load_mapping()
        self._http = http
        self._find_window = find_window
        self._page = min(page_size, PAGE_LIMIT)
        self._now = now
        self._base_currency: str | None = None
        self._items = SageItems(http, self.mapping, self._page)
        self._bulk = BulkReads(http, self._kind_filter, page_size=self._page)
        self._index = CustomerIndex(self._customer_pages)

    @classmethod
    def connect(
        cls,
        *,
        auth: Auth,
        business_id: str | None = None,
        base_url: str = PRODUCTION_URL,
        mapping: SageMapping | None = None,
        find_window: timedelta | None = timedelta(days=30),
        page_size: int = PAGE_LIMIT,
        **options: Unpack[HttpOptions],
    ) -> SageLedger:
        """``business_id`` goes in ``X-Business`` (None: the user's lead business);
        ``limiter``: the business's shared one, by default Sage's published rate."""
        headers = {"X-Business": business_id} if business_id else None
        http = SAGE_HTTP.open(base_url=base_url, auth=auth, headers=headers, **options)
        return cls(http, mapping=mapping, find_window=find_window, page_size=page_size)

    # ------------------------------------------------------------------- items

    async def find_item(self, code: str) -> LedgerItem | None:
        item = await self._items.find(code)
        return None if item is None else item.public()

    async def create_item(self, req: ports.ItemWrite) -> LedgerItem:
        """A service ``code`` (see ``sage_items``); an existing item ``code`` is returned."""
        item = await self._items.create(req.code, idempotency_id(req.idempotency_key, "services"))
        return item.public()

    # ------------------------------------------------------------------ writes

    async def create_customer(self, req: ports.CustomerWrite) -> PushResult:
        """Each candidate reference in turn (``sage_mapping.contact_codes``): a taken one
        is ours (a create whose answer was lost) or another contact's (try the next)."""
        codes = self.mapping.contact_codes(req.external_ref)
        for attempt, code in enumerate(codes):
            body = self.mapping.contact_body(req.customer, req.external_ref, code=code)
            key = req.idempotency_key if attempt == 0 else f"{req.idempotency_key}:{attempt}"
            try:
                return _pushed(await self._create("customer", body, key))
            except PermanentLedgerError as exc:
                if not is_taken_reference(exc):
                    raise
            found = await self._searched("customer", req.external_ref)
            if found is not None:
                return PushResult(found.ledger_id, found.version, recovered=True)
        raise PermanentLedgerError(
            f"Sage Accounting: other contacts hold every reference tried for {req.external_ref} "
            f"({', '.join(codes)}): free one of them in Sage, then retry",
            code="syncledger.reference_taken",
        )

    async def update_customer(self, req: ports.CustomerUpdate) -> PushResult:
        """The contact keeps the ``reference`` it has (ours, or one a person gave it)."""
        current = await self._current("customer", req.ledger_id, req.version)
        held = current.get("reference")
        code = held if isinstance(held, str) and 0 < len(held) <= CODE_LIMIT else None
        body = self.mapping.contact_body(req.customer, req.external_ref, code=code)
        return _pushed(await self._put("customer", req.ledger_id, body))

    async def create_invoice(self, req: ports.InvoiceWrite) -> PushResult:
        body = await self._document_body(
            "invoice", req.invoice, req.customer_ledger_id, req.external_ref
        )
        raw = await self._create("invoice", body, req.idempotency_key)
        return _pushed(_checked_document(req.invoice, raw))

    async def update_invoice(self, req: ports.InvoiceUpdate) -> PushResult:
        """A PUT with every line of ours (``putSalesInvoices``: lines without ids), then
        Sage's answer checked: the old lines must be gone (see the module docstring)."""
        await self._current("invoice", req.ledger_id, req.version)
        body = await self._document_body(
            "invoice", req.invoice, req.customer_ledger_id, req.external_ref
        )
        raw = await self._put("invoice", req.ledger_id, body)
        return _pushed(_checked_document(req.invoice, raw, updated=True))

    async def apply_payment(self, req: ports.PaymentWrite) -> PushResult:
        """One receipt of ``payment.amount``; ``applied`` of it goes to the invoice, the
        rest stays on account (see the module docstring)."""
        body = self.mapping.payment_body(
            req.payment,
            req.customer_ledger_id,
            req.invoice_ledger_id,
            req.external_ref,
            req.applied,
        )
        if not body["allocated_artefacts"]:
            body |= await self._rate_of(req.payment.currency, req.invoice_ledger_id)
        return _pushed(await self._create("payment", body, req.idempotency_key))

    async def create_refund(self, req: ports.RefundWrite) -> PushResult:
        """A customer refund allocated to the credit note, or to the receipt's payment on
        account; Sage refuses more than the credit's outstanding amount."""
        artefact_id = req.credit_ledger_id
        if req.credit_kind == "payment":
            artefact_id = await self._on_account_id(req.credit_ledger_id)
        body = self.mapping.refund_body(
            req.refund, req.customer_ledger_id, artefact_id, req.external_ref
        )
        return _pushed(await self._create("refund", body, req.idempotency_key))

    async def create_credit_note(self, req: ports.CreditNoteWrite) -> PushResult:
        """The credit note, then (when an invoice is given) a contact allocation of it to
        that invoice, up to what the invoice still owes: two writes, each a step of
        ``steps`` with the step key's own ``idempotency_id``."""
        body = await self._document_body(
            "credit_note", req.credit_note, req.customer_ledger_id, req.external_ref
        )
        journal = req.journal()

        async def write_note(key: str) -> StepResult:
            raw = _checked_document(req.credit_note, await self._create("credit_note", body, key))
            return StepResult(str(raw["id"]))

        note = await journal.step(
            "credit_note", write_note, self._found("credit_note", req.external_ref)
        )
        if req.invoice_ledger_id is not None:
            await journal.step(
                "allocation",
                self._allocation_write(
                    req.credit_note, req.customer_ledger_id, req.invoice_ledger_id, note.ledger_id
                ),
                self._allocation_found(
                    req.customer_ledger_id, note.ledger_id, req.invoice_ledger_id
                ),
            )
        raw = await self._fetch("credit_note", note.ledger_id)
        if raw is None:
            raise _missing("credit_note", note.ledger_id)
        return _pushed(raw)

    async def void_invoice(self, req: ports.VoidWrite) -> PushResult:
        """Void (``DELETE`` with a ``void_reason``); an invoice already void is left as it
        is, so a retry after a lost answer succeeds."""
        current = await self._current("invoice", req.ledger_id, req.version, void_ok=True)
        if to_record("invoice", current).status == "void":
            return _pushed(current, recovered=True)
        params = {"void_reason": "Voided by syncledger: cancelled in the source"}
        answer = await self._http.request(
            "DELETE", _path("invoice", req.ledger_id), params=params, idempotent=True
        )
        raw = await self._fetch("invoice", req.ledger_id) if answer.status_code == 204 else None
        return _pushed(raw or _json_of(answer))

    # ------------------------------------------------------------------- reads

    async def prefetch(self, kind: str, ledger_ids: Sequence[str]) -> None:
        """Read the customers or invoices a batch will update in one delta read
        (``sage_prefetch``); each update's version check then takes its record from it."""
        await self._bulk.prefetch(kind, ledger_ids)

    async def find(self, kind: str, external_ref: str) -> LedgerRecord | None:
        """The record carrying ``external_ref``: by ``search`` on its searchable
        reference first (a contact's every candidate code), then newest first over
        ``find_window`` (None: all history)."""
        found = await self._searched(kind, external_ref)
        if found is not None:
            return found
        return await self._first_ours(kind, external_ref, self._window_params(kind))

    async def match_customer(self, customer: Customer) -> list[LedgerRecord]:
        """Customers with the same name (ignoring case), main contact person's email or
        tax number (ignoring case, spaces, dots and dashes), each read again in full."""
        await self._index.refresh()
        found: list[LedgerRecord] = []
        for ledger_id in self._index.matching(customer):
            raw = await self._fetch("customer", ledger_id)
            if raw is None:
                self._index.forget(ledger_id)
            elif self._index.still_matches(customer, raw):
                found.append(to_record("customer", raw))
        return found

    async def get(self, kind: str, ledger_id: str) -> LedgerRecord | None:
        raw = await self._fetch(kind, ledger_id)
        if raw is None or not self._is_kind(kind, raw):
            return None
        return await self._record(kind, raw)

    async def list_all(self, kind: str) -> AsyncIterator[LedgerRecord]:
        applications = self._applications(None)
        async for raw in self._pages(kind, self._kind_filter(kind)):
            yield await self._record(kind, raw, applications)

    async def changes(self, since: datetime) -> AsyncIterator[LedgerRecord]:
        """Records created or updated at or after ``since`` (cut to whole seconds, as Sage
        keeps them), per resource; a record may come again on the next call."""
        moment = since if since.tzinfo else since.replace(tzinfo=UTC)
        cursor = moment.astimezone(UTC).replace(microsecond=0).isoformat()
        applications = self._applications(None)
        for kind in self.capabilities.kinds:
            params = self._kind_filter(kind) | {"updated_or_created_since": cursor}
            async for raw in self._pages(kind, params):
                yield await self._record(kind, raw, applications)

    async def aclose(self) -> None:
        await self._http.aclose()

    # ----------------------------------------------------------------- helpers

    async def _record(
        self, kind: str, raw: dict[str, Any], applications: Applications | None = None
    ) -> LedgerRecord:
        """``to_record``, with the item code of each line of an invoice or credit note and
        what a receipt, credit note or refund is applied to (``sage_applied``; one record
        read alone lists only its contact's allocations and receipts)."""
        record = to_record(kind, raw)
        if kind in DOCUMENT_KINDS:
            record = replace(record, line_items=await self._items.line_codes(raw))
        if applications is None:
            applications = self._applications(record.customer_ledger_id)
        return replace(record, applied_to=await applications.of(kind, raw))

    def _applications(self, contact_id: str | None) -> Applications:
        return Applications(self._pages, self.mapping, contact_id)

    def _found(self, kind: str, external_ref: str) -> StepFind:
        async def find() -> StepResult | None:
            found = await self.find(kind, external_ref)
            return None if found is None else StepResult(found.ledger_id)

        return find

    def _allocation_write(
        self, credit_note: CreditNote, customer_id: str, invoice_id: str, note_id: str
    ) -> Callable[[str], Awaitable[StepResult]]:
        """Allocate the credit note to the invoice, up to what the invoice owes when the
        write is made (nothing is written when it owes nothing)."""

        async def write(key: str) -> StepResult:
            invoice = await self._fetch("invoice", invoice_id)
            if invoice is None:
                raise _missing("invoice", invoice_id)
            owed = to_record("invoice", invoice).balance or Decimal(0)
            part = min(credit_note.total, owed)
            if part <= 0:
                return StepResult(note_id, {"allocated": "0"})
            body = self.mapping.allocation_body(credit_note, customer_id, invoice_id, note_id, part)
            raw = await self._create("allocation", body, key)
            return StepResult(str(raw["id"]), {"allocated": str(part)})

        return write

    def _allocation_found(self, customer_id: str, note_id: str, invoice_id: str) -> StepFind:
        """The contact allocation applying the credit note to the invoice, if one landed."""

        async def find() -> StepResult | None:
            query = {
                "transaction_type_id": self.mapping.setting("allocation", "transaction_type_id"),
                "contact_id": customer_id,
            }
            async for allocation in self._pages("allocation", query):
                for note, (invoice, amount) in note_applications(allocation):
                    if (note, invoice) == (note_id, invoice_id):
                        return StepResult(str(allocation["id"]), {"allocated": str(amount)})
            return None

        return find

    async def _create(self, kind: str, body: dict[str, Any], key: str) -> dict[str, Any]:
        inner = body | {"idempotency_id": idempotency_id(key, RESOURCE[kind])}
        raw = as_dict(
            await self._http.json(
                "POST", f"/{RESOURCE[kind]}", body={BODY_KEY[kind]: inner}, idempotent=True
            )
        )
        self._bulk.seen(kind, raw)
        return raw

    async def _put(self, kind: str, ledger_id: str, body: dict[str, Any]) -> dict[str, Any]:
        raw = as_dict(
            await self._http.json(
                "PUT", _path(kind, ledger_id), body={BODY_KEY[kind]: body}, idempotent=True
            )
        )
        self._bulk.seen(kind, raw)
        return raw

    async def _fetch(self, kind: str, ledger_id: str) -> dict[str, Any] | None:
        read = self._http.json("GET", _path(kind, ledger_id), idempotent=True)
        answer = await unless_absent(read, NOT_FOUND_CODE, "404")
        if answer is None:
            return None
        raw = as_dict(answer)
        self._bulk.seen(kind, raw)
        return raw

    async def _on_account_id(self, payment_ledger_id: str) -> str:
        """The id of the payment on account Sage made of a receipt's unallocated part."""
        raw = await self._fetch("payment", payment_ledger_id)
        if raw is None or not self._is_kind("payment", raw):
            raise _missing("payment", payment_ledger_id)
        on_account = raw.get("payment_on_account") or {}
        if not on_account.get("id"):
            raise PermanentLedgerError(
                f"Sage Accounting payment {payment_ledger_id} was allocated in full: it left "
                "no payment on account to refund; refund a credit note instead",
                code="syncledger.no_credit_to_refund",
            )
        return str(on_account["id"])

    async def _rate_of(self, currency: str, invoice_ledger_id: str) -> dict[str, Any]:
        """A foreign receipt allocated to nothing takes its invoice's rate (never a
        default one), as this adapter last wrote or read it; a base-currency receipt
        needs none."""
        if currency == await self._base():
            return {}
        rate = self._bulk.rate(invoice_ledger_id)
        if rate is not None:
            return {"exchange_rate": rate}
        invoice = await self._fetch("invoice", invoice_ledger_id)
        if invoice is None:
            raise _missing("invoice", invoice_ledger_id)
        return {"exchange_rate": invoice["exchange_rate"]}

    def _is_kind(self, kind: str, raw: dict[str, Any]) -> bool:
        """Receipts and refunds share ``/contact_payments``: their transaction type tells."""
        if kind not in TRANSACTION_KINDS:
            return True
        wanted = self.mapping.setting(kind, "transaction_type_id")
        return bool((raw.get("transaction_type") or {}).get("id") == wanted)

    async def _current(
        self, kind: str, ledger_id: str, version: str | None, *, void_ok: bool = False
    ) -> dict[str, Any]:
        """The record as it is, refused as stale when its version is not ``version``: the
        prefetched copy when it has that version, else a fresh read. An invoice already
        void passes when ``void_ok`` (a void retried after a lost answer)."""
        kept = self._bulk.take(kind, ledger_id)
        if kept is not None and (version is None or version_of(kept) == version):
            return kept
        current = await self._fetch(kind, ledger_id)
        if current is None:
            raise _missing(kind, ledger_id)
        if not (void_ok and to_record(kind, current).status == "void"):
            _check_version(kind, current, version)
        return current

    async def _document_body(
        self, kind: str, document: Document, customer_ledger_id: str, external_ref: str
    ) -> dict[str, Any]:
        items = await self._items.for_lines(document)
        foreign = document.currency != await self._base()
        return self.mapping.document_body(
            kind, document, customer_ledger_id, external_ref, foreign=foreign, items=items
        )

    async def _base(self) -> str:
        """The business's base currency, read once from ``/financial_settings``."""
        if self._base_currency is None:
            settings = await self._http.json("GET", "/financial_settings", idempotent=True)
            self._base_currency = str(settings["base_currency"]["id"])
        return self._base_currency

    async def _pages(self, kind: str, params: dict[str, str]) -> AsyncIterator[dict[str, Any]]:
        async for raw in pages(self._http, f"/{RESOURCE[kind]}", params, self._page):
            yield raw

    async def _first_ours(
        self, kind: str, external_ref: str, params: dict[str, str]
    ) -> LedgerRecord | None:
        async for raw in self._pages(kind, self._kind_filter(kind) | params):
            if _carries(kind, raw, external_ref):
                return replace(await self._record(kind, raw), external_ref=external_ref)
        return None

    async def _customer_pages(self, params: dict[str, str]) -> AsyncIterator[dict[str, Any]]:
        async for raw in self._pages("customer", self._kind_filter("customer") | params):
            yield raw

    async def _searched(self, kind: str, external_ref: str) -> LedgerRecord | None:
        """The record carrying ``external_ref`` among those its search terms find."""
        for term in self._search_terms(kind, external_ref):
            found = await self._first_ours(kind, external_ref, {"search": term})
            if found is not None:
                return found
        return None

    def _search_terms(self, kind: str, external_ref: str) -> list[str]:
        if kind == "customer":
            return self.mapping.contact_codes(external_ref)
        if kind in SEARCHABLE:
            return [source_id(external_ref)]  # documents: our number, usually the source id
        return []

    def _window_params(self, kind: str) -> dict[str, str]:
        params = {} if kind == "customer" else {"sort": "created_at:desc"}
        if self._find_window is not None:
            since = (self._now() - self._find_window).astimezone(UTC).replace(microsecond=0)
            params["updated_or_created_since"] = since.isoformat()
        return params

    def _kind_filter(self, kind: str) -> dict[str, str]:
        if kind == "customer":
            return {"contact_type_id": self.mapping.setting("customer", "contact_type_id")}
        if kind in TRANSACTION_KINDS:
            return {"transaction_type_id": self.mapping.setting(kind, "transaction_type_id")}
        return {}


def _path(kind: str, ledger_id: str) -> str:
    return f"/{_resource(kind)}/{quote(ledger_id, safe='')}"


def _resource(kind: str) -> str:
    try:
        return RESOURCE[kind]
    except KeyError:
        raise PermanentLedgerError(
            f"Sage Accounting adapter does not handle {kind!r} records", code="unsupported"
        ) from None


def _carries(kind: str, raw: dict[str, Any], external_ref: str) -> bool:
    if kind in TRANSACTION_KINDS:
        reference = raw.get("reference")
        readable = ref_at_end(reference, kind) == external_ref
        return readable or token_in(reference) == ref_token(external_ref)
    return ref_in(raw.get("notes")) == external_ref


def _check_version(kind: str, current: dict[str, Any], version: str | None) -> None:
    if version is not None and version_of(current) != version:
        raise StaleVersionError(
            f"Sage Accounting {kind} {current.get('id')} changed since it was read (version "
            f"{version}, now {version_of(current)}): read it again and retry",
            code="stale_version",
        )


def _checked_document(
    document: Document, raw: dict[str, Any], *, updated: bool = False
) -> dict[str, Any]:
    """What Sage holds after the write must be ours: as many lines, the same total and tax
    to the cent; a difference means the write landed wrong (an update that kept old lines
    is ``syncledger.lines_not_replaced``)."""
    record = to_record(document.kind, raw)
    held = len(raw.get(DOCUMENT_LINES[document.kind]) or [])
    where = f"Sage Accounting {document.kind} {record.ledger_id}"
    if held != len(document.lines):
        kept = " kept lines it had before the update:" if updated else ""
        raise PermanentLedgerError(
            f"{where}{kept} it holds {held} lines, ours {document.number} has "
            f"{len(document.lines)}: correct the lines in Sage, then retry",
            code="syncledger.lines_not_replaced" if updated else "syncledger.lines_mismatch",
        )
    if (record.total, record.tax) != (document.total, document.tax_total):
        raise PermanentLedgerError(
            f"{where} totals {record.total} with tax {record.tax}, ours {document.number} "
            f"{document.total} with tax {document.tax_total}: correct it in Sage or in the "
            "source",
            code="syncledger.total_mismatch",
        )
    return raw


def _missing(kind: str, ledger_id: str) -> PermanentLedgerError:
    return PermanentLedgerError(
        f"Sage Accounting has no {kind} {ledger_id}: it was deleted or never created; check "
        "the link",
        code=NOT_FOUND_CODE,
    )


def _pushed(raw: dict[str, Any], *, recovered: bool = False) -> PushResult:
    return PushResult(ledger_id=str(raw["id"]), version=version_of(raw), recovered=recovered)


def _json_of(response: httpx.Response) -> dict[str, Any]:
    return as_dict(decode_json(response.content))
