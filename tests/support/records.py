"""Source items for tests, in the raw string form a source adapter delivers."""

from __future__ import annotations

from syncledger.core.ports import SourceItem


def customer(
    cid: str,
    name: str | None = None,
    *,
    version: str = "2026-01-01T00:00:00",
    currency: str = "USD",
    email: str | None = None,
) -> SourceItem:
    fields: dict[str, object] = {"name": name or f"Customer {cid}", "currency": currency}
    if email:
        fields["email"] = email
    return SourceItem("csv", "customer", cid, version, fields)


def invoice(
    iid: str,
    cid: str,
    *,
    qty: str = "2",
    price: str = "50.00",
    tax: str = "10.00",
    discount: str = "0",
    total: str | None = None,
    currency: str = "USD",
    version: str = "2026-01-02T00:00:00",
) -> SourceItem:
    from decimal import Decimal

    computed = Decimal(qty) * Decimal(price) + Decimal(tax) - Decimal(discount)
    fields: dict[str, object] = {
        "number": f"INV-{iid}",
        "customer_id": cid,
        "issue_date": "2026-01-02",
        "due_date": "2026-02-01",
        "currency": currency,
        "discount": discount,
        "total": total if total is not None else str(computed.quantize(Decimal("0.01"))),
        "lines": [
            {
                "description": "Service call",
                "quantity": qty,
                "unit_price": price,
                "tax_amount": tax,
                "line_type": "service",
            }
        ],
    }
    return SourceItem("csv", "invoice", iid, version, fields)


def payment(
    pid: str,
    iid: str,
    cid: str,
    amount: str,
    *,
    currency: str = "USD",
    version: str = "2026-01-03T00:00:00",
) -> SourceItem:
    fields: dict[str, object] = {
        "customer_id": cid,
        "invoice_id": iid,
        "amount": amount,
        "currency": currency,
        "paid_on": "2026-01-03",
    }
    return SourceItem("csv", "payment", pid, version, fields)


def credit_note(
    cid_: str,
    iid: str | None,
    cid: str,
    *,
    amount: str = "40.00",
    version: str = "2026-01-04T00:00:00",
) -> SourceItem:
    fields: dict[str, object] = {
        "number": f"CN-{cid_}",
        "customer_id": cid,
        "issue_date": "2026-01-04",
        "currency": "USD",
        "total": amount,
        "lines": [
            {
                "description": "Goodwill credit",
                "quantity": "1",
                "unit_price": amount,
                "tax_amount": "0",
                "line_type": "service",
            }
        ],
    }
    if iid is not None:
        fields["invoice_id"] = iid
    return SourceItem("csv", "credit_note", cid_, version, fields)


def deleted(item: SourceItem, version: str) -> SourceItem:
    return SourceItem(item.system, item.kind, item.id, version, {}, deleted=True)


def changed(item: SourceItem, version: str, **fields: object) -> SourceItem:
    return SourceItem(item.system, item.kind, item.id, version, {**item.fields, **fields})


def refund(
    rid: str,
    cid: str,
    amount: str,
    *,
    payment_id: str | None = None,
    credit_note_id: str | None = None,
    version: str = "2026-01-05T00:00:00",
) -> SourceItem:
    fields: dict[str, object] = {
        "customer_id": cid,
        "amount": amount,
        "currency": "USD",
        "refunded_on": "2026-01-05",
    }
    if payment_id is not None:
        fields["payment_id"] = payment_id
    if credit_note_id is not None:
        fields["credit_note_id"] = credit_note_id
    return SourceItem("csv", "refund", rid, version, fields)
