from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from syncledger.adapters.xero.ledger import API, PRODUCTION_URL
from syncledger.adapters.xero.mapping import ref_in
from syncledger.adapters.xero.sandbox.server import (
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
    TaxIdSection,
    ThrottleSection,
)
from tests.contracts.recovery_sections import RecoveredCustomerSection
from tests.contracts.sandbox_sections import TokenServerSection
from tests.contracts.sections import EveryLedgerSections, OAuthSections
from tests.contracts.wire_sections import (
    Call,
    MisappliedSection,
    PrefetchSection,
    RefundRefusalSection,
    rest_call,
)
from tests.support.xero import InProcessXero, in_process_xero


class TestXeroLedgerContract(
    InProcessLedgers,
    RecoveredCustomerSection,
    RefundRefusalSection,
    MisappliedSection,
    TaxIdSection,
    PrefetchSection,
    ForeignCurrencySection,
    ThrottleSection,
    TokenServerSection,
    OAuthSections,
    SendSection,
    EveryLedgerSections,
):
    lost_credential_code = "invalid_grant"
    # Xero refuses a refund beyond the credit (ValidationException, ErrorNumber 10); one
    # out of another customer's credit note Xero would pay to the credit note's contact
    # (the payment names only the credit note), so the adapter refuses it (xero_refunds)
    refund_refusals: ClassVar[dict[str, str]] = {
        "beyond": "10",
        "another_customer": "syncledger.credit_of_another_customer",
    }
    refused_by_the_ledger = frozenset({"beyond"})
    misapplied: ClassVar[dict[tuple[str, str | None], str]] = {
        ("300.00", "230.00"): "syncledger.overapplied",  # beyond what the invoice owes
        ("300.00", "300.01"): "syncledger.bad_applied",  # beyond what was received
    }
    tax_id_field = "TaxNumber"
    finds_punctuation_stored = False  # adapters/xero/ledger.py: ``where`` cannot normalise
    platform_id = "xero"
    sandbox_home_currency = "NZD"
    sandbox_requests_per_minute = 60
    live_url = PRODUCTION_URL
    secrets = (DEFAULT_CLIENT_SECRET,)
    live_credentials: ClassVar[dict[str, str]] = {"client_id": "x"}
    # "987654" is no GUID: the body does not bind to the spec's Contact.ContactID (uuid), so
    # Xero's PostDataInvalidException, ErrorNumber 14. A well-formed but unknown ContactID is
    # a ValidationException, ErrorNumber 10 (tests/unit/test_xero_sandbox.py).
    unknown_customer_code = "14"
    # Xero keeps a key 6 minutes; contact names are unique (a ValidationException)
    taken_name_code = "10"
    taken_name_says = "already assigned to another contact"
    changes_resolution = 0.01  # UpdatedDateUTC and If-Modified-Since count milliseconds
    # A refund is one request: ``PUT /Payments`` naming the ``CreditNote`` or ``Overpayment``
    # it pays out of (developer.xero.com/documentation/api/overpayments: "Refund
    # Overpayments using the Payments endpoint"; OpenAPI ``Payment.CreditNote`` /
    # ``Payment.Overpayment``): Xero lowers the credit's ``RemainingCredit`` in that write.
    single_write = frozenset({"refund"})

    contract_options: ClassVar[dict[str, Any]] = {"per_window": 25, "window": 1.0, "timeout": 0.3}
    paged_options: ClassVar[dict[str, Any]] = {"per_window": 1000, "window": 60.0}
    refresh_token = DEFAULT_REFRESH_TOKEN

    def environment(self, book: Path | None = None, **options: Any) -> InProcessXero:
        return in_process_xero(book, **options)

    throttle_code = "429:minute"
    throttle_retry_after = 1

    customer_name_field = "Name"

    def booked_invoice(self, stored: dict[str, Any]) -> dict[str, object]:
        return {
            "total": stored["Total"],
            "number": stored["InvoiceNumber"],
            "id": stored["InvoiceID"],
            "reference": ref_in(stored["Reference"]),
        }

    rate_field = "CurrencyRate"

    item_lookup = "GET /Items"
    raced_code = "svc-race"  # codes are unique ignoring case
    customer_bulk_read = "GET /Contacts"
    customer_read = "GET /Contacts/{id}"
    customer_write = "POST /Contacts/{id}"

    def calls(self, env: SectionLedger) -> list[Call]:
        sent = [r for r in env.platform.wire.sent if r.url.path.startswith(API)]
        return [rest_call(r.method, r.url.path.removeprefix(API)) for r in sent]

    def make_item_by_hand(self, env: SectionLedger, code: str) -> str:
        return str(env.under_test.sandbox.seed_item(code))  # type: ignore[attr-defined]

    token_path = "/connect/token"
    client_id = DEFAULT_CLIENT_ID
    client_secret = DEFAULT_CLIENT_SECRET
    token_answer: ClassVar[dict[str, object]] = {"token_type": "Bearer", "expires_in": 1800}

    #: SentToContact false cannot prove an API e-mail did not go out (undocumented): Xero's
    #: answer is "cannot tell", and core never sends again on it
    unsent = None
    no_address_code = "10"  # Xero's ValidationException
    unknown_invoice_code = "404"
    unknown_invoice_id = "00000000-0000-0000-0000-000000000001"

    def recipients(self, ledger: LedgerUnderTest, invoice_id: str) -> list[str]:
        sent = ledger.sandbox.emails_sent(invoice_id)  # type: ignore[attr-defined]
        return [address for to, _ in sent for address in to]
