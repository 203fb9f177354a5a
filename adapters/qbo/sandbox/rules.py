"""What the QBO sandbox accepts, and the amounts it derives (``TotalAmt``, ``Balance``).

Enforced (QBO behaviour, codes from Intuit's error list):
- Customer: a DisplayName (or a name to derive it from), unique among customers ignoring
  case (6240), without ':' / tab / newline (2040 "Invalid String", as QBO answers a ':'
  in a name: stackoverflow.com/q/24529982), lengths (2050): ``Notes`` at most 1024
  characters (Intuit's XSD, intuit/QuickBooks-V3-Java-SDK
  ``ipp-v3-java-data/src/main/xsd/IntuitNamesTypes.xsd``, Customer.Notes: "Max. length:
  1024 characters"; the adapter had 2000).
- Invoice: CustomerRef of an existing customer (2020 / 2500), at least one Line with
  DetailType and Amount (2020); SalesItemLineDetail Amount = Qty × UnitPrice to the cent
  (6070 "Amount calculation incorrect in the request", Intuit's IPP error code list); the
  tax is what the company's tax model makes of the body (``qbo_tax``: computed by the
  automated sales tax engine, or the TxnTaxDetail sent, whose TaxLines add up to
  TotalTax); a TotalAmt sent must equal lines − discount + tax (6000); the currency must
  be the customer's (6000).
- CreditMemo: as an invoice (CustomerRef, Line, amounts, tax, currency); ``Balance`` and
  ``RemainingCredit`` start at ``TotalAmt``.
- Payment: CustomerRef and TotalAmt (2020), each Line linking exactly one existing Invoice,
  CreditMemo, or Check / Expense (a ``Purchase`` paid to the customer against Accounts
  Receivable, see ``qbo_purchases``) of the same customer and currency (2500 / 6000).
  Invoice and Check / Expense lines are charges paid, CreditMemo lines are credit spent on
  them, as in Intuit's sample of a payment with ``TotalAmt`` 0, an Invoice line and a
  CreditMemo line of 300 each: each amount within the transaction's open balance (6000),
  credit spent at most what the charge lines apply (6000), and the charge lines less the
  credit within TotalAmt (6000); the rest of TotalAmt is ``UnappliedAmt`` (a credit), as in
  QBO. No Line at all: all of TotalAmt is unapplied.
- Payment update: lines may be added (applying its unapplied amount, e.g. to the cheque
  that refunds it); TotalAmt, CustomerRef and the lines already applied stay as they are
  (the sandbox does not model unapplying, 6000).
- Customer update: the currency cannot change once set (6000).

Stricter than QBO, on purpose: a foreign-currency invoice must carry ``ExchangeRate``
(QBO would fill in its own daily rate; we never want a silent rate). A foreign-currency
payment without one takes its invoice's rate, standing in for QBO's daily rate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from syncledger.adapters.qbo.sandbox.errors import (
    amount_calculation,
    bad_request,
    business,
    duplicate_name,
    invalid_reference,
    invalid_string,
    required,
    too_long,
)

CENT = Decimal("0.01")
_FORBIDDEN_IN_NAMES = (":", "\t", "\n")
#: Notes: IntuitNamesTypes.xsd (Customer.Notes "Max. length: 1024 characters")
CUSTOMER_LIMITS = {"DisplayName": 500, "CompanyName": 100, "Notes": 1024}
INVOICE_LIMITS = {"DocNumber": 21, "PrivateNote": 4000, "CustomerMemo.value": 1000}
PAYMENT_LIMITS = {"PaymentRefNum": 21, "PrivateNote": 4000}

Lookup = Callable[[str], dict[str, Any] | None]
#: (document, its sales lines, its discount) → the tax the company holds on the document;
#: it may rewrite the document's ``TxnTaxDetail`` (``qbo_tax``)
TaxRule = Callable[[dict[str, Any], list[dict[str, Any]], Decimal], Decimal]


def amount(value: Any, name: str) -> Decimal:
    """A JSON number as Decimal (never via float); a fault naming the field otherwise."""
    if isinstance(value, bool) or value is None:
        raise required(name) if value is None else bad_request(f"{name} is not a number")
    try:
        result = Decimal(value) if isinstance(value, int | Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise bad_request(f"{name} {value!r} is not a number") from None
    if not result.is_finite():
        raise bad_request(f"{name} is not finite")
    return result


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
            raise too_long(name, limit, len(value))


# ---------------------------------------------------------------- customers


def checked_customer(
    body: dict[str, Any], *, name_taken: Callable[[str], bool], home_currency: str
) -> dict[str, Any]:
    customer = dict(body)
    name = customer.get("DisplayName") or _derived_name(customer)
    if not name:
        raise required("DisplayName")
    if any(mark in name for mark in _FORBIDDEN_IN_NAMES):
        raise invalid_string(name)
    customer["DisplayName"] = name
    check_lengths(customer, CUSTOMER_LIMITS)
    _check_email(customer)
    if name_taken(name):
        raise duplicate_name()
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
        raise business("PrimaryEmailAddr.Address must be an email address (name@domain)")


def _check_currency(body: dict[str, Any]) -> None:
    code = path(body, "CurrencyRef.value")
    if not (isinstance(code, str) and len(code) == 3 and code.isalpha() and code.isupper()):
        raise invalid_reference("Currency", code)


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
        raise required("Line")
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
        raise required("CustomerRef")
    customer = customers(str(ref))
    if customer is None:
        raise invalid_reference("Customer", ref)
    return customer


def _totals(lines: list[dict[str, Any]], invoice: dict[str, Any], tax: TaxRule) -> Totals:
    sales = [ln for ln in lines if _kind(ln) == "sales"]
    subtotal = sum((_sales_amount(ln) for ln in sales), Decimal(0))
    discount = sum((_discount(ln, subtotal) for ln in lines if _kind(ln) == "discount"), Decimal(0))
    return Totals(subtotal, discount, tax(invoice, sales, discount))


def _kind(line: dict[str, Any]) -> str:
    detail = line.get("DetailType")
    if not detail:
        raise required("Line.DetailType")
    kinds = {"SalesItemLineDetail": "sales", "DiscountLineDetail": "discount"}
    if detail not in kinds:
        raise business(f"line detail type {detail} is not supported by the sandbox")
    if line.get("Amount") is None and not _percent_discount(line):
        raise required("Line.Amount")
    return kinds[detail]


def _sales_amount(line: dict[str, Any]) -> Decimal:
    value = amount(line["Amount"], "Line.Amount")
    detail = line.get("SalesItemLineDetail") or {}
    if detail.get("Qty") is not None and detail.get("UnitPrice") is not None:
        product = amount(detail["Qty"], "Qty") * amount(detail["UnitPrice"], "UnitPrice")
        if abs(product - value) > Decimal("0.005"):
            raise amount_calculation(value)
    return value


def _percent_discount(line: dict[str, Any]) -> bool:
    return bool((line.get("DiscountLineDetail") or {}).get("PercentBased"))


def _discount(line: dict[str, Any], subtotal: Decimal) -> Decimal:
    if _percent_discount(line):
        percent = amount(line["DiscountLineDetail"].get("DiscountPercent"), "DiscountPercent")
        line["Amount"] = cents(subtotal * percent / 100)
    value = amount(line["Amount"], "Line.Amount")
    if value < 0:
        raise business("a discount amount cannot be negative")
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
        raise business(f"TxnTaxDetail.TotalTax {total} is not the sum of its TaxLines {summed}")
    return total


def _check_sent_total(invoice: dict[str, Any], total: Decimal) -> None:
    if invoice.get("TotalAmt") is not None and amount(invoice["TotalAmt"], "TotalAmt") != total:
        raise business(
            f"TotalAmt {invoice['TotalAmt']} does not equal lines - discount + tax ({total})"
        )


def settle_currency(doc: dict[str, Any], customer: dict[str, Any], home: str) -> None:
    currency = path(customer, "CurrencyRef.value") or home
    given = path(doc, "CurrencyRef.value")
    if given is not None and given != currency:
        raise business(
            f"the transaction currency {given} must be the customer's currency {currency}"
        )
    doc["CurrencyRef"] = {"value": currency}
    if currency == home:
        doc["ExchangeRate"] = Decimal(1)
    elif doc.get("ExchangeRate") is None:
        raise required("ExchangeRate")
    elif amount(doc["ExchangeRate"], "ExchangeRate") <= 0:
        raise business("ExchangeRate must be greater than zero")


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
        raise business(f"the customer's currency {before} cannot be changed to {after}")


# ----------------------------------------------------------------- payments

#: the transactions a payment line may link, by ``TxnType`` (Intuit's Payment reference:
#: Expense, Check, CreditCardCredit, JournalEntry, CreditMemo, Invoice; the sandbox models
#: these four). All but CreditMemo are charges the payment pays; a CreditMemo is credit.
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
        raise business("TotalAmt cannot be negative")
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
        raise business(f"the lines spend {credit} of credit on charges that take only {paid}")
    if paid - credit > total:
        raise business(
            f"the lines apply {paid - credit} beyond the credit spent, more than the "
            f"payment's TotalAmt {total}"
        )
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
            raise business(
                f"the payment applies {value} to {txn_type} {key[1]} whose open balance is {left}"
            )
        open_balance[key] = left - value
        applications.append(Application(txn, txn_type, value))
    return applications


def _linked(
    line: dict[str, Any], linkable: Callable[[str], Lookup], customer_id: str
) -> tuple[str, dict[str, Any]]:
    linked = line.get("LinkedTxn") or []
    if len(linked) != 1:
        raise business("each payment line must link exactly one transaction (LinkedTxn)")
    txn_type = linked[0].get("TxnType")
    if txn_type not in LINKABLE:
        raise business(f"a payment line linked to {txn_type} is not supported")
    txn = linkable(txn_type)(str(linked[0].get("TxnId")))
    if txn is None:
        raise invalid_reference(txn_type, linked[0].get("TxnId"))
    if str(path(txn, "CustomerRef.value")) != customer_id:
        raise business(f"{txn_type} {txn['Id']} belongs to another customer")
    return txn_type, txn


def _payment_currency(
    payment: dict[str, Any],
    customer: dict[str, Any],
    applications: list[Application],
    home: str,
) -> None:
    for application in applications:
        if path(application.txn, "CurrencyRef.value") != path(customer, "CurrencyRef.value"):
            raise business("the payment and the transactions it links must share one currency")
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
        raise business("the sandbox does not model changing a payment's TotalAmt")
    if path(merged, "CustomerRef.value") != path(current, "CustomerRef.value"):
        raise business("a payment's customer cannot be changed")
    kept, added = _split_lines(current.get("Line") or [], merged.get("Line") or [])
    new = _applications(merged, linkable, added)
    for application in new:
        if path(application.txn, "CurrencyRef.value") != path(current, "CurrencyRef.value"):
            raise business("the payment and the transactions it links must share one currency")
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
            raise business(
                "the sandbox does not model unapplying a payment: send every line it "
                "already has, unchanged, and add the new ones"
            )
        added.remove(match)
    return before, added


def _line_key(line: Any) -> tuple[str, str, Decimal]:
    linked = (line.get("LinkedTxn") or [{}])[0] if isinstance(line, dict) else {}
    value = amount(line.get("Amount"), "Line.Amount") if isinstance(line, dict) else Decimal(0)
    return str(linked.get("TxnId")), str(linked.get("TxnType")), value


def _txn_type(line: dict[str, Any]) -> str:
    return str((line.get("LinkedTxn") or [{}])[0].get("TxnType"))
