"""Customer details as an Odoo partner holds them (issue #11, the reverse direction:
``core/customer_details.py``).

Read off the ``res.partner`` row the adapter already read (``LedgerRecord.raw``: a
``search_read`` with ``READ_FIELDS["customer"]``, the back-sync's ``write_date`` read
included), at the fields ``mapping.toml`` ``[customer.fields]`` writes them to:
``email``, ``phone`` and ``street`` by default. Odoo answers ``False`` for an empty
field: no detail. No request is made.

The billing address in parts: a partner's address fields are ``street``, ``street2``,
``zip``, ``city``, ``state_id`` and ``country_id`` (odoo/odoo
``odoo/addons/base/models/res_partner.py``, ``ADDRESS_FIELDS``); the first four are text
(``fields.Char``), the state and the country are links to other records
(``fields.Many2one`` to ``res.country.state`` and ``res.country``). They are read when the
mapping writes the address to ``street``; the address's text is then the parts joined. The
forward sync writes the whole address to ``street`` (several lines: one text, not parts,
until a bookkeeper fills the partner's own address fields).

What the adapter receives for a link: ``search_read(domain, fields, ...)`` is a
``search_fetch`` followed by ``_read_format(fnames=fields, **read_kwargs)``, whose ``load``
defaults to ``'_classic_read'``, so ``use_display_name`` is true, and a many2one's
``convert_to_read`` answers ``(value.id, value.sudo().display_name)``, or ``False`` when the
link is empty (``odoo/orm/models.py`` ``search_read``, ``read``, ``_read_format``;
``odoo/orm/fields_relational.py`` ``Many2one.convert_to_read``). JSON-2 answers the pair as
a JSON array and XML-RPC as an array, so the row holds ``[id, "display name"]``. The
adapter passes no ``load``, so it always gets the pair; a link that came back as an id
alone would be left out (no part), never looked up (no second request per record) nor
named by guess.

- ``country_id``: a country's display name is its ``name`` (``res.country`` has no
  ``_compute_display_name`` of its own; its ``_rec_name`` is ``name``, translated in the
  user's language), e.g. ``United States``. That is the country part.
- ``state_id``: a state's display name is ``f"{name} ({country_id.code})"``
  (``odoo/addons/base/models/res_country.py`` ``ResCountryState._compute_display_name``),
  e.g. ``California (US)``. The region part is the state's name: the `` (US)`` Odoo adds is
  taken off when it is the partner's own country code (``country_code``, res.partner's
  ``related='country_id.code'`` field, read in the same ``search_read``); a display name in
  another shape (a state of another country, a module's override) is the part as Odoo
  shows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncledger.adapters.customer_details import AddressFields, DetailsReader, field_of
from syncledger.adapters.odoo.mapping import OdooMapping

ADDRESS = AddressFields(
    street=("street", "street2"),
    city="city",
    region="state_id",
    postal_code="zip",
    country="country_id",
)
#: the partner's own field holding its country's ISO code (``related='country_id.code'``)
COUNTRY_CODE = "country_code"


def link_text(value: Any) -> str | None:
    """A many2one as ``search_read`` answers it: the display name of ``[id, name]``
    (None: no link, or an id without its name)."""
    if isinstance(value, list) and len(value) == 2 and isinstance(value[1], str):
        return value[1]
    return None


def state_name(display: str | None, country_code: Any) -> str | None:
    """A state's name from its display name ``Name (CC)`` when ``CC`` is ``country_code``."""
    suffix = f" ({country_code})"
    if display and isinstance(country_code, str) and display.endswith(suffix):
        return display.removesuffix(suffix)
    return display


def partner_value(raw: Mapping[str, Any], name: str) -> Any:
    """A partner's field as text where it is a link (its state, its country)."""
    value = raw.get(name)
    if name == ADDRESS.region:
        return state_name(link_text(value), raw.get(COUNTRY_CODE))
    if name == ADDRESS.country:
        return link_text(value)
    return value


#: a partner's details at its own fields, its address's state and country as text
READER: DetailsReader[OdooMapping] = DetailsReader(
    places=lambda mapping: mapping.customer_fields,
    address=ADDRESS,
    read=field_of,
    address_read=partner_value,
)
customer_details = READER.customer_details
address_parts = READER.address_parts
address_as_written = READER.address_as_written
