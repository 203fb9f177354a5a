"""The scaffold every sandbox is built on: a platform declares what is its own (its
handle type and kinds, its error type and how an error looks on the wire, how a request is
admitted, its routes) and the scaffold supplies the rest:

- ``SandboxHandle``: the handle's book, faults, ``require_auth``, ``home_currency``,
  ``throttled`` counter, ``close``, the test shortcuts (``fail_next_writes`` …), the
  bearer check, and the two throttle steps every platform takes in order (an injected
  429, then its real windows);
- ``Sandbox``: the app (platform routes, ``/_sandbox/*`` admin routes, targeted faults,
  closing the book on shutdown), ``of`` (a platform's ``sandbox_of``), ``serving`` (its
  ``serve``), with the book under
  ``<data_dir>/sandbox/<book>.sqlite3``, the OAuth token server with its first grant and
  its ``refresh_token`` endpoint;
- ``Gate``: an API endpoint around a platform handler: admission, an injected write
  failure, the handler, errors answered in the platform's shape, and an injected
  commit-then-timeout stall after a write.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypedDict, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncledger.adapters.jsonwire import decode_json
from syncledger.adapters.sandbox.common import (
    Administered,
    Closeable,
    Kinds,
    TokenGrants,
    Tokens,
    admin_routes,
    authorize_answer,
    form_of,
    handle_of,
    refresh_grant,
    sandbox_app,
    serve_app,
)
from syncledger.adapters.sandbox.faults import FaultInjection, Faults
from syncledger.adapters.sandbox.oauth import ACCESS_TTL, REFRESH_TTL, OAuthServer


class Handle(Administered, Closeable, Protocol):
    """What the scaffold needs of a sandbox handle."""


B = TypeVar("B", bound=Closeable)
H = TypeVar("H", bound=Handle)
F = TypeVar("F", bound=Exception)

Endpoint = Callable[[Request], Awaitable[Response]]


class Serve(Protocol):
    def __call__(self, port: int, data_dir: Path, *, host: str = "127.0.0.1") -> None: ...


class AccessTokens(Protocol):
    def access_ok(self, token: str) -> bool: ...


# ------------------------------------------------------------------ handle


class HandleOptions(TypedDict, total=False):
    """What every sandbox's ``create_app`` and handle take alike: the ``faults`` to inject
    (none by default), whether requests must carry a token (``require_auth``, True) and the
    company's ``home_currency`` (``USD``)."""

    faults: Faults | None
    require_auth: bool
    home_currency: str


class SandboxHandle(FaultInjection, abc.ABC, Generic[B]):
    """What every sandbox handle holds: its ``book`` (closed with the handle), its
    ``faults``, whether requests must carry a token, the company's home currency, and
    ``throttled``: the 429s answered because a real limit was exceeded (injected ones not
    counted)."""

    def __init__(
        self,
        book: B,
        *,
        faults: Faults | None = None,
        require_auth: bool = True,
        home_currency: str = "USD",
    ) -> None:
        self.book = book
        self.faults = faults or Faults()
        self.require_auth = require_auth
        self.home_currency = home_currency
        self.throttled = 0

    def close(self) -> None:
        self.book.close()

    @abc.abstractmethod
    def records(self, kind: str) -> list[dict[str, Any]]:
        """The records of ``kind`` as the platform shows them; ``KeyError`` for a kind the
        sandbox does not know."""

    def count(self, kind: str) -> int:
        """How many records of ``kind`` ``records`` holds."""
        return len(self.records(kind))

    def injected_throttle(self) -> float | None:
        """The wait of an injected 429 if one is due (and uses it up), else None."""
        return self.faults.retry_after if self.faults.take("throttle") else None

    def over_limit(self, wait: float | None) -> bool:
        """Counts a real limit's refusal (``wait`` is not None) in ``throttled``."""
        if wait is None:
            return False
        self.throttled += 1
        return True


def bearer_ok(tokens: AccessTokens, authorization: str | None, scheme: str = "bearer") -> bool:
    """``Authorization: <scheme> <token>`` with a token ``tokens`` accepts."""
    given, _, token = (authorization or "").partition(" ")
    return given.lower() == scheme and tokens.access_ok(token.strip())


# ---------------------------------------------------------------- sandbox


