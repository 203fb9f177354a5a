"""The QBO sandbox's ``Purchase``: a cheque (``PaymentType`` Check) or expense (Cash,
CreditCard) paid out of an account, the way QBO records money paid back to a customer.

Intuit's documented way to refund a customer credit (a credit memo's, or an overpayment's
unapplied amount) is a cheque or expense to the customer against Accounts Receivable, then
a payment linking the credit to that cheque: the cheque is an A/R charge of the customer
(``EntityRef`` of type Customer) that the credit pays. ``RefundReceipt`` instead refunds a
sale and consumes no credit, so the sandbox leaves it out.

A purchase is paid from a bank account of the company's chart (``CHART``) by
``AccountBasedExpenseLineDetail`` lines; one on Accounts Receivable needs a customer as the
payee, whose currency the purchase is in (refusals: ``refusals.py``). QBO keeps no open
balance on a Purchase: what of its A/R charge is still to be paid is what the payments
linking it have not (``receivable_left``).

Not modelled: vendors and employees as payees, item-based lines, credit card accounts,
the bank account's own currency.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from syncledger.adapters.qbo.sandbox.errors import refuse
from syncledger.adapters.qbo.sandbox.rules import (
    CHARGES,
    Lookup,
    amount,
    check_lengths,
    path,
    settle_currency,
)

PURCHASE_LIMITS = {"DocNumber": 21, "PrivateNote": 4000}
ACCOUNT_LINE = "AccountBasedExpenseLineDetail"
RECEIVABLE = "Accounts Receivable"
#: the ``TxnType`` a payment line links a purchase with, by its PaymentType
LINK_TYPE = {"Check": "Check", "Cash": "Expense", "CreditCard": "Expense"}


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    account_type: str  # QBO's AccountType


#: the sandbox company's chart, as far as purchases and items need it (ids as in Intuit's
#: sample company: Services 1, Checking 35, Accounts Receivable (A/R) 84)
CHART = {
    "1": Account("Services", "Income"),
    "35": Account("Checking", "Bank"),
    "84": Account("Accounts Receivable (A/R)", RECEIVABLE),
    "7": Account("Advertising", "Expense"),
}


def checked_purchase(
    body: dict[str, Any], *, customers: Lookup, home_currency: str
) -> dict[str, Any]:
    """The purchase as stored: lines checked, TotalAmt derived, payee and currency settled."""
    purchase = dict(body)
    _check_paid_from(purchase)
    lines = purchase.get("Line") or []
    if not lines:
        raise refuse("field.required", param="Line")
    total = sum((_line_amount(line) for line in lines), Decimal(0))
    sent = purchase.get("TotalAmt")
    if sent is not None and amount(sent, "TotalAmt") != total:
        raise refuse("purchase.total_mismatch", sent=sent, total=total)
    check_lengths(purchase, PURCHASE_LIMITS)
    payee = _payee(purchase, customers)
    if payee is None and any(_on_receivable(line) for line in lines):
        raise refuse("purchase.receivable_without_customer")
    settle_currency(purchase, payee or {"CurrencyRef": {"value": home_currency}}, home_currency)
    return purchase | {"TotalAmt": total}


def _check_paid_from(purchase: dict[str, Any]) -> None:
    payment_type = purchase.get("PaymentType")
    if payment_type is None:
        raise refuse("field.required", param="PaymentType")
    if payment_type not in LINK_TYPE:
        raise refuse("purchase.payment_type_invalid", payment_type=payment_type)
    account = _account(path(purchase, "AccountRef.value"), "AccountRef")
    if payment_type != "CreditCard" and account.account_type != "Bank":
        raise refuse("purchase.not_from_bank", payment_type=payment_type, account=account.name)
    if payment_type == "CreditCard":
        raise refuse("purchase.credit_card")


def _account(ident: Any, name: str) -> Account:
    if ident is None:
        raise refuse("field.required", param=name)
    account = CHART.get(str(ident))
    if account is None:
        raise refuse("account.unknown", ident=ident)
    return account


def _line_amount(line: Any) -> Decimal:
    if not isinstance(line, dict) or line.get("DetailType") != ACCOUNT_LINE:
        raise refuse("purchase.line_unsupported")
    _account(path(line, f"{ACCOUNT_LINE}.AccountRef.value"), "Line.AccountRef")
    value = amount(line.get("Amount"), "Line.Amount")
    if value <= 0:
        raise refuse("purchase.line_not_positive")
    return value


def _on_receivable(line: dict[str, Any]) -> bool:
    ident = str(path(line, f"{ACCOUNT_LINE}.AccountRef.value"))
    return CHART[ident].account_type == RECEIVABLE


def _payee(purchase: dict[str, Any], customers: Lookup) -> dict[str, Any] | None:
    ref = purchase.get("EntityRef")
    if ref is None:
        return None
    if not isinstance(ref, dict) or ref.get("type", "Customer") != "Customer":
        raise refuse("purchase.payee_not_customer")
    customer = customers(str(ref.get("value")))
    if customer is None:
        raise refuse("customer.unknown", ident=ref.get("value"))
    purchase["EntityRef"] = {**ref, "type": "Customer"}
    return customer


def receivable_left(purchase: dict[str, Any], payments: Iterable[dict[str, Any]]) -> Decimal:
    """What of the purchase's A/R charge no payment line has paid yet."""
    charged = sum(
        (amount(ln["Amount"], "Amount") for ln in purchase["Line"] if _on_receivable(ln)),
        Decimal(0),
    )
    link = (str(purchase["Id"]), LINK_TYPE[str(purchase["PaymentType"])])
    paid = sum(
        (
            amount(line.get("Amount"), "Amount")
            for payment in payments
            for line in payment.get("Line") or []
            if _links(line) == link
        ),
        Decimal(0),
    )
    return charged - paid


def as_charge(purchase: dict[str, Any], txn_type: str, left: Decimal) -> dict[str, Any] | None:
    """The purchase as a payment line links it (``txn_type`` Check or Expense): its payee as
    ``CustomerRef`` and what is left of its A/R charge as ``Balance``; None when the
    purchase is not of that type or not paid to a customer."""
    if txn_type not in CHARGES or LINK_TYPE.get(str(purchase.get("PaymentType"))) != txn_type:
        return None
    payee = purchase.get("EntityRef") or {}
    if payee.get("type") != "Customer":
        return None
    return purchase | {"CustomerRef": {"value": payee.get("value")}, "Balance": left}


def _links(line: Any) -> tuple[str, str] | None:
    linked = (line.get("LinkedTxn") or [None])[0] if isinstance(line, dict) else None
    if not isinstance(linked, dict):
        return None
    return str(linked.get("TxnId")), str(linked.get("TxnType"))
