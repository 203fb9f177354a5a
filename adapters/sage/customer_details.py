"""Customer details as a Sage Accounting contact holds them (issue #11, the reverse
direction: ``core/customer_details.py``).

Read off the contact the adapter already fetched (``LedgerRecord.raw``: ``GET /contacts``
with ``attributes=all``, the back-sync's ``updated_or_created_since`` read included), at
the paths ``mapping.toml`` writes them to: ``[customer.fields]``
``main_contact_person.email`` and ``main_contact_person.telephone`` by default, and the
billing address from ``[customer.address]``: the lines of ``main_address``
(``address_line_1``, ``address_line_2``, ``city``, ``region``) that hold text, joined by
line breaks as the mapping split them. No request is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncledger.adapters.customer_details import details_at, first_paths
from syncledger.adapters.sage.mapping import SageMapping
from syncledger.core.customer_details import detail_text
from syncledger.core.ports import LedgerRecord


def _address(mapping: SageMapping, raw: Mapping[str, Any]) -> str | None:
    held = raw.get(mapping.setting("customer", "address_field"))
    if not isinstance(held, Mapping):
        return None
    lines = [detail_text(held.get(name)) for name in mapping.settings["customer"]["address_lines"]]
    return "\n".join(line for line in lines if line) or None


def customer_details(mapping: SageMapping, record: LedgerRecord) -> dict[str, str | None]:
    """``email``, ``phone``, ``billing_address`` of a Sage contact (None: it has none)."""
    places = first_paths(mapping.fields.get("customer", {}))
    found = details_at(record.raw, places, fields=("email", "phone"))
    found["billing_address"] = _address(mapping, record.raw)
    return found
