"""One way from stored bytes to a typed event: the :class:`Envelope` and its payload as
its :class:`EventData` subclass, upcast to the current schema version on the way in."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from syncledger.core.errors import UndecodableEvent
from syncledger.core.events import Envelope, EventData


@dataclass(frozen=True, slots=True)
class Decoded:
    envelope: Envelope
    event: EventData


def decode(raw: bytes) -> Decoded:
    """The stored event, typed and upcast; ``UndecodableEvent`` when it does not read."""
    try:
        stored = json.loads(raw)
    except ValueError as exc:
        raise UndecodableEvent(f"not JSON: {exc}") from exc
    return decode_json(stored, raw)


def decode_json(stored: Any, raw: bytes | None = None) -> Decoded:
    """:func:`decode` for an event already parsed from its bytes."""
    try:
        envelope = Envelope.model_validate(stored)
        if raw is not None:
            envelope._raw = bytes(raw)  # exactly what the log holds
        return Decoded(envelope, envelope.payload())
    except (ValidationError, ValueError, KeyError, TypeError) as exc:
        raise UndecodableEvent(_reason(exc)) from exc


def _reason(exc: Exception) -> str:
    """Why, without the values (a record's data is no place for a log line)."""
    if not isinstance(exc, ValidationError):
        return str(exc)
    first = ".".join(str(part) for part in exc.errors()[0]["loc"])
    return f"{exc.title} does not validate: {exc.error_count()} field(s), first {first!r}"
