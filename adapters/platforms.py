"""The ledger platforms syncledger supports, each with an adapter and a sandbox.

A platform module exposes ``PLATFORM``, an object with the :class:`Platform` shape; the
registry imports it only when asked (no I/O or heavy imports at import time).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx
from starlette.applications import Starlette

from adapters.ports import LedgerAdapter
from core.errors import ConfigurationError


class SandboxHandle(Protocol):
    """What tests and the demo need from a running sandbox."""

    throttled: int

    def count(self, kind: str) -> int: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Connection:
    """How to reach a ledger: base URL, an optional in-process transport, credentials
    (by name, e.g. ``client_id``; empty for sandbox defaults) and where tokens persist."""

    base_url: str
    token_file: Path
    credentials: Mapping[str, str]
    transport: httpx.AsyncBaseTransport | None = None
    tenant: str | None = None  # realm / tenant / organisation / business id


class Platform(Protocol):
    id: str  # e.g. "xero"
    title: str  # e.g. "Xero"
    sandbox_url: str  # base URL used for the in-process sandbox
    credential_names: tuple[str, ...]  # SYNCLEDGER_<ID>_<NAME> settings for a live ledger

    def sandbox_app(self, book: Path | None, *, home_currency: str = "USD") -> Starlette:
        """The sandbox ASGI app with its books in ``book`` (in memory when None)."""
        ...

    def sandbox_handle(self, app: Starlette) -> SandboxHandle: ...

    def connect(self, connection: Connection) -> LedgerAdapter:
        """An adapter; with empty credentials it uses the sandbox's public test ones."""
        ...

    def serve(self, port: int, data_dir: Path) -> None:
        """Run the sandbox as an HTTP server on 127.0.0.1 until stopped."""
        ...


_MODULES: dict[str, str] = {
    "qbo": "adapters.ledgers.qbo_platform",
    "xero": "adapters.ledgers.xero_platform",
    "zoho-books": "adapters.ledgers.zoho_platform",
    "freshbooks": "adapters.ledgers.freshbooks_platform",
    "sage": "adapters.ledgers.sage_platform",
    "netsuite": "adapters.ledgers.netsuite_platform",
    "odoo": "adapters.ledgers.odoo_platform",
}


def platform_ids() -> tuple[str, ...]:
    return tuple(_MODULES)


def platform(ledger_id: str) -> Platform:
    module_name = _MODULES.get(ledger_id)
    if module_name is None:
        raise ConfigurationError(
            f"unknown ledger {ledger_id!r}: choose one of {', '.join(_MODULES)} "
            "(`syncledger sandbox --list`)"
        )
    try:
        module: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ConfigurationError(f"ledger {ledger_id!r} is not available in this build") from exc
    found: Platform = module.PLATFORM
    return found
