"""A local QuickBooks Online v3 sandbox: a Starlette app enforcing the parts of the QBO
contract syncledger relies on, over an in-memory or SQLite book. What it refuses, with
QBO's codes and where each rule comes from, is ``refusals.py``.

Endpoints (``{realm}`` is the company id given to ``create_app``):

- ``POST /oauth2/v1/tokens/bearer``: Intuit's token endpoint, ``refresh_token`` grant,
  client credentials in HTTP Basic (or the form); rotating single-use refresh tokens; the
  ``authorization_code`` grant too (``code``, ``redirect_uri``).
- ``GET /connect/oauth2``: Intuit's authorization endpoint (``appcenter.intuit.com/connect/
  oauth2`` in intuit/oauth-jsclient ``src/OAuthClient.js``): ``client_id``,
  ``response_type=code``, ``scope``, ``redirect_uri``, ``state``; the company consents at
  once and the browser goes back to ``redirect_uri`` with ``code``, ``state`` and
  ``realmId`` (the redirect parameters Intuit's own clients read, same file). PKCE is
  checked when a challenge is sent (``adapters/sandbox/oauth.py``); Intuit documents none.
- ``POST /v3/company/{realm}/{customer|invoice|payment|creditmemo|purchase|item}``: create;
  update of a customer, invoice or payment when the body has ``Id`` + ``SyncToken``
  (``sparse``: only the fields sent change; a payment update may only add lines);
  ``?operation=void`` for invoices. A payment with ``TotalAmt`` 0 whose lines link an
  invoice and a credit memo applies that credit. A refund of a customer's credit is a
  ``Purchase`` (cheque) to the customer against Accounts Receivable, linked to the credit
  by a payment: a zero payment with a Check line and a CreditMemo line for a credit memo's
  credit, or a Check line added to the overpaying payment for its ``UnappliedAmt``
  (``qbo_purchases``). An ``Item`` is a product or service a sales line
  names by ``ItemRef``; the company starts with ``Services`` (Id 1) (``qbo_items``). Item
  writes pass the same fault injection and ``requestid`` replay as every other write.
  ``?requestid=`` (≤ 50 characters) makes a retry answer the first reply again.
- ``POST /v3/company/{realm}/invoice/{id}/send[?sendTo=]`` (``Content-Type:
  application/octet-stream``, no body): e-mails the invoice to ``sendTo`` or its
  ``BillEmail`` (``qbo_sending``); the e-mail is recorded in the book
  (``QboSandbox.emails_sent``) and the Invoice answered with ``EmailStatus`` EmailSent and
  ``DeliveryInfo``. Nothing is e-mailed for real.
- ``GET /v3/company/{realm}/preferences`` and ``GET /v3/company/{realm}/companyinfo/{realm}``:
  the company's tax model (``qbo_tax``: US with automated sales tax when ``ast_rate`` is
  given, US without it by default, or outside the US when ``country`` says so).
- ``GET /v3/company/{realm}/{entity}/{id}``, ``GET|POST /v3/company/{realm}/query``,
  ``GET /v3/company/{realm}/cdc?entities=&changedSince=``, ``POST .../batch`` (≤ 30 items,
  ``requestid`` ≤ 36, ``bId`` ≤ 10 then).
- Throttling per realm: ``per_second`` / ``per_minute`` (QBO: 10 and 500) and
  ``batch_per_minute`` (40) answer 429 with QBO's ThrottleExceeded fault.
- ``/_sandbox/...``: the shared admin routes (``adapters/sandbox/common.py``), OAuth's
  included.

Not modelled: deletes, payment voids and changes other than added lines, credit memo
updates, purchase updates, item updates, ``RefundReceipt`` and other entities,
CDC's 30-day look-back, tax agencies and jurisdictions (``qbo_tax``), unapplied payments
and credits in a customer's ``Balance`` (open invoices only); only replies that succeeded
are replayed by ``requestid``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, Unpack

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncledger.adapters.jsonwire import encode_json
from syncledger.adapters.qbo.sandbox.book import SandboxBook
from syncledger.adapters.qbo.sandbox.errors import QboFault, refuse
from syncledger.adapters.qbo.sandbox.items import seed_items
from syncledger.adapters.qbo.sandbox.service import QboSandbox
from syncledger.adapters.qbo.sandbox.tax import US, CompanyTax
from syncledger.adapters.ratelimit import Rate
from syncledger.adapters.sandbox.common import Kinds
from syncledger.adapters.sandbox.scaffold import (
    Gate,
    HandleOptions,
    Sandbox,
    SandboxLogin,
    json_body,
    oauth_server,
)
from syncledger.adapters.sandbox.throttle import WindowThrottle

LOGIN = SandboxLogin()  # the shared public sandbox credentials
DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN = LOGIN.credentials()
KINDS = ("customer", "invoice", "payment", "credit_note", "refund", "item")
REQUESTID_LIMIT = 50
BATCH_REQUESTID_LIMIT = 36
SANDBOX = Sandbox("qbo", QboSandbox, Kinds(KINDS))

Handler = Callable[[Request, QboSandbox], Awaitable[Any]]


def create_app(
    book_path: Path | None = None,
    *,
    realm_id: str = "sandbox-realm",
    per_second: int = 10,
    per_minute: int = 500,
    batch_per_minute: int = 40,
    login: SandboxLogin = LOGIN,
    country: str = US,
    ast_rate: Decimal | None = None,
    **options: Unpack[HandleOptions],
) -> Starlette:
    """The sandbox app; its ``QboSandbox`` handle is ``sandbox_of(app)``.

    ``login``'s refresh token is registered as a first grant (single-use like any other).
    ``country`` and ``ast_rate`` choose the company's tax model (``qbo_tax``): a US
    company on automated sales tax computing ``ast_rate`` on taxable lines, else one that
    keeps the tax it is sent."""
    book = SandboxBook(book_path, realm_id=realm_id)
    seed_items(book)
    oauth = oauth_server(book.db, login)
    sandbox = QboSandbox(
        book,
        oauth,
        throttle=WindowThrottle(Rate(per_second, 1.0), Rate(per_minute, 60.0)),
        batch_throttle=WindowThrottle(Rate(batch_per_minute, 60.0)),
        company_tax=CompanyTax(country, ast_rate),
        **options,
    )
    return SANDBOX.app(sandbox, _routes(), grants=sandbox.oauth)


sandbox_of = SANDBOX.of
serve = SANDBOX.serving(create_app)


def _routes() -> list[Route]:
    company = "/v3/company/{realm}"
    return [
        SANDBOX.token_route("/oauth2/v1/tokens/bearer"),
        SANDBOX.authorize_route("/connect/oauth2", lambda qbo: {"realmId": qbo.realm_id}),
        Route(f"{company}/query", _api(_query), methods=["GET", "POST"]),
        Route(f"{company}/cdc", _api(_cdc), methods=["GET"]),
        Route(f"{company}/batch", _api(_batch, write=True, batch=True), methods=["POST"]),
        Route(f"{company}/preferences", _api(_preferences), methods=["GET"]),
        Route(f"{company}/companyinfo/{{ident}}", _api(_company_info), methods=["GET"]),
        Route(f"{company}/invoice/{{ident}}/send", _api(_send, write=True), methods=["POST"]),
        Route(f"{company}/{{entity}}/{{ident}}", _api(_read), methods=["GET"]),
        Route(f"{company}/{{entity}}", _api(_write, write=True), methods=["POST"]),
    ]


# --------------------------------------------------------------------- API


def _injected(status: int) -> QboFault:
    return refuse("server.injected", status=status)


def _api(
    handler: Handler, *, write: bool = False, batch: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    def admit(request: Request, sandbox: QboSandbox) -> None:
        realm, authorization = request.path_params["realm"], request.headers.get("authorization")
        sandbox.admit(realm, authorization, batch=batch)

    async def answer(request: Request, sandbox: QboSandbox) -> Response:
        if write:
            status, body = await _replayed(request, sandbox, handler, batch=batch)
        else:
            status, body = 200, encode_json(await handler(request, sandbox))
        return Response(body, status, media_type="application/json")

    return Gate(SANDBOX, QboFault, QboFault.answer, admit, _injected)(answer, write=write)


async def _replayed(
    request: Request, sandbox: QboSandbox, handler: Handler, *, batch: bool
) -> tuple[int, bytes]:
    """A write's answer, or the first answer again for a ``requestid`` already seen."""
    requestid = _requestid(request, BATCH_REQUESTID_LIMIT if batch else REQUESTID_LIMIT)
    earlier = sandbox.book.replies.earlier(requestid) if requestid else None
    if earlier is not None:
        return earlier.status, earlier.body
    body = encode_json(await handler(request, sandbox))
    if requestid:
        sandbox.book.replies.keep(requestid, 200, body)
    return 200, body


