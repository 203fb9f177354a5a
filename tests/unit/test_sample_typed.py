"""The bundled sample as typed records (core/sample_data/typed.py) says what the CSV files
say: as many customers and invoices, an invoice's lines with their Decimal figures, a
blank discount or rate as None, billing addresses split into their parts."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from importlib import resources

from syncledger.core.sample_data.typed import (
    Address,
    SampleInvoice,
    SampleLine,
    last_regular,
    rounded_net,
    sample_customers,
    sample_invoices,
    split_address,
)


def csv_rows(name: str) -> list[dict[str, str]]:
    text = resources.files("syncledger.core.sample_data").joinpath(name).read_text("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def by_id() -> dict[str, SampleInvoice]:
    return {i.id: i for i in sample_invoices()}


def test_as_many_customers_invoices_and_lines_as_the_files_hold() -> None:
    customers, rows = csv_rows("customers.csv"), csv_rows("invoices.csv")
    invoices = sample_invoices()
    assert [c.id for c in sample_customers()] == [r["id"] for r in customers]
    assert len(customers) == 62
    assert [i.id for i in invoices] == list(dict.fromkeys(r["id"] for r in rows))
    assert len(invoices) == 246
    assert sum(len(i.lines) for i in invoices) == len(rows) == 764


def test_an_invoice_has_its_lines_in_order_with_decimal_figures() -> None:
    invoice = by_id()["INV-1001"]
    assert (invoice.number, invoice.customer_id, invoice.currency) == ("1001", "CUST-0017", "USD")
    assert (invoice.issue_date, invoice.due_date) == ("2024-01-29", "2024-02-13")
    assert invoice.total == Decimal("320.48") and invoice.discount == Decimal("16.87")
    assert invoice.exchange_rate is None
    assert invoice.lines == (
        SampleLine(
            "Shut-off valve 3/4in",
            Decimal(3),
            Decimal("21.56"),
            Decimal("4.04"),
            "ITM-VALVE",
            "item",
        ),
        SampleLine(
            "Labour, per hour",
            Decimal("2.25"),
            Decimal("112.37"),
            Decimal("15.80"),
            "SVC-LABOR",
            "service",
        ),
    )
    assert all(isinstance(x, Decimal) for ln in invoice.lines for x in (ln.quantity, ln.unit_price))
    assert invoice.tax == Decimal("19.84")


def test_a_foreign_invoice_carries_its_rate_and_no_discount() -> None:
    invoice = by_id()["INV-1007"]
    assert (invoice.currency, invoice.exchange_rate, invoice.discount) == (
        "GBP",
        Decimal("1.26292"),
        None,
    )
    assert [ln.description for ln in invoice.lines] == [
        "Disposal fee",
        "Air filter 16x25x1",
        "Shut-off valve 3/4in",
    ]


def test_every_figure_is_the_files_text_as_a_decimal() -> None:
    lines = [ln for i in sample_invoices() for ln in i.lines]
    rows = csv_rows("invoices.csv")
    assert [(str(ln.quantity), str(ln.unit_price), str(ln.tax_amount)) for ln in lines] == [
        (r["quantity"], r["unit_price"], r["tax_amount"]) for r in rows
    ]


def test_a_customer_and_its_billing_address_in_parts() -> None:
    first = sample_customers()[0]
    assert (first.id, first.currency) == ("CUST-0001", "USD")
    assert first.name == "Maple Pest Control & Sons"
    assert (first.first_name, first.last_name) == ("Jamal", "Garcia")
    assert first.address == Address("8172 Elm St", "Boise, ID 83702", "Boise", "ID", "83702")


def test_an_address_outside_the_us_splits_at_its_country() -> None:
    assert split_address("2574 Main St\n3511 Utrecht, Netherlands") == Address(
        "2574 Main St", "3511 Utrecht, Netherlands", "3511 Utrecht", country="Netherlands"
    )
    assert split_address("1 Quay\nLeeds LS1 4AP, United Kingdom").postcode == ""
    assert split_address("1 Quay") == Address("1 Quay", "", "")


def test_a_line_of_fractional_cents_rounds_and_a_whole_one_does_not() -> None:
    shut_off, labour = by_id()["INV-1001"].lines
    assert rounded_net(shut_off, "USD") is None
    assert rounded_net(labour, "USD") == Decimal("252.83")  # 2.25 x 112.37 = 252.8325


def test_the_last_regular_invoices_skip_the_deliberately_bad_ones() -> None:
    invoices = sample_invoices()
    last = last_regular(invoices, 5)
    assert len(last) == 5 and not any(i.deliberately_bad for i in last)
    regular = [i for i in invoices if "-BAD-" not in i.id]
    assert last == regular[-5:]
