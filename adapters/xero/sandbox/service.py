"""The Xero sandbox organisation: gates (auth, tenant, limits), idempotent writes, and the
operations on its book, plus the handle tests use (``count``, ``records``, fault
injection, ``throttled``)."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Unpack

from syncledger.adapters.jsonwire import encode_json
from syncledger.adapters.sandbox.oauth import OAuthServer
from syncledger.adapters.sandbox.replies import Replies
from syncledger.adapters.sandbox.scaffold import HandleOptions, SandboxHandle, bearer_ok
from syncledger.adapters.xero.sandbox.book import ID_FIELD, XeroBook, entity_name, ms_date
from syncledger.adapters.xero.sandbox.credits import (
    OVERPAYMENT_TYPE,
    REFUND_TYPES,
    allocated_overpayment,
    as_created,
    received_overpayment,
    refunded,
    unrefunded,
)
from syncledger.adapters.xero.sandbox.documents import (
    CREDIT_NOTE,
    INVOICE,
    Kind,
    Org,
    priced,
    voided,
)
from syncledger.adapters.xero.sandbox.errors import (
    ElementInvalid,
    XeroFault,
    invalid,
    refuse,
    refuse_element,
    server_error,
    validation,
    with_errors,
)
from syncledger.adapters.xero.sandbox.items import booked_lines, checked_item
from syncledger.adapters.xero.sandbox.limits import XeroLimits
from syncledger.adapters.xero.sandbox.listing import COLLECTION, Query, envelope, select
from syncledger.adapters.xero.sandbox.rules import (
    allocated,
    checked_contact,
    checked_payment,
    deleted_payment,
)
from syncledger.adapters.xero.sandbox.sending import checked_recipients

IDEMPOTENCY_TTL = 360.0  # "keys are stored for 6 minutes from the time of the first call"
IDEMPOTENCY_KEY_LIMIT = 128
PROVIDER_NAME = "syncledger Xero sandbox"
_KINDS: dict[str, Kind] = {"Invoice": INVOICE, "CreditNote": CREDIT_NOTE}
_REFUND_TYPES = frozenset(REFUND_TYPES.values())


def _account(code: str, name: str, type_: str, tax_type: str) -> dict[str, Any]:
    ident = str(uuid.uuid5(uuid.NAMESPACE_URL, f"xero-sandbox-account:{code}"))
    return {
        "AccountID": ident,
        "Code": code,
        "Name": name,
        "Type": type_,
        "TaxType": tax_type,
        "Status": "ACTIVE",
        "EnablePaymentsToAccount": False,
    }


CHART = {
    a["Code"]: a
    for a in (
        _account("090", "Business Bank Account", "BANK", "NONE"),
        _account("091", "Business Savings Account", "BANK", "NONE"),
        _account("200", "Sales", "REVENUE", "OUTPUT"),
        _account("260", "Other Revenue", "REVENUE", "OUTPUT"),
        _account("400", "Advertising", "EXPENSE", "INPUT"),
    )
}
TAX_RATES = {
    "NONE": Decimal(0),
    "EXEMPTOUTPUT": Decimal(0),
    "OUTPUT": Decimal(15),
    "INPUT": Decimal(15),
}


class XeroSandbox(SandboxHandle[XeroBook]):
    """One sandbox app with one organisation (tenant). Operations raise ``XeroFault``."""

    def __init__(
        self,
        book: XeroBook,
        oauth: OAuthServer,
        *,
        limits: XeroLimits,
        tenant_id: str,
        org_name: str = "Sandbox Company",
        idempotency_ttl: float = IDEMPOTENCY_TTL,
        clock: Callable[[], float] = time.time,
        **options: Unpack[HandleOptions],
    ) -> None:
        super().__init__(book, **options)
        self.oauth = oauth
        self.limits = limits
        self.tenant_id = tenant_id
        self.org_name = org_name
        #: first replies by ``Idempotency-Key``, with the request's fingerprint
        self.replies = Replies(book.db, ttl=idempotency_ttl, clock=clock)
        self._clock = clock
        self.org = Org(self.home_currency, CHART, TAX_RATES, self.today)

    # ------------------------------------------------------ handle for tests

    def records(self, kind: str) -> list[dict[str, Any]]:
        """Records of ``kind`` (``invoice``, ``Invoice``, ``credit_note``…) in the book.
        ``payment``: money received from customers, invoice payments (ACCRECPAYMENT) and
        overpayments; ``refund``: payments out of a credit note or an overpayment."""
        if kind == "refund":
            return [p for p in self.book.records("Payment") if p["PaymentType"] in _REFUND_TYPES]
        if kind == "payment":
            payments = [
                p for p in self.book.records("Payment") if p["PaymentType"] not in _REFUND_TYPES
            ]
            return payments + self.book.records("Overpayment")
        entity = entity_name(kind)
        return self._present_all(entity, self.book.records(entity))

    def seed_item(self, code: str, **fields: Any) -> str:
        """An item someone made by hand in Xero (no request, no limits): its ItemID."""
        item = self._item({"Code": code, "Name": code, **fields}, None)
        return str(self.book.save("Item", item)["ItemID"])

    def today(self) -> date:
        return datetime.fromtimestamp(self._clock(), UTC).date()

    # --------------------------------------------------------------- gates

    def authenticate(self, authorization: str | None) -> None:
        if self.require_auth and not bearer_ok(self.oauth, authorization):
            token = (authorization or "").partition(" ")[2].strip()
            raise refuse("auth.token_rejected" if token else "auth.token_missing")

    def admit(self, tenant: str | None) -> str:
        """Tenant, injected and real throttling; the caller must ``release`` the tenant."""
        if tenant is None or tenant.lower() != self.tenant_id.lower():
            raise refuse("auth.tenant_unknown")
        injected = self.injected_throttle()
        if injected is not None:
            raise refuse("limit.minute", retry_after=injected)
        try:
            self.limits.admit(self.tenant_id)
        except XeroFault:
            self.throttled += 1
            raise
        return self.tenant_id

    def release(self, tenant: str) -> None:
        self.limits.release(tenant)

    # ------------------------------------------------------------- writes

    def keyed_write(
        self, key: str | None, fingerprint: str, operation: Callable[[], dict[str, Any] | None]
    ) -> tuple[int, bytes]:
        """Run a write once per ``Idempotency-Key``: a retry within the key's lifetime
        answers the first reply (a success, or an internal error, as Xero caches both).
        An operation answering None is answered 204 with no content (``emailInvoice``)."""
        if key is not None:
            earlier = self._earlier(key, fingerprint)
            if earlier is not None:
                return earlier
        if self.faults.take("fail_writes"):
            return self._failed(key, fingerprint, server_error(self.faults.fail_status))
        with self.book.transaction():
            result = operation()
            status, answer = (204, b"") if result is None else (200, self._encoded(result))
            if key is not None:
                self.replies.keep(key, status, answer, fingerprint)
        return status, answer

    def _encoded(self, body: dict[str, Any]) -> bytes:
        return encode_json(self._envelope(body))

    def email_invoice(self, ident: str) -> None:
        """``emailInvoice``: e-mail the invoice to its contact (``xero_sending``)."""
        invoice = self.book.get("Invoice", ident)
        if invoice is None:
            raise refuse("record.not_found")
        contact = self.book.get("Contact", str(invoice["Contact"]["ContactID"])) or {}
        to = checked_recipients(invoice, contact)
        self.book.record_email(str(invoice["InvoiceID"]), to, self.book.stamp())
        self.book.save("Invoice", invoice | {"SentToContact": True})

    def emails_sent(self, invoice_id: str) -> list[tuple[list[str], int]]:
        """The e-mails of invoice ``invoice_id`` sent so far: (to, milliseconds)."""
        return self.book.emails(invoice_id)

    def _earlier(self, key: str, fingerprint: str) -> tuple[int, bytes] | None:
        if len(key) > IDEMPOTENCY_KEY_LIMIT:
            raise refuse("idempotency.key_too_long", limit=IDEMPOTENCY_KEY_LIMIT)
        earlier = self.replies.earlier(key)
        if earlier is None:
            return None
        if earlier.fingerprint != fingerprint:
            raise refuse("idempotency.key_reused")
        return earlier.status, earlier.body

    def _failed(self, key: str | None, fingerprint: str, fault: XeroFault) -> tuple[int, bytes]:
        body = encode_json(fault.body)
        if key is not None and fault.internal:
            self.replies.keep(key, fault.status, body, fingerprint)
        return fault.status, body

    def save_all(
        self, entity: str, body: Any, *, ident: str | None, summarize: bool, unitdp: int, put: bool
    ) -> dict[str, Any]:
        """PUT / POST of a collection (or POST of one record when ``ident`` is set)."""
        elements = _elements(entity, body, ident)
        saved = [self._save_one(entity, el, ident, unitdp, put) for el in elements]
        failed = [el for el in saved if el.get("StatusAttributeString") == "ERROR"]
        if failed and (summarize or ident is not None):
            raise validation(failed)
        return {COLLECTION[entity]: saved}

    def _save_one(
        self, entity: str, element: dict[str, Any], ident: str | None, unitdp: int, put: bool
    ) -> dict[str, Any]:
        try:
            record = self._save(entity, element, ident, unitdp, put)
        except ElementInvalid as refused:
            return with_errors(element, refused.messages) | {"StatusAttributeString": "ERROR"}
        return self._present(entity, record) | {"StatusAttributeString": "OK"}

    def _save(
        self, entity: str, element: dict[str, Any], ident: str | None, unitdp: int, put: bool
    ) -> dict[str, Any]:
        if entity == "Item":
            current = self._current_item(element, ident, put)
            return self.book.save(entity, self._item(element, current))
        current = self._current(entity, element, ident, put)
        if entity == "Contact":
            return self.book.save(entity, self._contact(element, current))
        if entity == "Payment":
            if current is not None:
                raise refuse_element("payment.unchangeable")
            return self._new_payment(element)
        if entity == "BankTransaction":
            if current is not None:
                raise refuse_element("bank_transaction.unchangeable")
            return self._new_overpayment(element)
        return self._document(_KINDS[entity], element, current, unitdp)

    def _current(
        self, entity: str, element: dict[str, Any], ident: str | None, put: bool
    ) -> dict[str, Any] | None:
        wanted = ident or element.get(ID_FIELD[entity])
        if wanted:
            found = self.book.get(entity, str(wanted))
            if found is None:
                raise refuse_element(
                    "record.id_unknown", entity=entity, field=ID_FIELD[entity], id=wanted
                )
            return found
        number = element.get("InvoiceNumber") if entity == "Invoice" and not put else None
        matches = (
            [r for r in self.book.numbered(entity, number) if r["Status"] != "DELETED"]
            if number
            else []
        )
        return matches[0] if matches else None

    def _current_item(
        self, element: dict[str, Any], ident: str | None, put: bool
    ) -> dict[str, Any] | None:
        """The item a write names: by the path's ItemID or Code, by the element's ItemID,
        or (POST, Xero's update-or-create) by its Code; PUT always creates."""
        wanted = ident or element.get("ItemID")
        if wanted:
            found = self.book.get("Item", str(wanted)) or self._item_coded(str(wanted))
            if found is None:
                raise refuse_element("record.id_unknown", entity="Item", field="ItemID", id=wanted)
            return found
        code = element.get("Code")
        return None if put or not code else self._item_coded(str(code))

    def _item_coded(self, code: str) -> dict[str, Any] | None:
        return next(iter(self.book.numbered("Item", code.strip())), None)

    def _item(self, element: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
        def code_taken(code: str) -> bool:
            return _another(self.book.numbered("Item", code), "ItemID", current)

        return checked_item(element, current, code_taken=code_taken, org=self.org)

    def _contact(self, element: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
        def name_taken(name: str) -> bool:
            active = [c for c in self.book.named("Contact", name) if c["ContactStatus"] == "ACTIVE"]
            return _another(active, "ContactID", current)

        def number_taken(number: str) -> bool:
            return _another(self.book.numbered("Contact", number), "ContactID", current)

        return checked_contact(element, current, name_taken=name_taken, number_taken=number_taken)

    def _document(
        self, kind: Kind, element: dict[str, Any], current: dict[str, Any] | None, unitdp: int
    ) -> dict[str, Any]:
        if "LineItems" in element:
            element = element | {"LineItems": booked_lines(element["LineItems"], self._item_coded)}
        contact = self._contact_of(element.get("Contact") or (current or {}).get("Contact"))
        doc = priced(kind, element, current, org=self.org, contact=contact, unitdp=unitdp)
        if doc["Status"] in ("VOIDED", "DELETED"):
            doc = voided(kind, doc) | {"Status": doc["Status"]}
        doc[kind.number_field] = self._number(kind, doc, current)
        return self.book.save(kind.entity, doc)

    def _number(self, kind: Kind, doc: dict[str, Any], current: dict[str, Any] | None) -> str:
        number = doc.get(kind.number_field)
        if not number:
            return self.book.next_number(kind.number_prefix)
        own = doc[kind.id_field]
        clash = [
            r
            for r in self.book.numbered(kind.entity, str(number))
            if r[kind.id_field] != own and r["Status"] != "DELETED"
        ]
        if kind is INVOICE and clash and doc["Status"] != "DELETED":
            raise refuse_element("document.number_taken")
        return str(number)

    def _contact_of(self, sent: Any) -> dict[str, Any]:
        if not isinstance(sent, dict) or not any(
            sent.get(k) for k in ("ContactID", "ContactNumber", "Name")
        ):
            raise refuse_element("contact.missing")
        contact = self._existing_contact(sent)
        if contact is None:
            return self.book.save("Contact", self._contact({"Name": sent["Name"]}, None))
        if contact["ContactStatus"] != "ACTIVE":
            raise refuse_element("contact.archived", name=contact["Name"])
        return contact

    def _existing_contact(self, sent: dict[str, Any]) -> dict[str, Any] | None:
        if sent.get("ContactID"):
            found = self.book.get("Contact", str(sent["ContactID"]))
            if found is None:
                raise refuse_element("contact.id_unknown", id=sent["ContactID"])
            return found
        if sent.get("ContactNumber"):
            numbered = self.book.numbered("Contact", str(sent["ContactNumber"]))
            if not numbered:
                raise refuse_element("contact.number_unknown", number=sent["ContactNumber"])
            return numbered[0]
        named = self.book.named("Contact", str(sent["Name"]))
        return next((c for c in named if c["ContactStatus"] == "ACTIVE"), None)

    def _new_overpayment(self, element: dict[str, Any]) -> dict[str, Any]:
        contact = self._contact_of(element.get("Contact"))
        account = self._payment_account(element.get("BankAccount"))
        bank_transaction, overpayment = received_overpayment(
            element, contact=contact, account=account, org=self.org
        )
        self.book.save("Overpayment", overpayment)
        return self.book.save("BankTransaction", bank_transaction)

    def _new_payment(self, element: dict[str, Any]) -> dict[str, Any]:
        credits = [e for e in REFUND_TYPES if element.get(e)]
        if credits and element.get("Invoice"):
            raise refuse_element("payment.one_document")
        if credits:
            return self._new_refund(element, credits[0])
        invoice = self._payment_invoice(element.get("Invoice"))
        account = self._payment_account(element.get("Account"))
        payment, paid = checked_payment(element, invoice=invoice, account=account, org=self.org)
        self.book.save("Invoice", paid)
        return self.book.save("Payment", payment)

    def _new_refund(self, element: dict[str, Any], entity: str) -> dict[str, Any]:
        sent = element[entity] if isinstance(element[entity], dict) else {}
        credit = self.book.get(entity, str(sent.get(f"{entity}ID") or ""))
        if credit is None:
            raise refuse_element("payment.credit_unknown", entity=entity)
        account = self._payment_account(element.get("Account"))
        refund, after = refunded(
            element, entity=entity, credit=credit, account=account, org=self.org
        )
        self.book.save(entity, after)
        return as_created(self.book.save("Payment", refund))

    def _payment_invoice(self, sent: Any) -> dict[str, Any]:
        sent = sent if isinstance(sent, dict) else {}
        if sent.get("InvoiceID"):
            found = self.book.get("Invoice", str(sent["InvoiceID"]))
        elif sent.get("InvoiceNumber"):
            found = next(iter(self.book.numbered("Invoice", str(sent["InvoiceNumber"]))), None)
        else:
            raise refuse_element("payment.invoice_missing")
        if found is None:
            raise refuse_element("payment.invoice_unknown")
        return found

    def _payment_account(self, sent: Any) -> dict[str, Any]:
        sent = sent if isinstance(sent, dict) else {}
        by_id = {a["AccountID"]: a for a in CHART.values()}
        account = by_id.get(str(sent.get("AccountID"))) or CHART.get(str(sent.get("Code")))
        if account is None:
            raise refuse_element("payment.account_missing")
        return account

    def delete_payment(self, payment_id: str, body: Any) -> dict[str, Any]:
        status = body.get("Status") if isinstance(body, dict) else None
        if status is None and isinstance(body, dict) and body.get("Payments"):
            status = (body["Payments"][0] or {}).get("Status")
        payment = self.book.get("Payment", payment_id)
        if payment is None:
            raise refuse("record.not_found")
        if status != "DELETED":
            raise refuse("payment.delete_only", element=payment)
        if payment["PaymentType"] in _REFUND_TYPES:
            return self._delete_refund(payment)
        invoice = self.book.get("Invoice", payment["Invoice"]["InvoiceID"]) or {}
        try:
            gone, owed = deleted_payment(payment, invoice, self.today())
        except ElementInvalid as refused:
            raise invalid(*refused.messages, element=payment) from None
        self.book.save("Invoice", owed)
        return {"Payments": [self.book.save("Payment", gone)]}

    def _delete_refund(self, refund: dict[str, Any]) -> dict[str, Any]:
        if refund.get("Status") == "DELETED":
            raise refuse("payment.already_deleted", element=refund)
        entity = next(e for e, t in REFUND_TYPES.items() if t == refund["PaymentType"])
        credit = self.book.get(entity, refund["Invoice"]["InvoiceID"])
        if credit is not None:
            self.book.save(entity, unrefunded(refund, credit))
        return {"Payments": [self.book.save("Payment", refund | {"Status": "DELETED"})]}

    def allocate(
        self, ident: str, body: Any, *, summarize: bool, entity: str = "CreditNote"
    ) -> dict[str, Any]:
        """``PUT /CreditNotes/{id}/Allocations`` or ``PUT /Overpayments/{id}/Allocations``."""
        credit = self.book.get(entity, ident)
        if credit is None or (entity == "Overpayment" and credit["Type"] != OVERPAYMENT_TYPE):
            raise refuse("record.not_found")
        elements = (body or {}).get("Allocations") if isinstance(body, dict) else None
        if not isinstance(elements, list) or not elements:
            raise refuse("allocation.none")
        allocate_one = self._allocate_one if entity == "CreditNote" else self._allocate_overpayment
        answers = [allocate_one(ident, el) for el in elements]
        failed = [a for a in answers if a.get("StatusAttributeString") == "ERROR"]
        if failed and summarize:
            raise validation(failed)
        return {"Allocations": answers}

    def _allocate_one(self, credit_note_id: str, element: dict[str, Any]) -> dict[str, Any]:
        return self._allocate_credit("CreditNote", credit_note_id, element)

    def _allocate_overpayment(self, overpayment_id: str, element: dict[str, Any]) -> dict[str, Any]:
        return self._allocate_credit("Overpayment", overpayment_id, element)

    def _allocate_credit(
        self, entity: str, credit_id: str, element: dict[str, Any]
    ) -> dict[str, Any]:
        """One allocation of a credit note's or an overpayment's credit to an invoice."""
        credit = self.book.get(entity, credit_id) or {}
        sent_invoice = element.get("Invoice") or {}
        invoice = self.book.get("Invoice", str(sent_invoice.get("InvoiceID", "")))
        try:
            if invoice is None:
                raise refuse_element("allocation.invoice_unknown")
            if entity == "CreditNote":
                allocation, after, credited = allocated(
                    element, credit_note=credit, invoice=invoice
                )
            else:
                allocation, after, credited = allocated_overpayment(
                    element, overpayment=credit, invoice=invoice
                )
        except ElementInvalid as refused:
            return with_errors(element, refused.messages) | {"StatusAttributeString": "ERROR"}
        self.book.save(entity, after)
        self.book.save("Invoice", credited)
        return allocation | {"StatusAttributeString": "OK"}

    # -------------------------------------------------------------- reads

    def listing(self, entity: str, params: dict[str, str], since_ms: int | None) -> dict[str, Any]:
        query = Query(entity, params, since_ms)
        rows = select(query, self.book.records(entity))
        present = self._presenter(entity)
        return self._envelope(envelope(query, rows, present))

    def read(self, entity: str, ident: str, params: dict[str, str]) -> dict[str, Any]:
        record = self.book.get(entity, ident) or self._by_number(entity, ident)
        if record is None:
            raise refuse("record.not_found")
        query = Query(entity, params, None)
        return self._envelope(envelope(query, [record], self._presenter(entity), single=True))

    def _by_number(self, entity: str, ident: str) -> dict[str, Any] | None:
        if entity not in ("Contact", "Invoice", "CreditNote", "Item"):
            return None
        return next(iter(self.book.numbered(entity, ident)), None)

    def organisation(self) -> dict[str, Any]:
        org = {
            "OrganisationID": self.tenant_id,
            "Name": self.org_name,
            "LegalName": self.org_name,
            "BaseCurrency": self.org.base_currency,
            "OrganisationType": "COMPANY",
            "IsDemoCompany": True,
            "OrganisationStatus": "ACTIVE",
        }
        return self._envelope({"Organisations": [org]})

    def accounts(self) -> dict[str, Any]:
        return self._envelope({"Accounts": list(CHART.values())})

    def connections(self) -> list[dict[str, Any]]:
        return [
            {
                "id": str(
                    uuid.uuid5(uuid.NAMESPACE_URL, f"xero-sandbox-connection:{self.tenant_id}")
                ),
                "tenantId": self.tenant_id,
                "tenantType": "ORGANISATION",
                "tenantName": self.org_name,
            }
        ]

    def _envelope(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "Id": str(uuid.uuid4()),
            "Status": "OK",
            "ProviderName": PROVIDER_NAME,
            "DateTimeUTC": ms_date(int(self._clock() * 1000)).replace("+0000", ""),
            **body,
        }

    def _presenter(self, entity: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
        if entity == "Invoice":  # never e-mailed nor marked sent: false, as the spec shows
            return lambda invoice: {"SentToContact": False} | invoice
        if entity != "Contact":
            return lambda record: record
        balances = self._balances()
        return lambda contact: _with_balances(contact, balances)

    def _present(self, entity: str, record: dict[str, Any]) -> dict[str, Any]:
        return self._presenter(entity)(record)

    def _present_all(self, entity: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        present = self._presenter(entity)
        return [present(r) for r in records]

    def _balances(self) -> dict[str, tuple[Decimal, Decimal]]:
        """Per contact: AR outstanding and overdue, over AUTHORISED invoices."""
        owed: dict[str, tuple[Decimal, Decimal]] = {}
        zero = Decimal("0.00")
        today = self.today().isoformat()
        for invoice in self.book.records("Invoice"):
            if invoice.get("Status") != "AUTHORISED":
                continue
            contact = str(invoice["Contact"]["ContactID"])
            due = Decimal(invoice["AmountDue"])
            late = due if str(invoice.get("DueDateString", "9999"))[:10] < today else zero
            outstanding, overdue = owed.get(contact, (zero, zero))
            owed[contact] = (outstanding + due, overdue + late)
        return owed


def _with_balances(
    contact: dict[str, Any], balances: dict[str, tuple[Decimal, Decimal]]
) -> dict[str, Any]:
    zero = Decimal("0.00")
    outstanding, overdue = balances.get(contact["ContactID"], (zero, zero))
    receivable = {"Outstanding": outstanding, "Overdue": overdue}
    payable = {"Outstanding": zero, "Overdue": zero}
    return contact | {
        "Balances": {"AccountsReceivable": receivable, "AccountsPayable": payable},
        "IsCustomer": contact["ContactID"] in balances or bool(contact.get("IsCustomer")),
    }


def _elements(entity: str, body: Any, ident: str | None) -> list[dict[str, Any]]:
    elements = body.get(COLLECTION[entity]) if isinstance(body, dict) else None
    if not isinstance(elements, list) or not elements:
        raise refuse("request.elements_missing", collection=COLLECTION[entity])
    if ident is not None and len(elements) != 1:
        raise refuse("request.one_element", entity=entity)
    if not all(isinstance(el, dict) for el in elements):
        raise refuse("request.element_not_object", collection=COLLECTION[entity])
    return elements


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """What makes two requests the same one for ``Idempotency-Key`` purposes."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), query.encode(), body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _another(records: list[dict[str, Any]], id_field: str, current: dict[str, Any] | None) -> bool:
    """Whether ``records`` hold one other than ``current`` (a record being updated)."""
    own = (current or {}).get(id_field)
    return any(record[id_field] != own for record in records)
