from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.contracts.ledger_contract import LedgerContract, LedgerUnderTest
from tests.support.sage import in_process_sage


class TestSageLedgerContract(LedgerContract):
    currency = "USD"
    unknown_customer_code = "RecordNotFound"  # Sage: "Couldn't find record."
    changes_resolution = 1.0  # Sage keeps updated_at at whole seconds
    #: a refund is one request: a CUSTOMER_REFUND contact payment whose own
    #: allocated_artefacts name the credit note or payment on account it pays out (receipts
    #: likewise carry their invoice allocations in their own body)
    single_write = frozenset({"refund"})

    @pytest.fixture
    async def ledger(self) -> AsyncIterator[LedgerUnderTest]:
        sage = in_process_sage(limit=25, window=1.0, timeout=0.3)
        yield LedgerUnderTest(sage.ledger, sage.sandbox, attempts=sage.retry.attempts)
        await sage.ledger.aclose()
        sage.sandbox.close()
