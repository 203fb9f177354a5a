from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest

from syncledger.adapters.oauth2 import TokenStore
from syncledger.adapters.zoho.sandbox.server import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
)
from tests.contracts.in_process_ledgers import InProcessLedgers
from tests.contracts.ledger_contract import LedgerContract, LedgerUnderTest
from tests.contracts.ledger_sections import (
    ForeignCurrencySection,
    InProcess,
    SectionLedger,
    under_test,
)
from tests.contracts.recovery_sections import JournalledApplicationSection
from tests.contracts.sections import EveryLedgerSections, OAuthSections
from tests.contracts.wire_sections import (
    Call,
    MisappliedSection,
    PrefetchSection,
    RefundRefusalSection,
    rest_call,
)
from tests.support.zoho import InProcessZoho, in_process_zoho


class TestZohoBooksLedgerContract(
    InProcessLedgers,
    JournalledApplicationSection,
    RefundRefusalSection,
    MisappliedSection,
    PrefetchSection,
    ForeignCurrencySection,
    OAuthSections,
    EveryLedgerSections,
):
    lost_credential_code = "invalid_code"
    refund_refusals: ClassVar[dict[str, str]] = {
        "beyond": "syncledger.refund_exceeds_credit",
        "another_customer": "syncledger.credit_of_another_customer",
    }
    misapplied: ClassVar[dict[tuple[str, str | None], str]] = {
        ("250.00", "-1.00"): "syncledger.bad_applied_amount",
        ("250.00", "250.01"): "syncledger.bad_applied_amount",
    }
    platform_id = "zoho-books"
    sandbox_requests_per_minute = 100
    live_url = "https://www.zohoapis.eu"  # any Zoho data centre is live
    secrets = (DEFAULT_CLIENT_SECRET,)
    logged_instead = "organization_id=***"  # the organisation is masked in logged URLs

    def lose_credentials(self, env: SectionLedger, store: TokenStore) -> None:
        held = store.load()
        assert held is not None
        env.under_test.sandbox.accounts.revoke(held.refresh_token)  # type: ignore[attr-defined]
        env.expire_access_tokens()

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
        async with under_test(zoho) as ledger:
            yield ledger

    rotates_refresh_token = False  # Zoho keeps one refresh token until it is revoked
    revoked_grant_code = "invalid_code"  # what Zoho's accounts server answers

    def oauth_ledger(self, store: TokenStore) -> SectionLedger:
        zoho = in_process_zoho(store=store, refresh_token=_REVOCABLE)
        zoho.sandbox.accounts.grant(_REVOCABLE)
        return _section(zoho, revoke=lambda: zoho.sandbox.accounts.revoke(_REVOCABLE))

    application_request = r"POST /books/v3/creditnotes/\d+/invoices"

    def applications(self, ledger: LedgerUnderTest) -> int:
        return sum(len(n["invoices_credited"]) for n in ledger.sandbox.records("credit_note"))  # type: ignore[attr-defined]

    customer_name_field = "contact_name"
    booked_payment_extras: ClassVar[dict[str, dict[str, object]]] = {
        amount: {"currency": "EUR"} for amount in ("10.00", "40.00")
    }

    def booked_invoice(self, stored: dict[str, Any]) -> dict[str, object]:
        return {
            "total": stored["total"],
            "number": stored["invoice_number"],
            "id": stored["invoice_id"],
            "reference": stored["reference_number"],
        }

    rate_field = "exchange_rate"

    def booked_payments(self, sandbox: Any) -> list[dict[str, object]]:
        held = sandbox.records("payment")
        return [{"rate": p["exchange_rate"], "currency": p["currency_code"]} for p in held]

    paged_options: ClassVar[dict[str, Any]] = {"per_window": 200}
    refresh_token = DEFAULT_REFRESH_TOKEN

    def environment(self, book: Path | None = None, **options: Any) -> InProcessZoho:
        return in_process_zoho(book, **options)

    def section_ledger(self, env: InProcess, spend: str | None = None) -> SectionLedger:
        assert isinstance(env, InProcessZoho)
        return _section(env)  # Zoho keeps its refresh token: nothing is spent

    changes_read_refunds = False  # refund lists carry no modification time
    item_lookup = "GET /items"
    raced_code = "svc-race"  # codes are unique ignoring case
    creates_without_a_second_lookup = False  # it looks the code up again first
    default_item_lookups = 1  # every line is sent with an item: the default one's lookup
    customer_bulk_read = "GET /contacts"
    customer_read = "GET /contacts/{id}"
    customer_write = "PUT /contacts/{id}"

    def calls(self, env: SectionLedger) -> list[Call]:
        sent = env.platform.transport.requests
        api = [r for r in sent if r.url.path.startswith("/books/v3/")]
        return [rest_call(r.method, r.url.path.removeprefix("/books/v3")) for r in api]

    def make_item_by_hand(self, env: SectionLedger, code: str) -> str:
        return str(env.under_test.sandbox.seed_item(code))  # type: ignore[attr-defined]


_REVOCABLE = "1000.revocable"  # a grant the test revokes, as a user removing the app would


def _section(zoho: InProcessZoho, revoke: Callable[[], None] = lambda: None) -> SectionLedger:
    async def close() -> None:
        await zoho.ledger.aclose()
        zoho.sandbox.close()

    return SectionLedger(
        LedgerUnderTest(zoho.ledger, zoho.sandbox, zoho.retry.attempts),
        close,
        expire_access_tokens=zoho.sandbox.accounts.expire_access_tokens,
        revoke_grant=revoke,
        app=zoho.app,
        redeem=lambda token: "access_token" in zoho.sandbox.accounts.token(_refresh(token)),
        platform=zoho,
    )


def _refresh(token: str) -> dict[str, str]:
    """A refresh_token grant as the adapter sends it."""
    client = {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET}
    return client | {"grant_type": "refresh_token", "refresh_token": token}
