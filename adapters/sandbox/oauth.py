"""The token endpoint side of a sandbox ledger: OAuth2 ``refresh_token`` grants with
rotating, single-use refresh tokens (a used one answers ``invalid_grant``), faithful to
Intuit's ``/oauth2/v1/tokens/bearer``. Only token digests are stored.

The consent side (``syncledger connect`` against a sandbox): ``authorize`` hands out an
authorization code at once (no login page: the sandbox's one user always consents) for a
client id and redirect URI, remembering the PKCE challenge sent with it (RFC 7636, S256
only: ``plain`` is refused, as RFC 7636 §4.2 lets a server do); ``redeem`` trades it once,
within ``CODE_TTL`` (RFC 6749 §4.1.2: "a maximum authorization code lifetime of 10
minutes is RECOMMENDED"), for the same redirect URI and, when a challenge was sent, the
verifier that hashes to it (RFC 7636 §4.6)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import sqlite3
import time
from collections.abc import Callable, Mapping
from typing import Any, NotRequired, Protocol, TypedDict, Unpack

from authlib.oauth2.rfc7636 import create_s256_code_challenge

SCHEMA = """
CREATE TABLE IF NOT EXISTS oauth_tokens (
    digest TEXT PRIMARY KEY,
    kind TEXT NOT NULL,          -- 'refresh' or 'access'
    expires REAL NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
"""
CODES_SCHEMA = """
CREATE TABLE IF NOT EXISTS oauth_codes (
    digest TEXT PRIMARY KEY,
    redirect_uri TEXT NOT NULL,
    challenge TEXT,              -- the PKCE S256 challenge, NULL when none was sent
    expires REAL NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
"""
CODE_TTL = 600.0
ACCESS_TTL = 3600.0
REFRESH_TTL = 8726400.0  # Intuit's x_refresh_token_expires_in (101 days)


def digest_of(token: str) -> str:
    """How a token is stored: its SHA-256 digest, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()


class Consenting(Protocol):
    """What an authorization endpoint needs of a sandbox's token server."""

    def client_id_ok(self, client_id: str) -> bool: ...

    def authorize(self, redirect_uri: str, challenge: str | None) -> str: ...


class AuthorizationCodes:
    """Single-use authorization codes (only their digests stored), shared by every
    sandbox's token server: ``issue`` one for a redirect URI (and PKCE challenge),
    ``redeem`` it once, in time, with the same redirect URI and the matching verifier."""

    def __init__(self, db: sqlite3.Connection, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock
        db.executescript(CODES_SCHEMA)

    def issue(self, redirect_uri: str, challenge: str | None) -> str:
        code = secrets.token_urlsafe(24)
        self._db.execute(
            "INSERT INTO oauth_codes VALUES (?, ?, ?, ?, 0)",
            (digest_of(code), redirect_uri, challenge, self._clock() + CODE_TTL),
        )
        return code

    def redeem(self, code: str, redirect_uri: str, verifier: str | None) -> bool:
        """True for an unused, unexpired ``code`` with its redirect URI and verifier. A
        code is spent even by a failed attempt."""
        row = spend(self._db, "oauth_codes", code, self._clock(), "redirect_uri, challenge")
        return row is not None and row[0] == redirect_uri and _pkce_ok(row[1], verifier)


class ServerOptions(TypedDict):
    """What every sandbox token server is built with besides its database: the app it
    knows, how long access tokens last (``ACCESS_TTL``) and its clock (``time.time``)."""

    client_id: str
    client_secret: str
    access_ttl: NotRequired[float]
    clock: NotRequired[Callable[[], float]]


class TokenServer:
    """What every sandbox's token server shares: its database (with the subclass's
    ``SCHEMA``), the app it knows (client id and secret, compared in constant time), its
    clock, how long access tokens last, its access tokens (stored by digest in ``TABLE``,
    a row whose ``kind`` is ``access``, usable until they expire and while ``ACCESS_ALSO``
    holds), and the consent side (``authorize`` hands out an ``AuthorizationCodes``
    code)."""

    SCHEMA = SCHEMA
    TABLE = "oauth_tokens"
    ACCESS_ALSO = ""

    def __init__(self, db: sqlite3.Connection, **options: Unpack[ServerOptions]) -> None:
        self._db = db
        self._client = (options["client_id"], options["client_secret"])
        self._access_ttl = options.get("access_ttl", ACCESS_TTL)
        self._clock = options.get("clock", time.time)
        db.executescript(self.SCHEMA)
        self._codes = AuthorizationCodes(db, self._clock)

    def client_id_ok(self, client_id: str) -> bool:
        return secrets.compare_digest(client_id, self._client[0])

    def client_pair_ok(self, given: tuple[str, str]) -> bool:
        return secrets.compare_digest("\0".join(given), "\0".join(self._client))

    def authorize(self, redirect_uri: str, challenge: str | None) -> str:
        """A new single-use authorization code for ``redirect_uri`` (and the S256
        ``challenge`` when PKCE is used)."""
        return self._codes.issue(redirect_uri, challenge)

    def access_ok(self, token: str) -> bool:
        row = self._db.execute(
            f"SELECT expires FROM {self.TABLE} WHERE digest = ? AND kind = 'access'"  # noqa: S608 (names from code)
            + self.ACCESS_ALSO,
            (digest_of(token),),
        ).fetchone()
        return row is not None and row[0] > self._clock()

    def expire_access_tokens(self) -> None:
        self._db.execute(f"UPDATE {self.TABLE} SET expires = 0 WHERE kind = 'access'")  # noqa: S608 (names from code)

    def _store_access(self, token: str) -> None:
        """Keep ``token`` as an access token lasting the server's access lifetime."""
        self._db.execute(
            f"INSERT INTO {self.TABLE} VALUES (?, 'access', ?, 0)",  # noqa: S608 (names from code)
            (digest_of(token), self._clock() + self._access_ttl),
        )


def spend(
    db: sqlite3.Connection, table: str, secret: str, now: float, columns: str, where: str = ""
) -> tuple[Any, ...] | None:
    """Use up a single-use secret stored by digest in ``table`` (with ``expires`` and
    ``used`` columns, ``where`` narrowing the rows): its ``columns`` if it was unused and
    unexpired at ``now``, else None. Names come from our code, values are bound."""
    narrowed = f" AND {where}" if where else ""
    row = db.execute(
        f"SELECT expires, used, {columns} FROM {table} WHERE digest = ?{narrowed}",  # noqa: S608 (names from code)
        (digest_of(secret),),
    ).fetchone()
    if row is None or row[1] or row[0] < now:
        return None
    db.execute(f"UPDATE {table} SET used = 1 WHERE digest = ?", (digest_of(secret),))  # noqa: S608 (names from code)
    return tuple(row[2:])


class OAuthServer(TokenServer):
    """Intuit's kind of token server, which most sandboxes answer with: rotating,
    single-use refresh tokens lasting ``refresh_ttl``."""

    def __init__(
        self,
        db: sqlite3.Connection,
        *,
        refresh_ttl: float = REFRESH_TTL,
        **options: Unpack[ServerOptions],
    ) -> None:
        super().__init__(db, **options)
        self._refresh_ttl = refresh_ttl

    def grant(self, refresh_token: str | None = None) -> str:
        """Register a refresh token (as a consent flow would hand out); returns it."""
        token = refresh_token or secrets.token_urlsafe(32)
        self._db.execute(
            "INSERT OR IGNORE INTO oauth_tokens VALUES (?, 'refresh', ?, 0)",
            (digest_of(token), self._clock() + self._refresh_ttl),
        )
        return token

    def client_ok(self, authorization: str | None, form: Mapping[str, str]) -> bool:
        given = _basic(authorization) or (form.get("client_id", ""), form.get("client_secret", ""))
        return self.client_pair_ok(given)

    def exchange(self, refresh_token: str) -> dict[str, Any] | None:
        """New access + refresh tokens for an unused, unexpired refresh token, else None."""
        now = self._clock()
        spent = spend(self._db, "oauth_tokens", refresh_token, now, "kind", "kind = 'refresh'")
        return None if spent is None else self._issue()

    def redeem(self, code: str, redirect_uri: str, verifier: str | None) -> dict[str, Any] | None:
        """Tokens for a code ``AuthorizationCodes.redeem`` accepts; else None
        (``invalid_grant``)."""
        return self._issue() if self._codes.redeem(code, redirect_uri, verifier) else None

    def _issue(self) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self._store_access(access)
        self.grant(refresh)
        return {
            "token_type": "bearer",
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": int(self._access_ttl),
            "x_refresh_token_expires_in": int(self._refresh_ttl),
        }


def _pkce_ok(challenge: str | None, verifier: str | None) -> bool:
    if challenge is None:
        return verifier is None
    if verifier is None:
        return False
    expected: str = create_s256_code_challenge(verifier)  # type: ignore[no-untyped-call]  # untyped in types-authlib
    return secrets.compare_digest(expected, challenge)


def _basic(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:], validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None
