from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, Literal

import httpx

from syncledger.adapters.qbo.ledger import PRODUCTION_URL
from syncledger.adapters.qbo.mapping import ref_in
from syncledger.adapters.qbo.sandbox.server import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
)
from tests.contracts.in_process_ledgers import InProcessLedgers
from tests.contracts.ledger_contract import LedgerUnderTest
from tests.contracts.ledger_sections import (
    ForeignCurrencySection,
    SectionLedger,
    SendSection,
    ThrottleSection,
)
from tests.contracts.recovery_sections import RecoveredCustomerSection
from tests.contracts.sandbox_sections import TokenServerSection
from tests.contracts.sections import EveryLedgerSections, OAuthSections
from tests.contracts.wire_sections import (
    Call,
    PrefetchSection,
    RefundRefusalSection,
)
from tests.support.qbo import InProcessQbo, in_process_qbo


def qbo_call(request: httpx.Request) -> Call:
    """A query as ``query <Entity>``, another request by method and resource (an id as
    ``{id}``)."""
    statement = request.url.params.get("query")
    if statement is not None:
        return ("read", f"query {statement.split(' FROM ')[1].split()[0]}")
    resource, *ident = request.url.path.split("/company/")[1].split("/")[1:]
    kind: Literal["read", "write"] = "read" if request.method == "GET" else "write"
    return (kind, f"{request.method} {resource}{'/{id}' if ident else ''}")


class TestQboLedgerContract(
    InProcessLedgers,
    RecoveredCustomerSection,
    RefundRefusalSection,
    PrefetchSection,
    ForeignCurrencySection,
    ThrottleSection,
    TokenServerSection,
    OAuthSections,
    SendSection,
    EveryLedgerSections,
):
    """A US company without automated sales tax: it keeps the tax it is sent."""

    lost_credential_code = "invalid_grant"
    refund_refusals: ClassVar[dict[str, str]] = {
        "beyond": "syncledger.refund_exceeds_credit",
        "another_customer": "syncledger.credit_of_another_customer",
    }
    platform_id = "qbo"
    sandbox_requests_per_minute = 500
    live_url = PRODUCTION_URL
    secrets = (DEFAULT_CLIENT_SECRET,)
    unknown_customer_code = "2500"  # Invalid Reference Id
    # the requestid lost (the QBO caveat): the reference finds the customer; display names
    # are unique: "The name supplied already exists" (Duplicate Name Exists Error)
    taken_name_code = "6240"

    contract_options: ClassVar[dict[str, Any]] = {"per_second": 25, "timeout": 0.3}
    unlimited_options: ClassVar[dict[str, Any]] = {"per_second": 25}
    refresh_token = DEFAULT_REFRESH_TOKEN

    def environment(self, book: Path | None = None, **options: Any) -> InProcessQbo:
        return in_process_qbo(book, **options)

    rateless_code = "2020"  # QBO's own refusal: an ExchangeRate is required
    throttle_code = "003001"  # ThrottleExceeded
    throttle_retry_after = 60

    customer_name_field = "DisplayName"

    def booked_invoice(self, stored: dict[str, Any]) -> dict[str, object]:
        return {
            "total": stored["TotalAmt"],
            "number": stored["DocNumber"],
            "id": stored["Id"],
            "reference": ref_in(stored["PrivateNote"]),
        }

    rate_field = "ExchangeRate"

    seeded_items = 1  # the company's default Services item

    item_lookup = "query Item"
    raced_code = "svc-race"  # codes are unique ignoring case
    creates_without_a_second_lookup = False  # it looks the code up again first
    customer_bulk_read = "query Customer"
    customer_read = "GET customer/{id}"
    customer_write = "POST customer"
    ledger_checks_the_version = True  # QBO refuses a stale SyncToken itself

    def calls(self, env: SectionLedger) -> list[Call]:
        sent = env.platform.transport.requests
        return [qbo_call(r) for r in sent if "/company/" in r.url.path]

    def make_item_by_hand(self, env: SectionLedger, code: str) -> str:
        body = {"Name": code, "Type": "Service", "IncomeAccountRef": {"value": "1"}}
        made = env.under_test.sandbox.write("item", None, body)  # type: ignore[attr-defined]
        return str(made["Item"]["Id"])

    token_path = "/oauth2/v1/tokens/bearer"
    client_id = DEFAULT_CLIENT_ID
    client_secret = DEFAULT_CLIENT_SECRET
    token_answer: ClassVar[dict[str, object]] = {"token_type": "bearer", "expires_in": 3600}

    no_address_code = "syncledger.no_email_address"
    unknown_invoice_code = "610"
    unknown_invoice_id = "999"

    def recipients(self, ledger: LedgerUnderTest, invoice_id: str) -> list[str]:
        return [to for to, _ in ledger.sandbox.emails_sent(invoice_id)]  # type: ignore[attr-defined]


class TestQboAutomatedSalesTaxContract(TestQboLedgerContract):
    """A US company on automated sales tax: QBO computes the tax itself (8 %, the rate of
    the contract's taxed lines) from the lines marked TAX, whatever tax is sent."""

    contract_options: ClassVar[dict[str, Any]] = {
        **TestQboLedgerContract.contract_options,
        "ast_rate": Decimal("0.08"),
    }
