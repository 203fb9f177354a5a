"""The read-model tables (DESIGN §9), as SQLAlchemy Core metadata.

Every table is keyed by ``entity`` first, except ``checkpoints``. Money is stored as exact
decimal *text* and computed with :class:`decimal.Decimal`; timestamps are the ISO 8601
text of the event's ``recorded_at`` (never the wall clock), so a rebuild reproduces every
row bit for bit.

One set of tables can be built under a name ``prefix`` (blue/green rebuilds, scratch
tables for ``verify``). Constraint and index names carry a ``suffix`` unique to each build,
because PostgreSQL and SQLite keep those names unique per schema and a rename of the
table keeps them.

A rebuild creates its tables without their secondary indexes (``indexes=False``) and
adds them once the rows are in (:func:`create_indexes`, before the swap): building an
index over a finished table is one sort, where keeping it up to date costs every insert
(a sixth of a rebuild's SQL time, ``bench/replay.py``). The primary keys, which the fold's
upserts and loads use, are there from the start.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    inspect,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.schema import CreateTable

from syncledger.core.errors import ProjectionError

#: name of the checkpoint row of the read models built by :mod:`syncledger.projections.runner`
PROJECTION_NAME = "read_models"

TABLE_NAMES: tuple[str, ...] = (
    "records",
    "sync_state",
    "links",
    "balances",
    "errors",
    "mismatches",
    "ledger_records",
    "unfoldable",
    "checkpoints",
)

#: columns that identify a build rather than describe the log: left out of digests
NON_DIGEST_COLUMNS: dict[str, frozenset[str]] = {"checkpoints": frozenset({"generation"})}


def _text(name: str, *, nullable: bool = True) -> Column[str]:
    return Column(name, Text, nullable=nullable)


def _key(name: str) -> Column[str]:
    return Column(name, Text, nullable=False)


def _seq(name: str = "last_seq") -> Column[int]:
    return Column(name, BigInteger, nullable=False)


def _records(md: MetaData, p: str, s: str) -> Table:
    return Table(
        f"{p}records", md,
        _key("entity"), _key("source_ref"), _key("kind"),
        _text("version"), _text("content_sha256"), _text("customer_ref"),
        _text("currency"), _text("total"), _text("doc_status"),
        _key("status"), _seq(), _key("updated_at"),
        PrimaryKeyConstraint("entity", "source_ref", name=f"pk_records{s}"),
        Index(f"ix_records_kind{s}", "entity", "kind"),
    )  # fmt: skip


def _sync_state(md: MetaData, p: str, s: str) -> Table:
    return Table(
        f"{p}sync_state", md,
        _key("entity"), _key("source_ref"), _key("ledger"), _key("kind"), _key("status"),
        _text("content_sha256"), _text("idempotency_key"), _text("operation"),
        _text("mapping_version"), Column("attempts", Integer, nullable=False),
        _text("error_code"), _text("error_message"), _text("retry_at"),
        _seq(), _key("updated_at"),
        PrimaryKeyConstraint("entity", "source_ref", "ledger", name=f"pk_sync_state{s}"),
        Index(f"ix_sync_state_kind{s}", "entity", "ledger", "kind", "status"),
    )  # fmt: skip


def _links(md: MetaData, p: str, s: str) -> Table:
    return Table(
        f"{p}links", md,
        _key("entity"), _key("source_ref"), _key("ledger"), _key("kind"), _key("ledger_ref"),
        _text("ledger_version"), _key("pushed_sha256"), _text("mapping_version"), _key("how"),
        _seq(), _key("updated_at"),
        PrimaryKeyConstraint("entity", "source_ref", "ledger", name=f"pk_links{s}"),
        Index(f"ix_links_kind{s}", "entity", "ledger", "kind"),
        Index(f"ix_links_ledger_ref{s}", "entity", "ledger", "ledger_ref"),
    )  # fmt: skip


def _balances(md: MetaData, p: str, s: str) -> Table:
    return Table(
        f"{p}balances", md,
        _key("entity"), _key("customer_ref"), _key("currency"),
        _key("invoiced"), _key("credited"), _key("paid"), _key("balance"), _seq(),
        PrimaryKeyConstraint("entity", "customer_ref", "currency", name=f"pk_balances{s}"),
    )  # fmt: skip


def _errors(md: MetaData, p: str, s: str) -> Table:
    return Table(
        f"{p}errors", md,
        _key("entity"), _key("source_ref"), _key("ledger"), _key("kind"), _key("error"),
        _text("content_sha256"), _text("idempotency_key"), _text("code"), _key("message"),
        _text("reasons"), Column("attempts", Integer, nullable=True),
        _seq(), _key("occurred_at"),
        PrimaryKeyConstraint("entity", "source_ref", "ledger", name=f"pk_errors{s}"),
    )  # fmt: skip


def _mismatches(md: MetaData, p: str, s: str) -> Table:
    return Table(
        f"{p}mismatches", md,
        _key("entity"), _key("ledger"), _key("key"), _key("mismatch_type"),
        _text("source_ref"), _text("ledger_ref"), _text("expected"), _text("actual"),
        _key("state"), _key("run_id"), _text("resolved_run_id"),
        _seq("detected_seq"), _seq(), _key("updated_at"),
        PrimaryKeyConstraint("entity", "ledger", "key", name=f"pk_mismatches{s}"),
    )  # fmt: skip


def _ledger_records(md: MetaData, p: str, s: str) -> Table:
    return Table(
        f"{p}ledger_records", md,
        _key("entity"), _key("ledger"), _key("ledger_ref"), _key("kind"),
        _text("ledger_version"), _text("status"), _text("total"), _text("balance"),
        _text("currency"), _seq(), _key("updated_at"),
        PrimaryKeyConstraint("entity", "ledger", "ledger_ref", name=f"pk_ledger_records{s}"),
    )  # fmt: skip


def _unfoldable(md: MetaData, p: str, s: str) -> Table:
    """Events the fold could not apply, kept so they are seen instead of stopping it.

    ``source_ref`` is ``""`` when the event names no source record; ``superseded_seq``
    is the event that later folded a newer version of that record (the event is then
    history, not something to act on)."""
    return Table(
        f"{p}unfoldable", md,
        _key("entity"), Column("seq", BigInteger, nullable=False), _key("event_type"),
        _key("subject"), _key("source_ref"), _key("reason"), _text("recorded_at"),
        Column("superseded_seq", BigInteger, nullable=True),
        PrimaryKeyConstraint("entity", "seq", name=f"pk_unfoldable{s}"),
        Index(f"ix_unfoldable_ref{s}", "entity", "source_ref"),
    )  # fmt: skip


def _checkpoints(md: MetaData, p: str, s: str) -> Table:
    return Table(
        f"{p}checkpoints", md,
        _key("name"), _seq(), _key("generation"),
        PrimaryKeyConstraint("name", name=f"pk_checkpoints{s}"),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Tables:
    """One complete set of read-model tables (live, or a build under a prefix)."""

    metadata: MetaData
    prefix: str
    records: Table
    sync_state: Table
    links: Table
    balances: Table
    errors: Table
    mismatches: Table
    ledger_records: Table
    unfoldable: Table
    checkpoints: Table
    suffix: str = ""  # of its constraint and index names

    def by_name(self) -> dict[str, Table]:
        """Logical table name (without prefix) -> table."""
        return {name: getattr(self, name) for name in TABLE_NAMES}

    def __iter__(self) -> Iterator[Table]:
        return iter(self.by_name().values())


def tables_for(prefix: str = "", suffix: str = "") -> Tables:
    """Table definitions named ``<prefix><name>``, constraints ``…<suffix>``."""
    md = MetaData()
    builders = (_records, _sync_state, _links, _balances, _errors, _mismatches,
                _ledger_records, _unfoldable, _checkpoints)  # fmt: skip
    built = [build(md, prefix, suffix) for build in builders]
    records, sync_state, links, balances, errors, mismatches, ledger, unfoldable, cps = built
    return Tables(
        md, prefix, records, sync_state, links, balances, errors, mismatches, ledger,
        unfoldable, cps, suffix,
    )  # fmt: skip


#: the live tables
LIVE = tables_for()
metadata = LIVE.metadata


def create_tables(engine: Engine, tables: Tables, *, indexes: bool = True) -> None:
    """Create ``tables`` where missing (idempotent); without their secondary indexes when
    ``indexes`` is false (a rebuild adds them later: :func:`create_indexes`)."""
    try:
        if indexes:
            tables.metadata.create_all(engine, checkfirst=True)
            return
        with engine.begin() as conn:
            existing = set(inspect(conn).get_table_names())
            for table in tables:
                if table.name not in existing:
                    conn.execute(CreateTable(table))
    except SQLAlchemyError as exc:
        raise ProjectionError(
            f"cannot create the read-model tables in {engine.url!r}: {exc}"
        ) from exc


def create_indexes(engine: Engine, tables: Tables) -> None:
    """Add the secondary indexes of ``tables`` where missing (idempotent)."""
    try:
        with engine.begin() as conn:
            for table in tables:
                for index in table.indexes:
                    index.create(conn, checkfirst=True)
    except SQLAlchemyError as exc:
        raise ProjectionError(f"cannot index the tables {tables.prefix}*: {exc}") from exc


def drop_tables(engine: Engine, tables: Tables) -> None:
    try:
        tables.metadata.drop_all(engine, checkfirst=True)
    except SQLAlchemyError as exc:
        raise ProjectionError(f"cannot drop tables {tables.prefix}*: {exc}") from exc


def create_all(engine: Engine) -> None:
    """Create the live read-model tables where missing (idempotent)."""
    create_tables(engine, LIVE)
