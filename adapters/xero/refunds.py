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
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncledger.adapters.xero.errors import NOT_FOUND_CODE
from syncledger.core.errors import PermanentLedgerError
from syncledger.core.model import Refund

#: the code of a refund refused because its credit is another customer's (as Odoo's)
ANOTHER_CUSTOMER = "syncledger.credit_of_another_customer"


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
