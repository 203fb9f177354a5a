"""The projections' envelope fast path reads every stored event as the general way does.

``projections/decode.read_event`` parses the envelope into a typed struct and falls back to
the general way (parse anything, then check field by field) for bytes it refuses. These
tests hold the two to the same outcome — the event, ``Broken`` with the same reason, ``None``
or the same refusal — on well-formed events and on bytes built to sit on the edges where
the two parsers could differ.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncledger.core.store import StoredEvent
from syncledger.projections import fold
from syncledger.projections.decode import Broken, Event, _read_generally, read_event

_HEAD = b'"type":"LedgerPushRequested","entity":"acme","recorded_at":"2026-01-01T00:00:00Z"'
_DATA = (
    b'{"source_ref":"csv/invoice/I1","ledger":"qbo","operation":"create",'
    b'"idempotency_key":"k","mapping_version":"qbo-v3","content_sha256":"s"}'
)


def _event(extra: bytes = b"", version: bytes = b"1", data: bytes = _DATA) -> bytes:
    return b"{" + _HEAD + b',"schema_version":' + version + b',"data":' + data + extra + b"}"


EDGES = [
    _event(),
    _event(b',"junk":"\xff\xfe"'),  # not UTF-8 in a field the fast path skips
    _event(data=b'{"source_ref":"\xff"}'),
    _event(b',"junk":' + b"[" * 3000 + b"]" * 3000),  # nested too deep
    _event(b',"junk":' + b"[" * 500 + b"]" * 500),
    _event(b',"junk":NaN'),  # only the standard library's parser reads it
    _event(b',"junk":"\\ud800"'),  # a lone surrogate escape
    _event(data=b'{"source_ref":"\\ud800"}'),
    _event(version=b"1e0"),
    _event(version=b"1.0"),
    _event(version=b"true"),
    _event(version=b"-0"),
    _event(version=b"99"),  # newer than this code: refused
    _event(version=b"100000000000000000000000"),
    _event(data=_DATA[:-1] + b',"applied":1.50e1}'),  # a number with an exponent
    _event(data=_DATA[:-1] + b',"applied":"NaN"}'),
    _event(data=b"[]"),
    _event(data=b'"text"'),
    _event(b',"type":"NotAType"'),  # a repeated key: the last one counts
    _event(b',"type":"SourceCursorAdvanced"'),  # a type the fold does not read
    _event(b',"entity":null'),
    _event(b',"recorded_at":5'),
    _event() + b" ",
    _event() + b"x",
    b"\xef\xbb\xbf" + _event(),  # a byte order mark
    b"[1,2]",
    b"null",
    b"",
    '{"type":"LedgerPushRequested","entity":"caf\u00e9","recorded_at":"x","schema_version":1,"data":{}}'.encode(),
]


def _outcome(read: Any, raw: bytes) -> object:
    try:
        return read(StoredEvent(7, "sl.acme.ledger.csv.invoice.I1", raw), fold.HANDLED)
    except Exception as exc:  # the refusal itself is part of the outcome
        return (type(exc).__name__, str(exc))


@pytest.mark.parametrize("raw", EDGES)
def test_edge_bytes_read_as_the_general_way_reads_them(raw: bytes) -> None:
    assert _outcome(read_event, raw) == _outcome(_read_generally, raw)


def test_a_well_formed_event_takes_the_fast_path_and_reads_whole() -> None:
    found = read_event(StoredEvent(7, "sl.acme.x", _event()), fold.HANDLED)
    assert isinstance(found, Event)
    assert (found.entity, found.at, found.type) == (
        "acme",
        "2026-01-01T00:00:00Z",
        "LedgerPushRequested",
    )
    assert found.payload.model_dump()["source_ref"] == "csv/invoice/I1"


def test_bytes_that_are_not_utf8_are_broken_not_read() -> None:
    found = read_event(StoredEvent(7, "sl.acme.x", _event(b',"junk":"\xff"')), fold.HANDLED)
    assert isinstance(found, Broken)
    assert found.reason.startswith("it is not readable JSON")


_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
_json = st.recursive(
    _scalars | st.decimals(allow_nan=False, places=2).map(str),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
_FIELDS = st.sampled_from(["source_ref", "ledger", "ref", "record", "x"])


@settings(max_examples=300, deadline=None)
@given(
    type_name=st.sampled_from(["LedgerPushRequested", "SourceRecordObserved", "Nope", 5, None]),
    entity=st.one_of(st.text(max_size=5), st.none(), st.integers()),
    version=st.one_of(st.integers(-2, 3), st.booleans(), st.floats(0, 3), st.text(max_size=2)),
    data=st.one_of(st.dictionaries(_FIELDS, _json, max_size=4), _json),
    extra=st.dictionaries(st.text(max_size=4), _json, max_size=2),
)  # fmt: skip
def test_any_envelope_reads_as_the_general_way_reads_it(
    type_name: object, entity: object, version: object, data: object, extra: dict[str, Any]
) -> None:
    env = {**extra, "type": type_name, "entity": entity, "recorded_at": "2026-01-01T00:00:00Z",
           "schema_version": version, "data": data}  # fmt: skip
    raw = json.dumps(env, ensure_ascii=False).encode()
    assert _outcome(read_event, raw) == _outcome(_read_generally, raw)
