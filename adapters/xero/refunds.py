"""Whose credit a Xero refund is paid out of, checked before the refund is sent.

A refund is a ``Payment`` naming only its credit (``CreditNote: {CreditNoteID}`` or
``Overpayment: {OverpaymentID}``): it carries no ``Contact``, so Xero pays it to the
credit's contact whoever the refund is for (xero_accounting.yaml v16.1.0, ``Payment``:
``CreditNote``, ``Overpayment``, no ``Contact`` of its own; SOURCES.md has no Xero
refusal of such a payment, and none is known). Every other ledger refuses a refund out of
another customer's credit (tests/contracts/wire_sections.py, ``RefundRefusalSection``), so
the adapter refuses it here, before anything is written: the credit's contact is its
``Contact.ContactID`` (``CreditNote.Contact``, ``Overpayment.Contact`` in the same spec;
the fields ``xero_mapping`` reads as a record's ``customer_ledger_id``), compared with the
refund's customer ignoring case (a ContactID is a GUID).

Where the credit's contact is not known (an answer without ``Contact``), nothing says
whom Xero would pay: the safe path is to refuse too, with the same code.

The refund's currency is the credit's: the ``Payment`` has no ``CurrencyCode`` and its
``Amount`` is in the currency of the document it settles (xero_accounting.yaml v16.1.0,
``Payment``: no ``CurrencyCode``; ``Amount`` "Must be less than or equal to the outstanding
amount owing"; ``BankAmount`` is the bank account's), so a refund in another currency than
the credit's ``CurrencyCode`` (``CreditNote.CurrencyCode``, ``Overpayment.CurrencyCode``)
would pay its figure in the credit's currency, whichever is the organisation's. It is
refused before anything is written, as QuickBooks Online's adapter refuses it
(``syncledger.credit_in_another_currency``), in the home currency too: money is never
converted at an assumed rate. A credit whose currency is not known (no ``CurrencyCode``)
is refused too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncledger.adapters.xero.errors import NOT_FOUND_CODE
from syncledger.core.errors import PermanentLedgerError
from syncledger.core.model import Refund

#: the code of a refund refused because its credit is another customer's (as Odoo's)
ANOTHER_CUSTOMER = "syncledger.credit_of_another_customer"
#: the code of a refund refused because its credit is in another currency (as QBO's)
OTHER_CURRENCY = "syncledger.credit_in_another_currency"


def credit_contact(credit: Mapping[str, Any]) -> str | None:
    """The ``ContactID`` of a credit note or overpayment as Xero (or our write) gave it."""
    contact = credit.get("Contact")
    ident = contact.get("ContactID") if isinstance(contact, Mapping) else None
    return str(ident) if ident else None


def require_own_credit(
    refund: Refund,
    customer_ledger_id: str,
    credit_kind: str,
    credit_ledger_id: str,
    credit: Mapping[str, Any],
) -> None:
    """Refuse ``refund`` unless ``credit`` (the credit note or overpayment it is paid out
    of) is the credit of ``customer_ledger_id``."""
    owner = credit_contact(credit)
    if owner is not None and owner.lower() == customer_ledger_id.lower():
        return
    what = credit_kind.replace("_", " ")
    whose = f"a credit of contact {owner}" if owner else "a credit of a contact Xero did not name"
    raise PermanentLedgerError(
        f"refund {refund.id} (customer {customer_ledger_id}) cannot be paid out of Xero "
        f"{what} {credit_ledger_id}: it is {whose}, and Xero pays a refund to the "
        f"credit's contact; fix the refund's {what} or customer in the source",
        code=ANOTHER_CUSTOMER,
    )


def require_credit_currency(
    refund: Refund, credit_kind: str, credit_ledger_id: str, credit: Mapping[str, Any]
) -> None:
    """Refuse ``refund`` unless it is in the ``CurrencyCode`` of ``credit`` (the credit
    note or overpayment it is paid out of, as already read or written)."""
    currency = credit.get("CurrencyCode")
    if currency is not None and str(currency) == refund.currency:
        return
    what = credit_kind.replace("_", " ")
    held = f"is in {currency}" if currency else "has no currency Xero named"
    raise PermanentLedgerError(
        f"refund {refund.id} is in {refund.currency} but Xero {what} {credit_ledger_id} "
        f"{held}: Xero pays a refund in its credit's currency and syncledger converts at "
        f"no assumed rate; fix the refund's currency or {what} in the source",
        code=OTHER_CURRENCY,
    )


def absent_credit(refund: Refund, credit_kind: str, credit_ledger_id: str) -> PermanentLedgerError:
    """The refusal of a refund whose credit Xero does not hold: a payment without an
    overpayment (applied in full to its invoice: no credit), or a credit note not there."""
    if credit_kind == "overpayment":
        return PermanentLedgerError(
            f"refund {refund.id}: payment {credit_ledger_id} holds no credit in Xero (it was "
            "applied in full to its invoice, or is not there): check the refund's payment_id",
            code="syncledger.no_credit",
        )
    return PermanentLedgerError(
        f"refund {refund.id}: Xero has no credit note {credit_ledger_id}: it was deleted or "
        "never created; check the refund's credit_note_id",
        code=NOT_FOUND_CODE,
    )
