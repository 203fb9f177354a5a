"""What the OAuth ledgers' ``oauth.py`` modules share for ``syncledger connect``: the
tenants a new grant reaches (one authenticated ``GET`` of the platform's listing, its
rows read as tenants) and the sandbox's public app that ``connect`` logs in to. The
platform module says where the listing is, the auth scheme, how its rows name a tenant
and which tenant its sandbox serves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from syncledger.adapters.kit.wire_platform import SandboxDefaults
from syncledger.adapters.oauth2 import TokenSet
from syncledger.adapters.oauth2_connect import (
    Redirect,
    SandboxLogin,
    Tenant,
    TenantLookup,
    bearer,
    get_json,
)


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
