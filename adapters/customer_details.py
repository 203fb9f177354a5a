"""Customer details read back off a ledger's customer record (issue #11, the reverse
direction: ``core/customer_details.py``), the part every ledger's
``adapters/<ledger>/customer_details.py`` shares: a detail is read at the place the
platform's ``mapping.toml`` writes it to, and is text or none (``detail_text``).

Each platform fills in one :class:`DetailsReader`: where its mapping's places are and how
one is read (a dotted path through nested objects here; Xero's typed list items and
NetSuite's case-blind names in their own folders); the details it keeps elsewhere (Sage's
address lines, NetSuite's address book, Zoho's contact persons) it reads itself. No
request is made. Imports no platform.

The billing address in parts (core/customer_details.py ``AddressParts``): a platform names
its address object's fields by part (:class:`AddressFields`); the parts are read from the
object whose first street field the mapping writes the address to, and only then (a
mapping that writes it elsewhere says nothing about parts). The address's text is then the
parts joined, so a bookkeeper's change of any part is a change of the address.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from syncledger.adapters.kit.wire_mapping import get_path
from syncledger.core.customer_details import CUSTOMER_FIELDS, AddressParts, detail_text
from syncledger.core.ports import LedgerRecord

#: a platform's mapping (the reader takes each platform's own type)
M = TypeVar("M")

#: reads the value at one place of a record (None: it holds none)
Read = Callable[[Mapping[str, Any], str], Any]


#: the value at a dotted path of a record (``BillAddr.Line1``; None: it holds none)
value_at: Read = get_path


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


@dataclass(frozen=True, slots=True)
class AddressFields:
    """A platform's address fields by part, named inside its address object."""

    street: tuple[str, ...]
    city: str
    region: str
    postal_code: str
    country: str

    def read(self, node: Any, read: Read = value_at) -> AddressParts | None:
        """The parts an address object holds (None: no object, or no part in it)."""
        if not isinstance(node, Mapping):
            return None
        rest = (self.city, self.region, self.postal_code, self.country)
        parts = AddressParts.of(
            tuple(read(node, name) for name in self.street), *(read(node, n) for n in rest)
        )
        return parts if parts.text() else None


def address_in(
    raw: Mapping[str, Any], path: str, fields: AddressFields, *, read: Read = value_at
) -> AddressParts | None:
    """The parts of the address object whose first street field is ``path`` (the mapping's
    place for the address); None when ``path`` is no such field or the record holds none."""
    container, _, last = path.rpartition(".")
    if last.casefold() != fields.street[0].casefold():
        return None
    return fields.read(read(raw, container) if container else raw, read)


def in_parts(parts: AddressParts | None) -> AddressParts | None:
    """``parts`` when each is one line (else the address is one text: None)."""
    return parts if parts is not None and parts.in_parts else None


def first_street_line(text: str) -> AddressParts:
    """What a mapping that writes the whole address to the first street field writes."""
    return AddressParts.of((text,))


@dataclass(frozen=True, slots=True)
class DetailsReader(Generic[M]):
    """How one platform reads a customer's details back (``customer_details``,
    ``address_parts``, ``address_as_written`` of its ledger).

    ``places(mapping)`` names each detail's place; ``fields`` are read there with
    ``read``. The billing address in parts is read from the address object at the billing
    address's place (its fields ``address``, read with ``address_read``, else ``read``),
    unless ``parts_at(mapping, raw)`` says where the platform keeps them; when parts are
    found, the address's text is theirs joined.
    """

    places: Callable[[M], Mapping[str, str]]
    address: AddressFields
    read: Read = value_at
    address_read: Read | None = None
    fields: Sequence[str] = CUSTOMER_FIELDS
    parts_at: Callable[[M, Mapping[str, Any]], AddressParts | None] | None = None

    def parts(self, mapping: M, raw: Mapping[str, Any]) -> AddressParts | None:
        """The parts the record holds (None: none, or no address object)."""
        if self.parts_at is not None:
            return self.parts_at(mapping, raw)
        place = self.places(mapping).get("billing_address", "")
        return address_in(raw, place, self.address, read=self.address_read or self.read)

    def customer_details(self, mapping: M, record: LedgerRecord) -> dict[str, str | None]:
        """``email``, ``phone``, ``billing_address`` of the record (None: it has none)."""
        found = details_at(record.raw, self.places(mapping), read=self.read, fields=self.fields)
        parts = self.parts(mapping, record.raw)
        if parts is not None:
            found["billing_address"] = parts.text()
        found.setdefault("billing_address", None)
        return found

    def address_parts(self, mapping: M, record: LedgerRecord) -> AddressParts | None:
        """The record's billing address in parts (None: none, or one text)."""
        return in_parts(self.parts(mapping, record.raw))

    def address_as_written(self, mapping: M, text: str) -> AddressParts:
        """The mapping writes the whole address to the first street field."""
        return first_street_line(text)
