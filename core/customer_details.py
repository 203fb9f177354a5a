"""Customer details the ledger may own, and when a ledger's value is a change to write back.

``customer_field_authority`` (settings) names, per detail (``email``, ``phone``,
``billing_address``), who owns it. ``source`` (the default, also for a detail left out)
is one-way: the source's value is pushed to the ledger and nothing flows back. ``ledger``
makes a bookkeeper's change in the ledger flow back to the source's customer record
(``core/customer_reverse.py``).

A ledger's value is a change when, compared the way the detail is compared (an e-mail
address without case, a phone number by its digits, an address without case and spacing),
it differs from what the source holds. A detail a bookkeeper *cleared* in the ledger is not
a change: emptying a CRM's field from the books is not something either side documents as
intended, so the safe path keeps the source's value (docs/operations.md says so).

The ledger side is a port: a ledger adapter that can say which details a customer record
holds implements :class:`LedgerCustomerDetails`; one that cannot leaves the reverse
direction off for its books (back-sync says so once per run).

Forward, a customer update leaves the owned details out (core/sync_updates.py). A ledger
whose update would clear a detail the customer leaves out (Zoho Books writes a contact's
persons whole) implements :class:`KeepsLedgerDetails` and is told which are owned.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from syncledger.core.ports import LedgerRecord

__all__ = [
    "CUSTOMER_FIELDS",
    "KeepsLedgerDetails",
    "LedgerCustomerDetails",
    "changes",
    "detail_text",
    "ledger_owned",
    "same",
]

#: customer details whose authority can be given to the ledger (settings
#: ``customer_field_authority``)
CUSTOMER_FIELDS = ("email", "phone", "billing_address")
_SPACES = re.compile(r"\s+")


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
    text = (value or "").strip()
    if field == "phone":
        return ("+" if text.startswith("+") else "") + "".join(c for c in text if c.isdigit())
    return _SPACES.sub(" ", text).casefold()


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
