"""Refunds in the Zoho Books sandbox: money paid back to a customer out of a credit note's
remaining credit or out of a customer payment's excess (``unused_amount``), and the bank
accounts the money leaves from (zoho.com/books/api/v3: credit notes "Refund credit note",
customer payments "Refund an excess customer payment", bank accounts).

- ``POST /creditnotes/{id}/refunds`` and ``POST /customerpayments/{id}/refunds`` take
  ``date`` and ``amount`` (required), ``from_account_id`` (required: a bank or cash
  account), ``refund_mode``, ``reference_number`` (≤ 100), ``description`` and, for a
  foreign-currency credit, ``exchange_rate``. The credit note's ``balance`` (closed at 0)
  or the payment's ``unused_amount`` drops by the amount; more than remains is refused.
- ``GET .../{id}/refunds`` lists one credit's refunds, ``GET .../{id}/refunds/{refund_id}``
  reads one (``creditnote_refund`` / ``payment_refund``), ``GET /creditnotes/refunds``
  lists every credit note refund (filter ``customer_id``). Zoho has no organisation-wide
  list of payment refunds, and neither has the sandbox.
- ``GET /bankaccounts``: the organisation's bank and cash accounts (``account_id``,
  ``account_name``, ``account_type``, ``is_primary_account``, ``is_active``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from syncledger.adapters.zoho.sandbox.book import ID_BASE, ID_FIELD
from syncledger.adapters.zoho.sandbox.errors import refuse
from syncledger.adapters.zoho.sandbox.listing import listing, summary
from syncledger.adapters.zoho.sandbox.org import ENTITY, Answer, ZohoOrganization, answer
from syncledger.adapters.zoho.sandbox.rules import (
    amount,
    check_date,
    check_lengths,
    exchange_rate,
    rounded,
)

REFUND_LIMITS = {"reference_number": 100, "description": 2000}
REFUND_MODES = frozenset(
    {"cash", "check", "creditcard", "banktransfer", "bankremittance", "autotransaction", "others"}
)
ACCOUNT_IDS = ID_BASE + 980_000


@dataclass(frozen=True, slots=True)
class CreditKind:
    """How one kind of credit holds and refunds its money."""

    resource: str  # the credit's resource name in the book
    refund: str  # its refunds' resource name
    balance: str  # the field holding the credit left
    number: str  # the credit's number field, repeated on its refunds
    single: str  # answer key of one refund
    plural: str  # answer key of a list of refunds
    message: str


CREDITS: dict[str, CreditKind] = {
    "creditnotes": CreditKind(
        "creditnote",
        "creditnoterefund",
        "balance",
        "creditnote_number",
        "creditnote_refund",
        "creditnote_refunds",
        "The refund information for this Credit Note has been saved.",
    ),
    "customerpayments": CreditKind(
        "customerpayment",
        "paymentrefund",
        "unused_amount",
        "payment_number",
        "payment_refund",
        "payment_refunds",
        "The refund information for this payment has been saved.",
    ),
}
BANK_ACCOUNTS: tuple[dict[str, Any], ...] = (
    {
        "account_id": str(ACCOUNT_IDS + 1),
        "account_name": "Business Checking",
        "account_type": "bank",
        "is_primary_account": True,
        "is_active": True,
    },
    {
        "account_id": str(ACCOUNT_IDS + 2),
        "account_name": "Petty Cash",
        "account_type": "cash",
        "is_primary_account": False,
        "is_active": True,
    },
)


def credit_kind(resource: str) -> CreditKind:
    kind = CREDITS.get(resource)
    if kind is None:
        raise refuse("refund.not_refundable")
    return kind


def bank_accounts(org: ZohoOrganization) -> Answer:
    rows = [a | {"currency_code": org.base.currency_code} for a in BANK_ACCOUNTS]
    context = {"page": 1, "per_page": 200, "has_more_page": False}
    return answer("success", bankaccounts=rows, page_context=context)


def refund(org: ZohoOrganization, resource: str, ident: str, body: Mapping[str, Any]) -> Answer:
    """Refund part or all of a credit's remaining money."""
    kind = credit_kind(resource)
    credit = _existing(org, kind, ident)
    fields = _refund_fields(org, credit, body)
    left = amount(credit[kind.balance], kind.balance) - fields["amount_fcy"]
    if left < 0:
        raise refuse("refund.over_credit", available=credit[kind.balance])
    parent = ID_FIELD[kind.resource]
    stored = org.book.add(
        kind.refund, fields | {parent: ident, kind.number: credit.get(kind.number, "")}
    )
    org.book.put(kind.resource, _drawn(kind, credit, left))
    ident_field = ID_FIELD[kind.refund]
    records = ((kind.refund, str(stored[ident_field])), (kind.resource, ident))
    return answer(kind.message, 201, *records, **{kind.single: summary(kind.refund, stored)})


