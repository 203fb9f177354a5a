from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from tests.contracts.ledger_contract import LedgerContract, LedgerUnderTest
from tests.support.qbo import in_process_qbo


class TestQboLedgerContract(LedgerContract):
    """A US company without automated sales tax: it keeps the tax it is sent."""

    currency = "USD"
    unknown_customer_code = "2500"  # Invalid Reference Id

    @pytest.fixture
    async def ledger(self) -> AsyncIterator[LedgerUnderTest]:
        qbo = in_process_qbo(per_second=25, timeout=0.3)
        yield LedgerUnderTest(qbo.ledger, qbo.sandbox, attempts=qbo.retry.attempts)
        await qbo.ledger.aclose()
        qbo.sandbox.close()


class TestQboAutomatedSalesTaxContract(TestQboLedgerContract):
    """A US company on automated sales tax: QBO computes the tax itself (8 %, the rate of
    the contract's taxed lines) from the lines marked TAX, whatever tax is sent."""

    @pytest.fixture
    async def ledger(self) -> AsyncIterator[LedgerUnderTest]:
        qbo = in_process_qbo(per_second=25, timeout=0.3, ast_rate=Decimal("0.08"))
        yield LedgerUnderTest(qbo.ledger, qbo.sandbox, attempts=qbo.retry.attempts)
        await qbo.ledger.aclose()
        qbo.sandbox.close()
