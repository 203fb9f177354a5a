"""What QBO payments link: the source of ``LedgerRecord.applied_to`` for payments, credit
notes and refunds.

QBO records every application in a ``Payment``: each ``Line`` links one transaction
(``LinkedTxn`` ``TxnId`` + ``TxnType``; Intuit's Payment reference lists Invoice,
CreditMemo, Check, Expense, ...). Invoice and Check / Expense lines are charges the payment
pays; CreditMemo lines are credit spent on them (Intuit's sample: a payment of ``TotalAmt``
0 with an Invoice line and a CreditMemo line of 300 each); what the credit lines do not
cover is paid from the payment's own money (``TotalAmt``), and what is left of that is its
``UnappliedAmt``. The invoice only says *that* a payment is linked (``Invoice.LinkedTxn``),
never which credit paid it, so the payments are the one place to read it from:

- a payment is applied to the Invoice lines it pays from its own money;
- a credit note (``CreditMemo``) to the Invoice lines its credit lines pay;
- a refund cheque (``Purchase``, linked as Check / Expense) is paid out of the credit memos
  whose credit lines pay it, or else out of the payment itself (its unapplied amount).

QBO keeps no finer pairing than the lines of one payment: where one payment spends several
credits on several charges, credit is matched to charges in line order (our own payments
have one credit line and one charge line, so they are exact).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from syncledger.core.money import to_decimal

CREDIT_TYPES = ("CreditMemo",)
CHARGE_TYPES = ("Invoice", "Check", "Expense")

Applied = tuple[tuple[str, Decimal], ...]
Raw = dict[str, Any]


class PaymentBook:
    """The payments of customers for one read: each customer's read once
    (``read_customer``), or, given ``read_all``, every payment in one scan (a listing)."""

    def __init__(
        self,
        read_customer: Callable[[str], Awaitable[list[Raw]]],
        read_all: Callable[[], Awaitable[list[Raw]]] | None = None,
    ) -> None:
        self._read_customer = read_customer
        self._read_all = read_all
        self._by_customer: dict[str, list[Raw]] = {}
        self._scanned = False

    async def of(self, customer_id: str | None) -> list[Raw]:
        if customer_id is None:
            return []
        if self._read_all is not None and not self._scanned:
            for payment in await self._read_all():
                self._by_customer.setdefault(_customer_of(payment), []).append(payment)
            self._scanned = True
        if customer_id not in self._by_customer and not self._scanned:
            self._by_customer[customer_id] = await self._read_customer(customer_id)
        return self._by_customer.get(customer_id, [])


@dataclass(frozen=True, slots=True)
class Link:
    """One payment line: ``amount`` of the transaction ``txn_type`` ``txn_id``."""

    txn_type: str
    txn_id: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Allocation:
    """``amount`` of a charge line paid by ``source``: a credit line, or None for the
    payment's own money."""

    charge: Link
    source: Link | None
    amount: Decimal


def links(payment: Mapping[str, Any]) -> list[Link]:
    """The payment's lines that link a transaction, in line order."""
    found = []
    for line in payment.get("Line") or []:
        linked = line.get("LinkedTxn") if isinstance(line, Mapping) else None
        if linked and isinstance(linked[0], Mapping):
            txn = linked[0]
            amount = to_decimal(line.get("Amount", 0))
            found.append(Link(str(txn.get("TxnType")), str(txn.get("TxnId")), amount))
    return found


def allocations(payment: Mapping[str, Any]) -> list[Allocation]:
    """What pays each charge line of ``payment``: its credit lines first, in line order,
    then the payment's own money."""
    lines = links(payment)
    credits = [c for c in lines if c.txn_type in CREDIT_TYPES]
    left = [c.amount for c in credits]
    found: list[Allocation] = []
    for charge in (c for c in lines if c.txn_type in CHARGE_TYPES):
        owed = charge.amount
        for n, credit in enumerate(credits):
            part = min(owed, left[n])
            if part > 0:
                found.append(Allocation(charge, credit, part))
                left[n] -= part
                owed -= part
        if owed > 0:
            found.append(Allocation(charge, None, owed))
    return found


def payment_applied_to(payment: Mapping[str, Any]) -> Applied:
    """(invoice id, amount) the payment pays from its own money."""
    return _summed(
        (a.charge.txn_id, a.amount)
        for a in allocations(payment)
        if a.source is None and a.charge.txn_type == "Invoice"
    )


def credit_applied_to(memo_id: str, payments: Iterable[Mapping[str, Any]]) -> Applied:
    """(invoice id, amount) the credit memo ``memo_id`` pays, over ``payments``."""
    return _summed(
        (a.charge.txn_id, a.amount)
        for payment in payments
        for a in allocations(payment)
        if a.charge.txn_type == "Invoice"
        and a.source is not None
        and (a.source.txn_type, a.source.txn_id) == ("CreditMemo", memo_id)
    )


def refund_applied_to(
    check_id: str, link_type: str, payments: Iterable[Mapping[str, Any]]
) -> Applied:
    """(credit ledger id, amount) the refund cheque is paid out of: the credit memos whose
    credit pays it, or the payment whose own (unapplied) money does."""
    return _summed(
        (str(payment.get("Id")) if a.source is None else a.source.txn_id, a.amount)
        for payment in payments
        for a in allocations(payment)
        if (a.charge.txn_type, a.charge.txn_id) == (link_type, check_id)
    )


def check_paid(check_id: str, link_type: str, payments: Iterable[Mapping[str, Any]]) -> Decimal:
    """How much of the cheque (linked as ``link_type``) the ``payments`` pay."""
    return sum(
        (amount for _, amount in refund_applied_to(check_id, link_type, payments)), Decimal(0)
    )


def applies(payment: Mapping[str, Any], memo_id: str, invoice_id: str) -> bool:
    """Whether ``payment`` spends credit memo ``memo_id`` on invoice ``invoice_id``."""
    return any(
        a.source is not None
        and (a.source.txn_type, a.source.txn_id) == ("CreditMemo", memo_id)
        and (a.charge.txn_type, a.charge.txn_id) == ("Invoice", invoice_id)
        for a in allocations(payment)
    )


def _customer_of(payment: Mapping[str, Any]) -> str:
    ref = payment.get("CustomerRef")
    return str(ref.get("value")) if isinstance(ref, Mapping) else ""


def _summed(pairs: Iterable[tuple[str, Decimal]]) -> Applied:
    """Amounts per target, in the order targets first appear."""
    totals: dict[str, Decimal] = {}
    for target, amount in pairs:
        totals[target] = totals.get(target, Decimal(0)) + amount
    return tuple(totals.items())
