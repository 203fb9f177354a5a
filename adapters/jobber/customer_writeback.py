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

``billing_address`` is refused ``composite``: the source reads it as Jobber's address
parts (street1, street2, city, province, postalCode, country) joined by line breaks, and
splitting it back is guesswork that could corrupt the client's address. A client Jobber
no longer has is refused ``not_found``; ``userErrors`` are refused ``refused`` with their
paths only (their messages may echo the value, which is personal).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from syncledger.adapters.jobber.client import JobberGraphQL
from syncledger.core.customer_details import same
from syncledger.core.source_ports import CustomerDetailsRefusal, CustomerDetailsUpdate

PREFIX = "jobber/customer/"
_ENTRY = "id description primary"
CONTACTS = (
    "query Client_contacts($id: EncodedId!) { client(id: $id) { id "
    f"emails {{ address {_ENTRY} }} phones {{ number {_ENTRY} }} }} }}"
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
_WHY = {
    "not_ours": "not a Jobber client",
    "not_found": "the client is gone from Jobber",
    "composite": "Jobber keeps the address in parts; the joined text is not split back",
    "not_writable": "Jobber's client edit takes no such detail",
}


def _refusal(ref: str, field: str, reason: str, message: str = "") -> CustomerDetailsRefusal:
    return CustomerDetailsRefusal(ref, field, reason, message or _WHY[reason])


def _primary(entries: Any) -> dict[str, Any] | None:
    rows = [e for e in entries or [] if isinstance(e, dict)]
    return next((e for e in rows if e.get("primary")), rows[0] if rows else None)


def edit_input(
    client: Mapping[str, Any], values: Mapping[str, str]
) -> tuple[dict[str, Any], list[str]]:
    """(the ``ClientEditInput``, the fields it changes) for the details that differ."""
    edit: dict[str, Any] = {}
    changed: list[str] = []
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
    refused = [
        _refusal(ref, f, "composite" if f == "billing_address" else "not_writable")
        for f in update.values
        if f not in _LISTS
    ]
    client = await _client(api, ref.removeprefix(PREFIX))
    if client is None:
        return refused + [_refusal(ref, f, "not_found") for f in update.values if f in _LISTS]
    edit, changed = edit_input(client, update.values)
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
