"""The business's customers as ``match_customer`` compares them (``CustomerIndex``).

Sage's ``GET /contacts`` cannot filter on a tax number (``search`` covers name, company
name and reference), so finding a customer by tax id means listing the customers. The
index keeps, per customer, what matching compares (``name``, ``email`` and
``tax_number``) and is brought up to date before each match with one delta read:
``GET /contacts?contact_type_id=CUSTOMER&updated_or_created_since=<T>&attributes=all``
(inclusive of ``T``; Accounting v3.1 swagger ``getContacts``), ``T`` being the newest
``updated_at`` the index has seen less a few seconds (Sage's own clock: no skew with
ours). The first match lists every customer (what each match listed before, page by
page). A match costs that one delta read, plus one read of each customer it finds
(a customer deleted in Sage is then dropped: the delta read does not show deletions).

``email`` is the contact's ``email`` attribute, which Sage fills from its main contact
person; Sage's ``email`` filter is documented as "the contact person email address", so a
customer whose other contact person carries the address is not matched here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from syncledger.adapters.sage.mapping import tax_key
from syncledger.adapters.wire_dates import iso_moment
from syncledger.core.model import Customer

#: how far before the newest ``updated_at`` seen a delta read starts (a change committed
#: a moment after a later one is not missed)
OVERLAP = timedelta(seconds=5)

Pages = Callable[[dict[str, str]], AsyncIterator[dict[str, Any]]]


#: per customer: its name and email (case folded) and its tax number (``tax_key``)
Held = tuple[str | None, str | None, str | None]


class CustomerIndex:
    """Customers by id, with the fields matching compares, kept by delta reads."""

    def __init__(self, pages: Pages) -> None:
        self._pages = pages
        self._held: dict[str, Held] = {}
        self._newest: datetime | None = None

    async def refresh(self) -> None:
        """Take in every customer created or changed since the last refresh."""
        params: dict[str, str] = {}
        if self._newest is not None:
            since = (self._newest - OVERLAP).astimezone(UTC).replace(microsecond=0)
            params["updated_or_created_since"] = since.isoformat()
        async for raw in self._pages(params):
            self.note(raw)

    def note(self, raw: dict[str, Any]) -> None:
        """Keep what matching needs of a customer as Sage answered it."""
        self._held[str(raw["id"])] = (
            _folded(raw.get("name")),
            _folded(raw.get("email")),
            tax_key(raw.get("tax_number")),
        )
        moment = iso_moment(raw.get("updated_at"))
        if moment is not None and (self._newest is None or moment > self._newest):
            self._newest = moment

    def forget(self, ledger_id: str) -> None:
        self._held.pop(ledger_id, None)

    def matching(self, customer: Customer) -> list[str]:
        """Ids of the customers with the same name (ignoring case), then those with the
        same email (ignoring case), then the same tax number (``tax_key``)."""
        wanted = _wanted(customer)
        found: dict[str, None] = {}
        for slot, value in enumerate(wanted):
            if value is None:
                continue
            for ledger_id, held in self._held.items():
                if held[slot] == value:
                    found.setdefault(ledger_id, None)
        return list(found)

    def still_matches(self, customer: Customer, raw: dict[str, Any]) -> bool:
        """The customer as read alone still matches (it may have changed since)."""
        self.note(raw)
        held = self._held[str(raw["id"])]
        return any(v is not None and v == h for v, h in zip(_wanted(customer), held, strict=True))


def _wanted(customer: Customer) -> Held:
    return (_folded(customer.name), _folded(customer.email), tax_key(customer.tax_id))


def _folded(value: Any) -> str | None:
    return value.casefold() if isinstance(value, str) and value else None
