"""The NetSuite sandbox's record rules and the amounts it derives; what they refuse, and on
what authority, is ``refusals.py``.

- customer: ``entityId`` defaults to the name; ``currency`` to the base one.
- invoice / creditMemo: saved lines name their item as reads do (``{"id", "refName"}``),
  ``amount`` = ``quantity`` × ``rate`` to the cent, an optional ``discountItem`` +
  ``discountRate`` (an amount, or ``"-10%"``); ``subtotal``, ``discountTotal``,
  ``taxTotal`` and ``total`` derived; the customer's currency, rate 1 in the base one.
- SuiteTax (``schema.py``): with ``taxDetailsOverride: true`` the tax is the
  ``taxDetails`` sublist as sent (NetSuite keeps overridden tax lines as entered), each
  line naming an item line's ``taxDetailsReference`` (NetSuite generates one for a line
  sent without; the sandbox writes ``item<line>``); ``taxTotal`` is their sum. Without the
  override the tax engine decides, and the sandbox's (a nexus with no tax set up)
  computes none.
- customerPayment / creditMemo ``apply``: a payment may apply less than it received, or
  nothing: the rest is its ``unapplied``. A payment or refund without ``exchangeRate``
  takes the rate of its first invoice or credit, standing in for NetSuite's currency table.
- customerRefund: ``total`` is the sum of its ``apply`` lines, each drawing on a credit
  memo's or payment's ``unapplied`` amount (neither applied to invoices nor refunded).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from typing import Any, TypeVar

from syncledger.adapters.netsuite.sandbox.errors import invalid_reference, missing, refuse
from syncledger.adapters.sandbox.numbers import NumberRules, checked_number

CENT = Decimal("0.01")
HALF_CENT = Decimal("0.005")
SUBSIDIARIES = {"1": "Parent Company"}
#: the account's reference data by internal id (the default mapping file names these)
BANK_ACCOUNTS = {"1": "1000 Checking"}
PAYMENT_METHODS = {"1": "Cash", "2": "Check"}
TAX_TYPES = {"1": "Sales Tax"}
TAX_CODES = {"10": ("Taxable", "1"), "11": ("Exempt", "1")}  # id → (name, its tax type)

Lookup = Callable[[str], dict[str, Any] | None]
Found = TypeVar("Found")


#: the rules refusing a number that does not read
NUMBER_RULES = NumberRules("field.missing", "field.not_a_number", not_finite="field.not_finite")


def number(value: Any, path: str) -> Decimal:
    """A JSON number as Decimal (never through float)."""
    fault = partial(refuse, field=path, value=value, path=path)
    return checked_number(value, NUMBER_RULES, fault)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def ref_id(body: Mapping[str, Any], field: str) -> str | None:
    value = body.get(field)
    if isinstance(value, Mapping):
        value = value.get("id")
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class Account:
    """Reference data the rules check against: currencies by internal id, the base one."""

    currencies: Mapping[str, str]  # internal id → ISO code
    base_currency: str  # internal id
    one_world: bool = True


# ---------------------------------------------------------------- customers


def checked_customer(
    body: Mapping[str, Any], account: Account, *, name_taken: Callable[[str], bool]
) -> dict[str, Any]:
    customer = dict(body)
    name = _entity_name(customer)
    customer.setdefault("entityId", name)
    if name_taken(str(customer["entityId"])):
        raise refuse("customer.entity_id_taken", path="entityId")
    _check_subsidiary(customer, account)
    customer["currency"] = {"id": _currency(customer, account, account.base_currency)}
    _check_email(customer)
    _check_registrations(customer)
    customer.setdefault("isInactive", False)
    customer.setdefault("isPerson", False)
    return customer


def _entity_name(customer: Mapping[str, Any]) -> str:
    if customer.get("isPerson"):
        first, last = customer.get("firstName"), customer.get("lastName")
        if not first or not last:
            raise missing("firstName" if not first else "lastName")
        return f"{first} {last}"
    name = customer.get("companyName")
    if not isinstance(name, str) or not name.strip():
        raise missing("companyName")
    return name


def _check_subsidiary(customer: dict[str, Any], account: Account) -> None:
    subsidiary = ref_id(customer, "subsidiary")
    if subsidiary is None:
        if account.one_world:
            raise missing("subsidiary")
        return
    if subsidiary not in SUBSIDIARIES:
        raise invalid_reference("subsidiary", subsidiary)
    customer["subsidiary"] = {"id": subsidiary}


def _currency(body: Mapping[str, Any], account: Account, default: str) -> str:
    currency = ref_id(body, "currency") or default
    if currency not in account.currencies:
        raise invalid_reference("currency", currency)
    return currency


def _check_email(customer: Mapping[str, Any]) -> None:
    email = customer.get("email")
    if email is not None and (not isinstance(email, str) or "@" not in email):
        raise refuse("customer.email_invalid", email=email, path="email")


def _check_registrations(customer: Mapping[str, Any]) -> None:
    """SuiteTax registrations (``schema.py`` [metadata]): a country and a number each."""
    for index, line in enumerate((customer.get("taxRegistration") or {}).get("items") or []):
        at = f"taxRegistration.items[{index}]"
        country = ref_id(line, "nexusCountry")
        if country is None:
            raise missing(f"{at}.nexusCountry")
        if not (len(country) == 2 and country.isalpha() and country.isupper()):
            raise invalid_reference("nexusCountry", country, f"{at}.nexusCountry")
        number = line.get("taxRegistrationNumber")
        if not isinstance(number, str) or not number.strip():
            raise missing(f"{at}.taxRegistrationNumber")


def required_ref(body: dict[str, Any], field: str, known: Mapping[str, str]) -> str:
    """The internal id ``field`` names, which must be one of ``known``."""
    ident = ref_id(body, field)
    if ident is None:
        raise missing(field)
    if ident not in known:
        raise invalid_reference(field, ident)
    body[field] = {"id": ident}
    return ident


# ------------------------------------------------------------- transactions


@dataclass(frozen=True, slots=True)
class Items:
    """The account's items by internal id: those lines may name, those a discount may."""

    sale: Lookup
    discount: Lookup


