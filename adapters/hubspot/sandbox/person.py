"""HubSpot's sandbox with a person at it, for ``syncledger demo --source hubspot``.

The person enters the sample data (``core/sample_data``, read as typed records by
``core/sample_data/typed.py``) the way a HubSpot user does:

- each customer is a **company** (``name``, ``phone``, ``address``/``city``/``state``/
  ``zip``/``country`` — SOURCES.md §1.4 names ``name``; the others are the properties our
  mapping reads, marked [unverified] in ``adapters/hubspot/source_mapping.toml`` — and
  ``customer_currency``, a company property the person creates first, as a firm billing
  in several currencies would), its
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
  ``hs_tax_rate_group_id``, §1.5, whose amount no documented property gives: the reader
  refuses a deal whose line items carry one, mapping.py);
- a discount folded into the invoice's largest line (its price less the discount, named
  in the line): a negative "discount" line item is not allowed (``price`` ≥ 0). No sample
  discount exceeds its invoice's largest line; one that did would be left out (the total
  then disagrees, and the test of every sample invoice's lines says so).

Then Σ lines = the sample's stated total. Sample rows that are deliberately invalid stay
invalid where HubSpot can hold the fault (currency XYZ, a quantity of 0, a customer not
in the sample — the deal gets no company, so the reader names no customer); faults
HubSpot cannot express (a stated total that disagrees with the lines, a ``custom_fee``
line type, a bad email on a company, a EUR invoice without a rate — HubSpot keeps rates
per currency, not per deal, so a EUR deal closed after the first EUR rate has one) are
entered as the nearest valid record.

Exchange rates: for each foreign-currency sample invoice the person enters its rate in
HubSpot's currency settings (Settings > Currencies: a dated rate from that currency into
the company currency, USD), effective from the invoice's date; the reader then gives each
deal the rate in force on its close date (adapters/hubspot/rates.py). Two sample invoices
of one currency on one day with different rates get the later-entered one (HubSpot holds
one rate per moment).

Webhooks: :meth:`HubSpotDemoSandbox.delivery` is the v3-signed delivery HubSpot's sender
makes (the store's ``signed_webhook``: §1.7), one ``deal.propertyChange`` event per hint
with ``propertyName``/``propertyValue`` (§1.7 payload fields), to the URL ``syncledger
serve`` listens on. Payment status written back is the deal property
``syncledger_payment_status`` the reader's write-back sets
(adapters/hubspot/writeback.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from starlette.applications import Starlette

from syncledger.adapters.hubspot.sandbox.server import (
    TEST_CLIENT_SECRET,
    HubSpotSandbox,
    create_app,
)
from syncledger.core.errors import SourceError
from syncledger.core.sample_data.typed import (
    SampleCustomer,
    SampleInvoice,
    SampleLine,
    last_regular,
    rounded_net,
    sample_customers,
    sample_invoices,
    split_address,
)
from syncledger.core.source_ports import RecordHint, WebhookRequest

#: where ``syncledger serve`` takes HubSpot's deliveries (core/serve.py)
WEBHOOK_URL = "https://hooks.example.com/webhooks/hubspot"
OPEN_STAGE = "contractsent"  # [unverified]: see the module docstring
CLOSED_STAGE = "closedwon"  # the reader's default closed stage (source_mapping.toml)
HELD_BACK = 5
#: the company property the person creates for customers' currencies (the reader's
#: default mapping reads it: source_mapping.toml ``[company] currency``)
CURRENCY_PROPERTY = "customer_currency"
#: its definition, as a person creates it in HubSpot's settings (the properties spec's
#: required fields, SOURCES.md §1.6; ``companyinformation`` is HubSpot's default company
#: property group [unverified: the person's choice of group is not checked by the reader])
CURRENCY_DEFINITION = {
    "name": CURRENCY_PROPERTY,
    "label": "Customer currency",
    "groupName": "companyinformation",
    "type": "string",
    "fieldType": "text",
    "hubspotDefined": False,
    "archived": False,
}
#: the deal property the reader's write-back sets (adapters/hubspot/writeback.py)
PAID_PROPERTY = "syncledger_payment_status"


# --------------------------------------------------------------------- what is typed in


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

    def amount(self) -> Decimal:
        return Decimal(self.quantity) * Decimal(self.price)


def _line(line: SampleLine, currency: str) -> LineEntry:
    rounded = rounded_net(line, currency)
    if rounded is None:
        return LineEntry(line.description, str(line.quantity), str(line.unit_price), line.item_code)
    name = f"{line.description} ({line.quantity} x {line.unit_price})"
    return LineEntry(name, "1", str(rounded), line.item_code)


def _less_discount(entries: list[LineEntry], discount: Decimal) -> list[LineEntry]:
    """The discount folded into the largest line, when that line can carry it."""
    at = max(range(len(entries)), key=lambda i: entries[i].amount())
    big = entries[at]
    if big.amount() < discount:
        return entries
    name = f"{big.name} (less discount {discount})"
    less = LineEntry(name, "1", str(big.amount() - discount), big.sku)
    return [*entries[:at], less, *entries[at + 1 :]]


def deal_lines(invoice: SampleInvoice) -> list[LineEntry]:
    """The line items whose Σ quantity × price is the sample's total (module docstring)."""
    entries = [_line(ln, invoice.currency) for ln in invoice.lines]
    if invoice.tax > 0:
        entries.append(LineEntry("Sales tax", "1", str(invoice.tax)))
    discount = invoice.discount or Decimal(0)
    return _less_discount(entries, discount) if discount > 0 and entries else entries


