"""JSON on the wire with money intact: ``Decimal`` goes out as a JSON number and comes
back as ``Decimal``; a float is refused on the way out."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def encode_json(value: Any) -> bytes:
    """Compact UTF-8 JSON; ``Decimal`` as a plain number (``Decimal('1E+2')`` → ``100``)."""
    return _encode(value).encode()


def decode_json(data: bytes | str) -> Any:
    """Parse JSON keeping every fraction as ``Decimal`` (integers stay ``int``)."""
    return json.loads(data, parse_float=Decimal)


def _encode(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, float):
        raise TypeError(f"float {value!r} on the wire: pass a Decimal")
    if isinstance(value, datetime | date):
        return json.dumps(value.isoformat())
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{_encode(str(k))}:{_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _number(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"amount {value} is not finite")
    return format(value, "f")
