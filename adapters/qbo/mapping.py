"""Canonical records ↔ QuickBooks Online v3 JSON, driven by ``adapters/qbo/mapping.toml``.

Where our source reference lives on the ledger record (read back by ``QboLedger.find``):

=========== ================================= ======================================
kind        queryable natural key             faithful reference (not queryable)
=========== ================================= ======================================
customer    ``DisplayName`` (unique in QBO)   ``Notes`` (≤ 1024 chars)
invoice     ``DocNumber`` (≤ 21 chars)        ``PrivateNote`` (≤ 4000 chars)
payment     ``CustomerRef`` + ``TxnDate``     ``PrivateNote`` (``PaymentRefNum`` keeps
                                              the human reference, ≤ 21 chars)
credit_note ``DocNumber`` (≤ 21 chars)        ``PrivateNote`` (≤ 4000 chars); a QBO
                                              ``CreditMemo``
refund      ``DocNumber`` (cheque number)     ``PrivateNote`` (≤ 4000 chars); a QBO
                                              ``Purchase`` (cheque) to the customer
=========== ================================= ======================================

The reference is written as a line ``syncledger-ref: <system/kind/id>`` so a person may
add text around it without breaking the lookup; an update puts it back in the text it
finds (``with_ref``). The zero-amount ``Payment`` that applies a credit note to an
invoice carries ``syncledger-applies: <credit note ref>`` instead, so it is never taken
for one of our payments; so does the zero-amount ``Payment`` that spends a credit note's
credit on a refund cheque (``syncledger-applies: <refund ref>``).

A refund is a cheque (``Purchase``, ``PaymentType`` Check) paid to the customer
(``EntityRef`` of type Customer) from a bank account, its one line booked to Accounts
Receivable. The accounts are company ids, from an optional ``[refund]`` table of the
mapping file (``bank_account_ref``, ``receivable_account_ref``, ``payment_type``); by
default those of Intuit's sample company (Checking 35, Accounts Receivable (A/R) 84).

Items: a line with an ``item_code`` is booked to that item (``ItemRef`` with the item's
``Id`` and ``Name``, resolved by ``QboItems``); a line without one to the default item of
``[invoice.lines]``. A code no item of the company answers to is refused
(``unknown_item``) before anything is sent. An item the adapter creates is a ``Service``
booked to ``[new_items]``'s income account. Read back, a document's ``line_items`` are the
``ItemRef`` names of its lines (the discount and subtotal lines QBO keeps are not lines of
the document).

Tax: a document's tax goes out as the company's tax model wants it (``qbo_tax``: per-line
``TAX`` / ``NON`` and ``TxnTaxCodeRef`` under automated sales tax, the explicit
``TxnTaxDetail`` otherwise). Read back, a document's ``tax`` is the ``TotalTax`` QBO holds
(what its engine computed, under AST; 0 when it holds none).

Lengths of the reference fields (``REF_FIELD_LIMITS``): customer ``Notes`` 1024 and
``PrivateNote`` 4000 characters (Intuit's XSDs in intuit/QuickBooks-V3-Java-SDK
``ipp-v3-java-data/src/main/xsd/``: IntuitNamesTypes.xsd Customer.Notes "Max. length:
1024 characters", Finance.xsd PrivateNote "Max. length: 4000 characters"). Text a person
wrote around our reference that would push it past the limit is refused before sending
(``check_ref_length``), never cut.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

from syncledger.adapters.items import unknown_item
from syncledger.adapters.kit import wire_mapping as kit
from syncledger.adapters.kit.wire_mapping import REF_IN_TEXT, ref_note
from syncledger.adapters.kit.wire_mapping import REF_MARKER as REF_MARKER
from syncledger.adapters.kit.wire_mapping import ref_in as ref_in
from syncledger.adapters.qbo.links import payment_applied_to
from syncledger.adapters.qbo.tax import TaxPlan
from syncledger.adapters.wire_dates import iso_day
from syncledger.core.errors import PermanentLedgerError
from syncledger.core.model import CreditNote, Customer, Invoice, InvoiceLine, Payment, Refund
from syncledger.core.money import quantize, to_decimal
from syncledger.core.ports import LedgerItem, LedgerRecord

DOC_NUMBER_LIMIT = 21
APPLIES_MARKER = "syncledger-applies:"
ENTITY = {
    "customer": "Customer",
    "invoice": "Invoice",
    "payment": "Payment",
    "credit_note": "CreditMemo",
    "refund": "Purchase",
}
KIND_OF_ENTITY = {v: k for k, v in ENTITY.items()}
KINDS = tuple(ENTITY)
#: the kinds with a table of their own in the mapping file
MAPPED_KINDS = ("customer", "invoice", "payment", "credit_note")
REFUND_DEFAULTS = {
    "bank_account_ref": "35",
    "receivable_account_ref": "84",
    "payment_type": "Check",
    "reference_field": "PrivateNote",
}
NEW_ITEM_DEFAULTS = {"income_account_ref": ""}
#: [invoice.tax] keys a mapping file may leave out (``qbo_tax``)
TAX_DEFAULTS = {"model": "auto", "txn_tax_code_ref": ""}
#: the longest text QBO keeps in the fields our reference lives in (see the docstring)
REF_FIELD_LIMITS = {"Notes": 1024, "PrivateNote": 4000}
#: the lines QBO keeps on a document that are not lines of the canonical document
NOT_DOCUMENT_LINES = ("SubTotalLineDetail", "DiscountLineDetail")
#: the ``TxnType`` a payment line links a purchase with, by its ``PaymentType``
LINK_TYPE = {"Check": "Check", "Cash": "Expense", "CreditCard": "Expense"}
ACCOUNT_LINE = "AccountBasedExpenseLineDetail"

Document = Invoice | CreditNote
#: item code → the item (``QboItems.resolve``)
Items = Mapping[str, LedgerItem]
_NO_ITEMS: Items = MappingProxyType({})


def with_ref(text: object, external_ref: str) -> str:
    """``text`` (a Notes / PrivateNote a person may have written in) carrying our
    reference line: the one already there is rewritten, else the line is added."""
    note = ref_note(external_ref)
    if not isinstance(text, str) or not text.strip():
        return note
    if REF_IN_TEXT.search(text):
        return REF_IN_TEXT.sub(lambda _: note, text, count=1)
    return f"{text.rstrip()}\n{note}"


@dataclass(frozen=True, slots=True)
class QboMapping:
    """The parsed mapping file; ``digest`` identifies this mapping version."""

    version: str
    digest: str
    minor_version: int
    fields: Mapping[str, Mapping[str, tuple[str, ...]]]  # kind → canonical → QBO paths
    ref_field: Mapping[str, str]  # kind → QBO field holding our reference
    lines: Mapping[str, str]
    tax: Mapping[str, str]
    discount: Mapping[str, Any]
    refund: Mapping[str, str]  # REFUND_DEFAULTS' keys
    new_items: Mapping[str, str]  # NEW_ITEM_DEFAULTS' keys

    def customer_body(self, customer: Customer, external_ref: str) -> dict[str, Any]:
        body = self.customer_update_body(customer)
        body[self.ref_field["customer"]] = ref_note(external_ref)
        return body

    def customer_update_body(self, customer: Customer) -> dict[str, Any]:
        """The mapped fields, without our reference. Fields the customer no longer has
        are left out (a sparse update keeps them as QBO holds them)."""
        return self._fields("customer", customer.model_dump(exclude_none=True))

    def document_body(
        self,
        doc: Document,
        customer_ledger_id: str,
        external_ref: str,
        tax: TaxPlan,
        items: Items = _NO_ITEMS,
    ) -> dict[str, Any]:
        """An ``Invoice``, or a ``CreditMemo`` (lines, discount and tax as on an invoice),
        with our reference. ``items``: code → item for the lines' ``item_code``s
        (``QboItems.resolve``); ``tax``: how the company takes tax (``qbo_tax``)."""
        body = self._document_body(doc.kind, doc, customer_ledger_id, items, tax)
        return body | {self.ref_field[doc.kind]: ref_note(external_ref)}

    invoice_body = document_body
    credit_note_body = document_body

    def invoice_update_body(
        self, invoice: Invoice, customer_ledger_id: str, tax: TaxPlan, items: Items = _NO_ITEMS
    ) -> dict[str, Any]:
        """The fields of a sparse update replacing the invoice's lines, discount and tax,
        without our reference. Without tax, a company keeping the tax it is sent gets a
        zero ``TxnTaxDetail``: left out, a sparse update would keep the old tax."""
        return self._document_body("invoice", invoice, customer_ledger_id, items, tax, True)

    def item_body(self, code: str, income_account_ref: str) -> dict[str, Any]:
        """A ``Service`` item named ``code`` booked to ``income_account_ref``."""
        return {"Name": code, "Type": "Service", "IncomeAccountRef": {"value": income_account_ref}}

    def credit_application_body(
        self, credit_note: CreditNote, application: CreditApplication, external_ref: str
    ) -> dict[str, Any]:
        """The ``Payment`` QBO records when a credit memo is applied to an invoice: no
        money (``TotalAmt`` 0), one line paying the invoice and one spending the credit,
        both of ``amount`` (Intuit's Payment reference sample has exactly this shape)."""
        cur = credit_note.currency
        body: dict[str, Any] = {
            "CustomerRef": {"value": application.customer_ledger_id},
            "TotalAmt": quantize(Decimal(0), cur),
            "TxnDate": credit_note.issue_date.isoformat(),
            "CurrencyRef": {"value": cur},
            "Line": [
                _linked_line(application.amount, application.invoice_ledger_id, "Invoice"),
                _linked_line(application.amount, application.credit_memo_id, "CreditMemo"),
            ],
            "PrivateNote": f"{APPLIES_MARKER} {external_ref}",
        }
        if credit_note.exchange_rate is not None:
            body["ExchangeRate"] = credit_note.exchange_rate
        return body

    def _document_body(
        self,
        kind: str,
        doc: Document,
        customer_ledger_id: str,
        items: Items,
        tax: TaxPlan,
        update: bool = False,
    ) -> dict[str, Any]:
        body = self._fields(kind, _document_values(doc))
        refs = [self._item_ref(doc, n, items) for n in range(len(doc.lines))]
        lines = [
            self._line(ln, doc.currency, ref, tax.line_code(ln))
            for ln, ref in zip(doc.lines, refs, strict=True)
        ]
        body["Line"] = lines + self._discount(doc)
        body["CustomerRef"] = {"value": customer_ledger_id}
        body |= tax.header(doc, update=update)
        kit.check_total(doc, ledger_total(body, tax.sent_tax(body, doc)), "QuickBooks")
        return body

    def payment_body(
        self,
        payment: Payment,
        customer_ledger_id: str,
        invoice_ledger_id: str,
        external_ref: str,
        applied: Decimal | None = None,
        exchange_rate: Decimal | None = None,
    ) -> dict[str, Any]:
        """``TotalAmt`` is all the money received; one line applies ``applied`` of it (None:
        all) to the invoice, and QBO keeps the rest as the payment's ``UnappliedAmt`` (the
        customer's credit). Nothing applied: no line at all, so ``exchange_rate`` (the
        invoice's) is sent, since no linked invoice lends its rate."""
        values = payment.model_dump(exclude_none=True) | {"amount": payment.amount}
        body = self._fields("payment", values)
        body["CustomerRef"] = {"value": customer_ledger_id}
        part = payment.amount if applied is None else applied
        body["Line"] = [_linked_line(part, invoice_ledger_id, "Invoice")] if part else []
        if exchange_rate is not None and not part:
            body["ExchangeRate"] = exchange_rate
        body[self.ref_field["payment"]] = ref_note(external_ref)
        return body

    def refund_body(
        self,
        refund: Refund,
        customer_ledger_id: str,
        external_ref: str,
        exchange_rate: Decimal | None = None,
    ) -> dict[str, Any]:
        """The cheque paying ``refund.amount`` back to the customer: a ``Purchase`` from the
        bank account to the customer, its one line on Accounts Receivable (so it is a
        charge to the customer that their credit then pays)."""
        body: dict[str, Any] = {
            "PaymentType": self.refund["payment_type"],
            "AccountRef": {"value": self.refund["bank_account_ref"]},
            "EntityRef": {"value": customer_ledger_id, "type": "Customer"},
            "TxnDate": refund.refunded_on.isoformat(),
            "CurrencyRef": {"value": refund.currency},
            "Line": [
                {
                    "Amount": refund.amount,
                    "DetailType": ACCOUNT_LINE,
                    "Description": f"Refund of {refund.credit_kind.replace('_', ' ')} credit",
                    ACCOUNT_LINE: {"AccountRef": {"value": self.refund["receivable_account_ref"]}},
                }
            ],
            self.ref_field["refund"]: ref_note(external_ref),
        }
        if refund.reference and len(refund.reference) <= DOC_NUMBER_LIMIT:
            body["DocNumber"] = refund.reference
        if exchange_rate is not None:
            body["ExchangeRate"] = exchange_rate
        return body

    def refund_link(self, amount: Decimal, check_id: str) -> dict[str, Any]:
        """A payment line paying ``amount`` of the refund cheque ``check_id``."""
        return _linked_line(amount, check_id, LINK_TYPE[self.refund["payment_type"]])

    def credit_refund_body(
        self, refund: Refund, spend: CreditRefund, external_ref: str
    ) -> dict[str, Any]:
        """The zero ``Payment`` spending ``spend.amount`` of a credit memo's credit on the
        refund cheque: the same shape as a credit memo applied to an invoice, the cheque in
        the invoice's place (Intuit's way to refund a credit memo)."""
        return {
            "CustomerRef": {"value": spend.customer_ledger_id},
            "TotalAmt": quantize(Decimal(0), refund.currency),
            "TxnDate": refund.refunded_on.isoformat(),
            "CurrencyRef": {"value": refund.currency},
            "Line": [
                self.refund_link(spend.amount, spend.check_id),
                _linked_line(spend.amount, spend.credit_memo_id, "CreditMemo"),
            ],
            "PrivateNote": f"{APPLIES_MARKER} {external_ref}",
        }

    def overpayment_refund_body(
        self, payment: LedgerRecord, amount: Decimal, check_id: str
    ) -> dict[str, Any]:
        """A sparse update of the overpaying ``payment`` adding a line that pays ``amount``
        of the refund cheque out of its unapplied amount (QBO's Payment links no other
        Payment, so the credit is spent from the payment itself). ``Line`` is replaced as
        a whole, so the lines it has are sent again."""
        lines = list(payment.raw.get("Line") or [])
        return {
            "Id": payment.ledger_id,
            "SyncToken": payment.version,
            "sparse": True,
            "Line": [*lines, self.refund_link(amount, check_id)],
        }

    def is_refund(self, raw: Mapping[str, Any]) -> bool:
        """A purchase paying a customer back: paid to a customer, booked to receivables."""
        receivable = self.refund["receivable_account_ref"]
        return kit.get_path(raw, "EntityRef.type") == "Customer" and any(
            str(kit.get_path(line, f"{ACCOUNT_LINE}.AccountRef.value")) == receivable
            for line in raw.get("Line") or []
        )

    def _fields(self, kind: str, values: Mapping[str, Any]) -> dict[str, Any]:
        return kit.fields_body(self.fields[kind], values)

    def _item_ref(self, doc: Document, index: int, items: Items) -> dict[str, str]:
        """The ``ItemRef`` of line ``index``: its item's, or the default item's."""
        code = doc.lines[index].item_code
        if code is None:
            return {"value": self.lines["item_ref"], "name": self.lines["item_name"]}
        item = items.get(code)
        if item is None:
            raise unknown_item("QuickBooks Online", doc, index + 1, code)
        return {"value": item.ledger_id, "name": item.code}

    def _line(
        self, line: InvoiceLine, currency: str, item_ref: dict[str, str], tax_code: dict[str, str]
    ) -> dict[str, Any]:
        return {
            "DetailType": self.lines["detail_type"],
            "Amount": quantize(line.net, currency),
            "Description": line.description,
            self.lines["detail_type"]: {
                "ItemRef": item_ref,
                "Qty": line.quantity,
                "UnitPrice": line.unit_price,
                "TaxCodeRef": tax_code,
            },
        }

    def _discount(self, invoice: Document) -> list[dict[str, Any]]:
        if invoice.discount == 0:
            return []
        detail: dict[str, Any] = {"PercentBased": bool(self.discount["percent_based"])}
        if self.discount.get("account_ref"):
            detail["DiscountAccountRef"] = {"value": str(self.discount["account_ref"])}
        return [
            {
                "DetailType": "DiscountLineDetail",
                "Amount": quantize(invoice.discount, invoice.currency),
                "DiscountLineDetail": detail,
            }
        ]


@dataclass(frozen=True, slots=True)
class CreditRefund:
    """``amount`` of credit memo ``credit_memo_id`` spent on refund cheque ``check_id``."""

    customer_ledger_id: str
    check_id: str
    credit_memo_id: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class CreditApplication:
    """``amount`` of credit memo ``credit_memo_id`` applied to an invoice."""

    customer_ledger_id: str
    invoice_ledger_id: str
    credit_memo_id: str
    amount: Decimal


def _linked_line(amount: Decimal, txn_id: str, txn_type: str) -> dict[str, Any]:
    return {"Amount": amount, "LinkedTxn": [{"TxnId": txn_id, "TxnType": txn_type}]}


def _document_values(doc: Document) -> dict[str, Any]:
    return {
        "number": doc.number,
        "issue_date": doc.issue_date,
        "due_date": doc.due_date if isinstance(doc, Invoice) else None,
        "currency": doc.currency,
        "exchange_rate": doc.exchange_rate,
    }


def ledger_total(body: Mapping[str, Any], tax: Decimal) -> Decimal:
    """What QBO will compute as ``TotalAmt`` for this invoice or credit memo body holding
    ``tax``."""
    total = Decimal(0)
    for line in body.get("Line", []):
        sign = -1 if line["DetailType"] == "DiscountLineDetail" else 1
        total += sign * to_decimal(line["Amount"])
    return total + tax


def check_ref_length(field: str, text: str, what: str) -> None:
    """Refuse ``text`` for ``field`` when QBO would refuse it as too long."""
    limit = REF_FIELD_LIMITS.get(field)
    if limit is not None and len(text) > limit:
        raise PermanentLedgerError(
            f"{what}: its {field} in QuickBooks would be {len(text)} characters with our "
            f"reference line, more than the {limit} QuickBooks keeps: shorten the {field} "
            "text in QuickBooks, then push again",
            code="syncledger.too_long",
        )


def load_mapping(path: Path | None = None) -> QboMapping:
    """The mapping at ``path``, or the default ``adapters/qbo/mapping.toml``."""
    return kit.load_toml_mapping("syncledger.adapters.qbo", "QBO", path, _mapping_from)


def _mapping_from(raw: Mapping[str, Any], digest: str) -> QboMapping:
    kinds = MAPPED_KINDS
    refund = REFUND_DEFAULTS | {k: str(v) for k, v in raw.get("refund", {}).items()}
    new_items = NEW_ITEM_DEFAULTS | {k: str(v) for k, v in raw.get("new_items", {}).items()}
    ref_field = {kind: str(raw[kind]["reference"]["field"]) for kind in kinds}
    return QboMapping(
        version=str(raw["version"]),
        digest=digest,
        minor_version=int(raw["minor_version"]),
        fields={kind: kit.paths(raw[kind]["fields"]) for kind in kinds},
        ref_field=ref_field | {"refund": refund["reference_field"]},
        lines={k: str(v) for k, v in raw["invoice"]["lines"].items()},
        tax=TAX_DEFAULTS | {k: str(v) for k, v in raw["invoice"]["tax"].items()},
        discount=dict(raw["invoice"]["discount"]),
        refund=refund,
        new_items=new_items,
    )


# ----------------------------------------------------------------- ledger → canonical


def to_record(
    kind: str,
    raw: Mapping[str, Any],
    ref_field: str,
    item_codes: Mapping[str, str] = MappingProxyType({}),
) -> LedgerRecord:
    """A QBO entity (or a CDC ``Deleted`` stub) as a ``LedgerRecord``. ``item_codes``:
    id → code of the items lines name by id only. A payment's ``applied_to`` is read from
    its own lines; a credit note's or refund's needs the payments linking it, which the
    adapter adds (``qbo_links``)."""
    common: dict[str, Any] = {
        "kind": kind,
        "ledger_id": str(raw["Id"]),
        "version": kit.text(raw.get("SyncToken")),
        "external_ref": ref_in(raw.get(ref_field)),
        "updated_at": _time(kit.get_path(raw, "MetaData.LastUpdatedTime")),
        "raw": dict(raw),
    }
    if raw.get("status") == "Deleted":
        return LedgerRecord(**common, status="deleted")
    if kind == "customer":
        return LedgerRecord(**common, **_customer_parts(raw))
    parts = _document_parts(kind, raw)
    if kind in ("invoice", "credit_note"):
        parts["line_items"] = line_item_codes(raw, item_codes)
        parts["tax"] = held_tax(raw)
    if kind == "invoice":
        parts["due_date"] = iso_day(raw.get("DueDate"))  # the field the mapping writes
    if kind == "payment":
        parts["applied_to"] = payment_applied_to(raw)
    return LedgerRecord(**common, **parts)


def held_tax(raw: Mapping[str, Any]) -> Decimal:
    """The tax an invoice or credit memo holds: its ``TxnTaxDetail.TotalTax`` (under
    automated sales tax, what QBO computed), 0 when it holds none."""
    return to_decimal(kit.get_path(raw, "TxnTaxDetail.TotalTax") or 0)


def item_refs(raw: Mapping[str, Any]) -> list[tuple[str | None, str | None]]:
    """(id, name) of the item each line of the document names, in line order; (None,
    None) for a line naming none. Subtotal and discount lines are not document lines."""
    refs: list[tuple[str | None, str | None]] = []
    for line in raw.get("Line") or []:
        detail = line.get("DetailType") if isinstance(line, Mapping) else None
        if detail in NOT_DOCUMENT_LINES:
            continue
        ref = kit.get_path(line, f"{detail}.ItemRef") if detail else None
        ref = ref if isinstance(ref, Mapping) else {}
        refs.append((kit.text(ref.get("value")), kit.text(ref.get("name"))))
    return refs


def line_item_codes(
    raw: Mapping[str, Any], item_codes: Mapping[str, str]
) -> tuple[str | None, ...]:
    """The code of the item each document line is booked to: the name QBO answers with,
    else the code of the item of that id."""
    return tuple(
        name or (item_codes.get(ident) if ident else None) for ident, name in item_refs(raw)
    )


def _customer_parts(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": kit.text(raw.get("DisplayName")),
        "currency": kit.text(kit.get_path(raw, "CurrencyRef.value")),
        "balance": kit.amount(raw.get("Balance")),
        "status": "active" if raw.get("Active", True) else "inactive",
    }


def _document_parts(kind: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    total = kit.amount(raw.get("TotalAmt"))
    balance = _balance(kind, raw)
    customer = kit.get_path(raw, "EntityRef.value" if kind == "refund" else "CustomerRef.value")
    return {
        "name": kit.text(raw.get("PaymentRefNum" if kind == "payment" else "DocNumber")),
        "customer_ledger_id": kit.text(customer),
        "currency": kit.text(kit.get_path(raw, "CurrencyRef.value")),
        "total": total,
        "balance": balance,
        "status": _status(kind, raw, total, balance),
    }


def _balance(kind: str, raw: Mapping[str, Any]) -> Decimal | None:
    """What is left: of a payment, its unapplied amount; of a credit memo, its credit not
    yet applied nor refunded (``RemainingCredit``); of an invoice, what is owed. A refund
    cheque has none."""
    if kind == "refund":
        return None
    if kind == "payment":
        return kit.amount(raw.get("UnappliedAmt"))
    if kind == "credit_note" and raw.get("RemainingCredit") is not None:
        return kit.amount(raw["RemainingCredit"])
    return kit.amount(raw.get("Balance"))


def _status(
    kind: str, raw: Mapping[str, Any], total: Decimal | None, bal: Decimal | None
) -> str | None:
    """Invoices: open / partially_paid / paid / void. Credit notes: open (all the
    credit left) / partially_applied / applied (none left). Payments: applied. Refunds:
    none."""
    if kind == "refund":
        return None
    if kind == "payment":
        return "applied"
    if str(raw.get("PrivateNote", "")).startswith("Voided"):
        return "void"
    if bal is None or total is None or bal == total:
        return "open"
    if kind == "credit_note":
        return "applied" if bal == 0 else "partially_applied"
    return "paid" if bal == 0 else "partially_paid"


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None
