"""What the Sage sandbox accepts for customer receipts, refunds and allocations, and which
open documents and credits they settle.

Contact payments (``PostContactPaymentsContactPayment``): ``transaction_type_id``,
``contact_id``, ``bank_account_id``, ``date`` and ``total_amount`` required.

- ``CUSTOMER_RECEIPT``: each of ``allocated_artefacts [{artefact_id, amount}]`` must be an
  open sales invoice of that contact, within its outstanding amount; what the artefacts do
  not take stays on the contact's account as the receipt's ``payment_on_account`` (Sage's
  ``PaymentOnAccount``: its own ``id``, ``total_amount``, ``outstanding_amount``, status).
- ``CUSTOMER_REFUND``: "can be allocated only to sales_credit_notes and payments on account
  with an outstanding amount" (Sage's answer in developer-community.sage.com topic 281);
  one with nothing outstanding is refused with Sage's message there, "You can only pay
  unpaid or part-paid invoices." (``$source`` base); more than is outstanding is refused
  like an over-allocated receipt. Amounts are positive, as in that thread. Stricter than
  documented, on purpose: the allocated amounts must add up to ``total_amount`` (a refund
  paying out of no credit is not modelled).

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

from syncledger.adapters.sage.sandbox.errors import invalid, not_found, required
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
        raise invalid("allocated_artefacts", f"allocate {allocated}, more than {total}")
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
        raise invalid(
            "total_amount",
            f"is {total} but {allocated} is allocated to credit notes and payments on account",
        )
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
        raise invalid("total_amount", "must be greater than 0")
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


def _credits(
    sent: Mapping[str, Any], lookup: Lookup, on_account: OnAccount, contact: Mapping[str, Any]
) -> list[Use]:
    given = sent.get("allocated_artefacts") or []
    if not isinstance(given, list):
        raise invalid("allocated_artefacts", "is not a list")
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
        raise required(f"{source}.artefact_id")
    ident = str(item["artefact_id"])
    note = lookup(CREDIT_NOTE.resource, ident)
    payment = None if note is not None else on_account(ident)
    credit = _refundable(ident, note, payment, lookup)
    if credit["contact"]["id"] != contact["id"]:
        raise invalid(f"{source}.artefact_id", "belongs to another contact")
    open_amount = left.get(ident, amount(credit["outstanding_amount"], "outstanding_amount"))
    if open_amount <= 0:
        raise invalid("base", "You can only pay unpaid or part-paid invoices.")
    value = amount(item.get("amount"), f"{source}.amount")
    if value <= 0 or value > open_amount:
        raise invalid(f"{source}.amount", f"{value} does not fit the outstanding {open_amount}")
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
            raise invalid(source, "is void")
        return note
    if payment is not None:
        held: dict[str, Any] = payment["payment_on_account"]
        return held
    if lookup(INVOICE.resource, ident) is not None:
        raise invalid(source, "a refund is allocated to credit notes and payments on account")
    raise not_found(source)


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
        raise invalid("currency_id", f"must be the contact's currency {code}")
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
        raise required("exchange_rate")
    if rate <= 0:
        raise invalid("exchange_rate", "must be greater than 0")
    return rate
