"""Customer details the ledger may own, and when a ledger's value is a change to write back.

``customer_field_authority`` (settings) names, per detail (``email``, ``phone``,
``billing_address``), who owns it. ``source`` (the default, also for a detail left out)
is one-way: the source's value is pushed to the ledger and nothing flows back. ``ledger``
makes a bookkeeper's change in the ledger flow back to the source's customer record
(``core/customer_reverse.py``).

A ledger's value is a change when, compared the way the detail is compared (an e-mail
address without case, a phone number by its digits, an address without case, spacing and
the commas or line breaks between its parts: a source may join ``city, region zip`` on
one line, Jobber does),
it differs from what the source holds. A detail a bookkeeper *cleared* in the ledger is not
a change: emptying a CRM's field from the books is not something either side documents as
intended, so the safe path keeps the source's value (docs/operations.md says so).

The ledger side is a port: a ledger adapter that can say which details a customer record
holds implements :class:`LedgerCustomerDetails`; one that cannot leaves the reverse
direction off for its books (back-sync says so once per run).

The billing address is one text in the canonical customer (a source joins its parts by line
breaks), so it flows back only in parts, never split: a ledger that holds the address in its
own fields (street lines, city, region, postal code, country) implements
:class:`LedgerAddressParts` and reports them as :class:`AddressParts`. The address is a
change when its text (the parts joined as a source joins them) differs from the source's;
what is written back is then the parts the bookkeeper changed (:func:`changed_parts`),
against the ledger's parts when the source last took them or, before that, the parts the
forward sync itself wrote (the source's text in the first street line, or the ledger's own
split: :meth:`LedgerAddressParts.address_as_written`). A part the bookkeeper cleared is no
change, as for the other details. A record whose address is one text of several lines in one
field (how the forward sync writes it) holds no parts: nothing is split, the address is
refused ``free_text`` (core/customer_reverse.py).

Forward, a customer update leaves the owned details out (core/sync_updates.py). A ledger
whose update would clear a detail the customer leaves out (Zoho Books writes a contact's
persons whole) implements :class:`KeepsLedgerDetails` and is told which are owned.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Protocol, runtime_checkable

from syncledger.core.ports import LedgerRecord

__all__ = [
    "ADDRESS_PARTS",
    "CUSTOMER_FIELDS",
    "AddressParts",
    "KeepsLedgerDetails",
    "LedgerAddressParts",
    "LedgerCustomerDetails",
    "changed_parts",
    "changes",
    "detail_text",
    "ledger_owned",
    "same",
]

#: customer details whose authority can be given to the ledger (settings
#: ``customer_field_authority``)
CUSTOMER_FIELDS = ("email", "phone", "billing_address")
_SPACES = re.compile(r"\s+")
#: the parts of an address, in the order a source joins them
ADDRESS_PARTS = ("street", "city", "region", "postal_code", "country")


@dataclass(frozen=True, slots=True)
class AddressParts:
    """An address as a ledger holds it in its own fields (each part one line of text;
    ``street`` its street lines in order). A part it does not hold is None (or ``()``)."""

    street: tuple[str, ...] = ()
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None

    @classmethod
    def of(
        cls,
        street: tuple[object, ...] = (),
        city: object = None,
        region: object = None,
        postal_code: object = None,
        country: object = None,
    ) -> AddressParts:
        """Parts from a record's values (``detail_text`` each; empty street lines dropped)."""
        lines = tuple(t for t in (detail_text(v) for v in street) if t)
        texts = (detail_text(v) for v in (city, region, postal_code, country))
        return cls(lines, *texts)

    @property
    def in_parts(self) -> bool:
        """Whether each part is one line: a part of several lines is one text of a whole
        address (how the forward sync writes it), not parts."""
        return not any("\n" in line for line in self.lines())

    def lines(self) -> list[str]:
        """The parts that hold text, in a source's order (street lines first)."""
        rest = (self.city, self.region, self.postal_code, self.country)
        return [*self.street, *(p for p in rest if p)]

    def text(self) -> str | None:
        """The parts joined by line breaks, as a source joins them (None: no part)."""
        return "\n".join(self.lines()) or None

    def part(self, name: str) -> str | None:
        """One part as text (the street's lines joined by line breaks)."""
        value = getattr(self, name)
        return "\n".join(value) or None if isinstance(value, tuple) else value

    def as_dict(self) -> dict[str, Any]:
        return {
            f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
            for f in fields(self)
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> AddressParts:
        street = tuple(raw.get("street") or ())
        return cls.of(street, *(raw.get(n) for n in ADDRESS_PARTS[1:]))

    def only(self, names: tuple[str, ...]) -> AddressParts:
        """These parts, the others left out."""
        kept = [getattr(self, n) if n in names else None for n in ADDRESS_PARTS]
        return AddressParts(kept[0] or (), *kept[1:])


@runtime_checkable
class LedgerAddressParts(Protocol):
    """A ledger adapter that reads a customer's billing address in its parts."""

    def address_parts(self, record: LedgerRecord) -> AddressParts | None:
        """The record's billing address in parts (None: it holds none, or holds it as one
        text of several lines in one field: ``AddressParts.in_parts``). Pure: no I/O."""
        ...

    def address_as_written(self, text: str) -> AddressParts:
        """The parts the forward sync writes for a canonical address ``text``."""
        ...


@runtime_checkable
class LedgerCustomerDetails(Protocol):
    """A ledger adapter that reads customer details off its customer records."""

    def customer_details(self, record: LedgerRecord) -> Mapping[str, str | None]:
        """``email``, ``phone``, ``billing_address`` as the record holds them (None or
        missing: the record has none). Pure: reads the record, no I/O."""
        ...


@runtime_checkable
class KeepsLedgerDetails(Protocol):
    """A ledger adapter told which customer details the ledger owns, so that an update
    leaving them out keeps them as the ledger holds them."""

    def keep_ledger_details(self, fields: tuple[str, ...]) -> None: ...


def ledger_owned(authority: Mapping[str, str]) -> tuple[str, ...]:
    """The details the ledger owns, in a fixed order (empty: one-way, as before)."""
    return tuple(f for f in CUSTOMER_FIELDS if authority.get(f) == "ledger")


def detail_text(value: object) -> str | None:
    """A detail as a ledger record holds it, as text (None: it holds none)."""
    if value is None or isinstance(value, bool | dict | list):
        return None  # Odoo answers ``False`` for an empty field; a structure is no detail
    text = str(value).strip()
    return text or None


def _key(field: str, value: str | None) -> str:
    """A detail as it is compared (an address part: as an address)."""
    text = (value or "").strip()
    if field == "phone":
        return ("+" if text.startswith("+") else "") + "".join(c for c in text if c.isdigit())
    if field == "billing_address":  # a comma separates an address's parts as a line break does
        text = text.replace(",", " ")
    return _SPACES.sub(" ", text).strip().casefold()


def same(field: str, a: str | None, b: str | None) -> bool:
    """Whether two values of ``field`` are the same detail written differently."""
    return _key(field, a) == _key(field, b)


def changes(
    owned: tuple[str, ...],
    ledger: Mapping[str, str | None],
    known: Mapping[str, str | None],
) -> dict[str, str]:
    """The owned details whose ledger value differs from what the source is known to hold
    (its last version, or a write-back already under way); a cleared one is no change."""
    out: dict[str, str] = {}
    for field in owned:
        value = (ledger.get(field) or "").strip()
        if value and not same(field, value, known.get(field)):
            out[field] = value
    return out


def changed_parts(ledger: AddressParts, before: AddressParts) -> tuple[str, ...]:
    """The parts of ``ledger`` that differ from ``before`` (the ledger's parts when the
    source last took them), compared as addresses are; a cleared part is no change."""
    return tuple(
        name
        for name in ADDRESS_PARTS
        if (value := ledger.part(name)) and not same("billing_address", value, before.part(name))
    )
