"""Customer details as a FreshBooks client holds them (issue #11, the reverse direction:
``core/customer_details.py``).

Read off the client the adapter already fetched (``LedgerRecord.raw``: a ``GET
/accounting/account/{id}/users/clients`` answer, the back-sync's ``search[updated_min]``
read included), at the fields ``mapping.toml`` ``[customer.fields]`` writes them to:
``email``, ``bus_phone`` and ``p_street`` by default. No request is made.
"""

from __future__ import annotations

from syncledger.adapters.customer_details import details_at, field_of
from syncledger.adapters.freshbooks.mapping import FreshBooksMapping
from syncledger.core.ports import LedgerRecord


def customer_details(mapping: FreshBooksMapping, record: LedgerRecord) -> dict[str, str | None]:
    """``email``, ``phone``, ``billing_address`` of a FreshBooks client (None: none)."""
    return details_at(record.raw, mapping.fields.get("customer", {}), read=field_of)
