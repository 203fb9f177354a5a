"""The ledger platforms syncledger supports, each with an adapter and a sandbox.

A platform module exposes ``PLATFORM``, an object with the :class:`Platform` shape; the
registry imports it only when asked (no I/O or heavy imports at import time).

Rate scale: ``Platform.sandbox_app(..., rate_scale=)`` and ``Connection.rate_scale`` multiply
a platform's request limits, the sandbox's enforced ones and the adapter's client-side ones
alike: requests per second, per minute and per day, and concurrent requests where the
platform caps them (rounded down, never below 1; ``scaled_count``).
Nothing else changes: the sandbox's rules, its error shapes and its 429 answers are the
platform's. 1.0, the default, is the platform's own limits; the demo raises it so an
in-process sandbox finishes quickly. A live ledger is always reached at 1.0.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import httpx
from starlette.applications import Starlette

from syncledger.core.errors import ConfigurationError
from syncledger.core.ports import LedgerAdapter
from syncledger.core.validation import LedgerRules, default_rules


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
    "qbo": "syncledger.adapters.qbo.platform",
    "xero": "syncledger.adapters.xero.platform",
    "zoho-books": "syncledger.adapters.zoho.platform",
    "freshbooks": "syncledger.adapters.freshbooks.platform",
    "sage": "syncledger.adapters.sage.platform",
    "netsuite": "syncledger.adapters.netsuite.platform",
    "odoo": "syncledger.adapters.odoo.platform",
}


def mapping_file(ledger_id: str) -> Path:
    """The ledger's default mapping file, ``mapping.toml`` in its platform folder
    (``adapters/<platform>/``); a ``ConfigurationError`` for an unknown ledger."""
    module_name = _MODULES.get(ledger_id)
    if module_name is None:
        raise ConfigurationError(
            f"no mapping file for ledger {ledger_id!r}: known ledgers are {', '.join(_MODULES)}"
        )
    package = module_name.rsplit(".", 1)[0]
    return Path(str(resources.files(package) / "mapping.toml"))


def ledger_rules(ledger_id: str) -> LedgerRules:
    """What ``ledger_id`` accepts: ``RULES`` of its platform folder's ``rules.py``; the
    conservative defaults for a ledger without a folder (the in-memory ledger)."""
    module_name = _MODULES.get(ledger_id)
    if module_name is None:
        return default_rules(ledger_id)
    rules = importlib.import_module(module_name.rsplit(".", 1)[0] + ".rules").RULES
    assert isinstance(rules, LedgerRules), f"{module_name}: RULES is not LedgerRules"
    return rules


def platform_ids() -> tuple[str, ...]:
    return tuple(_MODULES)


def platform(ledger_id: str) -> Platform:
    module = registered(_MODULES, ledger_id, "ledger", "`syncledger sandbox --list`")
    found: Platform = module.PLATFORM
    return found


def registered(modules: Mapping[str, str], key: str, what: str, hint: str) -> Any:
    """The module ``modules`` registers as ``key``, imported. An unknown key is a
    ``ConfigurationError`` listing the ones to choose from (and ``hint``: where the list
    is); a module missing from this build is one too."""
    module_name = modules.get(key)
    if module_name is None:
        raise ConfigurationError(
            f"unknown {what} {key!r}: choose one of {', '.join(modules)} ({hint})"
        )
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ConfigurationError(f"{what} {key!r} is not available in this build") from exc
