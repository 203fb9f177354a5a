"""GET answers of the Xero sandbox: filters, ordering, paging, ``If-Modified-Since``.

- ``page`` (from 1) returns ``pageSize`` records (default 100, at most 1,000) and a
  ``pagination`` object ``{page, pageSize, pageCount, itemCount}``; without ``page`` every
  match comes back and invoices / credit notes come without their line items ("page=1 – Up
  to 100 invoices will be returned in a single API call with line items shown").
- ``If-Modified-Since``: records whose ``UpdatedDateUTC`` is at or after it. Deleted
  payments are only listed then, with ``Status: DELETED`` (what consumers of Xero's delta
  report, NangoHQ/integration-templates#451).
- ``where`` and ``order`` (``xero_where``), ``IDs``, ``includeArchived`` (contacts),
  ``Statuses`` / ``InvoiceNumbers`` / ``ContactIDs`` (invoices), ``searchTerm``.
- Amounts keep the precision stored; ``UnitAmount`` shows 2 decimals unless ``unitdp=4``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from syncledger.adapters.xero.sandbox.amounts import places
from syncledger.adapters.xero.sandbox.errors import refuse
from syncledger.adapters.xero.sandbox.where import order_key, parse_where, resolve

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
COLLECTION = {
    "Contact": "Contacts",
    "Invoice": "Invoices",
    "Payment": "Payments",
    "CreditNote": "CreditNotes",
    "Overpayment": "Overpayments",
    "BankTransaction": "BankTransactions",
    "Item": "Items",
}
SEARCHED = {
    "Contact": ("Name", "FirstName", "LastName", "ContactNumber", "EmailAddress"),
    "Invoice": ("InvoiceNumber", "Reference"),
}
_LIST_FILTERS: dict[str, tuple[str, str]] = {
    "IDs": ("ID", "id"),
    "Statuses": ("Status", "upper"),
    "InvoiceNumbers": ("InvoiceNumber", "text"),
    "ContactIDs": ("Contact.ContactID", "id"),
}


@dataclass(frozen=True, slots=True)
class Query:
    entity: str
    params: Mapping[str, str]
    since_ms: int | None

    @property
    def page(self) -> int | None:
        return _positive(self.params, "page")

    @property
    def page_size(self) -> int:
        size = _positive(self.params, "pageSize") or DEFAULT_PAGE_SIZE
        return min(size, MAX_PAGE_SIZE)

    @property
    def unitdp(self) -> int:
        return 4 if self.params.get("unitdp") == "4" else 2


def parse_since(header: str | None) -> int | None:
    """``If-Modified-Since`` (ISO 8601, or an HTTP date) in epoch milliseconds."""
    if not header:
        return None
    try:
        moment = datetime.fromisoformat(header.strip().replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            raise refuse("request.since_invalid", header=header) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return math.floor(moment.timestamp() * 1000)


def select(query: Query, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows the query asks for, filtered and ordered (not yet paged)."""
    tests = [test for test in _tests(query) if test is not None]
    hits = [row for row in rows if all(test(row) for test in tests)]
    if query.params.get("order"):
        key, descending = order_key(query.params["order"])
        hits.sort(key=key, reverse=descending)
    return hits


def envelope(
    query: Query,
    rows: list[dict[str, Any]],
    present: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    single: bool = False,
) -> dict[str, Any]:
    """The answer: one page (with ``pagination``), every row, or one record (``single``)."""
    body: dict[str, Any] = {}
    page = query.page
    if page is not None:
        size = query.page_size
        body["pagination"] = {
            "page": page,
            "pageSize": size,
            "pageCount": math.ceil(len(rows) / size),
            "itemCount": len(rows),
        }
        rows = rows[(page - 1) * size : page * size]
    shown = [shown_amounts(present(row), query.unitdp) for row in rows]
    if page is None and not single and query.entity in ("Invoice", "CreditNote"):
        shown = [{k: v for k, v in row.items() if k != "LineItems"} for row in shown]
    return body | {COLLECTION[query.entity]: shown}


def shown_amounts(record: dict[str, Any], unitdp: int) -> dict[str, Any]:
    lines = record.get("LineItems")
    if unitdp == 4 or not isinstance(lines, list):
        return record
    rounded = [ln | {"UnitAmount": places(ln["UnitAmount"], 2)} for ln in lines if ln]
    return record | {"LineItems": rounded}


def _tests(query: Query) -> list[Callable[[dict[str, Any]], bool] | None]:
    params = query.params
    tests: list[Callable[[dict[str, Any]], bool] | None] = [
        _since(query),
        _archived(query),
        _deleted_payments(query),
        parse_where(params["where"]) if params.get("where") else None,
        _search(query),
    ]
    for name, (path, how) in _LIST_FILTERS.items():
        if params.get(name):
            tests.append(_in_list(query.entity, path, how, params[name]))
    return tests


def _since(query: Query) -> Callable[[dict[str, Any]], bool] | None:
    since = query.since_ms
    if since is None:
        return None
    return lambda row: _updated_ms(row) >= since


def _updated_ms(row: dict[str, Any]) -> int:
    text = str(row.get("UpdatedDateUTC", ""))
    return int(text[6:].split("+")[0].split(")")[0]) if text.startswith("/Date(") else 0


def _archived(query: Query) -> Callable[[dict[str, Any]], bool] | None:
    if query.entity != "Contact" or query.params.get("includeArchived", "").lower() == "true":
        return None
    return lambda row: row.get("ContactStatus") != "ARCHIVED"


def _deleted_payments(query: Query) -> Callable[[dict[str, Any]], bool] | None:
    if query.entity != "Payment" or query.since_ms is not None:
        return None
    return lambda row: row.get("Status") != "DELETED"


def _search(query: Query) -> Callable[[dict[str, Any]], bool] | None:
    term = query.params.get("searchTerm", "").casefold()
    fields = SEARCHED.get(query.entity)
    if not term or not fields:
        return None
    return lambda row: any(term in str(row.get(f) or "").casefold() for f in fields)


def _in_list(entity: str, path: str, how: str, text: str) -> Callable[[dict[str, Any]], bool]:
    path = f"{entity}ID" if path == "ID" else path
    wanted = {_normal(v.strip().strip('"'), how) for v in text.split(",") if v.strip()}
    return lambda row: _normal(str(resolve(row, path) or ""), how) in wanted


def _normal(value: str, how: str) -> str:
    return value.upper() if how == "upper" else value.casefold()


def _positive(params: Mapping[str, str], name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise refuse("request.paging_invalid", name=name, value=value)
    return number
