"""The QBO sandbox company: operations on its book, plus the handle tests use
(``count``, ``records``, fault injection, ``throttled``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Unpack

from syncledger.adapters.qbo.sandbox.book import ENTITIES, SandboxBook, entity_name
from syncledger.adapters.qbo.sandbox.errors import QboFault, refuse
from syncledger.adapters.qbo.sandbox.items import booked_lines, checked_item
from syncledger.adapters.qbo.sandbox.purchases import as_charge, checked_purchase, receivable_left
from syncledger.adapters.qbo.sandbox.query import parse
from syncledger.adapters.qbo.sandbox.rules import (
    Application,
    amount,
    check_currency_kept,
    checked_customer,
    checked_payment,
    checked_payment_update,
    priced_credit_memo,
    priced_invoice,
)
from syncledger.adapters.qbo.sandbox.sending import NOT_SET, address_for, check_content_type, sent
from syncledger.adapters.qbo.sandbox.tax import CompanyTax
from syncledger.adapters.sandbox.oauth import OAuthServer
from syncledger.adapters.sandbox.scaffold import HandleOptions, SandboxHandle, bearer_ok
from syncledger.adapters.sandbox.throttle import WindowThrottle

BATCH_LIMIT = 30
BATCH_BID_LIMIT = 10
CDC_LIMIT = 1000
_READ_ONLY = (
    "Id",
    "SyncToken",
    "MetaData",
    "domain",
    "Balance",
    "HomeBalance",
    "HomeTotalAmt",
    "UnappliedAmt",
    "RemainingCredit",
    "DeliveryInfo",  # read-only: set by ``send`` (intuit/QuickBooks-V3-PHP-SDK#504)
)

_DERIVED = (*_READ_ONLY, "TotalAmt")  # recomputed by every write


class QboSandbox(SandboxHandle[SandboxBook]):
    """One sandbox company (realm). Every operation raises ``QboFault`` on refusal."""

    def __init__(
        self,
        book: SandboxBook,
        oauth: OAuthServer,
        *,
        throttle: WindowThrottle,
        batch_throttle: WindowThrottle,
        cdc_limit: int = CDC_LIMIT,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        company_tax: CompanyTax | None = None,
        **options: Unpack[HandleOptions],
    ) -> None:
        super().__init__(book, **options)
        #: the company's tax model (``qbo_tax``): US with or without AST, or global
        self.company_tax = company_tax or CompanyTax()
        self.oauth = oauth
        self._throttle = throttle
        self._batch_throttle = batch_throttle
        self._cdc_limit = cdc_limit
        self._clock = clock

    # ------------------------------------------------------ handle for tests

    @property
    def realm_id(self) -> str:
        return self.book.realm_id

    def records(self, kind: str) -> list[dict[str, Any]]:
        """Records of ``kind`` (``invoice`` / ``Invoice``, ``credit_note`` / ``CreditMemo``,
        ``item`` / ``Item``, the default items included)."""
        return self._present_all(entity_name(kind), self.book.records(kind))

    def emails_sent(self, invoice_id: str) -> list[tuple[str, str]]:
        """The e-mails ``send`` sent of invoice ``invoice_id``: (to, at), oldest first."""
        return self.book.emails(invoice_id)

    # --------------------------------------------------------------- gates

    def admit(self, realm: str, authorization: str | None, *, batch: bool = False) -> None:
        """Realm, bearer token, injected and real throttling, in that order."""
        if realm != self.realm_id:
            raise refuse("auth.realm_denied", realm=realm)
        if self.require_auth and not bearer_ok(self.oauth, authorization):
            raise refuse("auth.token_invalid")
        injected = self.injected_throttle()
        if injected is not None:
            raise refuse("limit.throttled", retry_after=injected)
        limits = [self._throttle] + ([self._batch_throttle] if batch else [])
        if any(limit.admit(realm) is not None for limit in limits):
            self.throttled += 1
            raise refuse("limit.throttled")

    # ---------------------------------------------------------- operations

    def write(self, resource: str, operation: str | None, body: Any) -> dict[str, Any]:
        kind = _entity(resource)
        if not isinstance(body, dict):
            raise refuse("request.not_object", kind=kind)
        with self.book.transaction():
            record = self._apply(kind, operation, body)
        return {kind: self._present(kind, record), "time": self._now()}

    def send(self, ident: str, send_to: str | None, content_type: str | None) -> dict[str, Any]:
        """``POST invoice/{id}/send``: e-mail the invoice (``qbo_sending``)."""
        check_content_type(content_type)
        with self.book.transaction():
            invoice = self.book.get("Invoice", ident)
            if invoice is None:
                raise refuse("record.not_found", entity="Invoice", ident=ident)
            address, at = address_for(invoice, send_to), self._now()
            self.book.record_email(str(invoice["Id"]), address, at)
            stored = self.book.put("Invoice", sent(invoice, address, at))
        return {"Invoice": self._present("Invoice", stored), "time": at}

    def read(self, resource: str, ident: str) -> dict[str, Any]:
        kind = _entity(resource)
        record = self.book.get(kind, ident)
        if record is None:
            raise refuse("record.not_found", entity=kind, ident=ident)
        return {kind: self._present(kind, record), "time": self._now()}

    def preferences(self) -> dict[str, Any]:
        """``GET preferences``: the company's preferences (its tax model in ``TaxPrefs``)."""
        body = self.company_tax.preferences(self.home_currency)
        return {"Preferences": body, "time": self._now()}

    def company_info(self, ident: str) -> dict[str, Any]:
        """``GET companyinfo/{realm}``: the company's ``CompanyInfo`` (its ``Country``)."""
        if ident != self.realm_id:
            raise refuse("record.not_found", entity="CompanyInfo", ident=ident)
        return {"CompanyInfo": self.company_tax.company_info(self.realm_id), "time": self._now()}

    def query(self, statement: str | None) -> dict[str, Any]:
        if not statement:
            raise refuse("field.required", param="query")
        query = parse(statement)
        rows = self._present_all(query.entity, self.book.records(query.entity))
        return {"QueryResponse": query.run(rows), "time": self._now()}

    def cdc(self, entities: str | None, changed_since: str | None) -> dict[str, Any]:
        if not entities:
            raise refuse("field.required", param="entities")
        if not changed_since:
            raise refuse("field.required", param="changedSince")
        since = _moment(changed_since)
        blocks = [self._changed(_entity(name.strip()), since) for name in entities.split(",")]
        return {"CDCResponse": [{"QueryResponse": blocks}], "time": self._now()}

    def batch(self, body: Any, requestid: str | None) -> dict[str, Any]:
        items = body.get("BatchItemRequest") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            raise refuse("field.required", param="BatchItemRequest")
        if len(items) > BATCH_LIMIT:
            raise refuse("batch.too_big", size=len(items), limit=BATCH_LIMIT)
        answers = [self._batch_item(item, requestid) for item in items]
        return {"BatchItemResponse": answers, "time": self._now()}

    # ------------------------------------------------------------- writes

    def _apply(self, kind: str, operation: str | None, body: dict[str, Any]) -> dict[str, Any]:
        if operation == "void":
            return self._void(kind, body)
        if operation not in (None, "create", "update"):
            raise refuse("request.unsupported", operation=f"{operation} on {kind}")
        if body.get("Id") is not None:
            return self._update(kind, body)
        create = {
            "Customer": self._new_customer,
            "Invoice": self._new_invoice,
            "Payment": self._new_payment,
            "CreditMemo": self._new_credit_memo,
            "Purchase": self._new_purchase,
            "Item": self._new_item,
        }
        return create[kind](_writable(body))

    def _new_customer(self, body: dict[str, Any]) -> dict[str, Any]:
        customer = checked_customer(
            body, name_taken=self._name_taken(None), home_currency=self.home_currency
        )
        return self.book.add("Customer", self.company_tax.customer(customer))

    def _new_item(self, body: dict[str, Any]) -> dict[str, Any]:
        item = checked_item(body, name_taken=lambda name: bool(self.book.named("Item", name)))
        return self.book.add("Item", item)

    def _new_invoice(self, body: dict[str, Any]) -> dict[str, Any]:
        invoice = self._priced(body, paid=Decimal(0))
        return self.book.add("Invoice", invoice)

    def _new_credit_memo(self, body: dict[str, Any]) -> dict[str, Any]:
        memo = priced_credit_memo(
            booked_lines(body, self._getter("Item")),
            customers=self._getter("Customer"),
            home_currency=self.home_currency,
            tax=self.company_tax.tax,
        )
        return self.book.add("CreditMemo", memo)

    def _new_purchase(self, body: dict[str, Any]) -> dict[str, Any]:
        purchase = checked_purchase(
            body, customers=self._getter("Customer"), home_currency=self.home_currency
        )
        return self.book.add("Purchase", purchase)

    def _new_payment(self, body: dict[str, Any]) -> dict[str, Any]:
        payment, applications = checked_payment(
            body,
            customers=self._getter("Customer"),
            linkable=self._linkable,
            home_currency=self.home_currency,
        )
        stored = self.book.add("Payment", payment)
        for application in applications:
            self._settle(application, stored)
        return stored

    def _settle(self, application: Application, payment: dict[str, Any]) -> None:
        """Lower the linked Invoice's balance (paid) or CreditMemo's (credit spent). A
        cheque or expense keeps no balance: what is left of it is derived from the
        payments linking it (``receivable_left``)."""
        kind = application.txn_type
        if kind not in ("Invoice", "CreditMemo"):
            return
        txn = self.book.get(kind, application.txn["Id"]) or {}
        link = {"TxnId": payment["Id"], "TxnType": "Payment"}
        txn["Balance"] = amount(txn["Balance"], "Balance") - application.amount
        if kind == "CreditMemo":
            txn["RemainingCredit"] = txn["Balance"]
        txn["LinkedTxn"] = [*txn.get("LinkedTxn", []), link]
        self.book.put(kind, txn)

    def _update(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        current = self._current(kind, body)
        merged = _merged(current, body)
        if kind == "Customer":
            return self.book.put(kind, self._updated_customer(current, merged))
        if kind == "Invoice":
            return self.book.put(kind, self._repriced(current, merged))
        if kind == "Payment":
            return self._updated_payment(current, merged)
        raise refuse("request.unsupported", operation=f"update on {kind}")

    def _updated_payment(self, current: dict[str, Any], merged: dict[str, Any]) -> dict[str, Any]:
        """Lines added to a payment apply its unapplied amount (e.g. to a refund cheque)."""
        payment, added = checked_payment_update(current, merged, linkable=self._linkable)
        stored = self.book.put("Payment", payment | _keys(current))
        for application in added:
            self._settle(application, stored)
        return stored

    def _updated_customer(self, current: dict[str, Any], merged: dict[str, Any]) -> dict[str, Any]:
        checked = checked_customer(
            merged,
            name_taken=self._name_taken(str(current["Id"])),
            home_currency=self.home_currency,
        )
        check_currency_kept(current, checked)
        return checked | _keys(current)

    def _repriced(self, current: dict[str, Any], merged: dict[str, Any]) -> dict[str, Any]:
        if _voided(current):
            raise refuse("invoice.voided")
        paid = amount(current["TotalAmt"], "TotalAmt") - amount(current["Balance"], "Balance")
        invoice = self._priced(merged, paid=paid)
        if invoice["Balance"] < 0:
            raise refuse("invoice.below_paid", paid=paid)
        return invoice | _keys(current)

    def _void(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        if kind != "Invoice":
            raise refuse("request.unsupported", operation=f"void on {kind}")
        current = self._current(kind, body)
        note = str(current.get("PrivateNote") or "")
        voided_note = note if note.startswith("Voided") else ("Voided\n" + note).strip()
        zero = Decimal("0")
        voided = {"TotalAmt": zero, "Balance": zero, "HomeTotalAmt": zero}
        return self.book.put(kind, current | voided | {"PrivateNote": voided_note})

    def _current(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        current = self.book.get(kind, body.get("Id"))
        if current is None:
            raise refuse("record.not_found", entity=kind, ident=body.get("Id"))
        if body.get("SyncToken") is None:
            raise refuse("field.required", param="SyncToken")
        if str(body["SyncToken"]) != current["SyncToken"]:
            raise refuse("record.stale")
        return current

    def _priced(self, body: dict[str, Any], paid: Decimal) -> dict[str, Any]:
        return priced_invoice(
            booked_lines(body, self._getter("Item")),
            customers=self._getter("Customer"),
            home_currency=self.home_currency,
            paid=paid,
            tax=self.company_tax.tax,
        )

    def _getter(self, kind: str) -> Callable[[str], dict[str, Any] | None]:
        return lambda ident: self.book.get(kind, ident)

    def _linkable(self, txn_type: str) -> Callable[[str], dict[str, Any] | None]:
        """Transactions of ``txn_type`` as a payment line links them: a Check / Expense is
        a ``Purchase`` to a customer, with what is left of its A/R charge as ``Balance``."""
        if txn_type not in ("Check", "Expense"):
            return self._getter(txn_type)
        return lambda ident: self._charge(ident, txn_type)

    def _charge(self, ident: str, txn_type: str) -> dict[str, Any] | None:
        purchase = self.book.get("Purchase", ident)
        if purchase is None:
            return None
        left = receivable_left(purchase, self.book.records("Payment"))
        return as_charge(purchase, txn_type, left)

    def _name_taken(self, exclude: str | None) -> Callable[[str], bool]:
        def taken(name: str) -> bool:
            return any(c["Id"] != exclude for c in self.book.named("Customer", name))

        return taken

    # -------------------------------------------------------------- reads

    def _present(self, kind: str, record: dict[str, Any]) -> dict[str, Any]:
        return self._present_all(kind, [record])[0]

    def _present_all(self, kind: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A customer's ``Balance`` is its open invoices' balances, as in QBO; an invoice
        never e-mailed reads ``EmailStatus`` ``NotSet``."""
        if kind == "Invoice":
            return [{"EmailStatus": NOT_SET} | r for r in records]
        if kind != "Customer":
            return records
        owed = self._balances()
        return [r | {"Balance": owed.get(str(r["Id"]), Decimal(0))} for r in records]

    def _balances(self) -> dict[str, Decimal]:
        owed: dict[str, Decimal] = defaultdict(Decimal)
        for invoice in self.book.records("Invoice"):
            owed[str(invoice["CustomerRef"]["value"])] += amount(invoice["Balance"], "Balance")
        return owed

    def _changed(self, kind: str, since: datetime) -> dict[str, Any]:
        rows = self._present_all(kind, self.book.changed_since(kind, since)[: self._cdc_limit])
        block: dict[str, Any] = {"startPosition": 1, "maxResults": len(rows)}
        return block | ({kind: rows} if rows else {})

    def _batch_item(self, item: Any, requestid: str | None) -> dict[str, Any]:
        bid = str(item.get("bId", "")) if isinstance(item, dict) else ""
        try:
            return {"bId": bid, **self._batch_answer(item, bid, requestid)}
        except QboFault as fault:
            return {"bId": bid, "Fault": fault.fault}

    def _batch_answer(self, item: Any, bid: str, requestid: str | None) -> dict[str, Any]:
        if not isinstance(item, dict) or not bid:
            raise refuse("field.required", param="bId")
        if requestid and len(bid) > BATCH_BID_LIMIT:
            raise refuse("batch.bid_too_long", bid=bid, limit=BATCH_BID_LIMIT)
        if "Query" in item:
            return {"QueryResponse": self.query(str(item["Query"]))["QueryResponse"]}
        kind = next((k for k in ENTITIES if k in item), None)
        if kind is None:
            raise refuse("batch.no_entity", entities=", ".join(ENTITIES))
        operation = item.get("operation")
        if operation not in ("create", "update"):
            raise refuse("request.unsupported", operation=f"{operation} in a batch")
        answer = self.write(kind, operation, item[kind])
        return {kind: answer[kind]}

    def _now(self) -> str:
        return self._clock().isoformat(timespec="milliseconds")


def _entity(resource: str) -> str:
    try:
        return entity_name(resource)
    except KeyError:
        raise refuse("request.unsupported", operation=f"entity {resource}") from None


def _writable(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in _READ_ONLY and k != "sparse"}


def _merged(current: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """A sparse update keeps the writable fields it does not send, a full update sets them
    to NULL (QBO); amounts are derived again, links to payments stay."""
    kept = {k: v for k, v in current.items() if k not in _DERIVED} if body.get("sparse") else {}
    links = {"LinkedTxn": current["LinkedTxn"]} if "LinkedTxn" in current else {}
    return {**kept, **_writable(body), **_keys(current), **links, "sparse": False}


def _keys(record: dict[str, Any]) -> dict[str, Any]:
    """What a write keeps of the record it changes (``DeliveryInfo`` is read-only)."""
    kept = ("Id", "SyncToken", "MetaData", "domain", "DeliveryInfo")
    return {k: record[k] for k in kept if k in record}


def _voided(invoice: dict[str, Any]) -> bool:
    return str(invoice.get("PrivateNote") or "").startswith("Voided")


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace(" ", "+"))
    except ValueError:
        raise refuse("cdc.since_invalid", since=text) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
