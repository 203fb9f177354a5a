"""The source systems syncledger reads from, each a package under ``adapters/``.

A source module exposes ``SOURCE``, an object with the :class:`SourcePlatform` shape; the
registry imports it only when asked (no I/O at import time). The pipeline reaches a
source only through here and the ports of :mod:`syncledger.core.source_ports`, so adding
a source is its folder, one line in ``_MODULES`` and docs.

Rate scale works as for ledgers (:mod:`syncledger.adapters.platforms`): it multiplies the
sandbox's enforced limits and the adapter's client-side ones alike; a live source is
always reached at 1.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
from starlette.applications import Starlette

from syncledger.adapters.platforms import checked_rate_scale
from syncledger.core.errors import ConfigurationError
from syncledger.core.source_ports import SourceReader


@dataclass(frozen=True, slots=True)
class SourceConnection:
    """How to reach a source: its API's base URL (None for a file source), a folder (file
    sources), credentials by name (``SYNCLEDGER_<SOURCE>_<NAME>``; empty for the sandbox's
    test ones), where tokens persist, and an optional in-process transport."""

    token_file: Path
    base_url: str | None = None
    directory: Path | None = None
    credentials: Mapping[str, str] = field(default_factory=dict)
    transport: httpx.AsyncBaseTransport | None = None
    rate_scale: float = 1.0

    def __post_init__(self) -> None:
        checked_rate_scale(self.rate_scale)


class SourcePlatform(Protocol):
    id: str  # e.g. "hubspot"
    title: str  # e.g. "HubSpot"
    #: ``SYNCLEDGER_<ID>_<NAME>`` settings for a live source (secrets among them are read
    #: from the environment only, never logged)
    credential_names: tuple[str, ...]
    #: base URL of the in-process sandbox; None for a source without one (a CSV folder)
    sandbox_url: str | None

    def connect(self, connection: SourceConnection) -> SourceReader:
        """A reader; with empty credentials it uses the sandbox's public test ones. It may
        also be a WebhookReceiver, RecordFetcher and StatusWriter
        (:mod:`syncledger.core.source_ports`)."""
        ...

    def sandbox_app(self, book: Path | None, *, rate_scale: float = 1.0) -> Starlette | None:
        """The sandbox ASGI app with its records in ``book`` (in memory when None); None
        for a source without one."""
        ...


_MODULES: dict[str, str] = {
    "csv": "syncledger.adapters.sources.csv_platform",
    "webhooks": "syncledger.adapters.webhooks.platform",
    "google-contacts": "syncledger.adapters.google_contacts.platform",
    "hubspot": "syncledger.adapters.hubspot.platform",
    "jobber": "syncledger.adapters.jobber.platform",
}


def source_ids() -> tuple[str, ...]:
    return tuple(_MODULES)


def source(source_id: str) -> SourcePlatform:
    module_name = _MODULES.get(source_id)
    if module_name is None:
        raise ConfigurationError(
            f"unknown source {source_id!r}: choose one of {', '.join(_MODULES)} (SYNCLEDGER_SOURCE)"
        )
    module: Any = importlib.import_module(module_name)
    found: SourcePlatform = module.SOURCE
    return found


def source_credentials(source_id: str, names: tuple[str, ...]) -> dict[str, str]:
    """``SYNCLEDGER_<SOURCE>_<NAME>`` variables (e.g. SYNCLEDGER_HUBSPOT_CLIENT_SECRET)."""
    prefix = "SYNCLEDGER_" + source_id.upper().replace("-", "_") + "_"
    return {n: os.environ[prefix + n.upper()] for n in names if os.environ.get(prefix + n.upper())}
