"""HubSpot as a :class:`~syncledger.adapters.sources.registry.SourcePlatform`.

Auth (SOURCES.md §1.2): a static access token (a private app's ``pat-…`` token or a
Service Key: ``Authorization: Bearer``) for one portal, or OAuth with a refresh token at
``POST https://api.hubapi.com/oauth/v3/token`` (client id and secret in the form body),
tokens persisted in ``connection.token_file`` before use (adapters/oauth2.py); access
tokens live "currently 30 minutes" and a 401 is no sign a new one is due, so the expiry is
tracked (refreshed 60 s before). Webhooks are signed with the app's client secret (§1.7).
Limits are per account and read from HubSpot's headers (:mod:`~syncledger.adapters.hubspot.limits`).
With no credentials the sandbox's public test ones are used.

``SYNCLEDGER_HUBSPOT_JOURNAL=true`` reads changes from HubSpot's Webhooks Journal
(:mod:`~syncledger.adapters.hubspot.journal`); OAuth only (§1.7), so with a static token
it is refused with one line.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import httpx
from pydantic import SecretStr
from starlette.applications import Starlette

from syncledger.adapters.http import LedgerHttp
from syncledger.adapters.hubspot import client as api
from syncledger.adapters.hubspot import journal as feed
from syncledger.adapters.hubspot.errors import translate
from syncledger.adapters.hubspot.limits import HeaderWatch, account_key, account_limits
from syncledger.adapters.hubspot.mapping import MAPPING_FILE, load_mapping
from syncledger.adapters.hubspot.reader import HubSpotSource
from syncledger.adapters.hubspot.sandbox import server as sandbox
from syncledger.adapters.hubspot.sandbox.person import HubSpotDemoSandbox
from syncledger.adapters.oauth2 import (
    Auth,
    FileTokenStore,
    OAuth2Client,
    OAuth2RefreshAuth,
    StaticBearerAuth,
)
from syncledger.adapters.platforms import checked_rate_scale
from syncledger.adapters.ratelimit import RateLimiter
from syncledger.adapters.sources.registry import (
    DemoSandbox,
    SourceConnection,
    personal_from_table,
)
from syncledger.core.errors import ConfigurationError
from syncledger.core.source_ports import SourceReader

PRODUCTION_URL = "https://api.hubapi.com"
TOKEN_PATH = "/oauth/v3/token"  # noqa: S105 (a path, not a secret)
#: a live delta window ends this long before now and a backfill's delta starts this long
#: before it (index lag, clock skew; SOURCES.md §1.4 suggests a 1-5 min overlap)
LIVE_CLOCK_MARGIN_MS = 120_000


class HubSpotPlatform:
    id = "hubspot"
    title = "HubSpot"
    sandbox_url = "http://hubspot.sandbox.local"
    #: HubSpot's object names: a deal is the invoice it became, a company or a contact
    #: the customer (a contact's customer id is ``contact-<id>``, mapping.py)
    ref_aliases = {  # noqa: RUF012 - read only
        "deal": ("invoice", ""),
        "company": ("customer", ""),
        "contact": ("customer", "contact-"),
    }
    credential_names = (
        "access_token",
        "client_id",
        "client_secret",
        "refresh_token",
        "portal_id",
        "closed_stage",
        "journal",
    )

    def sandbox_app(self, book: Path | None, *, rate_scale: float = 1.0) -> Starlette:
        """In memory only: ``book`` is not used (the sandbox keeps no file)."""
        return sandbox.create_app(sandbox.HubSpotSandbox(rate_scale=checked_rate_scale(rate_scale)))

    def demo_sandbox(self, *, rate_scale: float = 1.0) -> DemoSandbox:
        """The sandbox with a person entering the sample data (sandbox/person.py)."""
        return HubSpotDemoSandbox(rate_scale=checked_rate_scale(rate_scale))

    def mapping_file(self) -> Path | None:
        return MAPPING_FILE

    def personal_fields(self) -> Mapping[str, tuple[str, ...]]:
        """Companies' and contacts' properties per customer field (the source mapping)."""
        m = load_mapping()
        found = personal_from_table(m.company)
        for name, props in personal_from_table(m.contact).items():
            found[name] = tuple(dict.fromkeys(found.get(name, ()) + props))
        return found

    def connect(self, connection: SourceConnection) -> SourceReader:
        base = (connection.base_url or self.sandbox_url).rstrip("/")
        creds = dict(connection.credentials)
        live = base != self.sandbox_url
        if live and not (creds.get("access_token") or creds.get("refresh_token")):
            raise ConfigurationError(
                "set SYNCLEDGER_HUBSPOT_ACCESS_TOKEN (a Service Key or private app token), or "
                "SYNCLEDGER_HUBSPOT_CLIENT_ID, _CLIENT_SECRET and _REFRESH_TOKEN (OAuth)"
            )
        journal = feed.wanted(creds.get("journal"), static_token=bool(creds.get("access_token")))
        auth = _auth(creds, base, portal_token_file(connection.token_file, creds), live)
        scale = connection.rate_scale
        key = account_key(
            base,
            creds.get("portal_id"),
            creds.get("access_token") or creds.get("refresh_token") or creds.get("client_id"),
        )
        limits = account_limits(key, api.BURST_RATE.scaled(scale), api.SEARCH_RATE.scaled(scale))
        transport = HeaderWatch(connection.transport or httpx.AsyncHTTPTransport(), limits)

        def http(limiter: RateLimiter) -> LedgerHttp:
            return LedgerHttp(
                platform="hubspot",
                base_url=base,
                auth=auth,
                limiter=limiter,
                translate=translate,
                transport=transport,
            )

        def files() -> LedgerHttp:
            """The journal's pre-signed files: no credentials, no HubSpot limits."""
            inner = connection.transport or httpx.AsyncHTTPTransport()
            return LedgerHttp(
                platform="hubspot", base_url=base, translate=translate, transport=inner
            )

        client = api.HubSpotClient(http(limits.burst), http(limits.search))
        secret = creds.get("client_secret") or ("" if live else sandbox.TEST_CLIENT_SECRET)
        return HubSpotSource(
            client,
            load_mapping(closed_stage=creds.get("closed_stage") or None),
            webhook_secret=secret,
            clock_margin_ms=LIVE_CLOCK_MARGIN_MS if live else 0,
            journal=feed.HubSpotJournal(http(limits.burst), files()) if journal else None,
            portal_id=creds.get("portal_id") or None,
        )


