"""A local Xero Accounting API sandbox: a Starlette app enforcing the parts of Xero's
contract syncledger relies on, over an in-memory or SQLite book.

Sources: Xero's official OpenAPI spec (``specs/xero_accounting.yaml``, XeroAPI/Xero-OpenAPI
v16.1.0 @e952d0b, MIT) for paths, parameters, bodies and error shapes; developer.xero.com
(limits FAQ, idempotent requests, multicurrency best practice) as quoted in
``../shared/PLATFORMS.md`` and in the threads cited in each module.

What the sandbox refuses, with status, Xero's type, message and source: ``refusals.py``.

Endpoints (base ``/api.xro/2.0``; every call needs ``Authorization: Bearer`` and the
``Xero-Tenant-Id`` of the organisation):

- ``POST /connect/token``: Xero identity's token endpoint, ``refresh_token`` grant, client
  credentials in HTTP Basic (or the form); access tokens last 30 minutes, refresh tokens
  rotate on every use (a used one answers ``invalid_grant``) and last 60 days; the
  ``authorization_code`` grant too, with PKCE's ``code_verifier`` when a challenge was sent.
- ``GET /identity/connect/authorize``: Xero identity's authorization endpoint (the
  ``authorizationUrl`` of the spec's OAuth2 security scheme,
  ``login.xero.com/identity/connect/authorize``): ``response_type=code``, ``client_id``,
  ``redirect_uri``, ``scope``, ``state``, ``code_challenge`` + ``code_challenge_method=S256``
  (Xero's PKCE flow); the user consents at once, back to ``redirect_uri`` with ``code``
  and ``state``; the tenant is then read from ``/connections``.
- ``GET /connections``: the tenants the token reaches (one).
- ``GET /Organisation``, ``GET /Accounts`` (a fixed demo chart: 090 / 091 bank, 200 Sales,
  260 Other Revenue, 400 Advertising; tax types NONE, EXEMPTOUTPUT, OUTPUT, INPUT).
- ``PUT /BankTransactions`` of Type ``RECEIVE-OVERPAYMENT`` (``GET /BankTransactions[/{id}]``
  lists them), ``GET /Overpayments[/{id}]``, ``PUT /Overpayments/{id}/Allocations``; a
  ``PUT /Payments`` element naming a ``CreditNote`` or an ``Overpayment`` instead of an
  ``Invoice`` is a cash refund of that credit (``xero_credits``).
- ``POST /Invoices/{InvoiceID}/Email`` (body ``{}``): e-mails a SUBMITTED, AUTHORISED or
  PAID invoice to its contact's addresses, answers 204 and sets ``SentToContact``; the
  e-mail is recorded in the book (``XeroSandbox.emails_sent``), none goes out for real
  (``xero_sending``).
- ``GET|PUT|POST /Items``, ``GET|POST /Items/{ItemID or Code}`` (``xero_items``); invoice
  and credit-note lines name an item by ``ItemCode``.
- ``GET|PUT|POST /Contacts``, ``GET|POST /Contacts/{ContactID or ContactNumber}``;
  the same for ``/Invoices`` (ACCREC; by id or InvoiceNumber) and ``/CreditNotes``
  (ACCRECCREDIT); ``GET|PUT|POST /Payments``, ``GET /Payments/{id}``, ``POST
  /Payments/{id}`` with ``Status: DELETED``; ``PUT /CreditNotes/{id}/Allocations``.
  PUT creates; POST updates the record named by its id (or, for an invoice, by its
  ``InvoiceNumber``) and creates otherwise, as Xero's update-or-create does.
- Request bodies are validated against the spec's schemas (``xero_schema``); business
  rules in ``xero_rules`` / ``xero_documents``; GET filters, paging and
  ``If-Modified-Since`` in ``xero_listing``; limits in ``xero_limits``.
- ``summarizeErrors`` (default false): PUT / POST of a collection answers 200 with each
  element marked ``StatusAttributeString`` OK or ERROR (with ``ValidationErrors``), the
  good ones saved; ``summarizeErrors=true`` answers 400 ValidationException with the
  failed elements and saves nothing.
- ``Idempotency-Key`` (PUT / POST): a repeat within 6 minutes answers the first reply;
  an internal error (500) is cached and replayed like a success.
  Keys are evaluated after the rate limits, as Xero's are.
- Versions: Xero has no concurrency token; every write stamps ``UpdatedDateUTC``
  (milliseconds, never repeated within a book) and clients compare it.
- ``/_sandbox/...``: the shared admin routes (``adapters/sandbox/common.py``), OAuth's
  included; ``records/payment`` holds overpayments too, ``records/refund`` the payments
  out of a credit.

Not modelled: ACCPAY bills and the other document types, bank transactions other than
RECEIVE-OVERPAYMENT (and their updates), prepayments, batch payments, attachments,
history, tracked (inventory) items and item deletes, tracking, tax rate management,
contact groups, webhooks, multi-tenant apps, the refresh-token grace period, the XE.com
day rate, ``summaryOnly`` (full records are returned), fixed rate-limit windows (sliding
instead), Xero's exact wording of messages no public source quotes, and its 500 on a
non-GUID ``ContactID`` (xero-node #285): the sandbox answers the spec's binding error
instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, Unpack
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncledger.adapters.jsonwire import encode_json
from syncledger.adapters.ratelimit import Rate, scaled_count
from syncledger.adapters.sandbox.common import Kinds, plain_json, token_fields
from syncledger.adapters.sandbox.scaffold import (
    Gate,
    HandleOptions,
    Sandbox,
    SandboxLogin,
    json_body,
    oauth_server,
)
from syncledger.adapters.xero.sandbox.book import XeroBook, entity_name
from syncledger.adapters.xero.sandbox.errors import XeroFault, refuse
from syncledger.adapters.xero.sandbox.limits import XeroLimits
from syncledger.adapters.xero.sandbox.listing import parse_since
from syncledger.adapters.xero.sandbox.schema import check_body
from syncledger.adapters.xero.sandbox.service import XeroSandbox, fingerprint

DEFAULT_TENANT_ID = "5f3a9c1e-7b2d-4e8f-9a61-0c4d2b8e7f13"
API = "/api.xro/2.0"
ACCESS_TTL = 1800.0  # 30 minutes
REFRESH_TTL = 60 * 86400.0  # 60 days
#: the sandbox's public credentials (not secrets)
LOGIN = SandboxLogin(
    "xero-sandbox-client",
    "xero-sandbox-secret",
    "xero-sandbox-refresh-token",
    ACCESS_TTL,
    REFRESH_TTL,
)
DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN = LOGIN.credentials()
SCOPE = "offline_access accounting.transactions accounting.contacts accounting.settings.read"
_KINDS = Kinds(
    names=("customer", "invoice", "payment", "credit_note", "refund", "item"),
    error="kinds are customer, invoice, payment, credit_note, refund, item, overpayment and "
    "bank_transaction",
)
SANDBOX = Sandbox("xero", XeroSandbox, _KINDS)

Handler = Callable[[Request, XeroSandbox], Awaitable[tuple[int, bytes]]]


def create_app(
    book_path: Path | None = None,
    *,
    tenant_id: str = DEFAULT_TENANT_ID,
    per_minute: int = 60,
    minute_window: float = 60.0,
    per_day: int = 5000,
    day_window: float = 86400.0,
    app_per_minute: int = 10_000,
    concurrent: int = 5,
    login: SandboxLogin = LOGIN,
    idempotency_ttl: float = 360.0,
    rate_scale: float = 1.0,
    **options: Unpack[HandleOptions],
) -> Starlette:
    """The sandbox app; its ``XeroSandbox`` handle is ``sandbox_of(app)``.

    ``minute_window`` / ``day_window`` let tests shrink Xero's windows (e.g. 25 calls per
    second). ``rate_scale`` multiplies the call counts and ``concurrent``.
    ``login``'s refresh token is registered as a first grant (single-use like any other)."""
    book = XeroBook(book_path)
    oauth = oauth_server(book.db, login)
    limits = XeroLimits(
        per_minute=Rate(per_minute, minute_window).scaled(rate_scale),
        per_day=Rate(per_day, day_window).scaled(rate_scale),
        app_per_minute=Rate(app_per_minute, minute_window).scaled(rate_scale),
        concurrent=scaled_count(concurrent, rate_scale),
    )
    sandbox = XeroSandbox(
        book,
        oauth,
        limits=limits,
        tenant_id=tenant_id,
        idempotency_ttl=idempotency_ttl,
        **options,
    )
    return SANDBOX.app(sandbox, _routes(), grants=sandbox.oauth)


