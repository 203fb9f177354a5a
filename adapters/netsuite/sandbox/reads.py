"""Reads from the NetSuite sandbox's books, shaped as NetSuite REST answers them.

- A record carries ``links`` (``rel: self``); its sublists come back as links only unless
  the request says ``expandSubResources=true`` (then with their ``items``).
- A collection page is ``{links, count, hasMore, items: [{links, id}], offset,
  totalResults}``; ``limit`` is 1–1000 (default 1000), ``offset`` from 0. Collections list
  ids only: a client reads each record it needs.
- SuiteQL pages have the same envelope with the selected columns in ``items``; tables
  ``customer``, ``transaction`` and ``item`` (``items.py``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from syncledger.adapters.netsuite.sandbox.book import NetSuiteBook
from syncledger.adapters.netsuite.sandbox.errors import refuse
from syncledger.adapters.netsuite.sandbox.items import ITEM_TYPES, suiteql_rows
from syncledger.adapters.netsuite.sandbox.query import parse_suiteql, record_filter
from syncledger.adapters.netsuite.sandbox.rules import number, ref_id
from syncledger.adapters.netsuite.sandbox.sublists import is_sublist

RECORD_API = "/services/rest/record/v1"
PAGE_MAX = 1000
TRANSACTION_TYPES = {
    "invoice": "CustInvc",
    "customerPayment": "CustPymt",
    "creditMemo": "CustCred",
    "customerRefund": "CustRfnd",
}
CREDITS = ("customerPayment", "creditMemo")  # their ``unapplied`` lowers the customer balance


def page_bounds(limit: str | None, offset: str | None) -> tuple[int, int]:
    try:
        size = int(limit) if limit is not None else PAGE_MAX
        start = int(offset) if offset is not None else 0
    except ValueError:
        raise refuse("page.not_integer") from None
    if not 1 <= size <= PAGE_MAX or start < 0:
        raise refuse("page.out_of_range", most=PAGE_MAX)
    return size, start


def collection(
    items: list[dict[str, Any]], size: int, start: int, url: str, query: Mapping[str, str]
) -> dict[str, Any]:
    window = items[start : start + size]
    has_more = start + size < len(items)
    links = [{"rel": "self", "href": _page(url, query, size, start)}]
    if has_more:
        links.insert(0, {"rel": "next", "href": _page(url, query, size, start + size)})
    return {
        "links": links,
        "count": len(window),
        "hasMore": has_more,
        "items": window,
        "offset": start,
        "totalResults": len(items),
    }


def _page(url: str, query: Mapping[str, str], size: int, start: int) -> str:
    return url + "?" + urlencode({**query, "limit": size, "offset": start})


class Reader:
    def __init__(self, book: NetSuiteBook, zone: tzinfo) -> None:
        self.book = book
        self.zone = zone

    def present(
        self, record: str, body: Mapping[str, Any], base: str, *, expand: bool
    ) -> dict[str, Any]:
        href = f"{base}{RECORD_API}/{record}/{body['id']}"
        shown: dict[str, Any] = {"links": [{"rel": "self", "href": href}]}
        for name, value in body.items():
            shown[name] = _sublist(value, f"{href}/{name}", expand) if is_sublist(value) else value
        if record == "customer":
            shown["balance"] = self._balance(str(body["id"]))
        return shown

    def ids(self, record: str, q: str | None, base: str) -> list[dict[str, Any]]:
        records = self.book.records(record)
        if q:
            keep = record_filter(q, self.zone)
            records = [r for r in records if keep(r)]
        return [
            {
                "links": [{"rel": "self", "href": f"{base}{RECORD_API}/{record}/{r['id']}"}],
                "id": str(r["id"]),
            }
            for r in records
        ]

    def suiteql(self, statement: str) -> list[dict[str, Any]]:
        query = parse_suiteql(statement, self.zone)
        tables = {
            "customer": self._customer_rows,
            "transaction": self._transaction_rows,
            "item": self._item_rows,
        }
        if query.table not in tables:
            raise refuse("suiteql.table_unknown", table=query.table)
        return query.run(tables[query.table]())

    def _customer_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "id": int(c["id"]),
                "entityid": c.get("entityId"),
                "companyname": c.get("companyName"),
                "email": c.get("email"),
                "externalid": c.get("externalId"),
                "isinactive": bool(c.get("isInactive")),
                "datecreated": _moment(c.get("dateCreated")),
                "lastmodifieddate": _moment(c.get("lastModifiedDate")),
            }
            for c in self.book.records("customer")
        ]

    def _transaction_rows(self) -> list[dict[str, Any]]:
        rows = []
        for record, code in TRANSACTION_TYPES.items():
            for t in self.book.records(record):
                rows.append(
                    {
                        "id": int(t["id"]),
                        "type": code,
                        "tranid": t.get("tranId"),
                        "entity": ref_id(t, "entity") or ref_id(t, "customer"),
                        "externalid": t.get("externalId"),
                        "trandate": t.get("tranDate"),
                        "createddate": _moment(t.get("createdDate")),
                        "lastmodifieddate": _moment(t.get("lastModifiedDate")),
                        "foreigntotal": t.get("total", t.get("payment")),
                    }
                )
        return rows

    def _item_rows(self) -> list[dict[str, Any]]:
        return suiteql_rows({record: self.book.records(record) for record in ITEM_TYPES})

    def _balance(self, customer_id: str) -> Decimal:
        """What the customer owes: open invoices less unapplied payments and credits."""
        owed: dict[str, Decimal] = defaultdict(Decimal)
        for invoice in self.book.records("invoice"):
            remaining = number(invoice.get("amountRemaining", 0), "amountRemaining")
            owed[str(ref_id(invoice, "entity"))] += remaining
        for record in CREDITS:
            for credit in self.book.records(record):
                unapplied = number(credit.get("unapplied", 0), "unapplied")
                owed[str(ref_id(credit, "customer") or ref_id(credit, "entity"))] -= unapplied
        return owed[customer_id]


def _sublist(value: Mapping[str, Any], href: str, expand: bool) -> dict[str, Any]:
    links = [{"rel": "self", "href": href}]
    if not expand:
        return {"links": links}
    items = list(value["items"])
    return {
        "links": links,
        "count": len(items),
        "hasMore": False,
        "items": items,
        "offset": 0,
        "totalResults": len(items),
    }


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
