"""What the seven sandbox apps share: the Starlette app around a sandbox handle (kept in
``app.state``, closed when the app shuts down), serving it with uvicorn, the shared token
server's ``refresh_token`` grant, and the ``/_sandbox/*`` admin routes (no auth, not
throttled) every sandbox answers:

- ``GET|POST|DELETE faults``: the injected faults (``Faults.as_dict``); POST updates them
  (400 ``{"error"}`` on an unknown setting or a bad body), DELETE resets them;
- ``GET counts``: ``{kind: count}`` for each of the sandbox's kinds;
- ``GET records/{kind}``: the records of a kind, 404 ``{"error"}`` for an unknown kind;
- ``GET stats``: ``{"throttled": n}`` and whatever more the sandbox reports;
- ``POST oauth/grant`` (a fresh refresh token, as a consent flow would give) and ``POST
  oauth/expire`` (expire every access token) where the sandbox has a token server.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncledger.adapters.jsonwire import decode_json, encode_json
from syncledger.adapters.sandbox.faults import Faults, TargetedFaults
from syncledger.adapters.sandbox.oauth import Consenting, OAuthServer

STANDARD_KINDS = ("customer", "invoice", "payment", "credit_note")

Lifespan = Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]
Tokens = dict[str, Any]


class Closeable(Protocol):
    def close(self) -> None: ...


class Administered(Protocol):
    """What the admin routes need of a sandbox handle."""

    @property
    def faults(self) -> Faults: ...

    @property
    def throttled(self) -> int: ...

    def count(self, kind: str) -> int: ...

    def records(self, kind: str) -> list[dict[str, Any]]:
        """The records of ``kind``; ``KeyError`` for a kind the sandbox does not know."""
        ...


class TokenGrants(Protocol):
    """A sandbox's token server, as ``/_sandbox/oauth/*`` uses it."""

    def grant(self, refresh_token: str | None = None) -> str: ...

    def expire_access_tokens(self) -> None: ...


H = TypeVar("H", bound=Closeable)
A = TypeVar("A", bound=Administered)


# --------------------------------------------------------------------- app


def sandbox_app(handle: Closeable, routes: list[Route]) -> Starlette:
    """The app serving ``routes``; ``handle`` is kept for ``handle_of`` and closed when
    the app shuts down."""
    faults = getattr(handle, "faults", None)
    app = Starlette(
        routes=routes,
        lifespan=closing(handle),
        middleware=[Middleware(TargetedFaults, faults=faults)],
    )
    app.state.sandbox = handle
    return app


def closing(handle: Closeable) -> Lifespan:
    """A lifespan that closes ``handle`` when the app shuts down."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        handle.close()

    return lifespan


def handle_of(app: Starlette, kind: type[H]) -> H:
    """The sandbox handle of an app made by ``sandbox_app``."""
    handle = app.state.sandbox
    if not isinstance(handle, kind):
        raise TypeError(f"the app's sandbox is a {type(handle).__name__}, not a {kind.__name__}")
    return handle


def serve_app(app: Starlette, port: int, host: str) -> None:
    """Run ``app`` until stopped."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="info")


