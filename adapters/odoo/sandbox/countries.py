"""Countries and states of the Odoo sandbox, and how their names show on a partner.

A partner's ``country_id`` and ``state_id`` are links (many2one) to ``res.country`` and
``res.country.state`` records (odoo/odoo ``odoo/addons/base/models/res_partner.py``), which
a new Odoo database holds from the base module's data. The sandbox seeds a few of them, with
the ISO codes the base data uses; only these can be linked.

How a read shows them (``fields.py``: a many2one reads as ``[id, display_name]``):

- a country's display name is its ``name`` (``res.country``'s ``_rec_name``);
- a state's is ``f"{name} ({country_id.code})"`` (odoo/odoo
  ``odoo/addons/base/models/res_country.py`` ``ResCountryState._compute_display_name``);
- a partner's ``country_code`` is ``related='country_id.code'`` (``False`` without a
  country), computed on read as Odoo computes a related field, never stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from syncledger.adapters.odoo.sandbox.book import OdooBook, Record

#: (code, name) of the countries seeded
COUNTRIES = (
    ("US", "United States"),
    ("CA", "Canada"),
    ("GB", "United Kingdom"),
    ("AU", "Australia"),
    ("DE", "Germany"),
    ("FR", "France"),
)
#: (country code, state code, name) of the states seeded
STATES = (
    ("US", "CA", "California"),
    ("US", "NY", "New York"),
    ("US", "TX", "Texas"),
    ("US", "WA", "Washington"),
    ("CA", "ON", "Ontario"),
    ("CA", "QC", "Quebec"),
    ("AU", "NSW", "New South Wales"),
)


def seed_countries(book: OdooBook) -> None:
    """The countries and states a new database starts with."""
    ids = {
        code: book.add("res.country", {"code": code, "name": name})["id"]
        for code, name in COUNTRIES
    }
    for country, code, name in STATES:
        book.add("res.country.state", {"code": code, "name": name, "country_id": ids[country]})


def state_display_name(record: Record, country: Record | None) -> str:
    """``Name (CC)``, as Odoo shows a state."""
    code = country.get("code") if country else False
    return f"{record.get('name')} ({code})"


def with_country_code(record: Record, country_of: Callable[[int], Record | None]) -> Record:
    """A partner with its ``country_code`` (``related='country_id.code'``)."""
    ident: Any = record.get("country_id")
    country = country_of(ident) if isinstance(ident, int) else None
    return record | {"country_code": (country or {}).get("code") or False}
