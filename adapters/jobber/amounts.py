"""A Jobber invoice's tax, discount and status as canonical invoice fields.

Facts (Jobber's GraphQL schema as dumped by ``__type`` introspection, third-party [S]:
"Jobber GraphQL — Object Types Reference", GitHub file id 61006938799; the same names in
live queries of other apps, GitHub file ids 69032567032, 58606759235, 54978451983):

* ``Invoice.invoiceStatus: InvoiceStatusTypeEnum!`` ∈ ``draft, awaiting_payment, paid,
  past_due, bad_debt, sent_not_due`` (GitHub file id 61308638779; SOURCES.md §2.1).
* ``InvoiceAmounts``: ``subtotal`` ("line item costs but excluding tax amounts"),
  ``discountAmount``, ``taxAmount``, ``total`` ("including line item costs and tax
  amounts"), ``paymentsTotal``, ``invoiceBalance``. There is no ``paidAmount`` or
  ``balance`` (GitHub file id 67521459086 lists them; the introspection dump and every live
  query found use ``paymentsTotal``/``invoiceBalance``).
* ``InvoiceLineItem``: ``name, description, quantity, unitPrice, totalPrice, taxable:
  Boolean!`` (no ``unitCost``: that is a product's internal cost).

Drafts: "Draft: the invoice has been created, but hasn't been sent to a client or marked as
sent"; a draft "will move into the next status when it is sent ... or marked as sent"
(Jobber Help Center, Invoice Statuses and Actions,
https://help.getjobber.com/hc/en-us/articles/115009623528). The API's only status moves are
``invoiceMarkAsSent`` ("Mark a draft invoice as sent") and ``invoiceReopen`` ("Re-open a
paid invoice") (Mutations Reference, GitHub file id 61180821513). Nothing documents a way
back to draft. A draft is therefore read as nothing at all: one never sent leaves no trace,
and should a sent invoice ever read as a draft (a restored account, a sandbox started
afresh) its ledger invoice is left as it is — syncledger never voids a posted invoice on a
status Jobber does not document; the next sent version updates it as usual.

Tax: Jobber keeps one tax amount per invoice and marks lines ``taxable``; the canonical
invoice carries tax per line. ``taxAmount`` is spread over the taxable lines in proportion
to their net amounts (quantity × unit price, rounded to the currency's minor unit) with
:func:`syncledger.core.mapping.split_by_shares` (exact: the parts add up to ``taxAmount``
to the cent). ``discountAmount`` is the document's ``discount`` and ``total`` Jobber's
``amounts.total``. Nothing is adjusted: when Jobber's figures do not add up (a total that
is not lines + tax − discount, or tax on an invoice with no taxable line), validation
refuses the invoice with ``totals_mismatch``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from syncledger.core.mapping import split_by_shares
from syncledger.core.money import is_currency, minor_unit, quantize

DRAFT = "draft"


def is_draft(node: Mapping[str, Any]) -> bool:
    return node.get("invoiceStatus") == DRAFT


def number(value: Any) -> Decimal | None:
    """A JSON number (Jobber's Floats and coordinates) as a finite Decimal read through its
    text; None when it is absent, a boolean or not a finite number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        found = Decimal(str(value))
    except InvalidOperation:
        return None
    return found if found.is_finite() else None


def amount(node: Mapping[str, Any], name: str) -> Decimal | None:
    """``amounts.<name>`` as a Decimal (Jobber sends Floats: read through their text)."""
    return number((node.get("amounts") or {}).get(name))


def _line_nodes(node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(((node.get("lineItems") or {}).get("nodes")) or [])


def _share(line: Mapping[str, Any], taxable: bool, currency: str) -> Decimal | None:
    """The line's rounded net amount when it is taxable, 0 when it is not; None when the
    line's figures are not numbers (then nothing is spread: validation names them)."""
    quantity, price = number(line.get("quantity")), number(line.get("unit_price"))
    if quantity is None or price is None:
        return None
    return quantize(quantity * price, currency) if taxable else Decimal(0)


def tax_parts(
    lines: Sequence[Mapping[str, Any]], taxable: Sequence[bool], tax: Decimal, currency: str
) -> list[Decimal] | None:
    """``tax`` split over the taxable lines by their net amounts (0 on the others), or None
    when it cannot be: no taxable line with a positive net, a negative net, an unreadable
    figure, or flags that do not match the lines."""
    if len(lines) != len(taxable) or not is_currency(currency):
        return None
    shares = [_share(line, flag, currency) for line, flag in zip(lines, taxable, strict=True)]
    if any(s is None or s < 0 for s in shares):
        return None
    taxed = [i for i, s in enumerate(shares) if s]
    if not taxed:
        return None
    split = split_by_shares(tax, [shares[i] or Decimal(0) for i in taxed], minor_unit(currency))
    parts = [Decimal(0)] * len(lines)
    for index, part in zip(taxed, split, strict=True):
        parts[index] = part
    return parts


def with_tax(
    lines: list[dict[str, Any]], node: Mapping[str, Any], currency: str
) -> list[dict[str, Any]]:
    """The canonical lines with Jobber's ``taxAmount`` spread over the taxable ones; as
    they are when there is no tax or it cannot be spread (the total then disagrees and
    validation says ``totals_mismatch``)."""
    tax = amount(node, "taxAmount")
    if not tax:
        return lines
    taxable = [bool(n.get("taxable")) for n in _line_nodes(node)]
    parts = tax_parts(lines, taxable, tax, currency)
    if parts is None:
        return lines
    return [{**line, "tax_amount": str(part)} for line, part in zip(lines, parts, strict=True)]
