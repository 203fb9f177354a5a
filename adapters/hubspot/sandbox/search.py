"""The Search API as the sandbox answers it (SOURCES.md §1.4; the 2026-03
``PublicObjectSearchRequest``: filterGroups OR'ed, filters in a group AND'ed, operators
EQ/NEQ/LT/LTE/GT/GTE/BETWEEN/IN/NOT_IN/HAS_PROPERTY/NOT_HAS_PROPERTY, ``limit`` up to 200,
``after`` a string, at most ``cap`` (10,000) results per query: paging past the cap is a
400). Datetime values compare as epoch ms whether given as ms or ISO 8601 (SOURCES.md
§1.4 "Date filter values: ISO 8601 or UNIX ms")."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_LIMIT = 200
SEARCH_CAP = 10_000


class SearchRefused(ValueError):
    """The request breaks a documented search limit: ``rule`` names its row in
    ``refusals.REFUSALS`` (a 400), ``values`` fill the row's message."""

    def __init__(self, rule: str, **values: object) -> None:
        super().__init__(rule)
        self.rule = rule
        self.values = values


def comparable(value: str) -> Decimal | str:
    """A number (ids, ms timestamps, amounts) or an ISO timestamp as epoch ms; else text."""
    try:
        return Decimal(value)
    except InvalidOperation:
        pass
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return Decimal(int(when.timestamp() * 1000))


def _compare(op: str, have: str | None, f: Mapping[str, Any]) -> bool:
    if op == "HAS_PROPERTY":
        return have is not None
    if op == "NOT_HAS_PROPERTY":
        return have is None
    if have is None:
        return op in ("NEQ", "NOT_IN")
    left = comparable(have)
    if op in ("IN", "NOT_IN"):
        hit = any(_same(left, comparable(str(v))) for v in f.get("values", []))
        return hit if op == "IN" else not hit
    right = comparable(str(f.get("value", "")))
    if op == "BETWEEN":
        high = comparable(str(f.get("highValue", "")))
        return _order(left, right) >= 0 and _order(left, high) <= 0
    checks: dict[str, Callable[[int], bool]] = {
        "EQ": lambda c: c == 0,
        "NEQ": lambda c: c != 0,
        "LT": lambda c: c < 0,
        "LTE": lambda c: c <= 0,
        "GT": lambda c: c > 0,
        "GTE": lambda c: c >= 0,
    }
    if op not in checks:
        raise SearchRefused("search.operator_unknown", operator=op)
    return checks[op](_order(left, right))


def _same(a: Decimal | str, b: Decimal | str) -> bool:
    return _order(a, b) == 0


def _order(a: Decimal | str, b: Decimal | str) -> int:
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        return (a > b) - (a < b)
    sa, sb = str(a).lower(), str(b).lower()
    return (sa > sb) - (sa < sb)


def matches(props: Mapping[str, str], groups: Sequence[Mapping[str, Any]]) -> bool:
    if not groups:
        return True
    return any(
        all(
            _compare(str(f["operator"]), props.get(str(f["propertyName"])), f)
            for f in g.get("filters", [])
        )
        for g in groups
    )


def sort_key(sorts: Sequence[Any]) -> tuple[str, bool]:
    """The sort property and whether descending; the sandbox sorts by one property (ties
    by id) and takes a sort as an object or as the bare string the 2026-03 spec types."""
    if not sorts:
        return "hs_object_id", False
    first = sorts[0]
    if isinstance(first, str):
        return first.lstrip("-"), first.startswith("-")
    return str(first.get("propertyName")), str(first.get("direction", "")) == "DESCENDING"


def page_window(body: Mapping[str, Any], total: int, cap: int) -> tuple[int, int]:
    """The offset and size of the page asked for; a 400 past the cap or over the limit."""
    limit = int(body.get("limit") or 10)
    if limit > MAX_LIMIT:
        raise SearchRefused("search.limit_too_large", limit=limit, maximum=MAX_LIMIT)
    offset = int(str(body.get("after") or "0"))
    if offset >= cap and total > cap:
        raise SearchRefused("search.past_cap", cap=cap)
    return offset, min(limit, cap - offset)
