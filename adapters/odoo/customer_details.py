"""Customer details as an Odoo partner holds them (issue #11, the reverse direction:
``core/customer_details.py``).

Read off the ``res.partner`` row the adapter already read (``LedgerRecord.raw``: a
``search_read`` with ``READ_FIELDS["customer"]``, the back-sync's ``write_date`` read
included), at the fields ``mapping.toml`` ``[customer.fields]`` writes them to:
``email``, ``phone`` and ``street`` by default. Odoo answers ``False`` for an empty
field: no detail. No request is made.

The billing address is not read in parts: the adapter reads a partner's ``street`` only
(the field the mapping writes the whole address to; ``READ_FIELDS["customer"]`` in
adapters/odoo/mapping.py), and of Odoo's other address fields the state and the country are
references to other records (``state_id``, ``country_id``), not text. So this ledger does not
implement ``LedgerAddressParts``: a bookkeeper's change of the address is refused
``no_parts`` on its way back (core/customer_reverse.py), never split.
"""

from __future__ import annotations

from syncledger.adapters.customer_details import details_at, field_of
from syncledger.adapters.odoo.mapping import OdooMapping
from syncledger.core.ports import LedgerRecord


def customer_details(mapping: OdooMapping, record: LedgerRecord) -> dict[str, str | None]:
    """``email``, ``phone``, ``billing_address`` of an Odoo partner (None: it has none)."""
    return details_at(record.raw, mapping.customer_fields, read=field_of)
