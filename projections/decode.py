"""Turning stored events into what the fold reads — fast.

The hot path parses the stored bytes with the stdlib JSON decoder (numbers with a fraction
become :class:`~decimal.Decimal`, never ``float``) and skips pydantic: the events were
validated when they were appended. Older schema versions go through the registered
upcasters; a version newer than this code knows is refused rather than guessed at.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from core.errors import ProjectionError
from core.events import registered_types, upcast
from core.store import StoredEvent


@dataclass(frozen=True, slots=True)
class Event:
    """The parts of an envelope the read models use."""

    seq: int
    type: str
    entity: str
    at: str  # recorded_at, ISO 8601 text as stored
    data: dict[str, Any]


_JSON = json.JSONDecoder(parse_float=Decimal)


@lru_cache(maxsize=256)
def _current_version(type_name: str) -> int | None:
    cls = registered_types().get(type_name)
    return None if cls is None else cls.schema_version


def decode(stored: StoredEvent, wanted: frozenset[str]) -> Event | None:
    """The event at ``stored`` if its type is in ``wanted``, else ``None``."""
    try:
        env = _JSON.decode(stored.raw.decode())
        type_name = env["type"]
        if type_name not in wanted:
            return None
        data = _upcast(type_name, env["schema_version"], env["data"], stored.seq)
        return Event(stored.seq, type_name, env["entity"], env["recorded_at"], data)
    except (ValueError, KeyError, TypeError) as exc:
        raise ProjectionError(
            f"event at sequence {stored.seq} ({stored.subject}) cannot be read: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def _upcast(type_name: str, version: int, data: dict[str, Any], seq: int) -> dict[str, Any]:
    current = _current_version(type_name)
    if current is None or version == current:
        return data
    if version > current:
        raise ProjectionError(
            f"event at sequence {seq} is {type_name} v{version}, newer than this code "
            f"(v{current}): upgrade syncledger before projecting this log"
        )
    return upcast(type_name, version, data)
