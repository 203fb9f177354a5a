"""NetSuite token-based authentication (TBA): OAuth 1.0a requests signed with HMAC-SHA256.

Every request carries ``Authorization: OAuth realm="<ACCOUNT>", oauth_consumer_key=…,
oauth_token=…, oauth_signature_method="HMAC-SHA256", oauth_timestamp=…, oauth_nonce=…,
oauth_version="1.0", oauth_signature=…``. The signature base string is RFC 5849 §3.4.1
(method, base string URI, the normalized query and ``oauth_*`` parameters, without
``realm`` and ``oauth_signature``); the HMAC key is ``consumer_secret&token_secret``.

What NetSuite adds (Oracle help, "The Signature for Web Services and RESTlets", "Error
Messages for RESTlets, SOAP Web Services, and REST Web Services"): only HMAC-SHA256; the
realm is the account id in upper case with ``_`` (``1234567_SB1``) while the host uses
lower case and ``-`` (``1234567-sb1.suitetalk.api.netsuite.com``); a nonce of at least six
characters (twenty is ideal); a timestamp within five minutes of the server's clock; a
nonce + timestamp pair is refused once used (``NonceUsed``). TBA tokens do not expire: a
401 means the token was revoked or is wrong, which no retry fixes.

Secrets are ``SecretStr`` and never leave this module except inside the signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote

import httpx
from pydantic import SecretStr

from syncledger.core.errors import ConfigurationError

SIGNATURE_METHOD = "HMAC-SHA256"
NONCE_MIN_LENGTH = 6
_HEADER_PARAM = re.compile(r'([A-Za-z0-9_]+)="([^"]*)"')
_DEFAULT_PORTS = {"http": 80, "https": 443}


def percent(value: str) -> str:
    """RFC 3986 percent-encoding as OAuth 1.0a wants it: only unreserved characters stay."""
    return quote(value, safe="~")


def realm_of(account_id: str) -> str:
    """``1234567-sb1`` → ``1234567_SB1`` (the form the realm takes)."""
    return account_id.strip().upper().replace("-", "_")


def host_of(account_id: str) -> str:
    """``1234567_SB1`` → ``1234567-sb1`` (the form the API host name takes)."""
    return account_id.strip().lower().replace("_", "-")


def base_string_uri(scheme: str, host: str, port: int | None, raw_path: str) -> str:
    """RFC 5849 §3.4.1.2: lower-case scheme and host, the port only when not the default."""
    scheme = scheme.lower()
    netloc = host.lower()
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc += f":{port}"
    return f"{scheme}://{netloc}{raw_path}"


def normalized_parameters(params: Iterable[tuple[str, str]]) -> str:
    """RFC 5849 §3.4.1.3.2: encode names and values, sort, join with ``=`` and ``&``."""
    encoded = sorted((percent(name), percent(value)) for name, value in params)
    return "&".join(f"{name}={value}" for name, value in encoded)


def signature_base_string(method: str, uri: str, params: Iterable[tuple[str, str]]) -> str:
    return "&".join((method.upper(), percent(uri), percent(normalized_parameters(params))))


def hmac_sha256(base_string: str, consumer_secret: str, token_secret: str) -> str:
    key = f"{percent(consumer_secret)}&{percent(token_secret)}".encode()
    digest = hmac.new(key, base_string.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def authorization_header(realm: str, oauth: Mapping[str, str]) -> str:
    parts = [f'realm="{percent(realm)}"']
    parts += [f'{name}="{percent(value)}"' for name, value in oauth.items()]
    return "OAuth " + ", ".join(parts)


def parse_authorization(header: str | None) -> dict[str, str] | None:
    """The parameters of an ``OAuth …`` header, decoded; None when it is not one."""
    scheme, _, rest = (header or "").strip().partition(" ")
    if scheme.lower() != "oauth":
        return None
    return {name: unquote(value) for name, value in _HEADER_PARAM.findall(rest)}


def request_uri(url: httpx.URL) -> str:
    raw_path = url.raw_path.split(b"?", 1)[0].decode("ascii")
    return base_string_uri(url.scheme, url.host, url.port, raw_path)


@dataclass(frozen=True, slots=True)
class TbaCredentials:
    """An integration record's consumer key/secret and a user's access token id/secret."""

    account_id: str
    consumer_key: str
    consumer_secret: SecretStr
    token_id: str
    token_secret: SecretStr

    @property
    def realm(self) -> str:
        return realm_of(self.account_id)


class TbaAuth:
    """Signs each attempt with a fresh nonce and timestamp (``RequestSigningAuth``)."""

    def __init__(
        self,
        credentials: TbaCredentials,
        *,
        clock: Callable[[], float] = time.time,
        nonce: Callable[[], str] = lambda: secrets.token_hex(10),
    ) -> None:
        self._credentials = credentials
        self._clock = clock
        self._nonce = nonce

    async def sign(self, client: httpx.AsyncClient, request: httpx.Request) -> dict[str, str]:
        return {"Authorization": self.header(request.method, request.url)}

    def header(self, method: str, url: httpx.URL) -> str:
        creds = self._credentials
        oauth = {
            "oauth_consumer_key": creds.consumer_key,
            "oauth_token": creds.token_id,
            "oauth_signature_method": SIGNATURE_METHOD,
            "oauth_timestamp": str(int(self._clock())),
            "oauth_nonce": self._nonce(),
            "oauth_version": "1.0",
        }
        params = [*url.params.multi_items(), *oauth.items()]
        base = signature_base_string(method, request_uri(url), params)
        oauth["oauth_signature"] = hmac_sha256(
            base, creds.consumer_secret.get_secret_value(), creds.token_secret.get_secret_value()
        )
        return authorization_header(creds.realm, oauth)

    async def headers(self, client: httpx.AsyncClient) -> dict[str, str]:
        raise ConfigurationError(
            "NetSuite TBA signs each request: use TbaAuth with LedgerHttp, which calls sign()"
        )

    async def unauthorized(self, client: httpx.AsyncClient, sent: dict[str, str]) -> bool:
        """Nothing to refresh: a TBA token is valid until revoked."""
        return False
