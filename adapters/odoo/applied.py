"""What Odoo says a payment, a credit note or a refund is applied to
(``LedgerRecord.applied_to``), for ``OdooLedger``'s reads.

Odoo keeps an application as a reconciliation of two receivable journal items: an
``account.partial.reconcile`` joins a debit item (``debit_move_id``) and a credit item
(``credit_move_id``) for ``amount`` (company currency), ``debit_amount_currency`` and
``credit_amount_currency`` (each item's own currency) — ``addons/account/models/
account_partial_reconcile.py``. The register wizard's ``action_create_payments`` and
``account.move.js_assign_outstanding_line`` make them; ``button_draft`` removes them.

So, from each record's receivable items (a payment's or a refund's: ``payment_id``; a
credit note's: ``move_id``), one read of the partials touching them and one read of the
items on the other side (``move_id``, ``payment_id``):

- a payment or a credit note (a credit item) → (invoice id, what it settles there, in its
  own currency: ``credit_amount_currency``) for each counterpart that belongs to no
  payment (an invoice's item; a refund's item is the credit paid back, not applied);
- a refund (an outbound payment: a debit item) → (credit id, ``debit_amount_currency``):
  the overpayment's ``payment_id`` or the credit note's ``move_id``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from syncledger.adapters.odoo.mapping import m2o_id
from syncledger.adapters.odoo.rpc import OdooRpc
from syncledger.core.money import to_decimal

PARTIAL = "account.partial.reconcile"
PARTIAL_FIELDS = (
    "debit_move_id",
    "credit_move_id",
    "amount",
    "debit_amount_currency",
    "credit_amount_currency",
)
COUNTERPART_FIELDS = ("move_id", "payment_id")
Applied = tuple[tuple[str, Decimal], ...]


async def applications(
    rpc: OdooRpc, owners: Mapping[int, int], *, refund: bool, idempotent: bool
) -> dict[int, Applied]:
    """``owners``: receivable journal item id → the id of the record it belongs to.
    Returns each record's ``applied_to`` (records applied to nothing are left out)."""
    if not owners:
        return {}
    ids = sorted(owners)
    partials = await rpc.call(
        PARTIAL,
        "search_read",
        domain=["|", ["debit_move_id", "in", ids], ["credit_move_id", "in", ids]],
        fields=list(PARTIAL_FIELDS),
        order="id asc",
        idempotent=idempotent,
    )
    others = sorted({i for p in partials for i in _sides(p) if i not in owners})
    if not others:
        return {}
    lines = await rpc.call(
        "account.move.line",
        "search_read",
        domain=[["id", "in", others]],
        fields=list(COUNTERPART_FIELDS),
        idempotent=idempotent,
    )
    counterparts = {int(line["id"]): line for line in lines}
    return applied_by_owner(partials, owners, counterparts, refund=refund)


def applied_by_owner(
    partials: Iterable[Mapping[str, Any]],
    owners: Mapping[int, int],
    counterparts: Mapping[int, Mapping[str, Any]],
    *,
    refund: bool,
) -> dict[int, Applied]:
    """Sum what each owner's items settle per target (targets in id order)."""
    sums: dict[int, dict[int, Decimal]] = {}
    for partial in partials:
        found = _application(partial, owners, counterparts, refund)
        if found is not None:
            owner, target, amount = found
            per_target = sums.setdefault(owner, {})
            per_target[target] = per_target.get(target, Decimal(0)) + amount
    return {
        owner: tuple((str(t), per_target[t]) for t in sorted(per_target))
        for owner, per_target in sums.items()
    }


def _application(
    partial: Mapping[str, Any],
    owners: Mapping[int, int],
    counterparts: Mapping[int, Mapping[str, Any]],
    refund: bool,
) -> tuple[int, int, Decimal] | None:
    """(owner, target, amount) of one partial, or None when it is no application."""
    debit, credit = _sides(partial)
    mine, other, side = (debit, credit, "debit") if refund else (credit, debit, "credit")
    if mine not in owners or other not in counterparts:
        return None
    line = counterparts[other]
    paid_by = m2o_id(line.get("payment_id"))
    if refund:
        target = paid_by if paid_by is not None else m2o_id(line.get("move_id"))
    else:
        target = None if paid_by is not None else m2o_id(line.get("move_id"))
    if target is None:
        return None
    amount = partial.get(f"{side}_amount_currency") or partial.get("amount") or 0
    return owners[mine], target, to_decimal(amount)


def _sides(partial: Mapping[str, Any]) -> tuple[int, int]:
    return m2o_id(partial.get("debit_move_id")) or 0, m2o_id(partial.get("credit_move_id")) or 0
