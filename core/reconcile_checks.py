"""The reconciler's per-record checks (DESIGN §10): one expected record against the one
ledger record the log links it to.

Each check compares only what both sides really hold: a value the log does not know
(``None`` on :class:`~syncledger.core.reconcile.Expected`) or the ledger does not say
(``None`` on ``LedgerRecord``) is never compared, and no value is invented. Money is
``Decimal`` in the record's currency; the money at stake is the difference.

- amounts: ``currency_mismatch``, ``tax_mismatch``, ``amount_mismatch``;
- applications of a payment, credit note or refund: ``application_mismatch``, or
  ``credit_unapplied`` for a credit note the log meant to apply that the ledger holds
  with all its credit left (balance = total, applied to nothing);
- invoices: ``status_mismatch`` (void on one side only; or equal balances but different
  statuses) and ``balance_mismatch`` (the ledger's total − balance is *less* than what the
  log says was paid — payments pushed and applied, credit notes applied —: something the
  log applied is not in the ledger; where the totals agree: a different total is the
  ``amount_mismatch``). More paid in the ledger than the log pushed is no mismatch: the
  ledger owns money, and a payment a bookkeeper recorded there is the normal way an
  invoice gets paid (back-sync writes its status back to the source);
- ``due_date_mismatch``, ``line_items_mismatch`` (item codes), ``customer_name_mismatch``.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from syncledger.core.pii_names import is_digest, name_key
from syncledger.core.ports import LedgerRecord
from syncledger.core.reconcile_model import Expected, Mismatch, key
from syncledger.core.words import figure

#: ledger statuses an invoice's status is compared in (others, e.g. "draft", are not)
INVOICE_STATUSES = frozenset({"open", "partially_paid", "paid", "void"})
_GONE = ("void", "deleted")


def _found(
    exp: Expected,
    mismatch_type: str,
    expected: str | None,
    actual: str | None,
    at_stake: Decimal | None = None,
) -> Mismatch:
    return Mismatch(
        key(mismatch_type, exp.source_ref, exp.ledger_ref),
        mismatch_type,
        exp.source_ref,
        exp.ledger_ref,
        expected,
        actual,
        at_stake,
        exp.currency,
    )


def check_record(exp: Expected, rec: LedgerRecord) -> list[Mismatch]:
    """Every per-record check of ``exp`` against the ledger's ``rec`` (present)."""
    return [
        *amounts(exp, rec),
        *application(exp, rec),
        *invoice_payment(exp, rec),
        *due_date(exp, rec),
        *line_items(exp, rec),
        *customer_name(exp, rec),
    ]


def amounts(exp: Expected, rec: LedgerRecord) -> list[Mismatch]:
    out = []
    if exp.currency and rec.currency and exp.currency != rec.currency:
        out.append(_found(exp, "currency_mismatch", exp.currency, rec.currency))
    if exp.tax is not None and rec.tax is not None and exp.tax != rec.tax:
        diff = abs(exp.tax - rec.tax)
        out.append(_found(exp, "tax_mismatch", _fig(exp.tax, exp), _fig(rec.tax, exp), diff))
    if exp.total is not None and rec.total is not None and exp.total != rec.total:
        diff = abs(exp.total - rec.total)
        out.append(_found(exp, "amount_mismatch", _fig(exp.total, exp), _fig(rec.total, exp), diff))
    return out


def application(exp: Expected, rec: LedgerRecord) -> list[Mismatch]:
    if exp.applied_to is None or exp.applied_amount == 0 or rec.status in _GONE:
        return []
    held = sum(
        (amount for target, amount in rec.applied_to if target == exp.applied_to), Decimal(0)
    )
    wanted = exp.applied_amount
    if (held == wanted) if wanted is not None else held > 0:
        return []
    if _never_applied(exp, rec, held):
        return [_found(exp, "credit_unapplied", _applied(wanted, exp), _unapplied(rec), rec.total)]
    stake = abs(wanted - held) if wanted is not None else None
    return [_found(exp, "application_mismatch", _applied(wanted, exp), _applied(held, exp), stake)]


def _never_applied(exp: Expected, rec: LedgerRecord, held: Decimal) -> bool:
    """A credit note the log meant to apply that still holds all its credit."""
    return (
        exp.kind == "credit_note"
        and held == 0
        and rec.total is not None
        and rec.total > 0
        and rec.balance == rec.total
    )


