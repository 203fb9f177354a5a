"""Customers pushed, then matched one at a time (``match_customer``) and all at once
(``core.ports.CustomerBatchMatcher.match_customers``): the set-up of the batch-matching
tests of the ledgers that match at once (``tests/unit/test_qbo_matching.py``,
``tests/unit/test_xero_matching.py``), which check that both give the same answers."""

from __future__ import annotations

from collections.abc import Iterable

from syncledger.core.model import Customer
from syncledger.core.ports import CustomerBatchMatcher, CustomerWrite, LedgerAdapter, LedgerRecord
from tests.contracts.ledger_contract import key
from tests.support.documents import customer

#: the ledger ids each customer matched, by the customer's key in the batch
Matches = dict[str, list[str]]


async def created(ledger: LedgerAdapter, n: int, **changes: object) -> str:
    """Customer C-``n`` (``changes`` override its fields) pushed; its ledger id."""
    pushed = await ledger.create_customer(
        CustomerWrite(
            customer(n, **changes), external_ref=f"csv/customer/C-{n}", idempotency_key=key(str(n))
        )
    )
    return pushed.ledger_id


def _ids(records: Iterable[LedgerRecord], ordered: bool) -> list[str]:
    ids = [r.ledger_id for r in records]
    return ids if ordered else sorted(ids)


async def one_by_one(
    ledger: LedgerAdapter, customers: dict[str, Customer], *, ordered: bool = True
) -> Matches:
    """What ``match_customer`` finds for each (in its order, or sorted)."""
    return {ref: _ids(await ledger.match_customer(c), ordered) for ref, c in customers.items()}


async def at_once(
    ledger: LedgerAdapter, customers: dict[str, Customer], *, ordered: bool = True
) -> Matches:
    """What one ``match_customers`` call finds for each (in its order, or sorted)."""
    assert isinstance(ledger, CustomerBatchMatcher)
    found = await ledger.match_customers(customers)
    return {ref: _ids(got, ordered) for ref, got in found.items()}