def plain_json(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    """``body`` as JSON with ``status`` (and ``headers``)."""
    return Response(encode_json(body), status, headers, media_type="application/json")


def retry_after(seconds: float | None) -> dict[str, str]:
    """The ``Retry-After`` header for a refusal that carries a wait, else none."""
    return {} if seconds is None else {"Retry-After": f"{seconds:g}"}


# ------------------------------------------------------------------- OAuth


async def form_of(request: Request) -> dict[str, str]:
    """The request's ``application/x-www-form-urlencoded`` body."""
    return dict(parse_qsl((await request.body()).decode()))


def refresh_grant(
    oauth: OAuthServer,
    authorization: str | None,
    form: Mapping[str, str],
    shape: Callable[[Tokens], Tokens] = dict,
) -> Response:
    """The token endpoint's answer to a ``refresh_token`` grant, or an
    ``authorization_code`` one (RFC 6749 §4.1.3, with the PKCE ``code_verifier`` of RFC
    7636 §4.5): ``shape`` turns the shared token server's tokens into the platform's
    fields; refusals are ``{"error": ...}``."""
    if not oauth.client_ok(authorization, form):
        return plain_json(401, {"error": "invalid_client"})
    grant = form.get("grant_type")
    if grant == "authorization_code":
        tokens = oauth.redeem(
            form.get("code", ""), form.get("redirect_uri", ""), form.get("code_verifier")
        )
    elif grant == "refresh_token":
        tokens = oauth.exchange(form.get("refresh_token", ""))
    else:
        return plain_json(400, {"error": "unsupported_grant_type"})
    if tokens is None:
        return plain_json(400, {"error": "invalid_grant"})
    return plain_json(200, shape(tokens))


def token_fields(tokens: Tokens, token_type: str, **extra: Any) -> Tokens:
    """The shared token server's ``tokens`` in the fields a platform's token endpoint
    answers with: access and refresh token, ``expires_in``, the platform's spelling of
    ``token_type``, and its ``extra`` fields."""
    return {
        "access_token": tokens["access_token"],
        "token_type": token_type,
        "expires_in": tokens["expires_in"],
        "refresh_token": tokens["refresh_token"],
        **extra,
    }


def authorize_answer(
    oauth: Consenting, params: Mapping[str, str], extra: Mapping[str, str]
) -> Response:
    """The authorization endpoint's answer (RFC 6749 §4.1.1-4.1.2): consent is given at
    once, and the browser is sent back to ``redirect_uri`` with ``code``, ``state`` and
    ``extra`` (QBO's ``realmId``). An unknown client or a missing redirect URI is answered
    here (400), never redirected (§4.1.2.1); other refusals go back as ``error=``."""
    redirect_uri = params.get("redirect_uri", "")
    if not oauth.client_id_ok(params.get("client_id", "")):
        return plain_json(400, {"error": "invalid_client"})
    if not redirect_uri.startswith(("http://", "https://")):
        return plain_json(400, {"error": "invalid_request", "detail": "redirect_uri"})
    back = {"state": params["state"]} if "state" in params else {}
    refusal = _authorize_refusal(params)
    if refusal is not None:
        return _redirect(redirect_uri, {"error": refusal, **back})
    code = oauth.authorize(redirect_uri, params.get("code_challenge"))
    return _redirect(redirect_uri, {"code": code, **back, **extra})


def _authorize_refusal(params: Mapping[str, str]) -> str | None:
    if params.get("response_type") != "code":
        return "unsupported_response_type"
    if "code_challenge" in params and params.get("code_challenge_method") != "S256":
        return "invalid_request"  # RFC 7636 §4.4.1: only S256 is supported here
    return None


def _redirect(uri: str, params: Mapping[str, str]) -> Response:
    joiner = "&" if "?" in uri else "?"
    return Response(status_code=302, headers={"Location": uri + joiner + urlencode(params)})


# ------------------------------------------------------------------- admin


@dataclass(frozen=True)
class Kinds:
    """The kinds ``/_sandbox/counts`` counts, and how ``/_sandbox/records/{kind}`` refuses
    a kind: with ``error`` (by default ``kinds are`` and the names), either for any kind
    not in ``names`` (``listed_only``) or for one the handle's ``records`` does not know."""

    names: tuple[str, ...] = STANDARD_KINDS
    error: str = ""
    listed_only: bool = False

    def unknown(self) -> Response:
        return plain_json(404, {"error": self.error or f"kinds are {', '.join(self.names)}"})


def admin_routes(
    handle: A,
    kinds: Kinds,
    *,
    stats: Callable[[A], dict[str, Any]] | None = None,
    grants: TokenGrants | None = None,
) -> list[Route]:
    """The ``/_sandbox/*`` routes over ``handle``; ``stats`` adds to ``throttled``,
    ``grants`` adds ``oauth/grant`` and ``oauth/expire``."""
    admin = _Admin(handle, kinds, stats)
    routes = [
        Route("/_sandbox/faults", admin.faults, methods=["GET", "POST", "DELETE"]),
        Route("/_sandbox/counts", admin.counts, methods=["GET"]),
        Route("/_sandbox/records/{kind}", admin.records, methods=["GET"]),
        Route("/_sandbox/stats", admin.stats, methods=["GET"]),
    ]
    return routes if grants is None else routes + _oauth_routes(grants)


@dataclass(frozen=True)
class _Admin(Generic[A]):
    handle: A
    kinds: Kinds
    more_stats: Callable[[A], dict[str, Any]] | None

    async def faults(self, request: Request) -> Response:
        faults = self.handle.faults
        if request.method == "DELETE":
            faults.reset()
        elif request.method == "POST":
            try:
                faults.update(decode_json(await request.body()))
            except (ValueError, TypeError, AttributeError) as exc:
                return plain_json(400, {"error": str(exc)})
        return plain_json(200, faults.as_dict())

    async def counts(self, request: Request) -> Response:
        return plain_json(200, {kind: self.handle.count(kind) for kind in self.kinds.names})

    async def records(self, request: Request) -> Response:
        rows = self._rows(request.path_params["kind"])
        return self.kinds.unknown() if rows is None else plain_json(200, rows)

    async def stats(self, request: Request) -> Response:
        body: dict[str, Any] = {"throttled": self.handle.throttled}
        if self.more_stats is not None:
            body |= self.more_stats(self.handle)
        return plain_json(200, body)

    def _rows(self, kind: str) -> list[dict[str, Any]] | None:
        if self.kinds.listed_only:
            return self.handle.records(kind) if kind in self.kinds.names else None
        try:
            return self.handle.records(kind)
        except KeyError:
            return None


def _oauth_routes(grants: TokenGrants) -> list[Route]:
    async def grant(request: Request) -> Response:
        return plain_json(200, {"refresh_token": grants.grant()})

    async def expire(request: Request) -> Response:
        grants.expire_access_tokens()
        return plain_json(200, {"expired": True})

    return [
        Route("/_sandbox/oauth/grant", grant, methods=["POST"]),
        Route("/_sandbox/oauth/expire", expire, methods=["POST"]),
    ]
