"""Records of the sandbox store as the GraphQL objects of ``schema.SDL``: plain dicts
graphql-core's default resolver reads, and the root resolvers (lists with the
``updatedAt`` filter and Relay paging, lookups by id answering NOT_FOUND as Jobber does:
``errors[].extensions.code`` NOT_FOUND, GitHub file id 67140017033)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from syncledger.adapters.jobber.sandbox.store import Record, Store

DEFAULT_FIRST = 20  # "Page size default ~20" (GitHub file id 67521459086)


def connection(nodes: list[Any], first: int | None = None, after: str | None = None) -> Any:
    start = int(base64.b64decode(after).decode()) if after else 0
    size = first or DEFAULT_FIRST
    page = nodes[start : start + size]
    end = start + len(page)
    return {
        "nodes": page,
        "totalCount": len(nodes),
        "pageInfo": {
            "endCursor": base64.b64encode(str(end).encode()).decode() if page else after,
            "hasNextPage": end < len(nodes),
        },
    }


def _money(value: Decimal) -> float:
    return float(value)


def client_view(store: Store, rec: Record) -> dict[str, Any]:
    f = rec.fields
    props = [{"id": pid, "name": name, "address": addr} for pid, name, addr in f["properties"]]
    return {
        "id": rec.id,
        "firstName": f.get("firstName"),
        "lastName": f.get("lastName"),
        "companyName": f.get("companyName"),
        "isCompany": bool(f.get("companyName")),
        "isArchived": f["isArchived"],
        "billingAddress": f.get("billingAddress"),
        "emails": f["emails"],
        "phones": f["phones"],
        "clientProperties": connection(props, first=100),
        "updatedAt": rec.updated_at,
    }


def property_view(store: Store, pid: str) -> dict[str, Any] | None:
    owner = store.property_owner(pid)
    if owner is None:
        return None
    client = store.records[owner]
    _, name, address = next(p for p in client.fields["properties"] if p[0] == pid)
    return {"id": pid, "name": name, "address": address, "client": client_view(store, client)}


def find_property(_obj: Any, info: GraphQLResolveInfo, id: str) -> Any:
    found = property_view(info.context, id)
    if found is None:
        raise GraphQLError(f"Property {id} not found", extensions={"code": "NOT_FOUND"})
    return found


def _status(f: dict[str, Any], total: Decimal, paid: Decimal) -> str:
    if f["draft"]:
        return "draft"
    return "paid" if paid >= total else "awaiting_payment"


def _line(x: dict[str, Any]) -> dict[str, Any]:
    quantity, price = Decimal(str(x["quantity"])), Decimal(str(x["unitPrice"]))
    return {**x, "totalPrice": _money(quantity * price)}


def _amounts(store: Store, rec: Record, paid: Decimal) -> dict[str, float]:
    f, total = rec.fields, store.invoice_total(rec.id)
    return {
        "subtotal": _money(store.subtotal(rec.id)),
        "discountAmount": _money(f["discount"]),
        "taxAmount": _money(f["tax"]),
        "total": _money(total),
        "depositAmount": 0.0,
        "paymentsTotal": _money(paid),
        "invoiceBalance": _money(total - paid),
    }


def invoice_view(store: Store, rec: Record) -> dict[str, Any]:
    f = rec.fields
    total, paid = store.invoice_total(rec.id), store.paid_amount(rec.id)
    client = store.records[f["client"]]
    lines = [_line(x) for x in f["lines"]]
    payments = [{**p, "amount": _money(Decimal(p["amount"]))} for p in f["paymentRecords"]]
    return {
        "id": rec.id,
        "invoiceNumber": f["invoiceNumber"],
        "invoiceStatus": _status(f, total, paid),
        "client": client_view(store, client),
        "issuedDate": f["issuedDate"],
        "dueDate": f["dueDate"],
        "amounts": _amounts(store, rec, paid),
        "lineItems": connection(lines, first=100),
        "paymentRecords": connection(payments, first=100),
        "updatedAt": rec.updated_at,
    }


def payment_view(store: Store, rec: Record) -> dict[str, Any]:
    f = rec.fields
    invoice = store.records[f["invoice"]]
    return {
        "id": rec.id,
        "amount": _money(Decimal(f["amount"])),
        "currency": store.currency,
        "date": f["date"],
        "invoiceNumber": invoice.fields["invoiceNumber"],
        "invoice": invoice_view(store, invoice),
        "client": client_view(store, store.records[f["client"]]),
        "updatedAt": rec.updated_at,
    }


VIEWS = {"Client": client_view, "Invoice": invoice_view, "Payment": payment_view}


def _when(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _after(rec: Record, flt: dict[str, Any] | None) -> bool:
    since = ((flt or {}).get("updatedAt") or {}).get("after")
    return since is None or _when(rec.updated_at) > _when(str(since))


def lister(kind: str) -> Any:
    def resolve(_obj: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        store: Store = info.context
        found = [r for r in store.of_kind(kind) if _after(r, args.get("filter"))]
        nodes = [VIEWS[kind](store, r) for r in found]
        return connection(nodes, args.get("first"), args.get("after"))

    return resolve


def finder(kind: str) -> Any:
    def resolve(_obj: Any, info: GraphQLResolveInfo, id: str) -> Any:
        store: Store = info.context
        rec = store.get(kind, id)
        if rec is None:
            raise GraphQLError(f"{kind} {id} not found", extensions={"code": "NOT_FOUND"})
        return VIEWS[kind](store, rec)

    return resolve


def _user_error(message: str, *path: str) -> dict[str, Any]:
    return {"paymentRecord": None, "userErrors": [{"message": message, "path": list(path)}]}


def create_payment_record(_obj: Any, info: GraphQLResolveInfo, input: Any) -> Any:
    store: Store = info.context
    if store.get("Invoice", input["invoiceId"]) is None:
        return _user_error("Invoice not found", "invoiceId")
    amount = Decimal(str(input["amount"])).quantize(Decimal("0.01"))
    if amount <= 0:
        return _user_error("Amount must be greater than 0", "amount")
    pid = store.record_payment(
        input["invoiceId"], amount, input.get("date"), input.get("note") or ""
    )
    row = next(
        p for p in store.records[input["invoiceId"]].fields["paymentRecords"] if p["id"] == pid
    )
    return {"paymentRecord": {**row, "amount": float(amount)}, "userErrors": []}