def address_properties(text: str) -> dict[str, str]:
    """``street\\ncity, ST 12345`` or ``street\\ncity and postcode, Country``."""
    a = split_address(text)
    parts = {"city": a.city, "state": a.state, "zip": a.postcode, "country": a.country}
    return {"address": a.street} | {k: v for k, v in parts.items() if v}


def company_properties(c: SampleCustomer) -> dict[str, str]:
    props = {
        "name": c.name,
        "phone": c.phone,
        CURRENCY_PROPERTY: c.currency,
        **address_properties(c.billing_address),
    }
    return {k: v for k, v in props.items() if v}


def contact_properties(c: SampleCustomer) -> dict[str, str] | None:
    props = {"firstname": c.first_name, "lastname": c.last_name, "email": c.email.strip()}
    props = {k: v for k, v in props.items() if v}
    return props or None


def _deal_properties(invoice: SampleInvoice) -> dict[str, str]:
    return {
        "dealname": f"Invoice {invoice.id}",
        "dealstage": OPEN_STAGE,
        "closedate": f"{invoice.issue_date}T00:00:00.000Z",
        "amount": str(invoice.total),
        "deal_currency_code": invoice.currency,
    }


def _held_back(invoices: Sequence[SampleInvoice]) -> set[str]:
    """The last regular invoices (the sample names its deliberately bad ones INV-BAD-*)."""
    return {i.id for i in last_regular(invoices, HELD_BACK)}


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
        self._enter_rates(invoices)
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

    def _enter_rates(self, invoices: Sequence[SampleInvoice]) -> None:
        currencies = self.sandbox.currencies
        for invoice in sorted(invoices, key=lambda i: i.issue_date):
            if invoice.currency == currencies.company_currency or invoice.exchange_rate is None:
                continue
            day = date.fromisoformat(invoice.issue_date)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            currencies.add_rate(invoice.currency, invoice.exchange_rate, moment)

    def _enter_customers(
        self, customers: Sequence[SampleCustomer]
    ) -> tuple[dict[str, str], dict[str, str]]:
        store = self.sandbox.store
        store.property_defs["companies"][CURRENCY_PROPERTY] = dict(CURRENCY_DEFINITION)
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


__all__ = [
    "HubSpotDemoSandbox",
    "SampleCustomer",
    "SampleInvoice",
    "SeedCounts",
    "deal_lines",
    "sample_customers",
    "sample_invoices",
]
