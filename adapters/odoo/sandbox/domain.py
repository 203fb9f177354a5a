"""Odoo search domains and ``order`` specs, evaluated over the sandbox's records.

A domain is a list in Polish notation: leaves ``[field, operator, value]`` joined by
``"&"`` (the default between consecutive terms), ``"|"`` and ``"!"`` (ORM reference,
"Search domains"). Operators: ``= != > >= < <= in not in like ilike =like =ilike``.
Datetime values compare as ``"YYYY-MM-DD HH:MM:SS"`` UTC strings, like Odoo's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from syncledger.adapters.odoo.sandbox.errors import refuse
from syncledger.adapters.odoo.sandbox.fields import DATETIME_FORMAT, field_type

Predicate = Callable[[Mapping[str, Any]], bool]
_OPERATORS = ("=", "!=", ">", ">=", "<", "<=", "in", "not in", "like", "ilike", "=like", "=ilike")


def compile_domain(model: str, domain: Any) -> Predicate:
    """A predicate for ``domain`` (None or ``[]``: every record)."""
    if domain is None:
        return lambda record: True
    if not isinstance(domain, list):
        raise refuse("domain.not_list", domain=domain)
    terms = list(domain)
    predicates: list[Predicate] = []
    while terms:
        predicates.append(_term(model, terms))
    return lambda record: all(p(record) for p in predicates)


def _term(model: str, terms: list[Any]) -> Predicate:
    head = terms.pop(0)
    if head == "!":
        inner = _term(model, terms)
        return lambda record: not inner(record)
    if head in ("&", "|"):
        left, right = _term(model, terms), _term(model, terms)
        if head == "&":
            return lambda record: left(record) and right(record)
        return lambda record: left(record) or right(record)
    return _leaf(model, head)


def _leaf(model: str, leaf: Any) -> Predicate:
    if not isinstance(leaf, list | tuple) or len(leaf) != 3:
        raise refuse("domain.invalid_leaf", leaf=leaf)
    name, operator, value = leaf
    if operator not in _OPERATORS:
        raise refuse("domain.invalid_operator", operator=operator, leaf=leaf)
    kind = field_type(model, str(name))
    wanted = _comparable(kind, value)
    return lambda record: _matches(_comparable(kind, record.get(name)), operator, wanted)


def _comparable(kind: str, value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_comparable(kind, v) for v in value]
    if kind == "datetime" and isinstance(value, str):
        return _parse_datetime(value)
    if value is False and kind != "bool":
        return None
    return value


def _parse_datetime(text: str) -> datetime:
    try:
        return datetime.strptime(text, DATETIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise refuse("domain.invalid_datetime", text=text) from None


def _matches(actual: Any, operator: str, wanted: Any) -> bool:
    if operator == "=":
        return bool(actual == wanted)
    if operator == "!=":
        return bool(actual != wanted)
    if operator in ("in", "not in"):
        inside = isinstance(wanted, list) and actual in wanted
        return inside if operator == "in" else not inside
    if operator.endswith("like"):
        return _like(actual, operator, wanted)
    return _ordered(actual, operator, wanted)


def _ordered(actual: Any, operator: str, wanted: Any) -> bool:
    if actual is None or wanted is None:
        return False
    try:
        outcome = {
            ">": actual > wanted,
            ">=": actual >= wanted,
            "<": actual < wanted,
            "<=": actual <= wanted,
        }[operator]
        return bool(outcome)
    except TypeError:
        raise refuse(
            "domain.incomparable", actual=actual, operator=operator, wanted=wanted
        ) from None


def _like(actual: Any, operator: str, wanted: Any) -> bool:
    if not isinstance(actual, str) or not isinstance(wanted, str):
        return False
    flags = re.IGNORECASE if "ilike" in operator else 0
    if operator.startswith("="):  # =like / =ilike: the pattern as given, % and _ wildcards
        pattern = "".join(_wildcard(c) for c in wanted)
        return re.fullmatch(pattern, actual, flags | re.DOTALL) is not None
    return re.search(re.escape(wanted), actual, flags) is not None


def _wildcard(char: str) -> str:
    return {"%": ".*", "_": "."}.get(char, re.escape(char))


def sort_records(model: str, records: list[dict[str, Any]], order: str | None) -> None:
    """Sort in place by an Odoo ``order`` spec (``"write_date asc, id desc"``)."""
    for name, descending in reversed(_order_spec(model, order or "id")):
        records.sort(key=_keyed(name), reverse=descending)


def _keyed(name: str) -> Callable[[dict[str, Any]], tuple[int, Any]]:
    return lambda record: _sort_key(record.get(name))


def _order_spec(model: str, order: str) -> list[tuple[str, bool]]:
    spec: list[tuple[str, bool]] = []
    for part in order.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in _DIRS):
            raise refuse("search.invalid_order", order=order)
        field_type(model, words[0])
        spec.append((words[0], len(words) == 2 and words[1].lower() == "desc"))
    return spec


_DIRS = ("asc", "desc")


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None or value is False:
        return (0, 0)
    if isinstance(value, int | Decimal | float):
        return (1, value)
    if isinstance(value, datetime):
        return (2, value)
    return (3, str(value))


def page(records: Sequence[dict[str, Any]], offset: Any, limit: Any) -> list[dict[str, Any]]:
    start = _count(offset, "offset") or 0
    size = _count(limit, "limit")
    return list(records[start : start + size] if size else records[start:])


def _count(value: Any, name: str) -> int | None:
    if value is None or value is False:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise refuse("search.bad_count", name=name, value=value)
    return value
