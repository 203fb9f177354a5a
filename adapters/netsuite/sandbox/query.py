"""The two query languages of NetSuite REST, in the subset the sandbox understands.

Record collection filter ``?q=`` (Oracle help, "Record Collection Filtering"): conditions
``<field> <OPERATOR> <value>`` joined by ``AND`` / ``OR`` (``AND`` binds tighter; no
parentheses here). String values in double quotes; ``IS`` and the other text operators
ignore case. Dates are written in the user's date format (the sandbox takes NetSuite's
US default, ``M/D/YYYY`` with an optional ``h:mm am``) and compare to the minute in the
account's time zone.

SuiteQL (``POST /query/v1/suiteql``): ``SELECT <columns | *> FROM <table> [WHERE <cond>
[AND <cond>]…] [ORDER BY <column> [ASC|DESC], …]`` where a condition compares a column, or
``UPPER`` / ``LOWER`` / ``REPLACE(…, 'from'[, 'to'])`` of one (nested), with a
``'literal'``, a number, ``TO_TIMESTAMP('…', 'YYYY-MM-DD HH24:MI:SS')`` (read in the
account's time zone, compared to the second) or ``IN ('a', 'b')`` / ``IN (1, 2)``.
Values come back as strings, as NetSuite returns them.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from syncledger.adapters.netsuite.sandbox.errors import NsError, refuse

Row = Mapping[str, Any]
Predicate = Callable[[Row], bool]
Operand = Callable[[Row], Any]
_FILTER_TOKEN = re.compile(r'\s*("(?:[^"])*"|\[[^\]]*\]|[^\s"\[]+)')
_US_DATE = re.compile(
    r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})\s*([ap]m)?)?$", re.IGNORECASE
)


# ------------------------------------------------------------- record filter


def _bad_filter(problem: str) -> NsError:
    return refuse("filter.unreadable", problem=problem)


def record_filter(text: str, zone: tzinfo) -> Predicate:
    """A predicate over a record for a ``q`` expression; ``filter.unreadable`` when unreadable."""
    tokens = [t for t in _FILTER_TOKEN.findall(text) if t]
    groups: list[list[Predicate]] = [[]]
    while tokens:
        groups[-1].append(_condition(tokens, zone))
        if tokens:
            joiner = tokens.pop(0).upper()
            if joiner == "OR":
                groups.append([])
            elif joiner != "AND":
                raise _bad_filter(f"expected AND or OR, found {joiner!r}")
    return lambda record: any(all(p(record) for p in group) for group in groups)


def _condition(tokens: list[str], zone: tzinfo) -> Predicate:
    if len(tokens) < 2:
        raise _bad_filter("a condition needs a field and an operator")
    field, op = tokens.pop(0), tokens.pop(0).upper()
    if op in ("EMPTY", "EMPTY_NOT"):
        empty = op == "EMPTY"
        return lambda record: (_field(record, field) in (None, "")) is empty
    if not tokens:
        raise _bad_filter(f"{op} needs a value")
    value = tokens.pop(0)
    negate = op.endswith("_NOT")
    test = _test(op.removesuffix("_NOT"), value, zone)
    return lambda record: test(_field(record, field)) is not negate


def _field(record: Row, name: str) -> Any:
    for key, value in record.items():
        if key.lower() == name.lower():
            return value.get("id") if isinstance(value, Mapping) else value
    return None


def _test(op: str, raw: str, zone: tzinfo) -> Callable[[Any], bool]:
    text_ops: dict[str, Callable[[str, str], bool]] = {
        "IS": operator.eq,
        "START_WITH": str.startswith,
        "CONTAIN": operator.contains,
        "END_WITH": str.endswith,
        "ENDWITH": str.endswith,
    }
    if op in text_ops:
        wanted = _unquote(raw).casefold()
        return lambda v: v is not None and text_ops[op](_text(v).casefold(), wanted)
    if op in ("EQUAL", "GREATER", "GREATER_OR_EQUAL", "LESS", "LESS_OR_EQUAL"):
        return _numeric(op, _decimal(_unquote(raw)))
    if op == "ANY_OF":
        options = {o.strip().strip('"') for o in raw.strip("[]").split(",")}
        return lambda v: v is not None and _text(v) in options
    if op in ("AFTER", "ON_OR_AFTER", "BEFORE", "ON_OR_BEFORE", "ON"):
        return _date_test(op, _unquote(raw), zone)
    raise _bad_filter(f"unknown operator {op}")


def _numeric(op: str, wanted: Decimal) -> Callable[[Any], bool]:
    compare = {
        "EQUAL": operator.eq,
        "GREATER": operator.gt,
        "GREATER_OR_EQUAL": operator.ge,
        "LESS": operator.lt,
        "LESS_OR_EQUAL": operator.le,
    }[op]
    return lambda v: v is not None and bool(compare(_decimal(_text(v)), wanted))


def _date_test(op: str, text: str, zone: tzinfo) -> Callable[[Any], bool]:
    match = _US_DATE.match(text)
    if match is None:
        raise _bad_filter(f"{text!r} is not a date in M/D/YYYY [h:mm am] form")
    month, day, year, hour, minute, half = match.groups()
    compare = {
        "AFTER": operator.gt,
        "ON_OR_AFTER": operator.ge,
        "BEFORE": operator.lt,
        "ON_OR_BEFORE": operator.le,
        "ON": operator.eq,
    }[op]
    if hour is None:
        day_wanted = date(int(year), int(month), int(day))
        return lambda v: (m := _local(v, zone)) is not None and compare(m.date(), day_wanted)
    hours = int(hour) if not half else int(hour) % 12 + (12 if half.lower() == "pm" else 0)
    wanted = datetime(int(year), int(month), int(day), hours, int(minute))
    return lambda v: (m := _local(v, zone)) is not None and compare(_minute(m), wanted)


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0, tzinfo=None)


def _local(value: Any, zone: tzinfo) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(zone)


def _unquote(raw: str) -> str:
    return raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] == '"' else raw


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise _bad_filter(f"{text!r} is not a number") from None


# ------------------------------------------------------------------ SuiteQL


def _bad_sql(problem: str) -> NsError:
    return refuse("suiteql.unreadable", problem=problem)


_SQL_TOKEN = re.compile(
    r"\s*('(?:[^']|'')*'|>=|<=|<>|!=|[(),=<>*]|[A-Za-z_][\w.]*|-?\d+(?:\.\d+)?)"
)
_TEXT_FUNCTIONS = frozenset({"UPPER", "LOWER", "REPLACE"})
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "<>": operator.ne,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


@dataclass(frozen=True, slots=True)
class SuiteQL:
    table: str
    columns: tuple[str, ...]  # empty: every column
    where: tuple[Predicate, ...]
    order: tuple[tuple[str, bool], ...]  # column, descending

    def run(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        kept = [row for row in rows if all(p(row) for p in self.where)]
        for column, descending in reversed(self.order):
            kept.sort(key=_sorting_by(column), reverse=descending)
        return [self._select(row) for row in kept]

    def _select(self, row: Mapping[str, Any]) -> dict[str, Any]:
        names = self.columns or tuple(row)
        unknown = [n for n in names if n not in row]
        if unknown:
            raise refuse("suiteql.column_unknown", name=unknown[0])
        return {name: _sql_text(row[name]) for name in names} | {"links": []}


def parse_suiteql(statement: str, zone: tzinfo) -> SuiteQL:
    tokens = _sql_tokens(statement)
    _expect(tokens, "SELECT")
    columns = _columns(tokens)
    _expect(tokens, "FROM")
    table = _take(tokens).lower()
    where = _where(tokens, zone) if _accept(tokens, "WHERE") else ()
    order = _order(tokens) if _accept(tokens, "ORDER") else ()
    if tokens:
        raise _bad_sql(f"Unexpected '{tokens[0]}'")
    return SuiteQL(table, columns, where, order)


def _sql_tokens(statement: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    text = statement.strip().rstrip(";")
    while position < len(text):
        match = _SQL_TOKEN.match(text, position)
        if match is None or not match.group(1):
            raise _bad_sql(f"Invalid or unsupported search near '{text[position:][:20]}'")
        tokens.append(match.group(1))
        position = match.end()
    return tokens


def _take(tokens: list[str]) -> str:
    if not tokens:
        raise _bad_sql("Unexpected end of the query")
    return tokens.pop(0)


def _accept(tokens: list[str], word: str) -> bool:
    if tokens and tokens[0].upper() == word:
        tokens.pop(0)
        return True
    return False


def _expect(tokens: list[str], word: str) -> None:
    if not _accept(tokens, word):
        raise _bad_sql(f"Expected {word}")


def _columns(tokens: list[str]) -> tuple[str, ...]:
    if _accept(tokens, "*"):
        return ()
    columns = [_take(tokens).lower()]
    while _accept(tokens, ","):
        columns.append(_take(tokens).lower())
    return tuple(columns)


def _where(tokens: list[str], zone: tzinfo) -> tuple[Predicate, ...]:
    conditions = [_sql_condition(tokens, zone)]
    while _accept(tokens, "AND"):
        conditions.append(_sql_condition(tokens, zone))
    return tuple(conditions)


def _sql_condition(tokens: list[str], zone: tzinfo) -> Predicate:
    operand = _operand(tokens)
    if _accept(tokens, "IN"):
        options = _in_list(tokens)
        return lambda row: _sql_text(operand(row)) in options
    op = _take(tokens)
    if op not in _COMPARE:
        raise _bad_sql(f"Unsupported operator '{op}'")
    value = _sql_value(tokens, zone)
    compare = _COMPARE[op]
    return lambda row: (
        _comparable(operand(row), value) and compare(_coerce(operand(row), value), value)
    )


def _operand(tokens: list[str]) -> Operand:
    """A column, or a text function of an operand (``UPPER(REPLACE(col, ' ', ''))``)."""
    token = _take(tokens)
    name = token.upper()
    if name not in _TEXT_FUNCTIONS or tokens[:1] != ["("]:
        column = token.lower()
        return lambda row: row.get(column)
    tokens.pop(0)
    inner = _operand(tokens)
    arguments = []
    while _accept(tokens, ","):
        arguments.append(_literal(_take(tokens)))
    _expect(tokens, ")")
    return _text_function(name, inner, arguments)


def _text_function(name: str, inner: Operand, arguments: list[str]) -> Operand:
    if name == "REPLACE":
        if len(arguments) not in (1, 2):
            raise _bad_sql("REPLACE takes two or three arguments")
        old, new = arguments[0], arguments[1] if len(arguments) == 2 else ""
        return lambda row: _on_text(inner(row), lambda t: t.replace(old, new) if old else t)
    if arguments:
        raise _bad_sql(f"{name} takes one argument")
    case = str.upper if name == "UPPER" else str.lower
    return lambda row: _on_text(inner(row), case)


def _on_text(value: Any, change: Callable[[str], str]) -> str | None:
    text = _sql_text(value)
    return None if text is None else change(text)


def _in_list(tokens: list[str]) -> set[str]:
    """``IN ('a', 'b')`` or ``IN (1, 2)``: the options as the text they compare as."""
    _expect(tokens, "(")
    options = {_option(_take(tokens))}
    while _accept(tokens, ","):
        options.add(_option(_take(tokens)))
    _expect(tokens, ")")
    return options


def _option(token: str) -> str:
    return _literal(token) if token.startswith("'") else str(_decimal_sql(token))


def _sql_value(tokens: list[str], zone: tzinfo) -> Any:
    token = _take(tokens)
    if token.upper() != "TO_TIMESTAMP":
        return _literal(token) if token.startswith("'") else _decimal_sql(token)
    _expect(tokens, "(")
    text = _literal(_take(tokens))
    _expect(tokens, ",")
    pattern = _literal(_take(tokens))
    _expect(tokens, ")")
    if pattern.upper() != "YYYY-MM-DD HH24:MI:SS":
        raise _bad_sql(f"Unsupported date format '{pattern}'")
    try:
        naive = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise _bad_sql(f"'{text}' does not match the format") from None
    return naive.replace(tzinfo=zone)


def _literal(token: str) -> str:
    if not (token.startswith("'") and token.endswith("'")):
        raise _bad_sql(f"Expected a string literal, found '{token}'")
    return token[1:-1].replace("''", "'")


def _decimal_sql(token: str) -> Decimal:
    try:
        return Decimal(token)
    except InvalidOperation:
        raise refuse("suiteql.column_unknown", name=token) from None


def _comparable(stored: Any, value: Any) -> bool:
    return stored is not None and (not isinstance(value, datetime) or isinstance(stored, datetime))


def _coerce(stored: Any, value: Any) -> Any:
    if isinstance(value, Decimal):
        return Decimal(str(stored))
    if isinstance(value, str):
        return _sql_text(stored)
    return stored


def _order(tokens: list[str]) -> tuple[tuple[str, bool], ...]:
    _expect(tokens, "BY")
    order = [_order_term(tokens)]
    while _accept(tokens, ","):
        order.append(_order_term(tokens))
    return tuple(order)


def _order_term(tokens: list[str]) -> tuple[str, bool]:
    column = _take(tokens).lower()
    if _accept(tokens, "DESC"):
        return column, True
    _accept(tokens, "ASC")
    return column, False


def _sorting_by(column: str) -> Callable[[Mapping[str, Any]], tuple[int, Any]]:
    return lambda row: _sort_key(row.get(column))


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, datetime):
        return 0, value.timestamp()
    if isinstance(value, int | Decimal) or (isinstance(value, str) and value.isdigit()):
        return 1, Decimal(str(value))
    return 2, str(value)


def _sql_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, datetime):
        return f"{value.month}/{value.day}/{value.year}"
    return str(value)
