from __future__ import annotations

from collections.abc import AsyncIterator
from typing import ClassVar

import pytest

from tests.contracts.ledger_contract import LedgerContract, LedgerUnderTest
from tests.support.zoho import in_process_zoho


class TestZohoBooksLedgerContract(LedgerContract):
    currency = "USD"
    unknown_customer_code = "1002"  # Invalid value passed for customer_id
    changes_resolution = 1.0  # last_modified_time has one-second resolution
    #: a refund is one request under its credit (POST /creditnotes/{id}/refunds or
    #: /customerpayments/{id}/refunds), which both records it and draws the credit down
    single_write = frozenset({"refund"})
    #: API invoices are drafts: created, then marked as sent (POST .../status/sent)
    extra_operations = ("issue_invoice",)
    KIND: ClassVar[dict[str, str]] = {**LedgerContract.KIND, "issue_invoice": "invoice"}

    @pytest.fixture
    async def ledger(self) -> AsyncIterator[LedgerUnderTest]:
        zoho = in_process_zoho(per_window=25, window=1.0, timeout=0.3)
        # an organisation holding the item uncoded lines are booked to (Zoho requires an
        # item on every invoice line): otherwise the first invoice's first write would be
        # that item's, and the contract's faults are aimed at the document's
        zoho.sandbox.seed_item(zoho.ledger.mapping.default_item_name)
        yield LedgerUnderTest(zoho.ledger, zoho.sandbox, attempts=zoho.retry.attempts)
        await zoho.ledger.aclose()
        zoho.sandbox.close()
