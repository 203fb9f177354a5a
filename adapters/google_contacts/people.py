"""Google Contacts through the People API: delta reads with sync tokens.

Facts:

* ``GET https://people.googleapis.com/v1/people/me/connections``; only ``people/me`` is
  valid; ``personFields`` is required; ``pageSize`` 1-1000, default 100; ``pageToken``
  pages, ``nextPageToken`` names the next page; ``requestSyncToken=true`` makes the
  **last** page carry ``nextSyncToken``; a later ``syncToken`` returns the changes since;
  with a page or sync token **all other parameters must match the first call**; scopes
  ``contacts.readonly`` or ``contacts`` [P]
  https://developers.google.cn/people/api/rest/v1/people.connections/list
* sync tokens expire 7 days after the full sync; an expired one answers an error with a
  ``google.rpc.ErrorInfo`` reason ``EXPIRED_SYNC_TOKEN``: make a full sync request
  without it; deleted contacts come back, with a sync token, as a person with
  ``PersonMetadata.deleted`` true; writes may take minutes to show in sync results [P]
  https://googleapis.github.io/google-api-python-client/docs/dyn/people_v1.people.connections.html
  (status code of the expiry: see ``errors.py``);
* a Person has ``resourceName``, ``etag``, ``metadata``, ``names[]``,
  ``emailAddresses[]``, ``phoneNumbers[]``, ``addresses[]``, ``organizations[]``,
  ``memberships[]``; each non-empty field has exactly one item with
  ``metadata.primary`` true [P] https://developers.google.com/people/api/rest/v1/people
  ; ``ContactGroupMembership.contactGroupResourceName`` [P]
  https://developers.google.com/resources/api-libraries/documentation/people/v1/csharp/latest/classGoogle_1_1Apis_1_1PeopleService_1_1v1_1_1Data_1_1ContactGroupMembership.html
* labels: a Person's ``memberships[].contactGroupMembership.contactGroupResourceName``
  names its groups; ``GET https://people.googleapis.com/v1/contactGroups`` (``pageSize``
  1-1000, default 30; ``pageToken``/``nextPageToken``; scope ``contacts.readonly``) lists
  the account's groups as ``ContactGroup{resourceName, name, …}``, ``name`` being "the
  contact group name set by the group owner or a system provided name for system groups"
  [P] https://developers.google.com/people/api/rest/v1/contactGroups/list ,
  https://developers.google.com/people/api/rest/v1/contactGroups . A contact's labels are
  its customer's ``tags`` by ``name`` (as a Google CSV export writes them, ``myContacts``,
  ``Customers``; ``contact.py``); the list is read once per page that has memberships, and
  a group it does not hold (deleted meanwhile) gives no tag;
* the token endpoint is ``https://oauth2.googleapis.com/token`` (refresh_token grant,
  client id and secret in the form) [S] CristianNichifor/Google-Contacts-Coda-Pack
  docs/troubleshooting_guide.md; docs.rs mkt-google ``GOOGLE_TOKEN_URL``;
* quotas: no official figure found (SOURCES.md §3.1): no client-side limit is set; a 429
  is retried with backoff and ``Retry-After`` by ``adapters/http.py``.

The cursor is the sync token, wrapped (opaque JSON) with the page token while a listing
is part-way. An expired sync token restarts a full listing, returned page by page with
``more``: every current contact comes again (ingest skips the unchanged ones). A
contact deleted while the token was expired is **not** in a full listing (Google returns
no deleted people without a sync token); that gap is documented, not hidden.

No webhooks: the People API reference lists no watch or push method for contacts
(connections has ``list`` only) [P] the list page above; changes are polled. No
write-back: a contact has no place for an invoice's payment status.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from syncledger.adapters.google_contacts.errors import (
    EXPIRED_SYNC_TOKEN,
    GoogleContactsError,
    source_error,
)
from syncledger.adapters.http import LedgerHttp
from syncledger.core.errors import LedgerError
from syncledger.core.ports import SourceItem
from syncledger.core.source_ports import SourceChanges

LIVE_API: Final = "https://people.googleapis.com"
LIVE_TOKEN_URL: Final = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL
CONNECTIONS: Final = "/v1/people/me/connections"
GROUPS: Final = "/v1/contactGroups"
PERSON_FIELDS: Final = (
    "names,emailAddresses,phoneNumbers,addresses,organizations,memberships,metadata"
)
MAX_PAGE: Final = 1000
DEFAULT_PAGE: Final = 100


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a read starts: the sync token (None: a full listing) and the page token of
    a listing part-way (None: its first page)."""

    sync: str | None = None
    page: str | None = None

    def text(self) -> str:
        return json.dumps({"sync": self.sync, "page": self.page}, sort_keys=True)

    @classmethod
    def parse(cls, text: str | None) -> Cursor:
        if text is None:
            return cls()
        try:
            raw = json.loads(text)
            return cls(_opt(raw["sync"]), _opt(raw["page"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise GoogleContactsError(
                "the stored Google Contacts cursor is not one this source wrote: reset the "
                "source's cursor to read everything again"
            ) from exc


def _opt(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("not a token")
    return value


# --------------------------------------------------------------------------- persons


def primary(entries: Any) -> Mapping[str, Any] | None:
    """The entry marked ``metadata.primary``, else the first; None when there is none."""
    if not isinstance(entries, list):
        return None
    found = [e for e in entries if isinstance(e, dict)]
    marked = [e for e in found if (e.get("metadata") or {}).get("primary")]
    chosen = marked or found
    return chosen[0] if chosen else None


def _value(entries: Any, key: str) -> str | None:
    entry = primary(entries)
    value = entry.get(key) if entry else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def _groups(person: Mapping[str, Any]) -> list[str]:
    memberships = person.get("memberships") or []
    return [
        str(m["contactGroupMembership"]["contactGroupResourceName"])
        for m in memberships
        if isinstance(m, dict)
        and (m.get("contactGroupMembership") or {}).get("contactGroupResourceName")
    ]


#: the People API fields each personal customer field is read from (person_fields below)
PERSONAL_FIELDS: Mapping[str, tuple[str, ...]] = {
    "name": ("organizations.name", "names.displayName"),
    "contact_name": ("names.displayName",),
    "email": ("emailAddresses.value",),
    "phone": ("phoneNumbers.value",),
    "billing_address": ("addresses.formattedValue",),
}


def tags(person: Mapping[str, Any], groups: Mapping[str, str]) -> list[str]:
    """The names of the person's contact groups (``groups``: resource name -> name)."""
    names = (groups.get(g, "").strip() for g in _groups(person))
    return list(dict.fromkeys(n for n in names if n))


def person_fields(
    person: Mapping[str, Any], currency: str | None, groups: Mapping[str, str]
) -> dict[str, Any]:
    """A Person as canonical customer fields (the organisation names the customer when
    there is one; the person is then its contact; its labels are ``tags``). Further
    e-mails and phones are not carried (as for the CSV export: ``csv_export.py``)."""
    who = _value(person.get("names"), "displayName")
    organisation = _value(person.get("organizations"), "name")
    fields: dict[str, Any] = {"name": organisation or who or ""}
    optional = {
        "contact_name": who if organisation else None,
        "email": _value(person.get("emailAddresses"), "value"),
        "phone": _value(person.get("phoneNumbers"), "value"),
        "billing_address": _value(person.get("addresses"), "formattedValue"),
        "currency": currency,
    }
    fields |= {k: v for k, v in optional.items() if v}
    labels = tags(person, groups)
    if labels:
        fields["tags"] = labels
    return fields


def person_item(
    person: Mapping[str, Any], system: str, currency: str | None, groups: Mapping[str, str]
) -> SourceItem:
    sid = str(person.get("resourceName", "")).removeprefix("people/")
    version = str(person.get("etag") or "")
    if (person.get("metadata") or {}).get("deleted"):
        return SourceItem(system, "customer", sid, version or "deleted", {}, deleted=True)
    return SourceItem(system, "customer", sid, version, person_fields(person, currency, groups))


# --------------------------------------------------------------------------- the reader


class PeopleReader:
    """:class:`~syncledger.core.source_ports.SourceReader` over ``connections.list``."""

    def __init__(
        self,
        http: LedgerHttp,
        *,
        system: str = "google-contacts",
        page_size: int = DEFAULT_PAGE,
        currency: str | None = None,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE:
            raise GoogleContactsError(f"page size {page_size}: the People API takes 1-1000")
        self.system = system
        self._http = http
        self._page_size = page_size
        self._currency = currency or None

    def _params(self, at: Cursor) -> dict[str, str | int]:
        params: dict[str, str | int] = {
            "personFields": PERSON_FIELDS,
            "pageSize": self._page_size,
            "requestSyncToken": "true",
        }
        if at.sync:
            params["syncToken"] = at.sync
        if at.page:
            params["pageToken"] = at.page
        return params

    async def _list(self, at: Cursor) -> Mapping[str, Any]:
        body = await self._http.json("GET", CONNECTIONS, params=self._params(at), idempotent=True)
        if not isinstance(body, dict):
            raise GoogleContactsError("the People API answered a listing that is not an object")
        return body

    async def _page(self, at: Cursor) -> tuple[Cursor, Mapping[str, Any]]:
        """The page at ``at``; a full listing's first page when the sync token expired."""
        try:
            try:
                return at, await self._list(at)
            except LedgerError as exc:
                if exc.code != EXPIRED_SYNC_TOKEN or at.sync is None:
                    raise
            return Cursor(), await self._list(Cursor())
        except LedgerError as exc:
            raise source_error(exc) from exc

    async def _group_page(self, page: str | None) -> Mapping[str, Any]:
        params: dict[str, str | int] = {"pageSize": MAX_PAGE}
        if page:
            params["pageToken"] = page
        try:
            body = await self._http.json("GET", GROUPS, params=params, idempotent=True)
        except LedgerError as exc:
            raise source_error(exc) from exc
        return body if isinstance(body, dict) else {}

    async def _group_names(self) -> dict[str, str]:
        """Every contact group of the account: resource name -> name."""
        names: dict[str, str] = {}
        page: str | None = None
        while True:
            body = await self._group_page(page)
            for group in body.get("contactGroups") or ():
                if isinstance(group, dict) and group.get("resourceName"):
                    names[str(group["resourceName"])] = str(group.get("name") or "")
            page = body.get("nextPageToken")
            if not page:
                return names

    async def _items(self, body: Mapping[str, Any]) -> tuple[SourceItem, ...]:
        people = [p for p in body.get("connections") or () if isinstance(p, dict)]
        groups = await self._group_names() if any(_groups(p) for p in people) else {}
        return tuple(person_item(p, self.system, self._currency, groups) for p in people)

    async def read_changes(self, cursor: str | None) -> SourceChanges:
        at, body = await self._page(Cursor.parse(cursor))
        items = await self._items(body)
        page = body.get("nextPageToken")
        if page:
            return SourceChanges(items, Cursor(at.sync, str(page)).text(), more=True)
        sync = body.get("nextSyncToken")
        # without a new sync token, read again from the one this listing began with
        return SourceChanges(items, Cursor(str(sync) if sync else at.sync).text())

    async def aclose(self) -> None:
        await self._http.aclose()
