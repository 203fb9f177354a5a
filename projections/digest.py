"""Table digests: sha256 over every row, in primary-key order, as canonical text.

The digest of a table is the same whichever order its rows were written in and whichever
database holds it: rows are ordered by primary key under byte-wise collation (``"C"`` on
PostgreSQL, ``BINARY`` on SQLite — both code-point order for UTF-8), and each row is one
line of compact JSON over its values, which are only text, integers or null (money is
decimal text, so no float formatting is involved).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import Column, ColumnElement, Connection, Table, select

from syncledger.core.errors import ProjectionError
from syncledger.projections.schema import NON_DIGEST_COLUMNS, TABLE_NAMES, Tables

_COLLATION = {"postgresql": "C", "sqlite": "BINARY"}
FETCH_ROWS = 5000


def codepoint_order(column: Column[Any], dialect: str) -> ColumnElement[Any]:
    """``column`` for ORDER BY in Unicode code-point order on every dialect."""
    collation = _COLLATION.get(dialect)
    if collation is None or column.type.python_type is not str:
        return column
    return column.collate(collation)


def _line(table: str, values: tuple[Any, ...]) -> bytes:
    for value in values:
        if value is not None and type(value) not in (str, int):
            raise ProjectionError(
                f"table {table} holds a {type(value).__name__} value; digests take only "
                "text, integers and null"
            )
    return json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def table_digest(conn: Connection, name: str, table: Table) -> str:
    """Hex sha256 of logical table ``name`` held in ``table``."""
    skip = NON_DIGEST_COLUMNS.get(name, frozenset())
    columns = [c for c in table.columns if c.name not in skip]
    dialect = conn.dialect.name
    order = [codepoint_order(c, dialect) for c in table.primary_key.columns]
    digest = hashlib.sha256()
    digest.update(json.dumps([name, [c.name for c in columns]]).encode() + b"\n")
    stmt = select(*columns).order_by(*order)
    for row in conn.execution_options(yield_per=FETCH_ROWS).execute(stmt):
        digest.update(_line(name, tuple(row)))
    return digest.hexdigest()


def digests(conn: Connection, tables: Tables) -> dict[str, str]:
    """Digest of every read-model table, by logical name."""
    by_name = tables.by_name()
    return {name: table_digest(conn, name, by_name[name]) for name in TABLE_NAMES}
