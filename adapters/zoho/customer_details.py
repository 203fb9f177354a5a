"""Customer details as a Zoho Books contact holds them (issue #11, the reverse direction:
``core/customer_details.py``).

Read off the contact the adapter already fetched (``LedgerRecord.raw``), with the field
names ``mapping.toml`` writes: e-mail and phone live on the primary contact person
(``[customer.contact_person]`` ``email``, ``phone``), the billing address at
``[customer.fields]`` ``billing_address.address``.

* A contact read in full (``GET /contacts/{id}``) carries ``contact_persons``: the one
  marked ``is_primary_contact`` (else the first) gives e-mail and phone.
* A row of the contact list (``GET /contacts``, which the back-sync's change read pages
  through) carries no persons: Zoho's list row has the primary person's ``email`` and
  ``phone`` beside the contact's own fields (Books API contacts list; the widget SDK's
  contacts module names ``contacts.email``, ``contacts.phone``), read there. A row
  without one of them says nothing about that detail (None: not a change). A list row
  has no ``billing_address``: a bookkeeper's change of the address is seen only on a
  contact read in full.

The billing address in parts: Zoho's ``billing_address`` object holds ``address``,
``street2``, ``city``, ``state``, ``zip`` and ``country`` (beside ``attention``,
``state_code``, ``phone``, ``fax``: third-party clients of the Books API, GitHub
maheshlamichhane/Zoho-API-Integration-Rest ``dto/contact/BillingAddress.java`` and
Knawat/zoho-finance ``types/zoho/zoho-address.type.ts``). They are read when the mapping
writes the address to ``billing_address.address``; its text is then the parts joined. The
forward sync writes the whole address to ``address`` (several lines: one text, not parts,
until a bookkeeper fills the address's own fields).

No request is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncledger.adapters.customer_details import AddressFields, DetailsReader, first_paths
from syncledger.adapters.zoho.mapping import ZohoMapping
from syncledger.core.customer_details import detail_text
from syncledger.core.ports import LedgerRecord

ADDRESS = AddressFields(
    street=("address", "street2"), city="city", region="state", postal_code="zip", country="country"
)
#: the contact's billing address (``billing_address.address``); e-mail and phone are the
#: primary contact person's (:func:`customer_details`)
READER: DetailsReader[ZohoMapping] = DetailsReader(
    places=lambda mapping: first_paths(mapping.fields.get("customer", {})),
    address=ADDRESS,
    fields=("billing_address",),
)
address_parts = READER.address_parts
address_as_written = READER.address_as_written


def _primary(raw: Mapping[str, Any]) -> Mapping[str, Any] | None:
    persons = [p for p in raw.get("contact_persons") or [] if isinstance(p, Mapping)]
    return next((p for p in persons if p.get("is_primary_contact")), None) or (
        persons[0] if persons else None
    )


def _person_detail(mapping: ZohoMapping, raw: Mapping[str, Any], field: str) -> str | None:
    name = mapping.person.get(field)
    if not name:
        return None
    if "contact_persons" not in raw:  # a list row: the primary person's fields on it
        return detail_text(raw.get(name))
    person = _primary(raw)
    return detail_text(person.get(name)) if person is not None else None


def customer_details(mapping: ZohoMapping, record: LedgerRecord) -> dict[str, str | None]:
    """``email``, ``phone``, ``billing_address`` of a Zoho contact (None: it has none)."""
    person = {field: _person_detail(mapping, record.raw, field) for field in ("email", "phone")}
    return person | READER.customer_details(mapping, record)


def drops_person_detail(
    mapping: ZohoMapping, values: Mapping[str, Any], owned: tuple[str, ...]
) -> bool:
    """Whether an update leaves out a detail the ledger owns that Zoho keeps on the primary
    contact person (core/sync_updates.py sends the customer without it). A detail the
    customer simply lacks is written as before (the person as the customer has it)."""
    return any(not values.get(name) for name in mapping.person if name in owned)


def persons_kept(sent: list[dict[str, Any]], current: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The contact persons an update sends when the customer leaves a person detail out.

    Zoho keeps e-mail and phone on the contact person, and an update's
    ``contact_persons`` says what the contact's persons are (the sandbox replaces them;
    what Zoho does with a person left out of the list is not documented). So the update
    names every person the contact holds (``contact_person_id`` included, the field
    Zoho's update-a-contact request identifies a person by) and lays the customer's own
    person details over the primary one: a detail the customer leaves out stays as Zoho
    holds it, never cleared.
    """
    persons = [dict(p) for p in current.get("contact_persons") or [] if isinstance(p, Mapping)]
    ours = sent[0] if sent else {}
    primary = next((i for i, p in enumerate(persons) if p.get("is_primary_contact")), None)
    if primary is None and persons:
        primary = 0
    if primary is None:
        return [ours] if ours else []
    persons[primary] |= ours
    return persons
