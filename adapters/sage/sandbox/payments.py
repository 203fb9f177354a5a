"""What the Sage sandbox accepts for customer receipts, refunds and allocations, and which
open documents and credits they settle (what it refuses: ``refusals.py``).

- ``CUSTOMER_RECEIPT`` (``PostContactPaymentsContactPayment``): ``allocated_artefacts
  [{artefact_id, amount}]`` are open sales invoices of the contact; what they do not take
  stays on the contact's account as the receipt's ``payment_on_account`` (Sage's
  ``PaymentOnAccount``: its own ``id``, ``total_amount``, ``outstanding_amount``, status).
- ``CUSTOMER_REFUND``: pays out of sales credit notes and payments on account.
- ``CUSTOMER_ALLOCATION`` (``PostContactAllocationsContactAllocation``): a credit note
  allocated to an invoice, the invoice's amount positive and the credit note's negative.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from syncledger.adapters.sage.sandbox.errors import refuse
from syncledger.adapters.sage.sandbox.rules import (
    CREDIT_NOTE,
    INVOICE,
    DocumentKind,
    amount,
    cents,
    is_customer,
    iso_date,
)
from syncledger.adapters.sage.sandbox.seed import link, status

Lookup = Callable[[str, str], dict[str, Any] | None]  # (resource, id) → record


@dataclass(frozen=True, slots=True)
class Settlement:
    """``amount`` (positive) comes off the outstanding amount of ``document``."""

    kind: DocumentKind
    document: dict[str, Any]
    amount: Decimal


@dataclass(frozen=True, slots=True)
class AccountCredit:
    """``amount`` (positive) comes off the outstanding amount of ``payment``'s payment on
    account."""

    payment: dict[str, Any]
    amount: Decimal

    @property
    def document(self) -> dict[str, Any]:
        return self.payment


Use = Settlement | AccountCredit
OnAccount = Callable[[str], dict[str, Any] | None]  # payment on account id → its receipt


def checked_payment(
    sent: Mapping[str, Any], lookup: Lookup, *, home_currency: str, today: str
) -> tuple[dict[str, Any], list[Settlement]]:
    _transaction_type(sent, "CUSTOMER_RECEIPT")
    contact = _contact(sent, lookup)
    bank = _bank_account(sent, lookup)
    total = _total(sent)
    settlements = _settlements(sent, lookup, contact, allow_credit_notes=False)
    allocated = sum((s.amount for s in settlements), Decimal(0))
    if allocated > total:
        raise refuse(
            "payment.over_allocated", "allocated_artefacts", allocated=allocated, total=total
        )
    rate_from = settlements[0].document if settlements else None
    payment = _contact_payment(sent, contact, bank, "CUSTOMER_RECEIPT", total, today)
    payment |= _payment_currency(sent, contact, rate_from, home_currency, total)
    payment["allocated_artefacts"] = _allocated(settlements)
    payment["payment_on_account"] = _on_account(payment, contact, total - allocated)
    return payment, settlements


def checked_refund(
    sent: Mapping[str, Any],
    lookup: Lookup,
    on_account: OnAccount,
    *,
    home_currency: str,
    today: str,
) -> tuple[dict[str, Any], list[Use]]:
    """A customer refund paying out of credit notes and payments on account."""
    _transaction_type(sent, "CUSTOMER_REFUND")
    contact = _contact(sent, lookup)
    bank = _bank_account(sent, lookup)
    total = _total(sent)
    uses = _credits(sent, lookup, on_account, contact)
    allocated = sum((u.amount for u in uses), Decimal(0))
    if allocated != total:
        raise refuse("refund.unallocated", "total_amount", total=total, allocated=allocated)
    rate_from = uses[0].document if uses else None
    refund = _contact_payment(sent, contact, bank, "CUSTOMER_REFUND", total, today)
    refund |= _payment_currency(sent, contact, rate_from, home_currency, total)
    refund["allocated_artefacts"] = [_credit_allocated(u) for u in uses]
    refund["payment_on_account"] = None
    return refund, uses


def used_on_account(payment: Mapping[str, Any], used: Decimal) -> dict[str, Any]:
    """``payment`` with ``used`` off its payment on account's outstanding amount."""
    held = dict(payment["payment_on_account"])
    left = amount(held["outstanding_amount"], "outstanding_amount") - used
    rate = amount(held["exchange_rate"], "exchange_rate")
    held |= {
        "outstanding_amount": left,
        "base_currency_outstanding_amount": cents(left / rate),
        "status": status("PAID" if left == 0 else "PART_PAID"),
    }
    return dict(payment) | {"payment_on_account": held}


def _total(sent: Mapping[str, Any]) -> Decimal:
    total = amount(sent.get("total_amount"), "total_amount")
    if total <= 0:
        raise refuse("field.not_positive", "total_amount")
    return total


