"""What a conflict is about: the fields on which the ledger record the sync read differs
from the version it meant to push (issue 16, "Every problem has a way out").

Only fields both sides hold in canonical terms are compared (``LedgerRecord``: name or
number, currency, total, tax, due date, the customer it is booked to, a void status);
a field the ledger's read does not return (None) never counts as a difference.
Personal and name fields (``core.pii_text.personal_names``: a customer's name, contact,
e-mail, phone, address, tax id) are named without their values: :func:`split` puts
their values apart, for the caller to seal under the data subject's key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from syncledger.core.events import FieldDifference
from syncledger.core.model import CreditNote, Customer, Invoice, Record
from syncledger.core.pii_text import personal_names
from syncledger.core.ports import LedgerRecord

Value = str | Decimal | date | None


@dataclass(frozen=True, slots=True)
class Difference:
    field: str
    ledger: str
    ours: str


def _text(value: Value) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def _pairs(
    ours: Record | None, ledger: LedgerRecord, link: str | None
) -> list[tuple[str, Value, Value]]:
    """(field, ledger value, our value) for each field compared for this record."""
    if isinstance(ours, Customer):
        return [("name", ledger.name, ours.name), ("currency", ledger.currency, ours.currency)]
    if ours is None:  # a void of a source delete: the status is what we wanted to change
        return [("status", ledger.status, "void")]
    pairs: list[tuple[str, Value, Value]] = []
    if isinstance(ours, Invoice | CreditNote):
        pairs += [
            ("number", ledger.name, ours.number),
            ("currency", ledger.currency, ours.currency),
            ("total", ledger.total, ours.total),
            ("tax", ledger.tax, ours.tax_total),
            ("customer", ledger.customer_ledger_id, link),
        ]
    if isinstance(ours, Invoice):
        pairs.append(("due_date", ledger.due_date, ours.due_date))
        if "void" in (ledger.status, ours.status):
            pairs.append(("status", ledger.status, ours.status))
    return pairs


def _differs(a: Value, b: Value) -> bool:
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        return a != b  # 99.0 and 99.00 are one amount
    return _text(a) != _text(b)


def differences(
    ours: Record | None, ledger: LedgerRecord, link: str | None = None
) -> list[Difference]:
    """The fields on which ``ledger`` (as read) and ``ours`` (what we meant to push)
    disagree; ``link`` is the ledger id of our record's customer, where it has one."""
    found = []
    for name, theirs, mine in _pairs(ours, ledger, link):
        if theirs is None or mine is None or not _differs(theirs, mine):
            continue
        found.append(Difference(name, _text(theirs) or "", _text(mine) or ""))
    return found


def split(kind: str, found: list[Difference]) -> tuple[tuple[FieldDifference, ...], dict[str, Any]]:
    """(the differences as the event carries them, the personal values to seal: ``{}``
    when there are none)."""
    personal = personal_names(kind)
    shown: list[FieldDifference] = []
    sealed: dict[str, list[str]] = {}
    for d in found:
        if d.field in personal:
            shown.append(FieldDifference(field=d.field, personal=True))
            sealed[d.field] = [d.ledger, d.ours]
        else:
            shown.append(FieldDifference(field=d.field, ledger=d.ledger, ours=d.ours))
    return tuple(shown), ({"differences": sealed} if sealed else {})
