"""What the QBO sandbox accepts, and the amounts it derives (``TotalAmt``, ``Balance``);
what it refuses, and on what authority, is ``refusals.py``.

Payments: each ``Line`` links one Invoice, CreditMemo, or Check / Expense (a ``Purchase``
paid to the customer against Accounts Receivable, see ``qbo_purchases``). Invoice and
Check / Expense lines are charges paid, CreditMemo lines are credit spent on them; the rest
of TotalAmt is ``UnappliedAmt`` (a credit), as in QBO. No Line at all: all of TotalAmt is
unapplied. A payment update may add lines (applying its unapplied amount, e.g. to the
cheque that refunds it). A foreign-currency payment without an ``ExchangeRate`` takes its
invoice's rate, standing in for QBO's daily rate. A document's tax is what the company's
tax model makes of it (``qbo_tax``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from typing import Any

from syncledger.adapters.qbo.sandbox.errors import refuse
from syncledger.adapters.sandbox.numbers import NumberRules, checked_number

CENT = Decimal("0.01")
_FORBIDDEN_IN_NAMES = (":", "\t", "\n")
CUSTOMER_LIMITS = {"DisplayName": 500, "CompanyName": 100, "Notes": 1024}
INVOICE_LIMITS = {"DocNumber": 21, "PrivateNote": 4000, "CustomerMemo.value": 1000}
PAYMENT_LIMITS = {"PaymentRefNum": 21, "PrivateNote": 4000}

Lookup = Callable[[str], dict[str, Any] | None]
#: (document, its sales lines, its discount) → the tax the company holds on the document;
#: it may rewrite the document's ``TxnTaxDetail`` (``qbo_tax``)
TaxRule = Callable[[dict[str, Any], list[dict[str, Any]], Decimal], Decimal]


#: the rules refusing a number that does not read
NUMBER_RULES = NumberRules(
    "field.required", "field.not_a_number", "field.unparsable_number", "field.not_finite"
)


def amount(value: Any, name: str) -> Decimal:
    """A JSON number as Decimal (never via float); a fault naming the field otherwise."""
    fault = partial(refuse, param=name, name=name, value=value)
    return checked_number(value, NUMBER_RULES, fault)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def path(body: dict[str, Any], dotted: str) -> Any:
    node: Any = body
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def check_lengths(body: dict[str, Any], limits: dict[str, int]) -> None:
    for name, limit in limits.items():
        value = path(body, name)
        if isinstance(value, str) and len(value) > limit:
            raise refuse("field.too_long", field=name, limit=limit, length=len(value))


# ---------------------------------------------------------------- customers


def checked_customer(
    body: dict[str, Any], *, name_taken: Callable[[str], bool], home_currency: str
) -> dict[str, Any]:
    customer = dict(body)
    name = customer.get("DisplayName") or _derived_name(customer)
    if not name:
        raise refuse("field.required", param="DisplayName")
    if any(mark in name for mark in _FORBIDDEN_IN_NAMES):
        raise refuse("customer.name_invalid", name=name)
    customer["DisplayName"] = name
    check_lengths(customer, CUSTOMER_LIMITS)
    _check_email(customer)
    if name_taken(name):
        raise refuse("customer.name_taken")
    customer.setdefault("CurrencyRef", {"value": home_currency})
    _check_currency(customer)
    customer.setdefault("Active", True)
    customer.setdefault("Balance", Decimal("0"))
    _mask_tax_id(customer)
    return customer


def _derived_name(customer: dict[str, Any]) -> str:
    parts = [customer.get(k) for k in ("Title", "GivenName", "MiddleName", "FamilyName")]
    return " ".join(p for p in parts if p) or str(customer.get("CompanyName") or "")


def _check_email(customer: dict[str, Any]) -> None:
    email = path(customer, "PrimaryEmailAddr.Address")
    if email is not None and "@" not in str(email):
        raise refuse("customer.email_invalid")


def _check_currency(body: dict[str, Any]) -> None:
    code = path(body, "CurrencyRef.value")
    if not (isinstance(code, str) and len(code) == 3 and code.isalpha() and code.isupper()):
        raise refuse("customer.currency_unknown", code=code)


def _mask_tax_id(customer: dict[str, Any]) -> None:
    tax_id = customer.get("PrimaryTaxIdentifier")
    if isinstance(tax_id, str) and tax_id:
        customer["PrimaryTaxIdentifier"] = "X" * max(0, len(tax_id) - 4) + tax_id[-4:]


# ----------------------------------------------------------------- invoices


@dataclass(frozen=True, slots=True)
class Totals:
    subtotal: Decimal
    discount: Decimal
    tax: Decimal

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.discount + self.tax


def priced_invoice(
    body: dict[str, Any],
    *,
    customers: Lookup,
    home_currency: str,
    paid: Decimal,
    tax: TaxRule | None = None,
) -> dict[str, Any]:
    """The invoice as stored: lines checked, SubTotalLine, TotalAmt, Balance (less
    ``paid``), currency and rate settled; its tax as ``tax`` makes it (by default, the
    TxnTaxDetail sent)."""
    invoice = dict(body)
    customer = _customer_of(invoice, customers)
    lines = [ln for ln in invoice.get("Line") or [] if ln.get("DetailType") != "SubTotalLineDetail"]
    if not lines:
        raise refuse("field.required", param="Line")
    totals = _totals(lines, invoice, tax or explicit_tax)
    _check_sent_total(invoice, totals.total)
    check_lengths(invoice, INVOICE_LIMITS)
    settle_currency(invoice, customer, home_currency)
    rate = amount(invoice["ExchangeRate"], "ExchangeRate")
    subtotal_line = {
        "Amount": totals.subtotal,
        "DetailType": "SubTotalLineDetail",
        "SubTotalLineDetail": {},
    }
    return invoice | {
        "Line": [*lines, subtotal_line],
        "TotalAmt": totals.total,
        "Balance": totals.total - paid,
        "HomeTotalAmt": cents(totals.total * rate),
    }


def _customer_of(body: dict[str, Any], customers: Lookup) -> dict[str, Any]:
    ref = path(body, "CustomerRef.value")
    if not ref:
        raise refuse("field.required", param="CustomerRef")
    customer = customers(str(ref))
    if customer is None:
        raise refuse("customer.unknown", ident=ref)
    return customer


def _totals(lines: list[dict[str, Any]], invoice: dict[str, Any], tax: TaxRule) -> Totals:
    sales = [ln for ln in lines if _kind(ln) == "sales"]
    subtotal = sum((_sales_amount(ln) for ln in sales), Decimal(0))
    discount = sum((_discount(ln, subtotal) for ln in lines if _kind(ln) == "discount"), Decimal(0))
    return Totals(subtotal, discount, tax(invoice, sales, discount))


def _kind(line: dict[str, Any]) -> str:
    detail = line.get("DetailType")
    if not detail:
        raise refuse("field.required", param="Line.DetailType")
    kinds = {"SalesItemLineDetail": "sales", "DiscountLineDetail": "discount"}
    if detail not in kinds:
        raise refuse("line.detail_type_unsupported", detail=detail)
    if line.get("Amount") is None and not _percent_discount(line):
        raise refuse("field.required", param="Line.Amount")
    return kinds[detail]


def _sales_amount(line: dict[str, Any]) -> Decimal:
    value = amount(line["Amount"], "Line.Amount")
    detail = line.get("SalesItemLineDetail") or {}
    if detail.get("Qty") is not None and detail.get("UnitPrice") is not None:
        product = amount(detail["Qty"], "Qty") * amount(detail["UnitPrice"], "UnitPrice")
        if abs(product - value) > Decimal("0.005"):
            raise refuse("line.amount_not_qty_times_price", amount=value)
    return value


def _percent_discount(line: dict[str, Any]) -> bool:
    return bool((line.get("DiscountLineDetail") or {}).get("PercentBased"))


def _discount(line: dict[str, Any], subtotal: Decimal) -> Decimal:
    if _percent_discount(line):
        percent = amount(line["DiscountLineDetail"].get("DiscountPercent"), "DiscountPercent")
        line["Amount"] = cents(subtotal * percent / 100)
    value = amount(line["Amount"], "Line.Amount")
    if value < 0:
        raise refuse("line.discount_negative")
    return value


def explicit_tax(
    invoice: dict[str, Any], lines: list[dict[str, Any]], discount: Decimal
) -> Decimal:
    """The tax sent in ``TxnTaxDetail`` (its TaxLines must add up to TotalTax): what a
    company without automated sales tax holds."""
    return _tax(invoice)


def _tax(invoice: dict[str, Any]) -> Decimal:
    detail = invoice.get("TxnTaxDetail") or {}
    lines = detail.get("TaxLine") or []
    summed = sum((amount(t.get("Amount"), "TaxLine.Amount") for t in lines), Decimal(0))
    if detail.get("TotalTax") is None:
        if lines:
            invoice["TxnTaxDetail"] = {**detail, "TotalTax": summed}
        return summed
    total = amount(detail["TotalTax"], "TotalTax")
    if lines and summed != total:
        raise refuse("tax.total_not_sum", total=total, summed=summed)
    return total


def _check_sent_total(invoice: dict[str, Any], total: Decimal) -> None:
    if invoice.get("TotalAmt") is not None and amount(invoice["TotalAmt"], "TotalAmt") != total:
        raise refuse("document.total_mismatch", sent=invoice["TotalAmt"], total=total)


def settle_currency(doc: dict[str, Any], customer: dict[str, Any], home: str) -> None:
    currency = path(customer, "CurrencyRef.value") or home
    given = path(doc, "CurrencyRef.value")
    if given is not None and given != currency:
        raise refuse("document.currency_not_customers", given=given, currency=currency)
    doc["CurrencyRef"] = {"value": currency}
    if currency == home:
        doc["ExchangeRate"] = Decimal(1)
    elif doc.get("ExchangeRate") is None:
        raise refuse("document.rate_missing")
    elif amount(doc["ExchangeRate"], "ExchangeRate") <= 0:
        raise refuse("document.rate_not_positive")


# -------------------------------------------------------------- credit memos


def priced_credit_memo(
    body: dict[str, Any], *, customers: Lookup, home_currency: str, tax: TaxRule | None = None
) -> dict[str, Any]:
    """The credit memo as stored: priced like an invoice, all of it still to spend."""
    memo = priced_invoice(
        body, customers=customers, home_currency=home_currency, paid=Decimal(0), tax=tax
    )
    return memo | {"RemainingCredit": memo["Balance"]}


def check_currency_kept(current: dict[str, Any], updated: dict[str, Any]) -> None:
    before, after = path(current, "CurrencyRef.value"), path(updated, "CurrencyRef.value")
    if before is not None and after != before:
        raise refuse("customer.currency_changed", before=before, after=after)


# ----------------------------------------------------------------- payments

#: the transactions a payment line may link, by ``TxnType``. All but CreditMemo are charges
#: the payment pays; a CreditMemo is credit.
LINKABLE = ("Invoice", "CreditMemo", "Check", "Expense")
CHARGES = ("Invoice", "Check", "Expense")


@dataclass(frozen=True, slots=True)
class Application:
    """One payment line: ``amount`` paid on an Invoice, or credit spent from a CreditMemo."""

    txn: dict[str, Any]
    txn_type: str
    amount: Decimal


def checked_payment(
    body: dict[str, Any],
    *,
    customers: Lookup,
    linkable: Callable[[str], Lookup],
    home_currency: str,
) -> tuple[dict[str, Any], list[Application]]:
    """The payment as stored (``UnappliedAmt`` set) and its applications;
    ``linkable(txn_type)`` looks up transactions of that type."""
    payment = dict(body)
    customer = _customer_of(payment, customers)
    total = amount(payment.get("TotalAmt"), "TotalAmt")
    if total < 0:
        raise refuse("payment.total_negative")
    applications = _applications(payment, linkable)
    owed = _applied_from_cash(applications, total)
    check_lengths(payment, PAYMENT_LIMITS)
    _payment_currency(payment, customer, applications, home_currency)
    return payment | {"TotalAmt": total, "UnappliedAmt": total - owed}, applications


def _applied_from_cash(applications: list[Application], total: Decimal) -> Decimal:
    """What the charge lines take from TotalAmt once the credit lines are spent."""
    paid = sum((a.amount for a in applications if a.txn_type in CHARGES), Decimal(0))
    credit = sum((a.amount for a in applications if a.txn_type == "CreditMemo"), Decimal(0))
    if credit > paid:
        raise refuse("payment.credit_over_charges", credit=credit, paid=paid)
    if paid - credit > total:
        raise refuse("payment.over_total", applied=paid - credit, total=total)
    return paid - credit


def _applications(
    payment: dict[str, Any], linkable: Callable[[str], Lookup], lines: list[Any] | None = None
) -> list[Application]:
    customer_id = str(path(payment, "CustomerRef.value"))
    applications: list[Application] = []
    open_balance: dict[tuple[str, str], Decimal] = {}
    for line in (payment.get("Line") or []) if lines is None else lines:
        txn_type, txn = _linked(line, linkable, customer_id)
        value = amount(line.get("Amount"), "Line.Amount")
        key = (txn_type, str(txn["Id"]))
        left = open_balance.get(key, amount(txn["Balance"], "Balance"))
        if value <= 0 or value > left:
            raise refuse(
                "payment.over_balance", amount=value, txn_type=txn_type, ident=key[1], left=left
            )
        open_balance[key] = left - value
        applications.append(Application(txn, txn_type, value))
    return applications


def _linked(
    line: dict[str, Any], linkable: Callable[[str], Lookup], customer_id: str
) -> tuple[str, dict[str, Any]]:
    linked = line.get("LinkedTxn") or []
    if len(linked) != 1:
        raise refuse("payment.line_links_not_one")
    txn_type = linked[0].get("TxnType")
    if txn_type not in LINKABLE:
        raise refuse("payment.link_unsupported", txn_type=txn_type)
    txn = linkable(txn_type)(str(linked[0].get("TxnId")))
    if txn is None:
        raise refuse("payment.linked_unknown", txn_type=txn_type, ident=linked[0].get("TxnId"))
    if str(path(txn, "CustomerRef.value")) != customer_id:
        raise refuse("payment.linked_other_customer", txn_type=txn_type, ident=txn["Id"])
    return txn_type, txn


def _payment_currency(
    payment: dict[str, Any],
    customer: dict[str, Any],
    applications: list[Application],
    home: str,
) -> None:
    for application in applications:
        if path(application.txn, "CurrencyRef.value") != path(customer, "CurrencyRef.value"):
            raise refuse("payment.currency_mixed")
    if payment.get("ExchangeRate") is None and applications:
        payment["ExchangeRate"] = applications[0].txn.get("ExchangeRate", Decimal(1))
    settle_currency(payment, customer, home)


def checked_payment_update(
    current: dict[str, Any], merged: dict[str, Any], *, linkable: Callable[[str], Lookup]
) -> tuple[dict[str, Any], list[Application]]:
    """The payment as updated (``UnappliedAmt`` again) and the applications its new lines
    add. Only adding lines is modelled: the lines ``current`` has must all still be there
    unchanged, and TotalAmt and CustomerRef cannot change."""
    total = amount(current["TotalAmt"], "TotalAmt")
    if merged.get("TotalAmt") is not None and amount(merged["TotalAmt"], "TotalAmt") != total:
        raise refuse("payment.total_changed")
    if path(merged, "CustomerRef.value") != path(current, "CustomerRef.value"):
        raise refuse("payment.customer_changed")
    kept, added = _split_lines(current.get("Line") or [], merged.get("Line") or [])
    new = _applications(merged, linkable, added)
    for application in new:
        if path(application.txn, "CurrencyRef.value") != path(current, "CurrencyRef.value"):
            raise refuse("payment.currency_mixed")
    before = [Application({}, _txn_type(ln), amount(ln["Amount"], "Amount")) for ln in kept]
    owed = _applied_from_cash(before + new, total)
    check_lengths(merged, PAYMENT_LIMITS)
    return merged | {"TotalAmt": total, "UnappliedAmt": total - owed}, new


def _split_lines(before: list[Any], after: list[Any]) -> tuple[list[Any], list[Any]]:
    """``after`` as (the lines of ``before``, the lines added); a line of ``before`` gone or
    changed is refused."""
    added = list(after)
    for line in before:
        match = next((ln for ln in added if _line_key(ln) == _line_key(line)), None)
        if match is None:
            raise refuse("payment.line_removed")
        added.remove(match)
    return before, added


def _line_key(line: Any) -> tuple[str, str, Decimal]:
    linked = (line.get("LinkedTxn") or [{}])[0] if isinstance(line, dict) else {}
    value = amount(line.get("Amount"), "Line.Amount") if isinstance(line, dict) else Decimal(0)
    return str(linked.get("TxnId")), str(linked.get("TxnType")), value


def _txn_type(line: dict[str, Any]) -> str:
    return str((line.get("LinkedTxn") or [{}])[0].get("TxnType"))
