"""The ledger mirror: what the ledger held at the reconciler's last read, so a routine run
reads only what changed since (the adapter's delta read, ``LedgerAdapter.changes``).

Where it lives: a small SQLite file per entity and ledger in the data dir
(``<data dir>/reconcile/<entity>/<ledger>.sqlite``), not a table of the projections DB.
The mirror is a cache of the *ledger*, not a fold of the *log*: ``syncledger replay``
rebuilds the read models from the log and could not rebuild it, and it must not wipe it
either. A missing or unreadable file costs one full sweep (which rewrites it), nothing
else; and a PostgreSQL projections DB shared by several processes gains nothing from
holding a per-ledger cache.

It holds:

- ``records``: one row per ledger record (kind, ledger id) with the fields the
  reconciler compares (``LedgerRecord`` without ``raw``), indexed by our reference and by
  customer ledger id (duplicates and AR per customer are re-checked from here);
- ``compared``: a digest of each expected record as last compared (so a routine run
  re-compares only records whose expectation changed) with its ledger ref and customer;
- ``marks``: the delta cursor (when the last read started) and when the last full sweep
  ran.

Everything a run learns is written in one transaction *after* its mismatches are in the
log: a run that dies before reads the same delta again next time, and finds the same keys.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Index,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    insert,
    select,
)

from syncledger.core.ports import LedgerRecord
from syncledger.core.reconcile_model import Expected

_md = MetaData()
RECORDS = Table(
    "records", _md,
    Column("kind", String, primary_key=True), Column("ledger_id", String, primary_key=True),
    Column("external_ref", String), Column("customer_ledger_id", String),
    Column("body", Text, nullable=False),
    Index("ix_records_external_ref", "external_ref"),
    Index("ix_records_customer", "customer_ledger_id"),
)  # fmt: skip
COMPARED = Table(
    "compared", _md,
    Column("source_ref", String, primary_key=True), Column("digest", String, nullable=False),
    Column("ledger_ref", String), Column("customer_ledger_ref", String),
)  # fmt: skip
MARKS = Table(
    "marks", _md, Column("name", String, primary_key=True), Column("value", String)
)  # fmt: skip
_CHUNK = 500  # ids per IN (...) query, under SQLite's bound-parameter limit


def mirror_path(data_dir: Path, entity: str, ledger: str) -> Path:
    return data_dir / "reconcile" / entity / f"{ledger}.sqlite"


def open_mirror_engine(path: Path) -> Engine:
    """The SQLite engine of the mirror file at ``path`` (made, with its tables, if new)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{path}")
    _md.create_all(engine)
    return engine


@dataclass(frozen=True, slots=True)
class Compared:
    """An expected record as last compared."""

    digest: str
    ledger_ref: str | None
    customer_ledger_ref: str | None


_FIELDS = tuple(f.name for f in fields(Expected))


def digest(exp: Expected) -> str:
    """Changes whenever anything the reconciler compares of ``exp`` changes (its fields
    as text, the absent ones as a marker no text takes)."""
    values = map(exp.__getattribute__, _FIELDS)
    text = "\x1f".join(["\x00" if v is None else str(v) for v in values])
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class LedgerMirror:
    """The mirror of one entity's ledger (module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # ------------------------------------------------------------------ reads

    def mark(self, name: str) -> datetime | None:
        with self._engine.connect() as conn:
            value = conn.execute(select(MARKS.c.value).where(MARKS.c.name == name)).scalar()
        return None if value is None else datetime.fromisoformat(value)

    def get(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], LedgerRecord]:
        """The mirrored records of these (kind, ledger id) keys that it holds."""
        found: dict[tuple[str, str], LedgerRecord] = {}
        by_kind: dict[str, list[str]] = {}
        for kind, ledger_id in keys:
            by_kind.setdefault(kind, []).append(ledger_id)
        for kind, ids in by_kind.items():
            for rec in self._where(RECORDS.c.ledger_id, ids, RECORDS.c.kind == kind):
                found[(rec.kind, rec.ledger_id)] = rec
        return found

    def with_ids(self, ids: Iterable[str]) -> list[LedgerRecord]:
        return list(self._where(RECORDS.c.ledger_id, sorted(set(ids))))

    def with_refs(self, refs: Iterable[str]) -> list[LedgerRecord]:
        return list(self._where(RECORDS.c.external_ref, sorted(set(refs))))

    def invoices_of(self, customers: Iterable[str]) -> list[LedgerRecord]:
        ids = sorted(set(customers))
        return list(self._where(RECORDS.c.customer_ledger_id, ids, RECORDS.c.kind == "invoice"))

    def digests(self) -> dict[str, str]:
        """Source ref -> digest of every expected record as last compared."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(COMPARED.c.source_ref, COMPARED.c.digest))
            return {ref: d for ref, d in rows}

    def compared(self, refs: Iterable[str]) -> dict[str, Compared]:
        """What was last compared of these refs (those it holds)."""
        found: dict[str, Compared] = {}
        wanted = sorted(set(refs))
        with self._engine.connect() as conn:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                query = select(COMPARED).where(COMPARED.c.source_ref.in_(chunk))
                for r in conn.execute(query):
                    found[r.source_ref] = Compared(r.digest, r.ledger_ref, r.customer_ledger_ref)
        return found

    def _where(self, column: Any, values: Sequence[str], *more: Any) -> Iterator[LedgerRecord]:
        with self._engine.connect() as conn:
            for start in range(0, len(values), _CHUNK):
                chunk = values[start : start + _CHUNK]
                query = select(RECORDS.c.body).where(column.in_(chunk), *more)
                for (body,) in conn.execute(query):
                    yield from_body(body)

    # ----------------------------------------------------------------- writes

    def save_full(
        self, held: Sequence[LedgerRecord], compared: dict[str, Compared], marks: dict[str, str]
    ) -> None:
        """Replace everything with a full sweep's read."""
        with self._engine.begin() as conn:
            conn.execute(delete(RECORDS))
            conn.execute(delete(COMPARED))
            _put_records(conn, held)
            _put_compared(conn, compared)
            _put_marks(conn, marks)

    def save_delta(
        self,
        changed: Sequence[LedgerRecord],
        compared: dict[str, Compared | None],
        marks: dict[str, str],
    ) -> None:
        """Upsert the changed records and expectations (None: no longer expected)."""
        with self._engine.begin() as conn:
            for kind, ids in _ids_by_kind(changed).items():
                for start in range(0, len(ids), _CHUNK):
                    chunk = ids[start : start + _CHUNK]
                    conn.execute(
                        delete(RECORDS).where(
                            RECORDS.c.kind == kind, RECORDS.c.ledger_id.in_(chunk)
                        )
                    )
            _put_records(conn, changed)
            refs = sorted(compared)
            for start in range(0, len(refs), _CHUNK):
                conn.execute(
                    delete(COMPARED).where(COMPARED.c.source_ref.in_(refs[start : start + _CHUNK]))
                )
            _put_compared(conn, {r: c for r, c in compared.items() if c is not None})
            _put_marks(conn, marks)


