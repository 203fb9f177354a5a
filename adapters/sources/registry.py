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

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

import httpx
from starlette.applications import Starlette

from syncledger.adapters.platforms import checked_rate_scale, registered
from syncledger.core.data_map import PERSONAL_FIELDS
from syncledger.core.source_ports import RecordHint, SourceReader, WebhookRequest


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
    #: file sources: the files' text encoding (None: the source's own default)
    encoding: str | None = None

    def __post_init__(self) -> None:
        checked_rate_scale(self.rate_scale)


class DemoSandbox(Protocol):
    """A source's sandbox with a person at it, for ``syncledger demo --source <id>``.

    The person enters the sample data the way users of the source do (companies,
    contacts, deals and their line items; clients, jobs and invoices), makes one more
    change while the demo runs, and the sandbox's sender announces it by webhook. The
    reader the demo connects with empty credentials (the sandbox's test ones) verifies
    what :meth:`delivery` signs."""

    app: Starlette

    async def seed(self) -> str:
        """Enter the sample data; one line saying what was entered."""
        ...

    async def change_one(self) -> RecordHint:
        """A change a person makes now (one more deal closes, one more invoice is
        issued): the record a webhook announces."""
        ...

    def delivery(self, hints: Sequence[RecordHint]) -> WebhookRequest:
        """The delivery the source's sender makes about ``hints``, signed as it signs."""
        ...

    async def shows_paid(self) -> int:
        """How many source documents show a payment status written back (read from the
        sandbox's own records, by the source's field names)."""
        ...


class SourcePlatform(Protocol):
    id: str  # e.g. "hubspot"
    title: str  # e.g. "HubSpot"
    #: ``SYNCLEDGER_<ID>_<NAME>`` settings for a live source (secrets among them are read
    #: from the environment only, never logged)
    credential_names: tuple[str, ...]
    #: base URL of the in-process sandbox; None for a source without one (a CSV folder)
    sandbox_url: str | None
    #: the source's own object names for our record kinds, so a person can name a record
    #: as the source does (``hubspot/deal/123``): object -> (kind, id prefix)
    ref_aliases: Mapping[str, tuple[str, str]]

    def connect(self, connection: SourceConnection) -> SourceReader:
        """A reader; with empty credentials it uses the sandbox's public test ones. It may
        also be a WebhookReceiver, RecordFetcher and StatusWriter
        (:mod:`syncledger.core.source_ports`)."""
        ...

    def sandbox_app(self, book: Path | None, *, rate_scale: float = 1.0) -> Starlette | None:
        """The sandbox ASGI app with its records in ``book`` (in memory when None); None
        for a source without one."""
        ...

    def demo_sandbox(self, *, rate_scale: float = 1.0) -> DemoSandbox | None:
        """A sandbox with a person at it for the demo; None for a source without one."""
        ...

    def mapping_file(self) -> Path | None:
        """The source mapping (source fields → canonical records) the reader loads, which
        the log records as a version; None where the shape is fixed in code."""
        ...

    def personal_fields(self) -> Mapping[str, tuple[str, ...]]:
        """Customer fields that can hold personal data → the source's own field names they
        are read from (the data map, ``core/data_map.py``)."""
        ...


class WithoutSandbox:
    """What a source with no API of its own says (a CSV folder, a webhook sender): no
    sandbox, no demo, no object names of its own, its shape fixed in code."""

    sandbox_url: str | None = None
    ref_aliases: Mapping[str, tuple[str, str]] = MappingProxyType({})

    def sandbox_app(self, book: Path | None, *, rate_scale: float = 1.0) -> Starlette | None:
        return None

    def demo_sandbox(self, *, rate_scale: float = 1.0) -> DemoSandbox | None:
        return None

    def mapping_file(self) -> Path | None:
        return None  # the shape is fixed in code (docs/sources/)

    def personal_fields(self) -> Mapping[str, tuple[str, ...]]:
        """The canonical shape (docs/csv.md): each field under its own name."""
        return MappingProxyType({name: (name,) for name in PERSONAL_FIELDS})


def personal_from_table(table: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """A source mapping's customer table (canonical field → its field name or names) as
    personal fields; empty names (a field the source does not have) left out."""
    out: dict[str, tuple[str, ...]] = {}
    for name in PERSONAL_FIELDS:
        spec = table.get(name)
        names = [spec] if isinstance(spec, str) else list(spec) if isinstance(spec, list) else []
        kept = tuple(str(n) for n in names if n)
        if kept:
            out[name] = tuple(dict.fromkeys(out.get(name, ()) + kept))
    return out


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
    found: SourcePlatform = registered(_MODULES, source_id, "source", "SYNCLEDGER_SOURCE").SOURCE
    return found


def source_credentials(source_id: str, names: tuple[str, ...]) -> dict[str, str]:
    """``SYNCLEDGER_<SOURCE>_<NAME>`` variables (e.g. SYNCLEDGER_HUBSPOT_CLIENT_SECRET)."""
    prefix = "SYNCLEDGER_" + source_id.upper().replace("-", "_") + "_"
    return {n: os.environ[prefix + n.upper()] for n in names if os.environ.get(prefix + n.upper())}
