"""Source items for tests, in the raw string form a source adapter delivers."""

from __future__ import annotations

from adapters.ports import SourceItem


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
