"""What every ledger's wire mapping shares: the mapping file loaded from TOML (the
platform's default ``mapping.toml`` or a user's file, its digest recorded), canonical
fields written to their dotted wire paths, our reference noted in free text, and the
small readers of a ledger's answer (amounts, text, dotted paths), and the part of a
payment that goes to its invoice and a document's total as the platform would work it
out, both checked before anything is sent.

A platform's ``mapping.py`` keeps only its wire format: which fields go where, its
totals and its rules. No platform fact lives here.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from syncledger.core.errors import ConfigurationError, PermanentLedgerError
from syncledger.core.model import CreditNote, Invoice, Payment
from syncledger.core.money import to_decimal


class Marker:
    """A word that carries one value in a note a person can also write in:
    ``<marker> <value>``, found again wherever it stands in the text."""

    def __init__(self, marker: str) -> None:
        self.marker = marker
        #: finds the value after the marker (group 1)
        self.pattern = re.compile(re.escape(marker) + r"\s*(\S+)")

    def note(self, value: str) -> str:
        """The line that carries ``value``."""
        return f"{self.marker} {value}"

    def found_in(self, text: object) -> str | None:
        """The value a note carries, if any."""
        match = self.pattern.search(text) if isinstance(text, str) else None
        return match.group(1) if match else None


#: the marker before our reference in a note field a person can also write in
REF_MARKER = "syncledger-ref:"
REF = Marker(REF_MARKER)
#: finds the reference after the marker (group 1)
REF_IN_TEXT = REF.pattern

M = TypeVar("M")
T = TypeVar("T")

#: sets ``value`` at a dotted ``path`` of a body
PathSetter = Callable[[dict[str, Any], str, Any], None]


#: the line that carries ``external_ref`` in a note
ref_note = REF.note
#: the reference a note carries, if any
ref_in = REF.found_in


# ------------------------------------------------------------------ canonical → wire


def wire(value: Any) -> Any:
    """A value as JSON takes it: a date as ``YYYY-MM-DD``, anything else as it is."""
    return value.isoformat() if isinstance(value, date) else value


def nested(node: dict[str, Any], part: str) -> dict[str, Any]:
    """The object under ``part`` of ``node``, made when missing."""
    child: dict[str, Any] = node.setdefault(part, {})
    return child


def set_path(
    body: dict[str, Any],
    path: str,
    value: Any,
    child: Callable[[dict[str, Any], str], dict[str, Any]] = nested,
) -> None:
    """``value`` at the dotted ``path`` of ``body``; ``child`` steps one part down."""
    *parents, leaf = path.split(".")
    node = body
    for part in parents:
        node = child(node, part)
    node[leaf] = value


def fields_body(
    table: Mapping[str, tuple[str, ...]],
    values: Mapping[str, Any],
    put: PathSetter = set_path,
) -> dict[str, Any]:
    """A body holding each present canonical value at every wire path ``table`` names."""
    body: dict[str, Any] = {}
    for canonical, paths in table.items():
        if values.get(canonical) is not None:
            for path in paths:
                put(body, path, wire(values[canonical]))
    return body


def handled(table: Mapping[str, T], kind: str, adapter: str) -> T:
    """What ``table`` holds for records of ``kind``; a kind it lacks is one the platform's
    ``adapter`` does not handle: a ``PermanentLedgerError`` (``unsupported``)."""
    try:
        return table[kind]
    except KeyError:
        raise PermanentLedgerError(
            f"{adapter} adapter does not handle {kind!r} records", code="unsupported"
        ) from None


def applied_part(
    payment: Payment, applied: Decimal | None, code: str = "syncledger.bad_applied_amount"
) -> Decimal:
    """What of ``payment`` is applied to its invoice (None: all of it). A part below
    nothing or above the amount received is a ``PermanentLedgerError`` (``code``)."""
    part = payment.amount if applied is None else applied
    if not Decimal(0) <= part <= payment.amount:
        raise PermanentLedgerError(
            f"payment {payment.id}: cannot apply {part} of a {payment.amount} payment to its "
            "invoice: apply between nothing and the amount received",
            code=code,
        )
    return part


def check_total(
    doc: Invoice | CreditNote,
    expected: Decimal,
    platform: str,
    how: str = "lines rounded to the cent, plus tax, less discount",
    where: str | None = None,
) -> None:
    """Refuse before sending a document that ``platform`` would total ``expected`` (worked
    out as ``how`` says) while the source says otherwise (``where``: the document's kind
    and number unless told)."""
    if expected != doc.total:
        raise PermanentLedgerError(
            f"{where or _named(doc)}: {platform} would total "
            f"{expected} ({how}) but the source says {doc.total}: fix the line amounts or "
            "the total in the source",
            code="syncledger.total_mismatch",
        )


def _named(doc: Invoice | CreditNote) -> str:
    return f"{doc.kind.replace('_', ' ')} {doc.number}"


# ------------------------------------------------------------------ wire → canonical


def get_path(raw: Mapping[str, Any], path: str) -> Any:
    """The value at the dotted ``path`` of ``raw``; None where any part is missing."""
    node: Any = raw
    for part in path.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


def amount(value: Any) -> Decimal | None:
    return None if value is None else to_decimal(value)


def text(value: Any) -> str | None:
    return None if value is None else str(value)


# ------------------------------------------------------------------ loading


def paths(table: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """A ``fields`` table's paths, one path or a list of them per canonical field."""
    return {k: (v,) if isinstance(v, str) else tuple(v) for k, v in table.items()}


def load_toml_mapping(
    package: str,
    name: str,
    path: Path | None,
    build: Callable[[Mapping[str, Any], str], M],
) -> M:
    """The mapping built from the file at ``path``, or from ``package``'s default
    ``mapping.toml``; ``build`` takes the parsed table and the file's SHA-256. A file that
    does not parse or misses a table or value is a ``ConfigurationError`` naming
    ``name`` (the platform) and the file."""
    data = path.read_bytes() if path else _default_bytes(package)
    try:
        return build(tomllib.loads(data.decode()), hashlib.sha256(data).hexdigest())
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ConfigurationError(f"{name} mapping {path or 'default'} is invalid: {exc}") from exc


def _default_bytes(package: str) -> bytes:
    return resources.files(package).joinpath("mapping.toml").read_bytes()
