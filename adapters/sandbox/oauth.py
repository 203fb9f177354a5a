"""The token endpoint side of a sandbox ledger: OAuth2 ``refresh_token`` grants with
rotating, single-use refresh tokens (a used one answers ``invalid_grant``), faithful to
Intuit's ``/oauth2/v1/tokens/bearer``. Only token digests are stored."""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import sqlite3
import time
from collections.abc import Callable, Mapping
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS oauth_tokens (
    digest TEXT PRIMARY KEY,
    kind TEXT NOT NULL,          -- 'refresh' or 'access'
    expires REAL NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
"""
ACCESS_TTL = 3600.0
REFRESH_TTL = 8726400.0  # Intuit's x_refresh_token_expires_in (101 days)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class OAuthServer:
    def __init__(
        self,
        db: sqlite3.Connection,
        *,
        client_id: str,
        client_secret: str,
        access_ttl: float = ACCESS_TTL,
        refresh_ttl: float = REFRESH_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._client = (client_id, client_secret)
        self._access_ttl = access_ttl
        self._refresh_ttl = refresh_ttl
        self._clock = clock
        db.executescript(SCHEMA)

    def grant(self, refresh_token: str | None = None) -> str:
        """Register a refresh token (as a consent flow would hand out); returns it."""
        token = refresh_token or secrets.token_urlsafe(32)
        self._db.execute(
            "INSERT OR IGNORE INTO oauth_tokens VALUES (?, 'refresh', ?, 0)",
            (_digest(token), self._clock() + self._refresh_ttl),
        )
        return token

    def client_ok(self, authorization: str | None, form: Mapping[str, str]) -> bool:
        given = _basic(authorization) or (form.get("client_id", ""), form.get("client_secret", ""))
        return secrets.compare_digest("\0".join(given), "\0".join(self._client))

    def exchange(self, refresh_token: str) -> dict[str, Any] | None:
        """New access + refresh tokens for an unused, unexpired refresh token, else None."""
        row = self._db.execute(
            "SELECT expires, used FROM oauth_tokens WHERE digest = ? AND kind = 'refresh'",
            (_digest(refresh_token),),
        ).fetchone()
        if row is None or row[1] or row[0] < self._clock():
            return None
        self._db.execute(
            "UPDATE oauth_tokens SET used = 1 WHERE digest = ?", (_digest(refresh_token),)
        )
        return self._issue()

    def access_ok(self, token: str) -> bool:
        row = self._db.execute(
            "SELECT expires FROM oauth_tokens WHERE digest = ? AND kind = 'access'",
            (_digest(token),),
        ).fetchone()
        return row is not None and row[0] > self._clock()

    def expire_access_tokens(self) -> None:
        self._db.execute("UPDATE oauth_tokens SET expires = 0 WHERE kind = 'access'")

    def _issue(self) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self._clock()
        self._db.execute(
            "INSERT INTO oauth_tokens VALUES (?, 'access', ?, 0)",
            (_digest(access), now + self._access_ttl),
        )
        self.grant(refresh)
        return {
            "token_type": "bearer",
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": int(self._access_ttl),
            "x_refresh_token_expires_in": int(self._refresh_ttl),
        }


def _basic(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:], validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None
