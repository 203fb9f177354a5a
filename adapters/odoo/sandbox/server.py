"""A local Odoo sandbox (19 by default; 18 or 17 when told, see ``odoo_versions``): a
Starlette app serving the external API syncledger uses, over an in-memory or SQLite
database.

Implemented, with its documented source (what it refuses, and why: ``refusals.py``):

- JSON-2 (Odoo 19 ``developer/reference/external_api.rst``; ``addons/rpc/controllers/
  json2.py``): ``POST /json/2/<model>/<method>``, ``Authorization: bearer <API key>``,
  optional ``X-Odoo-Database``, a JSON object of named arguments plus ``ids`` and
  ``context``; success is 200 with the method's return value, a refusal 4xx/5xx.
  Every call is one transaction: committed on success, rolled back on error.
- XML-RPC (``external_rpc_api.rst``, deprecated in 19, removed in 22;
  ``addons/rpc/controllers/xmlrpc.py``): ``/xmlrpc/2/common`` ``version`` /
  ``authenticate`` / ``login`` (an API key stands in for the password) and
  ``/xmlrpc/2/object`` ``execute_kw(db, uid, key, model, method, args, kwargs)`` /
  ``execute``; refusals are faults answered with HTTP 200, a ``None`` result too (it ran
  and committed). The XML itself is read and written by ``sandbox/wire.py``.
- API keys: 160-bit keys, at most three months, ``res.users.apikeys`` ``generate`` /
  ``revoke`` (``external_api.rst`` "Programmatic Key Management").
- Models and methods: ``res.partner`` (``ref`` holds an external reference),
  ``account.move`` invoices / credit notes, ``account.payment.register`` (on moves or
  journal items) → ``action_create_payments``, ``js_assign_outstanding_line``, read-only
  ``account.move.line``, ``account.payment`` ``create`` / ``action_post`` (inbound customer
  payments and outbound customer refunds), ``account.partial.reconcile``, ``account.tax``,
  ``res.currency``, ``account.journal``, ``account.account`` (see ``odoo_accounting``);
  ``product.product`` ``create`` and invoice lines booked to products (``product_id``);
  ``search`` / ``search_read`` / ``search_count`` / ``read`` with domains, ``offset`` /
  ``limit`` / ``order``; ``write_date`` (shown to the second) as the only change marker.
- Throttling: ``per_second`` / ``per_minute`` per database, on both transports.
- ``/_sandbox/...``: the shared admin routes (``adapters/sandbox/common.py``) (kinds:
  the standard ones, ``refund``: outbound customer payments, and ``item``: products) and
  ``POST apikeys`` (a fresh key), ``POST apikeys/expire`` (expire every key).

Not modelled: idempotency keys (Odoo has none: clients look up their own reference),
concurrency tokens (the ``__last_update`` check was removed in 16.1), currency rates
beyond a bare ``res.currency.rate`` table a test fills (``set_currency_rate``; in 18+ a
foreign-currency invoice needs ``invoice_currency_rate``), product categories,
variants and product taxes, the chart of accounts beyond one income account, analytic and
tax-included prices, fiscal positions, multi-company, partial payments
across currencies, payment and credit-note cancellation, ``unlink``, JSON-RPC
``/jsonrpc``, the ``/doc`` pages and sessions/cookies.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, Unpack

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncledger.adapters.jsonwire import decode_json, encode_json
from syncledger.adapters.odoo.sandbox.book import OdooBook
from syncledger.adapters.odoo.sandbox.errors import (
    FAULT_APPLICATION,
    OdooError,
    http_level,
    refuse,
)
from syncledger.adapters.odoo.sandbox.orm import record_ids
from syncledger.adapters.odoo.sandbox.service import ADMIN_UID, OdooSandbox, is_write
from syncledger.adapters.odoo.sandbox.wire import fault_body, read_call, result_body
from syncledger.adapters.ratelimit import Rate
from syncledger.adapters.sandbox.common import STANDARD_KINDS, Kinds, plain_json, retry_after
from syncledger.adapters.sandbox.scaffold import HandleOptions, Sandbox
from syncledger.adapters.sandbox.throttle import WindowThrottle

DEFAULT_DATABASE = "sandbox"
DEFAULT_LOGIN = "admin"
DEFAULT_API_KEY = "sandbox-odoo-api-key"  # a public sandbox credential
APIKEY_PARAMS = {"generate": ("key", "scope", "name", "expiration_date"), "revoke": ("key",)}
SANDBOX = Sandbox("odoo", OdooSandbox, Kinds(names=(*STANDARD_KINDS, "refund", "item")))


def create_app(
    book_path: Path | None = None,
    *,
    database: str = DEFAULT_DATABASE,
    per_second: int = 5,
    per_minute: int = 200,
    api_key: str = DEFAULT_API_KEY,
    rate_scale: float = 1.0,
    version: int = 19,
    **options: Unpack[HandleOptions],
) -> Starlette:
    """The sandbox app; its ``OdooSandbox`` handle is ``sandbox_of(app)``. ``api_key`` is
    registered for the ``admin`` user (valid for three months from now); ``rate_scale``
    multiplies ``per_second`` and ``per_minute``; ``version`` is the Odoo release played
    (17, 18 or 19, see ``odoo_versions``)."""
    sandbox = OdooSandbox(
        OdooBook(book_path),
        database=database,
        throttle=WindowThrottle(
            Rate(per_second, 1.0).scaled(rate_scale), Rate(per_minute, 60.0).scaled(rate_scale)
        ),
        version=version,
        **options,
    )
    sandbox.register_key(api_key)
    return SANDBOX.app(sandbox, _routes(), admin=_apikey_routes())


sandbox_of = SANDBOX.of
serve = SANDBOX.serving(create_app)


def _routes() -> list[Route]:
    return [
        Route("/json/2/{model}/{method}", _json2, methods=["POST"]),
        Route("/xmlrpc/2/common", _xmlrpc_common, methods=["POST"]),
        Route("/xmlrpc/2/object", _xmlrpc_object, methods=["POST"]),
        Route("/web/version", _version, methods=["GET"]),
    ]


def _apikey_routes() -> list[Route]:
    return [
        Route("/_sandbox/apikeys", _new_key, methods=["POST"]),
        Route("/_sandbox/apikeys/expire", _expire_keys, methods=["POST"]),
    ]


# ----------------------------------------------------------------- JSON-2


async def _json2(request: Request) -> Response:
    sandbox = sandbox_of(request.app)
    model, method = request.path_params["model"], request.path_params["method"]
    context: dict[str, Any] = {}
    try:
        sandbox.release.check_json2()
        sandbox.admit()
        _check_database(sandbox, request.headers.get("x-odoo-database"))
        key = _bearer_key(request.headers.get("authorization"))
        sandbox.bearer_uid(request.headers.get("authorization"))
        params = await _json_params(request)
        ids = record_ids(params.pop("ids", []) or [])
        context = _context(params.pop("context", {}))
        result = sandbox.execute(model, method, ids, params, context, key=key)
    except OdooError as error:
        await _maybe_stall(sandbox, False)
        return error.in_context(context).answer()
    await _maybe_stall(sandbox, is_write(method))
    return Response(encode_json(result), 200, media_type="application/json; charset=utf-8")


async def _json_params(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise refuse("request.not_json")
    raw = await request.body()
    try:
        params = decode_json(raw) if raw else {}
    except ValueError as exc:
        raise refuse("request.bad_json", error=exc) from None
    if not isinstance(params, dict):
        raise refuse("request.not_object")
    return params


def _context(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise refuse("request.context_not_object")
    return value


def _check_database(sandbox: OdooSandbox, name: str | None) -> None:
    if name is not None and name != sandbox.database:
        raise refuse("request.unknown_database", name=name)


def _bearer_key(authorization: str | None) -> str | None:
    scheme, _, key = (authorization or "").partition(" ")
    return key.strip() if scheme.lower() == "bearer" else None


async def _maybe_stall(sandbox: OdooSandbox, write: bool) -> None:
    if sandbox.stall_after(write):
        await asyncio.sleep(sandbox.faults.stall_seconds)  # committed; the client times out


# ----------------------------------------------------------------- XML-RPC


async def _xmlrpc_common(request: Request) -> Response:
    return await _xmlrpc(request, _common)


async def _xmlrpc_object(request: Request) -> Response:
    return await _xmlrpc(request, _object)


async def _xmlrpc(
    request: Request, service: Callable[[OdooSandbox, str, list[Any]], tuple[Any, bool]]
) -> Response:
    sandbox = sandbox_of(request.app)
    write = False
    try:
        sandbox.admit()
        params, method = _xml_call(await request.body())
        result, write = service(sandbox, method, params)
        body = _marshal(result)
    except OdooError as error:
        await _maybe_stall(sandbox, False)
        return _xml_error(error)
    await _maybe_stall(sandbox, write)
    return Response(body, 200, media_type="text/xml")


def _marshal(result: Any) -> bytes:
    """The response; what XML-RPC cannot carry (``None``) is a fault 1 after the commit."""
    try:
        return result_body(result)
    except TypeError as exc:
        raise refuse("rpc.unmarshallable_result", error=exc) from None


def _xml_call(data: bytes) -> tuple[list[Any], str]:
    try:
        params, method = read_call(data)
    except ValueError as exc:
        raise refuse("request.not_xmlrpc", error=exc) from None
    if not method:
        raise refuse("request.no_method_name")
    return params, method


def _xml_error(error: OdooError) -> Response:
    if http_level(error):
        headers = retry_after(error.retry_after)
        return Response(error.message, error.status, headers, media_type="text/plain")
    message = error.message if error.fault_code != FAULT_APPLICATION else _traceback(error)
    return Response(fault_body(error.fault_code, message), 200, media_type="text/xml")


def _traceback(error: OdooError) -> str:
    return f"Traceback (most recent call last):\n  (sandbox)\n{error.name}: {error.message}\n"


def _common(sandbox: OdooSandbox, method: str, params: list[Any]) -> tuple[Any, bool]:
    if method == "version":
        return sandbox.release.version_info(), False
    if method in ("login", "authenticate") and len(params) >= 3:
        _check_database(sandbox, str(params[0]))
        uid = sandbox.login_uid(str(params[1]), str(params[2]))
        return (uid if uid is not None else False), False
    raise refuse("rpc.unknown_service_method", method=method, service="common")


def _object(sandbox: OdooSandbox, method: str, params: list[Any]) -> tuple[Any, bool]:
    if method not in ("execute_kw", "execute") or len(params) < 5:
        raise refuse("rpc.unknown_service_method", method=method, service="object")
    db, uid, key, model, name = params[:5]
    _check_database(sandbox, str(db))
    if sandbox.key_uid(str(key)) != uid or uid != ADMIN_UID:
        raise refuse("auth.access_denied")
    args, kwargs = _call_args(method, params[5:])
    context = _context(kwargs.pop("context", {}))
    ids, named = _bind_positional(sandbox, str(model), str(name), args)
    result = sandbox.execute(str(model), str(name), ids, named | kwargs, context, key=str(key))
    return result, is_write(str(name))


def _call_args(method: str, rest: list[Any]) -> tuple[list[Any], dict[str, Any]]:
    if method == "execute":
        return list(rest), {}
    args = rest[0] if rest else []
    kwargs = rest[1] if len(rest) > 1 else {}
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise refuse("request.execute_kw_shape")
    return list(args), dict(kwargs)


def _bind_positional(
    sandbox: OdooSandbox, model: str, method: str, args: list[Any]
) -> tuple[list[int], dict[str, Any]]:
    if model == "res.users.apikeys":
        names = APIKEY_PARAMS.get(method, ())
        return [], dict(zip(names, args, strict=False))
    return sandbox.orm.bind_positional(model, method, args)


# ------------------------------------------------------------------- admin


async def _version(request: Request) -> Response:
    info = sandbox_of(request.app).release.version_info()
    return plain_json(
        200, {"version_info": info["server_version_info"], "version": info["server_serie"]}
    )


async def _new_key(request: Request) -> Response:
    return plain_json(200, {"api_key": sandbox_of(request.app).issue_key()})


async def _expire_keys(request: Request) -> Response:
    sandbox_of(request.app).expire_keys()
    return plain_json(200, {"expired": True})
