"""A local Sage Business Cloud Accounting API v3.1 sandbox: a Starlette app enforcing the
parts of Sage's contract syncledger relies on, over an in-memory or SQLite book.

What the sandbox refuses, with status, ``$dataCode``, ``$message`` and source:
``refusals.py``. Implemented, and where each part comes from:

- ``POST /token``: Sage's token endpoint (``https://oauth.accounting.sage.com/token``,
  "Frequently Raised Errors"), ``refresh_token`` grant with the client credentials in the
  form; refresh tokens rotate and are single use (a spent one answers ``invalid_grant``);
  access tokens live 5 minutes (``expires_in: 300``).
- ``/v3.1/{contacts|sales_invoices|sales_credit_notes|contact_payments|contact_allocations|
  services|products}``: ``GET`` list, ``POST`` create (201), ``GET /{id}``; ``PUT /{id}`` on
  contacts, sales invoices and credit notes (lines sent replace the document's lines: the
  swagger's ``putSalesInvoices`` lines carry no ``id`` and no ``_destroy``, see
  ``sage_rules``);
  ``DELETE /sales_invoices/{id}?void_reason=`` voids (the OpenAPI operation "Voids a Sales
  Invoice"). Read-only: ``ledger_accounts``, ``bank_accounts``, ``tax_rates`` and
  ``/financial_settings``. Every POST and PUT body is checked against Sage's published
  request schema first (``sage_schema``: field names, JSON types and the swagger's
  ``maxLength``s); then the rules of ``sage_rules``, ``sage_payments`` and ``sage_items``
  (from Sage's OpenAPI models, via the generated SDKs).
- Products and services (``sage_items``); document lines book to one with ``service_id`` /
  ``product_id``.
- ``contact_payments`` holds customer receipts (``CUSTOMER_RECEIPT``: what is not allocated
  to invoices becomes the receipt's ``payment_on_account``, with its own id and
  ``outstanding_amount``) and customer refunds (``CUSTOMER_REFUND``: allocated to sales
  credit notes and payments on account); ``GET`` filters them by ``transaction_type_id``.
  A contact's ``balance`` nets its credit off what it owes.
- ``GET /oauth2/auth/central`` (``syncledger connect``): consents at once and redirects
  back with ``code`` and ``state``, exchanged at ``/token`` (``authorization_code``);
  ``GET /v3.1/businesses``: the businesses the user reaches, ``$items`` of ``{id,
  displayed_as, $path}`` (developer.sage.com, Best Practices), here this sandbox's one.
- Auth: ``Authorization: Bearer``; ``X-Business`` selects the business, absent meaning the
  lead business.
- Idempotency (developer.sage.com, Idempotency): an ``idempotency_id`` (32-character
  hyphenless GUID) inside the resource body makes a repeated POST answer the first reply
  again, for 7 days; only successful creates are stored.
- Limits (developer.sage.com, Making an API request): 200 calls in any 60 seconds and
  100 MB in any 60 minutes per business; both configurable (tests use a small window).
- Errors (``sage_errors``): ``[{"$severity", "$dataCode", "$message", "$source"}]``; an
  injected failure answers 500 ``UnexpectedError``.
- Paging and delta (``sage_listing``): ``page`` / ``items_per_page`` (≤ 200) with
  ``$next`` / ``$back`` / ``$total``; ``updated_or_created_since`` (inclusive), at whole
  seconds like Sage's ``updated_at``; ``attributes=all`` for full items.
- ``/_sandbox/...``: the shared admin routes (``adapters/sandbox/common.py``), OAuth's
  included.

Not modelled: the 403/429 header and body details Sage does not document (ours instead),
``deleted_since`` (nothing is ever deleted here), drafts, quotes and
estimates, purchases, stock items, item updates and deletes, service rates and product
prices (lines always carry their own price), tax computed from rates (the client's
``tax_amount`` is taken as given), rules on voiding invoices that carry payments, payment
and allocation updates or deletes, allocating a payment on account to an invoice later
(a contact allocation), a credit note's or invoice's ``payments_allocations`` (read the
contact allocations instead), refunds not allocated to any credit, ``payment_method_id``,
``tax_number`` formats per country, region-specific fields; refresh tokens here outlive
Sage's 31 days (the shared token server keeps them 101 days); what Sage does with a field
its schema does not list (the sandbox refuses it, see ``sage_schema``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, Unpack

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncledger.adapters.jsonwire import encode_json
from syncledger.adapters.ratelimit import Rate
from syncledger.adapters.sage.sandbox.book import SageBook
from syncledger.adapters.sage.sandbox.errors import SageError, refuse, server_error
from syncledger.adapters.sage.sandbox.limits import MEGABYTE, ByteWindow
from syncledger.adapters.sage.sandbox.service import IDEMPOTENCY_TTL, KINDS, SageSandbox
from syncledger.adapters.sandbox.common import Kinds, token_fields
from syncledger.adapters.sandbox.scaffold import (
    Gate,
    HandleOptions,
    Sandbox,
    SandboxLogin,
    json_body,
    oauth_server,
)
from syncledger.adapters.sandbox.throttle import WindowThrottle

DEFAULT_BUSINESS_ID = "5a9e0c1b2d3f4a5b6c7d8e9f0a1b2c3d"
ACCESS_TTL = 300.0  # Sage access tokens expire after 5 minutes
LOGIN = SandboxLogin(access_ttl=ACCESS_TTL)  # the shared public sandbox credentials
DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN = LOGIN.credentials()
API = "/v3.1"
SANDBOX = Sandbox("sage", SageSandbox, Kinds(KINDS, listed_only=True))

Handler = Callable[[Request, SageSandbox], Awaitable[tuple[int, bytes]]]


def create_app(
    book_path: Path | None = None,
    *,
    business_id: str = DEFAULT_BUSINESS_ID,
    limit: int = 200,
    window: float = 60.0,
    megabytes_per_hour: float = 100.0,
    login: SandboxLogin = LOGIN,
    idempotency_ttl: timedelta = IDEMPOTENCY_TTL,
    book: SageBook | None = None,
    rate_scale: float = 1.0,
    **options: Unpack[HandleOptions],
) -> Starlette:
    """The sandbox app; its ``SageSandbox`` handle is ``sandbox_of(app)``.

    ``limit`` requests per ``window`` seconds per business (Sage: 200 per 60 s), multiplied
    by ``rate_scale`` (the megabytes per hour are not: they count bytes, not requests);
    ``login``'s refresh token is registered as a first grant (single use like any other)."""
    book = book or SageBook(book_path)
    oauth = oauth_server(book.db, login)
    sandbox = SageSandbox(
        book,
        oauth,
        business_id=business_id,
        throttle=WindowThrottle(Rate(limit, window).scaled(rate_scale)),
        bytes_window=ByteWindow(int(megabytes_per_hour * MEGABYTE)),
        idempotency_ttl=idempotency_ttl,
        **options,
    )
    return SANDBOX.app(sandbox, _routes(), grants=sandbox.oauth)


