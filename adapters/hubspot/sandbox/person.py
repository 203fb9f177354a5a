"""HubSpot's sandbox with a person at it, for ``syncledger demo --source hubspot``.

The person enters the sample data (``core/sample_data``) the way a HubSpot user does:

- each customer is a **company** (``name``, ``phone``, ``address``/``city``/``state``/
  ``zip``/``country`` — SOURCES.md §1.4 names ``name``; the others are the properties our
  mapping reads, marked [unverified] in ``adapters/hubspot/source_mapping.toml``), its
  contact person a **contact** (``firstname``, ``lastname``, ``email``: §1.4/§1.5 — a
  contact needs one of them) associated with it;
- each invoice is a **deal** (``dealname``, ``dealstage``, ``closedate``, ``amount``:
  the deal properties "returned by default" in HubSpot's 2026-03 search reference,
  HubSpot/HubSpot-public-api-spec-collection:PublicApiSpecs/CRM/Deals/Rollouts/424/
  2026-03/deals.json; ``deal_currency_code`` [unverified, as in the mapping]) associated
  with its company and contact, with **line items** (``name``, ``quantity``, ``price``,
  ``hs_sku``: §1.5; "``price`` cannot be negative", §1.5) associated with it, entered in
  an open stage and then moved to ``closedwon`` (the stage the reader's default mapping
  treats as an invoice, §1.5: stage values are internal ids) — except the last
  :data:`HELD_BACK` of the sample's regular invoices, which stay open until
  :meth:`HubSpotDemoSandbox.change_one` closes them one at a time.

The open stage is ``contractsent``: HubSpot's default pipeline stage ids are not in
SOURCES.md (only third-party code names them), so the id is [unverified]; it is safe
because the reader only asks whether a deal is in the closed stage.

What the reader computes (adapters/hubspot/mapping.py ``invoice_item``): an invoice's total
is Σ quantity × price over its line items, with no tax or discount of its own. So that the
sample's valid invoices stay valid with the sample's totals, the person enters:

- a line whose quantity × price is not a whole number of cents (2.25 h × 112.37) as one
  line of quantity 1 at the rounded amount, naming the original figures
  ("Labour, per hour (2.25 x 112.37)"): the reader would otherwise state a total with
  four decimals;
- the lines' tax as one more line item "Sales tax" (HubSpot's own tax is a rate group,
  ``hs_tax_rate_group_id``, §1.5, which the reader does not read);
- a discount folded into the invoice's largest line (its price less the discount, named
  in the line): a negative "discount" line item is not allowed (``price`` ≥ 0). No sample
  discount exceeds its invoice's largest line; one that did would be left out (the total
  then disagrees, and the test of every sample invoice's lines says so).

Then Σ lines = the sample's stated total. Sample rows that are deliberately invalid stay
invalid where HubSpot can hold the fault (currency XYZ, a quantity of 0, a customer not
in the sample — the deal gets no company, so the reader names no customer —, a EUR
invoice without rate — the reader carries no exchange rate, so *every* non-USD invoice
lacks one when the ledger's home currency is USD); faults HubSpot cannot express (a stated total
that disagrees with the lines, a ``custom_fee`` line type, a bad email on a company) are
entered as the nearest valid record.

Webhooks: :meth:`HubSpotDemoSandbox.delivery` is the v3-signed delivery HubSpot's sender
makes (the store's ``signed_webhook``: §1.7), one ``deal.propertyChange`` event per hint
with ``propertyName``/``propertyValue`` (§1.7 payload fields), to the URL ``syncledger
serve`` listens on. Payment status written back is the deal property
``syncledger_payment_status`` the reader's write-back sets
(adapters/hubspot/writeback.py).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from importlib import resources

from starlette.applications import Starlette

from syncledger.adapters.hubspot.sandbox.server import (
    TEST_CLIENT_SECRET,
    HubSpotSandbox,
    create_app,
)
from syncledger.core.errors import SourceError
from syncledger.core.money import quantize
from syncledger.core.source_ports import RecordHint, WebhookRequest

SAMPLE_PACKAGE = "syncledger.core.sample_data"
#: where ``syncledger serve`` takes HubSpot's deliveries (core/serve.py)
WEBHOOK_URL = "https://hooks.example.com/webhooks/hubspot"
OPEN_STAGE = "contractsent"  # [unverified]: see the module docstring
CLOSED_STAGE = "closedwon"  # the reader's default closed stage (source_mapping.toml)
HELD_BACK = 5
#: the deal property the reader's write-back sets (adapters/hubspot/writeback.py)
PAID_PROPERTY = "syncledger_payment_status"
_US_CITY = re.compile(r"(?P<city>[^,]+), (?P<state>[A-Z]{2}) (?P<zip>\d{5}(-\d{4})?)")


# --------------------------------------------------------------------- the sample


@dataclass(frozen=True, slots=True)
class SampleCustomer:
    id: str
    name: str
    contact_name: str
    email: str
    phone: str
    billing_address: str


@dataclass(frozen=True, slots=True)
class SampleLine:
    description: str
    quantity: str
    unit_price: str
    tax_amount: str
    item_code: str


@dataclass(frozen=True, slots=True)
class SampleInvoice:
    id: str
    customer_id: str
    issue_date: str
    currency: str
    discount: str
    total: str
    lines: tuple[SampleLine, ...]


@dataclass(frozen=True, slots=True)
class LineEntry:
    """One line item as the person types it."""

    name: str
    quantity: str
    price: str
    sku: str = ""

    def properties(self) -> dict[str, str]:
        props = {"name": self.name, "quantity": self.quantity, "price": self.price}
        return props | ({"hs_sku": self.sku} if self.sku else {})


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files(SAMPLE_PACKAGE).joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def sample_customers() -> list[SampleCustomer]:
    return [
        SampleCustomer(
            r["id"], r["name"], r["contact_name"], r["email"], r["phone"], r["billing_address"]
        )
        for r in _rows("customers.csv")
    ]


def sample_invoices() -> list[SampleInvoice]:
    """invoices.csv has one row per line; rows of one invoice are grouped by id, in order."""
    grouped: dict[str, list[dict[str, str]]] = {}
    for row in _rows("invoices.csv"):
        grouped.setdefault(row["id"], []).append(row)
    return [_invoice(rows) for rows in grouped.values()]


def _invoice(rows: Sequence[Mapping[str, str]]) -> SampleInvoice:
    head = rows[0]
    lines = tuple(
        SampleLine(
            r["description"], r["quantity"], r["unit_price"], r["tax_amount"], r["item_code"]
        )
        for r in rows
    )
    return SampleInvoice(
        head["id"],
        head["customer_id"],
        head["issue_date"],
        head["currency"],
        head["discount"],
        head["total"],
        lines,
    )


# --------------------------------------------------------------------- what is typed in


def _number(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip() or "0")
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _cents(amount: Decimal, currency: str) -> bool:
    try:
        return quantize(amount, currency) == amount
    except InvalidOperation:
        return False


def _line(line: SampleLine, currency: str) -> LineEntry:
    quantity, price = _number(line.quantity), _number(line.unit_price)
    if quantity is None or price is None:  # entered as written: the reader reports it
        return LineEntry(line.description, line.quantity, line.unit_price, line.item_code)
    amount = quantity * price
    if _cents(amount, currency):
        return LineEntry(line.description, line.quantity, line.unit_price, line.item_code)
    name = f"{line.description} ({line.quantity} x {line.unit_price})"
    return LineEntry(name, "1", str(quantize(amount, currency)), line.item_code)


def _amount(entry: LineEntry) -> Decimal:
    return (_number(entry.quantity) or Decimal(0)) * (_number(entry.price) or Decimal(0))


def deal_lines(invoice: SampleInvoice) -> list[LineEntry]:
    """The line items whose Σ quantity × price is the sample's total (module docstring)."""
    entries = [_line(ln, invoice.currency) for ln in invoice.lines]
    tax = sum((_number(ln.tax_amount) or Decimal(0) for ln in invoice.lines), Decimal(0))
    if tax > 0:
        entries.append(LineEntry("Sales tax", "1", str(tax)))
    discount = _number(invoice.discount) or Decimal(0)
    if discount > 0 and entries:
        at = max(range(len(entries)), key=lambda i: _amount(entries[i]))
        big = entries[at]
        if _amount(big) >= discount:
            name = f"{big.name} (less discount {invoice.discount})"
            entries[at] = LineEntry(name, "1", str(_amount(big) - discount), big.sku)
    return entries


