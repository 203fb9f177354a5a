"""The sandbox's Jobber account: clients with their properties, invoices with line items
and payment records, and payments, held in memory. Timestamps are whole seconds, as
Jobber's ``ISO8601DateTime`` examples show ("2026-05-19T14:30:00Z", GitHub file id
67521459086), so several edits share one ``updatedAt``. Ids are opaque base64 strings,
as Jobber's ``EncodedId`` ("Z2lkOi8vSm9iYmVyL0NsaWVudC8xMjM0NQ==", same source)."""

from __future__ import annotations

import base64
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any


def encoded_id(kind: str, number: int) -> str:
    return base64.b64encode(f"gid://Jobber/{kind}/{number}".encode()).decode()


def _stamp(at: float) -> str:
    return datetime.fromtimestamp(int(at), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Record:
    kind: str
    id: str
    fields: dict[str, Any]
    updated_at: str
    seq: int
    deleted: bool = False


@dataclass
class Store:
    currency: str = "USD"
    clock: Callable[[], float] = time.time
    records: dict[str, Record] = field(default_factory=dict)
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    #: ids are numbered per kind, as Jobber's global ids name their type
    #: (``gid://Jobber/Invoice/<n>``), and only creations take a number
    _ids: dict[str, itertools.count[int]] = field(default_factory=dict)
    #: property changes Jobber would announce by webhook (topic, property id), oldest
    #: first; ``JobberSandbox.property_webhooks`` sends them
    announced: list[tuple[str, str]] = field(default_factory=list)

    def _put(self, kind: str, rid: str | None, fields: dict[str, Any]) -> Record:
        number = next(self._seq)
        if rid is None:
            rid = encoded_id(kind, next(self._ids.setdefault(kind, itertools.count(1))))
        old = self.records.get(rid)
        merged = {**(old.fields if old else {}), **fields}
        self.records[rid] = Record(kind, rid, merged, _stamp(self.clock()), number)
        return self.records[rid]

    def touch(self, rid: str) -> None:
        record = self.records[rid]
        self._put(record.kind, rid, {})

    def of_kind(self, kind: str) -> list[Record]:
        found = [r for r in self.records.values() if r.kind == kind and not r.deleted]
        return sorted(found, key=lambda r: r.seq)

    def get(self, kind: str, rid: str) -> Record | None:
        record = self.records.get(rid)
        return record if record and record.kind == kind and not record.deleted else None

    # ------------------------------------------------------------ a person in Jobber

    def put_client(self, rid: str | None = None, **fields: Any) -> str:
        base = {"properties": [], "emails": [], "phones": [], "isArchived": False}
        return self._put("Client", rid, fields if rid else {**base, **fields}).id

    def archive_client(self, rid: str) -> None:
        self._put("Client", rid, {"isArchived": True})

    def destroy(self, rid: str) -> None:
        self.records[rid].deleted = True

    def add_property(self, client_id: str, name: str | None, address: dict[str, Any]) -> str:
        """A service location; ``address`` may hold ``coordinates: {latitude, longitude}``
        (``PropertyAddress.coordinates``)."""
        pid = encoded_id("Property", next(self._seq))
        props = [*self.records[client_id].fields["properties"], (pid, name, address)]
        self._put("Client", client_id, {"properties": props})
        self.announced.append(("PROPERTY_CREATE", pid))
        return pid

    def property_owner(self, pid: str) -> str | None:
        """The id of the client holding property ``pid`` (None: no such property)."""
        for rec in self.of_kind("Client"):
            if any(p[0] == pid for p in rec.fields["properties"]):
                return rec.id
        return None

    def edit_property(self, pid: str, name: str | None, address: dict[str, Any]) -> None:
        """The person edits a property (its pin moved on the map, say). The client's
        ``updatedAt`` is left as it was: whether Jobber moves it for a property edit is not
        documented, and this is the stricter case (only ``PROPERTY_UPDATE`` tells)."""
        owner = self.property_owner(pid)
        if owner is None:
            raise KeyError(pid)
        fields = self.records[owner].fields
        fields["properties"] = [
            (p[0], name, address) if p[0] == pid else p for p in fields["properties"]
        ]
        self.announced.append(("PROPERTY_UPDATE", pid))

    def remove_property(self, pid: str) -> None:
        owner = self.property_owner(pid)
        if owner is None:
            raise KeyError(pid)
        fields = self.records[owner].fields
        fields["properties"] = [p for p in fields["properties"] if p[0] != pid]
        self.announced.append(("PROPERTY_DESTROY", pid))

    def put_invoice(
        self,
        client_id: str,
        number: str,
        lines: list[dict[str, Any]],
        *,
        tax: Decimal = Decimal(0),
        discount: Decimal = Decimal(0),
        draft: bool = False,
    ) -> str:
        """An invoice as the person saves it: ``lines`` of ``name, description, quantity,
        unitPrice`` and ``taxable`` (default False); the invoice's tax amount and discount
        amount as Jobber shows them; sent unless ``draft``."""
        fields = {
            "client": client_id,
            "invoiceNumber": number,
            "issuedDate": "2026-01-05T00:00:00Z",
            "dueDate": "2026-02-04T00:00:00Z",
            "lines": [{"taxable": False, **x} for x in lines],
            "tax": tax,
            "discount": discount,
            "draft": draft,
            "paymentRecords": [],
        }
        return self._put("Invoice", None, fields).id

    def mark_sent(self, rid: str) -> None:
        """The person sends the draft (Jobber's "Mark as sent")."""
        self._put("Invoice", rid, {"draft": False})

    def subtotal(self, rid: str) -> Decimal:
        lines = self.records[rid].fields["lines"]
        return sum(
            (Decimal(str(x["quantity"])) * Decimal(str(x["unitPrice"])) for x in lines),
            Decimal("0"),
        )

    def invoice_total(self, rid: str) -> Decimal:
        """Lines - discount + tax: Jobber's ``total`` ("including line item costs and tax
        amounts") after its ``discountAmount``."""
        fields = self.records[rid].fields
        discount, tax = Decimal(fields["discount"]), Decimal(fields["tax"])
        return self.subtotal(rid) - discount + tax

    def paid_amount(self, rid: str) -> Decimal:
        records = self.records[rid].fields["paymentRecords"]
        return sum((Decimal(r["amount"]) for r in records), Decimal("0"))

    def record_payment(self, invoice_id: str, amount: Decimal, day: str | None, note: str) -> str:
        invoice = self.records[invoice_id]
        pid = encoded_id("PaymentRecord", next(self._seq))
        row = {
            "id": pid,
            "amount": str(amount),
            "date": day or date.today().isoformat(),
            "note": note,
        }
        self._put(
            "Invoice", invoice_id, {"paymentRecords": [*invoice.fields["paymentRecords"], row]}
        )
        payment = {
            "amount": str(amount),
            "date": row["date"],
            "invoice": invoice_id,
            "client": invoice.fields["client"],
        }
        self._put("Payment", pid, payment)
        return pid
