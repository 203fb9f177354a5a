"""Composition root for sources: the configured source's reader, through the registry.

``SYNCLEDGER_SOURCE`` names it (default ``csv``); ``SYNCLEDGER_SOURCE_URL`` its API (unset:
the source's in-process sandbox, where it has one); ``SYNCLEDGER_SOURCE_DIR`` a folder
(file sources); credentials are ``SYNCLEDGER_<SOURCE>_<NAME>`` variables.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx

from syncledger.adapters.sources.registry import (
    SourceConnection,
    source,
    source_credentials,
    source_ids,
)
from syncledger.core.model import RecordRef
from syncledger.core.settings import Settings
from syncledger.core.source_ports import SourceReader


@dataclass(frozen=True, slots=True)
class SourceHandle:
    reader: SourceReader
    where: str  # for messages: "HubSpot sandbox", "CSV folder /data/in", …


def open_source(
    settings: Settings, directory: Path | None = None, *, encoding: str | None = None
) -> SourceHandle:
    """The configured source's reader (``directory`` overrides ``SYNCLEDGER_SOURCE_DIR``;
    ``encoding``: a file source's text encoding, e.g. ``cp1252``, instead of its default)."""
    plat = source(settings.source)
    folder = directory if directory is not None else settings.source_dir
    token_file = settings.data_dir / "tokens" / f"source-{plat.id}.json"
    creds = source_credentials(plat.id, plat.credential_names)
    if settings.source_url is not None or plat.sandbox_url is None:
        conn = SourceConnection(token_file, settings.source_url, folder, creds, encoding=encoding)
        where = plat.title if folder is None else f"{plat.title} {folder}"
        return SourceHandle(plat.connect(conn), where)
    app = plat.sandbox_app(None, rate_scale=settings.rate_scale)
    transport = httpx.ASGITransport(app=app) if app is not None else None
    conn = SourceConnection(
        token_file, plat.sandbox_url, folder, {}, transport, rate_scale=settings.rate_scale
    )
    return SourceHandle(plat.connect(conn), f"{plat.title} sandbox")


def canonical_ref(ref: RecordRef) -> RecordRef:
    """``ref`` in our kinds when it names a record as its source does
    (``hubspot/deal/123`` → ``hubspot/invoice/123``); else ``ref`` itself."""
    if ref.system not in source_ids():
        return ref
    alias = source(ref.system).ref_aliases.get(ref.kind)
    if alias is None:
        return ref
    kind, prefix = alias
    return RecordRef(system=ref.system, kind=kind, id=prefix + ref.id)
