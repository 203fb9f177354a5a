"""What the log expects the ledger to hold, beyond the read models' totals.

From the sync's fold of the log (``SyncState``) and the source content
(``core/reconcile_source.py``), for each linked record:

- documents: the tax pushed; payments, credit notes and refunds: what the push meant to
  apply them to (the ledger id of the invoice or credit) and how much;
- invoices the log pushed: what was paid on them as the log knows it — each payment's
  applied amount, then each credit note applied to it (its pushed total, or where the push
  left the amount to the ledger, up to what remained open) — or ``voided`` when the log
  voided it; their customer (source ref and ledger id) for AR per customer;
- the due date, the line item codes and a customer's name, when the content the ledger
  was given (the pushed hash) is the newest the source sent.

An invoice the log merely linked to one already in the ledger (a review decision) has no
``paid``: what was paid on it before is not the log's to know.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

from syncledger.core.model import RecordRef
from syncledger.core.reconcile_model import Expected
from syncledger.core.reconcile_source import SourceContent
from syncledger.core.sync_state import RecordState, SyncState


def with_log(
    expected: Sequence[Expected], state: SyncState, content: SourceContent | None = None
) -> list[Expected]:
    """``expected`` with everything the log knows of each record (module docstring)."""
    paid = paid_per_invoice(state)
    return [_one(exp, state, content, paid) for exp in expected]


def _one(
    exp: Expected,
    state: SyncState,
    content: SourceContent | None,
    paid: dict[str, Decimal],
) -> Expected:
    rec = state.records.get(exp.source_ref)
    if rec is None:
        return exp
    exp = _applications(exp, rec, state)
    if exp.kind == "invoice":
        exp = _invoice(exp, rec, state, paid)
    facts = content.pushed(exp.source_ref, rec.pushed_sha) if content is not None else None
    if facts is not None:
        exp = replace(exp, due_date=facts.due_date, item_codes=facts.item_codes, name=facts.name)
    return exp


def _applications(exp: Expected, rec: RecordState, state: SyncState) -> Expected:
    if rec.pushed_tax is not None and exp.kind != "customer":
        exp = replace(exp, tax=rec.pushed_tax)
    target = state.records.get(rec.applies_to) if rec.applies_to else None
    if target is None or target.ledger_ref is None:
        return exp
    return replace(exp, applied_to=target.ledger_ref, applied_amount=rec.applied_amount)


def _invoice(
    exp: Expected, rec: RecordState, state: SyncState, paid: dict[str, Decimal]
) -> Expected:
    customer = state.records.get(rec.customer_ref) if rec.customer_ref else None
    exp = replace(
        exp,
        customer_ref=rec.customer_ref,
        customer_ledger_ref=customer.ledger_ref if customer is not None else None,
    )
    if rec.voided:
        return replace(exp, voided=True)
    if rec.pushed_total is None:
        return exp  # linked, not pushed: its past payments are not the log's to know
    return replace(exp, paid=paid.get(exp.source_ref, Decimal(0)))


def paid_per_invoice(state: SyncState) -> dict[str, Decimal]:
    """Invoice source ref -> what the log applied to it: payments first, then credits."""
    payments: dict[str, Decimal] = {}
    credits: dict[str, list[RecordState]] = {}
    for rec in state.records.values():
        if not rec.applies_to or rec.ledger_ref is None:
            continue
        kind = _kind(rec)
        if kind == "payment" and rec.applied_amount is not None:
            payments[rec.applies_to] = payments.get(rec.applies_to, Decimal(0)) + rec.applied_amount
        elif kind == "credit_note":
            credits.setdefault(rec.applies_to, []).append(rec)
    paid = dict(payments)
    for ref, notes in credits.items():
        invoice = state.records.get(ref)
        total = invoice.pushed_total if invoice is not None else None
        for note in notes:
            paid[ref] = paid.get(ref, Decimal(0)) + _credit(note, total, paid.get(ref))
    return paid


def _kind(rec: RecordState) -> str:
    """The record's kind; a record the sync made itself (a dispute's credit note, never
    observed in the source) has it only in its reference."""
    if rec.kind:
        return rec.kind
    try:
        return RecordRef.parse(rec.source_ref).kind
    except ValueError:
        return ""


def _credit(note: RecordState, invoice_total: Decimal | None, paid: Decimal | None) -> Decimal:
    """What a credit note took off its invoice: the amount pushed, else its total up to
    what remained open."""
    if note.applied_amount is not None:
        return note.applied_amount
    amount = note.pushed_total or Decimal(0)
    if invoice_total is None:
        return amount
    return max(Decimal(0), min(amount, invoice_total - (paid or Decimal(0))))
