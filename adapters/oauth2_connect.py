"""Connecting a ledger: the OAuth 2.0 authorization-code grant and what it leaves behind.

- The authorization request (RFC 6749 §4.1.1) with a random ``state`` and, where the
  platform supports it, PKCE (RFC 7636, method ``S256``): URL, state and verifier are
  made by authlib (``prepare_grant_uri``, ``generate_token``,
  ``create_s256_code_challenge``).
- The redirect (§4.1.2): authlib's ``parse_authorization_code_response`` reads the code
  and checks ``state``; an ``error`` parameter (§4.1.2.1, e.g. ``access_denied``) is one
  line saying what the user refused. Other redirect parameters are kept (QBO's
  ``realmId``).
- The code exchange (§4.1.3; ``code_verifier`` of RFC 7636 §4.5): the form is authlib's
  ``prepare_token_request``, sent with our httpx client; client credentials go in HTTP
  Basic or the form as the platform's :class:`~syncledger.adapters.oauth2.OAuth2Client`
  says. A refusal keeps only the OAuth error code (never a body or a token).
- :class:`ConnectionRecord`: which tenant / realm was chosen, with which scopes, when,
  and until when the refresh token lasts: ``<ledger>.connection.json`` beside the token
  file, 0600, replaced atomically. No secret is in it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import parse_qsl, urlsplit

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import (
    parse_authorization_code_response,
    prepare_grant_uri,
    prepare_token_request,
)
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from syncledger.adapters.jsonwire import decode_json, encode_json
from syncledger.adapters.oauth2 import OAuth2Client, TokenSet, _grant_error, write_private
from syncledger.core.errors import (
    ConfigurationError,
    PermanentLedgerError,
    TransientLedgerError,
)
from syncledger.core.redact import mask_url

VERIFIER_LENGTH = 64  # RFC 7636 §4.1: 43 to 128 characters


@dataclass(frozen=True, slots=True)
class AuthorizationServer:
    """A platform's authorization and token endpoints, the scopes syncledger asks for,
    and whether the platform documents PKCE."""

    authorize_url: str
    token_url: str
    scopes: tuple[str, ...]
    pkce: bool
    params: tuple[tuple[str, str], ...] = ()  # the platform's own authorize parameters
    scope_separator: str = " "  # RFC 6749 §3.3; Zoho: ","


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """One connect attempt: the URL the user opens, and what the redirect must match."""

    url: str
    redirect_uri: str
    state: str = field(repr=False)
    code_verifier: str | None = field(repr=False)


@dataclass(frozen=True, slots=True)
class Redirect:
    """What came back: the code, and the other parameters (e.g. QBO's ``realmId``)."""

    code: str = field(repr=False)
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Granted:
    tokens: TokenSet
    scopes: tuple[str, ...]
    refresh_expires_in: float | None  # as the token endpoint said, when it said


def authorization_request(
    server: AuthorizationServer,
    client_id: str,
    redirect_uri: str,
    scopes: tuple[str, ...] | None = None,
) -> AuthorizationRequest:
    state = generate_token(32)
    verifier = generate_token(VERIFIER_LENGTH) if server.pkce else None
    pkce = (
        {"code_challenge": _challenge(verifier), "code_challenge_method": "S256"}
        if verifier
        else {}
    )
    url = prepare_grant_uri(
        server.authorize_url,
        client_id,
        "code",
        redirect_uri=redirect_uri,
        scope=server.scope_separator.join(scopes or server.scopes) or None,
        state=state,
        **pkce,
        **dict(server.params),
    )
    return AuthorizationRequest(str(url), redirect_uri, state, verifier)


def _challenge(verifier: str) -> str:
    challenge: str = create_s256_code_challenge(verifier)  # type: ignore[no-untyped-call]  # untyped in types-authlib
    return challenge


def redirect_of(request: AuthorizationRequest, answer: str) -> Redirect:
    """The redirect URL the browser was sent to (pasted or caught by the listener), or a
    bare code pasted on its own (then ``state`` cannot be checked: the person pasting it
    started this attempt)."""
    answer = answer.strip()
    if not answer:
        raise ConfigurationError("nothing was pasted: paste the address the browser went to")
    if "?" not in answer and "=" not in answer:
        return Redirect(answer)
    params = dict(parse_qsl(urlsplit(answer).query))
    if "error" in params:
        raise ConfigurationError(_refused_consent(params))
    try:
        parsed = parse_authorization_code_response(answer, state=request.state)
    except AuthlibBaseError as exc:
        raise ConfigurationError(
            f"the redirect is not this attempt's ({exc.error}): start `syncledger connect` "
            "again and use the address it prints"
        ) from exc
    rest = {k: v for k, v in params.items() if k not in ("code", "state")}
    return Redirect(str(parsed["code"]), rest)


def _refused_consent(params: Mapping[str, str]) -> str:
    reason = params["error"]
    if reason == "access_denied":
        return "access was not granted (access_denied): run `syncledger connect` again and allow it"
    return f"the ledger refused the authorization request ({reason}): check the app's settings"


async def exchange_code(
    http: httpx.AsyncClient,
    client: OAuth2Client,
    request: AuthorizationRequest,
    redirect: Redirect,
    clock: Callable[[], float] = time.time,
) -> Granted:
    """Tokens for the code; ``TransientLedgerError`` when the endpoint cannot be reached,
    ``AuthExpiredError`` / ``ConfigurationError`` when it refuses."""
    extra = {"code_verifier": request.code_verifier} if request.code_verifier else {}
    body = prepare_token_request(
        "authorization_code", code=redirect.code, redirect_uri=request.redirect_uri, **extra
    )
    headers, form = client.authenticated({"Content-Type": "application/x-www-form-urlencoded"})
    if form:
        body += "&" + str(httpx.QueryParams(form))
    try:
        response = await http.post(client.token_url, content=body, headers=headers)
    except httpx.TransportError as exc:
        raise TransientLedgerError(
            f"token endpoint {mask_url(client.token_url)} unreachable: {type(exc).__name__}"
        ) from exc
    if response.status_code != 200:
        raise _grant_error(response)
    return _granted(response, clock())


def _granted(response: httpx.Response, now: float) -> Granted:
    raw: Any = None
    try:
        raw = decode_json(response.content)
        access, refresh = str(raw["access_token"]), raw.get("refresh_token")
        expires_in = float(raw.get("expires_in", 3600))
        scope = str(raw.get("scope") or "")
        refresh_ttl = _refresh_lifetime(raw)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        if isinstance(raw, dict) and "error" in raw:
            raise _grant_error(response) from exc  # Zoho refuses with HTTP 200 + {"error"}
        raise TransientLedgerError("token endpoint answered without an access token") from exc
    if not refresh:
        raise ConfigurationError(
            "the ledger gave no refresh token: the app must ask for offline access "
            "(Xero: the offline_access scope)"
        )
    tokens = TokenSet(access, str(refresh), now + expires_in)
    ttl = float(refresh_ttl) if refresh_ttl is not None else None
    return Granted(tokens, tuple(scope.split()), ttl)


def _refresh_lifetime(raw: Mapping[str, Any]) -> Any:
    """How long the refresh token lasts, where the token answer says: Intuit's
    ``x_refresh_token_expires_in``, Sage's ``refresh_token_expires_in``."""
    found = raw.get("x_refresh_token_expires_in")
    return found if found is not None else raw.get("refresh_token_expires_in")


# ------------------------------------------------------------- connection


@dataclass(frozen=True, slots=True)
class ConnectionRecord:
    """What ``syncledger connect`` chose. ``refresh_ttl``: how long a refresh token lasts
    after it is issued (each refresh issues a new one), as the token endpoint or the
    platform's documentation says; None when neither does."""

    ledger: str
    tenant: str | None
    tenant_name: str | None
    scopes: tuple[str, ...]
    connected_at: float
    refresh_ttl: float | None
    ledger_url: str | None

    def to_json(self) -> bytes:
        numbers = {"connected_at": str(self.connected_at), "refresh_ttl": _text(self.refresh_ttl)}
        return encode_json({**asdict(self), "scopes": list(self.scopes), **numbers})

    @classmethod
    def from_json(cls, data: bytes) -> ConnectionRecord:
        raw = decode_json(data)
        return cls(
            ledger=str(raw["ledger"]),
            tenant=_optional(raw.get("tenant")),
            tenant_name=_optional(raw.get("tenant_name")),
            scopes=tuple(str(s) for s in raw.get("scopes", ())),
            connected_at=float(raw["connected_at"]),
            refresh_ttl=_number(raw.get("refresh_ttl")),
            ledger_url=_optional(raw.get("ledger_url")),
        )


def _optional(value: Any) -> str | None:
    return None if value is None else str(value)


def _text(value: float | None) -> str | None:
    return None if value is None else str(value)  # the wire takes no float (jsonwire)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def connection_file(token_file: Path) -> Path:
    """``<ledger>.connection.json`` beside ``<ledger>.json``."""
    return token_file.with_name(token_file.stem + ".connection.json")


def save_connection(token_file: Path, record: ConnectionRecord) -> None:
    write_private(connection_file(token_file), record.to_json())


def load_connection(token_file: Path) -> ConnectionRecord | None:
    """The stored record; None when there is none. One that cannot be read is a
    ``ConfigurationError`` naming the file and the way out."""
    path = connection_file(token_file)
    try:
        return ConnectionRecord.from_json(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigurationError(
            f"the connection file {path} cannot be read: delete it and run "
            "`syncledger connect` again"
        ) from exc


# ----------------------------------------------------------------- ledgers


@dataclass(frozen=True, slots=True)
class Tenant:
    """A company / organisation the grant reaches (QBO realm, Xero tenant)."""

    id: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class SandboxLogin:
    """The public credentials of a platform's sandbox, and the tenant it serves."""

    client_id: str
    client_secret: str = field(repr=False)
    tenant: str
    redirect_uri: str | None = None  # the one its app registered, where it checks it


class OAuthLedger(Protocol):
    """How one platform is connected with the authorization-code grant."""

    id: str
    title: str
    tenant_word: str  # "realm" (QBO), "tenant" (Xero), "organization" (Zoho) …
    refresh_ttl: float | None  # a refresh token's documented lifetime, seconds
    credentials_in: Literal["basic", "body"]  # where the client's credentials go
    sandbox: SandboxLogin

    def server(self, ledger_url: str | None) -> AuthorizationServer:
        """The endpoints for the real platform (``ledger_url`` None or the platform's
        own API) or for a sandbox served at ``ledger_url``."""
        ...

    def is_sandbox(self, ledger_url: str | None) -> bool: ...

    def token_url_for(self, ledger_url: str | None, redirect: Redirect) -> str:
        """Where the code is exchanged (the server's token URL unless the redirect names
        the user's own accounts server: Zoho's data centres)."""
        ...

    async def tenants(
        self, http: httpx.AsyncClient, ledger_url: str | None, tokens: TokenSet, redirect: Redirect
    ) -> list[Tenant]:
        """The tenants the new grant reaches, as the platform tells them."""
        ...


TenantLookup = Callable[[httpx.AsyncClient, str, TokenSet, Redirect], Awaitable[list[Tenant]]]
#: where a platform exchanges the code when the redirect decides it (``ledger_url`` and
#: the redirect in; None: the server's token URL)
ExchangeUrl = Callable[[str | None, Redirect], str | None]


async def no_lookup(
    http: httpx.AsyncClient, api: str, tokens: TokenSet, redirect: Redirect
) -> list[Tenant]:
    """No tenant to look up (it comes with the redirect, or the platform has none)."""
    return []


def _token_url_as_is(ledger_url: str | None, redirect: Redirect) -> str | None:
    return None


@dataclass(frozen=True)
class OAuthPlatform:
    """One builder for every OAuth ledger's connect facts (each ``adapters/<platform>/
    oauth.py`` fills one in, citing its sources): the live endpoints and scopes; a sandbox
    served at any other address answers the same flow at ``sandbox_paths`` (authorize,
    token) under it; ``live`` tells the platform's own API addresses apart; ``lookup``
    finds the tenants the grant reaches under the API root (the ledger URL, or
    ``api_url`` when none is set)."""

    id: str
    title: str
    tenant_word: str
    authorize_url: str
    token_url: str
    api_url: str
    scopes: tuple[str, ...]
    pkce: bool
    sandbox: SandboxLogin
    sandbox_paths: tuple[str, str]
    live: Callable[[str], bool]
    lookup: TenantLookup = no_lookup
    refresh_ttl: float | None = None
    credentials_in: Literal["basic", "body"] = "basic"
    params: tuple[tuple[str, str], ...] = ()
    scope_separator: str = " "
    exchange_url: ExchangeUrl = _token_url_as_is

    def is_sandbox(self, ledger_url: str | None) -> bool:
        return ledger_url is not None and not self.live(ledger_url.rstrip("/"))

    def server(self, ledger_url: str | None) -> AuthorizationServer:
        authorize, token = self.authorize_url, self.token_url
        if self.is_sandbox(ledger_url):
            base = str(ledger_url).rstrip("/")
            authorize, token = (base + path for path in self.sandbox_paths)
        return AuthorizationServer(
            authorize, token, self.scopes, self.pkce, self.params, self.scope_separator
        )

    def token_url_for(self, ledger_url: str | None, redirect: Redirect) -> str:
        token_url = self.server(ledger_url).token_url
        if self.is_sandbox(ledger_url):
            return token_url
        return self.exchange_url(ledger_url, redirect) or token_url

    async def tenants(
        self, http: httpx.AsyncClient, ledger_url: str | None, tokens: TokenSet, redirect: Redirect
    ) -> list[Tenant]:
        return await self.lookup(http, (ledger_url or self.api_url).rstrip("/"), tokens, redirect)


async def get_json(
    http: httpx.AsyncClient, url: str, headers: Mapping[str, str], title: str
) -> Any:
    """``GET url`` with the new grant, its JSON body; unreachable is a
    ``TransientLedgerError``, any answer but 200 a ``PermanentLedgerError`` naming the
    status (never the body)."""
    try:
        response = await http.get(url, headers={"Accept": "application/json", **headers})
    except httpx.TransportError as exc:
        raise TransientLedgerError(f"{mask_url(url)} unreachable: {type(exc).__name__}") from exc
    path = httpx.URL(url).path
    if response.status_code != 200:
        raise PermanentLedgerError(
            f"{title} answered HTTP {response.status_code} to GET {path}",
            code=str(response.status_code),
        )
    try:
        return decode_json(response.content)
    except ValueError as exc:
        raise PermanentLedgerError(f"{title} answered GET {path} with no JSON") from exc


def bearer(tokens: TokenSet, scheme: str = "Bearer") -> dict[str, str]:
    return {"Authorization": f"{scheme} {tokens.access_token}"}
