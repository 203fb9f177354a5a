"""Customer details the ledger owns, onto Jobber clients (issue #11).

Jobber edits a client with the ``clientEdit(clientId: EncodedId!, input: ClientEditInput!)``
mutation, payload ``client`` and ``userErrors{message, path}`` (HTTP 200 either way:
SOURCES.md §2.1, "Always select userErrors"). The input takes no list of e-mails or phones
to replace: ``emailsToAdd``/``emailsToEdit``/``emailsToDelete`` and the same for phones,
where an ``EmailUpdateAttributes``/``PhoneNumberUpdateAttributes`` names the entry by its
non-null ``id``; create attributes carry ``address``/``number``, ``description`` (an
upper-case enum: ``MAIN``, …) and ``primary``; ``Client.emails``/``phones`` read back with
``id address|number description primary``. Sources: two apps editing live Jobber clients,
GitHub file ids 19015016950 and 68831879172 (the latter introspected at version
2026-04-16); Jobber's public docs do not print the input types — docs/sources/jobber.md
says so.

So the client's primary e-mail (phone) is read first, by id, and then:

* it already holds the ledger's value (compared as core/customer_details.py does): no
  mutation, which makes a repeated write-back change nothing;
* it has a primary entry: that entry is edited (``emailsToEdit``/``phonesToEdit``);
* it has none: one is added as primary, description ``MAIN``.

``billing_address`` is written in parts, never split from its text: the ledger says which
parts it holds and which the bookkeeper changed (``CustomerDetailsUpdate.address``,
core/customer_details.py), and ``clientEdit``'s ``billingAddress: AddressAttributes`` takes
them by :data:`ADDRESS_FIELDS` (street lines → ``street1``/``street2``, city → ``city``,
region → ``province``, postal code → ``postalCode``, country → ``country``;
``AddressAttributes`` = ``street1 street2 city province postalCode country``, all optional
strings, and ``ClientEditInput.billingAddress``: a third-party reference of Jobber's input
types, GitHub file id 61048928256; ``billingAddress: $billingAddress`` in a live
``clientEdit``, file id 19015016950; ``Client.billingAddress`` read with the same six
fields, SOURCES.md §2.1). Whether Jobber keeps a field the input leaves out is not
documented, so the input carries the whole address: the client's current one (read first)
with the changed parts laid over it; a part the ledger does not hold, or the bookkeeper
cleared, keeps Jobber's value. Nothing is sent when the client already holds every changed
part. A street of more than two lines has no field for its third and refuses the address
``no_property`` (nothing half-written); an address without parts is refused ``composite``.
A client Jobber no longer has is refused ``not_found``; ``userErrors`` are refused
``refused`` with their paths only (their messages may echo the value, which is personal).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from syncledger.adapters.jobber.client import JobberGraphQL
from syncledger.core.customer_details import AddressParts, same
from syncledger.core.source_ports import CustomerDetailsRefusal, CustomerDetailsUpdate

PREFIX = "jobber/customer/"
_ENTRY = "id description primary"
CONTACTS = (
    "query Client_contacts($id: EncodedId!) { client(id: $id) { id "
    f"emails {{ address {_ENTRY} }} phones {{ number {_ENTRY} }} "
    "billingAddress { street1 street2 city province postalCode country } } }"
)
EDIT = (
    "mutation Client_edit($id: EncodedId!, $input: ClientEditInput!) { "
    "clientEdit(clientId: $id, input: $input) { client { id } userErrors { message path } } }"
)
#: canonical detail → (client list, value key, add input, edit input)
_LISTS = {
    "email": ("emails", "address", "emailsToAdd", "emailsToEdit"),
    "phone": ("phones", "number", "phonesToAdd", "phonesToEdit"),
}
#: address part → ``AddressAttributes`` field (the street's lines: street1, street2)
ADDRESS_FIELDS = {
    "city": "city",
    "region": "province",
    "postal_code": "postalCode",
    "country": "country",
}
_STREET = ("street1", "street2")
_WHY = {
    "not_ours": "not a Jobber client",
    "not_found": "the client is gone from Jobber",
    "composite": "Jobber keeps the address in parts; the joined text is not split back",
    "not_writable": "Jobber's client edit takes no such detail",
    "no_property": "the ledger's street has more lines than Jobber's street1 and street2",
}


def _refusal(ref: str, field: str, reason: str, message: str = "") -> CustomerDetailsRefusal:
    return CustomerDetailsRefusal(ref, field, reason, message or _WHY[reason])


def _primary(entries: Any) -> dict[str, Any] | None:
    rows = [e for e in entries or [] if isinstance(e, dict)]
    return next((e for e in rows if e.get("primary")), rows[0] if rows else None)


def address_input(current: Any, parts: AddressParts) -> dict[str, str] | None:
    """The ``AddressAttributes`` for the changed ``parts`` laid over the client's
    ``current`` address (None: it already holds every one of them)."""
    wanted = dict(zip(_STREET, parts.street, strict=False)) if parts.street else {}
    wanted |= {f: v for part, f in ADDRESS_FIELDS.items() if (v := parts.part(part))}
    held = {
        k: str(v)
        for k, v in (current or {}).items()
        if v and k in (*_STREET, *ADDRESS_FIELDS.values())
    }
    if all(same("billing_address", held.get(k), v) for k, v in wanted.items()):
        return None
    return held | wanted


def edit_input(
    client: Mapping[str, Any], values: Mapping[str, str], address: AddressParts | None = None
) -> tuple[dict[str, Any], list[str]]:
    """(the ``ClientEditInput``, the fields it changes) for the details that differ."""
    edit: dict[str, Any] = {}
    changed: list[str] = []
    if "billing_address" in values and address is not None:
        billing = address_input(client.get("billingAddress"), address)
        if billing is not None:
            edit["billingAddress"] = billing
            changed.append("billing_address")
    for field, value in values.items():
        if field not in _LISTS:
            continue
        listed, key, add, update = _LISTS[field]
        entry = _primary(client.get(listed))
        if entry is not None and same(field, entry.get(key), value):
            continue
        if entry is not None and entry.get("id"):
            edit.setdefault(update, []).append({"id": entry["id"], key: value})
        else:
            edit.setdefault(add, []).append({key: value, "description": "MAIN", "primary": True})
        changed.append(field)
    return edit, changed


def _address_ok(update: CustomerDetailsUpdate, field: str) -> bool:
    parts = update.address
    return field == "billing_address" and parts is not None and len(parts.street) <= 2


def _why_not(update: CustomerDetailsUpdate, field: str) -> str:
    if field != "billing_address":
        return "not_writable"
    return "composite" if update.address is None else "no_property"


async def _client(api: JobberGraphQL, client_id: str) -> dict[str, Any] | None:
    data, _ = await api.run("client_contacts", CONTACTS, {"id": client_id})
    found = data.get("client")
    return found if isinstance(found, dict) else None


async def _write_one(
    api: JobberGraphQL, update: CustomerDetailsUpdate
) -> list[CustomerDetailsRefusal]:
    ref = update.source_ref
    if not ref.startswith(PREFIX):
        return [_refusal(ref, f, "not_ours") for f in update.values]
    writable = [f for f in update.values if f in _LISTS or _address_ok(update, f)]
    refused = [_refusal(ref, f, _why_not(update, f)) for f in update.values if f not in writable]
    client = await _client(api, ref.removeprefix(PREFIX))
    if client is None:
        return refused + [_refusal(ref, f, "not_found") for f in writable]
    values = {f: update.values[f] for f in writable}
    edit, changed = edit_input(client, values, update.address)
    if edit:
        refused += await _edit(api, ref, str(client["id"]), edit, changed)
    return refused


async def _edit(
    api: JobberGraphQL, ref: str, client_id: str, edit: dict[str, Any], changed: list[str]
) -> list[CustomerDetailsRefusal]:
    data, _ = await api.run("client_edit", EDIT, {"id": client_id, "input": edit}, mutation=True)
    result = data.get("clientEdit") or {}
    errors = result.get("userErrors") or []
    if not errors and result.get("client"):
        return []
    paths = "; ".join(".".join(str(p) for p in e.get("path") or []) for e in errors)
    said = f"Jobber refused the edit (userErrors at {paths or 'no path'})"
    return [_refusal(ref, f, "refused", said) for f in changed]


async def write_customer_details(
    api: JobberGraphQL, updates: Sequence[CustomerDetailsUpdate]
) -> list[CustomerDetailsRefusal]:
    """Write each client's e-mail and phone; return what was not written."""
    refused: list[CustomerDetailsRefusal] = []
    for update in updates:
        refused += await _write_one(api, update)
    return refused
