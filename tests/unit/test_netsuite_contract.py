from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

from syncledger.adapters.netsuite.auth import TbaAuth
from syncledger.adapters.netsuite.mapping import external_id, ref_in
from syncledger.adapters.netsuite.sandbox.server import DEFAULT_CONSUMER_SECRET
from syncledger.adapters.oauth2 import TokenStore
from tests.contracts.in_process_ledgers import InProcessLedgers
from tests.contracts.ledger_contract import LedgerContract
from tests.contracts.ledger_sections import (
    ForeignCurrencySection,
    SectionLedger,
    in_process,
)
from tests.contracts.sections import EveryLedgerSections
from tests.contracts.wire_sections import (
    Call,
    MisappliedSection,
    RefundRefusalSection,
    rest_call,
)
from tests.support.netsuite import InProcessNetSuite, Sent, credentials, in_process_netsuite

_TOKEN_ID = "sandbox-token-id-2"
_TOKEN_SECRET = "token-secret-never-logged"


class TestNetSuiteLedgerContract(
    InProcessLedgers,
    RefundRefusalSection,
    MisappliedSection,
    ForeignCurrencySection,
    EveryLedgerSections,
):
    lost_credential_code = "INVALID_LOGIN"
    refund_refusals: ClassVar[dict[str, str]] = {
        "beyond": "syncledger.refund_exceeds_credit",
        "another_customer": "USER_ERROR",
    }
    refused_by_the_ledger = frozenset({"another_customer"})
    misapplied: ClassVar[dict[tuple[str, str | None], str]] = {
        ("250.00", "-0.01"): "syncledger.bad_applied_amount",
        ("250.00", "250.01"): "syncledger.bad_applied_amount",
    }
    platform_id = "netsuite"
    sandbox_home_currency = "EUR"
    sandbox_requests_per_minute = 300
    keeps_a_token_file = False  # TBA: no tokens to keep
    live_url = "https://1234567-sb1.suitetalk.api.netsuite.com"
    live_credentials: ClassVar[dict[str, str]] = {"consumer_key": "ck"}
    #: a token the test issues, its secret never logged; the consumer secret; the
    #: signature of every request
    secrets = (_TOKEN_SECRET, DEFAULT_CONSUMER_SECRET, "oauth_signature")
    logged_instead = "/services/rest/record/v1/customer"  # requests are logged

    def secret_ledger(self, store: TokenStore) -> SectionLedger:
        signed = TbaAuth(credentials(token_id=_TOKEN_ID, token_secret=_TOKEN_SECRET))
        env = self.book_ledger(None, store, auth=signed)
        env.under_test.sandbox.tba.issue(_TOKEN_ID, _TOKEN_SECRET)  # type: ignore[attr-defined]
        return env

    def lose_credentials(self, env: SectionLedger, store: TokenStore) -> None:
        env.under_test.sandbox.tba.revoke(_TOKEN_ID)  # type: ignore[attr-defined]

    def more_text(self) -> str:
        held = credentials(token_id=_TOKEN_ID, token_secret=_TOKEN_SECRET)
        return repr(TbaAuth(held)) + repr(held)

    unknown_customer_code = "INVALID_CONTENT"  # Invalid Field Value … for the field: entity
    changes_resolution = 1.0  # lastModifiedDate / lastmodifieddate are kept to the second
    #: one request each: a credit memo and a customer refund carry their application in
    #: their own ``apply`` sublist (PUT …/creditMemo|customerRefund/eid:…, replace=apply)
    single_write = frozenset({"credit_note", "refund"})
    #: a void is a mirroring credit memo applied in full, then the void mark (two writes)
    extra_operations = ("void",)
    KIND: ClassVar[dict[str, str]] = {**LedgerContract.KIND, "void": "credit_note"}

    contract_options: ClassVar[dict[str, Any]] = {
        "concurrency": 3,
        "per_minute": 120,
        "timeout": 0.3,
    }

    def environment(self, book: Path | None = None, **options: Any) -> InProcessNetSuite:
        return in_process_netsuite(book, **options)  # TBA: no OAuth tokens to keep

    customer_name_field = "companyName"
    seeded_items = 2  # the service item and the discount item the default mapping names
    booked_extras: ClassVar[dict[str, object]] = {"externalId": external_id("csv/invoice/INV-1")}
    mistotal_tax = Decimal("0.10")
    on_account_status = "open"

    def booked_invoice(self, stored: dict[str, Any]) -> dict[str, object]:
        return {
            "total": stored["total"],
            "number": stored["tranId"],
            "id": stored["id"],
            "reference": ref_in(stored["memo"]),
            "externalId": stored["externalId"],
        }

    rate_field = "exchangeRate"

    def paged_ledger(self, page_size: int) -> SectionLedger:
        """The page size is the environment's own (no ``ledger_options``)."""
        options: dict[str, Any] = {"concurrency": 10, "per_minute": 2000, "latency": 0.0}
        return in_process(in_process_netsuite(page_size=page_size, **options))

    item_lookup = "suiteql item by code"
    creates_without_a_second_lookup = False  # it looks the code up again first

    def calls(self, env: SectionLedger) -> list[Call]:
        return [netsuite_call(s) for s in env.platform.wire.sent]

    def make_item_by_hand(self, env: SectionLedger, code: str) -> str:
        body = {
            "itemId": code,
            "incomeAccount": {"id": "54"},
            "taxSchedule": {"id": "1"},
            "subsidiary": {"items": [{"id": "1"}]},
        }
        made = env.under_test.sandbox.create("serviceSaleItem", body)  # type: ignore[attr-defined]
        return str(made["id"])


def netsuite_call(sent: Sent) -> Call:
    """A SuiteQL query as ``suiteql <table>`` (``by code`` when it asks for an item's
    code), a REST record request by method and path."""
    if not sent.path.endswith("/suiteql"):
        return rest_call(sent.method, sent.path.split("/record/v1")[-1])
    query = str(sent.body["q"])
    table = query.split(" FROM ")[1].split()[0]
    return ("read", f"suiteql {table}{' by code' if 'itemid =' in query else ''}")
