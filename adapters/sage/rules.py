"""What Sage Business Cloud Accounting accepts: maximum lengths from its v3.1
``swagger.full.json`` (Contact, ContactPerson, Address, SalesInvoice); an address is four
lines (address_line_1, address_line_2, city, region)."""

from __future__ import annotations

from typing import Final

from syncledger.core.validation import NO_COLON, LedgerRules

_LIMITS: Final = {
    "customer.name": 100,
    "customer.contact_name": 50,
    "customer.email": 100,
    "customer.phone": 50,
    "customer.address_line": 50,
    "customer.address_lines": 4,
    "document.number": 25,
}

RULES: Final = LedgerRules(
    ledger="sage",
    max_length=_LIMITS,
    forbidden=NO_COLON,
    sources=dict.fromkeys(
        _LIMITS,
        "Sage Accounting v3.1 swagger.full.json maxLength (Contact, ContactPerson, Address, "
        "SalesInvoice); address: 4 lines = address_line_1, address_line_2, city, region",
    ),
)
