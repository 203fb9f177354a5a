"""A person at the Jobber sandbox, for ``syncledger demo --source jobber`` (``DemoSandbox``).

The person enters the project's sample (``core/sample_data``, read as typed records by
``core/sample_data/typed.py``): each customer becomes a client (company name, contact
person's first/last name, primary email and phone, billing address) with one property
(service address) at its billing address; each invoice becomes an invoice of its client
with the sample's number, issue and due dates, line items (``name, description,
quantity, unitPrice, taxable``: ``InvoiceLineItem``, GitHub file id 61006938799), its tax
and its discount. The last :data:`HELD_BACK` ordinary invoices are still being written:
they are saved as drafts, and :meth:`JobberDemo.change_one` sends the next one while the
demo runs (Jobber: a draft "will move into the next status when it is sent ... or marked
as sent", https://help.getjobber.com/hc/en-us/articles/115009623528). Records go in through
the sandbox's own store (never the adapter).

What the sample cannot be in Jobber, and the safe path taken:

* Jobber documents no currency on clients or invoices (the account has one; the reader
  stamps the ``currency`` setting on everything it reads): customers and invoices in
  another currency than the account's (EUR, GBP, the sample's bad XYZ) are left out, not
  entered under a currency they are not in. The line says how many.
* An invoice needs a client: the sample's invoice naming a customer it does not have is
  left out.
* Tax is one amount per invoice in Jobber, charged on the lines marked ``taxable``
  (``InvoiceAmounts.taxAmount``; ``InvoiceLineItem.taxable``); the sample taxes each line
  on its own. The person marks the sample's taxed lines taxable and the invoice holds the
  sample's tax in total, as Jobber would show it (the sandbox keeps the amount entered; it
  computes no tax from a rate). The discount is the invoice's ``discountAmount``. Jobber's
  total is then the sample's: lines - discount + tax. The reader spreads the tax back over
  the taxable lines by their net amounts, so a line's tax may differ from the sample's by
  the spread; the invoice's tax and total do not.
* The sandbox totals a line as quantity x unitPrice unrounded, while every ledger (and
  validation) rounds each line to the cent; whether Jobber rounds ``totalCost`` is not
  documented. A line whose quantity x unit price is not whole cents (2.25 h at 112.37) is
  entered as one unit at the rounded amount with "2.25 x 112.37" in its description, so
  the invoice's total is the one validation computes.
* The sample's deliberately wrong total cannot be held: Jobber computes totals. Its other
  deliberately bad rows (a ``:`` in a name, a broken email, a zero quantity) are entered as
  they are and stay invalid.

Webhooks: ``{TOPIC}_CREATE/_UPDATE/_DESTROY`` topics (``WebHookTopicEnum``:
https://developer.getjobber.com/docs/using_jobbers_api/setting_up_webhooks/), one event per
delivery, signed by the sandbox's own helper (``JobberSandbox.signed_webhook``: base64
HMAC-SHA256 of the body with the app's client secret). Payment status written back is an
invoice payment record whose note starts ``syncledger:`` (adapters/jobber/writeback.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from syncledger.adapters.jobber.sandbox.server import create_app, sandbox_of
from syncledger.adapters.jobber.sandbox.store import Store
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

HELD_BACK = 5
#: what the write-back's payment-record note starts with (adapters/jobber/writeback.py)
WRITTEN_BACK = "syncledger:"
TOPICS = {"customer": "CLIENT", "invoice": "INVOICE", "payment": "PAYMENT"}


@dataclass(frozen=True, slots=True)
class Plan:
    """What the person enters now, keeps back, and cannot enter."""

    customers: tuple[SampleCustomer, ...]
    invoices: tuple[SampleInvoice, ...]
    held: tuple[SampleInvoice, ...]
    foreign: int  # customers and invoices in another currency than the account's
    orphans: int  # invoices whose customer is not in the sample


def plan(currency: str) -> Plan:
    customers = sample_customers()
    home = tuple(c for c in customers if c.currency == currency)
    known = {c.id for c in home}
    invoices = sample_invoices()
    ours = [i for i in invoices if i.currency == currency]
    entered = [i for i in ours if i.customer_id in known]
    held = tuple(last_regular(entered, HELD_BACK))
    now = tuple(i for i in entered if i not in held)
    foreign = len(customers) - len(home) + len(invoices) - len(ours)
    return Plan(home, now, held, foreign, len(ours) - len(entered))


def address(text: str) -> dict[str, str]:
    """ "8172 Elm St\\nBoise, ID 83702" as Jobber's address fields."""
    a = split_address(text)
    if a.state:
        return {"street1": a.street, "city": a.city, "province": a.state, "postalCode": a.postcode}
    return {"street1": a.street, "street2": a.town} if a.town else {"street1": a.street}