sandbox_of = SANDBOX.of
serve = SANDBOX.serving(create_app)


def _routes() -> list[Route]:
    routes = [
        SANDBOX.token_route("/connect/token", _xero_tokens),
        SANDBOX.authorize_route("/identity/connect/authorize"),
        Route("/connections", _connections, methods=["GET"]),
        Route(f"{API}/Organisation", _api(_organisation), methods=["GET"]),
        Route(f"{API}/Accounts", _api(_accounts), methods=["GET"]),
        Route(f"{API}/Invoices/{{ident}}/Email", _api(_email), methods=["POST"]),
        Route(f"{API}/CreditNotes/{{ident}}/Allocations", _api(_allocate), methods=["PUT"]),
        Route(f"{API}/Overpayments/{{ident}}/Allocations", _api(_allocate), methods=["PUT"]),
        Route(f"{API}/BankTransactions", _api(_collection), methods=["GET", "PUT"]),
        Route(f"{API}/BankTransactions/{{ident}}", _api(_record), methods=["GET"]),
        Route(f"{API}/Overpayments", _api(_collection), methods=["GET"]),
        Route(f"{API}/Overpayments/{{ident}}", _api(_record), methods=["GET"]),
    ]
    for collection in ("Contacts", "Items", "Invoices", "Payments", "CreditNotes"):
        routes += [
            Route(f"{API}/{collection}", _api(_collection), methods=["GET", "PUT", "POST"]),
            Route(f"{API}/{collection}/{{ident}}", _api(_record), methods=["GET", "POST"]),
        ]
    return routes


