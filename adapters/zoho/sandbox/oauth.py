"""The Zoho Accounts side of the sandbox: ``POST /oauth/v2/token`` with a
``refresh_token`` grant, client id and secret in the form (Zoho's self-client flow), or
an ``authorization_code`` grant for a code ``GET /oauth/v2/auth`` handed out
(``syncledger connect``; codes are the shared sandbox's ``AuthorizationCodes``), answered
with a refresh token too.

As at Zoho, refresh tokens do not rotate: the answer carries a new access token only
(``access_token``, ``api_domain``, ``token_type``, ``expires_in`` = 3600 s), and a
refused grant is answered with HTTP 200 and ``{"error": "invalid_code"}`` (integrators'
reports). Only token digests are stored.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Mapping
from typing import Any, Unpack

from syncledger.adapters.sandbox.oauth import ServerOptions, TokenServer, digest_of

SCHEMA = """
CREATE TABLE IF NOT EXISTS zoho_tokens (
    digest TEXT PRIMARY KEY,
    kind TEXT NOT NULL,          -- 'refresh' or 'access'
    expires REAL NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
"""
ACCESS_TTL = 3600.0
NEVER = 1e18  # Zoho refresh tokens do not expire until revoked


class ZohoAccounts(TokenServer):
    """Zoho Accounts: the shared ``TokenServer`` (client, codes, clock) with Zoho's
    non-rotating, revocable refresh tokens."""

    SCHEMA = SCHEMA
    TABLE = "zoho_tokens"
    ACCESS_ALSO = " AND revoked = 0"

    def __init__(
        self,
        db: sqlite3.Connection,
        *,
        api_domain: str = "https://www.zohoapis.com",
        **options: Unpack[ServerOptions],
    ) -> None:
        super().__init__(db, **options)
        self._api_domain = api_domain

    def grant(self, refresh_token: str | None = None) -> str:
        """Register a refresh token (as the consent flow would hand out); returns it."""
        token = refresh_token or "1000." + secrets.token_hex(32)
        self._db.execute(
            "INSERT OR IGNORE INTO zoho_tokens VALUES (?, 'refresh', ?, 0)",
            (digest_of(token), NEVER),
        )
        return token

    def revoke(self, refresh_token: str) -> None:
        self._db.execute(
            "UPDATE zoho_tokens SET revoked = 1 WHERE digest = ?", (digest_of(refresh_token),)
        )

    def token(self, form: Mapping[str, str]) -> dict[str, Any]:
        """The token endpoint's answer (always HTTP 200 at Zoho, errors included)."""
        if not self.client_pair_ok((form.get("client_id", ""), form.get("client_secret", ""))):
            return {"error": "invalid_client"}
        if form.get("grant_type") == "authorization_code":
            return self._redeem(form)
        if form.get("grant_type") != "refresh_token":
            return {"error": "unsupported_grant_type"}
        if not self._refresh_ok(form.get("refresh_token", "")):
            return {"error": "invalid_code"}
        return self._issue()

    def _redeem(self, form: Mapping[str, str]) -> dict[str, Any]:
        code, redirect_uri = form.get("code", ""), form.get("redirect_uri", "")
        if not self._codes.redeem(code, redirect_uri, form.get("code_verifier")):
            return {"error": "invalid_code"}
        return {**self._issue(), "refresh_token": self.grant()}

    def _refresh_ok(self, token: str) -> bool:
        row = self._db.execute(
            "SELECT revoked FROM zoho_tokens WHERE digest = ? AND kind = 'refresh'",
            (digest_of(token),),
        ).fetchone()
        return row is not None and not row[0]

    def _issue(self) -> dict[str, Any]:
        access = "1000." + secrets.token_hex(32)
        self._store_access(access)
        return {
            "access_token": access,
            "api_domain": self._api_domain,
            "token_type": "Bearer",
            "expires_in": int(self._access_ttl),
        }