def line_item(line: SampleLine, currency: str) -> dict[str, object]:
    rounded = rounded_net(line, currency)
    taxable = line.tax_amount > 0
    if rounded is None:
        return {
            "name": line.description,
            "description": "",
            "quantity": line.quantity,
            "unitPrice": line.unit_price,
            "taxable": taxable,
        }
    return {
        "name": line.description,
        "description": f"{line.quantity} x {line.unit_price}",
        "quantity": Decimal(1),
        "unitPrice": rounded,
        "taxable": taxable,
    }


def _client(store: Store, customer: SampleCustomer) -> str:
    billing = address(customer.billing_address)
    rid = store.put_client(
        companyName=customer.name,
        firstName=customer.first_name,
        lastName=customer.last_name,
        emails=[{"address": customer.email, "primary": True}],
        phones=[{"number": customer.phone, "primary": True}],
        billingAddress=billing,
    )
    store.add_property(rid, "Service address", billing)
    return rid


def _enter_invoice(
    store: Store, client_id: str, invoice: SampleInvoice, *, draft: bool = False
) -> str:
    lines = [line_item(x, store.currency) for x in invoice.lines]
    discount = invoice.discount or Decimal(0)
    rid = store.put_invoice(
        client_id, invoice.number, lines, tax=invoice.tax, discount=discount, draft=draft
    )
    # the dates the person types; Store.put_invoice has no parameters for them
    store.records[rid].fields.update(
        issuedDate=f"{invoice.issue_date}T00:00:00Z", dueDate=f"{invoice.due_date}T00:00:00Z"
    )
    return rid


class JobberDemo:
    """The Jobber sandbox app with a person entering the sample and issuing invoices."""

    def __init__(self, *, rate_scale: float = 1.0) -> None:
        self.app = create_app(None, rate_scale=rate_scale)
        self._sandbox = sandbox_of(self.app)
        self._store = self._sandbox.store
        self._clients: dict[str, str] = {}  # sample customer id -> Jobber client id
        self._drafts: list[str] = []  # Jobber ids of the invoices still being written

    async def seed(self) -> str:
        if self._clients:
            raise RuntimeError("the Jobber demo sandbox is seeded already")
        todo = plan(self._store.currency)
        for customer in todo.customers:
            self._clients[customer.id] = _client(self._store, customer)
        for invoice in todo.invoices:
            _enter_invoice(self._store, self._clients[invoice.customer_id], invoice)
        self._drafts = [
            _enter_invoice(self._store, self._clients[i.customer_id], i, draft=True)
            for i in todo.held
        ]
        return _summary(todo, self._store.currency)

    async def change_one(self) -> RecordHint:
        """The person sends the next draft: Jobber announces it as ``INVOICE_UPDATE``."""
        if not self._drafts:
            raise RuntimeError("no draft invoice is left to send: seed() first")
        rid = self._drafts.pop(0)
        self._store.mark_sent(rid)
        return RecordHint("invoice", rid)

    def delivery(self, hints: Sequence[RecordHint]) -> WebhookRequest:
        """Jobber's sender posts one event per delivery: exactly one hint."""
        if len(hints) != 1:
            raise ValueError(f"Jobber sends one event per webhook, not {len(hints)}")
        [hint] = hints
        action = "DESTROY" if hint.deleted else "UPDATE"
        return self._sandbox.signed_webhook(f"{TOPICS[hint.kind]}_{action}", hint.id)

    async def shows_paid(self) -> int:
        return sum(
            any(str(p.get("note", "")).startswith(WRITTEN_BACK) for p in r.fields["paymentRecords"])
            for r in self._store.of_kind("Invoice")
        )


def _summary(todo: Plan, currency: str) -> str:
    lines = sum(len(i.lines) for i in todo.invoices)
    taxed = sum(i.tax > 0 for i in todo.invoices)
    discounted = sum(bool(i.discount) for i in todo.invoices)
    n = len(todo.customers)
    return (
        f"Jobber sandbox: {n} clients with {n} properties, {len(todo.invoices)} invoices "
        f"with {lines} line items ({taxed} taxed, {discounted} discounted) and "
        f"{len(todo.held)} draft invoices still being written (one is sent during the demo); "
        f"left out: {todo.foreign} customers/invoices not in the account's {currency}, "
        f"{todo.orphans} invoice without its customer"
    )


__all__ = ["HELD_BACK", "JobberDemo", "Plan", "address", "line_item", "plan", "sample_invoices"]