@dataclass(frozen=True)
class Sandbox(Generic[H]):
    """One platform's sandbox app: ``book`` names its file under ``<data_dir>/sandbox``,
    ``handle`` is its handle type, ``kinds`` what ``/_sandbox/counts`` and ``records``
    answer."""

    book: str
    handle: type[H]
    kinds: Kinds

    def app(
        self,
        handle: H,
        routes: Sequence[Route],
        *,
        grants: TokenGrants | None = None,
        stats: Callable[[H], dict[str, Any]] | None = None,
        admin: Sequence[Route] = (),
    ) -> Starlette:
        """The app serving ``routes``, the admin routes (with ``admin`` extras) and the
        targeted faults; the handle is closed when the app shuts down."""
        standard = admin_routes(handle, self.kinds, stats=stats, grants=grants)
        return sandbox_app(handle, [*routes, *standard, *admin])

    def of(self, app: Starlette) -> H:
        """The handle of an app made by ``app``."""
        return handle_of(app, self.handle)

    def serving(self, create_app: Callable[[Path], Starlette]) -> Serve:
        """The platform's ``serve``: run the app ``create_app`` makes, with its book at
        ``<data_dir>/sandbox/<book>.sqlite3``, until stopped."""

        def serve(port: int, data_dir: Path, *, host: str = "127.0.0.1") -> None:
            serve_app(create_app(data_dir / "sandbox" / f"{self.book}.sqlite3"), port, host)

        return serve

    def token_route(
        self, path: str, shape: Callable[[Tokens], Tokens] = dict, oauth: str = "oauth"
    ) -> Route:
        """``POST path``: the ``refresh_token`` grant of the handle's OAuth server (its
        attribute ``oauth``), answered in the fields ``shape`` gives."""

        async def token(request: Request) -> Response:
            server: OAuthServer = getattr(self.of(request.app), oauth)
            form = await form_of(request)
            return refresh_grant(server, request.headers.get("authorization"), form, shape)

        return Route(path, token, methods=["POST"])

    def authorize_route(
        self,
        path: str,
        extra: Callable[[H], dict[str, str]] = lambda _handle: {},
        oauth: str = "oauth",
    ) -> Route:
        """``GET path``: the authorization endpoint of the handle's OAuth server, which
        consents at once and redirects back with a code (``authorize_answer``); ``extra``
        adds the platform's own redirect parameters (QBO's ``realmId``)."""

        async def authorize(request: Request) -> Response:
            handle = self.of(request.app)
            server: OAuthServer = getattr(handle, oauth)
            return authorize_answer(server, dict(request.query_params), extra(handle))

        return Route(path, authorize, methods=["GET"])


@dataclass(frozen=True)
class SandboxLogin:
    """The app a sandbox's token server knows (its public test credentials), the refresh
    token registered as a first grant, and how long its tokens last."""

    client_id: str = "sandbox-client"
    client_secret: str = field(default="sandbox-secret", repr=False)
    refresh_token: str = field(default="sandbox-refresh-token", repr=False)
    access_ttl: float = ACCESS_TTL
    refresh_ttl: float = REFRESH_TTL

    def credentials(self) -> tuple[str, str, str]:
        """Client id, client secret and first refresh token (a sandbox's public ones)."""
        return self.client_id, self.client_secret, self.refresh_token


def oauth_server(db: sqlite3.Connection, login: SandboxLogin) -> OAuthServer:
    """The token server in the book's database ``db``, knowing ``login``'s app, with its
    refresh token registered as a first grant (single-use like any other)."""
    oauth = OAuthServer(
        db,
        client_id=login.client_id,
        client_secret=login.client_secret,
        access_ttl=login.access_ttl,
        refresh_ttl=login.refresh_ttl,
    )
    oauth.grant(login.refresh_token)
    return oauth


# ------------------------------------------------------------------- gate


@dataclass(frozen=True)
class Gate(Generic[H, F]):
    """How a platform's API endpoints are guarded and answered.

    ``admit`` checks a request before any work (auth, account, throttling); when it
    returns a context manager (sync or async), that is held for the whole request (a
    concurrency slot).
    ``fault`` is the platform's
    error type, ``respond`` its wire shape; ``injected`` builds the error an injected
    write failure answers (``Faults.fail_writes``, with ``Faults.fail_status``; None
    where the platform injects it itself, e.g. after an idempotency-key replay);
    ``withholds``: the gate withholds a write's answer on an injected commit-then-timeout
    (False where the platform's handler decides that itself)."""

    sandbox: Sandbox[H]
    fault: type[F]
    respond: Callable[[F], Response]
    admit: Callable[[Request, H], object]
    injected: Callable[[int], F] | None
    withholds: bool = True

    def __call__(
        self,
        handler: Callable[[Request, H], Awaitable[Response]],
        *,
        write: bool | Callable[[Request], bool] = False,
    ) -> Endpoint:
        """The endpoint running ``handler``; a ``write`` (or a request ``write`` says is
        one) may fail or stall by injection."""

        async def endpoint(request: Request) -> Response:
            handle = self.sandbox.of(request.app)
            writes = write(request) if callable(write) else write
            try:
                async with _held(self.admit(request, handle)):
                    response = await self._answer(request, handle, handler, writes)
            except self.fault as error:
                return self.respond(error)
            return response

        return endpoint

    async def _answer(
        self,
        request: Request,
        handle: H,
        handler: Callable[[Request, H], Awaitable[Response]],
        write: bool,
    ) -> Response:
        faults = handle.faults
        if write and self.injected is not None and faults.take("fail_writes"):
            raise self.injected(faults.fail_status)
        response = await handler(request, handle)
        if write and self.withholds and faults.take("commit_then_timeout"):
            await asyncio.sleep(faults.stall_seconds)  # committed; the client times out
        return response


@contextlib.asynccontextmanager
async def _held(admission: object) -> AsyncIterator[None]:
    """Holds what an admission returned (a context manager, sync or async) until the
    request ends."""
    async with contextlib.AsyncExitStack() as stack:
        if isinstance(admission, contextlib.AbstractAsyncContextManager):
            await stack.enter_async_context(admission)
        elif isinstance(admission, contextlib.AbstractContextManager):
            stack.enter_context(admission)
        yield


async def json_body(request: Request, refused: Callable[[], Exception]) -> Any:
    """The request's JSON body; ``refused()`` is raised when it is not JSON."""
    try:
        return decode_json(await request.body())
    except ValueError:
        raise refused() from None
