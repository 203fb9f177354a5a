"""List parameters of FreshBooks' accounting endpoints: paging, searches and includes
(freshbooks.com/api/parameters and the per-resource "Searches / Filters" tables).

Paging, as documented: ``per_page`` is silently capped at 100; page 0 is page 1; a page
that is not a positive integer is an error; a page past the last is an empty list. The
answer carries ``page``, ``pages``, ``per_page`` and ``total``.

Searches are ``search[<name>]=<value>``: Equals, Like (contains, ignoring case) and
Between; ``updated_min`` / ``updated_max`` have day-level granularity and take
``YYYY-MM-DD`` (compared with the US/Eastern date of ``updated``). In searches match a
list, "each list item specified by its own query parameter" (freshbooks.com/api/parameters),
written ``search[<name>][]=<value>`` as the Python SDK FreshBooks documents builds them
(amcintosh/freshbooks-python-sdk README, ``FilterBuilder.in_list``:
``search[clientids][]=123&search[clientids][]=456``); the only one the sandbox knows is the
clients' ``userids`` (freshbooks.com/api/clients, "Searches / Filters": In, ``userids``,
field ``userid``, "input several userids to be matched"). What is refused: ``refusals.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from syncledger.adapters.freshbooks.sandbox.errors import refuse

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 30

Test = Callable[[Mapping[str, Any], str], bool]


def _equals(name: str) -> Test:
    return lambda record, value: str(record.get(name)).casefold() == value.casefold()


def _like(name: str) -> Test:
    return lambda record, value: value.casefold() in str(record.get(name) or "").casefold()


def _updated_min(record: Mapping[str, Any], value: str) -> bool:
    return str(record.get("updated", ""))[:10] >= value


def _updated_max(record: Mapping[str, Any], value: str) -> bool:
    return str(record.get("updated", ""))[:10] < value


_COMMON: dict[str, Test] = {
    "updated_min": _updated_min,
    "updated_max": _updated_max,
    "vis_state": _equals("vis_state"),
}
SEARCHES: dict[str, dict[str, Test]] = {
    "client": {
        "email": _equals("email"),
        "note_like": _like("note"),
        "organization_like": _like("organization"),
        "fname_like": _like("fname"),
        "lname_like": _like("lname"),
        "userid": _equals("userid"),
    },
    "invoice": {
        "invoice_number": _equals("invoice_number"),
        "customerid": _equals("customerid"),
        "invoiceid": _equals("invoiceid"),
    },
    "payment": {
        "notes": _like("note"),
        "invoiceid": _equals("invoiceid"),
        "clientid": _equals("clientid"),
        "type": _equals("type"),
    },
    "credit_note": {"clientid": _equals("clientid"), "creditid": _equals("creditid")},
    # the documented item filters, less the In and Between ones on amounts and counts;
    # FreshBooks documents no search on an item's name
    "item": {
        "itemid": _equals("itemid"),
        "sku": _equals("sku"),
        "description": _like("description"),
    },
}
#: In searches (``search[<name>][]``) by kind: the field each matches
IN_SEARCHES: dict[str, dict[str, str]] = {"client": {"userids": "userid"}}
_DATE_SEARCHES = ("updated_min", "updated_max")


@dataclass(frozen=True, slots=True)
class ListQuery:
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    searches: tuple[tuple[Test, str], ...] = ()
    includes: tuple[str, ...] = field(default=())

    @classmethod
    def parse(cls, kind: str, params: Sequence[tuple[str, str]]) -> ListQuery:
        values = dict(params)
        plain = tuple(_search(kind, k[7:-1], v) for k, v in params if _is_search(k))
        return cls(
            page=_page(values.get("page", "1")),
            per_page=_per_page(values.get("per_page", str(DEFAULT_PER_PAGE))),
            searches=plain + _in_searches(kind, params),
            includes=includes(params),
        )

    def matches(self, record: Mapping[str, Any]) -> bool:
        return all(test(record, value) for test, value in self.searches)

    def page_of(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        start = (self.page - 1) * self.per_page
        return rows[start : start + self.per_page]

    def pages(self, total: int) -> dict[str, int]:
        pages = math.ceil(total / self.per_page)
        return {"page": self.page, "pages": pages, "per_page": self.per_page, "total": total}


def includes(params: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    return tuple(v for k, v in params if k in ("include[]", "include"))


def _is_search(key: str) -> bool:
    return key.startswith("search[") and key.endswith("]") and not _is_in_search(key)


def _is_in_search(key: str) -> bool:
    return key.startswith("search[") and key.endswith("][]")


def _in_searches(kind: str, params: Sequence[tuple[str, str]]) -> tuple[tuple[Test, str], ...]:
    """One test per In search named: the record's field is one of the values given."""
    wanted: dict[str, list[str]] = {}
    for key, value in params:
        if _is_in_search(key):
            wanted.setdefault(key[7:-3], []).append(value)
    fields = IN_SEARCHES.get(kind, {})
    tests: list[tuple[Test, str]] = []
    for name, values in wanted.items():
        if name not in fields:
            raise refuse("list.search_unknown", field=name, kind=kind)
        tests.append((_in_list(fields[name], frozenset(values)), ""))
    return tuple(tests)


def _in_list(name: str, values: frozenset[str]) -> Test:
    return lambda record, _value: str(record.get(name)) in values


def _search(kind: str, name: str, value: str) -> tuple[Test, str]:
    tests = SEARCHES[kind] | _COMMON
    if name not in tests:
        raise refuse("list.search_unknown", field=name, kind=kind)
    if name in _DATE_SEARCHES:
        _check_date(name, value)
    return tests[name], value


def _check_date(name: str, value: str) -> None:
    try:
        date.fromisoformat(value)
    except ValueError:
        raise refuse("list.search_date", field=name) from None


def _page(text: str) -> int:
    if not text.isdigit():
        raise refuse("list.page", field="page")
    return max(1, int(text))


def _per_page(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise refuse("list.per_page", field="per_page")
    return min(MAX_PER_PAGE, int(text))