def priced(
    body: Mapping[str, Any], account: Account, *, customers: Lookup, items: Items
) -> dict[str, Any]:
    """An invoice or credit memo with its lines checked and its totals derived."""
    document = dict(body)
    customer = _customer(document, "entity", customers)
    lines = _referenced(
        _numbered([_priced_line(ln, i, items.sale) for i, ln in enumerate(_lines(document))])
    )
    subtotal = sum((ln["amount"] for ln in lines), Decimal(0))
    discount = _discount(document, subtotal, items.discount)
    details = _tax_details(document, {str(ln["taxDetailsReference"]) for ln in lines})
    tax = sum((d["taxAmount"] for d in details), Decimal(0))
    total = subtotal + discount + tax
    if total < 0:
        raise refuse("document.total_negative", total=total, path="total")
    _settle_currency(document, customer, account)
    return document | {
        "item": {"items": lines},
        "taxDetails": {"items": details},
        "subtotal": subtotal,
        "discountTotal": discount,
        "taxTotal": tax,
        "total": total,
    }


def _customer(body: dict[str, Any], field: str, customers: Lookup) -> dict[str, Any]:
    customer_id = ref_id(body, field)
    if customer_id is None:
        raise missing(field)
    customer = customers(customer_id)
    if customer is None:
        raise invalid_reference(field, customer_id)
    body[field] = {"id": customer_id}
    return customer


