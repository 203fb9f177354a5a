"""Google Contacts as a :class:`~syncledger.adapters.sources.registry.SourcePlatform`.

``connect`` reads a CSV export when the connection names one (``directory`` pointing at
the export, or a folder holding ``contacts.csv``, or the ``csv_file`` setting), else the
People API (``base_url``, the live API when None) with OAuth refresh. Settings
(``SYNCLEDGER_GOOGLE_CONTACTS_<NAME>``): ``client_id``, ``client_secret``,
``refresh_token`` (People API; empty: the sandbox's public test ones), ``currency`` (the
customers' currency: neither path carries one), ``csv_file``,
``csv_missing_is_deleted`` (``true``: a contact missing from the export is deleted),
``page_size`` (1-1000, default 100). Facts and their citations: ``people.py``,
``csv_export.py``, ``errors.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final

from pydantic import SecretStr
from starlette.applications import Starlette

from syncledger.adapters.google_contacts.csv_export import GoogleCsvExport, SeenIds
from syncledger.adapters.google_contacts.errors import translate
from syncledger.adapters.google_contacts.people import (
    DEFAULT_PAGE,
    LIVE_API,
    LIVE_TOKEN_URL,
    PERSONAL_FIELDS,
    PeopleReader,
)
from syncledger.adapters.google_contacts.sandbox import server as sandbox
from syncledger.adapters.http import LedgerHttp
from syncledger.adapters.oauth2 import FileTokenStore, OAuth2Client, OAuth2RefreshAuth
from syncledger.adapters.sources.registry import DemoSandbox, SourceConnection
from syncledger.core.errors import ConfigurationError
from syncledger.core.source_ports import SourceReader

SYSTEM: Final = "google-contacts"
EXPORT_NAME: Final = "contacts.csv"
_TRUE: Final = frozenset({"true", "yes", "1"})


def export_path(connection: SourceConnection) -> Path | None:
    """The export file the connection names, if any."""
    named = connection.credentials.get("csv_file")
    if named:
        path = Path(named)
        return (
            path
            if path.is_absolute() or connection.directory is None
            else (connection.directory / path)
        )
    if connection.directory is None:
        return None
    folder = connection.directory
    return folder if folder.suffix.lower() == ".csv" else folder / EXPORT_NAME


def _page_size(credentials: Mapping[str, str]) -> int:
    raw = credentials.get("page_size") or str(DEFAULT_PAGE)
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise ConfigurationError(
            f"SYNCLEDGER_GOOGLE_CONTACTS_PAGE_SIZE {raw!r}: set a whole number from 1 to 1000"
        )
    return int(raw)


def _auth(connection: SourceConnection, base: str) -> OAuth2RefreshAuth:
    creds = connection.credentials
    token_url = LIVE_TOKEN_URL if base == LIVE_API else base.rstrip("/") + "/token"
    client = OAuth2Client(
        token_url,
        creds.get("client_id") or sandbox.CLIENT_ID,
        SecretStr(creds.get("client_secret") or sandbox.CLIENT_SECRET),
        credentials_in="body",
    )
    refresh = SecretStr(creds.get("refresh_token") or sandbox.REFRESH_TOKEN)
    return OAuth2RefreshAuth(
        client, FileTokenStore(connection.token_file), initial_refresh_token=refresh
    )


class GoogleContactsPlatform:
    id = SYSTEM
    title = "Google Contacts"
    credential_names: tuple[str, ...] = (
        "client_id",
        "client_secret",
        "refresh_token",
        "currency",
        "csv_file",
        "csv_missing_is_deleted",
        "page_size",
    )
    sandbox_url: str | None = "http://people.sandbox.local"
    ref_aliases: dict[str, tuple[str, str]] = {}  # noqa: RUF012 - read only

    def connect(self, connection: SourceConnection) -> SourceReader:
        path = export_path(connection)
        if path is not None:
            return self._csv(connection, path)
        return self._people(connection)

    def _csv(self, connection: SourceConnection, path: Path) -> GoogleCsvExport:
        creds = connection.credentials
        deletes = creds.get("csv_missing_is_deleted", "").strip().lower() in _TRUE
        seen_file = connection.token_file.with_name(connection.token_file.stem + ".seen.json")
        return GoogleCsvExport(
            path,
            system=SYSTEM,
            currency=creds.get("currency"),
            seen=SeenIds(seen_file) if deletes else None,
        )

    def _people(self, connection: SourceConnection) -> PeopleReader:
        base = connection.base_url or LIVE_API
        http = LedgerHttp(
            platform=SYSTEM,
            base_url=base,
            auth=_auth(connection, base),
            translate=translate,
            transport=connection.transport,
        )
        return PeopleReader(
            http,
            system=SYSTEM,
            page_size=_page_size(connection.credentials),
            currency=connection.credentials.get("currency"),
        )

    def sandbox_app(self, book: Path | None, *, rate_scale: float = 1.0) -> Starlette | None:
        return sandbox.create_app(book, rate_scale=rate_scale)

    def demo_sandbox(self, *, rate_scale: float = 1.0) -> DemoSandbox | None:
        return None

    def mapping_file(self) -> Path | None:
        return None  # the shape is fixed in code (docs/sources/)

    def personal_fields(self) -> Mapping[str, tuple[str, ...]]:
        return PERSONAL_FIELDS


SOURCE = GoogleContactsPlatform()
