"""Customer details as a FreshBooks client holds them (issue #11, the reverse direction:
``core/customer_details.py``).

Read off the client the adapter already fetched (``LedgerRecord.raw``: a ``GET
/accounting/account/{id}/users/clients`` answer, the back-sync's ``search[updated_min]``
read included), at the fields ``mapping.toml`` ``[customer.fields]`` writes them to:
``email``, ``bus_phone`` and ``p_street`` by default. No request is made.

The billing address in parts: a client's primary address is ``p_street``, ``p_street2``,
``p_city``, ``p_province``, ``p_code``, ``p_country`` (the client fields FreshBooks' Node
SDK writes, freshbooks/freshbooks-nodejs-sdk @91cfeeed ``transformClientRequest``, as
adapters/freshbooks/sandbox/rules.py lists them). They are read when the mapping writes the
address to ``p_street``; its text is then the parts joined. The forward sync writes the
whole address to ``p_street`` (several lines: one text, not parts, until a bookkeeper fills
the address's own fields).
"""

from __future__ import annotations

from syncledger.adapters.customer_details import AddressFields, DetailsReader, field_of
from syncledger.adapters.freshbooks.mapping import FreshBooksMapping

ADDRESS = AddressFields(
    street=("p_street", "p_street2"),
    city="p_city",
    region="p_province",
    postal_code="p_code",
    country="p_country",
)

#: a client's details at its own fields (the whole address written to ``p_street``)
READER: DetailsReader[FreshBooksMapping] = DetailsReader(
    places=lambda mapping: mapping.fields.get("customer", {}), address=ADDRESS, read=field_of
)
customer_details = READER.customer_details
address_parts = READER.address_parts
address_as_written = READER.address_as_written
