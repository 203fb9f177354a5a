"""What QuickBooks Online accepts, checked before a record is pushed.

Sources: DisplayName ≤ 100 with no ':' (QuickBooks reserves it for sub-customers) and
DocNumber ≤ 21 from the syncledger brief; email, phone and address lengths from the
QuickBooks Online import field tables (third-party copy, ``sources`` below).
"""

from __future__ import annotations

from typing import Final

from syncledger.core.validation import NO_COLON, LedgerRules

_IMPORT_TABLES = "3P: QuickBooks Online import field tables"

RULES: Final = LedgerRules(
    ledger="qbo",
    max_length={
        "customer.name": 100,
        "document.number": 21,
        "customer.email": 100,
        "customer.phone": 21,
        "customer.address_line": 500,
        "customer.address_lines": 5,
    },
    forbidden=NO_COLON,
    sources={
        "customer.name": "syncledger brief (DisplayName <= 100, no ':' tab newline)",
        "document.number": "syncledger brief (DocNumber <= 21)",
        "customer.email": _IMPORT_TABLES,
        "customer.phone": _IMPORT_TABLES,
        "customer.address_line": _IMPORT_TABLES,
        "customer.address_lines": _IMPORT_TABLES,
    },
)
