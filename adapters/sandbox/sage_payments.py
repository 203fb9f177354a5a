"""What the Sage sandbox accepts for customer receipts and allocations, and which open
documents they settle.

Contact payments (``PostContactPaymentsContactPayment``): ``transaction_type_id``
(``CUSTOMER_RECEIPT``), ``contact_id``, ``bank_account_id``, ``date`` and ``total_amount``
required; each of ``allocated_artefacts [{artefact_id, amount}]`` must be an open sales
invoice of that contact, within its outstanding amount; what the artefacts do not take stays
on the contact's account (``payment_on_account``).

Contact allocations (``PostContactAllocationsContactAllocation``): ``transaction_type_id``
(``CUSTOMER_ALLOCATION``), ``contact_id`` and ``allocated_artefacts``: a credit note is
allocated to an invoice with the invoice's amount positive and the credit note's negative;
the amounts must net to zero.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from adapters.sandbox.sage_errors import invalid, not_found, required
from adapters.sandbox.sage_rules import (
    CREDIT_NOTE,
    INVOICE,
    DocumentKind,
    amount,
    cents,
    is_customer,
    iso_date,
)
from adapters.sandbox.sage_seed import link

Lookup = Callable[[str, str], dict[str, Any] | None]  # (resource, id) → record


@dataclass(frozen=True, slots=True)
class Settlement:
    """``amount`` (positive) comes off the outstanding amount of ``document``."""

    kind: DocumentKind
    document: dict[str, Any]
    amount: Decimal


def checked_payment(
    sent: Mapping[str, Any], lookup: Lookup, *, home_currency: str, today: str
) -> tuple[dict[str, Any], list[Settlement]]:
    _transaction_type(sent, "CUSTOMER_RECEIPT")
    contact = _contact(sent, lookup)
    bank = _bank_account(sent, lookup)
    total = amount(sent.get("total_amount"), "total_amount")
    if total <= 0:
        raise invalid("total_amount", "must be greater than 0")
    settlements = _settlements(sent, lookup, contact, allow_credit_notes=False)
    allocated = sum((s.amount for s in settlements), Decimal(0))
    if allocated > total:
        raise invalid("allocated_artefacts", f"allocate {allocated}, more than {total}")
    payment = {
        "transaction_type": link("transaction_types", "CUSTOMER_RECEIPT", "Customer Receipt"),
        "contact": link("contacts", contact["id"], contact["displayed_as"]),
        "bank_account": link("bank_accounts", bank["id"], bank["displayed_as"]),
        "date": iso_date(sent.get("date"), "date"),
        "total_amount": total,
        "net_amount": total,
        "tax_amount": Decimal(0),
        "reference": sent.get("reference"),
        "allocated_artefacts": _allocated(settlements, sign=1),
        "payment_on_account": {"total_amount": total - allocated} if allocated < total else None,
        "editable": True,
    }
    payment |= _payment_currency(sent, contact, settlements, home_currency, total)
    payment["displayed_as"] = payment["reference"] or today
    return payment, settlements


def checked_allocation(
    sent: Mapping[str, Any], lookup: Lookup, *, today: str
) -> tuple[dict[str, Any], list[Settlement]]:
    _transaction_type(sent, "CUSTOMER_ALLOCATION")
    contact = _contact(sent, lookup)
    settlements = _settlements(sent, lookup, contact, allow_credit_notes=True)
    if len(settlements) < 2:
        raise invalid("allocated_artefacts", "an allocation needs at least two artefacts")
    net = sum((_signed(s) for s in settlements), Decimal(0))
    if net != 0:
        raise invalid("allocated_artefacts", f"the allocated amounts net to {net}, not 0")
    allocation = {
        "transaction_type": link("transaction_types", "CUSTOMER_ALLOCATION", "Customer Allocation"),
        "contact": link("contacts", contact["id"], contact["displayed_as"]),
        "date": iso_date(sent.get("date") or today, "date"),
        "allocated_artefacts": [
            {"id": uuid.uuid4().hex, "artefact": _artefact_link(s), "amount": _signed(s)}
            for s in settlements
        ],
    }
    allocation["displayed_as"] = allocation["date"]
    return allocation, settlements


def _transaction_type(sent: Mapping[str, Any], expected: str) -> None:
    given = sent.get("transaction_type_id")
    if not given:
        raise required("transaction_type_id")
    if given != expected:
        raise invalid("transaction_type_id", f"{given} is not supported here; use {expected}")


def _contact(sent: Mapping[str, Any], lookup: Lookup) -> dict[str, Any]:
    ident = sent.get("contact_id")
    if not ident:
        raise required("contact_id")
    contact = lookup("contacts", str(ident))
    if contact is None:
        raise not_found("")
    if not is_customer(contact):
        raise invalid("contact_id", "Couldn't find Customer.")
    return contact


def _bank_account(sent: Mapping[str, Any], lookup: Lookup) -> dict[str, Any]:
    ident = sent.get("bank_account_id")
    if not ident:
        raise required("bank_account_id")
    bank = lookup("bank_accounts", str(ident))
    if bank is None:
        raise not_found("bank_account_id")
    return bank


def _settlements(
    sent: Mapping[str, Any],
    lookup: Lookup,
    contact: Mapping[str, Any],
    *,
    allow_credit_notes: bool,
) -> list[Settlement]:
    given = sent.get("allocated_artefacts") or []
    if not isinstance(given, list):
        raise invalid("allocated_artefacts", "is not a list")
    kinds = (INVOICE, CREDIT_NOTE) if allow_credit_notes else (INVOICE,)
    left: dict[str, Decimal] = {}
    return [_settlement(item, lookup, contact, kinds, left) for item in given]


def _settlement(
    item: Any,
    lookup: Lookup,
    contact: Mapping[str, Any],
    kinds: tuple[DocumentKind, ...],
    left: dict[str, Decimal],
) -> Settlement:
    source = "allocated_artefacts"
    if not isinstance(item, dict) or not item.get("artefact_id"):
        raise required(f"{source}.artefact_id")
    kind, document = _artefact(str(item["artefact_id"]), lookup, kinds)
    if document["contact"]["id"] != contact["id"]:
        raise invalid(f"{source}.artefact_id", "belongs to another contact")
    value = amount(item.get("amount"), f"{source}.amount")
    settled = value if kind is INVOICE else -value
    key = str(document["id"])
    open_amount = left.get(key, amount(document["outstanding_amount"], "outstanding_amount"))
    if settled <= 0 or settled > open_amount:
        raise invalid(f"{source}.amount", f"{value} does not fit the outstanding {open_amount}")
    left[key] = open_amount - settled
    return Settlement(kind, document, settled)


def _artefact(
    ident: str, lookup: Lookup, kinds: tuple[DocumentKind, ...]
) -> tuple[DocumentKind, dict[str, Any]]:
    for kind in kinds:
        document = lookup(kind.resource, ident)
        if document is not None:
            if document["status"]["id"] == "VOID":
                raise invalid("allocated_artefacts.artefact_id", "is void")
            return kind, document
    raise not_found("allocated_artefacts.artefact_id")


def _signed(settlement: Settlement) -> Decimal:
    return settlement.amount if settlement.kind is INVOICE else -settlement.amount


def _artefact_link(settlement: Settlement) -> dict[str, Any]:
    document = settlement.document
    return link(settlement.kind.resource, document["id"], document["displayed_as"])


def _allocated(settlements: list[Settlement], *, sign: int) -> list[dict[str, Any]]:
    return [
        {"id": uuid.uuid4().hex, "artefact": _artefact_link(s), "amount": sign * s.amount}
        for s in settlements
    ]


def _payment_currency(
    sent: Mapping[str, Any],
    contact: Mapping[str, Any],
    settlements: list[Settlement],
    home: str,
    total: Decimal,
) -> dict[str, Any]:
    """A foreign receipt without a rate takes its first invoice's rate, standing in for
    the rate Sage would look up; with no invoice to take one from, it is required."""
    code = contact["currency"]["id"]
    if sent.get("currency_id") not in (None, code):
        raise invalid("currency_id", f"must be the contact's currency {code}")
    rate = Decimal(1)
    if code != home:
        rate = _foreign_rate(sent, settlements)
    return {
        "currency": link("currencies", code, code),
        "exchange_rate": rate,
        "base_currency_total_amount": cents(total / rate),
    }


def _foreign_rate(sent: Mapping[str, Any], settlements: list[Settlement]) -> Decimal:
    if sent.get("exchange_rate") is not None:
        rate = amount(sent["exchange_rate"], "exchange_rate")
    elif settlements:
        rate = amount(settlements[0].document["exchange_rate"], "exchange_rate")
    else:
        raise required("exchange_rate")
    if rate <= 0:
        raise invalid("exchange_rate", "must be greater than 0")
    return rate
