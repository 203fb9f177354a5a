"""The sandbox side of NetSuite token-based authentication (TBA): checks each request's
OAuth 1.0a ``Authorization`` header as NetSuite does, and records why a login failed (the
``Detail`` column of NetSuite's Login Audit Trail) without ever echoing a secret.

Read from the documents, not from the adapter, so a bug on one side shows against the
other (``tests/unit/test_netsuite_sandbox_tba.py`` pins both to the RFC's examples):

- RFC 5849 (OAuth 1.0): §3.5.1 the ``OAuth`` header, ``name="value"`` pairs separated by
  commas, names and values percent-encoded; §3.4.1 the signature base string: the method
  in upper case, the base string URI (§3.4.1.2: scheme and host in lower case, the port
  only when not the scheme's default, no query) and the normalized parameters (§3.4.1.3:
  the query read as form-urlencoded plus the header's parameters but ``realm`` and
  ``oauth_signature``, each name and value encoded, sorted by name then value, joined by
  ``=`` and ``&``), each part encoded (§3.6: all but ``A-Za-z0-9-._~`` as ``%XX`` of the
  UTF-8 octets) and joined by ``&``; §3.4.2 the HMAC key ``secret&token_secret``, each
  encoded, and the digest in base64; §3.2 and §3.3 a nonce + timestamp used once.
- Oracle help, "The Signature for Web Services and RESTlets" and "Generating the Signature
  for the TBA Authorization Flow": ``HMAC-SHA256`` only (HMAC-SHA1 ended with 2023.1);
  the realm is the account id (compared as ``1234567_SB1``: upper case, ``_``).
- Oracle help, "Error Messages for RESTlets, SOAP Web Services, and REST Web Services":
  the Login Audit Trail details recorded below. A nonce of at least six characters and a
  timestamp within five minutes of the server's clock, as the adapter's reading of the
  same pages has it (SuiteAnalytics Connect's TBA page: "6–64 characters").

Checked, in order: an ``OAuth`` header with every required parameter; ``HMAC-SHA256``;
the realm; a known consumer key and an active (not revoked) token; the nonce; the
timestamp; the signature; a nonce + timestamp not used before by this token (only
properly signed requests use up a nonce).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import string
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote

from syncledger.adapters.netsuite.sandbox.book import NetSuiteBook

METHOD = "HMAC-SHA256"
NONCE_MIN = 6
TIMESTAMP_WINDOW = 300  # seconds either side of the server's clock
REQUIRED = (
    "oauth_consumer_key",
    "oauth_token",
    "oauth_signature_method",
    "oauth_timestamp",
    "oauth_nonce",
    "oauth_signature",
)
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_DEFAULT_PORT = {"http": 80, "https": 443}


def encode(text: str) -> str:
    """RFC 5849 §3.6 percent-encoding."""
    return "".join(chr(o) if chr(o) in _UNRESERVED else f"%{o:02X}" for o in text.encode())


def header_parameters(header: str | None) -> dict[str, str] | None:
    """RFC 5849 §3.5.1: the decoded parameters of an ``OAuth`` header; None for another
    scheme. A part that is not ``name="value"`` is skipped."""
    scheme, _, rest = (header or "").strip().partition(" ")
    if scheme.lower() != "oauth":
        return None
    found: dict[str, str] = {}
    for part in rest.split(","):
        name, equals, quoted = (text.strip() for text in part.partition("="))
        if equals and len(quoted) >= 2 and quoted[0] == quoted[-1] == '"':
            found[unquote(name)] = unquote(quoted[1:-1])
    return found


def base_string_uri(scheme: str, host: str, port: int | None, raw_path: str) -> str:
    """RFC 5849 §3.4.1.2."""
    scheme, authority = scheme.lower(), host.lower()
    if port is not None and port != _DEFAULT_PORT.get(scheme):
        authority = f"{authority}:{port}"
    return f"{scheme}://{authority}{raw_path}"


def base_string(method: str, uri: str, parameters: Iterable[tuple[str, str]]) -> str:
    """RFC 5849 §3.4.1.1, with the parameters normalized per §3.4.1.3.2."""
    pairs = sorted((encode(name), encode(value)) for name, value in parameters)
    normalized = "&".join(f"{name}={value}" for name, value in pairs)
    return "&".join((method.upper(), encode(uri), encode(normalized)))


def signed_parameters(raw_query: str, oauth: Mapping[str, str]) -> list[tuple[str, str]]:
    """RFC 5849 §3.4.1.3.1: the query read as form-urlencoded, and the header's parameters
    but ``realm`` and ``oauth_signature``. (The bodies NetSuite REST takes are JSON, never
    the form-urlencoded kind whose parameters would be signed too.)"""
    query = parse_qsl(raw_query, keep_blank_values=True)
    return [*query, *((k, v) for k, v in oauth.items() if k not in ("realm", "oauth_signature"))]


def signing_key(consumer_secret: str, token_secret: str) -> bytes:
    """RFC 5849 §3.4.2."""
    return f"{encode(consumer_secret)}&{encode(token_secret)}".encode()


def hmac_sha256(key: bytes, text: str) -> str:
    return base64.b64encode(hmac.new(key, text.encode(), hashlib.sha256).digest()).decode()


def _same(given: str, known: str) -> bool:
    return hmac.compare_digest(given.encode(), known.encode())


def _realm(account_id: str) -> str:
    return account_id.strip().upper().replace("-", "_")


@dataclass(frozen=True, slots=True)
class SignedRequest:
    method: str
    scheme: str
    host: str
    port: int | None
    raw_path: str
    raw_query: str
    authorization: str | None

    def base_string(self, oauth: Mapping[str, str]) -> str:
        uri = base_string_uri(self.scheme, self.host, self.port, self.raw_path)
        return base_string(self.method, uri, signed_parameters(self.raw_query, oauth))


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
        """None when the request is properly signed, else the audit trail's detail."""
        oauth = header_parameters(request.authorization)
        reason = "MissingAuthorization" if oauth is None else self._reason(request, oauth)
        if reason is not None:
            self.audit.append(reason)
        return reason

    def _reason(self, request: SignedRequest, oauth: dict[str, str]) -> str | None:
        if any(not oauth.get(name) for name in REQUIRED):
            return "MissingTokenPassportRequiredFields"
        if oauth["oauth_signature_method"] != METHOD:
            return "InvalidSignatureMethod"
        if _realm(oauth.get("realm", "")) != _realm(self.account_id):
            return "InvalidAccount"
        if not _same(oauth["oauth_consumer_key"], self.consumer_key):
            return "consumer_key_unknown"
        token_secret = self.book.token_secret(oauth["oauth_token"])
        if token_secret is None:
            return "InvalidToken"
        return (
            self._timely(oauth) or self._signed(request, oauth, token_secret) or self._unused(oauth)
        )

    def _timely(self, oauth: dict[str, str]) -> str | None:
        if len(oauth["oauth_nonce"]) < NONCE_MIN:
            return "nonce_rejected"
        try:
            timestamp = int(oauth["oauth_timestamp"])
        except ValueError:
            return "InvalidTimestamp"
        if abs(int(self.clock()) - timestamp) > TIMESTAMP_WINDOW:
            return "InvalidTimestamp"
        return None

    def _signed(self, request: SignedRequest, oauth: dict[str, str], secret: str) -> str | None:
        key = signing_key(self.consumer_secret, secret)
        expected = hmac_sha256(key, request.base_string(oauth))
        if not _same(expected, oauth["oauth_signature"]):
            return "InvalidSignature"
        return None

    def _unused(self, oauth: dict[str, str]) -> str | None:
        """Records the nonce + timestamp of a properly signed request; refuses a reuse."""
        self.book.forget_nonces_before(int(self.clock()) - 2 * TIMESTAMP_WINDOW)
        timestamp = int(oauth["oauth_timestamp"])
        if not self.book.use_nonce(oauth["oauth_token"], oauth["oauth_nonce"], timestamp):
            return "NonceUsed"
        return None