def portal_token_file(token_file: Path, creds: dict[str, str]) -> Path:
    """OAuth tokens are kept per portal (SOURCES.md §1.2: "key stored tokens by hub_id"):
    with ``portal_id`` set, ``<name>-<portal id>.json`` beside the connection's file, so two
    entities syncing two portals never use one another's tokens."""
    portal = creds.get("portal_id", "").strip()
    if not portal:
        return token_file
    if not portal.isdigit():
        raise ConfigurationError(
            f"SYNCLEDGER_HUBSPOT_PORTAL_ID {portal!r} is not a HubSpot account id: write the "
            "account's number (its hub id, digits only)"
        )
    return token_file.with_name(f"{token_file.stem}-{portal}{token_file.suffix}")


def _auth(creds: dict[str, str], base: str, token_file: Path, live: bool) -> Auth:
    if creds.get("access_token"):
        return StaticBearerAuth(SecretStr(creds["access_token"]))
    if not creds.get("refresh_token"):
        return StaticBearerAuth(SecretStr(sandbox.TEST_ACCESS_TOKEN))
    if live and not (creds.get("client_id") and creds.get("client_secret")):
        raise ConfigurationError(
            "OAuth needs SYNCLEDGER_HUBSPOT_CLIENT_ID and SYNCLEDGER_HUBSPOT_CLIENT_SECRET too"
        )
    client = OAuth2Client(
        token_url=base + TOKEN_PATH,
        client_id=creds.get("client_id") or sandbox.TEST_CLIENT_ID,
        client_secret=SecretStr(creds.get("client_secret") or sandbox.TEST_CLIENT_SECRET),
        credentials_in="body",
    )
    return OAuth2RefreshAuth(
        client, FileTokenStore(token_file), initial_refresh_token=SecretStr(creds["refresh_token"])
    )


SOURCE = HubSpotPlatform()
