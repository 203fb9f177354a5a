"""The reconciler's values: what the log expects of one ledger record, and a mismatch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Expected:
    """A record the log says is in the ledger. Every optional fact is ``None`` when the
    log does not know it, and is then not compared."""

    source_ref: str
    kind: str
    ledger_ref: str
    total: Decimal | None
    currency: str | None
    #: the ledger id of what the record is applied to (an invoice, a refund's credit) and
    #: how much (None: any amount above zero)
    applied_to: str | None = None
    applied_amount: Decimal | None = None
    #: documents: the tax pushed (None: not known, not compared)
    tax: Decimal | None = None
    #: invoices the log pushed: what was paid on them as the log knows it (payments pushed
    #: and applied, credit notes applied)
    paid: Decimal | None = None
    #: invoices: the log voided it in the ledger
    voided: bool = False
    #: invoices: the due date of the content the ledger was given
    due_date: date | None = None
    #: invoices and credit notes: the item codes of the lines pushed (lines without one
    #: left out)
    item_codes: tuple[str, ...] | None = None
    #: customers: the name the source owns, as pushed
    name: str | None = None
    #: invoices: their customer (source ref and the ledger id the log links it to), for
    #: the AR balance per customer and currency
    customer_ref: str | None = None
    customer_ledger_ref: str | None = None


@dataclass(frozen=True, slots=True)
class Mismatch:
    key: str
    mismatch_type: str
    source_ref: str | None
    ledger_ref: str | None
    expected: str | None = None
    actual: str | None = None
    #: the money at stake, when there is one (``MismatchDetected.at_stake``)
    at_stake: Decimal | None = None
    currency: str | None = None


def key(mismatch_type: str, source_ref: str | None, ledger_ref: str | None) -> str:
    """A mismatch's key: type + refs, the same from run to run, full or incremental."""
    return f"{mismatch_type}|{source_ref or ''}|{ledger_ref or ''}"
