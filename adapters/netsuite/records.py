"""NetSuite REST records → ``LedgerRecord``, and the version token we hand out.

A payment's ``name`` is its Check # (``checkNum``), else its transaction number.

Applications (``LedgerRecord.applied_to``) come from the record's own ``apply`` sublist, read
with ``expandSubResources=true``: on a customer payment and a credit memo the invoices it
is applied to, on a customer refund the credit memo or payment it draws on. Each line names
its transaction in ``doc`` and says ``apply`` (true when applied) and ``amount`` (Oracle help,
"Customer Payment" in REST web services, whose sample creates exactly such a line; the
SOAP schema's ``CustomerPaymentApply`` has the same fields). NetSuite lists the customer's
other open transactions on that sublist too, with ``apply`` false: those are left out.

The version is ``lastModifiedDate`` (second resolution in REST) refined by a digest of
the record's content: two writes within one second leave ``lastModifiedDate`` unchanged,
and NetSuite's REST record service has no ETag / If-Match to lean on. Fields NetSuite
derives from *other* records (a customer's balances and aging) are left out of the digest,
so an invoice for a customer does not make that customer's version stale.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from syncledger.adapters.jsonwire import encode_json
from syncledger.adapters.netsuite.mapping import is_void_ref, ref_in, void_in
from syncledger.adapters.wire_dates import iso_day
from syncledger.core.money import to_decimal
from syncledger.core.ports import LedgerRecord

#: customer fields computed from transactions, not part of the customer's own state
DERIVED_FIELDS = frozenset(
    {
        "links",
        "lastModifiedDate",
        "balance",
        "overdueBalance",
        "depositBalance",
        "unbilledOrders",
        "daysOverdue",
        "aging",
        "aging1",
        "aging2",
        "aging3",
        "aging4",
        "consolBalance",
        "consolOverdueBalance",
        "consolDepositBalance",
        "consolUnbilledOrders",
        "consolDaysOverdue",
        "consolAging",
        "consolAging1",
        "consolAging2",
        "consolAging3",
        "consolAging4",
    }
)
VOIDED_STATUS = "V"  # invoice status "Voided" (set by a void in the UI, not reachable in REST)


def version_of(raw: Mapping[str, Any]) -> str:
    content = encode_json(_canonical(raw)).decode()
    digest = hashlib.sha256(content.encode()).hexdigest()[:16]
    return f"{raw.get('lastModifiedDate', '')}~{digest}"


def _canonical(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _canonical(value[k]) for k in sorted(value) if k not in DERIVED_FIELDS}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def to_record(
    kind: str,
    raw: Mapping[str, Any],
    ref_field: str,
    currency: str | None,
    line_items: tuple[str | None, ...] = (),
) -> LedgerRecord:
    """``line_items``: the item code of each line (invoices and credit memos)."""
    common: dict[str, Any] = {
        "kind": kind,
        "ledger_id": str(raw["id"]),
        "version": version_of(raw),
        "external_ref": ref_in(raw.get(ref_field)),
        "currency": currency,
        "updated_at": _time(raw.get("lastModifiedDate")),
        "line_items": line_items,
        "raw": dict(raw),
    }
    parts = {
        "customer": _customer_parts,
        "invoice": _invoice_parts,
        "payment": _payment_parts,
        "credit_note": _credit_parts,
        "refund": _refund_parts,
    }[kind](raw)
    return LedgerRecord(**common, **parts)


def line_item_ids(raw: Mapping[str, Any]) -> tuple[str | None, ...]:
    """The internal id of the item on each line of an invoice or credit memo, in order."""
    lines = raw.get("item", {}).get("items", [])
    return tuple(_ref_id(line.get("item")) for line in lines)


def _customer_parts(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": _str(raw.get("companyName") or raw.get("entityId")),
        "balance": _amount(raw.get("balance")),
        "status": "inactive" if raw.get("isInactive") else "active",
    }


def _invoice_parts(raw: Mapping[str, Any]) -> dict[str, Any]:
    total, remaining = _amount(raw.get("total")), _amount(raw.get("amountRemaining"))
    return _document(raw) | {
        "total": total,
        "balance": remaining,
        "status": _invoice_status(raw, total, remaining),
        "due_date": iso_day(raw.get("dueDate")),  # mapping.toml due_date = "dueDate"
    }


def _payment_parts(raw: Mapping[str, Any]) -> dict[str, Any]:
    """``balance``: ``unapplied``, what is neither applied to invoices nor refunded."""
    applied = _amount(raw.get("applied")) or Decimal(0)
    return {
        "name": _str(raw.get("checkNum") or raw.get("tranId")),
        "customer_ledger_id": _ref_id(raw.get("customer")),
        "total": _amount(raw.get("payment")),
        "balance": _amount(raw.get("unapplied")),
        "status": "applied" if applied else "open",
        "applied_to": applied_to(raw),
    }


def _refund_parts(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": _str(raw.get("tranId")),
        "customer_ledger_id": _ref_id(raw.get("customer")),
        "total": _amount(raw.get("total")),
        "applied_to": applied_to(raw),
    }


def _credit_parts(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A credit memo booking an invoice's void (``void_ref``) is that invoice's void, not a
    credit of its own: it reads as ``void``, like the invoice it cancels."""
    applied = _amount(raw.get("applied")) or Decimal(0)
    voiding = is_void_ref(ref_in(raw.get("memo")))
    return _document(raw) | {
        "total": _amount(raw.get("total")),
        "balance": _amount(raw.get("unapplied")),
        "status": "void" if voiding else "applied" if applied else "open",
        "applied_to": applied_to(raw),
    }


def applied_to(raw: Mapping[str, Any]) -> tuple[tuple[str, Decimal], ...]:
    """``(doc id, amount)`` of each applied line of the ``apply`` sublist (see above)."""
    sublist = raw.get("apply")
    lines = sublist.get("items", []) if isinstance(sublist, Mapping) else []
    return tuple(
        (str(doc), to_decimal(line["amount"]))
        for line in lines
        if line.get("apply") is True
        and (doc := _ref_id(line.get("doc"))) is not None
        and line.get("amount") is not None
    )


def _document(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Number, customer and ``tax``: SuiteTax's ``taxTotal``, the sum of the document's
    tax lines (what NetSuite holds, computed or overridden)."""
    return {
        "name": _str(raw.get("tranId")),
        "customer_ledger_id": _ref_id(raw.get("entity")),
        "tax": _amount(raw.get("taxTotal")),
    }


def _invoice_status(
    raw: Mapping[str, Any], total: Decimal | None, remaining: Decimal | None
) -> str:
    status = raw.get("status")
    voided = isinstance(status, Mapping) and status.get("id") == VOIDED_STATUS
    if voided or void_in(raw.get("memo")):
        return "void"
    if remaining is None or total is None or remaining == total:
        return "open"
    return "paid" if remaining == 0 else "partially_paid"


def _ref_id(value: Any) -> str | None:
    return _str(value.get("id")) if isinstance(value, Mapping) else None


def _amount(value: Any) -> Decimal | None:
    return None if value is None else to_decimal(value)


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
