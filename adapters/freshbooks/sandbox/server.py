"""A local FreshBooks Accounting API sandbox: a Starlette app enforcing the parts of the
FreshBooks contract syncledger relies on, over an in-memory or SQLite book.

Implemented, with its source:

- ``POST /auth/oauth/token``: ``refresh_token`` grant with the client id and secret in the
  body (form or JSON); refresh tokens are single-use and rotate (PLATFORMS.md, FreshBooks'
  Python SDK ``refresh_access_token``); answers ``access_token``, ``refresh_token``,
  ``token_type``, ``expires_in`` (12 h), ``scope``, ``created_at`` (SDK fixture). Every
  grant must carry the app's ``redirect_uri``, as both SDKs send it (``refusals.py``).
- ``GET /service/auth/oauth/authorize`` (``syncledger connect``): consents at once for
  the registered ``redirect_uri`` and sends the browser back with ``code`` and
  ``state``; the code is exchanged at the token endpoint (``authorization_code``, same
  redirect URI); ``GET /auth/api/v1/users/me``: the identity, one business membership
  whose ``business.account_id`` is this sandbox's account (``freshbooks/oauth.py``).
- ``/accounting/account/{account_id}/users/clients``, ``/invoices/invoices``,
  ``/payments/payments``, ``/credit_notes/credit_notes``, ``/items/items`` (official SDKs,
  freshbooks.com/api/items): ``GET`` a list, ``POST`` a create with the body
  ``{"<single>": {...}}``, ``GET`` / ``PUT`` one by id; ``DELETE`` one (sets ``vis_state``
  1, as FreshBooks' SDK deletes invoices). Answers are ``{"response": {"result": {...}}}``;
  refusals ``{"response": {"errors": [{"errno", "field", "message", "object", "value"}]}}``
  (``freshbooks_errors``; what is refused, with its errno and source: ``refusals.py``).
- Deletion is ``vis_state`` 1 (0 active, 2 archived), set by ``PUT``; deleted records stay
  readable (FreshBooks "Active and Deleted Objects").
- Paging ``page`` / ``per_page`` (≤ 100), searches ``search[...]`` including the delta
  search ``search[updated_min]`` at day granularity, ``include[]=lines``
  (``freshbooks_query``); ``updated`` is ``YYYY-MM-DD hh:mm:ss`` in US/Eastern.
- Amounts and rules: ``freshbooks_rules`` (line taxes as percentages, payments in the
  invoice's currency, credit notes applied to an invoice by a payment of ``type`` Credit,
  the excess of a payment over what the invoice owes kept as an overpayment credit note
  named by the payment's ``overpaymentid``).
- Items: lines carry no item id in FreshBooks, so nothing checks a line's name against the
  items, here as there. No item is seeded: the mapping names none.
- Refunds out of a client credit: FreshBooks documents none, and ``Refund`` is no payment
  type (``freshbooks_rules.PAYMENT_TYPES``). The handle's ``refund`` kind is always empty.
- Rate limit: ``per_minute`` per account (default 100) and an optional ``per_second``,
  answered 429 with ``Retry-After`` (seconds).
- ``/_sandbox/...``: the shared admin routes (``adapters/sandbox/common.py``), OAuth's
  included.

Not modelled: idempotency keys (FreshBooks has none), conditional updates (FreshBooks
has no version check: ``updated`` is only a timestamp), ``discount_value`` percentages,
prepayment credits, restoring deleted payments, estimates / taxes / expenses, item
inventory counts, webhooks, the Events API, exact FreshBooks ``errno`` values other than
1012 and exact tax rounding (each line's tax rounded half-up to the cent here).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Unpack
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncledger.adapters.freshbooks.sandbox.book import FreshBooksBook
from syncledger.adapters.freshbooks.sandbox.errors import FreshBooksFault, refuse
from syncledger.adapters.freshbooks.sandbox.query import ListQuery, includes
from syncledger.adapters.freshbooks.sandbox.service import FreshBooksSandbox, resource
from syncledger.adapters.jsonwire import decode_json
from syncledger.adapters.ratelimit import Rate
from syncledger.adapters.sandbox.common import (
    STANDARD_KINDS,
    Kinds,
    authorize_answer,
    plain_json,
    refresh_grant,
    token_fields,
)
from syncledger.adapters.sandbox.scaffold import (
    Gate,
    HandleOptions,
    Sandbox,
    SandboxLogin,
    bearer_ok,
    json_body,
    oauth_server,
)
from syncledger.adapters.sandbox.throttle import WindowThrottle

DEFAULT_ACCOUNT_ID = "sandbox-account"
DEFAULT_REDIRECT_URI = "https://syncledger.example/callback"  # the sandbox app's registered one
ACCESS_TTL = 43200.0  # FreshBooks access tokens last 12 hours
LOGIN = SandboxLogin(access_ttl=ACCESS_TTL)  # the shared public sandbox credentials
DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN = LOGIN.credentials()
SCOPE = "user:profile:read user:clients:read user:clients:write user:invoices:read user:invoices:write user:payments:read user:payments:write user:credit_notes:read user:credit_notes:write user:billable_items:read user:billable_items:write"  # noqa: E501

SANDBOX = Sandbox("freshbooks", FreshBooksSandbox, Kinds((*STANDARD_KINDS, "refund", "item")))

Handler = Callable[[Request, FreshBooksSandbox], Awaitable[Any]]
_WRITES = ("POST", "PUT", "DELETE")


def create_app(
    book_path: Path | None = None,
    *,
    account_id: str = DEFAULT_ACCOUNT_ID,
    per_minute: int = 100,
    per_second: int | None = None,
    login: SandboxLogin = LOGIN,
    redirect_uri: str = DEFAULT_REDIRECT_URI,
    clock: Callable[[], datetime] | None = None,
    rate_scale: float = 1.0,
    **options: Unpack[HandleOptions],
) -> Starlette:
    """The sandbox app; its ``FreshBooksSandbox`` handle is ``sandbox_of(app)``.

    ``login``'s refresh token is registered as a first grant (single-use like any other);
    ``redirect_uri`` is the app's registered redirect URI, which every grant must carry;
    ``clock`` (UTC) stamps ``updated`` (tests set dates with it); ``rate_scale``
    multiplies ``per_minute`` and ``per_second``."""
    book = FreshBooksBook(book_path, account_id=account_id, clock=clock or _utc_now)
    oauth = oauth_server(book.db, login)
    rates = [Rate(per_minute, 60.0)] + ([Rate(per_second, 1.0)] if per_second else [])
    sandbox = FreshBooksSandbox(
        book,
        oauth,
        throttle=WindowThrottle(*(rate.scaled(rate_scale) for rate in rates)),
        redirect_uri=redirect_uri,
        **options,
    )
    return SANDBOX.app(sandbox, _routes(), grants=sandbox.oauth)


def _utc_now() -> datetime:
    return datetime.now(UTC)


sandbox_of = SANDBOX.of
serve = SANDBOX.serving(create_app)


def _routes() -> list[Route]:
    account = "/accounting/account/{account}/{group}/{name}"
    return [
        Route("/auth/oauth/token", _token, methods=["POST"]),
        Route("/service/auth/oauth/authorize", _authorize, methods=["GET"]),
        Route("/auth/api/v1/users/me", _me, methods=["GET"]),
        Route(account, _api(_collection), methods=["GET", "POST"]),
        Route(account + "/{ident}", _api(_one), methods=["GET", "PUT", "DELETE"]),
    ]


# --------------------------------------------------------------------- API


def _admit(request: Request, sandbox: FreshBooksSandbox) -> None:
    sandbox.admit(request.path_params["account"], request.headers.get("authorization"))


def _injected(status: int) -> FreshBooksFault:
    return refuse("server.injected", status=status)


def _is_write(request: Request) -> bool:
    return request.method in _WRITES


def _api(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def answer(request: Request, sandbox: FreshBooksSandbox) -> Response:
        # a rule's refusal is an answer too: an injected commit-then-timeout loses it
        try:
            return _result(await handler(request, sandbox))
        except FreshBooksFault as fault:
            return fault.answer()

    gate = Gate(SANDBOX, FreshBooksFault, FreshBooksFault.answer, _admit, _injected)
    return gate(answer, write=_is_write)


async def _collection(request: Request, sandbox: FreshBooksSandbox) -> Any:
    res = _resource(request)
    params = request.query_params.multi_items()
    if request.method == "POST":
        return sandbox.create(res, await _json_body(request), includes(params))
    return sandbox.list(res, ListQuery.parse(res.kind, params))


async def _one(request: Request, sandbox: FreshBooksSandbox) -> Any:
    res = _resource(request)
    ident = request.path_params["ident"]
    wanted = includes(request.query_params.multi_items())
    if request.method == "PUT":
        return sandbox.update(res, ident, await _json_body(request), wanted)
    if request.method == "DELETE":
        return sandbox.delete(res, ident)
    return sandbox.read(res, ident, wanted)


def _resource(request: Request) -> Any:
    return resource(f"{request.path_params['group']}/{request.path_params['name']}")


async def _json_body(request: Request) -> Any:
    return await json_body(request, lambda: refuse("request.not_json"))


def _result(result: Any) -> Response:
    return plain_json(200, {"response": {"result": result}})


# ------------------------------------------------------------------- OAuth


async def _token(request: Request) -> Response:
    sandbox = sandbox_of(request.app)
    form = await _token_form(request)
    try:
        _check_redirect(form, sandbox.redirect_uri)
    except FreshBooksFault as fault:
        return fault.answer()
    authorization = request.headers.get("authorization")
    return refresh_grant(sandbox.oauth, authorization, form, _freshbooks_tokens)


async def _authorize(request: Request) -> Response:
    """The consent page (``syncledger connect``): consents at once for the app's
    registered redirect URI; any other is refused here, never redirected to."""
    sandbox = sandbox_of(request.app)
    params = dict(request.query_params)
    if params.get("redirect_uri") != sandbox.redirect_uri:
        return plain_json(400, {"error": "invalid_request", "detail": "redirect_uri"})
    return authorize_answer(sandbox.oauth, params, {})


async def _me(request: Request) -> Response:
    """The identity of the token's user: one business membership, this sandbox's
    account (``business_memberships[].business.account_id``)."""
    sandbox = sandbox_of(request.app)
    if not bearer_ok(sandbox.oauth, request.headers.get("authorization")):
        return plain_json(401, {"error": "unauthenticated"})
    business = {"id": 1, "name": "syncledger sandbox", "account_id": sandbox.account_id}
    identity = {"identity_id": 1, "business_memberships": [{"business": business}]}
    return plain_json(200, {"response": identity})


def _check_redirect(form: dict[str, str], registered: str) -> None:
    """A grant must carry the app's ``redirect_uri``, checked before the refresh token is
    spent."""
    given = form.get("redirect_uri")
    if not given:
        raise refuse("oauth.redirect_uri_missing")
    if given != registered:
        raise refuse("oauth.redirect_uri_mismatch")


async def _token_form(request: Request) -> dict[str, str]:
    raw = (await request.body()).decode()
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            return {str(k): str(v) for k, v in decode_json(raw).items()}
        except (ValueError, AttributeError):
            return {}
    return dict(parse_qsl(raw))


def _freshbooks_tokens(tokens: dict[str, Any]) -> dict[str, Any]:
    return token_fields(tokens, "Bearer", scope=SCOPE, created_at=int(time.time()))
