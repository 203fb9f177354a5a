"""A local NetSuite REST web services sandbox: a Starlette app enforcing the parts of the
SuiteTalk REST contract syncledger relies on, over an in-memory or SQLite book.

Implemented, with the documented source (what it refuses, and why: ``refusals.py``):

- Record service ``/services/rest/record/v1``: ``customer``, ``invoice``,
  ``customerPayment``, ``creditMemo``, ``customerRefund``, ``serviceSaleItem`` (and
  read-only ``currency`` and ``discountItem``). Items, what lines are booked to, and
  their seeds: ``items.py``. ``POST /{record}`` creates and answers ``204`` + ``Location``;
  ``PUT /{record}/eid:{externalId}`` upserts (Oracle help, "Using the Upsert Operation");
  ``PATCH /{record}/{id | eid:…}`` updates; ``GET`` reads, sublists as links unless
  ``expandSubResources=true``. Sublists merge as "Creating / Updating / Replacing a
  Sublist" say, ``?replace=`` included (``sublists.py``). Record rules and derived
  amounts: ``rules.py`` (invoice ``status`` ids ``A`` Open / ``B`` Paid In Full as in
  the REST API browser's invoice schema). A payment's ``unapplied`` amount stays on the
  customer's account until applied or refunded; a ``customerRefund`` draws on credit memos
  and payments through its ``apply`` sublist (Oracle help, "Customer Refund" in REST).
- Collections ``GET /{record}?q=&limit=&offset=``: ids with ``links``, ``count``,
  ``hasMore``, ``offset``, ``totalResults``; ``q`` per "Record Collection Filtering".
- SuiteQL ``POST /services/rest/query/v1/suiteql`` (``Prefer: transient``) over the
  ``customer``, ``transaction`` and ``item`` tables (``query.py``);
  ``lastmodifieddate`` is kept to the second and compared in the account's time zone.
- Asynchronous writes (``Prefer: respond-async``): ``202`` + ``Location`` of a job under
  ``/services/rest/async/v1/job``; a repeated ``X-NetSuite-Idempotency-Key`` is refused
  with the first job's ``Location``. Synchronous requests ignore the key, as NetSuite does.
- Token-based authentication: OAuth 1.0a HMAC-SHA256 signatures, realm, nonce, ±5 minute
  timestamp, nonce reuse (``tba.py``); why a login failed goes to a login audit
  trail (``GET /_sandbox/login-audit``).
- Governance: at most ``concurrency`` requests in flight and ``per_minute`` in a 60-second
  window. ``latency`` holds each request in flight for that long, so concurrency is
  observable in-process.
- ``/_sandbox/...``: the shared admin routes (``adapters/sandbox/common.py``) and ``GET
  login-audit``, ``POST tokens`` (a new access token), ``POST tokens/{token_id}/revoke``.

- A SuiteTax account (REST web services support no legacy tax): request bodies are
  checked against a rule table of the record metadata (``schema.py``, every rule
  with its source): amounts must be JSON numbers, legacy tax fields (``tax1Amt``,
  ``taxCode`` on lines, ``vatRegNumber``) are dropped and noted in
  ``NetSuiteSandbox.ignored``; tax is the ``taxDetails`` sublist under
  ``taxDetailsOverride`` (``rules.py``).

Not modelled: OAuth 2.0 (NetSuite's recommended method for new integrations from 2027.1),
record transforms and actions, deletes, other record types, a tax engine (without the
override no tax is computed), nexus and tax registrations of the company, field lengths,
accounting periods, 24-hour request limits, SuiteQL beyond the subset above, ``fields`` /
``expand`` selection, voiding (NetSuite's REST web services offer no void either).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncledger.adapters.jsonwire import encode_json
from syncledger.adapters.netsuite.sandbox.book import NetSuiteBook
from syncledger.adapters.netsuite.sandbox.errors import NsError, refuse
from syncledger.adapters.netsuite.sandbox.service import NetSuiteSandbox, record_type
from syncledger.adapters.netsuite.sandbox.tba import SignedRequest, TbaServer
from syncledger.adapters.ratelimit import scaled_count
from syncledger.adapters.sandbox.common import STANDARD_KINDS, Kinds, plain_json
from syncledger.adapters.sandbox.faults import Faults
from syncledger.adapters.sandbox.scaffold import Gate, Sandbox, json_body

DEFAULT_ACCOUNT_ID = "1234567_SB1"
DEFAULT_CONSUMER_KEY = "sandbox-consumer-key"
DEFAULT_CONSUMER_SECRET = "sandbox-consumer-secret"  # noqa: S105 (a public sandbox credential)
DEFAULT_TOKEN_ID = "sandbox-token-id"  # noqa: S105 (a public sandbox credential)
DEFAULT_TOKEN_SECRET = "sandbox-token-secret"  # noqa: S105 (a public sandbox credential)
RECORD_API = "/services/rest/record/v1"
ASYNC_API = "/services/rest/async/v1/job"
_KINDS = Kinds(
    names=(*STANDARD_KINDS, "refund", "item"),
    error="kinds are customer, invoice, payment, credit_note, refund and item",
    listed_only=True,
)
SANDBOX = Sandbox("netsuite", NetSuiteSandbox, _KINDS)

Handler = Callable[[Request, NetSuiteSandbox], Awaitable[Any]]


def create_app(
    book_path: Path | None = None,
    *,
    account_id: str = DEFAULT_ACCOUNT_ID,
    consumer_key: str = DEFAULT_CONSUMER_KEY,
    consumer_secret: str = DEFAULT_CONSUMER_SECRET,
    token_id: str = DEFAULT_TOKEN_ID,
    token_secret: str = DEFAULT_TOKEN_SECRET,
    concurrency: int = 15,
    per_minute: int = 600,
    home_currency: str = "USD",
    timezone: str = "UTC",
    latency: float = 0.0,
    clock: Callable[[], float] | None = None,
    faults: Faults | None = None,
    rate_scale: float = 1.0,
) -> Starlette:
    """The sandbox app; its ``NetSuiteSandbox`` handle is ``sandbox_of(app)``.
    ``rate_scale`` multiplies ``concurrency`` and ``per_minute``."""
    book = NetSuiteBook(book_path)
    tba = TbaServer(book, account_id, consumer_key, consumer_secret)
    if clock is not None:
        tba.clock = clock
    tba.issue(token_id, token_secret)
    sandbox = NetSuiteSandbox(
        book,
        tba,
        concurrency=scaled_count(concurrency, rate_scale),
        per_minute=scaled_count(per_minute, rate_scale),
        timezone=timezone,
        latency=latency,
        faults=faults,
        home_currency=home_currency,
    )
    return SANDBOX.app(sandbox, _routes(), stats=_flight_stats, admin=_token_routes())


sandbox_of = SANDBOX.of
serve = SANDBOX.serving(create_app)


def _routes() -> list[Route]:
    return [
        Route(f"{RECORD_API}/{{record}}", _api(_list), methods=["GET"]),
        Route(f"{RECORD_API}/{{record}}", _api(_create, write=True), methods=["POST"]),
        Route(f"{RECORD_API}/{{record}}/{{ident}}", _api(_read), methods=["GET"]),
        Route(f"{RECORD_API}/{{record}}/{{ident}}", _api(_put, write=True), methods=["PUT"]),
        Route(f"{RECORD_API}/{{record}}/{{ident}}", _api(_patch, write=True), methods=["PATCH"]),
        Route("/services/rest/query/v1/suiteql", _api(_suiteql), methods=["POST"]),
        Route(f"{ASYNC_API}/{{job}}", _api(_job), methods=["GET"]),
        Route(f"{ASYNC_API}/{{job}}/task", _api(_tasks), methods=["GET"]),
        Route(f"{ASYNC_API}/{{job}}/task/{{task}}", _api(_task), methods=["GET"]),
        Route(f"{ASYNC_API}/{{job}}/task/{{task}}/result", _api(_result), methods=["GET"]),
    ]


def _token_routes() -> list[Route]:
    return [
        Route("/_sandbox/login-audit", _login_audit, methods=["GET"]),
        Route("/_sandbox/tokens", _issue_token, methods=["POST"]),
        Route("/_sandbox/tokens/{token_id}/revoke", _revoke_token, methods=["POST"]),
    ]


# --------------------------------------------------------------------- API


@contextlib.asynccontextmanager
async def _admitted(request: Request, sandbox: NetSuiteSandbox) -> AsyncIterator[None]:
    """Login and limits, then in flight (with the configured latency) until answered."""
    sandbox.admit(_signed(request))
    with sandbox.flight():
        if sandbox.latency:
            await asyncio.sleep(sandbox.latency)
        yield


def _injected(status: int) -> NsError:
    return refuse("server.unexpected", status=status)


def _api(handler: Handler, *, write: bool = False) -> Callable[[Request], Awaitable[Response]]:
    async def answer(request: Request, sandbox: NetSuiteSandbox) -> Response:
        if not write:
            return _json(200, await handler(request, sandbox))
        return await _written(request, sandbox, handler)

    return Gate(SANDBOX, NsError, NsError.answer, _admitted, _injected)(answer, write=write)


async def _written(request: Request, sandbox: NetSuiteSandbox, handler: Handler) -> Response:
    if "respond-async" in request.headers.get("prefer", "").lower():
        return await _asynchronous(request, sandbox, handler)
    location: str = await handler(request, sandbox)
    return Response(status_code=204, headers={"Location": location})


async def _asynchronous(request: Request, sandbox: NetSuiteSandbox, handler: Handler) -> Response:
    key = request.headers.get("x-netsuite-idempotency-key")
    earlier = sandbox.job_for(key)
    if earlier is not None:
        raise sandbox.conflict(earlier, _base(request))
    try:
        status, location, result = 204, await handler(request, sandbox), {}
    except NsError as error:
        status, location, result = error.status, None, error.payload()
    job = sandbox.book.add_job(key, status, location, result)
    headers = {
        "Location": f"{_base(request)}{ASYNC_API}/{job}",
        "Preference-Applied": "respond-async",
    }
    return Response(status_code=202, headers=headers)


def _signed(request: Request) -> SignedRequest:
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    return SignedRequest(
        method=request.method,
        scheme=request.url.scheme,
        host=request.url.hostname or "",
        port=request.url.port,
        raw_path=raw_path.decode("ascii", errors="replace"),
        raw_query=request.scope.get("query_string", b"").decode("latin-1"),
        authorization=request.headers.get("authorization"),
    )


def _base(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _location(request: Request, record: str, stored: dict[str, Any]) -> str:
    return f"{_base(request)}{RECORD_API}/{record}/{stored['id']}"


def _replace(request: Request) -> list[str]:
    value = request.query_params.get("replace", "")
    return [name.strip() for name in value.split(",") if name.strip()]


async def _body(request: Request) -> Any:
    return await json_body(request, lambda: refuse("request.not_json"))


async def _list(request: Request, sandbox: NetSuiteSandbox) -> Any:
    params = dict(request.query_params)
    return sandbox.listing(request.path_params["record"], params, _base(request))


async def _read(request: Request, sandbox: NetSuiteSandbox) -> Any:
    expand = request.query_params.get("expandSubResources", "").lower() == "true"
    path = request.path_params
    return sandbox.read(path["record"], path["ident"], _base(request), expand=expand)


async def _create(request: Request, sandbox: NetSuiteSandbox) -> str:
    stored = sandbox.create(request.path_params["record"], await _body(request))
    return _location(request, _record(request), stored)


async def _put(request: Request, sandbox: NetSuiteSandbox) -> str:
    path = request.path_params
    stored = sandbox.put(path["record"], path["ident"], await _body(request), _replace(request))
    return _location(request, _record(request), stored)


async def _patch(request: Request, sandbox: NetSuiteSandbox) -> str:
    path = request.path_params
    stored = sandbox.patch(path["record"], path["ident"], await _body(request), _replace(request))
    return _location(request, _record(request), stored)


def _record(request: Request) -> str:
    return record_type(request.path_params["record"])


async def _suiteql(request: Request, sandbox: NetSuiteSandbox) -> Any:
    if "transient" not in request.headers.get("prefer", "").lower():
        raise refuse("suiteql.not_transient")
    params = dict(request.query_params)
    return sandbox.suiteql(await _body(request), params, _base(request))


# ------------------------------------------------------------------- async


def _stored_job(request: Request, sandbox: NetSuiteSandbox) -> dict[str, Any]:
    job = sandbox.book.job(request.path_params["job"])
    if job is None:
        raise refuse("async.job_not_found", job=request.path_params["job"])
    return job


def _progress(job: dict[str, Any]) -> str:
    return "succeeded" if job["status"] < 400 else "failed"


async def _job(request: Request, sandbox: NetSuiteSandbox) -> Any:
    job = _stored_job(request, sandbox)
    href = f"{_base(request)}{ASYNC_API}/{job['id']}"
    return {
        "links": [{"rel": "self", "href": href}],
        "completed": True,
        "id": str(job["id"]),
        "progress": _progress(job),
        "task": {"links": [{"rel": "self", "href": f"{href}/task"}]},
    }


async def _tasks(request: Request, sandbox: NetSuiteSandbox) -> Any:
    job = _stored_job(request, sandbox)
    href = f"{_base(request)}{ASYNC_API}/{job['id']}/task"
    item = {"links": [{"rel": "self", "href": f"{href}/{job['id']}"}], "id": str(job["id"])}
    return {
        "links": [{"rel": "self", "href": href}],
        "count": 1,
        "hasMore": False,
        "items": [item],
        "offset": 0,
        "totalResults": 1,
    }


async def _task(request: Request, sandbox: NetSuiteSandbox) -> Any:
    job = _stored_job(request, sandbox)
    href = f"{_base(request)}{ASYNC_API}/{job['id']}/task/{job['id']}"
    return {
        "links": [{"rel": "related", "href": f"{href}/result"}, {"rel": "self", "href": href}],
        "completed": True,
        "endTime": job["ended"],
        "id": str(job["id"]),
        "progress": _progress(job),
        "startTime": job["started"],
    }


async def _result(request: Request, sandbox: NetSuiteSandbox) -> Any:
    job = _stored_job(request, sandbox)
    if job["status"] >= 400:
        raise NsError(
            job["status"],
            job["result"]["o:errorDetails"][0]["o:errorCode"],
            job["result"]["o:errorDetails"][0]["detail"],
        )
    return {"links": [{"rel": "self", "href": job["location"]}]}


def _json(status: int, body: Any) -> Response:
    return Response(encode_json(body), status, media_type="application/vnd.oracle.resource+json")


# ------------------------------------------------------------------- admin


def _flight_stats(sandbox: NetSuiteSandbox) -> dict[str, Any]:
    return {"in_flight": sandbox.in_flight}


async def _login_audit(request: Request) -> Response:
    return plain_json(200, {"failures": sandbox_of(request.app).tba.audit})


async def _issue_token(request: Request) -> Response:
    token_id, token_secret = secrets.token_hex(32), secrets.token_hex(32)
    sandbox_of(request.app).tba.issue(token_id, token_secret)
    return plain_json(200, {"token_id": token_id, "token_secret": token_secret})


async def _revoke_token(request: Request) -> Response:
    sandbox_of(request.app).tba.revoke(request.path_params["token_id"])
    return plain_json(200, {"revoked": True})
