"""The QBO query language, as far as the sandbox needs it::

    SELECT * | COUNT(*) FROM <Entity>
      [WHERE <field> <op> <value> [AND ...]]      op: = < > <= >= IN LIKE
      [ORDERBY <field> [ASC|DESC]] [STARTPOSITION n] [MAXRESULTS n]

Only fields QBO marks filterable may be filtered or sorted on (``PrivateNote`` and
``Notes`` are not); string comparisons ignore case; without a condition on ``Active`` a
Customer or Item query returns active ones only, as QBO does for its name lists.
MAXRESULTS is capped at 1000.

As Intuit's "Query operations and syntax" page has it (developer.intuit.com/app/developer/
qbo/docs/learn/explore-the-quickbooks-online-api/data-queries): conditions are joined by
``AND`` only ("The OR operation isn't supported": an ``OR`` is refused as unparsable); a
list of values ``(v1, v2)`` is taken only after ``IN`` ("only supported for IN clauses"),
on any filterable field (``DisplayName IN (...)``, ``PrimaryEmailAddr IN (...)``: the
adapter's batch match). The page names no limit on a statement's length or on the values
of an ``IN``, so the sandbox sets none. The page's operator list ("IN, =, <, >, <=, >=,
LIKE") has no ``!=`` and no Intuit page found documents one, so ``!=`` (and ``<>``) is
refused as unparsable (``query.unparsable``, 400 / 4000), as QBO answers a query it
cannot read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from syncledger.adapters.qbo.sandbox.book import entity_name
from syncledger.adapters.qbo.sandbox.errors import QboFault, refuse

MAX_RESULTS = 1000
_META = ("MetaData.CreateTime", "MetaData.LastUpdatedTime")
FILTERABLE: dict[str, frozenset[str]] = {
    "Customer": frozenset(
        {
            "Id",
            "DisplayName",
            "GivenName",
            "FamilyName",
            "CompanyName",
            "PrimaryEmailAddr",
            "Active",
            "Balance",
            *_META,
        }
    ),
    "Invoice": frozenset(
        {"Id", "DocNumber", "TxnDate", "DueDate", "CustomerRef", "TotalAmt", "Balance", *_META}
    ),
    "Payment": frozenset({"Id", "TxnDate", "CustomerRef", "TotalAmt", *_META}),
    "CreditMemo": frozenset(
        {"Id", "DocNumber", "TxnDate", "CustomerRef", "TotalAmt", "Balance", *_META}
    ),
    "Purchase": frozenset({"Id", "DocNumber", "TxnDate", "PaymentType", "TotalAmt", *_META}),
    "Item": frozenset({"Id", "Name", "Type", "Sku", "Active", *_META}),
}
#: the name lists whose queries leave inactive entries out unless ``Active`` is asked about
_ACTIVE_ONLY = ("Customer", "Item")
_NUMERIC = frozenset({"Balance", "TotalAmt"})
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:\\.|[^'\\])*')|(?P<op><=|>=|=|<|>)|(?P<punct>[(),*])"
    r"|(?P<word>-?[A-Za-z0-9_.]+))"
)


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    op: str
    value: Any  # a scalar, or a tuple for IN


@dataclass(slots=True)
class Query:
    entity: str
    count: bool = False
    where: list[Condition] = field(default_factory=list)
    order: str | None = None
    descending: bool = False
    start: int = 1
    max_results: int = 100

    def run(self, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """The ``QueryResponse`` object for ``rows`` (all records of the entity)."""
        hits = [row for row in rows if self._matches(row)]
        if self.count:
            return {"totalCount": len(hits)}
        if self.order:
            hits.sort(key=_sort_key(self.order), reverse=self.descending)
        page = hits[self.start - 1 : self.start - 1 + self.max_results]
        if not page:
            return {}
        return {self.entity: page, "startPosition": self.start, "maxResults": len(page)}

    def _matches(self, row: dict[str, Any]) -> bool:
        conditions = list(self.where)
        if self.entity in _ACTIVE_ONLY and not any(c.field == "Active" for c in conditions):
            conditions.append(Condition("Active", "=", True))
        return all(_holds(c, row) for c in conditions)


def parse(statement: str) -> Query:
    tokens = _tokens(statement)
    return _Parser(tokens).query()


def _tokens(statement: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    position = 0
    text = statement.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise _unparsable(f"unexpected text at {text[position : position + 20]!r}")
        kind = match.lastgroup or ""
        found.append((kind, match.group(kind)))
        position = match.end()
    return found


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self._tokens = tokens
        self._at = 0

    def query(self) -> Query:
        self._keyword("select")
        count = self._what()
        self._keyword("from")
        try:
            entity = entity_name(self._word())
        except KeyError as exc:
            raise refuse("query.entity_unsupported", entity=exc.args[0]) from None
        query = Query(entity, count=count)
        self._clauses(query)
        return query

    def _clauses(self, query: Query) -> None:
        if self._accept("where"):
            query.where.append(self._condition(query.entity))
            while self._accept("and"):
                query.where.append(self._condition(query.entity))
        if self._accept("orderby"):
            query.order = self._field(query.entity)
            query.descending = self._accept("desc")
            if not query.descending:
                self._accept("asc")
        if self._accept("startposition"):
            query.start = max(1, int(self._word()))
        if self._accept("maxresults"):
            query.max_results = min(MAX_RESULTS, max(1, int(self._word())))
        if self._at < len(self._tokens):
            raise _unparsable(f"unexpected {self._tokens[self._at][1]!r}")

    def _what(self) -> bool:
        if self._accept_punct("*"):
            return False
        self._keyword("count")
        for mark in "(*)":
            if not self._accept_punct(mark):
                raise _unparsable("expected COUNT(*)")
        return True

    def _condition(self, entity: str) -> Condition:
        name = self._field(entity)
        if self._accept("in"):
            return Condition(name, "in", self._values())
        if self._accept("like"):
            return Condition(name, "like", self._value())
        kind, op = self._next()
        if kind != "op":
            raise _unparsable(f"expected an operator after {name}, found {op!r}")
        return Condition(name, op, self._value())

    def _field(self, entity: str) -> str:
        name = self._word()
        if name not in FILTERABLE[entity]:
            raise refuse("query.not_filterable", name=name, entity=entity)
        return name

    def _values(self) -> tuple[Any, ...]:
        if not self._accept_punct("("):
            raise _unparsable("expected ( after IN")
        values = [self._value()]
        while self._accept_punct(","):
            values.append(self._value())
        if not self._accept_punct(")"):
            raise _unparsable("expected ) closing IN")
        return tuple(values)

    def _value(self) -> Any:
        kind, text = self._next()
        if kind == "str":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "word" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        if kind == "word":
            return _number(text)
        raise _unparsable(f"expected a value, found {text!r}")

    def _word(self) -> str:
        kind, text = self._next()
        if kind != "word":
            raise _unparsable(f"expected a name, found {text!r}")
        return text

    def _keyword(self, word: str) -> None:
        if not self._accept(word):
            raise _unparsable(f"expected {word.upper()}")

    def _accept(self, word: str) -> bool:
        token = self._peek()
        if token is not None and token[0] == "word" and token[1].lower() == word:
            self._at += 1
            return True
        return False

    def _accept_punct(self, mark: str) -> bool:
        if self._peek() == ("punct", mark):
            self._at += 1
            return True
        return False

    def _peek(self) -> tuple[str, str] | None:
        return self._tokens[self._at] if self._at < len(self._tokens) else None

    def _next(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise _unparsable("the statement ends too early")
        self._at += 1
        return token


def _unparsable(detail: str) -> QboFault:
    return refuse("query.unparsable", detail=detail)


def _number(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise _unparsable(f"{text!r} is not a value") from None


def field_value(row: dict[str, Any], name: str) -> Any:
    node: Any = row
    for part in name.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        return node.get("Address", node.get("value"))
    return node


def _comparable(name: str, value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if name in _META:
        moment = datetime.fromisoformat(str(value))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if name in _NUMERIC or (name == "Id" and str(value).isdigit()):
        return Decimal(str(value))
    return str(value).casefold()


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: bool(a == b),
    "<": lambda a, b: bool(a < b),
    ">": lambda a, b: bool(a > b),
    "<=": lambda a, b: bool(a <= b),
    ">=": lambda a, b: bool(a >= b),
}


def _holds(condition: Condition, row: dict[str, Any]) -> bool:
    actual = _comparable(condition.field, field_value(row, condition.field))
    if condition.op == "in":
        return actual in {_comparable(condition.field, v) for v in condition.value}
    if condition.op == "like":
        return actual is not None and _like(str(condition.value)).fullmatch(actual) is not None
    expected = _comparable(condition.field, condition.value)
    if actual is None or expected is None:
        return False
    try:
        return _OPS[condition.op](actual, expected)
    except TypeError:
        raise _unparsable(f"cannot compare {condition.field} with {condition.value!r}") from None


def _like(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.casefold().split("%")))


def _sort_key(name: str) -> Callable[[dict[str, Any]], tuple[bool, Any]]:
    def key(row: dict[str, Any]) -> tuple[bool, Any]:
        value = _comparable(name, field_value(row, name))
        return (value is None, value if value is not None else 0)

    return key
