"""The ``where`` and ``order`` query parameters of Xero's GET endpoints, as far as the
sandbox needs them::

    where := term (("AND" | "&&" | "OR" | "||") term)*      (AND binds tighter)
    term  := "NOT" term | "(" where ")" | Path op value | Path "." Method "(" value ")"
    op    := == != < > <= >=          Method := Contains | StartsWith | EndsWith
    value := "text" | number | true | false | null | Guid("…") | DateTime(y, m, d[, h, mi, s])
    order := Path [ASC | DESC]

``Path`` is dotted (``Contact.ContactID``). String comparisons ignore case. A clause the
grammar does not cover is refused (``refusals.py``: ``where.*``, ``order.invalid``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from syncledger.adapters.xero.sandbox.errors import refuse

Predicate = Callable[[dict[str, Any]], bool]

_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:\\.|[^"\\])*")|(?P<op>==|!=|<=|>=|&&|\|\||<|>)'
    r"|(?P<punct>[(),.])|(?P<word>[A-Za-z_][A-Za-z0-9_]*|-?\d+(?:\.\d+)?))"
)
_METHODS = {"contains", "startswith", "endswith"}
_MSDATE = re.compile(r"/Date\((-?\d+)")


def parse_where(text: str) -> Predicate:
    parser = _Parser(_tokens(text))
    predicate = parser.expression()
    parser.expect_end()
    return predicate


def order_key(text: str) -> tuple[Callable[[dict[str, Any]], Any], bool]:
    """A sort key and whether descending, for ``order`` (e.g. ``UpdatedDateUTC DESC``)."""
    parts = text.split()
    if not parts or len(parts) > 2 or (len(parts) == 2 and parts[1].upper() not in ("ASC", "DESC")):
        raise refuse("order.invalid", text=text)
    path = parts[0]
    descending = len(parts) == 2 and parts[1].upper() == "DESC"
    return (lambda row: _sortable(resolve(row, path))), descending


def resolve(row: dict[str, Any], path: str) -> Any:
    node: Any = row
    for part in path.split("."):
        node = _child(node, part)
    return node


def _child(node: Any, name: str) -> Any:
    if not isinstance(node, dict):
        return None
    if name in node:
        return node[name]
    return next((v for k, v in node.items() if k.lower() == name.lower()), None)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise refuse("where.character", position=position)
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


@dataclass
class _Parser:
    tokens: list[tuple[str, str]]
    at: int = 0

    def peek(self) -> str | None:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        if self.at >= len(self.tokens):
            raise refuse("where.ends_early")
        self.at += 1
        return self.tokens[self.at - 1]

    def expect(self, value: str) -> None:
        if self.take()[1] != value:
            raise refuse("where.expected", token=value)

    def expect_end(self) -> None:
        if self.at != len(self.tokens):
            raise refuse("where.unexpected", token=self.peek())

    def expression(self) -> Predicate:
        return self._joined(("OR", "||"), self.conjunction, any)

    def conjunction(self) -> Predicate:
        return self._joined(("AND", "&&"), self.term, all)

    def _joined(
        self,
        words: tuple[str, ...],
        operand: Callable[[], Predicate],
        combine: Callable[[Iterable[bool]], bool],
    ) -> Predicate:
        """Operands joined by one of ``words``, true when ``combine`` holds of them."""
        terms = [operand()]
        while (self.peek() or "").upper() in words:
            self.take()
            terms.append(operand())
        return terms[0] if len(terms) == 1 else (lambda row: combine(t(row) for t in terms))

    def term(self) -> Predicate:
        if (self.peek() or "").upper() == "NOT":
            self.take()
            inner = self.term()
            return lambda row: not inner(row)
        if self.peek() == "(":
            self.take()
            inner = self.expression()
            self.expect(")")
            return inner
        return self.comparison()

    def comparison(self) -> Predicate:
        path = [self._word()]
        while self.peek() == ".":
            self.take()
            path.append(self._word())
        if path[-1].lower() in _METHODS and self.peek() == "(":
            return self._method(".".join(path[:-1]), path[-1].lower())
        kind, op = self.take()
        if kind != "op" or op in ("&&", "||"):
            raise refuse("where.comparison_missing", path=".".join(path))
        return _compare(".".join(path), op, self.value())

    def _method(self, path: str, method: str) -> Predicate:
        self.expect("(")
        needle = self.value()
        self.expect(")")
        if not isinstance(needle, str):
            raise refuse("where.method_argument", method=method)
        return lambda row: _string_test(resolve(row, path), method, needle)

    def _word(self) -> str:
        kind, word = self.take()
        if kind != "word" or word[0].isdigit() or word[0] == "-":
            raise refuse("where.field_missing", token=word)
        return word

    def value(self) -> Any:
        kind, token = self.take()
        if kind == "str":
            return token[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        if kind != "word":
            raise refuse("where.value_missing", token=token)
        return self._literal(token)

    def _literal(self, token: str) -> Any:
        lowered = token.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if lowered == "null":
            return None
        if lowered == "guid":
            return self._call_args(1)[0]
        if lowered == "datetime":
            return _moment([int(a) for a in self._call_args(None)])
        try:
            return Decimal(token)
        except InvalidOperation:
            raise refuse("where.not_a_value", token=token) from None

    def _call_args(self, count: int | None) -> list[Any]:
        self.expect("(")
        args = [self.value()]
        while self.peek() == ",":
            self.take()
            args.append(self.value())
        self.expect(")")
        if count is not None and len(args) != count:
            raise refuse("where.argument_count")
        return args


def _moment(parts: list[int]) -> datetime:
    if not 3 <= len(parts) <= 6:
        raise refuse("where.datetime_parts")
    year, month, day, *clock = parts
    hour, minute, second = (*clock, 0, 0, 0)[:3]
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as exc:
        raise refuse("where.datetime_invalid", reason=exc) from None


def _compare(path: str, op: str, expected: Any) -> Predicate:
    def test(row: dict[str, Any]) -> bool:
        actual = _comparable(resolve(row, path), expected)
        wanted = _comparable(expected, expected)
        if op in ("==", "!="):
            return (actual == wanted) is (op == "==")
        if actual is None or wanted is None:
            return False
        try:
            return bool(_ORDER_OPS[op](actual, wanted))
        except TypeError:
            return False

    return test


_ORDER_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}


def _comparable(value: Any, like: Any) -> Any:
    if isinstance(like, datetime):
        return _as_datetime(value)
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return Decimal(value)
    return value


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    match = _MSDATE.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    return datetime.fromtimestamp(int(match.group(1)) / 1000, UTC)


def _string_test(value: Any, method: str, needle: str) -> bool:
    if not isinstance(value, str):
        return False
    text, part = value.casefold(), needle.casefold()
    tests = {"contains": part in text, "startswith": text.startswith(part)}
    return tests.get(method, text.endswith(part))


def _sortable(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, str):
        stamp = _as_datetime(value)
        return (1, stamp.timestamp()) if stamp else (2, value.casefold())
    return (1, value)
