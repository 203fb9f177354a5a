"""Generate the sample CSV data, deterministically (fixed seed, Decimal money).

    python -m syncledger.core.sample_data.generate            # rewrites core/sample_data/*.csv
    python -m syncledger.core.sample_data.generate --out DIR  # anywhere else

What it writes (the same bytes for the same seed):

* ``customers.csv``: :data:`N_CUSTOMERS` good customers, mostly USD, a few EUR and GBP;
* ``invoices.csv``: :data:`N_INVOICES` good invoices with 1-5 lines each, per-line tax,
  some discounts; EUR/GBP invoices carry an exchange rate to USD;
* ``payments.csv``: :data:`N_PAYMENTS` full or partial payments, on distinct good
  invoices, each at most the invoice's total, then :data:`N_OVERPAYMENTS` overpayments
  (:data:`OVERPAID_BY` more than the invoice's total: the rest is customer credit);
* ``refunds.csv``: one refund paying back the first overpayment's credit;
* one good invoice is ``disputed``: the sync credits it with a credit note;
* :data:`BAD_RECORDS`: one record per distinct problem. No good record refers to a bad
  one, so the good data reconciles to zero mismatches.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Final, Literal

from stdnum.de import vat as de_vat
from stdnum.gb import vat as gb_vat
from stdnum.us import ein

from syncledger.core.money import quantize

SEED: Final = 20240601
N_CUSTOMERS: Final = 60
N_FOREIGN: Final = {"EUR": 3, "GBP": 3}
N_INVOICES: Final = 240
N_PAYMENTS: Final = 120
N_OVERPAYMENTS: Final = 2
OVERPAID_BY: Final = Decimal("25.00")
N_REFUNDS: Final = 1
N_DISPUTED: Final = 1
HOME_CURRENCY: Final = "USD"
START: Final = date(2024, 1, 2)

CUSTOMER_COLUMNS: Final = (
    "id",
    "name",
    "currency",
    "contact_name",
    "email",
    "phone",
    "tax_id",
    "billing_address",
    "updated_at",
)
INVOICE_COLUMNS: Final = (
    "id",
    "number",
    "customer_id",
    "issue_date",
    "due_date",
    "currency",
    "exchange_rate",
    "discount",
    "total",
    "status",
    "updated_at",
    "description",
    "quantity",
    "unit_price",
    "tax_amount",
    "item_code",
    "line_type",
)
PAYMENT_COLUMNS: Final = (
    "id",
    "customer_id",
    "invoice_id",
    "amount",
    "currency",
    "paid_on",
    "method",
    "reference",
    "updated_at",
)


REFUND_COLUMNS: Final = (
    "id",
    "customer_id",
    "amount",
    "currency",
    "refunded_on",
    "payment_id",
    "credit_note_id",
    "method",
    "reference",
    "updated_at",
)


@dataclass(frozen=True, slots=True)
class BadRecord:
    """A deliberately bad record and the reason code it must be refused with."""

    kind: Literal["customer", "invoice"]
    id: str
    code: str
    detected_by: Literal["validate", "sync"]  # sync: the worker, not validate()
    problem: str


BAD_RECORDS: Final = (
    BadRecord(
        "customer",
        "CUST-BAD-COLON",
        "forbidden_character",
        "validate",
        "name holds ':' (QuickBooks uses it for sub-customers)",
    ),
    BadRecord("customer", "CUST-BAD-EMAIL", "invalid_email", "validate", "email is not an address"),
    BadRecord(
        "invoice",
        "INV-BAD-CURRENCY",
        "unknown_currency",
        "validate",
        "currency XYZ is not ISO 4217",
    ),
    BadRecord(
        "invoice",
        "INV-BAD-TOTAL",
        "totals_mismatch",
        "validate",
        "stated total is 1.00 more than the lines add up to",
    ),
    BadRecord(
        "invoice",
        "INV-BAD-CUSTOMER",
        "customer_not_found",
        "sync",
        "customer_id CUST-9999 is not in customers.csv",
    ),
    BadRecord(
        "invoice", "INV-BAD-ZERO-QTY", "non_positive_quantity", "validate", "a line has quantity 0"
    ),
    BadRecord(
        "invoice",
        "INV-BAD-NO-RATE",
        "missing_exchange_rate",
        "validate",
        "EUR invoice without an exchange rate",
    ),
    BadRecord(
        "invoice",
        "INV-BAD-LINE-TYPE",
        "unsupported_line_type",
        "validate",
        "a line of type custom_fee",
    ),
)

_TOWNS = (
    "Acme",
    "Blue Ridge",
    "Cedar",
    "Delta",
    "Evergreen",
    "Franklin",
    "Granite",
    "Harbor",
    "Ironwood",
    "Juniper",
    "Keystone",
    "Lakeside",
    "Maple",
    "Northstar",
    "Oakmont",
    "Pinecrest",
    "Quarry",
    "Riverside",
    "Summit",
    "Tidewater",
)
_TRADES = (
    "Plumbing",
    "Electric",
    "HVAC",
    "Landscaping",
    "Roofing",
    "Cleaning",
    "Pest Control",
    "Pool Service",
    "Appliance Repair",
    "Painting",
)
_SUFFIXES = ("LLC", "Inc", "Co", "& Sons", "Group")
_FOREIGN_NAMES = {
    "EUR": ("Rheinland Elektro GmbH", "Lyon Plomberie SARL", "Utrecht Glas BV"),
    "GBP": ("Thames Roofing Ltd", "Pennine Heating Ltd", "Severn Glazing Ltd"),
}
_FIRST = (
    "Ana",
    "Ben",
    "Chloe",
    "Dev",
    "Elena",
    "Farid",
    "Grace",
    "Hugo",
    "Iris",
    "Jamal",
    "Kim",
    "Luis",
    "Maya",
    "Noah",
    "Olga",
    "Priya",
    "Quinn",
    "Rosa",
)
_LAST = (
    "Adams",
    "Brown",
    "Chen",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ito",
    "Jones",
    "Khan",
    "Lopez",
    "Meyer",
    "Novak",
    "Okafor",
    "Patel",
)
_STREETS = ("Main St", "Oak Ave", "Market St", "Elm St", "Park Rd", "Mill Ln", "High St")
_CITIES = {
    "USD": ("Springfield, IL 62701", "Dayton, OH 45402", "Boise, ID 83702", "Tulsa, OK 74103"),
    "EUR": ("50667 Koeln, Germany", "69002 Lyon, France", "3511 Utrecht, Netherlands"),
    "GBP": ("London SE1 9GF, United Kingdom", "Leeds LS1 4AP, United Kingdom"),
}
_PHONE_PREFIX = {"USD": "+1 555", "EUR": "+49 221", "GBP": "+44 20"}
_TAX_RATES = {
    "USD": (Decimal(0), Decimal("0.0625"), Decimal("0.0825")),
    "EUR": (Decimal("0.19"),),
    "GBP": (Decimal("0.20"),),
}
_RATE_RANGE = {"EUR": (104000, 112000), "GBP": (124000, 131000)}  # USD per unit, x 10^5
#: (item code, description, line type, unit price range in cents, fractional quantities)
_CATALOG = (
    ("SVC-LABOR", "Labour, per hour", "service", (6500, 14500), True),
    ("SVC-DIAG", "Diagnostic visit", "service", (8900, 18900), False),
    ("ITM-FILTER", "Air filter 16x25x1", "item", (1200, 4800), False),
    ("ITM-VALVE", "Shut-off valve 3/4in", "item", (1850, 7400), False),
    ("ITM-WIRE", "Copper wire, per foot", "item", (45, 190), True),
    ("ITM-PUMP", "Sump pump 1/3 HP", "item", (14900, 38900), False),
    ("FEE-TRIP", "Trip charge", "fee", (3500, 7500), False),
    ("FEE-DISPOSAL", "Disposal fee", "fee", (2000, 6000), False),
)
_METHODS = ("check", "ach", "credit_card", "cash")

Row = dict[str, str]


@dataclass(frozen=True, slots=True)
class _Customer:
    id: str
    currency: str
    row: Row


@dataclass(frozen=True, slots=True)
class _Invoice:
    id: str
    customer: _Customer
    issue: date
    total: Decimal
    rows: tuple[Row, ...]


@dataclass(frozen=True, slots=True)
class SampleData:
    customers: tuple[Row, ...]
    invoices: tuple[Row, ...]  # one row per invoice line
    payments: tuple[Row, ...]
    refunds: tuple[Row, ...] = ()


# --------------------------------------------------------------------------- customers


_TAX_ID_FORMS = {
    "USD": ("", "{:02d}-{:07d}", ein.is_valid),  # US EIN
    "EUR": ("DE", "DE{:09d}", de_vat.is_valid),  # German VAT number
    "GBP": ("GB", "GB{:09d}", gb_vat.is_valid),  # UK VAT number
}


def _tax_id(rng: random.Random, currency: str) -> str:
    """A tax id in the customer's country's form that passes its check digits."""
    _, form, valid = _TAX_ID_FORMS[currency]
    while True:
        if currency == "USD":
            candidate = form.format(rng.randint(10, 99), rng.randint(0, 9999999))
        else:
            candidate = form.format(rng.randint(100000000, 999999999))
        if valid(candidate):
            return candidate


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _stamp(day: date, minute: int) -> str:
    return f"{day.isoformat()}T{8 + minute // 60 % 10:02d}:{minute % 60:02d}:00Z"


def _customer_row(rng: random.Random, cid: str, name: str, currency: str, n: int) -> Row:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    street = f"{rng.randint(10, 9999)} {rng.choice(_STREETS)}"
    return {
        "id": cid,
        "name": name,
        "currency": currency,
        "contact_name": f"{first} {last}",
        "email": f"{first.lower()}.{last.lower()}@{_slug(name)}.example.com",
        "phone": f"{_PHONE_PREFIX[currency]} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
        "tax_id": _tax_id(rng, currency),
        "billing_address": f"{street}\n{rng.choice(_CITIES[currency])}",
        "updated_at": _stamp(START - timedelta(days=1), n),
    }


def _domestic_names(rng: random.Random, count: int) -> list[str]:
    names: list[str] = []
    while len(names) < count:
        name = f"{rng.choice(_TOWNS)} {rng.choice(_TRADES)} {rng.choice(_SUFFIXES)}"
        if name not in names:
            names.append(name)
    return names


def _customers(rng: random.Random) -> list[_Customer]:
    foreign = [(name, cur) for cur, names in _FOREIGN_NAMES.items() for name in names]
    domestic = _domestic_names(rng, N_CUSTOMERS - len(foreign))
    named = [(name, HOME_CURRENCY) for name in domestic] + foreign
    rng.shuffle(named)
    return [
        _Customer(f"CUST-{n:04d}", cur, _customer_row(rng, f"CUST-{n:04d}", name, cur, n))
        for n, (name, cur) in enumerate(named, start=1)
    ]


# --------------------------------------------------------------------------- invoices


def _quantity(rng: random.Random, fractional: bool) -> Decimal:
    return Decimal(rng.randint(2, 24)) / 4 if fractional else Decimal(rng.randint(1, 6))


def _line(rng: random.Random, currency: str, tax_rate: Decimal) -> Row:
    code, description, line_type, (low, high), fractional = rng.choice(_CATALOG)
    quantity = _quantity(rng, fractional)
    price = Decimal(rng.randint(low, high)).scaleb(-2)
    tax = quantize(quantize(quantity * price, currency) * tax_rate, currency)  # on the line amount
    return {
        "description": description,
        "quantity": str(quantity),
        "unit_price": str(price),
        "tax_amount": str(tax),
        "item_code": code,
        "line_type": line_type,
    }


def _amounts(lines: Sequence[Row], currency: str, discounted: bool) -> tuple[Decimal, Decimal]:
    """(discount, total) exactly as ``Invoice.computed_total()`` computes the total."""
    gross = sum(
        (
            quantize(Decimal(ln["quantity"]) * Decimal(ln["unit_price"]), currency)
            + Decimal(ln["tax_amount"])
            for ln in lines
        ),
        Decimal(0),
    )
    discount = quantize(gross * Decimal("0.05"), currency) if discounted else Decimal(0)
    return discount, quantize(gross - discount, currency)


def _rate(rng: random.Random, currency: str) -> str:
    if currency == HOME_CURRENCY:
        return ""
    low, high = _RATE_RANGE[currency]
    return str(Decimal(rng.randint(low, high)).scaleb(-5))


def _invoice(rng: random.Random, n: int, customer: _Customer) -> _Invoice:
    cur = customer.currency
    issue = START + timedelta(days=rng.randint(0, 300))
    lines = [_line(rng, cur, rng.choice(_TAX_RATES[cur])) for _ in range(rng.randint(1, 5))]
    discount, total = _amounts(lines, cur, discounted=rng.random() < 0.15)
    head = {
        "id": f"INV-{n}",
        "number": str(n),
        "customer_id": customer.id,
        "issue_date": issue.isoformat(),
        "due_date": (issue + timedelta(days=rng.choice((15, 30, 45)))).isoformat(),
        "currency": cur,
        "exchange_rate": _rate(rng, cur),
        "discount": str(discount) if discount else "",
        "total": str(total),
        "status": "open",
        "updated_at": _stamp(issue, n % 600),
    }
    rows = tuple({**head, **line} for line in lines)
    return _Invoice(head["id"], customer, issue, total, rows)


def _invoices(rng: random.Random, customers: Sequence[_Customer]) -> list[_Invoice]:
    return [_invoice(rng, 1001 + i, rng.choice(customers)) for i in range(N_INVOICES)]


# --------------------------------------------------------------------------- payments


def _payment(rng: random.Random, n: int, invoice: _Invoice) -> Row:
    full = rng.random() < 0.6
    share = Decimal(rng.randint(20, 90)) / 100
    amount = invoice.total if full else quantize(invoice.total * share, invoice.customer.currency)
    paid_on = invoice.issue + timedelta(days=rng.randint(1, 40))
    return {
        "id": f"PAY-{n}",
        "customer_id": invoice.customer.id,
        "invoice_id": invoice.id,
        "amount": str(amount),
        "currency": invoice.customer.currency,
        "paid_on": paid_on.isoformat(),
        "method": rng.choice(_METHODS),
        "reference": f"REF-{n}",
        "updated_at": _stamp(paid_on, n % 600),
    }


def _payments(rng: random.Random, invoices: Sequence[_Invoice]) -> list[Row]:
    chosen = rng.sample(list(invoices), N_PAYMENTS)
    chosen.sort(key=lambda inv: inv.id)
    return [_payment(rng, 5001 + i, inv) for i, inv in enumerate(chosen)]


def _money_cases(
    invoices: Sequence[_Invoice], payments: Sequence[Row]
) -> tuple[list[Row], list[Row], str]:
    """Overpayments, the refund of the first one's credit, and the disputed invoice: on
    USD invoices nothing else pays, picked in id order (no random draw, so every other
    row stays as it was)."""
    paid = {row["invoice_id"] for row in payments}
    free = [inv for inv in invoices if inv.id not in paid and inv.customer.currency == "USD"]
    over = [
        {
            "id": f"PAY-{5901 + i}",
            "customer_id": inv.customer.id,
            "invoice_id": inv.id,
            "amount": str(inv.total + OVERPAID_BY),
            "currency": "USD",
            "paid_on": (inv.issue + timedelta(days=10)).isoformat(),
            "method": "check",
            "reference": f"REF-{5901 + i}",
            "updated_at": _stamp(inv.issue + timedelta(days=10), 59),
        }
        for i, inv in enumerate(free[:N_OVERPAYMENTS])
    ]
    first = free[0]
    refund = {
        "id": "RF-1",
        "customer_id": first.customer.id,
        "amount": str(OVERPAID_BY),
        "currency": "USD",
        "refunded_on": (first.issue + timedelta(days=20)).isoformat(),
        "payment_id": over[0]["id"],
        "credit_note_id": "",
        "method": "check",
        "reference": "RF-1",
        "updated_at": _stamp(first.issue + timedelta(days=20), 59),
    }
    return over, [refund], free[N_OVERPAYMENTS].id


# --------------------------------------------------------------------------- bad records


def _bad_customers(rng: random.Random) -> list[Row]:
    colon = _customer_row(rng, "CUST-BAD-COLON", "Jones: Plumbing & Heating", "USD", 900)
    email = _customer_row(rng, "CUST-BAD-EMAIL", "Kestrel Pool Service LLC", "USD", 901)
    return [colon, {**email, "email": "billing@@kestrel-pools"}]


def _retagged(invoice: _Invoice, bad_id: str, number: int, **head: str) -> list[Row]:
    return [{**row, "id": bad_id, "number": str(number), **head} for row in invoice.rows]


def _bad_invoices(rng: random.Random, customers: Sequence[_Customer]) -> list[Row]:
    usd = [c for c in customers if c.currency == HOME_CURRENCY]
    eur = [c for c in customers if c.currency == "EUR"]
    base = [_invoice(rng, 9001 + i, rng.choice(usd)) for i in range(5)]
    no_rate = _invoice(rng, 9006, rng.choice(eur))
    wrong_total = str(Decimal(base[1].rows[0]["total"]) + 1)
    zero = [dict(row) for row in _retagged(base[3], "INV-BAD-ZERO-QTY", 9004)]
    zero.append({**zero[0], **_line(rng, HOME_CURRENCY, Decimal(0)), "quantity": "0"})
    custom = _retagged(base[4], "INV-BAD-LINE-TYPE", 9005)
    custom[-1] = {**custom[-1], "line_type": "custom_fee"}
    return [
        *_retagged(base[0], "INV-BAD-CURRENCY", 9001, currency="XYZ"),
        *_retagged(base[1], "INV-BAD-TOTAL", 9002, total=wrong_total),
        *_retagged(base[2], "INV-BAD-CUSTOMER", 9003, customer_id="CUST-9999"),
        *zero,
        *_retagged(no_rate, "INV-BAD-NO-RATE", 9006, exchange_rate=""),
        *custom,
    ]


# --------------------------------------------------------------------------- assembly


def build(seed: int = SEED) -> SampleData:
    """All rows, in file order; the same for the same seed."""
    rng = random.Random(seed)
    customers = _customers(rng)
    invoices = _invoices(rng, customers)
    payments = _payments(rng, invoices)
    overpayments, refunds, disputed = _money_cases(invoices, payments)
    rows = [
        {**row, "status": "disputed"} if inv.id == disputed else row
        for inv in invoices
        for row in inv.rows
    ]
    return SampleData(
        customers=(*(c.row for c in customers), *_bad_customers(rng)),
        invoices=(*rows, *_bad_invoices(rng, customers)),
        payments=(*payments, *overpayments),
        refunds=tuple(refunds),
    )


def _write(path: Path, columns: Sequence[str], rows: Sequence[Row]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def generate(directory: Path, seed: int = SEED) -> SampleData:
    """Write ``customers.csv``, ``invoices.csv``, ``payments.csv`` and ``refunds.csv``
    into ``directory``."""
    data = build(seed)
    directory.mkdir(parents=True, exist_ok=True)
    _write(directory / "customers.csv", CUSTOMER_COLUMNS, data.customers)
    _write(directory / "invoices.csv", INVOICE_COLUMNS, data.invoices)
    _write(directory / "payments.csv", PAYMENT_COLUMNS, data.payments)
    _write(directory / "refunds.csv", REFUND_COLUMNS, data.refunds)
    return data


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    data = generate(args.out, args.seed)
    print(
        f"wrote {len(data.customers)} customers, {len(data.invoices)} invoice lines, "
        f"{len(data.payments)} payments, {len(data.refunds)} refunds to {args.out}"
    )


if __name__ == "__main__":
    main()
