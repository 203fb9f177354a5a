"""What QuickBooks Desktop accepts (maximum lengths from ``PLATFORMS.md``, QuickBooks
Desktop section); ':' is refused in customer names (sub-customer separator)."""

from __future__ import annotations

from typing import Final

from syncledger.core.validation import NO_COLON, LedgerRules

_LIMITS: Final = {
    "customer.name": 41,
    "customer.contact_name": 41,
    "customer.email": 1023,
    "customer.phone": 21,
    "customer.address_line": 41,
    "customer.address_lines": 5,
    "document.number": 11,
    "line.description": 4095,
    "payment.reference": 20,
}

RULES: Final = LedgerRules(
    ledger="qbd",
    max_length=_LIMITS,
    forbidden=NO_COLON,
    sources=dict.fromkeys(_LIMITS, "PLATFORMS.md (QuickBooks Desktop maximum lengths)"),
)
