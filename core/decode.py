"""One way from stored bytes to a typed event: the :class:`Envelope` and its payload as
its :class:`EventData` subclass, upcast to the current schema version on the way in.

Every reader of the log goes through here — the worker and its fold, the importer, the
projections, both traces and the audit index — and then dispatches on the payload's class,
never on its type's name. :func:`decode` reads a whole envelope; :func:`decode_payload`
only the typed payload of an event already parsed, for readers that keep the envelope's
fields as stored (the projections' timestamps, the audit index's exact bytes).

Bytes are parsed by msgspec's JSON decoder first (several times faster than the
standard library's, which was a quarter of a replay's time: ``bench/replay.py``), every
number with a fraction or exponent given as ``Decimal`` of its literal text. Where msgspec
refuses the bytes (``NaN``, a lone surrogate escape, nesting too deep, not JSON at all)
the standard library's decoder reads them, so what reads, and how, is what it always was.
(msgspec raises ``UnicodeDecodeError``, not its own error, for bytes that are not UTF-8
inside a string: that, too, goes to the standard library, which refuses them.)"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import msgspec
from pydantic import ValidationError

from syncledger.core.errors import UndecodableEvent
from syncledger.core.events import Envelope, EventData, event_class, upcast

_JSON = json.JSONDecoder(parse_float=Decimal)
_FAST_JSON = msgspec.json.Decoder(float_hook=Decimal)
H = TypeVar("H")


@dataclass(frozen=True, slots=True)
class Decoded:
    envelope: Envelope
    event: EventData


def read_json(raw: bytes) -> Any:
    """The stored bytes parsed (a number with a fraction is a ``Decimal``, never a float);
    ``UndecodableEvent`` when they are not JSON."""
    try:
        return _FAST_JSON.decode(raw)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        pass  # the standard library's decoder decides (see the module docstring)
    try:
        return _JSON.decode(raw.decode())
    except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, nested too deep
        raise UndecodableEvent(f"not JSON: {exc}") from exc


def decode(raw: bytes) -> Decoded:
    """The stored event, typed and upcast; ``UndecodableEvent`` when it does not read."""
    return decode_json(read_json(raw), raw)


def decode_json(stored: Any, raw: bytes | None = None) -> Decoded:
    """:func:`decode` for an event already parsed from its bytes."""
    try:
        envelope = Envelope.model_validate(stored)
    except ValidationError as exc:
        raise UndecodableEvent(_reason(exc)) from exc
    if raw is not None:
        envelope._raw = bytes(raw)  # exactly what the log holds
    event = _payload(envelope.type, envelope.schema_version, envelope.data)
    return Decoded(envelope, event)


def decode_payload(stored: Any) -> EventData:
    """The typed, upcast payload of an event already parsed from its bytes (the rest of
    its envelope is not read); ``UndecodableEvent`` when it does not read."""
    if not isinstance(stored, dict):
        raise UndecodableEvent(f"a JSON {type(stored).__name__} is not an event")
    type_name, version, data = stored.get("type"), stored.get("schema_version"), stored.get("data")
    if not isinstance(type_name, str):
        raise UndecodableEvent("its type is missing or not a string")
    if not isinstance(version, int) or isinstance(version, bool):
        raise UndecodableEvent("its schema_version is missing or not an integer")
    if not isinstance(data, dict):
        raise UndecodableEvent("its data is missing or not a JSON object")
    return _payload(type_name, version, data)


def payload_of(cls: type[EventData], version: int, data: dict[str, Any]) -> EventData:
    """:func:`decode_payload` for a reader that has checked the envelope's shape and
    looked its type's class up already (the projections' hot path)."""
    return _validate(cls, data if version == cls.schema_version else _upcast(cls, version, data))


def decode_wanted(stored: Any, wanted: tuple[type[EventData], ...]) -> EventData | None:
    """:func:`decode_payload` when the event's class is one of ``wanted`` (or a subclass of
    one); ``None`` for any other, of which nothing more is read."""
    type_name = stored.get("type") if isinstance(stored, dict) else None
    if isinstance(type_name, str) and not is_wanted(type_name, wanted):
        return None
    return decode_payload(stored)


def read_wanted(raw: bytes, wanted: tuple[type[EventData], ...]) -> EventData | None:
    """The stored bytes as one of ``wanted``; None for any other type and for an event
    that does not decode (a reader of a few types passes over what it cannot read)."""
    try:
        return decode_wanted(read_json(raw), wanted)
    except UndecodableEvent:
        return None


def is_wanted(type_name: str, wanted: tuple[type[EventData], ...]) -> bool:
    """Whether the stored type names one of the ``wanted`` classes (or a subclass)."""
    cls = event_class(type_name)
    return cls is not None and issubclass(cls, wanted)


def handler_for(table: Mapping[type[EventData], H], event: EventData) -> H | None:
    """``table``'s entry for the event's class, or for the nearest base class it has."""
    for cls in type(event).__mro__:
        found = table.get(cls)
        if found is not None:
            return found
    return None


def _payload(type_name: str, version: int, data: dict[str, Any]) -> EventData:
    cls = event_class(type_name)
    if cls is None:
        raise UndecodableEvent(f"unknown event type {type_name!r}")
    return payload_of(cls, version, data)


def _validate(cls: type[EventData], data: dict[str, Any]) -> EventData:
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise UndecodableEvent(_reason(exc, payload=True)) from exc


def _upcast(cls: type[EventData], version: int, data: dict[str, Any]) -> dict[str, Any]:
    try:
        return upcast(cls.__name__, version, dict(data))
    except Exception as exc:  # no upcaster, or one that cannot take this event's data
        raise UndecodableEvent(f"it cannot be upcast: {type(exc).__name__}: {exc}") from exc


def _reason(exc: ValidationError, *, payload: bool = False) -> str:
    """Why, without the values (a record's data is no place for a log line)."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    if payload and exc.error_count() == 1 and first["type"] == "missing":
        return f"its data lacks the field {where!r}"
    return f"{exc.title} does not validate: {exc.error_count()} field(s), first {where!r}"
