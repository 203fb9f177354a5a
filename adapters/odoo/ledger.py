"""Odoo ledger adapter: ``OdooLedger`` implements ``LedgerAdapter`` over JSON-2 (Odoo 19+)
or, as a fallback for older servers, XML-RPC (``odoo_rpc``).

Releases (``odoo_versions``): 17.0, 18 and 19. The release is detected before the first
call (XML-RPC ``common.version()``; JSON-2 means 19+) and an older one is refused with one
line (``ConfigurationError``). The mapping file names 18+ fields; on 17 a payment's memo is
``ref`` and a document has no ``invoice_currency_rate``: a foreign-currency document is
written there only when the rate Odoo 17 will apply (``res.currency`` ``rate`` for the
document's date) is the source's, else refused (``syncledger.exchange_rate_differs``).

Idempotency: Odoo has no idempotency key. Every record we create carries our source
reference (``ref`` / ``memo``, see ``odoo_mapping``). That reference is looked up only when
a write's outcome is unknown (calls to Odoo are the scarce resource): a write whose answer
was lost (timeout, 5xx) is never blindly resent but looked for first, by the adapter's own
retry, by the sync's journal (a step's ``find``) or its ``find`` after a crash, and by the
adapter for a key it sent before without learning the outcome (``WriteMemo``); a record
found is taken and returned as ``recovered`` instead of being created again.

Multi-write operations: every RPC call is its own transaction on Odoo's side, so these
are several writes, each a step of the record's ``WriteSteps`` journal (``ports``), and a
crash or a run of 5xx between two of them resumes at the first step without an outcome:

=========================== ===========================================================
operation                   steps (each one Odoo call)
=========================== ===========================================================
``create_invoice``          ``create`` (``account.move`` draft), ``post`` (``action_post``)
``create_credit_note``      ``create``, ``post``, with an invoice ``apply``
                            (``account.move.js_assign_outstanding_line`` on the invoice)
``apply_payment``, nothing  ``create`` (``account.payment`` draft), ``post``
applied
``update_invoice``          ``draft`` (``button_draft``), ``write``, ``post``
=========================== ===========================================================

Each step's ``find`` reads whether its write landed (our reference found; the record no
longer a draft; the credit note's receivable item reconciled with the invoice's; the
invoice posted with our total), and a write reads what is there where it could be done
already (a post or a draft acts only on a record in the other state, unless this process
made the draft just before; an apply only on an item not yet reconciled with the invoice),
so a write resent after ``find`` said "not there" does nothing twice. With the sync's
journal an operation runs once and a failed step is the sync's to log and retry; without
one (tools, tests) the adapter retries it through a journal kept in memory
(``RetrySteps``). Single writes stay single: customers, items, ``void_invoice``
(``button_cancel`` drafts and cancels in one call), and the register wizard (a payment
applied to an invoice, a refund): its ``action_create_payments`` creates, posts and
reconciles the payment in one call (``addons/account/wizard/account_payment_register.py``
``_create_payments``), the ``account.payment.register`` record created before it books
nothing.

Applications (``LedgerRecord.applied_to``, on ``get``, ``find``, ``list_all`` and
``changes``): Odoo holds them as ``account.partial.reconcile`` rows between receivable
journal items; ``odoo_applied`` reads them for payments, credit notes and refunds.

Versions: Odoo has no concurrency token (the ``__last_update`` context check was removed
in 16.1); ``version`` is ``write_date`` plus a digest of the fields read and a name of
their set, compared (``odoo_mapping.same_version``: by ``write_date`` alone when the
expected version was made over another set of fields, or before sets were named) with the
record as read before the write. That read is the batch's bulk read when the sync
made one (``prefetch``: one ``search_read`` with ``[["id", "in", ids]]``, the ORM's
``search_read(domain, fields)``, ``odoo/orm/models.py``) or the sync's own ``get`` of an
invoice it is about to pay, each copy served once (``adapters.prefetch.Prefetched``) and
dropped when this adapter writes to that record; else one read just before the write.
So the window in which a change made in Odoo goes unnoticed is the gap between that read
and the write: at most the prefetch's age (60 s) for a served copy, two transactions
otherwise. A change the copy shows is refused (``StaleVersionError``).

Batches (``create_many``, ``odoo_bulk``): invoices, credit notes applied to no invoice and
payments applied to nothing are created with one ``create`` (a list of values), posted
with one ``action_post`` (many ids) and read back with one ``search_read`` per kind, each
record still through its own journal; Odoo has no idempotency key for the batch, so each
record's exactly-once rests on our reference, looked up when its step's answer was lost.
Payments through the register wizard and credit notes applied to an invoice go one by one.

Delta: ``search_read`` on ``write_date >=`` the cursor (truncated to the second, as Odoo
shows it), paged by id. Limits: Odoo publishes none; the client limiter defaults to a
conservative 4/s and 120/min per database and is configurable.

Overpayments: one inbound customer ``account.payment`` of the full amount, through the
register wizard on the invoice with ``payment_difference_handling`` ``open`` ("Keep
open"): Odoo reconciles the invoice's open balance and the rest stays on the payment's
receivable journal item as outstanding credit (no credit note). ``applied`` = 0 (an
already paid invoice): ``account.payment`` ``create`` + ``action_post``, reconciled with
nothing. A payment's ``balance`` is minus the ``amount_residual`` of its receivable item
(``account.move.line`` by ``payment_id``: one more read per page of payments). Applying
less than both the payment and the open balance is refused (``odoo_credit``): Odoo
reconciles as far as both go.

Refunds (kind ``refund``): an outbound customer ``account.payment``, through the register
wizard on the credit's receivable journal item (``active_model`` ``account.move.line``):
the credit note's (``out_refund``, whose ``amount_residual`` — its ``balance`` — drops) or
the overpayment's outstanding one. One transaction creates, posts and reconciles it; our
reference is its ``memo``, as for payments. Odoo would pay out more than the credit (the
excess left open as a debit), so that is refused before writing.

Tax ids: ``vat``, written on create and update; ``match_customer`` searches ``vat
=ilike`` with any separators between the characters and compares ignoring case, spaces,
dots and dashes (``matches_tax_id``).

Items (``odoo_items``): ``product.product`` by Internal Reference (``default_code``), then
by id. A line with an ``item_code`` carries the product's id as ``product_id``; a code no
product has is refused (``unknown_item``) before anything is written, and a product gone
since it was cached is refused by Odoo itself (``odoo.exceptions.MissingError``).
``create_item`` makes a service product booked to ``[new_items]``'s income account; Odoo
has no idempotency key and does not keep ``default_code`` unique, so each try looks the
code up first. Reads of invoices and credit notes fill ``line_items`` from one more
``account.move.line`` read per page (product ids mapped to codes through the cache).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, TypeVar

import httpx
from pydantic import SecretStr

from syncledger.adapters.http import Operation, RetryPolicy
from syncledger.adapters.kit.connect import HttpSpec
from syncledger.adapters.kit.details import Details, ReadsCustomerDetails
from syncledger.adapters.kit.paging import Page, walk
from syncledger.adapters.kit.retries import Retries
from syncledger.adapters.oauth2 import TokenStore
from syncledger.adapters.odoo.applied import Applied, applications
from syncledger.adapters.odoo.bulk import Calls, Gathered, Gathering, OneByOne
from syncledger.adapters.odoo.credit import applied_part, check_applicable, credit_left
from syncledger.adapters.odoo.customer_details import (
    address_as_written,
    address_parts,
    customer_details,
)
from syncledger.adapters.odoo.errors import translate_json2, translate_xmlrpc_http
from syncledger.adapters.odoo.items import OdooItems
from syncledger.adapters.odoo.mapping import (
    BOOKED_LINE_FIELDS,
    CREDIT_LINE_FIELDS,
    Document,
    OdooMapping,
    SaleTax,
    booked_items,
    credits_by_payment,
    format_datetime,
    load_mapping,
    m2o_id,
    odoo_rate,
    read_fields,
    same_version,
    tax_key,
    to_record,
    vat_pattern,
)
from syncledger.adapters.odoo.rpc import ApiKeyAuth, Json2Rpc, OdooRpc, XmlRpc
from syncledger.adapters.odoo.versions import same_rate
from syncledger.adapters.prefetch import Prefetched
from syncledger.adapters.ratelimit import Rate, RateLimiter
from syncledger.adapters.writes import WriteMemo
from syncledger.core import ports
from syncledger.core.errors import (
    LedgerError,
    PermanentLedgerError,
    StaleVersionError,
    TransientLedgerError,
)
from syncledger.core.model import CreditNote, Customer, Invoice, Payment
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
    step_key,
)

DEFAULT_RATES = (Rate(4, 1.0), Rate(120, 60.0))
#: the client of each transport: JSON-2 (Odoo 19+) and XML-RPC refuse differently
ODOO_HTTP = {
    "json2": HttpSpec("odoo", translate_json2, DEFAULT_RATES),
    "xmlrpc": HttpSpec("odoo", translate_xmlrpc_http, DEFAULT_RATES),
}
#: documents per ``create_many`` the sync sends (Odoo publishes no limit on a vals list)
BATCH = 30
ALL = {"active_test": False}
RECEIVABLE = ["account_type", "=", "asset_receivable"]
DOCUMENTS = ("invoice", "credit_note")
#: the field of a receivable journal item naming the record it belongs to
OWNER_FIELD = {"payment": "payment_id", "refund": "payment_id", "credit_note": "move_id"}
Step = Callable[[LedgerRecord | None], Awaitable[LedgerRecord]]
Run = Callable[[WriteSteps], Awaitable[PushResult]]
T = TypeVar("T")
#: a step's result when the write found what an earlier try or process left
FOUND = {"found": "earlier"}


class OdooLedger(ReadsCustomerDetails[OdooMapping]):
    """One Odoo database. Build with ``OdooLedger.connect``."""

    ledger = "odoo"
    details = Details(customer_details, address_parts, address_as_written)

    def __init__(
        self,
        rpc: OdooRpc,
        *,
        mapping: OdooMapping | None = None,
        retry: RetryPolicy | None = None,
        rates: tuple[Rate, ...] = DEFAULT_RATES,
        page_size: int = 500,
        auth: ApiKeyAuth | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.mapping = mapping or load_mapping()
        self.capabilities = _capabilities(rates)
        self._rpc = rpc
        self._retries = Retries.of(retry, rng=rng)
        self._page = page_size
        self._auth = auth
        self._currencies: dict[str, int] = {}
        self._taxes: list[SaleTax] | None = None
        self._items = OdooItems(rpc, self.mapping)
        self._writes = WriteMemo()
        self._prefetched: Prefetched[LedgerRecord] = Prefetched()
        self._one_by_one = OneByOne(self._write, self._read_ids)
        #: drafts this process created and has not posted yet (no read before the post)
        self._drafts: set[int] = set()

    @classmethod
    def connect(
        cls,
        *,
        base_url: str,
        api_key: SecretStr,
        database: str | None = None,
        transport: str = "json2",
        login: str = "admin",
        key_store: TokenStore | None = None,
        http_transport: httpx.AsyncBaseTransport | None = None,
        rates: tuple[Rate, ...] = DEFAULT_RATES,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        mapping: OdooMapping | None = None,
        page_size: int = 500,
    ) -> OdooLedger:
        """``transport``: ``json2`` (Odoo 19+) or ``xmlrpc`` (older Odoo; needs
        ``database`` and ``login``). ``limiter``: the database's shared one, else a
        private limiter at ``rates``."""
        auth = ApiKeyAuth(api_key, key_store)
        xml = transport == "xmlrpc"
        headers = {"User-Agent": "syncledger"}
        if database and not xml:
            headers["X-Odoo-Database"] = database
        http = ODOO_HTTP["xmlrpc" if xml else "json2"].open(
            base_url=base_url,
            auth=None if xml else auth,
            rates=rates,
            headers=headers,
            transport=http_transport,
            limiter=limiter,
            retry=retry,
            timeout=timeout,
        )
        rpc: OdooRpc = (
            XmlRpc(http, database=database or "", login=login, auth=auth) if xml else Json2Rpc(http)
        )
        return cls(rpc, mapping=mapping, retry=retry, rates=rates, page_size=page_size, auth=auth)

    # ------------------------------------------------------------------ items

    async def find_item(self, code: str) -> LedgerItem | None:
        return await self._items.find(code)

    async def create_item(self, req: ports.ItemWrite) -> LedgerItem:
        """A ``product.product`` of ``[new_items]`` type (``service``) named and coded
        ``code``, its income account ``[new_items]``'s. Every try looks ``code`` up first,
        so a create whose answer was lost is found, never made again."""
        async with self._items.creating(req.code):
            return await self._retrying(lambda _n, _e: self._items.find_or_create(req.code))

    # ------------------------------------------------------------------ writes

    async def create_customer(self, req: ports.CustomerWrite) -> PushResult:
        async def step(found: LedgerRecord | None) -> LedgerRecord:
            if found is not None:
                return found
            vals = self.mapping.customer_vals(req.customer, req.external_ref)
            [ident] = await self._write("customer", "create", vals_list=[vals])
            return await self._fetch("customer", ident)

        return await self._once("customer", req.external_ref, req.idempotency_key, step)

    async def create_invoice(self, req: ports.InvoiceWrite) -> PushResult:
        """Two writes, each a step: ``create`` (a draft carrying our reference), ``post``."""

        vals = await self._document_vals(
            "invoice", req.invoice, req.customer_ledger_id, req.external_ref
        )
        run = self._invoice_run(req.invoice, req.external_ref, vals, self._one_by_one)
        return await self._journaled(req.steps, req.idempotency_key, run)

    def _invoice_run(self, invoice: Invoice, ref: str, vals: dict[str, Any], calls: Calls) -> Run:
        async def run(journal: WriteSteps) -> PushResult:
            made = await self._created(journal, "invoice", ref, vals, calls)
            await self._posted(journal, "invoice", made, calls)
            return await self._result("invoice", made, calls, invoice)

        return run

    async def apply_payment(self, req: ports.PaymentWrite) -> PushResult:
        """All applied: the register wizard on the invoice. An overpayment (``applied`` =
        the invoice's open balance): the wizard for the whole amount, difference kept open,
        so the rest stays on the payment's receivable item as outstanding credit. Nothing
        applied: ``account.payment`` ``create`` then ``action_post``, two steps, reconciled
        with nothing. The wizard is one write (``action_create_payments`` creates, posts and
        reconciles in one transaction; the wizard record itself books nothing)."""
        part = applied_part(req.payment, req.applied)
        invoice_id = _int(req.invoice_ledger_id)
        if part == 0:
            return await self._unapplied_payment(req)

        async def step(found: LedgerRecord | None) -> LedgerRecord:
            if found is not None:
                return await self._posted_payment(found)
            check_applicable(req.payment, part, await self._current("invoice", invoice_id))
            currency_id = await self._currency_id(req.payment.currency)
            vals = self.mapping.register_vals(
                req.payment.amount,
                req.payment.paid_on,
                req.external_ref,
                currency_id,
                keep_open=part < req.payment.amount,
            )
            context = {"active_model": "account.move", "active_ids": [invoice_id]}
            self._prefetched.forget("invoice", str(invoice_id))
            return await self._register("payment", vals, context, req.external_ref)

        return await self._once("payment", req.external_ref, req.idempotency_key, step)

    async def create_refund(self, req: ports.RefundWrite) -> PushResult:
        """The register wizard on the credit's receivable journal item (the credit note's,
        or the overpayment's outstanding one): an outbound customer payment reconciled with
        it. Odoo would pay out more than the credit and leave the excess open as a debit,
        so a refund above the credit left is refused here, before anything is written."""
        credit_id = _int(req.credit_ledger_id)

        async def step(found: LedgerRecord | None) -> LedgerRecord:
            if found is not None:
                return found
            line = await self._credit_line(req.credit_kind, credit_id)
            left = credit_left(
                req.refund, line, req.credit_kind, req.credit_ledger_id, req.customer_ledger_id
            )
            currency_id = await self._currency_id(req.refund.currency)
            vals = self.mapping.register_vals(
                req.refund.amount,
                req.refund.refunded_on,
                req.external_ref,
                currency_id,
                keep_open=req.refund.amount < left,
            )
            context = {"active_model": "account.move.line", "active_ids": [int(line["id"])]}
            return await self._register("refund", vals, context, req.external_ref)

        return await self._once("refund", req.external_ref, req.idempotency_key, step)

    async def create_credit_note(self, req: ports.CreditNoteWrite) -> PushResult:
        """Each write a step: ``create`` (a draft ``out_refund`` carrying our reference and
        ``reversed_entry_id``), ``post``, and with an invoice ``apply``
        (``js_assign_outstanding_line``: Odoo reconciles as far as the credit and the
        invoice's open balance both go)."""
        invoice_id = None if req.invoice_ledger_id is None else _int(req.invoice_ledger_id)
        extra = {} if invoice_id is None else {"reversed_entry_id": invoice_id}

        vals = await self._document_vals(
            "credit_note", req.credit_note, req.customer_ledger_id, req.external_ref
        )
        run = self._credit_note_run(
            req.credit_note, req.external_ref, vals | extra, invoice_id, self._one_by_one
        )
        return await self._journaled(req.steps, req.idempotency_key, run)

    def _credit_note_run(
        self,
        credit_note: CreditNote,
        ref: str,
        vals: dict[str, Any],
        invoice_id: int | None,
        calls: Calls,
    ) -> Run:
        async def run(journal: WriteSteps) -> PushResult:
            made = await self._created(journal, "credit_note", ref, vals, calls)
            await self._posted(journal, "credit_note", made, calls)
            if invoice_id is not None:
                await self._applied(journal, _int(made.ledger_id), invoice_id)
            return await self._result("credit_note", made, calls, credit_note)

        return run

    async def create_many(
        self, requests: Sequence[CreateRequest], *, batch_key: str
    ) -> list[PushResult | LedgerError]:
        """Invoices, credit notes applied to no invoice and payments applied to nothing,
        each through its own journal as ``create_invoice`` & co. run it, but with one
        ``create``, one ``action_post`` and one read-back per kind for all of them
        (``odoo_bulk``). Their values are made first, one by one (a document Odoo could
        not take is refused alone, before anything is sent). Payments through the register
        wizard (one wizard per invoice) and credit notes applied to an invoice go one by
        one, after them. One result per request, in order."""
        results: dict[int, PushResult | LedgerError] = {}
        runs: dict[int, Run] = {}
        gathering = Gathering()
        calls = Gathered(gathering, self._write, self._read_ids)
        alone: list[int] = []
        for index, request in enumerate(requests):
            try:
                run = await self._bulk_run(request, calls)
            except PermanentLedgerError as exc:
                results[index] = exc
                continue
            if run is None:
                alone.append(index)
            else:
                runs[index] = run
        gathering.expect(len(runs))
        outcomes = await asyncio.gather(
            *(self._member(gathering, requests[i], run) for i, run in runs.items()),
            return_exceptions=True,
        )
        for index, outcome in zip(runs, outcomes, strict=True):
            if not isinstance(outcome, PushResult | LedgerError):
                raise outcome  # not the ledger's answer (ownership lost, cancelled, a bug)
            results[index] = outcome
        for index in alone:
            results[index] = await self._create_alone(requests[index])
        return [results[i] for i in range(len(requests))]

    async def _bulk_run(self, request: CreateRequest, calls: Calls) -> Run | None:
        """The operation of a request that joins the batch's calls (None: it goes alone)."""
        ref, customer = request.external_ref, request.customer_ledger_id
        if isinstance(request, ports.InvoiceWrite):
            vals = await self._document_vals("invoice", request.invoice, customer, ref)
            return self._invoice_run(request.invoice, ref, vals, calls)
        if isinstance(request, ports.CreditNoteWrite) and request.invoice_ledger_id is None:
            vals = await self._document_vals("credit_note", request.credit_note, customer, ref)
            return self._credit_note_run(request.credit_note, ref, vals, None, calls)
        if (
            isinstance(request, ports.PaymentWrite)
            and applied_part(request.payment, request.applied) == 0
        ):
            vals = await self._payment_vals(request.payment, customer, ref)
            return self._payment_run(ref, vals, calls)
        return None

    async def _member(
        self, gathering: Gathering, request: CreateRequest, run: Run
    ) -> PushResult | LedgerError:
        """One request's operation, run once (a failure is the sync's to retry, through
        the journal; without one, through this adapter's ``WriteMemo``)."""
        key = request.idempotency_key
        try:
            if request.steps is not None:
                return await run(request.steps)
            return await self._writes.once(key, lambda look: run(RetrySteps(key, look)))
        except LedgerError as exc:
            return exc
        finally:
            gathering.leave()

    async def _create_alone(self, request: CreateRequest) -> PushResult | LedgerError:
        try:
            return await create_one(self, request)
        except LedgerError as exc:
            return exc

    async def update_customer(self, req: ports.CustomerUpdate) -> PushResult:
        async def step(current: LedgerRecord) -> LedgerRecord:
            vals = self.mapping.customer_vals(req.customer, req.external_ref)
            await self._write("customer", "write", ids=[_int(req.ledger_id)], vals=vals)
            return await self._fetch("customer", _int(req.ledger_id))

        return await self._change("customer", req.ledger_id, req.version, step)

    async def update_invoice(self, req: ports.InvoiceUpdate) -> PushResult:
        """Three Odoo transactions, each a step: ``draft`` (``button_draft``, after the
        version check), ``write`` (the lines replaced), ``post``. ``version`` is compared
        by the first step only: once the draft is done the record moved by our hand. The
        new values are checked before anything is written (no invoice is left in draft by
        a refusal)."""
        ident = _int(req.ledger_id)

        async def run(journal: WriteSteps) -> PushResult:
            vals = await self._document_vals(
                "invoice", req.invoice, req.customer_ledger_id, req.external_ref
            )
            drafted = await self._drafted(journal, ident, req.version)
            await self._rewritten(journal, ident, _replacing(vals), req.invoice.total)
            await self._posted(journal, "invoice", drafted, self._one_by_one)
            return await self._result("invoice", drafted, self._one_by_one, req.invoice)

        return await self._journaled(req.steps, req.idempotency_key, run)

    async def void_invoice(self, req: ports.VoidWrite) -> PushResult:
        """``button_cancel`` (Odoo drafts a posted invoice, unreconciling its payments,
        then cancels it)."""

        async def step(current: LedgerRecord) -> LedgerRecord:
            if current.status != "void":
                await self._write("invoice", "button_cancel", ids=[_int(req.ledger_id)])
            return await self._fetch("invoice", _int(req.ledger_id))

        return await self._change("invoice", req.ledger_id, req.version, step)

    async def rotate_api_key(self, *, valid_days: int = 90, name: str = "syncledger") -> None:
        """Generate a new API key with the current one, persist it, then revoke the old
        one with the new (Odoo ``res.users.apikeys`` generate / revoke)."""
        if self._auth is None:
            raise PermanentLedgerError("this Odoo connection has no API key to rotate")
        old = self._auth.current()
        expires = datetime.now(UTC) + timedelta(days=valid_days)
        new = await self._rpc.call(
            "res.users.apikeys",
            "generate",
            idempotent=False,
            key=old,
            scope="rpc",
            name=name,
            expiration_date=expires.date().isoformat(),
        )
        self._auth.save(str(new), expires)
        await self._rpc.call("res.users.apikeys", "revoke", idempotent=True, key=old)

    # ------------------------------------------------------------------- reads

    async def prefetch(self, kind: str, ledger_ids: Sequence[str]) -> None:
        """One ``search_read`` on ``id in`` the batch's ids; each update's version check
        then takes its record from it (``_current``)."""
        ids = [i for i in (_maybe_int(x) for x in ledger_ids) if i is not None]
        if kind not in self.mapping.models or not ids:
            return
        for record in await self._read_ids(kind, ids, idempotent=True):
            self._prefetched.keep(kind, record.ledger_id, record)

    async def _read_ids(
        self, kind: str, ids: list[int], *, idempotent: bool = False
    ) -> list[LedgerRecord]:
        """``kind``'s records with these ids, in one ``search_read`` (``id in``)."""
        return await self._search(kind, [["id", "in", ids]], limit=None, idempotent=idempotent)

    async def find(self, kind: str, external_ref: str) -> LedgerRecord | None:
        return await self._lookup(kind, external_ref, idempotent=True, full=True)

    async def match_customer(self, customer: Customer) -> list[LedgerRecord]:
        """Customers whose name or email equals ours ignoring case, or whose ``vat`` is our
        tax id ignoring case, spaces, dots and dashes."""
        clauses: list[list[Any]] = [["name", "ilike", customer.name]]
        if customer.email:
            clauses.append(["email", "ilike", customer.email])
        vat = tax_key(customer.tax_id)
        if vat:
            clauses.append(["vat", "=ilike", vat_pattern(vat)])
        domain = ["|"] * (len(clauses) - 1) + clauses
        rows = await self._search("customer", domain, limit=None, idempotent=True)
        return [r for r in rows if _same_customer(r, customer)]

    async def get(self, kind: str, ledger_id: str) -> LedgerRecord | None:
        try:
            ident = _int(ledger_id)
        except PermanentLedgerError:
            return None
        rows = await self._search(kind, [["id", "=", ident]], limit=1, idempotent=True, full=True)
        if rows and kind == "invoice":  # the sync reads an invoice before paying it
            self._prefetched.keep(kind, rows[0].ledger_id, rows[0])
        return rows[0] if rows else None

    async def list_all(self, kind: str) -> AsyncIterator[LedgerRecord]:
        async for record in self._pages(kind, _listed(kind)):
            yield record

    async def changes(self, since: datetime) -> AsyncIterator[LedgerRecord]:
        """Every record of our kinds whose ``write_date`` is at or after ``since``
        truncated to the second (so a record may come twice across runs, never zero)."""
        cursor = format_datetime(since)
        for kind in self.capabilities.kinds:
            async for record in self._pages(kind, [*_listed(kind), ["write_date", ">=", cursor]]):
                yield record

    async def aclose(self) -> None:
        await self._rpc.aclose()

    # ------------------------------------------------------- write machinery

    async def _once(self, kind: str, external_ref: str, key: str, step: Step) -> PushResult:
        """Write; look our reference up first only when an earlier write with ``key`` may
        have landed unseen (``WriteMemo``), and before each retry of a lost answer."""
        return await self._writes.once(
            key, lambda look: self._tried(kind, external_ref, step, look)
        )

    async def _tried(self, kind: str, external_ref: str, step: Step, look: bool) -> PushResult:
        async def attempt(number: int, _: TransientLedgerError | None) -> PushResult:
            unsure = look or number > 1
            found = await self._lookup(kind, external_ref, idempotent=False) if unsure else None
            record = await step(found)
            return PushResult(record.ledger_id, record.version, recovered=found is not None)

        return await self._retrying(attempt)

    async def _change(
        self,
        kind: str,
        ledger_id: str,
        version: str | None,
        step: Callable[[LedgerRecord], Awaitable[LedgerRecord]],
    ) -> PushResult:
        """Compare ``version`` with the record's (first attempt only: a retry may meet
        our own write), then ``step``; retried on a lost answer."""

        async def attempt(number: int, _: TransientLedgerError | None) -> PushResult:
            if number == 1:
                current = await self._current(kind, _int(ledger_id))
                _check_version(kind, _int(ledger_id), version, current)
            else:
                current = await self._fetch(kind, _int(ledger_id), idempotent=False)
            record = await step(current)
            return PushResult(record.ledger_id, record.version)

        return await self._retrying(attempt)

    async def _current(self, kind: str, ident: int) -> LedgerRecord:
        """The record as the batch's bulk read found it (``prefetch``; served once, at
        most ``MAX_AGE_S`` old), else as Odoo holds it now."""
        kept = self._prefetched.take(kind, str(ident))
        return kept if kept is not None else await self._fetch(kind, ident, idempotent=False)

    async def _retrying(self, operation: Operation[T]) -> T:
        """``operation`` until it returns or the retry policy gives up (a lost answer,
        a 5xx or a throttle is tried again; anything else goes to the caller)."""
        return await self._retries.run(operation, label="odoo")

    # ------------------------------------------------------ multi-write steps

    async def _journaled(self, steps: WriteSteps | None, key: str, run: Run) -> PushResult:
        """A multi-write operation. With the sync's journal it runs once: a step that fails
        is logged and retried by the sync, which resumes through the journal. Without one,
        it is retried here through a journal kept in memory, resumed the same way."""
        if steps is not None:
            return await run(steps)
        return await self._writes.once(key, lambda look: self._retried(RetrySteps(key, look), run))

    async def _retried(self, journal: RetrySteps, run: Run) -> PushResult:
        return await self._retrying(lambda _n, _e: run(journal))

    async def _created(
        self, journal: WriteSteps, kind: str, ref: str, vals: dict[str, Any], calls: Calls
    ) -> StepResult:
        """Step ``create``: a draft carrying our reference. Odoo has no idempotency key:
        the journal asks ``find`` (our reference) before writing again a create whose
        answer was lost, so the write itself sends only the create."""
        if kind in DOCUMENTS:
            vals = vals | {"move_type": self.mapping.move_types[kind]}

        async def write(key: str) -> StepResult:
            ident = await calls.create(kind, vals)
            self._drafts.add(ident)
            return StepResult(str(ident))

        return await journal.step("create", write, self._found(kind, ref))

    def _found(self, kind: str, ref: str) -> StepFind:
        async def find() -> StepResult | None:
            found = await self._lookup(kind, ref, idempotent=False)
            return None if found is None else StepResult(found.ledger_id, FOUND)

        return find

    async def _posted(self, journal: WriteSteps, kind: str, made: StepResult, calls: Calls) -> None:
        """Step ``post``: ``action_post`` (a move's or a payment's) while it is a draft:
        read first unless this process made the draft just before."""
        ident = _int(made.ledger_id)

        async def write(key: str) -> StepResult:
            fresh = ident in self._drafts
            self._drafts.discard(ident)
            if fresh or (await self._fetch(kind, ident, idempotent=False)).status == "draft":
                await calls.post(kind, ident)
            return StepResult(made.ledger_id)

        async def find() -> StepResult | None:
            draft = (await self._fetch(kind, ident, idempotent=False)).status == "draft"
            return None if draft else StepResult(made.ledger_id)

        await journal.step("post", write, find)

    async def _applied(self, journal: WriteSteps, note_id: int, invoice_id: int) -> None:
        """Step ``apply``: the credit note's receivable item reconciled with the invoice's
        (``js_assign_outstanding_line``) unless it already is, or either has nothing open
        (Odoo would reconcile nothing: the sync then meant to apply nothing)."""

        async def write(key: str) -> StepResult:
            line = await self._credit_line("credit_note", note_id)
            if await self._credit_applied(line, invoice_id) == 0:
                invoice = await self._fetch("invoice", invoice_id, idempotent=False)
                if to_decimal(line.get("amount_residual") or 0) != 0 and invoice.balance:
                    await self._write(
                        "invoice",
                        "js_assign_outstanding_line",
                        ids=[invoice_id],
                        line_id=line["id"],
                    )
            return StepResult(str(note_id))

        async def find() -> StepResult | None:
            line = await self._credit_line("credit_note", note_id)
            applied = await self._credit_applied(line, invoice_id)
            return StepResult(str(note_id)) if applied else None

        await journal.step("apply", write, find)

    async def _credit_applied(self, line: dict[str, Any], invoice_id: int) -> Decimal:
        """What the credit receivable item ``line`` settles of the invoice."""
        ident = int(line["id"])
        applied = await applications(self._rpc, {ident: 0}, refund=False, idempotent=False)
        return sum((a for t, a in applied.get(0, ()) if t == str(invoice_id)), Decimal(0))

    async def _drafted(self, journal: WriteSteps, ident: int, version: str | None) -> StepResult:
        """Step ``draft``: ``button_draft`` on the posted invoice, after checking that it is
        at ``version`` and that nothing is reconciled with it (resetting it would undo
        those payments and credits)."""

        async def write(key: str) -> StepResult:
            current = await self._current("invoice", ident)
            _check_version("invoice", ident, version, current)
            _check_unpaid(current)
            if current.status != "draft":
                await self._write("invoice", "button_draft", ids=[ident])
            return StepResult(str(ident))

        async def find() -> StepResult | None:
            draft = (await self._fetch("invoice", ident, idempotent=False)).status == "draft"
            return StepResult(str(ident)) if draft else None

        return await journal.step("draft", write, find)

    async def _rewritten(
        self, journal: WriteSteps, ident: int, vals: dict[str, Any], total: Decimal
    ) -> None:
        """Step ``write``: the draft's lines replaced. Writing a draft again is harmless,
        so a draft is written again; a posted invoice with our total has had it."""

        async def write(key: str) -> StepResult:
            await self._write("invoice", "write", ids=[ident], vals=vals)
            return StepResult(str(ident))

        async def find() -> StepResult | None:
            current = await self._fetch("invoice", ident, idempotent=False)
            done = current.status != "draft" and current.total == total
            return StepResult(str(ident)) if done else None

        await journal.step("write", write, find)

    async def _unapplied_payment(self, req: ports.PaymentWrite) -> PushResult:
        """``account.payment`` ``create`` (a draft) then ``action_post``: two steps."""
        ref = req.external_ref
        vals = await self._payment_vals(req.payment, req.customer_ledger_id, ref)
        run = self._payment_run(ref, vals, self._one_by_one)
        return await self._journaled(req.steps, req.idempotency_key, run)

    async def _payment_vals(
        self, payment: Payment, customer_ledger_id: str, ref: str
    ) -> dict[str, Any]:
        return self.mapping.payment_vals(
            payment,
            customer_id=_int(customer_ledger_id),
            currency_id=await self._currency_id(payment.currency),
            external_ref=ref,
            ref_field=await self._ref_field("payment"),
        )

    def _payment_run(self, ref: str, vals: dict[str, Any], calls: Calls) -> Run:
        async def run(journal: WriteSteps) -> PushResult:
            made = await self._created(journal, "payment", ref, vals, calls)
            await self._posted(journal, "payment", made, calls)
            return await self._result("payment", made, calls)

        return run

    async def _result(
        self, kind: str, made: StepResult, calls: Calls, document: Document | None = None
    ) -> PushResult:
        """What the step left, read back; a document must hold our total and tax (what
        Odoo computed from the taxes we chose), else it landed wrong."""
        record = await calls.read(kind, _int(made.ledger_id))
        if document is not None and (record.total, record.tax) != (
            document.total,
            document.tax_total,
        ):
            raise PermanentLedgerError(
                f"Odoo {kind} {record.name} totals {record.total} with tax {record.tax}, ours "
                f"{document.number} {document.total} with tax {document.tax_total}: correct "
                "it in Odoo or in the source",
                code="syncledger.total_mismatch",
            )
        return PushResult(record.ledger_id, record.version, recovered=made.detail == FOUND)

    async def _write(self, kind: str, method: str, **params: Any) -> Any:
        for ident in params.get("ids", ()):
            self._prefetched.forget(kind, str(ident))  # a copy kept of it is old now
        model = self.mapping.models[kind]
        return await self._rpc.call(model, method, idempotent=False, **params)

    async def _document_vals(
        self, kind: str, document: Document, customer_ledger_id: str, external_ref: str
    ) -> dict[str, Any]:
        currency_id = await self._currency_id(document.currency)
        rate_field = (await self._rpc.dialect()).rate_field
        if rate_field is None and document.exchange_rate is not None:
            await self._check_table_rate(document, currency_id)
        return self.mapping.document_vals(
            kind,
            document,
            customer_id=_int(customer_ledger_id),
            currency_id=currency_id,
            external_ref=external_ref,
            taxes=await self._sale_taxes() if document.tax_total else (),
            products=await self._items.products_for(document),
            rate_field=rate_field,
        )

    async def _check_table_rate(self, document: Document, currency_id: int) -> None:
        """Odoo 17 converts at its own rate for the document's date: refuse unless that
        rate is the source's (``odoo_versions``)."""
        assert document.exchange_rate is not None
        day = document.issue_date.isoformat()
        [row] = await self._rpc.call(
            "res.currency",
            "read",
            ids=[currency_id],
            fields=["rate"],
            context={"date": day},
            idempotent=True,
        )
        theirs, ours = to_decimal(row["rate"]), odoo_rate(document.exchange_rate)
        if not same_rate(theirs, ours):
            raise PermanentLedgerError(
                f"{document.kind} {document.number}: Odoo 17 converts {document.currency} on "
                f"{day} at {theirs} per company currency unit, the source at {ours} (1 "
                f"{document.currency} = {document.exchange_rate}); Odoo 17 takes no rate per "
                f"invoice: enter {ours} for {day} under Accounting > Configuration > "
                "Currencies, or upgrade to Odoo 18",
                code="syncledger.exchange_rate_differs",
            )

    async def _ref_field(self, kind: str) -> str:
        """The field holding our reference on ``kind``'s model, in the server's release."""
        model = self.mapping.models[kind]
        return (await self._rpc.dialect()).field(model, self.mapping.ref_field[kind])

    async def _register(
        self, kind: str, vals: dict[str, Any], context: dict[str, Any], ref: str
    ) -> LedgerRecord:
        """``account.payment.register`` on ``context``'s records, then
        ``action_create_payments``: one transaction creates, posts and reconciles."""
        wizard = self.mapping.models["payment"] + ".register"
        [wizard_id] = await self._rpc.call(
            wizard, "create", vals_list=[vals], context=context, idempotent=False
        )
        action = await self._rpc.call(
            wizard, "action_create_payments", ids=[wizard_id], idempotent=False
        )
        ident = action.get("res_id") if isinstance(action, dict) else None
        found = await (
            self._fetch(kind, ident) if ident else self._lookup(kind, ref, idempotent=False)
        )
        if found is None:
            raise TransientLedgerError(f"Odoo registered the {kind} but it cannot be read back yet")
        return found

    async def _posted_payment(self, record: LedgerRecord) -> LedgerRecord:
        """Post a payment left in draft (by an earlier try that stopped after ``create``)."""
        if record.status != "draft":
            return record
        ident = _int(record.ledger_id)
        await self._write("payment", "action_post", ids=[ident])
        return await self._fetch("payment", ident, idempotent=False)

    async def _credit_line(
        self, credit_kind: Literal["payment", "credit_note"], credit_id: int
    ) -> dict[str, Any]:
        """The receivable journal item holding a payment's or a credit note's credit."""
        owner = "payment_id" if credit_kind == "payment" else "move_id"
        rows = await self._rpc.call(
            "account.move.line",
            "search_read",
            domain=[[owner, "=", credit_id], RECEIVABLE],
            fields=list(CREDIT_LINE_FIELDS),
            order="id asc",
            limit=1,
            idempotent=False,
        )
        if not rows:
            raise PermanentLedgerError(
                f"Odoo has no posted {credit_kind} {credit_id} with a receivable item holding "
                "its credit: check the link to the credit",
                code="odoo.exceptions.MissingError",
            )
        return dict(rows[0])

    # -------------------------------------------------------- read machinery

    async def _lookup(
        self, kind: str, external_ref: str, *, idempotent: bool, full: bool = False
    ) -> LedgerRecord | None:
        domain = [[await self._ref_field(kind), "=", external_ref]]
        rows = await self._search(
            kind, domain, limit=1, idempotent=idempotent, order="id desc", full=full
        )
        return rows[0] if rows else None

    async def _fetch(self, kind: str, ident: int, *, idempotent: bool = True) -> LedgerRecord:
        rows = await self._search(kind, [["id", "=", ident]], limit=1, idempotent=idempotent)
        if not rows:
            raise PermanentLedgerError(
                f"Odoo has no {kind} {ident}: it was deleted or never created; check the link",
                code="odoo.exceptions.MissingError",
            )
        return rows[0]

    async def _search(
        self,
        kind: str,
        domain: list[Any],
        *,
        limit: int | None,
        idempotent: bool,
        order: str = "id asc",
        full: bool = False,
    ) -> list[LedgerRecord]:
        """``full`` (the port's reads): fill invoices' and credit notes' ``line_items`` (one
        more read) and payments', refunds' and credit notes' ``applied_to`` (two or three
        more); the write paths' own reads skip them."""
        ref = await self._ref_field(kind)
        params: dict[str, Any] = {
            "domain": self.mapping.domain(kind) + domain,
            "fields": read_fields(kind, ref),
            "order": order,
        }
        if limit:
            params["limit"] = limit
        model = self.mapping.models[kind]
        rows = await self._rpc.call(
            model, "search_read", context=ALL, idempotent=idempotent, **params
        )
        credited = await self._receivables(kind, rows, idempotent=idempotent, full=full)
        credits = credits_by_payment(credited) if kind == "payment" else {}
        applied = await self._applications(kind, credited, idempotent) if full else {}
        booked = await self._booked(rows, idempotent) if full and kind in DOCUMENTS else {}
        return [
            to_record(
                kind,
                raw,
                ref,
                credit=credits.get(int(raw["id"])),
                line_items=booked.get(int(raw["id"]), ()),
                applied_to=applied.get(int(raw["id"]), ()),
            )
            for raw in rows
        ]

    async def _booked(
        self, rows: list[dict[str, Any]], idempotent: bool
    ) -> dict[int, tuple[str | None, ...]]:
        """Documents' ``line_items``: their invoice lines in one read, product ids mapped
        to item codes (``odoo_items``)."""
        line_ids = [int(i) for raw in rows for i in raw.get("invoice_line_ids") or []]
        if not line_ids:
            return {}
        lines = await self._rpc.call(
            "account.move.line",
            "search_read",
            domain=[["id", "in", line_ids]],
            fields=list(BOOKED_LINE_FIELDS),
            idempotent=idempotent,
        )
        codes = await self._items.codes_of(lines, idempotent)
        by_id = {int(line["id"]): line for line in lines}
        label = self.mapping.discount_label
        return {
            int(raw["id"]): booked_items(raw.get("invoice_line_ids") or [], by_id, codes, label)
            for raw in rows
        }

    async def _receivables(
        self, kind: str, rows: list[dict[str, Any]], *, idempotent: bool, full: bool
    ) -> list[dict[str, Any]]:
        """The receivable journal items of payments (their outstanding credit: always
        read) and, on full reads, of refunds and credit notes (their applications)."""
        owner = OWNER_FIELD.get(kind)
        ids = [int(raw["id"]) for raw in rows]
        if owner is None or not ids or (kind != "payment" and not full):
            return []
        lines: list[dict[str, Any]] = await self._rpc.call(
            "account.move.line",
            "search_read",
            domain=[[owner, "in", ids], RECEIVABLE],
            fields=list(CREDIT_LINE_FIELDS),
            idempotent=idempotent,
        )
        return lines

    async def _applications(
        self, kind: str, lines: list[dict[str, Any]], idempotent: bool
    ) -> dict[int, Applied]:
        """``applied_to`` of the records owning the receivable items ``lines``."""
        owner = OWNER_FIELD.get(kind)
        if owner is None:
            return {}
        owners = {int(ln["id"]): m2o_id(ln.get(owner)) for ln in lines}
        mine = {line: rec for line, rec in owners.items() if rec is not None}
        return await applications(self._rpc, mine, refund=kind == "refund", idempotent=idempotent)

    async def _pages(self, kind: str, domain: list[Any]) -> AsyncIterator[LedgerRecord]:
        """Keyset pages by id: a record changed meanwhile is never skipped."""

        async def read(last: int) -> Page[LedgerRecord, int]:
            rows = await self._search(
                kind, [*domain, ["id", ">", last]], limit=self._page, idempotent=True, full=True
            )
            last_page = len(rows) < self._page
            return Page(rows, None if last_page else int(rows[-1].ledger_id))

        async for record in walk(read, 0):
            yield record

    async def _currency_id(self, code: str) -> int:
        if code not in self._currencies:
            rows = await self._rpc.call(
                "res.currency",
                "search_read",
                domain=[["name", "=", code]],
                fields=["name"],
                context=ALL,
                idempotent=True,
            )
            if not rows:
                raise PermanentLedgerError(
                    f"Odoo has no currency {code}: activate it under Accounting > Settings",
                    code="syncledger.unknown_currency",
                )
            self._currencies[code] = int(rows[0]["id"])
        return self._currencies[code]

    async def _sale_taxes(self) -> list[SaleTax]:
        if self._taxes is None:
            domain: list[Any] = [["type_tax_use", "=", "sale"], ["amount_type", "=", "percent"]]
            if self.mapping.tax_ids:
                domain.append(["id", "in", list(self.mapping.tax_ids)])
            rows = await self._rpc.call(
                "account.tax",
                "search_read",
                domain=domain,
                fields=["name", "amount", "price_include"],
                order="id asc",
                idempotent=True,
            )
            self._taxes = [
                SaleTax(int(r["id"]), Decimal(r["amount"]))
                for r in rows
                if not r.get("price_include")
            ]
        return self._taxes


class RetrySteps:
    """The adapter's own journal when its caller keeps none: in memory across its retries,
    resumed the way the sync resumes a push (a step asked for whose answer was lost is
    looked for before it is written again; a step done is not run again)."""

    def __init__(self, key: str, unsure: bool = False) -> None:
        """``unsure``: an earlier run with ``key`` may have written unseen, so every step
        is looked for before it is written."""
        self._key = key
        self._unsure = unsure
        self._done: dict[str, StepResult] = {}
        self._asked: set[str] = set()

    async def step(self, name: str, write: StepWrite, find: StepFind) -> StepResult:
        if name in self._done:
            return self._done[name]
        found = await find() if self._unsure or name in self._asked else None
        if found is None:
            self._asked.add(name)
            found = await write(step_key(self._key, name))
        self._done[name] = found
        return found


def _replacing(vals: dict[str, Any]) -> dict[str, Any]:
    """A document's values as a ``write`` on its draft: every line replaced."""
    kept = {k: v for k, v in vals.items() if k != "move_type"}
    return kept | {"invoice_line_ids": [[5, 0, 0], *vals["invoice_line_ids"]]}


def _check_version(kind: str, ident: int, version: str | None, current: LedgerRecord) -> None:
    if version is not None and not same_version(current.version or "", version):
        raise StaleVersionError(
            f"Odoo {kind} {ident} changed since it was read (version {version} is now "
            f"{current.version}): read it again and retry"
        )


def _check_unpaid(current: LedgerRecord) -> None:
    if current.status in ("paid", "partially_paid"):
        raise PermanentLedgerError(
            f"Odoo invoice {current.name} has payments or credits applied: resetting it to "
            "draft would unreconcile them; remove them in Odoo first",
            code="syncledger.invoice_has_payments",
        )


def _capabilities(rates: tuple[Rate, ...]) -> LedgerCapabilities:
    per_minute = min((r.limit * 60 / r.per for r in rates if r.per >= 60), default=120.0)
    per_second = min((r.limit / r.per for r in rates if r.per <= 1), default=None)
    return LedgerCapabilities(
        batch_size=BATCH,
        requests_per_minute=int(per_minute),
        requests_per_second=per_second,
        idempotency="reference lookup (ref / memo)",
        delta="write_date search_read",
        kinds=("customer", "invoice", "payment", "credit_note", "refund"),
        matches_tax_id=True,
    )


def _listed(kind: str) -> list[Any]:
    """Listings and deltas hold partners that are customers (``customer_rank`` > 0);
    lookups and matching search every partner."""
    return [["customer_rank", ">", 0]] if kind == "customer" else []


def _same_customer(record: LedgerRecord, customer: Customer) -> bool:
    same_name = (record.name or "").casefold() == customer.name.casefold()
    email = str(record.raw.get("email") or "").casefold()
    same_email = bool(customer.email) and email == (customer.email or "").casefold()
    vat = tax_key(customer.tax_id)
    same_vat = vat is not None and tax_key(record.raw.get("vat")) == vat
    return same_name or same_email or same_vat


def _maybe_int(ledger_id: object) -> int | None:
    try:
        return int(str(ledger_id))
    except ValueError:
        return None


def _int(ledger_id: object) -> int:
    try:
        return int(str(ledger_id))
    except ValueError:
        raise PermanentLedgerError(
            f"{ledger_id!r} is not an Odoo record id (a whole number)", code="syncledger.bad_id"
        ) from None
