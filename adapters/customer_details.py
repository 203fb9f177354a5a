"""Customer details read back off a ledger's customer record (issue #11, the reverse
direction: ``core/customer_details.py``), the part every ledger's
``adapters/<ledger>/customer_details.py`` shares: a detail is read at the place the
platform's ``mapping.toml`` writes it to, and is text or none (``detail_text``).

Each platform says where its places are and how one is read (a dotted path through
nested objects here; Xero's typed list items and NetSuite's case-blind names in their own
folders); the details it keeps elsewhere (Sage's address lines, NetSuite's address book,
Zoho's contact persons) it reads itself. No request is made. Imports no platform.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from syncledger.core.customer_details import CUSTOMER_FIELDS, detail_text

#: reads the value at one place of a record (None: it holds none)
Read = Callable[[Mapping[str, Any], str], Any]


def value_at(raw: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path of a record (``BillAddr.Line1``; None: it holds none)."""
    node: Any = raw
    for part in path.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


def field_of(raw: Mapping[str, Any], name: str) -> Any:
    """The record's own field ``name`` (a flat record: a dot is part of the name)."""
    return raw.get(name)


def first_paths(paths: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Each detail's first path: where a mapping names several, the one read back."""
    return {field: where[0] for field, where in paths.items() if where}


def details_at(
    raw: Mapping[str, Any],
    places: Mapping[str, str],
    *,
    read: Read = value_at,
    fields: Sequence[str] = CUSTOMER_FIELDS,
) -> dict[str, str | None]:
    """Each of ``fields`` as text, read at the place ``places`` names for it (None: no
    place is named, or the record holds no text there)."""
    found: dict[str, str | None] = {}
    for field in fields:
        place = places.get(field)
        found[field] = detail_text(read(raw, place)) if place else None
    return found