def _ids_by_kind(records: Iterable[LedgerRecord]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for rec in records:
        out.setdefault(rec.kind, []).append(rec.ledger_id)
    return out


def _put_records(conn: Connection, held: Sequence[LedgerRecord]) -> None:
    latest = {(r.kind, r.ledger_id): r for r in held}  # a delta may list a record twice
    rows = [
        {
            "kind": r.kind,
            "ledger_id": r.ledger_id,
            "external_ref": r.external_ref,
            "customer_ledger_id": r.customer_ledger_id,
            "body": to_body(r),
        }
        for r in latest.values()
    ]
    if rows:
        conn.execute(insert(RECORDS), rows)


def _put_compared(conn: Connection, compared: dict[str, Compared]) -> None:
    rows = [
        {
            "source_ref": ref,
            "digest": c.digest,
            "ledger_ref": c.ledger_ref,
            "customer_ledger_ref": c.customer_ledger_ref,
        }
        for ref, c in compared.items()
    ]
    if rows:
        conn.execute(insert(COMPARED), rows)


def _put_marks(conn: Connection, marks: dict[str, str]) -> None:
    if marks:
        conn.execute(delete(MARKS).where(MARKS.c.name.in_(sorted(marks))))
        conn.execute(insert(MARKS), [{"name": k, "value": v} for k, v in marks.items()])


# ------------------------------------------------------------------ (de)serialise


def _text(value: Decimal | date | datetime | None) -> str | None:
    return None if value is None else (value.isoformat() if isinstance(value, date) else str(value))


def to_body(rec: LedgerRecord) -> str:
    """A record as JSON text (money as strings, never floats; ``raw`` left out)."""
    return json.dumps(
        {
            "kind": rec.kind,
            "ledger_id": rec.ledger_id,
            "version": rec.version,
            "external_ref": rec.external_ref,
            "name": rec.name,
            "customer_ledger_id": rec.customer_ledger_id,
            "currency": rec.currency,
            "total": _text(rec.total),
            "tax": _text(rec.tax),
            "balance": _text(rec.balance),
            "status": rec.status,
            "updated_at": _text(rec.updated_at),
            "line_items": list(rec.line_items),
            "applied_to": [[target, str(amount)] for target, amount in rec.applied_to],
            "due_date": _text(rec.due_date),
        },
        separators=(",", ":"),
    )


def _dec(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def from_body(body: str) -> LedgerRecord:
    d = json.loads(body)
    return LedgerRecord(
        d["kind"],
        d["ledger_id"],
        d["version"],
        d["external_ref"],
        name=d["name"],
        customer_ledger_id=d["customer_ledger_id"],
        currency=d["currency"],
        total=_dec(d["total"]),
        tax=_dec(d["tax"]),
        balance=_dec(d["balance"]),
        status=d["status"],
        updated_at=None if d["updated_at"] is None else datetime.fromisoformat(d["updated_at"]),
        line_items=tuple(d["line_items"]),
        applied_to=tuple((t, Decimal(a)) for t, a in d["applied_to"]),
        due_date=None if d["due_date"] is None else date.fromisoformat(d["due_date"]),
    )
