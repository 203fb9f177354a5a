"""Odoo as a :class:`syncledger.adapters.platforms.Platform`.

Settings for a live database (``SYNCLEDGER_ODOO_<NAME>``): ``API_KEY`` (required),
``DATABASE`` (when the server hosts several), ``TRANSPORT`` (``json2``, the default, or
``xmlrpc`` for Odoo 17.0 and 18, which also needs ``LOGIN`` and ``DATABASE``; older Odoo is
refused, see ``odoo_versions``), and
``REQUESTS_PER_MINUTE`` / ``REQUESTS_PER_SECOND`` (Odoo publishes no limit; defaults 120
and 4). A rotated API key is kept in the connection's token file.

The sandbox (in process, or served by ``syncledger sandbox odoo`` on this machine) needs no
settings: with no ``API_KEY``, a loopback address (``127.0.0.1``, ``::1``, ``localhost``)
is taken for the served sandbox and its public key and database are used. An Odoo
running on this machine is reached by setting its ``API_KEY`` (and ``DATABASE``); without
one it answers 401, and the error says to set the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from pydantic import SecretStr

from syncledger.adapters.kit import wire_platform as kit
from syncledger.adapters.oauth2 import FileTokenStore
from syncledger.adapters.odoo.ledger import DEFAULT_RATES, OdooLedger
from syncledger.adapters.odoo.sandbox import server as sandbox
from syncledger.adapters.platforms import Connection
from syncledger.adapters.ratelimit import Rate
from syncledger.core.errors import ConfigurationError
from syncledger.core.ports import LedgerAdapter

TRANSPORTS = ("json2", "xmlrpc")


class OdooPlatform(kit.ScaledSandbox):
    id = "odoo"
    title = "Odoo"
    sandbox_url = "http://odoo.sandbox.local"
    credential_names = (
        "api_key",
        "database",
        "login",
        "transport",
        "requests_per_minute",
        "requests_per_second",
    )
    requests_per_minute = DEFAULT_RATES[1].limit
    server = sandbox

    def connect(self, connection: Connection) -> LedgerAdapter:
        creds = connection.credentials
        is_sandbox = connection.transport is not None or (
            _loopback(connection.base_url) and not creds.get("api_key")
        )
        if not is_sandbox and not creds.get("api_key"):
            raise ConfigurationError(
                "set SYNCLEDGER_ODOO_API_KEY (Odoo: Preferences > Account Security > New "
                "API Key) to talk to Odoo"
            )
        transport = creds.get("transport", "json2")
        if transport not in TRANSPORTS:
            raise ConfigurationError("SYNCLEDGER_ODOO_TRANSPORT must be json2 or xmlrpc")
        return OdooLedger.connect(
            base_url=connection.base_url.rstrip("/"),
            api_key=SecretStr(creds.get("api_key") or sandbox.DEFAULT_API_KEY),
            database=connection.tenant or creds.get("database") or _sandbox_db(is_sandbox),
            transport=transport,
            login=creds.get("login") or sandbox.DEFAULT_LOGIN,
            key_store=FileTokenStore(connection.token_file),
            http_transport=connection.transport,
            rates=tuple(rate.scaled(connection.rate_scale) for rate in rates(creds)),
        )


def rates(creds: Mapping[str, str]) -> tuple[Rate, ...]:
    """The client limits: Odoo's defaults unless the settings name others."""
    try:
        per_minute = int(creds.get("requests_per_minute") or DEFAULT_RATES[1].limit)
        per_second = int(creds.get("requests_per_second") or DEFAULT_RATES[0].limit)
        return (Rate(per_second, 1.0), Rate(per_minute, 60.0))
    except ValueError as exc:
        raise ConfigurationError(
            "SYNCLEDGER_ODOO_REQUESTS_PER_MINUTE / _PER_SECOND must be whole numbers >= 1"
        ) from exc


def _loopback(base_url: str) -> bool:
    return (urlsplit(base_url).hostname or "") in ("127.0.0.1", "::1", "localhost")


def _sandbox_db(is_sandbox: bool) -> str | None:
    return sandbox.DEFAULT_DATABASE if is_sandbox else None


PLATFORM = OdooPlatform()
