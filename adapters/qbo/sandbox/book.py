"""The QBO sandbox's books: entities, replayable answers by ``requestid`` and the invoice
e-mails ``send`` sent, in SQLite (a file when a path is given, memory otherwise)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from syncledger.adapters.jsonwire import decode_json
from syncledger.adapters.sandbox.replies import Replies
from syncledger.adapters.sandbox.sqlite_book import RecordTable, TabledBook, micros

ENTITIES = ("Customer", "Invoice", "Payment", "CreditMemo", "Purchase", "Item")
#: our canonical kinds whose QBO entity name is not the kind spelled another way (a
#: refund is the cheque, a ``Purchase``, paid to the customer against Accounts Receivable)
_ALIASES = {"credit_note": "CreditMemo", "refund": "Purchase"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS entities (
    kind TEXT NOT NULL,
    id INTEGER NOT NULL,
    body TEXT NOT NULL,
    created INTEGER NOT NULL,  -- microseconds since the epoch
    updated INTEGER NOT NULL,
    name_key TEXT,             -- casefolded DisplayName / item Name (unique ignoring case)
    PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS entities_updated ON entities (kind, updated);
CREATE INDEX IF NOT EXISTS entities_name ON entities (kind, name_key);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS emails (  -- invoices e-mailed by ``send``: where, when
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    invoice_id TEXT NOT NULL,
    to_address TEXT NOT NULL,
    sent_at TEXT NOT NULL
);
"""


def entity_name(kind: str) -> str:
    """``invoice`` / ``Invoice`` / ``INVOICE`` → ``Invoice``; ``credit_note`` /
    ``creditmemo`` → ``CreditMemo``; ``refund`` / ``purchase`` → ``Purchase``."""
    if kind in _ALIASES:
        return _ALIASES[kind]
    for name in ENTITIES:
        if name.lower() == kind.lower():
            return name
    raise KeyError(kind)


class SandboxBook(TabledBook):
    """One company's records (``count``, ``records`` and ``get`` by kind, ``TabledBook``)
    and the replies kept by ``requestid`` (``replies``, kept for good)."""

    RECORDS = RecordTable("entities")

    def __init__(
        self,
        path: Path | None,
        *,
        realm_id: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(path, SCHEMA)
        self.realm_id = realm_id
        self._clock = clock
        self.replies = Replies(self.db)

    def stored_kind(self, kind: str) -> str:
        return entity_name(kind)

    # ------------------------------------------------------------- inspection

    def named(self, kind: str, display_name: str) -> list[dict[str, Any]]:
        """Entities whose DisplayName (an item's Name) equals ``display_name`` ignoring
        case."""
        return self.bodies(
            "SELECT body FROM entities WHERE kind = ? AND name_key = ? ORDER BY id",
            (entity_name(kind), display_name.casefold()),
        )

    def changed_since(self, kind: str, since: datetime) -> list[dict[str, Any]]:
        return self.bodies(
            "SELECT body FROM entities WHERE kind = ? AND updated >= ? ORDER BY updated, id",
            (entity_name(kind), micros(since)),
        )

    # ----------------------------------------------------------------- writes

    def add(self, kind: str, body: dict[str, Any], ident: int | None = None) -> dict[str, Any]:
        """Store a new entity: assigns ``Id`` (``ident`` if given, for records a company
        starts with), ``SyncToken`` 0 and ``MetaData``."""
        now = self._clock()
        stamp = _stamp(now)
        record = {
            **body,
            "Id": str(self._next_id(kind) if ident is None else self._reserve(kind, ident)),
            "SyncToken": "0",
            "domain": "QBO",
            "sparse": False,
            "MetaData": {"CreateTime": stamp, "LastUpdatedTime": stamp},
        }
        moment = micros(now)
        ident, name_key = int(record["Id"]), _name_key(record)
        self.insert_row(kind, ident, record, created=moment, updated=moment, name_key=name_key)
        return record

    def put(self, kind: str, record: dict[str, Any]) -> dict[str, Any]:
        """Store a new version of an existing entity: bumps ``SyncToken`` and the time."""
        now = self._clock()
        record = {
            **record,
            "SyncToken": str(int(record["SyncToken"]) + 1),
            "MetaData": {**record["MetaData"], "LastUpdatedTime": _stamp(now)},
        }
        ident, name_key = int(record["Id"]), _name_key(record)
        self.update_row(kind, ident, record, updated=micros(now), name_key=name_key)
        return record

    # ----------------------------------------------------------------- e-mails

    def record_email(self, invoice_id: str, to: str, at: str) -> None:
        """One e-mail of invoice ``invoice_id`` sent to ``to`` at ``at`` (ISO 8601)."""
        self.db.execute(
            "INSERT INTO emails (invoice_id, to_address, sent_at) VALUES (?, ?, ?)",
            (invoice_id, to, at),
        )

    def emails(self, invoice_id: str) -> list[tuple[str, str]]:
        """The e-mails of invoice ``invoice_id`` sent so far: (to, at), oldest first."""
        rows = self.db.execute(
            "SELECT to_address, sent_at FROM emails WHERE invoice_id = ? ORDER BY seq",
            (invoice_id,),
        ).fetchall()
        return [(str(to), str(at)) for to, at in rows]

    # ------------------------------------------------------------ idempotency

    def forget_replies(self, kind: str) -> int:
        """Drop the replies kept for writes of ``kind``, as if QBO had not deduplicated
        them (a user saw duplicate Payments despite one RequestId,
        intuit/QuickBooks-V3-DotNET-SDK#352); tests play that case with it."""
        entity = entity_name(kind)
        return self.replies.forget(lambda body: entity in decode_json(body))

    def _reserve(self, kind: str, ident: int) -> int:
        """``ident``, kept from being given out again."""
        counter = _counter(kind)
        following = max(self._counted(counter), ident + 1)
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (counter, str(following)))
        return ident

    def _next_id(self, kind: str) -> int:
        counter = _counter(kind)
        ident = self._counted(counter)
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (counter, str(ident + 1)))
        return ident

    def _counted(self, counter: str) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (counter,)).fetchone()
        return int(row[0]) if row else 1


def _counter(kind: str) -> str:
    """The meta key of the next id of ``kind``: items count on their own (a QBO company
    has Item 1 as well as Customer 1), transactions and customers share one count."""
    entity = entity_name(kind)
    return "next_id:Item" if entity == "Item" else "next_id"


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def _name_key(record: dict[str, Any]) -> str | None:
    name = record.get("DisplayName", record.get("Name"))
    return name.casefold() if isinstance(name, str) else None