sandbox_of = SANDBOX.of
serve = SANDBOX.serving(create_app)


def _routes() -> list[Route]:
    return [
        SANDBOX.token_route("/token", _sage_tokens),
        SANDBOX.authorize_route("/oauth2/auth/central"),
        Route(f"{API}/businesses", _api(_businesses), methods=["GET"]),
        Route(f"{API}/financial_settings", _api(_financial_settings), methods=["GET"]),
        Route(f"{API}/{{resource}}", _api(_list), methods=["GET"]),
        Route(f"{API}/{{resource}}", _api(_create, write=True), methods=["POST"]),
        Route(f"{API}/{{resource}}/{{ident}}", _api(_read), methods=["GET"]),
        Route(f"{API}/{{resource}}/{{ident}}", _api(_update, write=True), methods=["PUT"]),
        Route(f"{API}/{{resource}}/{{ident}}", _api(_void, write=True), methods=["DELETE"]),
    ]


# --------------------------------------------------------------------- API


def _admit(request: Request, sandbox: SageSandbox) -> None:
    sandbox.admit(request.headers.get("authorization"), request.headers.get("x-business"))


_GATE = Gate(SANDBOX, SageError, SageError.answer, _admit, server_error)


def _api(handler: Handler, *, write: bool = False) -> Callable[[Request], Awaitable[Response]]:
    async def answer(request: Request, sandbox: SageSandbox) -> Response:
        status, body = await handler(request, sandbox)
        sandbox.account(len(await request.body()) + len(body))
        return Response(body, status, media_type="application/json")

    return _GATE(answer, write=write)


async def _json_body(request: Request) -> Any:
    return await json_body(request, lambda: refuse("request.not_json"))


async def _create(request: Request, sandbox: SageSandbox) -> tuple[int, bytes]:
    return sandbox.create(request.path_params["resource"], await _json_body(request))


async def _update(request: Request, sandbox: SageSandbox) -> tuple[int, bytes]:
    params = request.path_params
    body = await _json_body(request)
    return 200, encode_json(sandbox.update(params["resource"], params["ident"], body))


async def _void(request: Request, sandbox: SageSandbox) -> tuple[int, bytes]:
    params = request.path_params
    reason = request.query_params.get("void_reason")
    return 200, encode_json(sandbox.void(params["resource"], params["ident"], reason))


async def _read(request: Request, sandbox: SageSandbox) -> tuple[int, bytes]:
    params = request.path_params
    return 200, encode_json(sandbox.read(params["resource"], params["ident"]))


async def _list(request: Request, sandbox: SageSandbox) -> tuple[int, bytes]:
    query = dict(request.query_params)
    return 200, encode_json(sandbox.listing(request.path_params["resource"], query))


async def _businesses(request: Request, sandbox: SageSandbox) -> tuple[int, bytes]:
    """The businesses the token's user reaches: this sandbox's one."""
    item = {
        "id": sandbox.business_id,
        "displayed_as": "syncledger sandbox",
        "$path": f"/businesses/{sandbox.business_id}",
    }
    page = {"$total": 1, "$page": 1, "$next": None, "$back": None, "$items_per_page": 20}
    return 200, encode_json({**page, "$items": [item]})


async def _financial_settings(request: Request, sandbox: SageSandbox) -> tuple[int, bytes]:
    return 200, encode_json(sandbox.financial_settings())


def _sage_tokens(issued: dict[str, Any]) -> dict[str, Any]:
    """The shared token server's answer in the fields Sage's token endpoint uses."""
    more = {"scope": "full_access", "requested_by_id": "sandbox-user"}
    return token_fields(issued, "bearer", refresh_token_expires_in=2678400, **more)  # 31 days
