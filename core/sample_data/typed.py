"""The bundled sample as typed records, for the demo sandboxes' people who type it in.

``customers.csv`` has one row per customer; ``invoices.csv`` one row per invoice *line*,
the rows of one invoice next to each other, each repeating the invoice's own columns.
:func:`sample_customers` and :func:`sample_invoices` read them (through
:mod:`importlib.resources`, only when called) into frozen records in the files' order.
Money, quantities and rates are :class:`~decimal.Decimal` as written (never float); a
blank discount or exchange rate is ``None``; dates stay the ISO 8601 text the sample
writes. The sample names its deliberately invalid records ``*-BAD-*``.

Also shared: a billing address split into its parts (:func:`split_address`: a street
line, then ``City, ST 12345`` in the US or ``place, Country`` elsewhere) and the rounding
of a line whose quantity x unit price is not a whole number of minor units
(:func:`rounded_net`: 2.25 h x 112.37).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources

from syncledger.core.money import quantize

SAMPLE_PACKAGE = "syncledger.core.sample_data"
BAD_MARK = "-BAD-"
_US_TOWN = re.compile(r"(?P<city>[^,]+), (?P<state>[A-Z]{2}) (?P<zip>\d{5}(-\d{4})?)")

Row = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Address:
    """A billing address in parts; ``town`` is what follows the street, as written."""

    street: str
    town: str
    city: str = ""
    state: str = ""  # a US state's two letters; "" elsewhere
    postcode: str = ""  # only split out of a US town (the ZIP code)
    country: str = ""  # only outside the US


@dataclass(frozen=True, slots=True)
class SampleCustomer:
    id: str
    name: str
    currency: str
    contact_name: str
    email: str
    phone: str
    tax_id: str
    billing_address: str
    updated_at: str

    @property
    def first_name(self) -> str:
        return self.contact_name.strip().partition(" ")[0]

    @property
    def last_name(self) -> str:
        return self.contact_name.strip().partition(" ")[2].strip()

    @property
    def address(self) -> Address:
        return split_address(self.billing_address)


@dataclass(frozen=True, slots=True)
class SampleLine:
    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_amount: Decimal
    item_code: str
    line_type: str


@dataclass(frozen=True, slots=True)
class SampleInvoice:
    id: str
    number: str
    customer_id: str
    issue_date: str
    due_date: str
    currency: str
    exchange_rate: Decimal | None
    discount: Decimal | None
    total: Decimal
    status: str
    updated_at: str
    lines: tuple[SampleLine, ...]

    @property
    def deliberately_bad(self) -> bool:
        return BAD_MARK in self.id

    @property
    def tax(self) -> Decimal:
        """Σ the lines' tax."""
        return sum((line.tax_amount for line in self.lines), Decimal(0))


# --------------------------------------------------------------------- reading


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files(SAMPLE_PACKAGE).joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _optional(text: str) -> Decimal | None:
    return Decimal(text) if text.strip() else None


def sample_customers() -> list[SampleCustomer]:
    return [_customer(row) for row in _rows("customers.csv")]


def _customer(r: Row) -> SampleCustomer:
    return SampleCustomer(
        r["id"],
        r["name"],
        r["currency"],
        r["contact_name"],
        r["email"],
        r["phone"],
        r["tax_id"],
        r["billing_address"],
        r["updated_at"],
    )


def sample_invoices() -> list[SampleInvoice]:
    """The invoices, in the file's order, each with its lines in theirs."""
    return [_invoice(rows) for rows in _grouped(_rows("invoices.csv")).values()]


def _grouped(rows: Iterable[Row]) -> dict[str, list[Row]]:
    grouped: dict[str, list[Row]] = {}
    for row in rows:
        grouped.setdefault(row["id"], []).append(row)
    return grouped


def _line(r: Row) -> SampleLine:
    return SampleLine(
        r["description"],
        Decimal(r["quantity"]),
        Decimal(r["unit_price"]),
        Decimal(r["tax_amount"]),
        r["item_code"],
        r["line_type"],
    )


def _invoice(rows: Sequence[Row]) -> SampleInvoice:
    head = rows[0]
    return SampleInvoice(
        head["id"],
        head["number"],
        head["customer_id"],
        head["issue_date"],
        head["due_date"],
        head["currency"],
        _optional(head["exchange_rate"]),
        _optional(head["discount"]),
        Decimal(head["total"]),
        head["status"],
        head["updated_at"],
        tuple(_line(r) for r in rows),
    )


# --------------------------------------------------------------------- shared readings


def split_address(text: str) -> Address:
    """``"8172 Elm St\\nBoise, ID 83702"`` or ``"2574 Main St\\n3511 Utrecht, Netherlands"``
    in parts; lines after the second join into the town with ", "."""
    street, *rest = [part.strip() for part in text.splitlines()] or [""]
    town = ", ".join(rest)
    us = _US_TOWN.fullmatch(town)
    if us is not None:
        return Address(street, town, us["city"], us["state"], us["zip"])
    place, sep, country = town.rpartition(", ")
    return Address(street, town, place, country=country) if sep else Address(street, town, town)


def rounded_net(line: SampleLine, currency: str) -> Decimal | None:
    """quantity x unit price rounded to ``currency``'s minor unit, or None when it is a
    whole number of them already (nothing to round)."""
    net = line.quantity * line.unit_price
    rounded = quantize(net, currency)
    return None if rounded == net else rounded


def last_regular(invoices: Sequence[SampleInvoice], count: int) -> list[SampleInvoice]:
    """The last ``count`` invoices that are not deliberately bad, in order."""
    regular = [i for i in invoices if not i.deliberately_bad]
    return regular[-count:] if count > 0 else []


__all__ = [
    "Address",
    "SampleCustomer",
    "SampleInvoice",
    "SampleLine",
    "last_regular",
    "rounded_net",
    "sample_customers",
    "sample_invoices",
    "split_address",
]
