"""A folder of CSV files as a :class:`~syncledger.adapters.sources.registry.SourcePlatform`
(columns: docs/csv.md). It has no API and no sandbox: the folder is the source."""

from __future__ import annotations

from syncledger.adapters.sources.csv_source import CsvSource
from syncledger.adapters.sources.registry import SourceConnection, WithoutSandbox
from syncledger.core.errors import ConfigurationError
from syncledger.core.source_ports import SourceReader


class CsvPlatform(WithoutSandbox):
    id = "csv"
    title = "CSV folder"
    credential_names: tuple[str, ...] = ()

    def connect(self, connection: SourceConnection) -> SourceReader:
        if connection.directory is None:
            raise ConfigurationError(
                "the CSV source needs a folder: set SYNCLEDGER_SOURCE_DIR (or pass the folder "
                "to `syncledger import`)"
            )
        if connection.encoding is None:
            return CsvSource(connection.directory)
        return CsvSource(connection.directory, encoding=connection.encoding)


SOURCE = CsvPlatform()
