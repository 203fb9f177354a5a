"""The ledger platforms syncledger supports, each with an adapter and a sandbox.

A platform module exposes ``PLATFORM``, an object with the :class:`Platform` shape; the
registry imports it only when asked (no I/O or heavy imports at import time).

Rate scale: ``Platform.sandbox_app(..., rate_scale=)`` and ``Connection.rate_scale`` multiply
a platform's request limits, the sandbox's enforced ones and the adapter's client-side ones
alike: requests per second, per minute and per day, and concurrent requests where the
platform caps them (rounded down, never below 1; :func:`adapters.ratelimit.scaled_count`).
Nothing else changes: the sandbox's rules, its error shapes and its 429 answers are the
platform's. 1.0, the default, is the platform's own limits; the demo raises it so an
in-process sandbox finishes quickly. A live ledger is always reached at 1.0.
"""

from __future__ import annotations

import importlib
import math
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
    rate_scale: float = 1.0  # multiplies the adapter's client-side limits (module docstring)

    def __post_init__(self) -> None:
        checked_rate_scale(self.rate_scale)


def checked_rate_scale(rate_scale: float) -> float:
    """``rate_scale`` when it is a positive finite number; else a ``ConfigurationError``."""
    if not (math.isfinite(rate_scale) and rate_scale > 0):
        raise ConfigurationError(
            f"rate scale {rate_scale!r} must be a number above 0 (1 = the platform's own limits)"
        )
    return rate_scale


class Platform(Protocol):
    id: str  # e.g. "xero"
    title: str  # e.g. "Xero"
    sandbox_url: str  # base URL used for the in-process sandbox
    credential_names: tuple[str, ...]  # SYNCLEDGER_<ID>_<NAME> settings for a live ledger
    requests_per_minute: int  # the adapter's default per-tenant limit at rate scale 1

    def sandbox_app(
        self, book: Path | None, *, home_currency: str = "USD", rate_scale: float = 1.0
    ) -> Starlette:
        """The sandbox ASGI app with its books in ``book`` (in memory when None), enforcing
        the platform's limits multiplied by ``rate_scale`` (> 0, else ConfigurationError)."""
        ...

    def sandbox_handle(self, app: Starlette) -> SandboxHandle: ...

    def connect(self, connection: Connection) -> LedgerAdapter:
        """An adapter; with empty credentials it uses the sandbox's public test ones. Its
        client-side limits are multiplied by ``connection.rate_scale``."""
        ...

    def serve(self, port: int, data_dir: Path) -> None:
        """Run the sandbox as an HTTP server on 127.0.0.1 until stopped (rate scale 1)."""
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


def mapping_name(ledger_id: str) -> str:
    """The stem of the ledger's mapping file in ``adapters/mappings/`` (``zoho-books`` →
    ``zoho``): the same name as its adapter module."""
    module_name = _MODULES.get(ledger_id)
    if module_name is None:
        return ledger_id
    return module_name.rsplit(".", 1)[1].removesuffix("_platform")


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
