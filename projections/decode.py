"""Turning stored events into what the fold reads: typed payloads, through the one decoder.

The payload goes through :func:`syncledger.core.decode.decode_payload` (typed, upcast by
the registered upcasters), and only for the classes the fold uses: any other event is
skipped unread. The envelope's own fields the read models keep (entity, recorded time)
are taken as stored, so a rebuild gives the same text. A version newer than this code
knows is refused rather than guessed at (the fold stops there until syncledger is
upgraded: skipping it would leave read models that a newer version never revisits).

An event that cannot be read at all (not JSON, a field missing or of the wrong shape, an
upcaster that fails on it) comes out of :func:`read_event` as :class:`Broken`: the fold
records it as unfoldable and goes on.

The envelope is parsed into a :class:`_Envelope` of the five fields read here (msgspec:
the others are skipped unbuilt, and the shape is checked in the parse; a rebuild's hot
path, ``bench/replay.py``). Bytes that are not UTF-8 (msgspec does not check the strings
it skips) or do not parse so — whatever the reason — are read
the general way (:func:`~syncledger.core.decode.read_json`, then the checks one by one),
which decides what they are: the fast path only ever takes an envelope that the general
way would have taken with the same five values.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec

from syncledger.core.decode import payload_of, read_json
from syncledger.core.errors import ProjectionError, UndecodableEvent
from syncledger.core.events import EventData, event_class
from syncledger.core.store import StoredEvent


@dataclass(frozen=True, slots=True)
class Event:
    """A typed event and the parts of its envelope the read models use."""

    seq: int
    type: str  # the type's name as stored (unfoldable rows show it)
    entity: str
    at: str  # recorded_at, ISO 8601 text as stored
    payload: EventData
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


_REASON_LIMIT = 300
Wanted = tuple[type[EventData], ...]


def decode(stored: StoredEvent, wanted: Wanted) -> Event | None:
    """The event at ``stored`` if its class is one of ``wanted``, else ``None``; an event that
    cannot be read is a :class:`~syncledger.core.errors.ProjectionError` naming its sequence."""
    found = read_event(stored, wanted)
    if isinstance(found, Broken):
        raise ProjectionError(
            f"event at sequence {stored.seq} ({stored.subject}) cannot be read: {found.reason}"
        )
    return found


class _Envelope(msgspec.Struct, frozen=True, gc=False):
    """The envelope's fields the read models use, typed as the general checks want them
    (``int`` takes no ``bool`` and no fraction in msgspec, as :func:`_envelope_problem`)."""

    type: str
    entity: str
    recorded_at: str
    schema_version: int
    data: dict[str, Any]


#: numbers with a fraction or exponent as ``Decimal`` of their text, as ``read_json``
_ENVELOPE = msgspec.json.Decoder(_Envelope, float_hook=Decimal)


def read_event(stored: StoredEvent, wanted: Wanted) -> Event | Broken | None:
    """The event at ``stored`` if its class is one of ``wanted``; :class:`Broken` if it
    cannot be read (whatever its type may be); ``None`` for a type not wanted."""
    raw = stored.raw
    try:
        if not raw.isascii():
            raw.decode()  # msgspec leaves the strings it skips unchecked: the general way
        env = _ENVELOPE.decode(raw)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):  # and ValidationError
        return _read_generally(stored, wanted)
    cls = _wanted_class(env.type, wanted)
    if cls is None:
        return None
    _refuse_newer(env.type, cls, env.schema_version, stored.seq)  # upgrade, never skip
    try:
        payload = payload_of(cls, env.schema_version, env.data)
    except UndecodableEvent as exc:
        return _broken(stored, msgspec.structs.asdict(env), str(exc))
    return Event(stored.seq, env.type, env.entity, env.recorded_at, payload, stored.subject)


def _read_generally(stored: StoredEvent, wanted: Wanted) -> Event | Broken | None:
    """:func:`read_event` for bytes the envelope's parse refused: what they are decided
    check by check."""
    try:
        env = read_json(stored.raw)
    except UndecodableEvent as exc:  # not UTF-8 or JSON, too deep, too long
        cause = exc.__cause__ or exc
        return _broken(stored, {}, f"it is not readable JSON ({type(cause).__name__}: {cause})")
    if not isinstance(env, dict):
        return _broken(stored, {}, f"it is a JSON {type(env).__name__}, not an event object")
    type_name = env.get("type")
    cls = _wanted_class(type_name, wanted) if isinstance(type_name, str) else None
    if cls is None and isinstance(type_name, str):
        return None
    problem = _envelope_problem(env)
    if problem is not None or cls is None or not isinstance(type_name, str):
        return _broken(stored, env, problem or "its type is not a string")
    version = env["schema_version"]
    _refuse_newer(type_name, cls, version, stored.seq)  # upgrade, never skip
    try:
        payload = payload_of(cls, version, env["data"])
    except UndecodableEvent as exc:
        return _broken(stored, env, str(exc))
    return Event(stored.seq, type_name, env["entity"], env["recorded_at"], payload, stored.subject)


_KNOWN: dict[tuple[type[EventData], Wanted], bool] = {}


def _wanted_class(type_name: str, wanted: Wanted) -> type[EventData] | None:
    """The class registered under a stored type name if it is one of ``wanted`` (or a
    subclass of one), else ``None``; whether it is, is remembered per class."""
    cls = event_class(type_name)
    if cls is None:
        return None
    key = (cls, wanted)
    found = _KNOWN.get(key)
    if found is None:
        found = _KNOWN[key] = issubclass(cls, wanted)
    return cls if found else None


_ENVELOPE_FIELDS = (("type", str), ("entity", str), ("recorded_at", str), ("data", dict))


def _envelope_problem(env: dict[str, Any]) -> str | None:
    """What keeps ``env`` from being read as an event, or ``None``."""
    for name, kind in _ENVELOPE_FIELDS:
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


def _refuse_newer(type_name: str, cls: type[EventData], version: int, seq: int) -> None:
    if version > cls.schema_version:
        raise ProjectionError(
            f"event at sequence {seq} is {type_name} v{version}, newer than this code "
            f"(v{cls.schema_version}): upgrade syncledger before projecting this log"
        )
