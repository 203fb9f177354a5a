"""``read_json`` parses with msgspec first and the standard library where msgspec refuses:
whatever the bytes, the outcome is the standard library's (``json`` with
``parse_float=Decimal``), so no reader of the log sees a difference (core/decode.py)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncledger.core.decode import read_json
from syncledger.core.errors import UndecodableEvent

_STDLIB = json.JSONDecoder(parse_float=Decimal)


def _stdlib(raw: bytes) -> Any:
    try:
        return _STDLIB.decode(raw.decode())
    except (ValueError, RecursionError):
        return UndecodableEvent


def _ours(raw: bytes) -> Any:
    try:
        return read_json(raw)
    except UndecodableEvent:
        return UndecodableEvent


def _same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (1 and Decimal('1.0') differ)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Decimal) and a.is_nan():
        return b.is_nan() and str(a) == str(b)
    if isinstance(a, float) and a != a:  # NaN read by the standard library
        return b != b
    return bool(a == b) and str(a) == str(b)


EDGES = [
    b'{"total": "12.50", "amount": 12.50, "tiny": 1e-30, "huge": 1E+400, "neg": -0.0}',
    b'{"int": 123456789012345678901234567890, "zero": -0, "exp_int": 1e3}',
    b'{"nan": NaN, "inf": Infinity, "minus": -Infinity}',
    b'{"lone": "\\ud800", "pair": "\\ud83d\\ude00", "nul": "\\u0000"}',
    b'{"dup": 1, "dup": 2}',
    b'\xef\xbb\xbf{"bom": 1}',
    b"  [1, 2.0, true, null]  ",
    b"[1,]",
    b'{"a": 1} trailing',
    b"\xff\xfe",
    b"",
    b"[" * 5000 + b"]" * 5000,
]


@pytest.mark.parametrize("raw", EDGES, ids=range(len(EDGES)))
def test_edge_cases_read_as_the_standard_library_reads_them(raw: bytes) -> None:
    assert _same(_ours(raw), _stdlib(raw))


def test_a_fraction_is_a_decimal_of_its_exact_text() -> None:
    found = read_json(b'{"a": 0.10, "b": 1.005e2, "c": [3.14159265358979323846264338327950288]}')
    assert found == {
        "a": Decimal("0.10"),
        "b": Decimal("1.005e2"),
        "c": [Decimal("3.14159265358979323846264338327950288")],
    }
    assert str(found["a"]) == "0.10"


_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.decimals(allow_nan=False, allow_infinity=False).map(str).map(Decimal)
    | st.text()
)
_JSON_VALUES = st.recursive(
    _LEAVES,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(), kids, max_size=4),
    max_leaves=20,
)


def _dump(value: Any) -> str:
    """JSON text with each Decimal written as its own literal (a number, not a string)."""
    if isinstance(value, Decimal):
        return str(value) if "E" in str(value) or "." in str(value) else f"{value}.0"
    if isinstance(value, list):
        return "[" + ",".join(_dump(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{_dump(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


@settings(max_examples=300, deadline=None)
@given(_JSON_VALUES)
def test_any_json_reads_as_the_standard_library_reads_it(value: Any) -> None:
    raw = _dump(value).encode()
    assert _same(_ours(raw), _stdlib(raw))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_any_bytes_read_or_fail_as_with_the_standard_library(raw: bytes) -> None:
    assert _same(_ours(raw), _stdlib(raw))
