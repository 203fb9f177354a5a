"""Turning stored events into what the fold reads — fast.

The hot path parses the stored bytes with the stdlib JSON decoder (numbers with a fraction
become :class:`~decimal.Decimal`, never ``float``) and skips pydantic: the events were
validated when they were appended. Older schema versions go through the registered
upcasters; a version newer than this code knows is refused rather than guessed at (the
fold stops there until syncledger is upgraded: skipping it would leave read models that a
newer version never revisits).

An event that cannot be read at all (not JSON, a field missing or of the wrong shape, an
upcaster that fails on it) comes out of :func:`read_event` as :class:`Broken`: the fold
records it as unfoldable and goes on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from syncledger.core.errors import ProjectionError
from syncledger.core.events import registered_types, upcast
from syncledger.core.store import StoredEvent


@dataclass(frozen=True, slots=True)
class Event:
    """The parts of an envelope the read models use."""

    seq: int
    type: str
    entity: str
    at: str  # recorded_at, ISO 8601 text as stored
    data: dict[str, Any]
    subject: str = ""


@dataclass(frozen=True, slots=True)
class Broken:
    """An event that cannot be read: what could be made out of it, and why not more."""

    seq: int
    subject: str
    type: str
    entity: str
    at: str | None
    source_ref: str | None
    reason: str


_JSON = json.JSONDecoder(parse_float=Decimal)
_REASON_LIMIT = 300


@lru_cache(maxsize=256)
def _current_version(type_name: str) -> int | None:
    cls = registered_types().get(type_name)
    return None if cls is None else cls.schema_version


def decode(stored: StoredEvent, wanted: frozenset[str]) -> Event | None:
    """The event at ``stored`` if its type is in ``wanted``, else ``None``; an event that
    cannot be read is a :class:`~syncledger.core.errors.ProjectionError` naming its sequence."""
    found = read_event(stored, wanted)
    if isinstance(found, Broken):
        raise ProjectionError(
            f"event at sequence {stored.seq} ({stored.subject}) cannot be read: {found.reason}"
        )
    return found


def read_event(stored: StoredEvent, wanted: frozenset[str]) -> Event | Broken | None:
    """The event at ``stored`` if its type is in ``wanted``; :class:`Broken` if it cannot
    be read (whatever its type may be); ``None`` for a type not wanted."""
    try:
        env = _JSON.decode(stored.raw.decode())
    except (ValueError, RecursionError) as exc:  # not UTF-8 or JSON, too deep, too long
        return _broken(stored, {}, f"it is not readable JSON ({type(exc).__name__}: {exc})")
    if not isinstance(env, dict):
        return _broken(stored, {}, f"it is a JSON {type(env).__name__}, not an event object")
    type_name = env.get("type")
    if isinstance(type_name, str) and type_name not in wanted:
        return None
    problem = _envelope_problem(env)
    if problem is not None or not isinstance(type_name, str):
        return _broken(stored, env, problem or "its type is not a string")
    try:
        data = _upcast(type_name, env["schema_version"], env["data"], stored.seq)
    except ProjectionError:
        raise  # newer than this code: upgrade, never skip
    except Exception as exc:  # an upcaster that cannot take this event's data
        return _broken(stored, env, f"it cannot be upcast: {type(exc).__name__}: {exc}")
    if not isinstance(data, dict):
        return _broken(stored, env, "its upcast data is not an object")
    return Event(stored.seq, type_name, env["entity"], env["recorded_at"], data, stored.subject)


def _envelope_problem(env: dict[str, Any]) -> str | None:
    """What keeps ``env`` from being read as an event, or ``None``."""
    for name, kind in (("type", str), ("entity", str), ("recorded_at", str), ("data", dict)):
        if not isinstance(env.get(name), kind):
            return f"its {name} is missing or not a JSON {'object' if kind is dict else 'string'}"
    version = env.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        return "its schema_version is missing or not an integer"
    return None


def _broken(stored: StoredEvent, env: dict[str, Any], reason: str) -> Broken:
    data = env.get("data")
    ref = data.get("ref", data.get("source_ref")) if isinstance(data, dict) else None
    return Broken(
        seq=stored.seq,
        subject=stored.subject,
        type=_string(env.get("type")) or "unknown",
        entity=_string(env.get("entity")) or _entity_token(stored.subject),
        at=_string(env.get("recorded_at")),
        source_ref=_string(ref),
        reason=reason[:_REASON_LIMIT],
    )


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _entity_token(subject: str) -> str:
    """The entity token of ``sl.<entity>.…`` ("" when the subject has none)."""
    parts = subject.split(".")
    return parts[1] if len(parts) > 2 else ""


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
