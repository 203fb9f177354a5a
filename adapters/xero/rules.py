"""What Xero accepts: maximum lengths from the Xero OpenAPI (``xero_accounting.yaml``
``maxLength``); an invoice needs a due date to be approved (third-party: Workato's Xero
docs). No character is refused in contact names (none is documented)."""

from __future__ import annotations

from typing import Final

from syncledger.core.validation import LedgerRules

_LIMITS: Final = {
    "customer.name": 255,
    "customer.contact_name": 255,
    "customer.email": 255,
    "customer.phone": 50,
    "customer.tax_id": 50,
    "customer.address_line": 500,
    "customer.address_lines": 4,
    "document.number": 255,
    "line.item_code": 30,
}

RULES: Final = LedgerRules(
    ledger="xero",
    max_length=_LIMITS,
    required={"invoice": frozenset({"due_date"})},
    sources={
        **dict.fromkeys(_LIMITS, "Xero OpenAPI xero_accounting.yaml maxLength"),
        "invoice.due_date": "3P: Workato Xero docs (due date required to approve)",
    },
)
