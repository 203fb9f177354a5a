"""A local Zoho Books API v3 sandbox: a Starlette app enforcing the parts of Zoho's
documented contract syncledger relies on, over an in-memory or SQLite book.

Sources: Zoho's API reference (zoho.com/books/api/v3: introduction, errors, contacts,
invoices, customer payments, credit notes); the Databricks and Codat connector pages for
the limits; integrators' code and tests for what the reference leaves out (marked 3P in
``refusals.py``, the table of everything the sandbox refuses). PLATFORMS.md lists them.

Endpoints, all under ``/books/v3`` and all requiring ``?organization_id=`` and
``Authorization: Zoho-oauthtoken <access token>``:

- ``GET /organizations`` (token only, no ``organization_id``: how one is found), ``GET
  /settings/currencies``, ``GET /settings/taxes``;
- ``GET|POST /contacts``, ``GET|PUT /contacts/{id}``: ``contact_name`` required and
  unique among contacts, ``contact_persons`` carry the e-mail addresses;
- ``GET|POST /items``, ``GET /items/{id}``: ``name`` (unique ignoring case) and ``rate``
  required, booked to an income account (``items.py``); a document line's ``item_id``
  must name an item;
- ``GET|POST /invoices``, ``GET|PUT /invoices/{id}``, ``POST /invoices/{id}/status/sent``
  and ``.../status/void``: invoices are created as drafts, auto-numbered unless
  ``ignore_auto_number_generation=true`` (then ``invoice_number`` is required and
  unique); Zoho computes tax from each line's ``tax_id`` (see ``rules.py``);
  payments and credits are refused on drafts; voiding unassociates payments and credits
  (they return to the customer's credits), as Zoho documents;
- ``GET|POST /customerpayments``, ``GET /customerpayments/{id}``: ``invoices:
  [{invoice_id, amount_applied}]`` within each invoice's balance and the amount; what is
  not applied is the payment's ``unused_amount`` (the customer's excess payment, a
  credit), all of it when ``invoices`` is empty;
- ``GET|POST /creditnotes``, ``GET /creditnotes/{id}``, ``GET|POST
  /creditnotes/{id}/invoices``: credit notes (numbered ``CN-00001``), applied to invoices
  (a write of its own after the create); the ``GET`` lists ``invoices_credited`` with
  ``credited_amount``, as Zoho's Python client library reads it;
- ``GET|POST /creditnotes/{id}/refunds``, ``GET|POST /customerpayments/{id}/refunds``,
  ``GET .../refunds/{refund_id}``, ``GET /creditnotes/refunds``, ``GET /bankaccounts``:
  refunds out of a credit note's balance or a payment's ``unused_amount``
  (``refunds.py``);
- lists: ``page``/``per_page`` (≤ 200) answered with ``page_context.has_more_page``,
  ``sort_column``/``sort_order``, the filters of ``listing.py`` (``reference_number``,
  ``search_text``, ``contact_name``, ``name``, ``email``, ``last_modified_time`` exact,
  ...).
- ``POST /oauth/v2/token`` (Zoho Accounts): ``refresh_token`` grant, non-rotating
  refresh tokens, refusals as HTTP 200 + ``{"error": ...}``.

Request bodies (contacts, items, invoices, credit notes, payments, refunds, credit
applications) are first checked against the fields and required fields of Zoho's
published request schemas (``schema.py``, each table citing its schema).

Success answers are ``{"code": 0, "message": ..., "<entity>": {...}}`` (201 on create)
and carry ``X-Rate-Limit-Remaining`` (the day's remaining calls, as integrators observed).
Refusals are ``{"code": <n>, "message": ...}`` (``refusals.py``).

Limits per organisation: ``per_minute`` requests in any ``window_seconds`` (Zoho: 100 a
minute), ``daily_limit`` a calendar day (Zoho: 1,000 on Free up to 10,000) and
``max_concurrent`` requests in flight (5 Free / 10 paid).

Idempotency: Zoho has none. A write that ``commit_then_timeout`` makes stall marks the
records it wrote; while injections remain, a lookup that finds them (a list filtered by
reference, or items by name; a read of the record) is that write's retry and stalls
too — the lookup-based analogue of a replayed idempotency key.

Admin: ``/_sandbox/...``: the shared admin routes (``adapters/sandbox/common.py``),
OAuth's included, and ``daily_remaining`` in ``stats``.

Not modelled: item updates, inactivation and taxes, tax groups and tax authorities,
inclusive tax, transaction-level tax rounding, ``overdue`` status, approvals, e-mailing,
deletes, payment, credit note and refund updates, the chart of accounts beyond two
bank/cash and two income accounts, tax numbers' formats per edition, the custom-field
upsert headers (``X-Unique-Identifier-*``), the ``JSONString`` form encoding,
organisation time zones other than UTC, and Zoho's own exchange-rate lookup (a
foreign-currency document without ``exchange_rate`` is refused).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Unpack

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncledger.adapters.jsonwire import decode_json
from syncledger.adapters.ratelimit import Rate, scaled_count
from syncledger.adapters.sandbox.common import Kinds, authorize_answer, form_of, plain_json
from syncledger.adapters.sandbox.scaffold import (
    Gate,
    HandleOptions,
    Sandbox,
    SandboxLogin,
    bearer_ok,
)
from syncledger.adapters.sandbox.throttle import WindowThrottle
from syncledger.adapters.zoho.sandbox import items as items
from syncledger.adapters.zoho.sandbox import refunds as refunds
from syncledger.adapters.zoho.sandbox.book import ZohoBook
from syncledger.adapters.zoho.sandbox.errors import ZohoError, refuse
from syncledger.adapters.zoho.sandbox.oauth import ACCESS_TTL, ZohoAccounts
from syncledger.adapters.zoho.sandbox.org import DEFAULT_TAXES, Answer, ZohoOrganization
from syncledger.adapters.zoho.sandbox.schema import check_body
from syncledger.adapters.zoho.sandbox.service import AUTH_SCHEME, DailyQuota, ZohoSandbox

#: the sandbox's public credentials (not secrets), with Zoho's "1000." prefixes
LOGIN = SandboxLogin(
    "1000.SANDBOXCLIENT", "sandbox-secret", "1000.sandbox-refresh-token", ACCESS_TTL
)
DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN = LOGIN.credentials()
DEFAULT_ORGANIZATION_ID = "10234695"  # the organisation id of Zoho's own examples
API = "/books/v3"
LOOKUP_FILTERS = ("reference_number", "search_text", "name")
_KINDS = Kinds(
    names=("customer", "item", "invoice", "payment", "credit_note", "refund"),
    error="kinds are customer, item, invoice, payment, credit_note and refund",
)
SANDBOX = Sandbox("zoho-books", ZohoSandbox, _KINDS)

Handler = Callable[[Request, ZohoSandbox], Awaitable[Answer]]
#: resource → the request schema its bodies are checked against (``schema.py``)
_SCHEMA = {
    "contacts": "contact",
    "items": "item",
    "invoices": "invoice",
    "customerpayments": "customerpayment",
    "creditnotes": "creditnote",
}


def create_app(
    book_path: Path | None = None,
    *,
    organization_id: str = DEFAULT_ORGANIZATION_ID,
    per_minute: int = 100,
    window_seconds: float = 60.0,
    daily_limit: int = 10_000,
    max_concurrent: int = 10,
    login: SandboxLogin = LOGIN,
    taxes: tuple[tuple[str, str], ...] = DEFAULT_TAXES,
    rate_scale: float = 1.0,
    clock: Callable[[], datetime] | None = None,
    **options: Unpack[HandleOptions],
) -> Starlette:
    """The sandbox app; its ``ZohoSandbox`` handle is ``sandbox_of(app)``. ``rate_scale``
    multiplies ``per_minute``, ``daily_limit`` and ``max_concurrent``; ``clock`` stamps
    ``created_time`` and ``last_modified_time`` (default: now)."""
    book = ZohoBook(book_path) if clock is None else ZohoBook(book_path, clock=clock)
    accounts = ZohoAccounts(
        book.db,
        client_id=login.client_id,
        client_secret=login.client_secret,
        access_ttl=login.access_ttl,
    )
    accounts.grant(login.refresh_token)
    currency = options.get("home_currency", "USD")
    org = ZohoOrganization(
        book, organization_id=organization_id, base_currency=currency, taxes=taxes
    )
    sandbox = ZohoSandbox(
        org,
        accounts,
        window=WindowThrottle(Rate(per_minute, window_seconds).scaled(rate_scale)),
        daily=DailyQuota(scaled_count(daily_limit, rate_scale)),
        max_concurrent=scaled_count(max_concurrent, rate_scale),
        **options,
    )
    return SANDBOX.app(sandbox, _routes(), grants=sandbox.accounts, stats=_daily_stats)


sandbox_of = SANDBOX.of
serve = SANDBOX.serving(create_app)


def _routes() -> list[Route]:
    return [
        Route("/oauth/v2/token", _token, methods=["POST"]),
        Route("/oauth/v2/auth", _authorize, methods=["GET"]),
        Route(f"{API}/organizations", _organizations_of_user, methods=["GET"]),
        Route(f"{API}/settings/currencies", _api(_currencies), methods=["GET"]),
        Route(f"{API}/settings/taxes", _api(_taxes), methods=["GET"]),
        Route(f"{API}/invoices/{{ident}}/status/sent", _api(_sent, write=True), methods=["POST"]),
        Route(f"{API}/invoices/{{ident}}/status/void", _api(_void, write=True), methods=["POST"]),
        Route(f"{API}/creditnotes/{{ident}}/invoices", _api(_credited), methods=["GET"]),
        Route(f"{API}/creditnotes/{{ident}}/invoices", _api(_apply, write=True), methods=["POST"]),
        Route(f"{API}/bankaccounts", _api(_bank_accounts), methods=["GET"]),
        Route(f"{API}/creditnotes/refunds", _api(_note_refunds), methods=["GET"]),
        Route(f"{API}/{{kind}}/{{ident}}/refunds", _api(_refunds), methods=["GET"]),
        Route(f"{API}/{{kind}}/{{ident}}/refunds", _api(_refund, write=True), methods=["POST"]),
        Route(f"{API}/{{kind}}/{{ident}}/refunds/{{refund}}", _api(_read_refund), methods=["GET"]),
        Route(f"{API}/{{kind}}/{{ident}}", _api(_read), methods=["GET"]),
        Route(f"{API}/{{kind}}/{{ident}}", _api(_update, write=True), methods=["PUT"]),
        Route(f"{API}/{{kind}}", _api(_list), methods=["GET"]),
        Route(f"{API}/{{kind}}", _api(_create, write=True), methods=["POST"]),
    ]


# --------------------------------------------------------------------- API


def _admit(request: Request, sandbox: ZohoSandbox) -> contextlib.AbstractContextManager[None]:
    org_id = request.query_params.get("organization_id")
    return sandbox.admitted(org_id, request.headers.get("authorization"))


def _injected(status: int) -> ZohoError:
    return refuse("server.internal", status=status)


def _api(handler: Handler, *, write: bool = False) -> Callable[[Request], Awaitable[Response]]:
    async def answer(request: Request, sandbox: ZohoSandbox) -> Response:
        done = await _answer(request, sandbox, handler, write=write)
        stall = _stall(request, sandbox, done, write=write)
        if stall:
            await asyncio.sleep(stall)  # committed; the client times out
        return _json(done.status, done.body, sandbox)

    gate = Gate(SANDBOX, ZohoError, ZohoError.answer, _admit, _injected, withholds=False)
    return gate(answer, write=write)


async def _answer(
    request: Request, sandbox: ZohoSandbox, handler: Handler, *, write: bool
) -> Answer:
    if not write:
        return await handler(request, sandbox)
    with sandbox.book.transaction():
        return await handler(request, sandbox)


def _stall(request: Request, sandbox: ZohoSandbox, done: Answer, *, write: bool) -> float | None:
    if write:
        return sandbox.stall_after_write(done)
    if _is_lookup(request):
        return sandbox.stall_lookup(done)
    return None


def _is_lookup(request: Request) -> bool:
    """A read of one record, or a list filtered by a reference."""
    params = request.query_params
    if "ident" in request.path_params:
        return True
    return any(key.startswith(LOOKUP_FILTERS) for key in params)


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = decode_json(raw)
    except ValueError:
        raise refuse("request.bad_json") from None
    if not isinstance(body, dict):
        raise refuse("request.bad_json")
    return body


def _kind(request: Request) -> str:
    kind = request.path_params["kind"]
    if kind not in ("contacts", "items", "invoices", "customerpayments", "creditnotes"):
        raise refuse("request.unknown_url")
    return str(kind)


def _params(request: Request) -> dict[str, str]:
    return dict(request.query_params)


async def _organizations_of_user(request: Request) -> Response:
    """``GET /organizations``: the token's organisations. Zoho's example sends no
    ``organization_id`` (it is how one is found), so none is asked for; the token is."""
    sandbox = sandbox_of(request.app)
    if not bearer_ok(sandbox.accounts, request.headers.get("authorization"), AUTH_SCHEME):
        return refuse("auth.unauthorized").answer()
    done = sandbox.org.organizations()
    return _json(done.status, done.body, sandbox)


async def _currencies(request: Request, sandbox: ZohoSandbox) -> Answer:
    return sandbox.org.currency_list()


async def _taxes(request: Request, sandbox: ZohoSandbox) -> Answer:
    return sandbox.org.tax_list()


async def _read(request: Request, sandbox: ZohoSandbox) -> Answer:
    return sandbox.org.read(_kind(request), request.path_params["ident"])


async def _list(request: Request, sandbox: ZohoSandbox) -> Answer:
    return sandbox.org.listed(_kind(request), _params(request))


async def _create(request: Request, sandbox: ZohoSandbox) -> Answer:
    kind, body = _kind(request), await _json_body(request)
    check_body(_SCHEMA[kind], body)
    if kind == "contacts":
        return sandbox.org.create_contact(body)
    if kind == "items":
        return items.create_item(sandbox.org, body)
    if kind == "customerpayments":
        return sandbox.org.create_payment(body)
    return sandbox.org.create_document(kind, body, _params(request))


async def _update(request: Request, sandbox: ZohoSandbox) -> Answer:
    kind, body = _kind(request), await _json_body(request)
    ident = request.path_params["ident"]
    if kind in ("contacts", "invoices"):
        check_body(_SCHEMA[kind], body, update=True)
    if kind == "contacts":
        return sandbox.org.update_contact(ident, body)
    if kind == "invoices":
        return sandbox.org.update_invoice(ident, body, _params(request))
    raise refuse("request.method_not_allowed", method="PUT")


async def _sent(request: Request, sandbox: ZohoSandbox) -> Answer:
    return sandbox.org.mark_sent(request.path_params["ident"])


async def _void(request: Request, sandbox: ZohoSandbox) -> Answer:
    return sandbox.org.void(request.path_params["ident"])


async def _bank_accounts(request: Request, sandbox: ZohoSandbox) -> Answer:
    return refunds.bank_accounts(sandbox.org)


async def _note_refunds(request: Request, sandbox: ZohoSandbox) -> Answer:
    return refunds.all_credit_note_refunds(sandbox.org, _params(request))


async def _refunds(request: Request, sandbox: ZohoSandbox) -> Answer:
    kind, ident = request.path_params["kind"], request.path_params["ident"]
    return refunds.credit_refunds(sandbox.org, kind, ident, _params(request))


async def _refund(request: Request, sandbox: ZohoSandbox) -> Answer:
    kind, ident = request.path_params["kind"], request.path_params["ident"]
    body = await _json_body(request)
    check_body("refund", body)
    return refunds.refund(sandbox.org, kind, ident, body)


async def _read_refund(request: Request, sandbox: ZohoSandbox) -> Answer:
    params = request.path_params
    return refunds.read_refund(sandbox.org, params["kind"], params["ident"], params["refund"])


async def _credited(request: Request, sandbox: ZohoSandbox) -> Answer:
    return sandbox.org.credited_invoices(request.path_params["ident"])


async def _apply(request: Request, sandbox: ZohoSandbox) -> Answer:
    body = await _json_body(request)
    check_body("apply_credits", body)
    return sandbox.org.apply_credits(request.path_params["ident"], body)


def _json(status: int, body: Any, sandbox: ZohoSandbox) -> Response:
    headers = {"X-Rate-Limit-Remaining": str(sandbox.daily_remaining())}
    return plain_json(status, body, headers)


# ----------------------------------------------------------------- Accounts


async def _authorize(request: Request) -> Response:
    """Zoho Accounts' consent page: consents at once and redirects back with ``code``,
    ``state``, ``location`` and ``accounts-server`` (Zoho's multi-DC parameters; here
    this sandbox's own address)."""
    accounts = sandbox_of(request.app).accounts
    server = str(request.base_url).rstrip("/")
    extra = {"location": "us", "accounts-server": server}
    return authorize_answer(accounts, dict(request.query_params), extra)


async def _token(request: Request) -> Response:
    accounts = sandbox_of(request.app).accounts
    form = (await form_of(request)) | dict(request.query_params)
    return plain_json(200, accounts.token(form))


# ------------------------------------------------------------------- admin


def _daily_stats(sandbox: ZohoSandbox) -> dict[str, Any]:
    return {"daily_remaining": sandbox.daily_remaining()}
