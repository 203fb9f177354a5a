"""Typed reads of the read models for the sync worker, the reconciler and the CLI.

:class:`ReadModels` binds an engine; every method opens a short read transaction and
returns frozen dataclasses (money as :class:`~decimal.Decimal`). The module functions take
a ``Connection`` instead, for a caller that wants several reads in one snapshot.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Column, ColumnElement, Connection, Engine, Row, func, literal, select
from sqlalchemy.exc import SQLAlchemyError

from syncledger.core.errors import ProjectionError
from syncledger.projections.digest import codepoint_order
from syncledger.projections.fold import ANY_LEDGER, OPEN
from syncledger.projections.schema import LIVE, PROJECTION_NAME

T = TypeVar("T")


def _order(conn: Connection, *columns: Column[Any]) -> list[ColumnElement[Any]]:
    return [codepoint_order(c, conn.dialect.name) for c in columns]


def _dec(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass(frozen=True, slots=True)
class RecordView:
    entity: str
    source_ref: str
    kind: str
    version: str | None
    content_sha256: str | None
    customer_ref: str | None
    currency: str | None
    total: Decimal | None
    doc_status: str | None  # the source's own status of the document, e.g. "void"
    status: str  # observed | rejected | pushing | synced | failed | abandoned | deleted
    last_seq: int
    updated_at: datetime

    @classmethod
    def of(cls, r: Row[Any]) -> RecordView:
        return cls(
            r.entity, r.source_ref, r.kind, r.version, r.content_sha256, r.customer_ref,
            r.currency, _dec(r.total), r.doc_status, r.status, r.last_seq, _time(r.updated_at),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class LinkView:
    entity: str
    source_ref: str
    ledger: str
    kind: str
    ledger_ref: str
    ledger_version: str | None
    pushed_sha256: str
    mapping_version: str | None
    how: str  # created | recovered | matched:<rule>
    last_seq: int

    @classmethod
    def of(cls, r: Row[Any]) -> LinkView:
        return cls(
            r.entity, r.source_ref, r.ledger, r.kind, r.ledger_ref, r.ledger_version,
            r.pushed_sha256, r.mapping_version, r.how, r.last_seq,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class BalanceView:
    """Source view of one customer's receivable in one currency."""

    entity: str
    customer_ref: str
    currency: str
    invoiced: Decimal
    credited: Decimal
    paid: Decimal
    balance: Decimal  # invoiced - credited - paid

    @classmethod
    def of(cls, r: Row[Any]) -> BalanceView:
        return cls(
            r.entity, r.customer_ref, r.currency, Decimal(r.invoiced), Decimal(r.credited),
            Decimal(r.paid), Decimal(r.balance),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ErrorView:
    entity: str
    source_ref: str
    ledger: str | None  # None: not about one ledger (a validation rejection)
    kind: str
    error: str  # rejected | abandoned | refused (at import, before the log)
    code: str | None
    message: str
    reasons: tuple[dict[str, Any], ...]
    content_sha256: str | None
    attempts: int | None
    last_seq: int
    occurred_at: datetime

    @classmethod
    def of(cls, r: Row[Any]) -> ErrorView:
        reasons = tuple(json.loads(r.reasons)) if r.reasons else ()
        return cls(
            r.entity, r.source_ref, r.ledger or None, r.kind, r.error, r.code, r.message,
            reasons, r.content_sha256, r.attempts, r.last_seq, _time(r.occurred_at),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class MismatchView:
    entity: str
    ledger: str
    key: str
    mismatch_type: str
    source_ref: str | None
    ledger_ref: str | None
    expected: str | None
    actual: str | None
    state: str  # open | resolved
    run_id: str
    resolved_run_id: str | None
    detected_seq: int
    last_seq: int
    #: when the row last changed: for an open mismatch, the ``MismatchDetected`` that
    #: reported it (only re-reported while open when two reconcilers raced); for a
    #: resolved one, the ``MismatchResolved``
    updated_at: datetime | None = None

    @classmethod
    def of(cls, r: Row[Any]) -> MismatchView:
        return cls(
            r.entity, r.ledger, r.key, r.mismatch_type, r.source_ref, r.ledger_ref,
            r.expected, r.actual, r.state, r.run_id, r.resolved_run_id, r.detected_seq,
            r.last_seq, _time(r.updated_at),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class LedgerRecordView:
    """The latest state a ledger reported for one of its records."""

    entity: str
    ledger: str
    ledger_ref: str
    kind: str
    ledger_version: str | None
    status: str | None
    total: Decimal | None
    balance: Decimal | None
    currency: str | None
    last_seq: int

    @classmethod
    def of(cls, r: Row[Any]) -> LedgerRecordView:
        return cls(
            r.entity, r.ledger, r.ledger_ref, r.kind, r.ledger_version, r.status,
            _dec(r.total), _dec(r.balance), r.currency, r.last_seq,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class UnfoldableView:
    """An event the fold could not apply (it went on without it)."""

    entity: str
    seq: int
    event_type: str
    subject: str
    source_ref: str | None  # None: the event names no source record
    reason: str
    recorded_at: str | None
    superseded_seq: int | None  # a later event folded a newer version of the record

    @classmethod
    def of(cls, r: Row[Any]) -> UnfoldableView:
        return cls(
            r.entity, r.seq, r.event_type, r.subject, r.source_ref or None, r.reason,
            r.recorded_at, r.superseded_seq,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class StatusCount:
    ledger: str | None  # None: records not yet sent towards any ledger
    kind: str
    status: str
    count: int


# --------------------------------------------------------------------------- functions


def link(conn: Connection, entity: str, source_ref: str, ledger: str) -> LinkView | None:
    t = LIVE.links
    stmt = select(t).where(t.c.entity == entity, t.c.source_ref == source_ref,
                           t.c.ledger == ledger)  # fmt: skip
    row = conn.execute(stmt).first()
    return None if row is None else LinkView.of(row)


def links_for(conn: Connection, entity: str, ledger: str, kind: str) -> list[LinkView]:
    t = LIVE.links
    stmt = (
        select(t)
        .where(t.c.entity == entity, t.c.ledger == ledger, t.c.kind == kind)
        .order_by(*_order(conn, t.c.source_ref))
    )
    return [LinkView.of(r) for r in conn.execute(stmt)]


def record(conn: Connection, entity: str, source_ref: str) -> RecordView | None:
    t = LIVE.records
    row = conn.execute(select(t).where(t.c.entity == entity, t.c.source_ref == source_ref)).first()
    return None if row is None else RecordView.of(row)


def records(conn: Connection, entity: str, kind: str) -> list[RecordView]:
    t = LIVE.records
    stmt = (
        select(t)
        .where(t.c.entity == entity, t.c.kind == kind)
        .order_by(*_order(conn, t.c.source_ref))
    )
    return [RecordView.of(r) for r in conn.execute(stmt)]


def balances(conn: Connection, entity: str) -> list[BalanceView]:
    t = LIVE.balances
    order = _order(conn, t.c.customer_ref, t.c.currency)
    stmt = select(t).where(t.c.entity == entity).order_by(*order)
    return [BalanceView.of(r) for r in conn.execute(stmt)]


def open_errors(conn: Connection, entity: str) -> list[ErrorView]:
    t = LIVE.errors
    order = _order(conn, t.c.source_ref, t.c.ledger)
    stmt = select(t).where(t.c.entity == entity).order_by(*order)
    return [ErrorView.of(r) for r in conn.execute(stmt)]


def unfoldable(conn: Connection, entity: str, *, superseded: bool = False) -> list[UnfoldableView]:
    """Events of ``entity`` (or of no readable entity) the fold could not apply, in log
    order; those a newer version of their record has superseded only if asked."""
    t = LIVE.unfoldable
    stmt = select(t).where(t.c.entity.in_((entity, "")))
    if not superseded:
        stmt = stmt.where(t.c.superseded_seq.is_(None))
    return [UnfoldableView.of(r) for r in conn.execute(stmt.order_by(t.c.seq))]


def open_mismatches(conn: Connection, entity: str, ledger: str | None = None) -> list[MismatchView]:
    """Open mismatches on ``ledger`` (every ledger when None), by ledger then key."""
    t = LIVE.mismatches
    stmt = select(t).where(t.c.entity == entity, t.c.state == OPEN)
    if ledger is not None:
        stmt = stmt.where(t.c.ledger == ledger)
    return [
        MismatchView.of(r) for r in conn.execute(stmt.order_by(*_order(conn, t.c.ledger, t.c.key)))
    ]


def ledger_record(
    conn: Connection, entity: str, ledger: str, ledger_ref: str
) -> LedgerRecordView | None:
    t = LIVE.ledger_records
    stmt = select(t).where(t.c.entity == entity, t.c.ledger == ledger,
                           t.c.ledger_ref == ledger_ref)  # fmt: skip
    row = conn.execute(stmt).first()
    return None if row is None else LedgerRecordView.of(row)


def checkpoint(conn: Connection, name: str = PROJECTION_NAME) -> int:
    """The last stream sequence applied to the read models (0 before any)."""
    t = LIVE.checkpoints
    value = conn.execute(select(t.c.last_seq).where(t.c.name == name)).scalar()
    return 0 if value is None else int(value)


def status_counts(conn: Connection, entity: str) -> list[StatusCount]:
    """Records per (ledger, kind, status); records never sent towards a ledger are
    counted under ledger ``None`` with their record status."""
    s, r = LIVE.sync_state, LIVE.records
    per_ledger = (
        select(s.c.ledger, s.c.kind, s.c.status, func.count().label("n"))
        .where(s.c.entity == entity)
        .group_by(s.c.ledger, s.c.kind, s.c.status)
    )
    has_ledger = select(s.c.source_ref).where(
        s.c.entity == r.c.entity, s.c.source_ref == r.c.source_ref
    )
    unsent = (
        select(literal(ANY_LEDGER).label("ledger"), r.c.kind, r.c.status, func.count().label("n"))
        .where(r.c.entity == entity, ~has_ledger.exists())
        .group_by(r.c.kind, r.c.status)
    )
    rows = list(conn.execute(per_ledger)) + list(conn.execute(unsent))
    counts = [StatusCount(x.ledger or None, x.kind, x.status, int(x.n)) for x in rows]
    return sorted(counts, key=lambda c: (c.ledger or "", c.kind, c.status))


# --------------------------------------------------------------------------- facade


class ReadModels:
    """The read functions over one engine, each in its own short transaction."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _read(self, fn: Callable[[Connection], T]) -> T:
        try:
            with self._engine.connect() as conn:
                return fn(conn)
        except SQLAlchemyError as exc:
            raise ProjectionError(f"reading the read models failed: {exc}") from exc

    def link(self, entity: str, source_ref: str, ledger: str) -> LinkView | None:
        return self._read(lambda c: link(c, entity, source_ref, ledger))

    def links_for(self, entity: str, ledger: str, kind: str) -> list[LinkView]:
        return self._read(lambda c: links_for(c, entity, ledger, kind))

    def record(self, entity: str, source_ref: str) -> RecordView | None:
        return self._read(lambda c: record(c, entity, source_ref))

    def records(self, entity: str, kind: str) -> list[RecordView]:
        return self._read(lambda c: records(c, entity, kind))

    def balances(self, entity: str) -> list[BalanceView]:
        return self._read(lambda c: balances(c, entity))

    def open_errors(self, entity: str) -> list[ErrorView]:
        return self._read(lambda c: open_errors(c, entity))

    def open_mismatches(self, entity: str, ledger: str | None = None) -> list[MismatchView]:
        return self._read(lambda c: open_mismatches(c, entity, ledger))

    def unfoldable(self, entity: str, *, superseded: bool = False) -> list[UnfoldableView]:
        return self._read(lambda c: unfoldable(c, entity, superseded=superseded))

    def ledger_record(self, entity: str, ledger: str, ledger_ref: str) -> LedgerRecordView | None:
        return self._read(lambda c: ledger_record(c, entity, ledger, ledger_ref))

    def checkpoint(self, name: str = PROJECTION_NAME) -> int:
        return self._read(lambda c: checkpoint(c, name))

    def status_counts(self, entity: str) -> list[StatusCount]:
        return self._read(lambda c: status_counts(c, entity))
