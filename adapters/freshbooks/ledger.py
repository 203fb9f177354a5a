"""FreshBooks Accounting API ledger adapter: ``FreshBooksLedger`` implements ``LedgerAdapter``.

Sources. FreshBooks publishes no machine-readable schema. What is sent is checked against
FreshBooks' own SDKs, read at these commits: the official Node SDK
(github.com/freshbooks/freshbooks-nodejs-sdk @91cfeeed, ``packages/api/src/models/*.ts``:
the ``transform*Request`` functions list what it writes, ``PaymentType`` the payment
types; ``packages/api/src/APIClient.ts`` the token grants) and the Python SDK FreshBooks
documents (github.com/amcintosh/freshbooks-python-sdk @5f6f48d4, ``freshbooks/client.py``);
and against the API pages (freshbooks.com/api/payments, /api/credits, /api/authentication).
The README's support matrix says which constructs rest on them and which are assumptions.
One disagreement is left open: the Node SDK wraps a credit note it writes, and expects
one it reads, in ``credit_notes``; the API pages' create example uses ``credit_note``,
which is what is sent and read. To verify on a live account.

Idempotency. FreshBooks has no idempotency key. Every record we create carries our source
reference (``syncledger-ref: <ref>`` in the client ``note``, the invoice / credit note
``notes``, the payment ``note``; see ``freshbooks_mapping``) and the adapter looks it up
only where a create's outcome is unknown (a request is the scarce resource):

- before a create whose key this process sent without learning the outcome
  (``WriteMemo``; after a crash the sync asks ``find`` or the step's find itself), so a
  retry returns the earlier record; a key already answered returns that answer;
- before resending a create whose answer was lost (timeout, 5xx, 429), for every kind
  except invoices: an invoice is resent as is, because FreshBooks refuses a second invoice
  with the same number (deleted ones included), and a refusal of a create is resolved by
  reading the invoice with that number back: ours (it carries our reference) is returned
  as recovered, anyone else's surfaces as the refusal. A refused client create is resolved
  the same way through our reference (FreshBooks keys clients by email).

Versions. FreshBooks has no conditional update. The version of a record is its ``updated``
timestamp plus a digest of its content (``version_of``); an update or void with a version
first reads the record and refuses with ``StaleVersionError`` when it moved on. A change
landing between that read and our write is not detected: FreshBooks gives no way to.

Bulk reads before updates (``core.ports.Prefetcher``). Before a batch, the worker names
the clients it will update; ``prefetch`` reads them in one request per 100 ids with the
clients' documented In search ``search[userids][]=<id>`` (freshbooks.com/api/clients,
"Searches / Filters": In, ``userids``, field ``userid``, "input several userids to be
matched", one per query argument as freshbooks.com/api/parameters says; a client's
``userid`` is its ``id``; the ``[]`` form is how the Python SDK FreshBooks documents
writes an In search, ``FilterBuilder.in_list``), and each update takes its client from
that read instead of reading it (``adapters.prefetch``: once, within 60 s). A change made
in FreshBooks after the bulk read and before our write is therefore not detected: the
window above widens to the prefetch's age (at most 60 s). A change made before the bulk
read shows in it and is refused as stale as before. Invoices are not prefetched:
FreshBooks documents no In search on invoice ids, and an update or void of an invoice
reads it (one request) as before.

Reads the sync just made. Before a payment or a credit note with an invoice, the sync
reads the invoice (``get``) to decide how much of it the invoice takes; the adapter's own
check of that part (``apply_payment``, the credit application) is served from that read
when it is at most 60 s old and nothing this adapter wrote since touched the invoice (a
payment or credit application on it, an update or void of it), instead of reading it a
second time. The window in which a payment made in FreshBooks meanwhile goes unnoticed
widens by the same gap (the sync's read to our write, one event's handling).

Void. FreshBooks cannot void: the invoice is deleted (``vis_state`` 1). It stays readable,
keeps its amounts in FreshBooks, and is reported here as ``void`` with a zero balance.

Delta. ``search[updated_min]`` has day granularity (US/Eastern dates): ``changes`` asks
for the day of ``since`` and keeps records whose ``updated`` (to the second) is not
before ``since`` truncated to the second.

Pagination: ``page`` / ``per_page`` (≤ 100), following ``pages``.

Rate limit: "100 requests per 60 s" is unverified (a secondary source only): the limiter's
rates are a parameter, by default 100/min per account.

Exchange rates: FreshBooks documents carry none, so an invoice's ``exchange_rate`` is not
sent (no rate, never a default of 1: FreshBooks converts in its own reports).

Overpayments. FreshBooks applies a payment to what its invoice still owes and keeps the
excess as an overpayment credit for the client (a credit note of ``credit_type``
``overpayment``, named by the payment's ``overpaymentid``); it cannot be told to apply
less. ``apply_payment`` therefore sends the full amount received and first checks that
``applied`` is exactly that part (``min(amount, invoice balance)``), refusing anything
else before writing. ``get("payment")`` answers ``total`` = the payment's ``amount`` and
``balance`` = its overpayment credit's ``outstanding`` (one more read). Whether FreshBooks
stores the full amount on the payment or only the part that went to the invoice is not
documented; the sandbox stores the full amount. Overpayment credits are listed among the
credit notes (as FreshBooks lists them), without a reference of ours; an application
changes that credit note, not the payment, so ``changes`` reports the credit note rather
than the payment. What is left of a credit is read from the credit note's
``outstanding``: an assumption (the official Node SDK's ``CreditNote`` model has
``amount`` and ``paid`` but no ``outstanding``), to verify on a live account.

Refunds: refused (``syncledger.refund_not_supported``), before anything is sent.
FreshBooks documents no API construct that pays a client's credit back: ``Refund`` is no
payment type of the official SDK (``PaymentType``: Check, Credit, Cash, Bank Transfer,
Credit Card, Debit, PayPal, 2Checkout, VISA, MASTERCARD, DISCOVER, AMEX, DINERS, JCB,
ACH, Other), and FreshBooks' refunds are of online payments, through the payment gateway
in its web app (support article "How do I refund a payment?"). A refund of a FreshBooks
credit is recorded there by hand; FreshBooks holds no refund syncledger could read, so
``get`` / ``find`` / ``list_all`` of ``refund`` find nothing.

Multi-write operations. A credit note for an invoice is two writes, each a step of the
record's journal (``WriteSteps``): the credit note (``credit_note``), then a payment of
type Credit on the invoice (``apply``) for its total, at most what the invoice still owes
(as the sync intends; nothing is written when the invoice owes nothing). The payment
names no credit note: ``creditid`` is not among the payment fields the official SDK
writes (``transformPaymentRequest``), only among those FreshBooks answers. A payment of
type Credit draws on the client's credit (``from_credit``: "converted from a credit on a
client's account"; support article "How do Credits work?": a payment of type Credit is
how credit is applied to an invoice, and FreshBooks picks the credit). Which of several
credits FreshBooks draws on is not documented, so the application is refused
(``syncledger.credit_not_selectable``, the credit note stays created and unapplied)
while the client holds any other open credit in that currency: apply it in FreshBooks
by hand. That FreshBooks' API draws on the client's credit for a payment of type Credit
as its web app does is an assumption to verify on a live account; if it drew on another
credit, the credit note would read back unapplied (a reconciliation mismatch), never as
applied. A step's ``find`` reads FreshBooks: the credit note by reference, the
application by ``search[notes]`` on our reference (a payment of type Credit on that
invoice). Under a journal each write is sent once and a failure goes back to the journal
(its next run asks ``find`` first); without one a lost answer is looked up and resent
here, as for every create. Every other write is one request and is not journaled.

Applications (``LedgerRecord.applied_to``, ``freshbooks_links``): FreshBooks keeps them
on payments (freshbooks.com/api/payments: ``invoiceid``, ``creditid``, ``from_credit``,
``overpaymentid``). A payment is applied to its ``invoiceid`` for its ``amount`` less
its overpayment credit's ``amount``; a credit note to the ``invoiceid`` of each live
payment FreshBooks answers with it in ``creditid``. ``get`` and ``find`` of a credit note
read its client's payments (``search[clientid]``); ``list_all`` and ``changes`` read the
account's payments once per call.

Tax read back (``LedgerRecord.tax``): FreshBooks computes a line's tax from its
percentage; an invoice's or credit note's tax is its ``amount`` less its lines'
``amount`` (``freshbooks_mapping.document_tax``), so a tax FreshBooks did not compute as
intended shows as a mismatch.

Token refresh: every grant sends the app's ``redirect_uri`` with the client id and
secret in the body, as both SDKs do (Node ``APIClient.authorizeCall``, Python
``Client._authorize_call``; both refuse to refresh without one, and so does
``FreshBooksOAuthClient``).

Items: FreshBooks lines carry no item id, only a ``name``: a line booked to an item is
named as the item, and the adapter itself refuses a code naming no item of the account
(``unknown_item``), FreshBooks being unable to (``freshbooks_items``).

Tax ids: clients keep ``tax_id`` in ``vat_number``, which no documented search covers:
``match_customer`` lists every client and compares ``vat_number`` ignoring case, spaces,
dots and dashes (a full scan of the account's clients per match with a tax id).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import quote, urlencode

from typing_extensions import Unpack

from syncledger.adapters.freshbooks.customer_details import (
    address_as_written,
    address_parts,
    customer_details,
)
from syncledger.adapters.freshbooks.errors import FreshBooksNotFoundError, translate_freshbooks
from syncledger.adapters.freshbooks.items import ITEMS_PATH, FreshBooksItems, result_of
from syncledger.adapters.freshbooks.links import Links, amount_of, of_payment
from syncledger.adapters.freshbooks.mapping import (
    OVERPAYMENT_CREDIT,
    FreshBooksMapping,
    credit_left,
    eastern_date,
    load_mapping,
    tax_key,
    to_record,
)
from syncledger.adapters.http import LedgerHttp, RetryPolicy
from syncledger.adapters.kit.connect import HttpOptions, HttpSpec
from syncledger.adapters.kit.details import Details, ReadsCustomerDetails
from syncledger.adapters.kit.paging import Page, walk
from syncledger.adapters.kit.retries import Retries, write_or_find
from syncledger.adapters.oauth2 import Auth, OAuth2Client
from syncledger.adapters.prefetch import Prefetched
from syncledger.adapters.ratelimit import Rate
from syncledger.adapters.writes import WriteMemo
from syncledger.core import ports
from syncledger.core.errors import (
    ConfigurationError,
    PermanentLedgerError,
    StaleVersionError,
    TransientLedgerError,
)
from syncledger.core.model import CreditNote, Customer, Payment
from syncledger.core.ports import (
    LedgerCapabilities,
    LedgerItem,
    LedgerRecord,
    PushResult,
    StepFind,
    StepResult,
    StepWrite,
)

PRODUCTION_URL = "https://api.freshbooks.com"
TOKEN_URL = "https://api.freshbooks.com/auth/oauth/token"  # noqa: S105 (a URL)
DEFAULT_REQUESTS_PER_MINUTE = 100  # unverified: a secondary source only
MAX_PER_PAGE = 100
FRESHBOOKS_HTTP = HttpSpec("freshbooks", translate_freshbooks)


@dataclass(frozen=True, slots=True)
class Resource:
    path: str  # under /accounting/account/{account_id}/
    single: str  # body / result key of one record
    plural: str  # result key of a list
    lines: bool = False  # ask for lines (include[]=lines)


RESOURCES = {
    "customer": Resource("users/clients", "client", "clients"),
    "invoice": Resource("invoices/invoices", "invoice", "invoices", lines=True),
    "payment": Resource("payments/payments", "payment", "payments"),
    "credit_note": Resource("credit_notes/credit_notes", "credit_note", "credit_notes", True),
}
#: kinds found through a documented search on our reference; the others are scanned
REF_SEARCH = {"customer": "note_like", "payment": "notes"}
#: kinds of the port FreshBooks holds none of (refunds are refused: see the docstring)
NOT_HELD = ("refund",)
#: kinds ``prefetch`` reads in bulk: the documented In search on their ids
IN_SEARCH = {"customer": "userids"}


@dataclass(frozen=True, slots=True)
class FreshBooksOAuthClient(OAuth2Client):
    """FreshBooks' token endpoint takes the client id and secret in the body, and the
    app's ``redirect_uri`` with them: both SDKs send it on every grant and refuse to
    refresh without one (see the module docstring), and so does this client."""

    credentials_in: Literal["basic", "body"] = "body"
    redirect_uri: str = ""

    def request(self, refresh_token: str) -> tuple[dict[str, str], dict[str, str]]:
        if not self.redirect_uri:
            raise ConfigurationError(
                "FreshBooks takes the app's redirect URI with every token refresh: set "
                "SYNCLEDGER_FRESHBOOKS_REDIRECT_URI to the redirect URI registered for the app"
            )
        headers, form = OAuth2Client.request(self, refresh_token)
        form["redirect_uri"] = self.redirect_uri
        return headers, form


def capabilities(requests_per_minute: int = DEFAULT_REQUESTS_PER_MINUTE) -> LedgerCapabilities:
    return LedgerCapabilities(
        batch_size=1,
        requests_per_minute=requests_per_minute,
        requests_per_second=None,
        idempotency="reference lookup (notes) + unique invoice number",
        delta="search[updated_min] (day granularity) + updated filter",
        kinds=("customer", "invoice", "payment", "credit_note"),
        matches_tax_id=True,  # by listing clients: vat_number has no search
    )


class FreshBooksLedger(ReadsCustomerDetails[FreshBooksMapping]):
    """FreshBooks for one account. Build with ``FreshBooksLedger.connect``."""

    ledger = "freshbooks"
    details = Details(customer_details, address_parts, address_as_written)

    def __init__(
        self,
        http: LedgerHttp,
        *,
        account_id: str,
        mapping: FreshBooksMapping | None = None,
        retry: RetryPolicy | None = None,
        requests_per_minute: int = DEFAULT_REQUESTS_PER_MINUTE,
        find_window: timedelta | None = timedelta(days=30),
        page_size: int = MAX_PER_PAGE,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.account_id = account_id
        self.mapping = mapping or load_mapping()
        self.capabilities = capabilities(requests_per_minute)
        self._http = http
        self._retries = Retries.of(retry, sleep)
        self._find_window = find_window
        self._page = min(page_size, MAX_PER_PAGE)
        self._now = now
        self._items = FreshBooksItems(http, self._url(ITEMS_PATH), page_size=self._page, now=now)
        self._writes = WriteMemo()
        #: raw records a bulk read found, each served once to an update's version check
        self._prefetched: Prefetched[dict[str, Any]] = Prefetched()
        #: invoices ``get`` just read, each served once to a payment's or credit's check
        self._read: Prefetched[LedgerRecord] = Prefetched()

    @classmethod
    def connect(
        cls,
        *,
        account_id: str,
        auth: Auth,
        base_url: str = PRODUCTION_URL,
        requests_per_minute: int = DEFAULT_REQUESTS_PER_MINUTE,
        mapping: FreshBooksMapping | None = None,
        find_window: timedelta | None = timedelta(days=30),
        page_size: int = MAX_PER_PAGE,
        **options: Unpack[HttpOptions],
    ) -> FreshBooksLedger:
        """``limiter``: the account's shared one (``RateLimiters.for_tenant``); by default a
        private limiter at ``requests_per_minute``."""
        rates = (Rate(requests_per_minute, 60.0),)
        http = FRESHBOOKS_HTTP.open(base_url=base_url, auth=auth, rates=rates, **options)
        return cls(
            http,
            account_id=account_id,
            mapping=mapping,
            retry=options.get("retry"),
            requests_per_minute=requests_per_minute,
            find_window=find_window,
            page_size=page_size,
        )

    # ------------------------------------------------------------------ items

    async def find_item(self, code: str) -> LedgerItem | None:
        """The active item named ``code``, else the one whose id is ``code`` (cached; see
        ``freshbooks_items``)."""
        return await self._items.find(code)

    async def create_item(self, req: ports.ItemWrite) -> LedgerItem:
        """The item named ``code``, created (``{"name": code}``) when there is none.
        FreshBooks has no idempotency key: a create whose answer was lost raises
        ``TransientLedgerError`` without being sent again, and the next call finds it."""
        return await self._items.create(req.code)

    # ------------------------------------------------------------------ writes

    async def create_customer(self, req: ports.CustomerWrite) -> PushResult:
        body = self.mapping.client_body(req.customer, req.external_ref)
        return await self._create_once("customer", body, req.external_ref, req.idempotency_key)

    async def create_invoice(self, req: ports.InvoiceWrite) -> PushResult:
        items = await self._items.names_for(req.invoice)
        body = self.mapping.invoice_body(
            req.invoice, req.customer_ledger_id, req.external_ref, items
        )
        return await self._create_once("invoice", body, req.external_ref, req.idempotency_key)

    async def apply_payment(self, req: ports.PaymentWrite) -> PushResult:
        """FreshBooks takes the client and the currency from the invoice, and keeps what
        exceeds the invoice's balance as an overpayment credit: ``applied`` (default: all)
        must be the part FreshBooks will apply, checked before sending."""
        body = self.mapping.payment_body(req.payment, req.invoice_ledger_id, req.external_ref)
        part = req.part

        async def check() -> None:
            await self._check_applied(req.payment, req.invoice_ledger_id, part)

        try:
            return await self._create_once(
                "payment", body, req.external_ref, req.idempotency_key, check
            )
        finally:
            self._read.forget("invoice", req.invoice_ledger_id)  # its balance moved

    async def create_refund(self, req: ports.RefundWrite) -> PushResult:
        """Refused, before anything is sent: FreshBooks documents no API construct for
        paying a client's credit back (see the module docstring)."""
        raise PermanentLedgerError(
            f"refund {req.refund.id}: FreshBooks' API documents no way to pay a client's credit "
            f"back, so syncledger does not send it; record the refund of {req.refund.amount} "
            f"{req.refund.currency} in FreshBooks by hand",
            code=REFUND_NOT_SUPPORTED,
        )

    async def create_credit_note(self, req: ports.CreditNoteWrite) -> PushResult:
        """Create the credit note; with an invoice, apply it there: a payment of type
        Credit, a second write (both steps of ``steps``; see the module docstring)."""
        items = await self._items.names_for(req.credit_note)
        body = self.mapping.credit_note_body(
            req.credit_note, req.customer_ledger_id, req.external_ref, items
        )
        if req.invoice_ledger_id is None:
            return await self._create_once(
                "credit_note", body, req.external_ref, req.idempotency_key
            )
        journal = req.journal()
        retry = req.steps is None
        note = await journal.step(
            "credit_note",
            self._create_step("credit_note", body, req.external_ref, retry=retry),
            self._found_step("credit_note", req.external_ref),
        )
        await journal.step(
            "apply",
            self._apply_credit(
                req.credit_note,
                note,
                (req.customer_ledger_id, req.invoice_ledger_id),
                req.external_ref,
                retry,
            ),
            self._credit_applied(req.invoice_ledger_id, req.external_ref),
        )
        recovered = note.detail.get("recovered") == "true"
        return await self._current_version(
            "credit_note", PushResult(note.ledger_id, None, recovered)
        )

    async def update_customer(self, req: ports.CustomerUpdate) -> PushResult:
        await self._unchanged("customer", req.ledger_id, req.version)
        body = self.mapping.client_body(req.customer, req.external_ref)
        return await self._put("customer", req.ledger_id, body)

    async def update_invoice(self, req: ports.InvoiceUpdate) -> PushResult:
        """Replace the invoice's fields and every line (FreshBooks replaces all lines)."""
        items = await self._items.names_for(req.invoice)
        body = self.mapping.invoice_body(
            req.invoice, req.customer_ledger_id, req.external_ref, items
        )
        await self._unchanged("invoice", req.ledger_id, req.version)
        return await self._put("invoice", req.ledger_id, body)

    async def void_invoice(self, req: ports.VoidWrite) -> PushResult:
        """Delete the invoice (``vis_state`` 1); already deleted: the same answer again."""
        current = await self._current("invoice", req.ledger_id)
        if current.status == "void":
            return PushResult(req.ledger_id, current.version, recovered=True)
        _check_version("invoice", current, req.version)
        return await self._put("invoice", req.ledger_id, {"vis_state": 1})

    # ------------------------------------------------------------------- reads

    async def find(self, kind: str, external_ref: str) -> LedgerRecord | None:
        """The record carrying ``external_ref``: through a search where FreshBooks has one
        on the field, else by scanning records updated within ``find_window``."""
        if kind in NOT_HELD:
            return None
        search = REF_SEARCH.get(kind)
        params = {f"search[{search}]": external_ref} if search else self._window()
        async for raw in self._raws(kind, params):
            if self._record(kind, raw).external_ref == external_ref:
                return await self._full_record(kind, raw, await self._client_links(kind, raw))
        return None

    async def match_customer(self, customer: Customer) -> list[LedgerRecord]:
        """Clients with the same name (organization, ignoring case), the same email or the
        same tax id (``vat_number``, by listing every client); deleted clients are left
        out."""
        found: dict[str, LedgerRecord] = {}
        name = customer.name.casefold()
        wanted = tax_key(customer.tax_id)
        if wanted is not None:  # every client is listed: name and email are compared here
            async for record in self._records("customer", {}):
                if _same_client(record.raw, name, customer.email, wanted):
                    found.setdefault(record.ledger_id, record)
            return [r for r in found.values() if r.status != "deleted"]
        async for record in self._records("customer", {"search[organization_like]": customer.name}):
            if (record.name or "").casefold() == name:
                found.setdefault(record.ledger_id, record)
        if customer.email:
            async for record in self._records("customer", {"search[email]": customer.email}):
                found.setdefault(record.ledger_id, record)
        return [r for r in found.values() if r.status != "deleted"]

    async def get(self, kind: str, ledger_id: str) -> LedgerRecord | None:
        if kind in NOT_HELD:
            return None
        raw = await self._raw(kind, ledger_id)
        if raw is None:
            return None
        record = await self._full_record(kind, raw, await self._client_links(kind, raw))
        if kind == "invoice":
            self._keep_read(record)
        return record

    async def prefetch(self, kind: str, ledger_ids: Sequence[str]) -> None:
        """Read the clients a batch is about to update in one request per 100 ids (the
        In search ``search[userids][]``, module docstring), each served once to its
        update's version check; other kinds have no documented In search on their ids."""
        search = IN_SEARCH.get(kind)
        wanted = sorted({i for i in ledger_ids if i.isdigit()})
        if search is None:
            return
        res = _resource(kind)
        for start in range(0, len(wanted), MAX_PER_PAGE):
            ids = [(f"search[{search}][]", i) for i in wanted[start : start + MAX_PER_PAGE]]
            query = urlencode([*ids, ("page", "1"), ("per_page", str(MAX_PER_PAGE))])
            answer = await self._http.json("GET", f"{self._url(res.path)}?{query}", idempotent=True)
            for raw in result_of(answer).get(res.plural, []):
                self._prefetched.keep(kind, str(raw["id"]), raw)

    async def list_all(self, kind: str) -> AsyncIterator[LedgerRecord]:
        """Every record of ``kind`` as the port counts them: a payment of type Credit is
        how a credit note is applied (it belongs to the credit note), and an overpayment
        credit note is the paying payment's unapplied remainder (its ``balance``)."""
        if kind in NOT_HELD:
            return
        links = await self._links({}) if kind in _LINKED else None
        async for record in self._records(kind, {}, links):
            if not self._part_of_another(kind, record):
                yield record

    def _part_of_another(self, kind: str, record: LedgerRecord) -> bool:
        if kind == "payment":
            return record.raw.get("type") == self.mapping.payment_types["credit"]
        if kind == "credit_note":
            return record.raw.get("credit_type") == OVERPAYMENT_CREDIT
        return False

    async def changes(self, since: datetime) -> AsyncIterator[LedgerRecord]:
        """Records of every kind updated at or after ``since`` (to the second)."""
        since = (since if since.tzinfo else since.replace(tzinfo=UTC)).replace(microsecond=0)
        params = {"search[updated_min]": eastern_date(since)}
        links: Links | None = None
        for kind in self.capabilities.kinds:
            if kind in _LINKED and links is None:
                links = await self._links({})
            async for record in self._records(kind, params, links):
                if record.updated_at is not None and record.updated_at >= since:
                    yield record

    async def aclose(self) -> None:
        await self._http.aclose()

    # ---------------------------------------------------------------- creating

    async def _create_once(
        self,
        kind: str,
        body: dict[str, Any],
        ref: str,
        key: str,
        check: Callable[[], Awaitable[None]] | None = None,
    ) -> PushResult:
        """A single create, looked up first only when an earlier one with ``key`` may
        have landed unseen (``WriteMemo``)."""
        return await self._writes.once(
            key, lambda look: self._create(kind, body, ref, check=check, look=look)
        )

    async def _create(
        self,
        kind: str,
        body: dict[str, Any],
        ref: str,
        *,
        check: Callable[[], Awaitable[None]] | None = None,
        retry: bool = True,
        look: bool,
    ) -> PushResult:
        """With ``look``, our earlier record when there is one; then ``check`` (which may
        refuse), then the create (sent once without ``retry``)."""
        if look and kind != "invoice":
            earlier = await self.find(kind, ref)
            if earlier is not None:
                return _pushed(earlier, recovered=True)
        if check is not None:
            await check()
        return await self._send(kind, body, ref, retry=retry)

    async def _send(
        self, kind: str, body: dict[str, Any], ref: str, *, retry: bool = True
    ) -> PushResult:
        """POST the create; a lost answer is looked up by reference before resending
        (without ``retry`` it goes back to the caller: a journal, which asks first)."""

        async def write(_: TransientLedgerError | None) -> PushResult:
            try:
                return _pushed(self._record(kind, await self._post(kind, body)))
            except PermanentLedgerError as refused:
                return await self._ours_after_refusal(kind, body, ref, refused)

        async def earlier() -> PushResult | None:
            found = None if kind == "invoice" else await self.find(kind, ref)
            return None if found is None else _pushed(found, recovered=True)

        label = f"freshbooks POST {kind}"
        landed = await write_or_find(self._retries, write, earlier, label=label, once=not retry)
        return landed.value

    async def _ours_after_refusal(
        self, kind: str, body: Mapping[str, Any], ref: str, refused: PermanentLedgerError
    ) -> PushResult:
        """A create refused because our earlier send landed (a taken invoice number or
        client email): that record, when it carries our reference; else the refusal."""
        if kind == "invoice":
            number = {"search[invoice_number]": str(body.get("invoice_number", ""))}
            async for record in self._records("invoice", number):
                if record.external_ref == ref:
                    return _pushed(record, recovered=True)
            raise refused
        earlier = await self.find(kind, ref) if kind == "customer" else None
        if earlier is None:
            raise refused
        return _pushed(earlier, recovered=True)

    async def _post(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        res = _resource(kind)
        answer = await self._http.json(
            "POST",
            self._url(res.path),
            params=_includes(res),
            body={res.single: body},
            idempotent=False,
        )
        raw: dict[str, Any] = result_of(answer)[res.single]
        return raw

    # ------------------------------------------------------ multi-write steps

    def _create_step(self, kind: str, body: dict[str, Any], ref: str, *, retry: bool) -> StepWrite:
        async def write(key: str) -> StepResult:
            pushed = await self._create(kind, body, ref, retry=retry, look=retry)
            return StepResult(pushed.ledger_id, {"recovered": "true"} if pushed.recovered else {})

        return write

    def _found_step(self, kind: str, ref: str) -> StepFind:
        async def find() -> StepResult | None:
            found = await self.find(kind, ref)
            return None if found is None else StepResult(found.ledger_id, {"recovered": "true"})

        return find

    def _apply_credit(
        self,
        credit_note: CreditNote,
        note: StepResult,
        target: tuple[str, str],
        ref: str,
        retry: bool,
    ) -> StepWrite:
        """A payment of type Credit moving the credit note's total, at most what the
        invoice still owes, onto the invoice (``target``: client and invoice ids); looked
        up by our reference first (FreshBooks has no idempotency key), then refused while
        the client holds other open credit. Nothing is written when the invoice owes
        nothing."""
        client_id, invoice_id = target

        async def write(key: str) -> StepResult:
            invoice = await self._invoice_now(invoice_id)
            part = min(credit_note.total, invoice.balance or Decimal(0))
            if part <= 0:
                return StepResult(note.ledger_id)
            body = self.mapping.credit_application_body(credit_note, invoice_id, ref, amount=part)

            async def check() -> None:
                await self._check_only_credit(credit_note, note.ledger_id, client_id)

            try:
                pushed = await self._create(
                    "payment", body, ref, check=check, retry=retry, look=retry
                )
            finally:
                self._read.forget("invoice", invoice_id)  # its balance moved
            return StepResult(pushed.ledger_id)

        return write

    def _credit_applied(self, invoice_id: str, ref: str) -> StepFind:
        """The payment of type Credit on ``invoice_id`` carrying our reference."""

        async def find() -> StepResult | None:
            found = await self.find("payment", ref)
            if found is None or not self._applies_credit_to(found.raw, invoice_id):
                return None
            return StepResult(found.ledger_id)

        return find

    def _applies_credit_to(self, raw: Mapping[str, Any], invoice_id: str) -> bool:
        credit = raw.get("type") == self.mapping.payment_types["credit"]
        return credit and str(raw.get("invoiceid")) == invoice_id

    async def _check_only_credit(self, note: CreditNote, note_id: str, client_id: str) -> None:
        """Refuse while the client holds open credit in the note's currency besides
        ``note_id``: a payment of type Credit cannot say which credit it draws on."""
        search = {"search[clientid]": client_id}
        others = [
            str(raw["id"])
            async for raw in self._raws("credit_note", search)
            if _open_credit(raw, note.currency) and str(raw["id"]) != note_id
        ]
        if others:
            raise PermanentLedgerError(
                f"credit note {note.number}: FreshBooks applies a client's credit to an "
                f"invoice without saying which credit, and client {client_id} holds other "
                f"open {note.currency} credit (FreshBooks credit notes {', '.join(others)}); "
                f"apply credit note {note_id} to its invoice in FreshBooks by hand",
                code=CREDIT_NOT_SELECTABLE,
            )

    # ---------------------------------------------------------------- updating

    async def _put(self, kind: str, ledger_id: str, body: dict[str, Any]) -> PushResult:
        """A full replacement is safe to resend: the same body twice has one effect."""
        res = _resource(kind)
        self._prefetched.forget(kind, ledger_id)
        self._read.forget(kind, ledger_id)
        answer = await self._http.json(
            "PUT",
            self._url(f"{res.path}/{quote(ledger_id, safe='')}"),
            params=_includes(res),
            body={res.single: body},
            idempotent=True,
        )
        return _pushed(self._record(kind, result_of(answer)[res.single]))

    async def _unchanged(self, kind: str, ledger_id: str, version: str | None) -> None:
        if version is not None:
            _check_version(kind, await self._current(kind, ledger_id), version)

    async def _current(self, kind: str, ledger_id: str) -> LedgerRecord:
        """The record as the batch's bulk read found it (``prefetch``: once, while fresh),
        else as FreshBooks answers now."""
        raw = self._prefetched.take(kind, ledger_id)
        if raw is None:
            return await self._required(kind, ledger_id)
        return await self._full_record(kind, raw, await self._client_links(kind, raw))

    def _keep_read(self, invoice: LedgerRecord) -> None:
        """Keep an invoice ``get`` read for the check of the write that follows it;
        bounded: past ``KEPT_READS`` unclaimed reads, all are dropped."""
        if len(self._read) >= KEPT_READS:
            self._read = Prefetched()
        self._read.keep("invoice", invoice.ledger_id, invoice)

    async def _invoice_now(self, ledger_id: str) -> LedgerRecord:
        """The invoice as the sync's ``get`` just read it (once, while fresh), else read."""
        kept = self._read.take("invoice", ledger_id)
        return kept if kept is not None else await self._required("invoice", ledger_id)

    async def _raw(self, kind: str, ledger_id: str) -> dict[str, Any] | None:
        res = _resource(kind)
        url = self._url(f"{res.path}/{quote(ledger_id, safe='')}")
        try:
            answer = await self._http.json("GET", url, params=_includes(res), idempotent=True)
        except FreshBooksNotFoundError:
            return None
        raw: dict[str, Any] = result_of(answer)[res.single]
        return raw

    async def _required(self, kind: str, ledger_id: str) -> LedgerRecord:
        record = await self.get(kind, ledger_id)
        if record is None:
            raise PermanentLedgerError(
                f"FreshBooks has no {kind} {ledger_id}: it was never created in this "
                "account; check the link",
                code="1012" if kind == "customer" else "404",
            )
        return record

    async def _check_applied(self, payment: Payment, invoice_ledger_id: str, part: Decimal) -> None:
        invoice = await self._invoice_now(invoice_ledger_id)
        owed = invoice.balance or Decimal(0)
        takes = min(payment.amount, owed)
        if part != takes:
            raise PermanentLedgerError(
                f"payment {payment.id}: FreshBooks would apply {takes} of its {payment.amount} "
                f"to invoice {invoice.name} ({owed} still owed) and keep the rest as client "
                f"credit, not apply {part}: read the invoice's balance again and retry",
                code="syncledger.applied_mismatch",
            )

    async def _current_version(self, kind: str, pushed: PushResult) -> PushResult:
        record = await self.get(kind, pushed.ledger_id)
        return replace(pushed, version=record.version if record else pushed.version)

    # ------------------------------------------------------------------ paging

    async def _records(
        self, kind: str, search: Mapping[str, str], links: Links | None = None
    ) -> AsyncIterator[LedgerRecord]:
        async for raw in self._raws(kind, search):
            yield await self._full_record(kind, raw, links)

    async def _raws(self, kind: str, search: Mapping[str, str]) -> AsyncIterator[dict[str, Any]]:
        """Every record of ``kind`` the search finds, as FreshBooks answers it."""
        async for raw in self._pages(_resource(kind), search):
            yield raw

    async def _pages(
        self, res: Resource, search: Mapping[str, str]
    ) -> AsyncIterator[dict[str, Any]]:
        async def read(page: int) -> Page[dict[str, Any], int]:
            params = {**search, **_includes(res), "page": str(page), "per_page": str(self._page)}
            answer = await self._http.json(
                "GET", self._url(res.path), params=params, idempotent=True
            )
            result = result_of(answer)
            last = page >= int(result.get("pages") or 0)
            return Page(result.get(res.plural, []), None if last else page + 1)

        async for raw in walk(read, 1):
            yield raw

    async def _links(self, search: Mapping[str, str]) -> Links:
        """What the payments ``search`` finds (every type) say about applications."""
        return Links.of([raw async for raw in self._pages(RESOURCES["payment"], search)])

    async def _client_links(self, kind: str, raw: Mapping[str, Any]) -> Links | None:
        """For one credit note: the links its client's payments make."""
        if kind not in _LINKED or not raw.get("clientid"):
            return None
        return await self._links({"search[clientid]": str(raw["clientid"])})

    def _window(self) -> dict[str, str]:
        if self._find_window is None:
            return {}
        return {"search[updated_min]": eastern_date(self._now() - self._find_window)}

    def _url(self, resource: str) -> str:
        return f"/accounting/account/{quote(self.account_id, safe='')}/{resource}"

    def _record(self, kind: str, raw: Mapping[str, Any]) -> LedgerRecord:
        return to_record(kind, raw, self.mapping.reference_field(kind))

    async def _full_record(
        self, kind: str, raw: Mapping[str, Any], links: Links | None = None
    ) -> LedgerRecord:
        """The record; an invoice or credit note with the item each line is booked to; a
        payment with its ``balance`` (what is left of its overpayment credit) and what
        it applies to its invoice; a credit note with what ``links`` says it is applied
        to (``freshbooks_links``)."""
        record = self._record(kind, raw)
        links = links or Links()
        if kind in ("invoice", "credit_note"):
            lines = self.mapping.document_lines(raw)
            names = [_text(line.get("name")) for line in lines]
            record = replace(record, line_items=await self._items.codes_of(names))
            if kind == "credit_note":
                record = replace(record, applied_to=links.of_credit_note(record.ledger_id))
            return record
        if kind != "payment":
            return record
        overpayment = raw.get("overpaymentid")
        credit = await self._raw("credit_note", str(overpayment)) if overpayment else None
        excess = amount_of(credit) if credit else Decimal(0)
        record = replace(record, applied_to=of_payment(raw, excess))
        if not overpayment:
            return record
        return replace(record, balance=credit_left(credit) if credit else Decimal(0))


#: kinds whose applications only the payments tell (``freshbooks_links``)
_LINKED = ("credit_note",)
#: invoice reads kept for the checks of the writes that follow them, at most
KEPT_READS = 1_000
#: reason codes of what the adapter refuses before sending (see the module docstring)
REFUND_NOT_SUPPORTED = "syncledger.refund_not_supported"
CREDIT_NOT_SELECTABLE = "syncledger.credit_not_selectable"


def _resource(kind: str) -> Resource:
    try:
        return RESOURCES[kind]
    except KeyError:
        raise PermanentLedgerError(
            f"FreshBooks adapter does not handle {kind!r} records", code="unsupported"
        ) from None


def _same_client(raw: Mapping[str, Any], name: str, email: str | None, tax: str) -> bool:
    """The client has ``name`` (its organization, ignoring case), ``email`` (ignoring
    case) or the tax id whose ``tax_key`` is ``tax``."""
    if str(raw.get("organization") or "").casefold() == name:
        return True
    if email and str(raw.get("email") or "").casefold() == email.casefold():
        return True
    return tax_key(raw.get("vat_number")) == tax


def _open_credit(raw: Mapping[str, Any], currency: str) -> bool:
    """A credit note with credit left in ``currency`` (an overpayment credit included)."""
    return raw.get("currency_code") == currency and credit_left(raw) > 0


def _includes(res: Resource) -> dict[str, str]:
    return {"include[]": "lines"} if res.lines else {}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _pushed(record: LedgerRecord, *, recovered: bool = False) -> PushResult:
    return PushResult(ledger_id=record.ledger_id, version=record.version, recovered=recovered)


def _check_version(kind: str, current: LedgerRecord, version: str | None) -> None:
    if version is not None and current.version != version:
        raise StaleVersionError(
            f"FreshBooks {kind} {current.ledger_id} changed since it was read (updated "
            f"{current.version}, expected {version}): read it again and retry",
            code="stale",
        )
