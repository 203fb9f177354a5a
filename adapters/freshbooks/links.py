"""What FreshBooks' payments say a credit note is applied to.

FreshBooks keeps applications on its payments, not on the documents (freshbooks.com/api/
payments, field descriptions): ``invoiceid`` "id of related invoice", ``creditid`` "id
of related credit", ``from_credit`` "converted from a credit on a client's account",
``overpaymentid`` "id of related overpayment". ``creditid`` is read, never written: the
official Node SDK reads it (``creditId`` in ``models/Payment.ts``) but does not send it.
So a credit note is applied to an invoice by each live payment FreshBooks answers with
it in ``creditid`` and an invoice in ``invoiceid`` (syncledger's are payments of type
Credit, which draw on the client's credit), for that payment's ``amount``.

``Links`` is built from a set of payments (one client's, or the account's when a whole
list is read) and answers without further requests.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from syncledger.core.money import to_decimal

Applications = tuple[tuple[str, Decimal], ...]


@dataclass(frozen=True, slots=True)
class Links:
    #: credit note id -> (invoice id, amount) of each live payment applying it
    applications: Mapping[str, Applications] = field(default_factory=dict)

    @classmethod
    def of(cls, payments: Iterable[Mapping[str, Any]]) -> Links:
        applications: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
        for raw in payments:
            if raw.get("vis_state") != 1 and _applies_credit(raw):
                applications[str(raw["creditid"])].append((str(raw["invoiceid"]), amount_of(raw)))
        return cls({k: tuple(v) for k, v in applications.items()})

    def of_credit_note(self, ledger_id: str) -> Applications:
        return self.applications.get(ledger_id, ())


def of_payment(raw: Mapping[str, Any], excess: Decimal) -> Applications:
    """A payment is applied to its invoice for what its overpayment credit did not take
    (``excess``: that credit note's ``amount``)."""
    if raw.get("vis_state") == 1 or not raw.get("invoiceid"):
        return ()
    applied = amount_of(raw) - excess
    return ((str(raw["invoiceid"]), applied),) if applied > 0 else ()


def amount_of(raw: Mapping[str, Any]) -> Decimal:
    value = raw.get("amount")
    if isinstance(value, Mapping):
        value = value.get("amount")
    return to_decimal(value or 0)


def _applies_credit(raw: Mapping[str, Any]) -> bool:
    return bool(raw.get("creditid") and raw.get("invoiceid"))