def address_properties(text: str) -> dict[str, str]:
    """``street\\ncity, ST 12345`` or ``street\\ncity and postcode, Country``."""
    street, _, rest = text.partition("\n")
    props = {"address": street.strip()}
    rest = rest.strip()
    us = _US_CITY.fullmatch(rest)
    if us:
        return props | {"city": us["city"], "state": us["state"], "zip": us["zip"]}
    place, sep, country = rest.rpartition(", ")
    return props | ({"city": place, "country": country} if sep else {"city": rest} if rest else {})


def company_properties(c: SampleCustomer) -> dict[str, str]:
    props = {"name": c.name, "phone": c.phone, **address_properties(c.billing_address)}
    return {k: v for k, v in props.items() if v}


def contact_properties(c: SampleCustomer) -> dict[str, str] | None:
    first, _, last = c.contact_name.strip().partition(" ")
    props = {"firstname": first, "lastname": last.strip(), "email": c.email.strip()}
    props = {k: v for k, v in props.items() if v}
    return props or None


def _deal_properties(invoice: SampleInvoice) -> dict[str, str]:
    return {
        "dealname": f"Invoice {invoice.id}",
        "dealstage": OPEN_STAGE,
        "closedate": f"{invoice.issue_date}T00:00:00.000Z",
        "amount": invoice.total,
        "deal_currency_code": invoice.currency,
    }


