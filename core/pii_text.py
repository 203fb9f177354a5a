"""Personal values out of messages: what a rejection, a ledger's error or a log line may
echo of a record is named by its field, never shown.

The immutable log cannot forget, so a value that reaches it in plaintext cannot be erased
by shredding its subject's key (docs/audit.md §4). Messages are written without values
where they concern personal fields (``syncledger.core.validation``); this module is the
net under them, applied where a message is about to become an event:

* :func:`echoable` lists the values a message about one record must not carry: its
  personal fields (the model's ``PII_FIELDS``) and the fields that name a person or a
  business (``name``, ``tax_id``), and every text of a *malformed* record, whose cells may
  have shifted into any column;
* :func:`strip` replaces each of them, as written, as ``repr`` shows it and as a
  shortened ``repr`` shows it, with ``<field>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

from syncledger.core.events import RejectionReason
from syncledger.core.model import RECORD_TYPES

#: fields that name a person or a business besides the model's sealed ones
NAME_BEARING: Final = frozenset({"name", "contact_name", "tax_id"})
#: the key under which a source reports a record it could not read cleanly
MALFORMED_KEY: Final = "_malformed"
#: shorter values are not stripped (a one-letter cell would blank every message)
MIN_LENGTH: Final = 3
_SHOW_LIMIT: Final = 40  # core.validation._show: repr cut to this length with "..."


def personal_names(kind: str) -> frozenset[str]:
    """The fields of ``kind`` whose values are personal (sealed) or name someone."""
    cls = RECORD_TYPES.get(kind)
    sealed = cls.PII_FIELDS if cls is not None else frozenset()
    return sealed | NAME_BEARING


def is_malformed(fields: Mapping[str, Any]) -> bool:
    return bool(fields.get(MALFORMED_KEY))


def texts_in(value: Any) -> Iterator[str]:
    """Every text inside ``value`` (nested mappings, lists and tuples walked)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from texts_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from texts_in(item)


def echoable(kind: str, fields: Mapping[str, Any]) -> dict[str, str]:
    """value -> field name, for each value a message about this record must not show."""
    malformed = is_malformed(fields)
    names = personal_names(kind)
    found: dict[str, str] = {}
    for name, value in fields.items():
        if name == MALFORMED_KEY or not (malformed or name in names):
            continue
        for text in texts_in(value):
            if len(text.strip()) >= MIN_LENGTH:
                found.setdefault(text.strip(), name)
    return found


def _forms(value: str) -> list[str]:
    """How a message may show ``value``: itself, its repr (whole and cut short), each line."""
    shown = repr(value)
    forms = [shown, shown[1:-1], value, *value.splitlines()]
    if len(shown) > _SHOW_LIMIT:
        forms.append(shown[: _SHOW_LIMIT - 3])
    return [f for f in forms if len(f.strip()) >= MIN_LENGTH]


def strip(text: str, values: Mapping[str, str]) -> str:
    """``text`` with every form of every value replaced by ``<its field>``."""
    pairs = sorted(
        ((form, name) for value, name in values.items() for form in _forms(value)),
        key=lambda pair: -len(pair[0]),
    )
    for form, name in pairs:
        text = re.sub(re.escape(form), f"<{name}>", text, flags=re.IGNORECASE)
    return text


def strip_reasons(
    reasons: Iterable[RejectionReason], values: Mapping[str, str]
) -> tuple[RejectionReason, ...]:
    """Each reason with its message stripped of ``values`` (reasons unchanged otherwise)."""
    if not values:
        return tuple(reasons)
    return tuple(r.model_copy(update={"message": strip(r.message, values)}) for r in reasons)
