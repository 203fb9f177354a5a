"""The ledger contract against the Odoo sandbox: Odoo 19 over JSON-2 and over XML-RPC,
and Odoo 17 over XML-RPC (whose payments keep our reference in ``ref``, not ``memo``)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

from syncledger.adapters.jsonwire import decode_json
from syncledger.adapters.oauth2 import TokenStore
from syncledger.adapters.odoo.sandbox.server import DEFAULT_API_KEY
from syncledger.adapters.odoo.wire import decode
from tests.contracts.in_process_ledgers import InProcessLedgers
from tests.contracts.ledger_contract import LedgerContract, LedgerUnderTest
from tests.contracts.ledger_sections import (
    ForeignCurrencySection,
    SectionLedger,
    TaxIdSection,
)
from tests.contracts.sections import EveryLedgerSections
from tests.contracts.wire_sections import (
    Call,
    MisappliedSection,
    PrefetchSection,
    RefundRefusalSection,
)
from tests.support.odoo import InProcessOdoo, in_process_odoo

#: the methods that only read the book
READS = frozenset({"search_read", "read", "search", "search_count", "fields_get"})


def is_rpc(path: str) -> bool:
    return path.startswith("/json/2/") or path == "/xmlrpc/2/object"


def odoo_call(path: str, body: bytes) -> Call:
    """A call as ``<model> <method>`` on either transport; a ``search_read`` of records by
    their ids (``id in``) is marked ``by ids``."""
    if path == "/xmlrpc/2/object":
        params = decode(body)[0]
        model, method = params[3], params[4]
        named = params[6] if len(params) > 6 else {}
        domain = named.get("domain", params[5][0] if params[5] else [])
    else:
        model, method = path.removeprefix("/json/2/").split("/")
        domain = decode_json(body).get("domain", [])
    by_ids = any(isinstance(leaf, list) and leaf[:2] == ["id", "in"] for leaf in domain)
    label = f"{model} {method}{' by ids' if by_ids else ''}"
    return ("read" if method in READS else "write", label)


class TestOdooJson2Contract(
    InProcessLedgers,
    RefundRefusalSection,
    MisappliedSection,
    TaxIdSection,
    PrefetchSection,
    ForeignCurrencySection,
    EveryLedgerSections,
):
    refund_refusals: ClassVar[dict[str, str]] = {
        "beyond": "syncledger.refund_exceeds_credit",
        "another_customer": "syncledger.credit_of_another_customer",
    }
    misapplied: ClassVar[dict[tuple[str, str | None], str]] = {
        ("250.00", None): "syncledger.overapplied",  # all of it would overpay the invoice
        ("250.00", "230.00"): "syncledger.overapplied",
        ("250.00", "100.00"): "syncledger.partial_application",  # Odoo would apply 225.45
        ("250.00", "250.01"): "syncledger.bad_amount",
    }
    tax_id_field = "vat"
    platform_id = "odoo"
    sandbox_requests_per_minute = 120
    keeps_a_token_file = False  # an API key, not OAuth
    customer_has_currency = False  # a res.partner has no currency field of its own
    live_url = "https://example.odoo.com"
    secrets = (DEFAULT_API_KEY,)

    def lose_credentials(self, env: SectionLedger, store: TokenStore) -> None:
        env.under_test.sandbox.expire_keys()  # type: ignore[attr-defined]

    lost_credential_code = "werkzeug.exceptions.Unauthorized"  # JSON-2's 401

    unknown_customer_code = "odoo.exceptions.MissingError"  # the exception's name
    changes_resolution = 1.0  # Odoo shows write_date to the second
    transport = "json2"
    version = 19  # the Odoo release the sandbox plays
    #: a refund is the register wizard's ``action_create_payments``, which creates, posts
    #: and reconciles the outbound payment in one call, one transaction
    #: (``addons/account/wizard/account_payment_register.py`` ``_create_payments``); the
    #: wizard record created before it books nothing
    single_write = frozenset({"refund"})
    #: invoices are created as drafts, then posted; a payment applied to nothing is
    #: created, then posted; an update resets to draft, writes, posts again
    extra_operations = ("issue_invoice", "unapplied_payment", "update_invoice")
    KIND: ClassVar[dict[str, str]] = {
        **LedgerContract.KIND,
        "issue_invoice": "invoice",
        "unapplied_payment": "payment",
        "update_invoice": "invoice",
    }

    contract_options: ClassVar[dict[str, Any]] = {"per_second": 25, "timeout": 0.3}
    paged_options: ClassVar[dict[str, Any]] = {"per_second": 100}

    def environment(self, book: Path | None = None, **options: Any) -> InProcessOdoo:
        # an API key, not OAuth: no token store
        return in_process_odoo(book, transport=self.transport, version=self.version, **options)

    #: Odoo takes no idempotency key, and the adapter looks a create up by our reference
    #: only when its outcome is unknown (adapters/writes.py WriteMemo)
    repeat_finds_the_first = False
    #: Odoo names the posted invoice itself; our number is its payment reference
    booked_extras: ClassVar[dict[str, object]] = {"name": "INV/2026/00001"}

    def booked_invoice(self, stored: dict[str, Any]) -> dict[str, object]:
        return {
            "total": stored["amount_total"],
            "number": stored["payment_reference"],
            "id": str(stored["id"]),
            "reference": stored["ref"],
            "name": stored["name"],
        }

    rate_inverted = True  # Odoo keeps foreign units per home unit
    customer_in_foreign_currency = False  # a res.partner has no currency of its own
    payments_keep_a_rate = False  # a payment is converted at its invoice's rate
    rateless_code = "odoo.exceptions.UserError"
    rateless_says = "exchange rate"

    def booked_invoice_rate(self, sandbox: Any) -> Decimal:
        [stored] = sandbox.records("invoice")
        assert stored["currency_id"][1] == self.foreign_currency
        return Decimal(stored["invoice_currency_rate"])

    def booked_invoices(self, ledger: LedgerUnderTest) -> int:
        held = ledger.sandbox.records("invoice")  # type: ignore[attr-defined]
        return sum(r["state"] != "draft" for r in held)

    item_lookup = "product.product search_read"
    creates_without_a_second_lookup = False  # it looks the code up again first
    customer_bulk_read = "res.partner search_read by ids"
    customer_read = "res.partner search_read"
    customer_write = "res.partner write"
    reads_per_write = 1  # the read of what the write left

    def calls(self, env: SectionLedger) -> list[Call]:
        return [odoo_call(path, body) for path, body in env.platform.wire.sent if is_rpc(path)]

    def make_item_by_hand(self, env: SectionLedger, code: str) -> str:
        sandbox = env.under_test.sandbox
        vals = {"name": f"{code} by hand", "default_code": code, "type": "service"}
        with sandbox.book.transaction():  # type: ignore[attr-defined]
            made = sandbox.orm.call("product.product", "create", [], {"vals_list": [vals]}, {})  # type: ignore[attr-defined]
        return str(made[0])


class TestOdooXmlRpcContract(TestOdooJson2Contract):
    unknown_customer_code = "2"  # /xmlrpc/2 faultCode of every UserError (MissingError too)
    lost_credential_code = "3"  # the faultCode of an access denial (adapters/odoo/errors.py)
    rateless_code = "2"
    transport = "xmlrpc"


class TestOdoo17XmlRpcContract(TestOdooXmlRpcContract):
    version = 17
    takes_a_rate_per_invoice = False  # tests/unit/test_odoo_ledger.py: only the source's rate
