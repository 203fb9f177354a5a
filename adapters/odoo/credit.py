"""Overpayments and refunds on Odoo: what the register wizard would do with them, and
what ``OdooLedger`` refuses before writing because Odoo would not.

Odoo reconciles two journal items as far as both go. So a payment registered on an
invoice applies ``min(amount, open balance)`` and keeps the rest open on its receivable
item (outstanding credit); applying less than both cannot be expressed. A refund paid out
of a credit is reconciled the same way: more than the credit left would be paid anyway,
the excess left open as a debit on the customer — so it is refused here.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from syncledger.adapters.kit import wire_mapping as kit
from syncledger.adapters.odoo.mapping import m2o_id
from syncledger.core.errors import PermanentLedgerError
from syncledger.core.model import Payment, Refund
from syncledger.core.money import to_decimal
from syncledger.core.ports import LedgerRecord


def applied_part(payment: Payment, applied: Decimal | None) -> Decimal:
    """What of ``payment`` goes to the invoice (``None``: all of it; Odoo's refusal code
    for a part outside the amount is ``syncledger.bad_amount``)."""
    return kit.applied_part(payment, applied, code="syncledger.bad_amount")


def check_applicable(payment: Payment, part: Decimal, invoice: LedgerRecord) -> None:
    """Refuse what the wizard would not do: apply more than the invoice's open balance,
    or less than both it and the payment."""
    open_balance = invoice.balance or Decimal(0)
    if part > open_balance:
        raise PermanentLedgerError(
            f"payment {payment.id}: {part} cannot be applied to Odoo invoice {invoice.name}, "
            f"which has {open_balance} open: apply at most the open balance and keep the "
            "rest as credit",
            code="syncledger.overapplied",
        )
    if part < payment.amount and part < open_balance:
        raise PermanentLedgerError(
            f"payment {payment.id}: Odoo reconciles a payment with an invoice as far as both "
            f"go, so it cannot apply only {part} of {payment.amount} to invoice "
            f"{invoice.name} ({open_balance} open): apply all of it, the open balance, or "
            "nothing",
            code="syncledger.partial_application",
        )


def credit_left(
    refund: Refund,
    line: Mapping[str, Any],
    credit_kind: str,
    credit_ledger_id: str,
    customer_ledger_id: str,
) -> Decimal:
    """The credit a receivable journal item still holds (minus its residual); refused when
    the refund is more, or when the credit is another customer's."""
    owner = m2o_id(line.get("partner_id"))
    if owner is None or str(owner) != customer_ledger_id:
        raise PermanentLedgerError(
            f"refund {refund.id}: Odoo {credit_kind} {credit_ledger_id} is a credit of "
            f"partner {owner}, not of customer {customer_ledger_id}: check the links",
            code="syncledger.credit_of_another_customer",
        )
    left = max(Decimal(0), Decimal(0) - to_decimal(line.get("amount_residual") or 0))
    if refund.amount > left:
        raise PermanentLedgerError(
            f"refund {refund.id}: {refund.amount} is more than the {left} of credit left on "
            f"Odoo {credit_kind} {credit_ledger_id}: refund at most what is left",
            code="syncledger.refund_exceeds_credit",
        )
    return left
