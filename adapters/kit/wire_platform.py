"""What every OAuth ledger's ``platform.py`` does the same way when it opens a ledger:
the app's credentials from the connection (or the platform sandbox's public ones), the
refresh token from the connection, the token file ``syncledger connect`` wrote, or the
sandbox's default, and the check that a live ledger has both an app and a grant.

A platform module still says its own token URL, where its client credentials go, its
auth scheme and the settings it needs beyond these (tenant, redirect URI …).
"""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import SecretStr

from syncledger.adapters.oauth2 import FileTokenStore, OAuth2Client, OAuth2RefreshAuth
from syncledger.adapters.platforms import Connection


class SandboxDefaults(Protocol):
    """The public defaults a platform's sandbox server module publishes."""

    DEFAULT_CLIENT_ID: str
    DEFAULT_CLIENT_SECRET: str
    DEFAULT_REFRESH_TOKEN: str


def app_granted(connection: Connection) -> bool:
    """The app's client id and secret are set, and a grant is there: a refresh token in
    the settings or the token file ``syncledger connect`` wrote."""
    creds = connection.credentials
    granted = creds.get("refresh_token") or connection.token_file.exists()
    return bool(creds.get("client_id") and creds.get("client_secret") and granted)


def oauth_client(
    connection: Connection,
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
    connection: Connection, client: OAuth2Client, sandbox: SandboxDefaults, scheme: str = "Bearer"
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
