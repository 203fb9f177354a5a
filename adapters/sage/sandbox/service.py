"""The Sage sandbox business: operations on its book, plus the handle tests use
(``count``, ``records``, ``seed_item``, fault injection, ``throttled``)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, timedelta
from decimal import Decimal
from typing import Any, Unpack

from syncledger.adapters.jsonwire import encode_json
from syncledger.adapters.sage.sandbox.book import SageBook
from syncledger.adapters.sage.sandbox.errors import refuse
from syncledger.adapters.sage.sandbox.items import ITEM_LINE_KEY, checked_item
from syncledger.adapters.sage.sandbox.limits import ByteWindow
from syncledger.adapters.sage.sandbox.listing import filtered, page_of
from syncledger.adapters.sage.sandbox.payments import (
    AccountCredit,
    Use,
    checked_allocation,
    checked_payment,
    checked_refund,
    used_on_account,
)
from syncledger.adapters.sage.sandbox.rules import (
    CREDIT_NOTE,
    INVOICE,
    DocumentKind,
    References,
    amount,
    checked_contact,
    outstanding,
    priced_document,
)
from syncledger.adapters.sage.sandbox.schema import check_body
from syncledger.adapters.sage.sandbox.seed import (
    PURCHASE_LEDGER_ACCOUNT_ID,
    SALES_LEDGER_ACCOUNT_ID,
    link,
    seed_records,
    status,
)
from syncledger.adapters.sandbox.oauth import OAuthServer
from syncledger.adapters.sandbox.replies import Replies
from syncledger.adapters.sandbox.scaffold import HandleOptions, SandboxHandle, bearer_ok
from syncledger.adapters.sandbox.throttle import WindowThrottle

IDEMPOTENCY_TTL = timedelta(days=7)  # developer.sage.com, Idempotency
#: resource → the key its body is wrapped in (None: read-only reference data)
RESOURCES: dict[str, str | None] = {
    "contacts": "contact",
    "sales_invoices": "sales_invoice",
    "sales_credit_notes": "sales_credit_note",
    "contact_payments": "contact_payment",
    "contact_allocations": "contact_allocation",
    "services": "service",
    "products": "product",
    "ledger_accounts": None,
    "bank_accounts": None,
    "tax_rates": None,
}
KIND_RESOURCE = {
    "customer": "contacts",
    "invoice": "sales_invoices",
    "credit_note": "sales_credit_notes",
    "payment": "contact_payments",
    "refund": "contact_payments",
    "allocation": "contact_allocations",
}
#: ``item`` counts and lists the products and services together
ITEM_RESOURCES = tuple(ITEM_LINE_KEY)
KINDS = (*KIND_RESOURCE, "item")
#: kinds that share ``contact_payments``, by their transaction type
TRANSACTION_TYPE = {"payment": "CUSTOMER_RECEIPT", "refund": "CUSTOMER_REFUND"}
DOCUMENTS = {INVOICE.resource: INVOICE, CREDIT_NOTE.resource: CREDIT_NOTE}
_GUID = re.compile(r"^[0-9a-fA-F]{32}$")


class SageSandbox(SandboxHandle[SageBook]):
    """One sandbox business. Every operation raises ``SageError`` on refusal."""

    def __init__(
        self,
        book: SageBook,
        oauth: OAuthServer,
        *,
        business_id: str,
        throttle: WindowThrottle,
        bytes_window: ByteWindow,
        idempotency_ttl: timedelta = IDEMPOTENCY_TTL,
        **options: Unpack[HandleOptions],
    ) -> None:
        super().__init__(book, **options)
        self.oauth = oauth
        self.business_id = business_id
        #: answers by ``<resource>:<idempotency_id>``, replayed ``idempotency_ttl``
        self.replies = Replies(
            book.db, ttl=idempotency_ttl.total_seconds(), clock=lambda: book.clock().timestamp()
        )
        #: model the undocumented case where a PUT's lines are added to the document's
        #: lines instead of replacing them (``sage_rules``), to prove clients notice
        self.put_keeps_lines = False
        self._throttle = throttle
        self._bytes = bytes_window
        self._seed()

    # ------------------------------------------------------ handle for tests

    def records(self, kind: str) -> list[dict[str, Any]]:
        """Records of ``kind`` (customer, invoice, credit_note, payment, refund,
        allocation, item: products and services)."""
        if kind == "item":
            return [item for r in ITEM_RESOURCES for item in self.book.records(r)]
        resource = _resource_of(kind)
        wanted = TRANSACTION_TYPE.get(kind)
        return [
            self._present(resource, r)
            for r in self.book.records(resource)
            if wanted is None or r["transaction_type"]["id"] == wanted
        ]

    def seed_item(self, code: str, resource: str = "services") -> str:
        """A service (or product) someone made by hand in Sage, sold to the seeded sales
        account; its id."""
        sent = {
            "item_code": code,
            "description": code,
            "sales_ledger_account_id": SALES_LEDGER_ACCOUNT_ID,
            "purchase_ledger_account_id": PURCHASE_LEDGER_ACCOUNT_ID,
        }
        with self.book.transaction():
            return str(self._create(resource, sent)["id"])

    # --------------------------------------------------------------- gates

    def admit(self, authorization: str | None, business: str | None) -> None:
        """Bearer token, business, injected and real throttling, in that order."""
        if self.require_auth:
            self._check_bearer(authorization)
        if business not in (None, "", self.business_id):
            raise refuse("auth.business_denied", "X-Business", business=business)
        injected = self.injected_throttle()
        if injected is not None:
            raise refuse("limit.injected", retry_after=injected)
        self._check_limits()

    def account(self, size: int) -> None:
        """Count ``size`` bytes moved against the business's hourly volume."""
        self._bytes.add(size)

    def _check_bearer(self, authorization: str | None) -> None:
        if not authorization:
            raise refuse("auth.missing")
        if not bearer_ok(self.oauth, authorization):
            raise refuse("auth.token_invalid", "Authorization")

    def _check_limits(self) -> None:
        wait, rule = self._throttle.admit(self.business_id), "limit.calls"
        if wait is None:
            wait, rule = self._bytes.wait(), "limit.volume"
        if wait is not None and self.over_limit(wait):
            raise refuse(rule, retry_after=math.ceil(wait))

    # ---------------------------------------------------------- operations

    def create(self, resource: str, payload: Any) -> tuple[int, bytes]:
        """POST: 201 and the new record, or the stored answer of an ``idempotency_id``
        seen in the last 7 days (replayed whatever the body says)."""
        sent = self._sent(resource, payload)
        key = _idempotency_id(sent)
        earlier = self.replies.earlier(f"{resource}:{key}") if key is not None else None
        if earlier is not None:
            return earlier.status, earlier.body
        check_body(resource, sent)
        with self.book.transaction():
            body = encode_json(self._present(resource, self._create(resource, sent)))
            if key is not None:
                self.replies.keep(f"{resource}:{key}", 201, body)
        return 201, body

    def update(self, resource: str, ident: str, payload: Any) -> dict[str, Any]:
        sent = self._sent(resource, payload)
        check_body(resource, sent)
        with self.book.transaction():
            current = self._existing(resource, ident)
            return self._present(resource, self._update(resource, current, sent))

    def void(self, resource: str, ident: str, reason: str | None) -> dict[str, Any]:
        """DELETE on a sales invoice voids it (``void_reason`` required)."""
        if resource != INVOICE.resource:
            raise refuse("method.delete", resource=resource)
        with self.book.transaction():
            current = self._existing(resource, ident)
            if current["status"]["id"] == "VOID":
                raise refuse("document.already_voided", "base")
            if not reason:
                raise refuse("field.required", "void_reason")
            voided = {"status": status("VOID"), "void_reason": reason}
            return self.book.put(resource, current | voided | {"outstanding_amount": Decimal(0)})

    def read(self, resource: str, ident: str) -> dict[str, Any]:
        _known(resource)
        return self._present(resource, self._existing(resource, ident))

    def listing(self, resource: str, params: Mapping[str, str]) -> dict[str, Any]:
        _known(resource)
        records = [self._present(resource, r) for r in self.book.records(resource)]
        return page_of(resource, filtered(records, params), params)

    def financial_settings(self) -> dict[str, Any]:
        home = self.home_currency
        return {
            "$path": "/financial_settings",
            "base_currency": link("currencies", home, home),
            "multi_currency_enabled": True,
        }

    # -------------------------------------------------------------- writes

    def _create(self, resource: str, sent: dict[str, Any]) -> dict[str, Any]:
        if resource == "contacts":
            contact = checked_contact(
                sent, None, reference_taken=self._reference_taken(None), home_currency=self._home()
            )
            return self.book.add(resource, contact)
        if resource in DOCUMENTS:
            return self._new_document(DOCUMENTS[resource], sent)
        if resource in ITEM_RESOURCES:
            item = checked_item(
                resource,
                sent,
                accounts=lambda i: self.book.get("ledger_accounts", i),
                code_taken=self._item_code_taken,
            )
            return self.book.add(resource, item)
        record, uses = self._checked_transaction(resource, sent)
        stored = self.book.add(resource, record)
        self._settle(uses)
        return stored

    def _checked_transaction(
        self, resource: str, sent: dict[str, Any]
    ) -> tuple[dict[str, Any], list[Use]]:
        today = self._today()
        if resource == "contact_allocations":
            record, settlements = checked_allocation(sent, self.book.get, today=today)
            return record, list(settlements)
        if sent.get("transaction_type_id") == TRANSACTION_TYPE["refund"]:
            return checked_refund(
                sent, self.book.get, self._receipt_holding, home_currency=self._home(), today=today
            )
        record, settlements = checked_payment(
            sent, self.book.get, home_currency=self._home(), today=today
        )
        return record, list(settlements)

    def _new_document(self, kind: DocumentKind, sent: dict[str, Any]) -> dict[str, Any]:
        document = priced_document(kind, sent, None, self._references())
        number = f"{kind.number_prefix}{self.book.next_number(kind.resource)}"
        document |= {
            kind.number_field: number,
            "displayed_as": number,
            "transaction_type": link("transaction_types", kind.transaction_type, number),
            "void_reason": None,
        }
        return self.book.add(kind.resource, document)

    def _update(
        self, resource: str, current: dict[str, Any], sent: dict[str, Any]
    ) -> dict[str, Any]:
        if resource == "contacts":
            taken = self._reference_taken(str(current["id"]))
            contact = checked_contact(
                sent, current, reference_taken=taken, home_currency=self._home()
            )
            return self.book.put(resource, contact)
        if resource not in DOCUMENTS:
            raise refuse("method.put", resource=resource)
        if current["status"]["id"] == "VOID":
            raise refuse("document.voided", "base")
        settled = amount(current["total_paid"], "total_paid")
        kind = DOCUMENTS[resource]
        document = priced_document(
            kind,
            sent,
            current,
            self._references(),
            settled=settled,
            keep_lines=self.put_keeps_lines,
        )
        return self.book.put(resource, document)

    def _settle(self, uses: list[Use]) -> None:
        for use in uses:
            if isinstance(use, AccountCredit):
                payment = self.book.get("contact_payments", use.payment["id"]) or {}
                self.book.put("contact_payments", used_on_account(payment, use.amount))
                continue
            resource = use.kind.resource
            document = self.book.get(resource, use.document["id"]) or {}
            settled = amount(document["total_paid"], "total_paid") + use.amount
            self.book.put(resource, document | outstanding(document, settled))

    def _receipt_holding(self, on_account_id: str) -> dict[str, Any] | None:
        """The customer receipt whose payment on account has the id ``on_account_id``."""
        return next(
            (
                payment
                for payment in self.book.records("contact_payments")
                if (payment.get("payment_on_account") or {}).get("id") == on_account_id
            ),
            None,
        )

    # --------------------------------------------------------------- reads

    def _present(self, resource: str, record: dict[str, Any]) -> dict[str, Any]:
        """A contact's ``balance`` is what its open documents still owe, less the credit it
        holds (credit notes and payments on account not yet allocated nor refunded)."""
        if resource != "contacts":
            return record
        return record | {"balance": self._balance(str(record["id"]))}

    def _balance(self, contact_id: str) -> Decimal:
        owed = Decimal(0)
        for kind, sign in ((INVOICE, 1), (CREDIT_NOTE, -1)):
            for document in self.book.records(kind.resource):
                if document["contact"]["id"] == contact_id:
                    owed += sign * amount(document["outstanding_amount"], "outstanding_amount")
        for payment in self.book.records("contact_payments"):
            held = payment.get("payment_on_account")
            if held and payment["contact"]["id"] == contact_id:
                owed -= amount(held["outstanding_amount"], "outstanding_amount")
        return owed

    # ------------------------------------------------------------- helpers

    def _sent(self, resource: str, payload: Any) -> dict[str, Any]:
        key = _known(resource)
        if key is None:
            raise refuse("resource.read_only", resource=resource)
        sent = payload.get(key) if isinstance(payload, dict) else None
        if not isinstance(sent, dict):
            raise refuse("field.required", key)
        return dict(sent)

    def _existing(self, resource: str, ident: str) -> dict[str, Any]:
        record = self.book.get(resource, ident)
        if record is None:
            raise refuse("record.not_found")
        return record

    def _references(self) -> References:
        return References(
            contacts=lambda i: self.book.get("contacts", i),
            ledger_accounts=lambda i: self.book.get("ledger_accounts", i),
            items=self.book.get,
            home_currency=self._home(),
        )

    def _item_code_taken(self, code: str) -> bool:
        """Item codes are unique across products and services, ignoring case."""
        wanted = code.casefold()
        return any(
            str(item.get("item_code") or "").casefold() == wanted
            for resource in ITEM_RESOURCES
            for item in self.book.records(resource)
        )

    def _reference_taken(self, exclude: str | None) -> Callable[[str], bool]:
        def taken(reference: str) -> bool:
            wanted = reference.casefold()
            return any(
                str(c.get("reference") or "").casefold() == wanted and c["id"] != exclude
                for c in self.book.records("contacts")
            )

        return taken

    def _home(self) -> str:
        return self.home_currency

    def _today(self) -> str:
        return self.book.clock().astimezone(UTC).date().isoformat()

    def _seed(self) -> None:
        if self.book.count("tax_rates"):
            return
        with self.book.transaction():
            for resource, records in seed_records().items():
                for record in records:
                    self.book.add(resource, record, ident=record["id"])


def _known(resource: str) -> str | None:
    if resource not in RESOURCES:
        raise refuse("resource.unknown", resource=resource)
    return RESOURCES[resource]


def _resource_of(kind: str) -> str:
    return KIND_RESOURCE.get(kind, kind)


def _idempotency_id(sent: dict[str, Any]) -> str | None:
    """The body's ``idempotency_id`` (removed from it): 32 hex characters, a hyphenless
    GUID as Sage asks."""
    value = sent.pop("idempotency_id", None)
    if value is None:
        return None
    if not isinstance(value, str) or not _GUID.match(value):
        raise refuse("idempotency.id_invalid", "idempotency_id")
    return value.lower()
