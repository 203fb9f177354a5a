"""Sage's list answers: filters, ``sort``, ``attributes`` and the paging envelope.

``GET /<resource>?page=&items_per_page=`` answers
``{"$total", "$page", "$next", "$back", "$itemsPerPage", "$items"}``; ``$next`` / ``$back``
are paths relative to the API root that repeat the query with another page (the v3.1
reference example: ``"$next": "/contacts?page=2&items_per_page=10"``). Items carry only the
base attributes ``id``, ``displayed_as`` and ``$path`` unless ``attributes`` asks for more
(``all``, or a comma-separated list). ``items_per_page`` defaults to 20 and is capped at 200.

Filters: ``updated_or_created_since`` (inclusive, a date or a date-time), ``contact_id``,
``search`` (contacts: name or reference; documents: reference or contact name; products
and services: item code or description; substring, case-insensitive), ``email`` (the
contact person's), ``contact_type_id``, ``status_id``, ``transaction_type_id``; ``sort`` on
``created_at``, ``updated_at`` or ``date``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from syncledger.adapters.sage.sandbox.errors import refuse

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 200
BASE_ATTRIBUTES = ("id", "displayed_as", "$path")
SORTABLE = ("created_at", "updated_at", "date")

Record = dict[str, Any]
Filter = Callable[[Record, str], bool]


def parse_since(text: str) -> datetime:
    """A date (midnight UTC) or an ISO 8601 date-time; naive means UTC."""
    try:
        moment = datetime.fromisoformat(text.replace(" ", "+").replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
        except ValueError:
            raise refuse("list.since_invalid", "updated_or_created_since") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def filtered(records: list[Record], params: Mapping[str, str]) -> list[Record]:
    for name, keep in FILTERS.items():
        value = params.get(name)
        if value:
            records = [r for r in records if keep(r, value)]
    return _sorted(records, params.get("sort"))


def page_of(resource: str, records: list[Record], params: Mapping[str, str]) -> dict[str, Any]:
    page = _positive(params.get("page"), 1, "page")
    per_page = min(
        _positive(params.get("items_per_page"), DEFAULT_PER_PAGE, "items_per_page"), MAX_PER_PAGE
    )
    start = (page - 1) * per_page
    shown = records[start : start + per_page]
    more = start + per_page < len(records)
    return {
        "$total": len(records),
        "$page": page,
        "$next": _link(resource, params, page + 1, per_page) if more else None,
        "$back": _link(resource, params, page - 1, per_page) if page > 1 else None,
        "$itemsPerPage": per_page,
        "$items": [projected(r, params.get("attributes")) for r in shown],
    }


def projected(record: Record, attributes: str | None) -> Record:
    if attributes == "all":
        return record
    wanted = set(BASE_ATTRIBUTES) | {a.strip() for a in (attributes or "").split(",") if a}
    return {k: v for k, v in record.items() if k in wanted}


# ------------------------------------------------------------------ filters


def _updated_since(record: Record, value: str) -> bool:
    return parse_since(str(record["updated_at"])) >= parse_since(value).replace(microsecond=0)


def _search(record: Record, value: str) -> bool:
    fields = ("name", "reference", "contact_name", "displayed_as", "item_code", "description")
    needle = value.casefold()
    return any(needle in str(record.get(f) or "").casefold() for f in fields)


def _email(record: Record, value: str) -> bool:
    return str(record.get("email") or "").casefold() == value.casefold()


def _link_id(field: str) -> Filter:
    return lambda record, value: (record.get(field) or {}).get("id") == value


def _contact_type(record: Record, value: str) -> bool:
    return any(t.get("id") == value for t in record.get("contact_types", []))


FILTERS: dict[str, Filter] = {
    "updated_or_created_since": _updated_since,
    "search": _search,
    "email": _email,
    "contact_type_id": _contact_type,
    "contact_id": _link_id("contact"),
    "status_id": _link_id("status"),
    "transaction_type_id": _link_id("transaction_type"),
}


# ------------------------------------------------------------------ helpers


def _sorted(records: list[Record], sort: str | None) -> list[Record]:
    if not sort:
        return records
    field, _, direction = sort.partition(":")
    if field not in SORTABLE or direction not in ("", "asc", "desc"):
        raise refuse("list.sort_invalid", "sort", sort=sort, sortable=", ".join(SORTABLE))
    ordered = sorted(records, key=lambda r: str(r.get(field) or ""))  # stable: ties by age
    return ordered[::-1] if direction == "desc" else ordered


def _positive(value: str | None, default: int, name: str) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise refuse("field.type", name, kind="a number") from None
    if number < 1:
        raise refuse("list.not_positive", name)
    return number


def _link(resource: str, params: Mapping[str, str], page: int, per_page: int) -> str:
    query = dict(params) | {"page": str(page), "items_per_page": str(per_page)}
    return f"/{resource}?{urlencode(query)}"
