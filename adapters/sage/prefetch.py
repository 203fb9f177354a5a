"""Sage Accounting bulk reads before a batch of updates (``core.ports.Prefetcher``).

Sage documents no read of many records by id: ``GET /contacts`` filters on
``updated_or_created_since``, ``deleted_since``, ``contact_type_id``, ``search``,
``email`` and a few display switches, ``GET /sales_invoices`` likewise on dates, contact
and status (Accounting v3.1 swagger ``getContacts`` / ``getSalesInvoices``, as the SDKs
generated from it list them, e.g. nook-io/python-sage ``docs/ContactsApi.md``). So the
bulk read is the documented delta read: ``GET /<resource>?updated_or_created_since=<T>
&attributes=all&items_per_page=200`` (inclusive of ``T``), where ``T`` is the oldest
``updated_at`` this adapter has seen for the records named (from its own writes and
reads; a record's ``updated_at`` never goes back, so each of them still in the ledger is
in the answer). When one of them was never seen here (a new process), ``T`` is left out
and the list is read from its start. Either way the read stops as soon as every record
named is found, and after at most half as many pages as records named, so it never costs
more than half the reads it replaces; one record alone is not prefetched. What it does
not find is read one by one, as without it.

It also keeps each invoice's ``exchange_rate`` as last written or read here (bounded like
the times), so a foreign receipt allocated to nothing takes its invoice's rate without
reading the invoice again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from syncledger.adapters.http import LedgerHttp
from syncledger.adapters.prefetch import Bounded, Prefetched
from syncledger.adapters.sage.paging import PAGE_LIMIT, as_dict, next_path
from syncledger.adapters.wire_dates import iso_moment

#: the resource of each kind whose updates and voids read the record first
BULK_RESOURCE = {"customer": "contacts", "invoice": "sales_invoices"}
#: records whose last seen ``updated_at`` is remembered (the oldest forgotten first)
REMEMBERED = 10_000


class BulkReads:
    """What one delta read found, served once to each update's version check."""

    def __init__(
        self,
        http: LedgerHttp,
        kind_filter: Callable[[str], dict[str, str]],
        *,
        page_size: int = PAGE_LIMIT,
        remembered: int = REMEMBERED,
    ) -> None:
        self._http = http
        self._kind_filter = kind_filter
        self._page = min(page_size, PAGE_LIMIT)
        self._kept: Prefetched[dict[str, Any]] = Prefetched()
        self._seen: Bounded[tuple[str, str], datetime] = Bounded(remembered)
        self._rates: Bounded[str, Any] = Bounded(remembered)

    def seen(self, kind: str, raw: dict[str, Any]) -> None:
        """Note the ``updated_at`` of a record just written or read; a copy kept from an
        earlier bulk read is dropped (it is older than this one)."""
        if kind not in BULK_RESOURCE or "id" not in raw:
            return
        self._kept.forget(kind, str(raw["id"]))
        self._note(kind, raw)
        if kind == "invoice" and raw.get("exchange_rate") is not None:
            self._rates.put(str(raw["id"]), raw["exchange_rate"])

    def rate(self, invoice_id: str) -> Any:
        """The invoice's ``exchange_rate`` as last seen here, else None."""
        return self._rates.get(invoice_id)

    def take(self, kind: str, ledger_id: str) -> dict[str, Any] | None:
        """The record as the bulk read found it (once, while fresh), else None."""
        return self._kept.take(kind, ledger_id)

    async def prefetch(self, kind: str, ledger_ids: Sequence[str]) -> None:
        wanted = set(ledger_ids)
        if kind not in BULK_RESOURCE or len(wanted) < 2:
            return
        params: dict[str, str | int] = {
            **self._kind_filter(kind),
            "attributes": "all",
            "items_per_page": self._page,
        }
        since = self._oldest_seen(kind, wanted)
        if since is not None:
            params["updated_or_created_since"] = since
        url: str | None = f"/{BULK_RESOURCE[kind]}"
        args: dict[str, str | int] | None = params
        pages_left = len(wanted) // 2
        while url is not None and pages_left > 0:
            pages_left -= 1
            answer = as_dict(await self._http.json("GET", url, params=args, idempotent=True))
            for raw in answer.get("$items", []):
                ledger_id = str(raw.get("id"))
                if ledger_id in wanted:
                    wanted.discard(ledger_id)
                    self._note(kind, raw)
                    self._kept.keep(kind, ledger_id, raw)
            url, args = next_path(answer.get("$next")), None
            if not wanted:
                return

    def _note(self, kind: str, raw: dict[str, Any]) -> None:
        moment = iso_moment(raw.get("updated_at"))
        if moment is None:
            return
        self._seen.put((kind, str(raw["id"])), moment)

    def _oldest_seen(self, kind: str, ledger_ids: set[str]) -> str | None:
        """The oldest ``updated_at`` seen of these records (ISO 8601, UTC, whole seconds
        as Sage keeps them); None when one of them was never seen."""
        times = [self._seen.get((kind, ledger_id)) for ledger_id in ledger_ids]
        known = [t for t in times if t is not None]
        if not known or len(known) < len(times):
            return None
        return min(known).astimezone(UTC).replace(microsecond=0).isoformat()
