from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

from syncledger.adapters.sage.ledger import PRODUCTION_URL
from syncledger.adapters.sage.mapping import ref_in
from syncledger.adapters.sage.sandbox.server import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
)
from tests.contracts import sandbox_sections
from tests.contracts.in_process_ledgers import InProcessLedgers
from tests.contracts.ledger_sections import (
    ForeignCurrencySection,
    SectionLedger,
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
from tests.support.sage import InProcessSage, in_process_sage


class TestSageLedgerContract(
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
    EveryLedgerSections,
):
    lost_credential_code = "invalid_grant"
    refund_refusals: ClassVar[dict[str, str]] = {
        "beyond": "RecordInvalid",
        "another_customer": "RecordInvalid",
    }
    refused_by_the_ledger = frozenset({"beyond", "another_customer"})
    misapplied: ClassVar[dict[tuple[str, str | None], str]] = {
        ("250.00", "-0.01"): "syncledger.bad_applied_amount",
        ("250.00", "250.01"): "syncledger.bad_applied_amount",
    }
    tax_id_field = "tax_number"
    platform_id = "sage"
    sandbox_requests_per_minute = 200
    live_url = PRODUCTION_URL
    secrets = (DEFAULT_CLIENT_SECRET,)
    unknown_customer_code = "RecordNotFound"  # Sage: "Couldn't find record."
    # the idempotency_id gone (over 7 days, or a new key): Sage's unique reference finds the
    # customer; a name is not unique (another C-1 takes the next code: test_sage_ledger.py)
    changes_resolution = 1.0  # Sage keeps updated_at at whole seconds
    #: a refund is one request: a CUSTOMER_REFUND contact payment whose own
    #: allocated_artefacts name the credit note or payment on account it pays out (receipts
    #: likewise carry their invoice allocations in their own body)
    single_write = frozenset({"refund"})

    contract_options: ClassVar[dict[str, Any]] = {"limit": 25, "window": 1.0, "timeout": 0.3}
    unlimited_options: ClassVar[dict[str, Any]] = {"limit": 25, "window": 1.0}
    refresh_token = DEFAULT_REFRESH_TOKEN

    def environment(self, book: Path | None = None, **options: Any) -> InProcessSage:
        return in_process_sage(book, **options)

    throttle_code = "TooManyRequests"
    throttle_retry_after = 1

    counted_kinds = (*sandbox_sections.KINDS, "allocation")
    #: the document discount is spread over the lines, to the cent
    exact_discount = Decimal("0.05")
    booked_extras: ClassVar[dict[str, object]] = {
        "line_discounts": [Decimal("0.02"), Decimal("0.03")]
    }

    def booked_invoice(self, stored: dict[str, Any]) -> dict[str, object]:
        return {
            "total": stored["total_amount"],
            "number": stored["reference"],
            "id": stored["id"],
            "reference": ref_in(stored["notes"]),
            "line_discounts": [ln["discount_amount"] for ln in stored["invoice_lines"]],
        }

    #: the payment in the home currency, at the invoice's rate
    booked_payment_extras: ClassVar[dict[str, dict[str, object]]] = {
        "10.00": {"base_total": Decimal("12.50")},
        "40.00": {"base_total": Decimal("50.00")},
    }

    def booked_invoice_rate(self, sandbox: Any) -> Decimal:
        [stored] = sandbox.records("invoice")
        return Decimal(stored["inverse_exchange_rate"])

    def booked_payments(self, sandbox: Any) -> list[dict[str, object]]:
        return [
            {"rate": 1 / p["exchange_rate"], "base_total": p["base_currency_total_amount"]}
            for p in sandbox.records("payment")
        ]

    item_lookup = "GET /services"
    customer_bulk_read = "GET /contacts"  # a delta read: updated_or_created_since
    customer_read = "GET /contacts/{id}"
    customer_write = "PUT /contacts/{id}"
    rereads_a_changed_copy = True  # the record the delta read shows changed is read again

    def calls(self, env: SectionLedger) -> list[Call]:
        return [rest_call(s.method, s.path) for s in env.platform.sent]

    def make_item_by_hand(self, env: SectionLedger, code: str) -> str:
        return str(env.under_test.sandbox.seed_item(code))  # type: ignore[attr-defined]

    token_path = "/token"
    client_id = DEFAULT_CLIENT_ID
    client_secret = DEFAULT_CLIENT_SECRET
    client_in_body = True
    token_answer: ClassVar[dict[str, object]] = {
        "expires_in": 300,
        "refresh_token_expires_in": 2678400,
    }
