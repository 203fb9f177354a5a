"""OAuth2 for ledgers: rotating refresh tokens, persisted atomically before they are used.

A refresh token is single-use on the platforms we target (Intuit, Xero, FreshBooks): the
token endpoint answers with a new refresh token and the old one stops working. So the new
pair is written to the token store *before* the new access token is used; a crash after
the refresh but before the write would otherwise lose the only valid grant.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import logging
import os
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Protocol

import httpx
from pydantic import SecretStr

from syncledger.adapters.jsonwire import decode_json, encode_json
from syncledger.core.errors import (
    AuthExpiredError,
    ConfigurationError,
    LedgerError,
    TransientLedgerError,
)
from syncledger.core.redact import mask_url

log = logging.getLogger("syncledger.oauth2")


@dataclass(frozen=True, slots=True)
class TokenSet:
    """An access token, the refresh token that goes with it, and when the former expires."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: float = 0.0  # epoch seconds

    def expiring(self, now: float, margin: float) -> bool:
        return not self.access_token or now >= self.expires_at - margin

    def to_json(self) -> bytes:
        return encode_json(
            {
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "expires_at": str(self.expires_at),
            }
        )

    @classmethod
    def from_json(cls, data: bytes) -> TokenSet:
        return cls.from_mapping(decode_json(data))

    @classmethod
    def from_mapping(cls, raw: Any) -> TokenSet:
        """From decoded JSON; ``KeyError``/``TypeError``/``ValueError`` when it is not one."""
        return cls(str(raw["access_token"]), str(raw["refresh_token"]), float(raw["expires_at"]))