def _contact_payment(
    sent: Mapping[str, Any],
    contact: Mapping[str, Any],
    bank: Mapping[str, Any],
    transaction_type: str,
    total: Decimal,
    today: str,
) -> dict[str, Any]:
    reference = sent.get("reference")
    return {
        "transaction_type": link(
            "transaction_types", transaction_type, transaction_type.replace("_", " ").title()
        ),
        "contact": link("contacts", contact["id"], contact["displayed_as"]),
        "bank_account": link("bank_accounts", bank["id"], bank["displayed_as"]),
        "date": iso_date(sent.get("date"), "date"),
        "total_amount": total,
        "net_amount": total,
        "tax_amount": Decimal(0),
        "reference": reference,
        "editable": True,
        "displayed_as": reference or today,
    }


def _on_account(
    payment: Mapping[str, Any], contact: Mapping[str, Any], rest: Decimal
) -> dict[str, Any] | None:
    """What a receipt's artefacts do not take, kept on the contact's account."""
    if rest <= 0:
        return None
    rate = amount(payment["exchange_rate"], "exchange_rate")
    return {
        "id": uuid.uuid4().hex,
        "displayed_as": payment["displayed_as"],
        "contact_name": contact["name"],
        "contact_reference": contact.get("reference"),
        "contact": payment["contact"],
        "date": payment["date"],
        "reference": payment["reference"],
        "net_amount": rest,
        "tax_amount": Decimal(0),
        "total_amount": rest,
        "outstanding_amount": rest,
        "currency": payment["currency"],
        "exchange_rate": rate,
        "base_currency_net_amount": cents(rest / rate),
        "base_currency_tax_amount": Decimal(0),
        "base_currency_total_amount": cents(rest / rate),
        "base_currency_outstanding_amount": cents(rest / rate),
        "status": status("UNPAID"),
    }


def checked_allocation(
    sent: Mapping[str, Any], lookup: Lookup, *, today: str
) -> tuple[dict[str, Any], list[Settlement]]:
    _transaction_type(sent, "CUSTOMER_ALLOCATION")
    contact = _contact(sent, lookup)
    settlements = _settlements(sent, lookup, contact, allow_credit_notes=True)
    if len(settlements) < 2:
        raise refuse("allocation.too_few", "allocated_artefacts")
    net = sum((_signed(s) for s in settlements), Decimal(0))
    if net != 0:
        raise refuse("allocation.not_net_zero", "allocated_artefacts", net=net)
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
        raise refuse("field.required", "transaction_type_id")
    if given != expected:
        raise refuse(
            "payment.transaction_type", "transaction_type_id", given=given, expected=expected
        )


def _contact(sent: Mapping[str, Any], lookup: Lookup) -> dict[str, Any]:
    contact = _named(sent, "contact_id", "contacts", lookup, source="")  # Sage names none
    if not is_customer(contact):
        raise refuse("contact.not_customer", "contact_id")
    return contact


def _bank_account(sent: Mapping[str, Any], lookup: Lookup) -> dict[str, Any]:
    return _named(sent, "bank_account_id", "bank_accounts", lookup, source="bank_account_id")


def _named(
    sent: Mapping[str, Any], field: str, resource: str, lookup: Lookup, *, source: str
) -> dict[str, Any]:
    """The record of ``resource`` that ``sent[field]`` names; an unknown one is refused
    naming ``source``."""
    ident = sent.get(field)
    if not ident:
        raise refuse("field.required", field)
    found = lookup(resource, str(ident))
    if found is None:
        raise refuse("reference.not_found", source)
    return found


def _settlements(
    sent: Mapping[str, Any],
    lookup: Lookup,
    contact: Mapping[str, Any],
    *,
    allow_credit_notes: bool,
) -> list[Settlement]:
    given = sent.get("allocated_artefacts") or []
    if not isinstance(given, list):
        raise refuse("field.type", "allocated_artefacts", kind="a list")
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
        raise refuse("field.required", f"{source}.artefact_id")
    kind, document = _artefact(str(item["artefact_id"]), lookup, kinds)
    if document["contact"]["id"] != contact["id"]:
        raise refuse("artefact.other_contact", f"{source}.artefact_id")
    value = amount(item.get("amount"), f"{source}.amount")
    settled = value if kind is INVOICE else -value
    key = str(document["id"])
    open_amount = left.get(key, amount(document["outstanding_amount"], "outstanding_amount"))
    if settled <= 0 or settled > open_amount:
        raise refuse(
            "artefact.amount_misfit", f"{source}.amount", amount=value, outstanding=open_amount
        )
    left[key] = open_amount - settled
    return Settlement(kind, document, settled)