def _requestid(request: Request, limit: int) -> str | None:
    requestid = request.query_params.get("requestid")
    if requestid is not None and len(requestid) > limit:
        raise refuse("request.requestid_too_long", limit=limit, length=len(requestid))
    return requestid


async def _json_body(request: Request) -> Any:
    return await json_body(request, lambda: refuse("request.not_json"))


async def _write(request: Request, sandbox: QboSandbox) -> Any:
    operation = request.query_params.get("operation")
    return sandbox.write(request.path_params["entity"], operation, await _json_body(request))


async def _send(request: Request, sandbox: QboSandbox) -> Any:
    send_to, content_type = request.query_params.get("sendTo"), request.headers.get("content-type")
    return sandbox.send(request.path_params["ident"], send_to, content_type)


async def _read(request: Request, sandbox: QboSandbox) -> Any:
    return sandbox.read(request.path_params["entity"], request.path_params["ident"])


async def _preferences(request: Request, sandbox: QboSandbox) -> Any:
    return sandbox.preferences()


async def _company_info(request: Request, sandbox: QboSandbox) -> Any:
    return sandbox.company_info(request.path_params["ident"])


async def _query(request: Request, sandbox: QboSandbox) -> Any:
    statement = request.query_params.get("query")
    if statement is None and request.method == "POST":
        statement = (await request.body()).decode()
    return sandbox.query(statement)


async def _cdc(request: Request, sandbox: QboSandbox) -> Any:
    params = request.query_params
    return sandbox.cdc(params.get("entities"), params.get("changedSince"))


async def _batch(request: Request, sandbox: QboSandbox) -> Any:
    return sandbox.batch(await _json_body(request), request.query_params.get("requestid"))