def _applied(amount: Decimal | None, exp: Expected) -> str:
    return f"{_fig(amount, exp) if amount is not None else 'some'} applied to {exp.applied_to}"


def _unapplied(rec: LedgerRecord) -> str:
    left = figure(rec.balance, rec.currency) if rec.balance is not None else None
    return f"unapplied, {left} credit left"


def _fig(amount: Decimal, exp: Expected) -> str:
    """An amount in the record's currency's decimals (``125.00``, never ``125.0``)."""
    return figure(amount, exp.currency)


def expected_status(exp: Expected) -> str | None:
    """The status the log implies for an invoice (None: the log does not know)."""
    if exp.voided:
        return "void"
    if exp.paid is None or exp.total is None:
        return None
    if exp.paid == 0:
        return "open" if exp.total else "paid"
    return "paid" if exp.paid >= exp.total else "partially_paid"


def invoice_payment(exp: Expected, rec: LedgerRecord) -> list[Mismatch]:
    """Void on one side only is a status mismatch; otherwise, where the totals agree, the
    amount paid (payments and credits applied) is compared, then the status."""
    wanted = expected_status(exp)
    if exp.kind != "invoice" or wanted is None or rec.status not in INVOICE_STATUSES:
        return []
    if (wanted == "void") != (rec.status == "void"):
        stake = rec.balance if wanted == "void" else _open(exp)
        return [_found(exp, "status_mismatch", wanted, rec.status, stake)]
    if wanted == "void" or rec.total is None or rec.balance is None or rec.total != exp.total:
        return []  # a total edited in the ledger is the amount_mismatch, not a payment
    assert exp.paid is not None and exp.total is not None  # wanted is not None
    paid = rec.total - rec.balance
    if paid > exp.paid:
        return []  # paid in the ledger beyond what the log applied: the ledger owns money
    if paid < exp.paid:
        said = _paid_open(exp.paid, exp.total - exp.paid, exp)
        return [
            _found(
                exp,
                "balance_mismatch",
                said,
                _paid_open(paid, rec.balance, exp),
                abs(paid - exp.paid),
            )
        ]
    if rec.status != wanted:
        return [_found(exp, "status_mismatch", wanted, rec.status)]
    return []


def _open(exp: Expected) -> Decimal | None:
    return None if exp.total is None or exp.paid is None else exp.total - exp.paid


def _paid_open(paid: Decimal, open_: Decimal, exp: Expected) -> str:
    return f"paid {_fig(paid, exp)}, open {_fig(open_, exp)}"


def due_date(exp: Expected, rec: LedgerRecord) -> list[Mismatch]:
    if exp.due_date is None or rec.due_date is None or exp.due_date == rec.due_date:
        return []
    return [_found(exp, "due_date_mismatch", exp.due_date.isoformat(), rec.due_date.isoformat())]


def line_items(exp: Expected, rec: LedgerRecord) -> list[Mismatch]:
    """Each item code of the source's lines is booked in the ledger (a ledger may book a
    line without a code to an item of its own: extra codes there are not a mismatch). A
    ledger read that carries no lines (Zoho's lists) is not compared."""
    if exp.item_codes is None or not rec.line_items or rec.status in _GONE:
        return []
    held = Counter(code for code in rec.line_items if code is not None)
    if not Counter(exp.item_codes) - held:
        return []
    shown = ", ".join(code or "-" for code in rec.line_items)
    return [_found(exp, "line_items_mismatch", ", ".join(exp.item_codes), shown)]


def customer_name(exp: Expected, rec: LedgerRecord) -> list[Mismatch]:
    """The source owns a customer's name; case and spacing do not count. Names are
    personal data: the reconciler compares both sides as keyed digests
    (``core/pii_names.py``), and then the mismatch names the field without its values.
    Two sides not both digested (a reconciler given no digest) are not compared; two clear
    names (only from events written before names were sealed) are shown as before."""
    if exp.kind != "customer" or not exp.name or not rec.name:
        return []
    if is_digest(exp.name) != is_digest(rec.name):
        return []
    if name_key(exp.name) == name_key(rec.name):
        return []
    if is_digest(exp.name):
        return [_found(exp, "customer_name_mismatch", None, None)]
    return [_found(exp, "customer_name_mismatch", exp.name, rec.name)]
