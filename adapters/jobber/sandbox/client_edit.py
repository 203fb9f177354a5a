"""The sandbox's ``clientEdit`` mutation and the ids of a client's e-mails and phones.

The contract it enforces, as adapters/jobber/customer_writeback.py cites it (GitHub file
ids 19015016950, 68831879172; Jobber's public docs do not print the input types):

* ``clientEdit(clientId: EncodedId!, input: ClientEditInput!)`` answers ``client`` and
  ``userErrors{message, path}`` with HTTP 200; an unknown client is a user error;
* the input has no list to replace: ``emailsToAdd``/``emailsToEdit``/``emailsToDelete``
  (and phones); an edit or a deletion names an existing entry by its ``id`` (non-null in
  the schema, so graphql-core refuses a missing one), else it is a user error;
* ``description`` takes the upper-case enums (``MAIN``, …); Jobber reads it back
  capitalised (``Main``);
* an entry set ``primary`` makes the client's other entries not primary; an empty
  address or number is a user error; nothing changes when any part is refused.

Every e-mail and phone gets an id the first time a read or an edit meets it (the person
helpers enter them without one, as Jobber's screens do not show them).
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from graphql import GraphQLResolveInfo, GraphQLSchema

from syncledger.adapters.jobber.sandbox import views
from syncledger.adapters.jobber.sandbox.store import Store, encoded_id

SDL = """
input EmailCreateAttributes {
  address: String! description: EmailDescription primary: Boolean
}
input EmailUpdateAttributes {
  id: EncodedId! address: String description: EmailDescription primary: Boolean
}
input PhoneNumberCreateAttributes {
  number: String! description: PhoneNumberDescription primary: Boolean
}
input PhoneNumberUpdateAttributes {
  id: EncodedId! number: String description: PhoneNumberDescription primary: Boolean
}
enum EmailDescription { MAIN WORK PERSONAL OTHER }
enum PhoneNumberDescription { MAIN WORK MOBILE HOME FAX OTHER }
input AddressAttributes {
  street1: String street2: String city: String province: String
  postalCode: String country: String
}
input ClientEditInput {
  firstName: String lastName: String companyName: String
  emailsToAdd: [EmailCreateAttributes!] emailsToEdit: [EmailUpdateAttributes!]
  emailsToDelete: [EncodedId!]
  phonesToAdd: [PhoneNumberCreateAttributes!] phonesToEdit: [PhoneNumberUpdateAttributes!]
  phonesToDelete: [EncodedId!]
  billingAddress: AddressAttributes
}
type ClientEditPayload { client: Client userErrors: [UserError!]! }
extend type Email { id: EncodedId description: String }
extend type Phone { id: EncodedId description: String }
extend type Mutation {
  clientEdit(clientId: EncodedId!, input: ClientEditInput!): ClientEditPayload!
}
"""
#: list on the client → (value key, id kind, input names)
_LISTS = {
    "emails": ("address", "Email", "emailsToAdd", "emailsToEdit", "emailsToDelete"),
    "phones": ("number", "PhoneNumber", "phonesToAdd", "phonesToEdit", "phonesToDelete"),
}
_ENTRY_IDS = itertools.count(1)


class _Refused(Exception):
    def __init__(self, message: str, *path: str) -> None:
        super().__init__(message)
        self.path = list(path)


def with_ids(entries: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    for entry in entries:
        entry.setdefault("id", encoded_id(kind, next(_ENTRY_IDS)))
    return entries


def _entries(listed: str) -> Any:
    def resolve(obj: Any, _info: GraphQLResolveInfo) -> Any:
        return with_ids(obj[listed], _LISTS[listed][1])

    return resolve


def _shown(description: str | None) -> str | None:
    return description.capitalize() if description else None


def _primary_only(entries: list[dict[str, Any]], chosen: dict[str, Any]) -> None:
    for entry in entries:
        entry["primary"] = entry is chosen


def _apply(entries: list[dict[str, Any]], listed: str, given: dict[str, Any]) -> None:
    key, kind, add, edit, delete = _LISTS[listed]
    with_ids(entries, kind)
    by_id = {e["id"]: e for e in entries}
    for i, change in enumerate(given.get(edit) or []):
        entry = by_id.get(change["id"])
        if entry is None:
            raise _Refused(f"{kind} not found", "input", edit, str(i), "id")
        _set(entries, entry, change, key, (edit, str(i)))
    for i, new in enumerate(given.get(add) or []):
        entry = {"id": encoded_id(kind, next(_ENTRY_IDS)), "primary": False}
        entries.append(entry)
        _set(entries, entry, new, key, (add, str(i)))
    for i, gone in enumerate(given.get(delete) or []):
        if gone not in by_id:
            raise _Refused(f"{kind} not found", "input", delete, str(i))
        entries.remove(by_id[gone])


def _set(
    entries: list[dict[str, Any]],
    entry: dict[str, Any],
    change: dict[str, Any],
    key: str,
    where: tuple[str, str],
) -> None:
    if key in change:
        if not str(change[key] or "").strip():
            raise _Refused(f"{key} can't be blank", "input", *where, key)
        entry[key] = change[key]
    if change.get("description"):
        entry["description"] = _shown(change["description"])
    if change.get("primary"):
        _primary_only(entries, entry)


def client_edit(_obj: Any, info: GraphQLResolveInfo, clientId: str, input: Any) -> Any:
    store: Store = info.context
    rec = store.get("Client", clientId)
    if rec is None:
        return _user_error("Client not found", "clientId")
    lists = {name: copy.deepcopy(rec.fields[name]) for name in _LISTS}
    try:
        for name, entries in lists.items():
            _apply(entries, name, input)
    except _Refused as exc:
        return _user_error(str(exc), *exc.path)
    changes: dict[str, Any] = dict(lists)
    if input.get("billingAddress") is not None:
        before = rec.fields.get("billingAddress") or {}
        changes["billingAddress"] = {**before, **input["billingAddress"]}
    for name in ("firstName", "lastName", "companyName"):
        if input.get(name) is not None:
            changes[name] = input[name]
    store.put_client(clientId, **changes)
    client = store.get("Client", clientId)
    assert client is not None
    return {"client": views.client_view(store, client), "userErrors": []}


def _user_error(message: str, *path: str) -> dict[str, Any]:
    return {"client": None, "userErrors": [{"message": message, "path": list(path)}]}


def install(schema: GraphQLSchema) -> None:
    """The resolvers: the mutation, and e-mails and phones read with their ids."""
    assert schema.mutation_type is not None
    schema.mutation_type.fields["clientEdit"].resolve = client_edit
    client = schema.get_type("Client")
    for listed in _LISTS:
        client.fields[listed].resolve = _entries(listed)  # type: ignore[union-attr]