def _credits(
    sent: Mapping[str, Any], lookup: Lookup, on_account: OnAccount, contact: Mapping[str, Any]
) -> list[Use]:
    given = sent.get("allocated_artefacts") or []
    if not isinstance(given, list):
        raise refuse("field.type", "allocated_artefacts", kind="a list")
    left: dict[str, Decimal] = {}
    return [_credit(item, lookup, on_account, contact, left) for item in given]


def _credit(
    item: Any,
    lookup: Lookup,
    on_account: OnAccount,
    contact: Mapping[str, Any],
    left: dict[str, Decimal],
) -> Use:
    source = "allocated_artefacts"
    if not isinstance(item, dict) or not item.get("artefact_id"):
        raise refuse("field.required", f"{source}.artefact_id")
    ident = str(item["artefact_id"])
    note = lookup(CREDIT_NOTE.resource, ident)
    payment = None if note is not None else on_account(ident)
    credit = _refundable(ident, note, payment, lookup)
    if credit["contact"]["id"] != contact["id"]:
        raise refuse("artefact.other_contact", f"{source}.artefact_id")
    open_amount = left.get(ident, amount(credit["outstanding_amount"], "outstanding_amount"))
    if open_amount <= 0:
        raise refuse("refund.nothing_outstanding", "base")
    value = amount(item.get("amount"), f"{source}.amount")
    if value <= 0 or value > open_amount:
        raise refuse(
            "artefact.amount_misfit", f"{source}.amount", amount=value, outstanding=open_amount
        )
    left[ident] = open_amount - value
    if note is not None:
        return Settlement(CREDIT_NOTE, note, value)
    assert payment is not None
    return AccountCredit(payment, value)


def _refundable(
    ident: str,
    note: dict[str, Any] | None,
    payment: dict[str, Any] | None,
    lookup: Lookup,
) -> dict[str, Any]:
    """The credit note, or the payment on account, a refund artefact names."""
    source = "allocated_artefacts.artefact_id"
    if note is not None:
        if note["status"]["id"] == "VOID":
            raise refuse("artefact.void", source)
        return note
    if payment is not None:
        held: dict[str, Any] = payment["payment_on_account"]
        return held
    if lookup(INVOICE.resource, ident) is not None:
        raise refuse("refund.not_a_credit", source)
    raise refuse("reference.not_found", source)


def _artefact(
    ident: str, lookup: Lookup, kinds: tuple[DocumentKind, ...]
) -> tuple[DocumentKind, dict[str, Any]]:
    for kind in kinds:
        document = lookup(kind.resource, ident)
        if document is not None:
            if document["status"]["id"] == "VOID":
                raise refuse("artefact.void", "allocated_artefacts.artefact_id")
            return kind, document
    raise refuse("reference.not_found", "allocated_artefacts.artefact_id")


def _signed(settlement: Settlement) -> Decimal:
    return settlement.amount if settlement.kind is INVOICE else -settlement.amount


def _artefact_link(settlement: Settlement) -> dict[str, Any]:
    document = settlement.document
    return link(settlement.kind.resource, document["id"], document["displayed_as"])


def _allocated(settlements: list[Settlement]) -> list[dict[str, Any]]:
    return [
        {"id": uuid.uuid4().hex, "artefact": _artefact_link(s), "amount": s.amount}
        for s in settlements
    ]


def _credit_allocated(use: Use) -> dict[str, Any]:
    if isinstance(use, Settlement):
        artefact = _artefact_link(use)
    else:
        held = use.payment["payment_on_account"]
        artefact = link("payments_on_account", held["id"], held["displayed_as"])
    return {"id": uuid.uuid4().hex, "artefact": artefact, "amount": use.amount}


def _payment_currency(
    sent: Mapping[str, Any],
    contact: Mapping[str, Any],
    rate_from: Mapping[str, Any] | None,
    home: str,
    total: Decimal,
) -> dict[str, Any]:
    """A foreign payment without a rate takes the rate of the first document or receipt it
    is allocated to (``rate_from``), standing in for the rate Sage would look up; with
    nothing to take one from, it is required."""
    code = contact["currency"]["id"]
    if sent.get("currency_id") not in (None, code):
        raise refuse("currency.not_contacts", "currency_id", code=code)
    rate = Decimal(1)
    if code != home:
        rate = _foreign_rate(sent, rate_from)
    return {
        "currency": link("currencies", code, code),
        "exchange_rate": rate,
        "base_currency_total_amount": cents(total / rate),
    }


def _foreign_rate(sent: Mapping[str, Any], rate_from: Mapping[str, Any] | None) -> Decimal:
    if sent.get("exchange_rate") is not None:
        rate = amount(sent["exchange_rate"], "exchange_rate")
    elif rate_from is not None:
        rate = amount(rate_from["exchange_rate"], "exchange_rate")
    else:
        raise refuse("rate.missing", "exchange_rate")
    if rate <= 0:
        raise refuse("field.not_positive", "exchange_rate")
    return rate
