from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest

from syncledger.adapters.freshbooks.ledger import PRODUCTION_URL, REFUND_NOT_SUPPORTED
from syncledger.adapters.freshbooks.mapping import ref_in
from syncledger.adapters.freshbooks.sandbox.server import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REDIRECT_URI,
    DEFAULT_REFRESH_TOKEN,
)
from syncledger.core.errors import PermanentLedgerError
from tests.contracts.in_process_ledgers import InProcessLedgers
from tests.contracts.ledger_contract import LedgerUnderTest
from tests.contracts.ledger_sections import (
    SectionLedger,
    TaxIdSection,
)
from tests.contracts.recovery_sections import JournalledApplicationSection
from tests.contracts.sandbox_sections import TokenServerSection
from tests.contracts.sections import EveryLedgerSections, OAuthSections
from tests.contracts.wire_sections import (
    Call,
    MisappliedSection,
    PrefetchSection,
    rest_call,
)
from tests.support.freshbooks import ACCOUNT, InProcessFreshBooks, in_process_freshbooks, seed_item

ACCOUNTING = f"/accounting/account/{ACCOUNT}"


class TestFreshBooksLedgerContract(
    InProcessLedgers,
    JournalledApplicationSection,
    MisappliedSection,
    TaxIdSection,
    PrefetchSection,
    TokenServerSection,
    OAuthSections,
    EveryLedgerSections,
):
    """The shared contract, but for refunds: FreshBooks documents no API construct for
    paying a client's credit back, so the adapter refuses every refund before sending
    anything (adapters/freshbooks/ledger.py). The contract's refund tests are replaced by
    ones asserting that refusal and that nothing reached the ledger."""

    #: the multi-write operations FreshBooks takes (a refund is refused: see below)
    OPERATIONS = ("credit_note", "payment")
    takes_refunds = False  # the adapter refuses every refund (below)
    lost_credential_code = "invalid_grant"
    misapplied: ClassVar[dict[tuple[str, str | None], str]] = {
        ("250.00", None): "syncledger.applied_mismatch",
        ("250.00", "100.00"): "syncledger.applied_mismatch",
        ("200.00", "100.00"): "syncledger.applied_mismatch",
        ("200.00", "225.45"): "syncledger.applied_mismatch",
    }
    tax_id_field = "vat_number"
    platform_id = "freshbooks"
    sandbox_requests_per_minute = 100
    live_url = PRODUCTION_URL
    secrets = (DEFAULT_CLIENT_SECRET,)
    unknown_customer_code = "1012"  # "Client not found."
    changes_resolution = 1.0  # FreshBooks' `updated` is to the second

    contract_options: ClassVar[dict[str, Any]] = {"per_second": 25, "timeout": 0.3}
    refresh_token = DEFAULT_REFRESH_TOKEN

    def environment(self, book: Path | None = None, **options: Any) -> InProcessFreshBooks:
        return in_process_freshbooks(book, **options)

    #: a credit note is applied by a payment of type Credit
    application_request = r"^POST /accounting/.*/payments/payments"

    def applications(self, ledger: LedgerUnderTest) -> int:
        return ledger.sandbox.count("payment")

    customer_name_field = "organization"
    #: the amount as FreshBooks keeps it (a string and its currency), and the due date
    #: as the days after the issue date FreshBooks counts
    booked_extras: ClassVar[dict[str, object]] = {
        "amount": {"amount": "0.30", "code": "USD"},
        "due_offset_days": 30,
    }

    def booked_invoice(self, stored: dict[str, Any]) -> dict[str, object]:
        return {
            "total": Decimal(stored["amount"]["amount"]),
            "number": stored["invoice_number"],
            "id": str(stored["id"]),
            "reference": ref_in(stored["notes"]),
            "amount": stored["amount"],
            "due_offset_days": stored["due_offset_days"],
        }

    item_lookup = f"GET {ACCOUNTING}/items/items"
    customer_bulk_read = f"GET {ACCOUNTING}/users/clients"  # its documented id search
    customer_read = f"GET {ACCOUNTING}/users/clients/{{id}}"
    customer_write = f"PUT {ACCOUNTING}/users/clients/{{id}}"

    def calls(self, env: SectionLedger) -> list[Call]:
        sent = env.platform.transport.sent
        return [rest_call(method, path) for method, path in sent if "/oauth/" not in path]

    def make_item_by_hand(self, env: SectionLedger, code: str) -> str:
        return seed_item(env.under_test.sandbox, code)  # type: ignore[arg-type]

    # ------------------------------------------------------------ refunds

    async def test_a_refund_of_an_overpayment_uses_up_its_credit(
        self, ledger: LedgerUnderTest
    ) -> None:
        customer_id = await self.push_customer(ledger)
        invoice_id = await self.push_invoice(ledger, customer_id)
        payment_id = await self.push_payment(
            ledger, customer_id, invoice_id, "250.00", applied="225.45"
        )
        with pytest.raises(PermanentLedgerError) as refused:
            await self.push_refund(
                ledger, customer_id, self.refund("24.55", payment_id="PAY-1"), payment_id
            )
        assert refused.value.code == REFUND_NOT_SUPPORTED
        assert ledger.sandbox.count("payment") == 1
        assert (await self.fetch(ledger, "payment", payment_id)).balance == Decimal("24.55")
        assert await ledger.adapter.find("refund", "csv/refund/REF-1") is None

    async def test_a_refund_of_a_credit_note_uses_up_part_of_its_credit(
        self, ledger: LedgerUnderTest
    ) -> None:
        customer_id = await self.push_customer(ledger)
        credit_id = await self.push_open_credit_note(ledger, customer_id)
        refund = self.refund("15.00", credit_note_id="CN-1")
        with pytest.raises(PermanentLedgerError) as refused:
            await self.push_refund(ledger, customer_id, refund, credit_id)
        assert refused.value.code == REFUND_NOT_SUPPORTED
        assert (await self.fetch(ledger, "credit_note", credit_id)).balance == Decimal("40.00")
        assert ledger.sandbox.count("payment") == 0

    async def test_a_refund_beyond_the_credit_left_is_refused(
        self, ledger: LedgerUnderTest
    ) -> None:
        customer_id = await self.push_customer(ledger)
        credit_id = await self.push_open_credit_note(ledger, customer_id)
        with pytest.raises(PermanentLedgerError):
            await self.push_refund(
                ledger, customer_id, self.refund("50.00", credit_note_id="CN-1"), credit_id
            )
        assert (await self.fetch(ledger, "credit_note", credit_id)).balance == Decimal("40.00")
        assert ledger.sandbox.count("payment") == 0

    token_path = "/auth/oauth/token"
    client_id = DEFAULT_CLIENT_ID
    client_secret = DEFAULT_CLIENT_SECRET
    client_in_body = True
    grant_extras: ClassVar[dict[str, str]] = {"redirect_uri": DEFAULT_REDIRECT_URI}
    token_answer: ClassVar[dict[str, object]] = {"token_type": "Bearer", "expires_in": 43200}
    token_answer_times = ("created_at",)
