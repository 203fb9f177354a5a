"""What every ledger's ``platform.py`` does the same way.

Its sandbox: the app over a book, with the home currency and the platform's limits
scaled, its handle and serving it are handed to the platform's ``sandbox/server.py``
(:class:`ServedSandbox`, :class:`ScaledSandbox`).

A tuning setting that is a count (``whole_setting``): a positive whole number, or a
``ConfigurationError`` naming the ``SYNCLEDGER_<ID>_<NAME>`` to correct.

Opening an OAuth ledger: the app's credentials from the connection (or the platform
sandbox's public ones), the refresh token from the connection, the token file
``syncledger connect`` wrote, or the sandbox's default, and the check that a live ledger
has both an app and a grant. A platform module still says its own token URL, where its
client credentials go, its auth scheme and the settings it needs beyond these (tenant,
redirect URI …).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal, Protocol

from pydantic import SecretStr
from starlette.applications import Starlette

from syncledger.adapters.oauth2 import FileTokenStore, OAuth2Client, OAuth2RefreshAuth
from syncledger.adapters.platforms import SandboxHandle, checked_rate_scale
from syncledger.core.errors import ConfigurationError


class SandboxServer(Protocol):
    """A platform's ``sandbox/server.py``, as its platform module uses it."""

    def sandbox_of(self, app: Starlette, /) -> SandboxHandle: ...

    def serve(self, port: int, data_dir: Path, /) -> None: ...


class ScaledSandboxServer(SandboxServer, Protocol):
    """A sandbox server whose app takes the book, the home currency and a rate scale."""

    def create_app(
        self, book_path: Path | None, /, *, home_currency: str, rate_scale: float
    ) -> Starlette: ...


class ServedSandbox:
    """The ``Platform`` methods its sandbox server module (``server``) answers: the
    handle of an app, and serving the sandbox."""

    server: SandboxServer  # the platform's sandbox server module

    def sandbox_handle(self, app: Starlette) -> SandboxHandle:
        return self.server.sandbox_of(app)

    def serve(self, port: int, data_dir: Path) -> None:
        self.server.serve(port, data_dir)


class ScaledSandbox(ServedSandbox):
    """A served sandbox whose app is the server's over the book, the home currency and
    the platform's limits times ``rate_scale``."""

    server: ScaledSandboxServer

    def sandbox_app(
        self, book: Path | None, *, home_currency: str = "USD", rate_scale: float = 1.0
    ) -> Starlette:
        checked = checked_rate_scale(rate_scale)
        return self.server.create_app(book, home_currency=home_currency, rate_scale=checked)


class Grant(Protocol):
    """Where a ledger's or source's connection keeps its settings and its tokens
    (``platforms.Connection``, ``sources.registry.SourceConnection``)."""

    @property
    def credentials(self) -> Mapping[str, str]: ...

    @property
    def token_file(self) -> Path: ...


class SandboxDefaults(Protocol):
    """The public defaults a platform's sandbox server module publishes."""

    DEFAULT_CLIENT_ID: str
    DEFAULT_CLIENT_SECRET: str
    DEFAULT_REFRESH_TOKEN: str


def app_granted(connection: Grant) -> bool:
    """The app's client id and secret are set, and a grant is there: a refresh token in
    the settings or the token file ``syncledger connect`` wrote."""
    creds = connection.credentials
    granted = creds.get("refresh_token") or connection.token_file.exists()
    return bool(creds.get("client_id") and creds.get("client_secret") and granted)


def oauth_client(
    connection: Grant,
    token_url: str,
    sandbox: SandboxDefaults,
    credentials_in: Literal["basic", "body"] = "basic",
) -> OAuth2Client:
    """The app's client at ``token_url``: its settings, or the sandbox's defaults."""
    creds = connection.credentials
    return OAuth2Client(
        token_url=token_url,
        client_id=creds.get("client_id") or sandbox.DEFAULT_CLIENT_ID,
        client_secret=SecretStr(creds.get("client_secret") or sandbox.DEFAULT_CLIENT_SECRET),
        credentials_in=credentials_in,
    )


def refresh_auth(
    connection: Grant, client: OAuth2Client, sandbox: SandboxDefaults, scheme: str = "Bearer"
) -> OAuth2RefreshAuth:
    """Refreshing auth over the connection's token file, first refreshed with the
    settings' refresh token or the sandbox's default."""
    first = connection.credentials.get("refresh_token") or sandbox.DEFAULT_REFRESH_TOKEN
    return OAuth2RefreshAuth(
        client,
        FileTokenStore(connection.token_file),
        initial_refresh_token=SecretStr(first),
        scheme=scheme,
    )


def whole_setting(
    creds: Mapping[str, str], platform: str, name: str, default: int, hint: str = ""
) -> int:
    """The setting ``name`` as a positive whole number (``default`` when it is unset);
    anything else is a ``ConfigurationError`` naming ``SYNCLEDGER_<PLATFORM>_<NAME>``, its
    value and ``hint`` (what to give)."""
    text = creds.get(name) or str(default)
    if not text.isdigit() or int(text) < 1:
        setting = "SYNCLEDGER_" + f"{platform}_{name}".upper().replace("-", "_")
        said = f"{setting}={text!r} is not a positive whole number"
        raise ConfigurationError(f"{said}: {hint}" if hint else said)
    return int(text)