def _held_back(invoices: Sequence[SampleInvoice]) -> set[str]:
    """The last regular invoices (the sample names its deliberately bad ones INV-BAD-*)."""
    regular = [i.id for i in invoices if "-BAD-" not in i.id]
    return set(regular[-HELD_BACK:])


# --------------------------------------------------------------------- the person


@dataclass(frozen=True, slots=True)
class SeedCounts:
    companies: int
    contacts: int
    deals: int
    closed: int
    line_items: int

    def line(self) -> str:
        return (
            f"HubSpot sandbox: {self.companies} companies, {self.contacts} contacts, "
            f"{self.deals} deals ({self.closed} closed won) with {self.line_items} line items"
        )


class HubSpotDemoSandbox:
    """The DemoSandbox for HubSpot (adapters/sources/registry.py)."""

    def __init__(self, *, rate_scale: float = 1.0) -> None:
        self.sandbox = HubSpotSandbox(rate_scale=rate_scale)
        self.app: Starlette = create_app(self.sandbox)
        self.counts: SeedCounts | None = None
        #: sample invoice id → deal id, for every deal entered
        self.deals: dict[str, str] = {}
        self._held: list[str] = []

    async def seed(self) -> str:
        if self.counts is not None:
            return self.counts.line()
        companies, contacts = self._enter_customers(sample_customers())
        invoices = sample_invoices()
        held = _held_back(invoices)
        line_items = 0
        for invoice in invoices:
            deal, n = self._enter_deal(invoice, companies, contacts)
            line_items += n
            if invoice.id in held:
                self._held.append(deal)
            else:
                self.sandbox.store.move_deal(deal, CLOSED_STAGE)
        self.counts = SeedCounts(
            len(companies), len(contacts), len(invoices), len(invoices) - len(held), line_items
        )
        return self.counts.line()

    def _enter_customers(
        self, customers: Sequence[SampleCustomer]
    ) -> tuple[dict[str, str], dict[str, str]]:
        store = self.sandbox.store
        companies: dict[str, str] = {}
        contacts: dict[str, str] = {}
        for c in customers:
            companies[c.id] = store.create("companies", company_properties(c))
            props = contact_properties(c)
            if props is not None:
                contacts[c.id] = store.create("contacts", props)
                store.associate("contacts", contacts[c.id], "companies", companies[c.id])
        return companies, contacts

    def _enter_deal(
        self, invoice: SampleInvoice, companies: Mapping[str, str], contacts: Mapping[str, str]
    ) -> tuple[str, int]:
        store = self.sandbox.store
        deal = store.create("deals", _deal_properties(invoice))
        self.deals[invoice.id] = deal
        for to_kind, found in (("companies", companies), ("contacts", contacts)):
            if invoice.customer_id in found:  # a customer not in the sample: no company
                store.associate("deals", deal, to_kind, found[invoice.customer_id])
        entries = deal_lines(invoice)
        for entry in entries:
            item = store.create("line_items", entry.properties())
            store.associate("deals", deal, "line_items", item)
        return deal, len(entries)

    async def change_one(self) -> RecordHint:
        if not self._held:
            raise SourceError(
                "the HubSpot demo sandbox has no open deal left to close: seed() first "
                f"(it holds back {HELD_BACK})"
            )
        deal = self._held.pop(0)
        self.sandbox.store.move_deal(deal, CLOSED_STAGE)
        return RecordHint("invoice", deal)

    def delivery(self, hints: Sequence[RecordHint]) -> WebhookRequest:
        store = self.sandbox.store
        events = [self._event(h) for h in hints]
        return store.signed_webhook(
            events, secret=TEST_CLIENT_SECRET, url=WEBHOOK_URL, at=datetime.now(UTC)
        )

    def _event(self, hint: RecordHint) -> dict[str, object]:
        change = "deletion" if hint.deleted else "propertyChange"
        if hint.kind == "invoice":
            event = self.sandbox.store.event("deals", hint.id, change)
            stage = self.sandbox.store.records["deals"].get(hint.id)
            if stage is not None and not hint.deleted:
                value = stage.properties.get("dealstage", "")
                event |= {"propertyName": "dealstage", "propertyValue": value}
            return event
        if hint.id.startswith("contact-"):
            return self.sandbox.store.event("contacts", hint.id.removeprefix("contact-"), change)
        return self.sandbox.store.event("companies", hint.id, change)

    async def shows_paid(self) -> int:
        deals = self.sandbox.store.live("deals")
        return sum(1 for d in deals if d.properties.get(PAID_PROPERTY))


__all__ = ["HubSpotDemoSandbox", "SeedCounts", "deal_lines", "sample_customers", "sample_invoices"]