def credit_refunds(
    org: ZohoOrganization, resource: str, ident: str, params: Mapping[str, str]
) -> Answer:
    """One credit's refunds, paged."""
    kind = credit_kind(resource)
    _existing(org, kind, ident)
    parent = ID_FIELD[kind.resource]
    mine = [r for r in org.book.records(kind.refund) if str(r[parent]) == ident]
    return _listed(kind, mine, params)


def all_credit_note_refunds(org: ZohoOrganization, params: Mapping[str, str]) -> Answer:
    kind = CREDITS["creditnotes"]
    return _listed(kind, org.book.records(kind.refund), params)


def read_refund(org: ZohoOrganization, resource: str, ident: str, refund_id: str) -> Answer:
    kind = credit_kind(resource)
    stored = org.book.get(kind.refund, refund_id)
    if stored is None or str(stored[ID_FIELD[kind.resource]]) != ident:
        raise refuse("record.not_found", entity="Refund")
    records = ((kind.refund, refund_id),)
    return answer("success", 200, *records, **{kind.single: summary(kind.refund, stored)})


# ----------------------------------------------------------------- helpers


def _existing(org: ZohoOrganization, kind: CreditKind, ident: str) -> dict[str, Any]:
    credit = org.book.get(kind.resource, ident)
    if credit is None:
        raise refuse("record.not_found", entity=ENTITY[kind.resource])
    return credit


def _refund_fields(
    org: ZohoOrganization, credit: Mapping[str, Any], body: Mapping[str, Any]
) -> dict[str, Any]:
    check_lengths(body, REFUND_LIMITS)
    value = amount(body.get("amount"), "amount")
    if value <= 0:
        raise refuse("field.invalid", field="amount")
    mode = str(body.get("refund_mode") or "cash")
    if mode not in REFUND_MODES:
        raise refuse("field.invalid", field="refund_mode")
    account = _account(body.get("from_account_id"))
    currency = str(credit["currency_code"])
    rate = exchange_rate(body, currency, org.base)
    return {
        "customer_id": str(credit["customer_id"]),
        "customer_name": credit.get("customer_name", ""),
        "date": check_date(body.get("date"), "date"),
        "refund_mode": mode,
        "reference_number": str(body.get("reference_number") or ""),
        "description": str(body.get("description") or ""),
        "amount_fcy": value,
        "amount_bcy": rounded(value * rate, org.base.currency_code),
        "exchange_rate": rate,
        "from_account_id": account["account_id"],
        "from_account_name": account["account_name"],
    }


def _account(ident: Any) -> dict[str, Any]:
    if not ident:
        raise refuse("field.required", field="from_account_id")
    found = next((a for a in BANK_ACCOUNTS if a["account_id"] == str(ident)), None)
    if found is None or not found["is_active"]:
        raise refuse("field.invalid", field="from_account_id")
    return found


def _drawn(kind: CreditKind, credit: dict[str, Any], left: Decimal) -> dict[str, Any]:
    drawn = credit | {kind.balance: left}
    if kind.resource == "creditnote":
        drawn["status"] = "closed" if left == 0 else "open"
    return drawn


def _listed(kind: CreditKind, records: list[dict[str, Any]], params: Mapping[str, str]) -> Answer:
    rows, context = listing(kind.refund, records, params)
    touched = tuple((kind.refund, str(r[ID_FIELD[kind.refund]])) for r in rows)
    return answer("success", 200, *touched, **{kind.plural: rows, "page_context": context})
