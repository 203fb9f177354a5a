"""The sandbox side of NetSuite token-based authentication: checks each request's OAuth 1.0a
``Authorization`` header the way NetSuite does, and records why a login failed (the
``Detail`` column of NetSuite's Login Audit Trail) without ever echoing a secret.

Checked, in order: an ``OAuth`` header with every required parameter; ``HMAC-SHA256``;
the realm is this account; a known consumer key and an active (not revoked) token; a
nonce of at least six characters; a timestamp within five minutes; the signature over the
RFC 5849 base string; a nonce + timestamp not used before by this token (only properly
signed requests use up a nonce).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from syncledger.adapters.netsuite.auth import (
    NONCE_MIN_LENGTH,
    SIGNATURE_METHOD,
    base_string_uri,
    hmac_sha256,
    parse_authorization,
    realm_of,
    signature_base_string,
)
from syncledger.adapters.netsuite.sandbox.book import NetSuiteBook

TIMESTAMP_WINDOW = 300  # seconds either side of the server's clock
REQUIRED = (
    "oauth_consumer_key",
    "oauth_token",
    "oauth_signature_method",
    "oauth_timestamp",
    "oauth_nonce",
    "oauth_signature",
)


@dataclass(frozen=True, slots=True)
class SignedRequest:
    method: str
    scheme: str
    host: str
    port: int | None
    raw_path: str
    query: tuple[tuple[str, str], ...]
    authorization: str | None


@dataclass
class TbaServer:
    """One integration record (consumer key + secret) of one account, and its tokens."""

    book: NetSuiteBook
    account_id: str
    consumer_key: str
    consumer_secret: str
    clock: Callable[[], float] = time.time
    #: Login Audit Trail details of failed logins, newest last
    audit: list[str] = field(default_factory=list)

    def issue(self, token_id: str, token_secret: str) -> None:
        self.book.add_token(token_id, token_secret)

    def revoke(self, token_id: str) -> None:
        self.book.revoke_token(token_id)

    def failure(self, request: SignedRequest) -> str | None:
        """None when the request is properly signed, else the audit trail's reason."""
        params = parse_authorization(request.authorization)
        reason = self._reason(request, params) if params is not None else "MissingAuthorization"
        if reason is not None:
            self.audit.append(reason)
        return reason

    def _reason(self, request: SignedRequest, params: dict[str, str]) -> str | None:
        if any(not params.get(name) for name in REQUIRED):
            return "MissingTokenPassportRequiredFields"
        if params["oauth_signature_method"] != SIGNATURE_METHOD:
            return "InvalidSignatureMethod"
        if realm_of(params.get("realm", "")) != realm_of(self.account_id):
            return "InvalidAccount"
        if not hmac.compare_digest(params["oauth_consumer_key"], self.consumer_key):
            return "consumer_key_unknown"
        token_secret = self.book.token_secret(params["oauth_token"])
        if token_secret is None:
            return "InvalidToken"
        return (
            self._timely(params)
            or self._signed(request, params, token_secret)
            or self._unused(params)
        )

    def _timely(self, params: dict[str, str]) -> str | None:
        if len(params["oauth_nonce"]) < NONCE_MIN_LENGTH:
            return "nonce_rejected"
        try:
            timestamp = int(params["oauth_timestamp"])
        except ValueError:
            return "InvalidTimestamp"
        if abs(int(self.clock()) - timestamp) > TIMESTAMP_WINDOW:
            return "InvalidTimestamp"
        return None

    def _unused(self, params: dict[str, str]) -> str | None:
        """Records the nonce + timestamp of a properly signed request; refuses a reuse."""
        self.book.forget_nonces_before(int(self.clock()) - 2 * TIMESTAMP_WINDOW)
        timestamp = int(params["oauth_timestamp"])
        if not self.book.use_nonce(params["oauth_token"], params["oauth_nonce"], timestamp):
            return "NonceUsed"
        return None

    def _signed(self, request: SignedRequest, params: dict[str, str], secret: str) -> str | None:
        uri = base_string_uri(request.scheme, request.host, request.port, request.raw_path)
        signed = [(k, v) for k, v in params.items() if k not in ("realm", "oauth_signature")]
        base = signature_base_string(request.method, uri, _all(request.query, signed))
        expected = hmac_sha256(base, self.consumer_secret, secret)
        if not hmac.compare_digest(expected, params["oauth_signature"]):
            return "InvalidSignature"
        return None


def _all(*groups: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [pair for group in groups for pair in group]
