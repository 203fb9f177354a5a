"""A local QuickBooks Online v3 sandbox: a Starlette app enforcing the parts of the QBO
contract syncledger relies on, over an in-memory or SQLite book. What it refuses, with
QBO's codes and where each rule comes from, is ``refusals.py``.

Endpoints (``{realm}`` is the company id given to ``create_app``):

- ``POST /oauth2/v1/tokens/bearer``: Intuit's token endpoint, ``refresh_token`` grant,
  client credentials in HTTP Basic (or the form); rotating single-use refresh tokens.
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
- ``GET /v3/company/{realm}/preferences`` and ``GET /v3/company/{realm}/companyinfo/{realm}``:
  the company's tax model (``qbo_tax``: US with automated sales tax when ``ast_rate`` is
  given, US without it by default, or outside the US when ``country`` says so).
- ``GET /v3/company/{realm}/{entity}/{id}``, ``GET|POST /v3/company/{realm}/query``,
  ``GET /v3/company/{realm}/cdc?entities=&changedSince=``, ``POST .../batch`` (≤ 30 items,
  ``requestid`` ≤ 36, ``bId`` ≤ 10 then).
- Throttling per realm: ``per_second`` / ``per_minute`` (QBO: 10 and 500) and
  ``batch_per_minute`` (40) answer 429 with QBO's ThrottleExceeded fault.
- ``/_sandbox/...`` (no auth, not throttled): ``GET|POST|DELETE faults``, ``GET counts``,
  ``GET records/{kind}``, ``GET stats``, ``POST oauth/grant`` (a fresh refresh token, as a
  consent flow would give), ``POST oauth/expire`` (expire every access token).

Not modelled: deletes, payment voids and changes other than added lines, credit memo
updates, purchase updates, item updates, ``RefundReceipt`` and other entities,
CDC's 30-day look-back, tax agencies and jurisdictions (``qbo_tax``), unapplied payments
and credits in a customer's ``Balance`` (open invoices only); only replies that succeeded
are replayed by ``requestid``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncledger.adapters.jsonwire import decode_json, encode_json
from syncledger.adapters.qbo.sandbox.book import SandboxBook
from syncledger.adapters.qbo.sandbox.errors import QboFault, refuse
from syncledger.adapters.qbo.sandbox.items import seed_items
from syncledger.adapters.qbo.sandbox.service import QboSandbox
from syncledger.adapters.qbo.sandbox.tax import US, CompanyTax
from syncledger.adapters.ratelimit import Rate
from syncledger.adapters.sandbox.common import (
    Kinds,
    admin_routes,
    form_of,
    handle_of,
    refresh_grant,
    retry_after,
    sandbox_app,
    serve_app,
)
from syncledger.adapters.sandbox.faults import Faults
from syncledger.adapters.sandbox.oauth import ACCESS_TTL, OAuthServer
from syncledger.adapters.sandbox.throttle import WindowThrottle

DEFAULT_CLIENT_ID = "sandbox-client"
DEFAULT_CLIENT_SECRET = "sandbox-secret"  # noqa: S105 (a public sandbox credential)
DEFAULT_REFRESH_TOKEN = "sandbox-refresh-token"  # noqa: S105 (a public sandbox credential)
KINDS = ("customer", "invoice", "payment", "credit_note", "refund", "item")
REQUESTID_LIMIT = 50
BATCH_REQUESTID_LIMIT = 36

Handler = Callable[[Request, QboSandbox], Awaitable[Any]]


def create_app(
    book_path: Path | None = None,
    *,
    realm_id: str = "sandbox-realm",
    per_second: int = 10,
    per_minute: int = 500,
    batch_per_minute: int = 40,
    client_id: str = DEFAULT_CLIENT_ID,
    client_secret: str = DEFAULT_CLIENT_SECRET,
    refresh_token: str = DEFAULT_REFRESH_TOKEN,
    access_token_ttl: float = ACCESS_TTL,
    home_currency: str = "USD",
    require_auth: bool = True,
    faults: Faults | None = None,
    country: str = US,
    ast_rate: Decimal | None = None,
) -> Starlette:
    """The sandbox app; its ``QboSandbox`` handle is ``sandbox_of(app)``.

    ``refresh_token`` is registered as a first grant (single-use like any other).
    ``country`` and ``ast_rate`` choose the company's tax model (``qbo_tax``): a US
    company on automated sales tax computing ``ast_rate`` on taxable lines, else one that
    keeps the tax it is sent."""
    book = SandboxBook(book_path, realm_id=realm_id)
    seed_items(book)
    oauth = OAuthServer(
        book.db, client_id=client_id, client_secret=client_secret, access_ttl=access_token_ttl
    )
    oauth.grant(refresh_token)
    sandbox = QboSandbox(
        book,
        oauth,
        throttle=WindowThrottle(Rate(per_second, 1.0), Rate(per_minute, 60.0)),
        batch_throttle=WindowThrottle(Rate(batch_per_minute, 60.0)),
        faults=faults,
        home_currency=home_currency,
        require_auth=require_auth,
        company_tax=CompanyTax(country, ast_rate),
    )
    admin = admin_routes(sandbox, Kinds(KINDS), grants=sandbox.oauth)
    return sandbox_app(sandbox, [*_routes(), *admin])


def sandbox_of(app: Starlette) -> QboSandbox:
    return handle_of(app, QboSandbox)


def serve(port: int, data_dir: Path, *, host: str = "127.0.0.1") -> None:
    """Run the sandbox with its book at ``<data_dir>/sandbox/qbo.sqlite3`` until stopped."""
    serve_app(create_app(data_dir / "sandbox" / "qbo.sqlite3"), port, host)


def _routes() -> list[Route]:
    company = "/v3/company/{realm}"
    return [
        Route("/oauth2/v1/tokens/bearer", _token, methods=["POST"]),
        Route(f"{company}/query", _api(_query), methods=["GET", "POST"]),
        Route(f"{company}/cdc", _api(_cdc), methods=["GET"]),
        Route(f"{company}/batch", _api(_batch, write=True, batch=True), methods=["POST"]),
        Route(f"{company}/preferences", _api(_preferences), methods=["GET"]),
        Route(f"{company}/companyinfo/{{ident}}", _api(_company_info), methods=["GET"]),
        Route(f"{company}/{{entity}}/{{ident}}", _api(_read), methods=["GET"]),
        Route(f"{company}/{{entity}}", _api(_write, write=True), methods=["POST"]),
    ]


# --------------------------------------------------------------------- API


def _api(
    handler: Handler, *, write: bool = False, batch: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        sandbox = sandbox_of(request.app)
        try:
            sandbox.admit(
                request.path_params["realm"], request.headers.get("authorization"), batch=batch
            )
            status, body = await _answer(request, sandbox, handler, write=write, batch=batch)
        except QboFault as fault:
            return _fault_response(fault)
        if write and sandbox.faults.take("commit_then_timeout"):
            await asyncio.sleep(sandbox.faults.stall_seconds)  # committed; the client times out
        return Response(body, status, media_type="application/json")

    return endpoint


async def _answer(
    request: Request, sandbox: QboSandbox, handler: Handler, *, write: bool, batch: bool
) -> tuple[int, bytes]:
    if not write:
        return 200, encode_json(await handler(request, sandbox))
    if sandbox.faults.take("fail_writes"):
        raise refuse("server.injected", status=sandbox.faults.fail_status)
    requestid = _requestid(request, BATCH_REQUESTID_LIMIT if batch else REQUESTID_LIMIT)
    earlier = sandbox.book.reply_for(requestid) if requestid else None
    if earlier is not None:
        return earlier
    body = encode_json(await handler(request, sandbox))
    if requestid:
        sandbox.book.remember(requestid, 200, body)
    return 200, body


def _requestid(request: Request, limit: int) -> str | None:
    requestid = request.query_params.get("requestid")
    if requestid is not None and len(requestid) > limit:
        raise refuse("request.requestid_too_long", limit=limit, length=len(requestid))
    return requestid


async def _json_body(request: Request) -> Any:
    try:
        return decode_json(await request.body())
    except ValueError:
        raise refuse("request.not_json") from None


async def _write(request: Request, sandbox: QboSandbox) -> Any:
    operation = request.query_params.get("operation")
    return sandbox.write(request.path_params["entity"], operation, await _json_body(request))


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


def _fault_response(fault: QboFault) -> Response:
    body = {"Fault": fault.fault, "time": datetime.now(UTC).isoformat(timespec="milliseconds")}
    headers = retry_after(fault.retry_after)
    return Response(encode_json(body), fault.status, headers, media_type="application/json")


# ------------------------------------------------------------------- OAuth


async def _token(request: Request) -> Response:
    oauth = sandbox_of(request.app).oauth
    return refresh_grant(oauth, request.headers.get("authorization"), await form_of(request))