# --------------------------------------------------------------------- API


@contextlib.contextmanager
def _admitted(request: Request, sandbox: XeroSandbox) -> Iterator[None]:
    """Token, tenant and limits; a refusal carries the limits' headers (the tenant's once
    admitted), and the tenant's concurrency slot is held until the request ends."""
    try:
        sandbox.authenticate(request.headers.get("authorization"))
        tenant = sandbox.admit(request.headers.get("xero-tenant-id"))
    except XeroFault as fault:
        raise _limited(fault, sandbox.limits.headers(None)) from None
    try:
        yield
    except XeroFault as fault:
        raise _limited(fault, sandbox.limits.headers(tenant)) from None
    finally:
        sandbox.release(tenant)


def _limited(fault: XeroFault, limit_headers: dict[str, str]) -> XeroFault:
    return XeroFault(fault.status, fault.body, limit_headers | fault.headers)


def _is_write(request: Request) -> bool:
    return request.method != "GET"


def _api(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def answer(request: Request, sandbox: XeroSandbox) -> Response:
        status, body = await handler(request, sandbox)
        headers = sandbox.limits.headers(sandbox.tenant_id)
        return Response(body, status, headers, media_type="application/json")

    # Xero's writes fail by injection in the service, after an idempotency-key replay
    return Gate(SANDBOX, XeroFault, XeroFault.answer, _admitted, None)(answer, write=_is_write)


def _entity(request: Request) -> str:
    collection = request.url.path.removeprefix(API + "/").split("/")[0]
    return entity_name(collection.removesuffix("s"))


def _params(request: Request) -> dict[str, str]:
    return dict(request.query_params)


async def _collection(request: Request, sandbox: XeroSandbox) -> tuple[int, bytes]:
    entity = _entity(request)
    if request.method == "GET":
        since = parse_since(request.headers.get("if-modified-since"))
        return 200, encode_json(sandbox.listing(entity, _params(request), since))
    return await _write(request, sandbox, entity, ident=None)


async def _record(request: Request, sandbox: XeroSandbox) -> tuple[int, bytes]:
    entity, ident = _entity(request), request.path_params["ident"]
    if request.method == "GET":
        return 200, encode_json(sandbox.read(entity, ident, _params(request)))
    if entity == "Payment":
        return await _delete_payment(request, sandbox, ident)
    return await _write(request, sandbox, entity, ident=ident)


async def _write(
    request: Request, sandbox: XeroSandbox, entity: str, *, ident: str | None
) -> tuple[int, bytes]:
    collection = request.url.path.removeprefix(API).split("/")[1]
    spec_path = f"/{collection}" + (f"/{{{entity}ID}}" if ident is not None else "")
    body = await _checked_body(request, spec_path)
    if entity == "Payment" and request.method == "POST" and ident is None:
        body = {"Payments": [body]}  # createPayment takes one Payment, not a collection
    params = _params(request)

    def operation() -> dict[str, Any]:
        return sandbox.save_all(
            entity,
            body,
            ident=ident,
            summarize=params.get("summarizeErrors", "").lower() == "true",
            unitdp=4 if params.get("unitdp") == "4" else 2,
            put=request.method == "PUT",
        )

    return await _keyed(request, sandbox, operation)


async def _delete_payment(request: Request, sandbox: XeroSandbox, ident: str) -> tuple[int, bytes]:
    raw = await _json(request)
    shape = "#/components/schemas/Payments" if isinstance(raw, dict) and "Payments" in raw else None
    check_body("POST", "/Payments/{PaymentID}", raw, schema_ref=shape)
    return await _keyed(request, sandbox, lambda: sandbox.delete_payment(ident, raw))


async def _allocate(request: Request, sandbox: XeroSandbox) -> tuple[int, bytes]:
    entity = _entity(request)
    body = await _checked_body(request, f"/{entity}s/{{{entity}ID}}/Allocations")
    summarize = request.query_params.get("summarizeErrors", "").lower() == "true"
    ident = request.path_params["ident"]
    return await _keyed(
        request,
        sandbox,
        lambda: sandbox.allocate(ident, body, summarize=summarize, entity=entity),
    )


async def _email(request: Request, sandbox: XeroSandbox) -> tuple[int, bytes]:
    await _checked_body(request, "/Invoices/{InvoiceID}/Email")
    ident = request.path_params["ident"]
    return await _keyed(request, sandbox, lambda: sandbox.email_invoice(ident))


async def _keyed(
    request: Request, sandbox: XeroSandbox, operation: Callable[[], dict[str, Any] | None]
) -> tuple[int, bytes]:
    query = urlencode(sorted(request.query_params.multi_items()))
    print_ = fingerprint(request.method, request.url.path, query, await request.body())
    return sandbox.keyed_write(request.headers.get("idempotency-key"), print_, operation)


async def _checked_body(request: Request, spec_path: str) -> Any:
    body = await _json(request)
    check_body(request.method, spec_path, body)
    return body


async def _json(request: Request) -> Any:
    return await json_body(request, lambda: refuse("body.not_json"))


async def _organisation(request: Request, sandbox: XeroSandbox) -> tuple[int, bytes]:
    return 200, encode_json(sandbox.organisation())


async def _accounts(request: Request, sandbox: XeroSandbox) -> tuple[int, bytes]:
    return 200, encode_json(sandbox.accounts())


# ------------------------------------------------------------------- OAuth


def _xero_tokens(tokens: dict[str, Any]) -> dict[str, Any]:
    """The shared token server's answer in the fields Xero identity's token endpoint uses."""
    return token_fields(tokens, "Bearer", scope=SCOPE)


async def _connections(request: Request) -> Response:
    sandbox = sandbox_of(request.app)
    try:
        sandbox.authenticate(request.headers.get("authorization"))
    except XeroFault as fault:
        return fault.answer()
    return plain_json(200, sandbox.connections())
