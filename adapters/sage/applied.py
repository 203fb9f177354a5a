"""What Sage Accounting says each receipt, credit note and refund is applied to
(``LedgerRecord.applied_to``), read from what Sage holds, never from what we sent.

- A customer receipt's ``allocated_artefacts`` (Sage's ``AllocatedPaymentArtefact``:
  ``artefact`` link and ``amount``) name the invoices it pays and how much of each.
- A customer refund's ``allocated_artefacts`` name the credit it pays out: a sales credit
  note, or a receipt's ``payment_on_account`` (``PaymentOnAccount.id``, its own id). The
  latter is reported as the receipt holding it (the credit the sync linked), found among
  the contact's receipts: ``GET /contact_payments?contact_id=&transaction_type_id=``.
- A credit note is applied to an invoice by a contact allocation (``ContactAllocation``:
  ``allocated_artefacts`` with the invoice's amount positive and the credit note's
  negative), listed with ``GET /contact_allocations?contact_id=&transaction_type_id=``.
  The credit note's own ``payments_allocations`` (``PaymentAllocation``) carry an
  ``artefact`` link whose side the OpenAPI model does not document, and Apideck's Sage
  connector notes read allocations from ``/contact_allocations?contact_id=`` too, so the
  allocations are listed rather than read off the credit note.

Sources: Sage's OpenAPI models and operations as the generated SDKs publish them
(SynergiTech/sage-php ``docs/Model/ContactAllocation.md``, ``AllocatedArtefact.md``,
``AllocatedPaymentArtefact.md``, ``PaymentOnAccount.md``, ``ContactPayment.md``,
``SalesCreditNote.md``; ``docs/Api/ContactAllocationsApi.md`` and
``ContactPaymentsApi.md`` for the ``contact_id`` / ``transaction_type_id`` filters).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Mapping
from decimal import Decimal
from typing import Any

from syncledger.adapters.sage.mapping import SageMapping
from syncledger.core.money import to_decimal

Applied = tuple[tuple[str, Decimal], ...]
#: (kind, query) → every item of that listing (``SageLedger._pages``)
Pages = Callable[[str, dict[str, str]], AsyncIterator[dict[str, Any]]]


class Applications:
    """The applications of the records of one read. ``contact_id`` narrows the listings
    to that contact (reading one record); None reads the whole business once (list reads).
    Each listing is read at most once per instance."""

    def __init__(self, pages: Pages, mapping: SageMapping, contact_id: str | None = None) -> None:
        self._pages = pages
        self._mapping = mapping
        self._contact = contact_id
        self._notes: dict[str, list[tuple[str, Decimal]]] | None = None
        self._holders: dict[str, str] | None = None

    async def of(self, kind: str, raw: Mapping[str, Any]) -> Applied:
        if kind == "payment":
            return tuple(a for a in artefacts(raw) if a[1] > 0)
        if kind == "credit_note":
            return tuple((await self._by_note()).get(str(raw["id"]), ()))
        if kind == "refund":
            holders = await self._receipt_holding()
            return tuple((holders.get(ident, ident), amount) for ident, amount in artefacts(raw))
        return ()

    async def _by_note(self) -> dict[str, list[tuple[str, Decimal]]]:
        if self._notes is None:
            notes: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
            async for allocation in self._pages("allocation", self._query("allocation")):
                for note, applied in note_applications(allocation):
                    notes[note].append(applied)
            self._notes = dict(notes)
        return self._notes

    async def _receipt_holding(self) -> dict[str, str]:
        """Payment on account id → the id of the receipt it belongs to."""
        if self._holders is None:
            self._holders = {}
            async for receipt in self._pages("payment", self._query("payment")):
                held = receipt.get("payment_on_account") or {}
                if held.get("id"):
                    self._holders[str(held["id"])] = str(receipt["id"])
        return self._holders

    def _query(self, kind: str) -> dict[str, str]:
        query = {"transaction_type_id": self._mapping.setting(kind, "transaction_type_id")}
        return query | ({"contact_id": self._contact} if self._contact else {})


def artefacts(raw: Mapping[str, Any]) -> Applied:
    """``(artefact id, amount)`` of each of a contact payment's or allocation's artefacts."""
    found = []
    for line in raw.get("allocated_artefacts") or []:
        artefact = line.get("artefact") if isinstance(line, Mapping) else None
        if isinstance(artefact, Mapping) and artefact.get("id") is not None:
            found.append((str(artefact["id"]), to_decimal(line.get("amount", 0))))
    return tuple(found)


def note_applications(allocation: Mapping[str, Any]) -> list[tuple[str, tuple[str, Decimal]]]:
    """``(credit note id, (invoice id, amount))`` for an allocation with one credit side
    (the negative artefact) and the invoices it pays (the positive ones). An allocation
    netting several credits at once cannot be split per credit note and is left out."""
    lines = artefacts(allocation)
    credits = [ident for ident, amount in lines if amount < 0]
    if len(credits) != 1:
        return []
    return [(credits[0], (ident, amount)) for ident, amount in lines if amount > 0]