def _lines(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    lines = (document.get("item") or {}).get("items") or []
    if not lines:
        raise missing("item")
    return [dict(ln) for ln in lines]


def _priced_line(line: dict[str, Any], index: int, sale_items: Lookup) -> dict[str, Any]:
    at = f"item.items[{index}]"
    item_id = ref_id(line, "item")
    item = sale_items(item_id) if item_id is not None else None
    if item is None or item.get("isInactive"):
        raise invalid_reference("item", item_id, f"{at}.item")
    quantity = number(line.get("quantity", 1), f"{at}.quantity")
    amount = _line_amount(line, quantity, at)
    named = {"id": item_id, "refName": item.get("itemId")}
    return line | {"item": named, "quantity": quantity, "amount": amount}


def _line_amount(line: dict[str, Any], quantity: Decimal, at: str) -> Decimal:
    """``amount`` as sent when it is ``quantity`` × ``rate`` to the half cent (either way of
    rounding a half cent), else ``quantity`` × ``rate`` rounded half up."""
    if line.get("rate") is None:
        return cents(number(line.get("amount"), f"{at}.amount"))
    product = quantity * number(line["rate"], f"{at}.rate")
    if line.get("amount") is None:
        return cents(product)
    amount = number(line["amount"], f"{at}.amount")
    if abs(amount - product) > HALF_CENT:
        product = cents(product)
        raise refuse("line.amount_not_quantity_times_rate", amount=amount, product=product, path=at)
    return cents(amount)


def _discount(document: dict[str, Any], subtotal: Decimal, discount_items: Lookup) -> Decimal:
    item = ref_id(document, "discountItem")
    if item is None:
        return Decimal(0)
    if discount_items(item) is None:
        raise invalid_reference("discountItem", item)
    rate = document.get("discountRate")
    if isinstance(rate, str) and rate.endswith("%"):
        return cents(subtotal * number(rate[:-1], "discountRate") / 100)
    return cents(number(rate, "discountRate"))


def _referenced(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each line with its ``taxDetailsReference`` (the one sent, else ``item<line>``)."""
    return [
        ln | {"taxDetailsReference": str(ln.get("taxDetailsReference") or f"item{ln['line']}")}
        for ln in lines
    ]


def _tax_details(document: Mapping[str, Any], references: set[str]) -> list[dict[str, Any]]:
    """The tax lines as sent under ``taxDetailsOverride``; none without it (see above)."""
    if document.get("taxDetailsOverride") is not True:
        return []
    sent = (document.get("taxDetails") or {}).get("items") or []
    return [_tax_detail(detail, i, references) for i, detail in enumerate(sent)]


def _tax_detail(detail: Mapping[str, Any], index: int, references: set[str]) -> dict[str, Any]:
    """One overridden tax line (``schema.py`` [taxdetails]: every field mandatory)."""
    at = f"taxDetails.items[{index}]"
    reference = detail.get("taxDetailsReference")
    if reference is None:
        raise missing(f"{at}.taxDetailsReference")
    if str(reference) not in references:
        raise invalid_reference("taxDetailsReference", reference, f"{at}.taxDetailsReference")
    tax_type = _known(detail, "taxType", TAX_TYPES, at)
    tax_code = _known(detail, "taxCode", TAX_CODES, at)
    if TAX_CODES[tax_code][1] != tax_type:
        where = f"{at}.taxCode"
        raise refuse("tax.code_of_another_type", code=tax_code, tax_type=tax_type, path=where)
    return {
        "taxDetailsReference": str(reference),
        "taxType": {"id": tax_type},
        "taxCode": {"id": tax_code},
        "taxBasis": number(detail.get("taxBasis"), f"{at}.taxBasis"),
        "taxRate": number(detail.get("taxRate"), f"{at}.taxRate"),
        "taxAmount": cents(number(detail.get("taxAmount"), f"{at}.taxAmount")),
    }


def _known(body: Mapping[str, Any], field: str, known: Mapping[str, Any], at: str) -> str:
    ident = ref_id(body, field)
    if ident is None:
        raise missing(f"{at}.{field}")
    if ident not in known:
        raise invalid_reference(field, ident, f"{at}.{field}")
    return ident


def _numbered(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    used = [int(ln["line"]) for ln in lines if ln.get("line") is not None]
    following = max(used, default=0)
    numbered = []
    for line in lines:
        if line.get("line") is None:
            following += 1
            line = line | {"line": following}
        numbered.append(line)
    return numbered


def _settle_currency(
    document: dict[str, Any], customer: Mapping[str, Any], account: Account
) -> None:
    own = ref_id(customer, "currency") or account.base_currency
    currency = _currency(document, account, own)
    if currency != own:
        raise refuse(
            "document.currency_not_customers",
            currency=account.currencies[currency],
            own=account.currencies[own],
            path="currency",
        )
    document["currency"] = {"id": currency}
    if currency == account.base_currency:
        document["exchangeRate"] = Decimal(1)
    elif document.get("exchangeRate") is None:
        raise missing("exchangeRate")
    elif number(document["exchangeRate"], "exchangeRate") <= 0:
        raise refuse("document.exchange_rate_not_positive", path="exchangeRate")


# ---------------------------------------------------------------- applying


@dataclass(frozen=True, slots=True)
class Application:
    invoice_id: str
    amount: Decimal


def applications(
    body: Mapping[str, Any],
    customer_id: str,
    *,
    invoices: Lookup,
    open_amount: Callable[[str], Decimal],
) -> list[Application]:
    """The ``apply`` lines with ``apply: true``, each checked against its invoice."""
    found: list[Application] = []
    for index, line in enumerate((body.get("apply") or {}).get("items") or []):
        if line.get("apply") is False:
            continue
        found.append(_application(line, index, customer_id, invoices, open_amount))
    return found


def _applied_doc(
    line: Mapping[str, Any], index: int, lookup: Callable[[str], Found | None]
) -> tuple[str, str, Found]:
    """An ``apply`` line's path, the doc it names and what ``lookup`` finds of it; a doc
    the lookup does not find is an invalid reference at the line's ``doc``."""
    at = f"apply.items[{index}]"
    doc = ref_id(line, "doc")
    found = lookup(doc) if doc else None
    if doc is None or found is None:
        raise invalid_reference("doc", doc, f"{at}.doc")
    return at, doc, found


def _application(
    line: Mapping[str, Any],
    index: int,
    customer_id: str,
    invoices: Lookup,
    open_amount: Callable[[str], Decimal],
) -> Application:
    at, doc, invoice = _applied_doc(line, index, invoices)
    if ref_id(invoice, "entity") != customer_id:
        raise refuse("apply.another_customer", doc=doc, path=f"{at}.doc")
    amount = number(line.get("amount"), f"{at}.amount")
    left = open_amount(doc)
    if amount <= 0 or amount > left:
        raise refuse("apply.beyond_due", amount=amount, doc=doc, left=left, path=at)
    return Application(doc, amount)


def checked_payment(
    body: Mapping[str, Any], account: Account, *, customers: Lookup, invoices: Lookup
) -> dict[str, Any]:
    payment = dict(body)
    customer = _customer(payment, "customer", customers)
    amount = number(payment.get("payment"), "payment")
    if amount < 0:
        raise refuse("payment.negative", path="payment")
    payment["payment"] = amount
    own = ref_id(customer, "currency") or account.base_currency
    payment["currency"] = {"id": _currency(payment, account, own)}
    if payment["currency"]["id"] != account.base_currency and "exchangeRate" not in payment:
        payment["exchangeRate"] = _first_invoice_rate(payment, invoices)
    payment.setdefault("exchangeRate", Decimal(1))
    return payment


def _first_invoice_rate(payment: Mapping[str, Any], invoices: Lookup) -> Any:
    for line in (payment.get("apply") or {}).get("items") or []:
        invoice = invoices(ref_id(line, "doc") or "")
        if invoice is not None:
            return invoice.get("exchangeRate")
    raise missing("exchangeRate")


def settled(document: dict[str, Any], applied: Decimal, ceiling: Decimal) -> dict[str, Any]:
    """A payment or credit memo with ``applied`` / ``unapplied`` set."""
    if applied > ceiling:
        raise refuse("apply.beyond_available", applied=applied, available=ceiling, path="apply")
    return document | {"applied": applied, "unapplied": ceiling - applied}


def invoice_balance(invoice: dict[str, Any], applied: Decimal) -> dict[str, Any]:
    """An invoice with ``amountPaid``, ``amountRemaining`` and ``status`` for ``applied``."""
    total = number(invoice["total"], "total")
    remaining = total - applied
    if remaining < 0:
        raise refuse("invoice.total_below_applied", total=total, applied=applied, path="total")
    status = (
        {"id": "B", "refName": "Paid In Full"}
        if remaining == 0
        else {
            "id": "A",
            "refName": "Open",
        }
    )
    return invoice | {"amountPaid": applied, "amountRemaining": remaining, "status": status}


# ------------------------------------------------------------------ refunds


@dataclass(frozen=True, slots=True)
class Credit:
    """A credit a refund may draw on: a credit memo or a customer payment."""

    record: str  # creditMemo | customerPayment
    body: Mapping[str, Any]

    @property
    def customer_id(self) -> str | None:
        return ref_id(self.body, "customer" if self.record == "customerPayment" else "entity")

    @property
    def amount(self) -> Decimal:
        """What the credit is worth: the payment received, or the credit memo's total."""
        field = "payment" if self.record == "customerPayment" else "total"
        return number(self.body[field], field)


CreditLookup = Callable[[str], Credit | None]


def checked_refund(
    body: Mapping[str, Any],
    account: Account,
    *,
    customers: Lookup,
    credits: CreditLookup,
    left: Callable[[str], Decimal],
) -> dict[str, Any]:
    """A customer refund with its ``apply`` lines checked against the credits they draw
    on (``left``: a credit's amount not yet applied nor refunded) and ``total`` derived."""
    refund = dict(body)
    customer = _customer(refund, "customer", customers)
    required_ref(refund, "account", BANK_ACCOUNTS)
    required_ref(refund, "paymentMethod", PAYMENT_METHODS)
    currency = _currency(refund, account, ref_id(customer, "currency") or account.base_currency)
    refund["currency"] = {"id": currency}
    found = [
        _refund_line(line, index, refund, credits, left)
        for index, line in enumerate((refund.get("apply") or {}).get("items") or [])
        if line.get("apply") is not False
    ]
    if not found:
        raise refuse("refund.applies_nothing", path="apply")
    refund["apply"] = {"items": [_refund_apply(doc, amount) for doc, amount, _ in found]}
    refund.setdefault("exchangeRate", found[0][2].body.get("exchangeRate", Decimal(1)))
    return refund | {"total": sum((amount for _, amount, _ in found), Decimal(0))}


def _refund_line(
    line: Mapping[str, Any],
    index: int,
    refund: Mapping[str, Any],
    credits: CreditLookup,
    left: Callable[[str], Decimal],
) -> tuple[str, Decimal, Credit]:
    at, doc, credit = _applied_doc(line, index, credits)
    if credit.customer_id != ref_id(refund, "customer"):
        raise refuse("refund.another_customer", doc=doc, path=f"{at}.doc")
    if ref_id(credit.body, "currency") != ref_id(refund, "currency"):
        raise refuse("refund.another_currency", doc=doc, path=f"{at}.doc")
    amount = number(line.get("amount"), f"{at}.amount")
    available = left(doc)
    if amount <= 0 or amount > available:
        raise refuse("refund.beyond_credit", amount=amount, doc=doc, left=available, path=at)
    return doc, amount, credit


def _refund_apply(doc: str, amount: Decimal) -> dict[str, Any]:
    return {"doc": {"id": doc}, "apply": True, "amount": amount}
