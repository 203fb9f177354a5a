from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.contracts.ledger_contract import LedgerContract, LedgerUnderTest
from tests.support.qbo import in_process_qbo


class TestQboLedgerContract(LedgerContract):
    currency = "USD"
    unknown_customer_code = "2500"  # Invalid Reference Id

    @pytest.fixture
    async def ledger(self) -> AsyncIterator[LedgerUnderTest]:
        qbo = in_process_qbo(per_second=25, timeout=0.3)
        yield LedgerUnderTest(qbo.ledger, qbo.sandbox, attempts=qbo.retry.attempts)
        await qbo.ledger.aclose()
        qbo.sandbox.close()