class TokenStore(Protocol):
    def load(self) -> TokenSet | None: ...

    def save(self, tokens: TokenSet) -> None: ...

    def mark_refused(self, code: str) -> None:
        """The token endpoint refused the stored refresh token (``code``: the OAuth error,
        e.g. ``invalid_grant``): the connection is revoked until a new grant is saved."""
        ...

    def exclusive(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Held while refreshing, so two processes never spend the same refresh token."""
        ...


class MemoryTokenStore:
    """Tokens held in memory (tests, one-shot tools)."""

    def __init__(self, tokens: TokenSet | None = None) -> None:
        self.tokens = tokens
        self.refusal: str | None = None

    def load(self) -> TokenSet | None:
        return self.tokens

    def save(self, tokens: TokenSet) -> None:
        self.tokens = tokens
        self.refusal = None

    def mark_refused(self, code: str) -> None:
        self.refusal = code

    @contextlib.asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        yield


class FileTokenStore:
    """Tokens in a JSON file, mode 0600, replaced atomically (write, fsync, rename, fsync
    the directory) so a crash leaves either the old pair or the new one, never half."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> TokenSet | None:
        """The stored pair; None when there is no file yet. A file that cannot be read or
        is not a token file is a ``ConfigurationError`` saying how to start again:
        retrying cannot repair it."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._unusable(f"cannot be read ({exc.strerror or type(exc).__name__})") from exc
        if self.path.stat().st_mode & 0o077:
            log.warning("token file %s is readable by other users: chmod 600 it", self.path)
        try:
            raw = decode_json(data)
        except ValueError as exc:
            raise self._unusable("is not valid JSON") from exc
        try:
            return TokenSet.from_mapping(raw)
        except (ValueError, KeyError, TypeError) as exc:
            raise self._unusable("is not a token file (no access/refresh token)") from exc

    def _unusable(self, what: str) -> ConfigurationError:
        variable = f"SYNCLEDGER_{self.path.stem.upper().replace('-', '_')}_REFRESH_TOKEN"
        return ConfigurationError(
            f"the token file {self.path} {what}: delete it and set {variable} to a refresh "
            "token from a new authorisation of the connection"
        )

    def save(self, tokens: TokenSet) -> None:
        write_private(self.path, tokens.to_json())
        with contextlib.suppress(FileNotFoundError):
            self.refused_path.unlink()  # a new pair: whatever was refused is behind us

    @property
    def refused_path(self) -> Path:
        """Where a refusal of the stored refresh token is noted (``mark_refused``)."""
        return self.path.with_name(self.path.name + ".refused")

    def mark_refused(self, code: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        body = encode_json({"error": code, "at": str(time.time())})
        write_private(self.refused_path, body)

    def refusal(self) -> str | None:
        """The OAuth error the stored refresh token was refused with, else None."""
        try:
            return str(decode_json(self.refused_path.read_bytes()).get("error", "refused"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, AttributeError):
            return "refused"

    @contextlib.asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock


def write_private(path: Path, data: bytes) -> None:
    """``data`` in ``path``, mode 0600 in a 0700 directory, replaced atomically (write,
    fsync, rename, fsync the directory): a crash leaves the old content or the new."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=".tokens-", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class OAuth2Client:
    """Where and how to refresh: the token endpoint and the app's client credentials."""

    token_url: str
    client_id: str
    client_secret: SecretStr
    credentials_in: Literal["basic", "body"] = "basic"
    refresh_margin: float = 60.0  # refresh this many seconds before the access token expires

    def request(self, refresh_token: str) -> tuple[dict[str, str], dict[str, str]]:
        """Headers and form fields of a refresh_token grant."""
        headers, form = self.authenticated()
        return headers, {"grant_type": "refresh_token", "refresh_token": refresh_token} | form

    def authenticated(
        self, headers: dict[str, str] | None = None
    ) -> tuple[dict[str, str], dict[str, str]]:
        """``headers`` (plus ``Accept: application/json``) and the form fields that carry
        the client's credentials: HTTP Basic, or ``client_id`` + ``client_secret`` in the
        form (RFC 6749 §2.3.1)."""
        headers = {"Accept": "application/json", **(headers or {})}
        secret = self.client_secret.get_secret_value()
        if self.credentials_in == "basic":
            pair = base64.b64encode(f"{self.client_id}:{secret}".encode()).decode()
            return headers | {"Authorization": f"Basic {pair}"}, {}
        return headers, {"client_id": self.client_id, "client_secret": secret}


class Auth(Protocol):
    """How a request is authorised; the HTTP layer calls these around each attempt."""

    async def headers(self, client: httpx.AsyncClient) -> dict[str, str]: ...

    async def unauthorized(self, client: httpx.AsyncClient, sent: dict[str, str]) -> bool:
        """The ledger answered 401 to a request sent with ``sent``: True when new
        credentials are now in place and the request is worth sending once more."""
        ...


class StaticBearerAuth:
    """A fixed bearer token or API key (e.g. Odoo JSON-2); nothing to refresh."""

    def __init__(self, token: SecretStr, *, header: str = "Authorization", scheme: str = "Bearer"):
        self._token = token
        self._header = header
        self._scheme = scheme

    async def headers(self, client: httpx.AsyncClient) -> dict[str, str]:
        value = self._token.get_secret_value()
        return {self._header: f"{self._scheme} {value}" if self._scheme else value}

    async def unauthorized(self, client: httpx.AsyncClient, sent: dict[str, str]) -> bool:
        return False


class OAuth2RefreshAuth:
    """Access tokens from a refresh-token grant, rotated and persisted safely.

    ``scheme`` is the word before the token in the ``Authorization`` header: ``Bearer``
    for most platforms, ``Zoho-oauthtoken`` for Zoho."""

    def __init__(
        self,
        client: OAuth2Client,
        store: TokenStore,
        *,
        initial_refresh_token: SecretStr | None = None,
        clock: Callable[[], float] = time.time,
        scheme: str = "Bearer",
    ) -> None:
        self._config = client
        self._store = store
        self._initial = initial_refresh_token
        self._clock = clock
        self._scheme = scheme
        self._tokens: TokenSet | None = None
        self._lock = asyncio.Lock()
        #: the refresh token the token endpoint refused, and how: asked again only once
        #: the store holds another one (a refusal is final for that token and client);
        #: meanwhile every request fails with a ``ConfigurationError``, which stops a sync
        #: that would retry an ``AuthExpiredError`` for minutes
        self._refused: tuple[str, AuthExpiredError] | None = None

    async def headers(self, client: httpx.AsyncClient) -> dict[str, str]:
        tokens = await self._fresh(client, stale_access=None)
        return {"Authorization": f"{self._scheme} {tokens.access_token}"}

    async def unauthorized(self, client: httpx.AsyncClient, sent: dict[str, str]) -> bool:
        rejected = sent.get("Authorization", "").removeprefix(f"{self._scheme} ")
        await self._fresh(client, stale_access=rejected)
        return True

    async def _fresh(self, client: httpx.AsyncClient, stale_access: str | None) -> TokenSet:
        async with self._lock:
            tokens = self._tokens or self._store.load() or self._seed()
            if self._needs_refresh(tokens, stale_access):
                async with self._store.exclusive():
                    tokens = await self._refresh_latest(client, tokens, stale_access)
            self._tokens = tokens
            return tokens

    def _needs_refresh(self, tokens: TokenSet, stale_access: str | None) -> bool:
        if stale_access is not None and tokens.access_token == stale_access:
            return True
        return tokens.expiring(self._clock(), self._config.refresh_margin)

    async def _refresh_latest(
        self, client: httpx.AsyncClient, tokens: TokenSet, stale_access: str | None
    ) -> TokenSet:
        stored = self._store.load()  # another process may have rotated it meanwhile
        if stored is not None and stored.refresh_token != tokens.refresh_token:
            tokens = stored
            if not self._needs_refresh(tokens, stale_access):
                return tokens
        if self._refused is not None and self._refused[0] == tokens.refresh_token:
            raise ConfigurationError(  # not a retry: the sync must stop, with this line
                f"{self._refused[1]} (refused already: not asked again until the stored "
                "refresh token changes)"
            )
        try:
            fresh = await self._grant(client, tokens)
        except AuthExpiredError as exc:
            self._refused = (tokens.refresh_token, exc)
            self._store.mark_refused(exc.code or "refused")
            raise
        self._store.save(fresh)  # persist the new refresh token before anything uses it
        log.info("refreshed access token at %s", mask_url(self._config.token_url))
        return fresh

    def _seed(self) -> TokenSet:
        if self._initial is None:
            raise AuthExpiredError(
                "no ledger tokens stored and no refresh token configured: authorise the "
                "connection and set the refresh token",
                code="no_grant",
            )
        return TokenSet("", self._initial.get_secret_value(), 0.0)

    async def _grant(self, client: httpx.AsyncClient, tokens: TokenSet) -> TokenSet:
        headers, form = self._config.request(tokens.refresh_token)
        try:
            response = await client.post(self._config.token_url, data=form, headers=headers)
        except httpx.TransportError as exc:
            raise TransientLedgerError(
                f"token endpoint {mask_url(self._config.token_url)} unreachable: "
                f"{type(exc).__name__}"
            ) from exc
        if response.status_code != 200:
            raise _grant_error(response)
        return self._parse(response, tokens)

    def _parse(self, response: httpx.Response, previous: TokenSet) -> TokenSet:
        try:
            body = decode_json(response.content)
        except ValueError as exc:
            raise TransientLedgerError("token endpoint answered without an access token") from exc
        if isinstance(body, dict) and "error" in body and "access_token" not in body:
            raise _grant_error(response)  # Zoho refuses a grant with HTTP 200 + {"error"}
        try:
            access = str(body["access_token"])
            expires_in = float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError) as exc:
            raise TransientLedgerError("token endpoint answered without an access token") from exc
        refresh = str(body.get("refresh_token") or previous.refresh_token)
        return replace(
            previous,
            access_token=access,
            refresh_token=refresh,
            expires_at=self._clock() + expires_in,
        )


def _grant_error(response: httpx.Response) -> LedgerError:
    """Map a token-endpoint refusal; only the OAuth error code is kept, never the body."""
    try:
        code = str(decode_json(response.content).get("error", "unknown"))
    except (ValueError, AttributeError):
        code = "unknown"
    if response.status_code >= 500 or response.status_code == 429:
        return TransientLedgerError(
            f"token endpoint failed with HTTP {response.status_code}", code=code
        )
    return AuthExpiredError(_REFUSALS.get(code, _REFUSED_GRANT).format(code=code), code=code)


#: what a token-endpoint refusal means (RFC 6749 §5.2 error codes), and what to do
_REFUSED_GRANT = (
    "the ledger refused to refresh the access token ({code}): the grant was revoked or "
    "already used; re-authorise the connection"
)
_REFUSED_CLIENT = "the ledger refused the app's client id or client secret ({code}): check them"
_REFUSALS = {
    "invalid_client": _REFUSED_CLIENT,
    "unauthorized_client": _REFUSED_CLIENT,
    "invalid_grant": (
        "the ledger refused the refresh token ({code}): it was revoked, expired or already "
        "used; re-authorise the connection"
    ),
}
