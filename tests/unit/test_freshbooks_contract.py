from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.contracts.ledger_contract import LedgerContract, LedgerUnderTest
from tests.support.freshbooks import in_process_freshbooks


class TestFreshBooksLedgerContract(LedgerContract):
    currency = "USD"
    unknown_customer_code = "1012"  # "Client not found."
    changes_resolution = 1.0  # FreshBooks' `updated` is to the second
    #: a refund is one payment of type Refund naming the credit note it draws on
    #: (creditid), which FreshBooks takes out of that credit in the same request
    single_write = frozenset({"refund"})

    @pytest.fixture
    async def ledger(self) -> AsyncIterator[LedgerUnderTest]:
        fb = in_process_freshbooks(per_second=25, timeout=0.3)
        yield LedgerUnderTest(fb.ledger, fb.sandbox, attempts=fb.retry.attempts)
        await fb.ledger.aclose()
        fb.sandbox.close()
