"""What the OAuth ledgers' ``oauth.py`` modules share for ``syncledger connect``: the
tenants a new grant reaches (one authenticated ``GET`` of the platform's listing, its
rows read as tenants) and the sandbox's public app that ``connect`` logs in to. The
platform module says where the listing is, the auth scheme, how its rows name a tenant
and which tenant its sandbox serves.

And what their ``platform.py`` modules share when a ledger is opened, read off the same
``OAuthPlatform``: whether the address is the platform's own API (``live``), what a live
ledger still lacks (the app, the grant, the tenant: said as the settings to set), and the
refreshing auth at the token endpoint that address uses (the live one, or the sandbox's
``sandbox_paths`` under it) with the client's credentials where the platform takes them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from syncledger.adapters.kit.wire_platform import (
    SandboxDefaults,
    app_granted,
    oauth_client,
    refresh_auth,
)
from syncledger.adapters.oauth2 import OAuth2RefreshAuth, TokenSet
from syncledger.adapters.oauth2_connect import (
    OAuthPlatform,
    Redirect,
    SandboxLogin,
    Tenant,
    TenantLookup,
    bearer,
    get_json,
)
from syncledger.adapters.platforms import Connection
from syncledger.core.errors import ConfigurationError


def sandbox_login(
    server: SandboxDefaults, tenant: str, redirect_uri: str | None = None
) -> SandboxLogin:
    """What ``connect`` uses against the platform's sandbox: the public app credentials
    its server module publishes and the tenant it serves."""
    return SandboxLogin(
        server.DEFAULT_CLIENT_ID, server.DEFAULT_CLIENT_SECRET, tenant, redirect_uri
    )


def tenants_in(rows: Any, id_key: str, name_key: str) -> list[Tenant]:
    """The tenants of a listing's rows: each object with an ``id_key``, named by its
    ``name_key``; anything else (not a list, a row without an id) is passed over."""
    return [
        Tenant(str(row[id_key]), row.get(name_key))
        for row in (rows if isinstance(rows, list) else [])
        if isinstance(row, dict) and row.get(id_key)
    ]


def listed_tenants(
    url: Callable[[str], str],
    title: str,
    parse: Callable[[Any], list[Tenant]],
    scheme: str = "Bearer",
) -> TenantLookup:
    """A lookup that reads ``parse(body)`` from ``GET url(api root)`` with the new grant
    (errors as :func:`get_json` says, naming the platform ``title``)."""

    async def lookup(
        http: httpx.AsyncClient, api: str, tokens: TokenSet, redirect: Redirect
    ) -> list[Tenant]:
        return parse(await get_json(http, url(api), bearer(tokens, scheme), title))

    return lookup


def live_granted(
    connection: Connection,
    connect: OAuthPlatform,
    root: str,
    *,
    app: tuple[str, ...] = (),
    tenant: str | None = None,
) -> bool:
    """Whether ``root`` is the platform's own API. A live one wants the app's client id and
    secret, the settings ``app`` names, a grant and, where ``tenant`` names its setting,
    the tenant (``connect`` stored it, or the setting): else a ``ConfigurationError``
    naming the settings to set and the ``syncledger connect`` to run."""
    live = connect.live(root)
    creds = connection.credentials
    has_tenant = tenant is None or bool(connection.tenant or creds.get(tenant))
    if live and not (app_granted(connection) and has_tenant and all(map(creds.get, app))):
        raise ConfigurationError(_what_to_set(connect, app, tenant))
    return live


def _what_to_set(connect: OAuthPlatform, app: tuple[str, ...], tenant: str | None) -> str:
    prefix = "SYNCLEDGER_" + connect.id.upper().replace("-", "_") + "_"
    app_names = [prefix + name.upper() for name in ("client_id", "client_secret", *app)]
    grant = [prefix + name.upper() for name in ("refresh_token", *filter(None, [tenant]))]
    return (
        f"set {_listed(app_names)}, and run `syncledger connect {connect.id}` (or set "
        f"{_listed(grant)}), to talk to {connect.title}"
    )


def _listed(names: list[str]) -> str:
    return " and ".join(filter(None, [", ".join(names[:-1]), names[-1]]))


def ledger_auth(
    connection: Connection,
    connect: OAuthPlatform,
    server: SandboxDefaults,
    root: str,
    *,
    token_url: str | None = None,
    scheme: str = "Bearer",
) -> OAuth2RefreshAuth:
    """The refreshing auth of a ledger at ``root``: the app's client (its settings, or the
    sandbox ``server``'s public app) at ``token_url``, else at the token endpoint
    ``connect`` names for ``root``, its credentials where the platform takes them."""
    url = token_url or connect.server(root).token_url
    client = oauth_client(connection, url, server, connect.credentials_in)
    return refresh_auth(connection, client, server, scheme)
