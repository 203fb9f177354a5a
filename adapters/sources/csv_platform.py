"""A folder of CSV files as a :class:`~syncledger.adapters.sources.registry.SourcePlatform`
(columns: docs/csv.md). It has no API and no sandbox: the folder is the source."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette

from syncledger.adapters.sources.csv_source import CsvSource
from syncledger.adapters.sources.registry import DemoSandbox, SourceConnection
from syncledger.core.errors import ConfigurationError
from syncledger.core.source_ports import SourceReader


class CsvPlatform:
    id = "csv"
    title = "CSV folder"
    credential_names: tuple[str, ...] = ()
    sandbox_url: str | None = None
    ref_aliases: dict[str, tuple[str, str]] = {}  # noqa: RUF012 - read only

    def connect(self, connection: SourceConnection) -> SourceReader:
        if connection.directory is None:
            raise ConfigurationError(
                "the CSV source needs a folder: set SYNCLEDGER_SOURCE_DIR (or pass the folder "
                "to `syncledger import`)"
            )
        return CsvSource(connection.directory)

    def sandbox_app(self, book: Path | None, *, rate_scale: float = 1.0) -> Starlette | None:
        return None

    def demo_sandbox(self, *, rate_scale: float = 1.0) -> DemoSandbox | None:
        return None

    def mapping_file(self) -> Path | None:
        return None  # the shape is fixed in code (docs/sources/)


SOURCE = CsvPlatform()
