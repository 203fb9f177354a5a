"""One Zoho Books organisation: the operations behind the sandbox's endpoints.

Every operation returns an :class:`Answer` (HTTP status, Zoho's ``{"code": 0,
"message", "<entity>"}`` body, and the records it touched, which fault injection uses)
or raises ``ZohoError``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from syncledger.adapters.zoho.sandbox.book import ID_BASE, ID_FIELD, ZohoBook, resource
from syncledger.adapters.zoho.sandbox.errors import refuse
from syncledger.adapters.zoho.sandbox.listing import listing
from syncledger.adapters.zoho.sandbox.rules import (
    Currency,
    Tax,
    amount,
    applications,
    checked_contact,
    checked_payment,
    priced_document,
)

CURRENCY_CODES = (
    "USD", "EUR", "GBP", "CAD", "AUD", "INR", "JPY", "CHF", "AED", "ZAR", "NZD", "SGD", "MXN",
)  # fmt: skip
DEFAULT_TAXES: tuple[tuple[str, str], ...] = (
    ("Sales Tax", "8"),
    ("VAT", "20"),
    ("Reduced Rate", "5"),
    ("GST", "10"),
    ("State Sales Tax", "6.25"),  # common US state + local rates, as a demo company has
    ("Combined Sales Tax", "8.25"),
    ("MwSt", "19"),
)
ENTITY = {
    "contact": "Contact",
    "item": "Item",
    "invoice": "Invoice",
    "customerpayment": "Payment",
    "creditnote": "Credit Note",
}
SINGLE = {
    "contact": "contact",
    "item": "item",
    "invoice": "invoice",
    "customerpayment": "payment",
    "creditnote": "creditnote",
}
PLURAL = {
    "contact": "contacts",
    "item": "items",
    "invoice": "invoices",
    "customerpayment": "customerpayments",
    "creditnote": "creditnotes",
}
NUMBER = {"invoice": ("invoice_number", "INV-", 6), "creditnote": ("creditnote_number", "CN-", 5)}
DERIVED = frozenset(
    {
        "status", "balance", "payment_made", "credits_applied", "payments", "credits",
        "created_time", "last_modified_time", "customer_name", "sub_total", "tax_total",
        "taxes", "total", "discount_amount", "currency_code", "invoices_credited",
    }
)  # fmt: skip
ZERO = Decimal(0)
CURRENCY_IDS = ID_BASE + 900_000  # settings ids, apart from the records' ids
TAX_IDS = ID_BASE + 950_000


@dataclass(frozen=True, slots=True)
class Answer:
    body: dict[str, Any]
    status: int = 200
    records: tuple[tuple[str, str], ...] = ()  # (resource, id) the answer is about


def answer(message: str, status: int = 200, *records: tuple[str, str], **payload: Any) -> Answer:
    return Answer({"code": 0, "message": message, **payload}, status, records)


class ZohoOrganization:
    def __init__(
        self,
        book: ZohoBook,
        *,
        organization_id: str,
        base_currency: str,
        taxes: tuple[tuple[str, str], ...] = DEFAULT_TAXES,
    ) -> None:
        self.book = book
        self.organization_id = organization_id
        codes = CURRENCY_CODES + (() if base_currency in CURRENCY_CODES else (base_currency,))
        self.currencies = {
            str(CURRENCY_IDS + i): Currency(str(CURRENCY_IDS + i), code)
            for i, code in enumerate(codes, start=1)
        }
        self.base = next(c for c in self.currencies.values() if c.currency_code == base_currency)
        self.taxes = {
            str(TAX_IDS + i): Tax(str(TAX_IDS + i), name, Decimal(pct))
            for i, (name, pct) in enumerate(taxes, start=1)
        }

    # ------------------------------------------------------------ settings

    def organizations(self) -> Answer:
        org = {
            "organization_id": self.organization_id,
            "name": "syncledger sandbox",
            "currency_code": self.base.currency_code,
            "time_zone": "Etc/UTC",
        }
        return answer("success", organizations=[org])

    def currency_list(self) -> Answer:
        rows = [
            {
                "currency_id": c.currency_id,
                "currency_code": c.currency_code,
                "is_base_currency": c == self.base,
            }
            for c in self.currencies.values()
        ]
        return answer("success", currencies=rows)

    def tax_list(self) -> Answer:
        rows = [
            {
                "tax_id": t.tax_id,
                "tax_name": t.tax_name,
                "tax_percentage": t.tax_percentage,
                "tax_type": "tax",
            }
            for t in self.taxes.values()
        ]
        return answer("success", taxes=rows)

    # --------------------------------------------------------------- reads

    def read(self, kind: str, ident: str) -> Answer:
        name = resource(kind)
        record = self._existing(name, ident)
        return answer(
            "success", 200, (name, ident), **{SINGLE[name]: self._present(name, [record])[0]}
        )

    def listed(self, kind: str, params: Mapping[str, str]) -> Answer:
        name = resource(kind)
        rows, context = listing(name, self._present(name, self.book.records(name)), params)
        touched = tuple((name, str(r[ID_FIELD[name]])) for r in rows)
        return answer("success", 200, *touched, **{PLURAL[name]: rows, "page_context": context})

    def credited_invoices(self, ident: str) -> Answer:
        note = self._existing("creditnote", ident)
        return answer(
            "success", 200, ("creditnote", ident), invoices_credited=note["invoices_credited"]
        )

    # ------------------------------------------------------------ contacts

    def create_contact(self, body: dict[str, Any]) -> Answer:
        contact = checked_contact(
            body, name_taken=self._name_taken(None), currencies=self.currencies, base=self.base
        )
        stored = self.book.add("contact", self._with_person_ids(contact))
        return self._saved("contact", stored, "The contact has been added.", 201)

    def update_contact(self, ident: str, body: dict[str, Any]) -> Answer:
        current = self._existing("contact", ident)
        merged = {k: v for k, v in current.items() if k not in DERIVED} | body
        contact = checked_contact(
            merged, name_taken=self._name_taken(ident), currencies=self.currencies, base=self.base
        )
        stored = self.book.put(
            "contact", self._with_person_ids(contact) | _keys(current, "contact")
        )
        return self._saved("contact", stored, "Contact has been updated successfully")

    # ----------------------------------------------------------- documents

    def create_document(self, kind: str, body: dict[str, Any], params: Mapping[str, str]) -> Answer:
        name = resource(kind)
        priced = self._priced(body)
        number_field = NUMBER[name][0]
        priced[number_field] = self._number(name, body, params, None)
        if name == "invoice":
            extra = {
                "status": "draft",
                "payment_made": ZERO,
                "credits_applied": ZERO,
                "payments": [],
                "credits": [],
            }
            message = "The invoice has been created."
        else:
            extra = {"status": "open", "invoices_credited": []}
            message = "Credit Note has been created."
        stored = self.book.add(name, priced | extra | {"balance": priced["total"]})
        return self._saved(name, stored, message, 201)

    def update_invoice(self, ident: str, body: dict[str, Any], params: Mapping[str, str]) -> Answer:
        current = self._existing("invoice", ident)
        if current["status"] == "void":
            raise refuse("invoice.void_edit")
        merged = {k: v for k, v in current.items() if k not in DERIVED} | body
        priced = self._priced(merged)
        priced["invoice_number"] = self._number("invoice", merged, params, current)
        paid = amount(current["payment_made"], "payment_made") + amount(
            current["credits_applied"], "credits_applied"
        )
        if priced["total"] < paid:
            raise refuse("invoice.below_paid", paid=paid)
        kept = {
            k: current[k]
            for k in ("status", "payment_made", "credits_applied", "payments", "credits")
        }
        invoice = priced | kept | _keys(current, "invoice") | {"balance": priced["total"] - paid}
        stored = self.book.put("invoice", _with_status(invoice))
        return self._saved("invoice", stored, "Invoice information has been updated.")

    def mark_sent(self, ident: str) -> Answer:
        invoice = self._existing("invoice", ident)
        if invoice["status"] != "draft":
            raise refuse("invoice.not_draft")
        self.book.put("invoice", _with_status(invoice | {"status": "sent"}))
        return answer("Invoice status has been changed to Sent.", 200, ("invoice", ident))

    def void(self, ident: str) -> Answer:
        invoice = self._existing("invoice", ident)
        if invoice["status"] == "void":
            raise refuse("invoice.already_void")
        for link in invoice.get("payments", []):
            self._unapply_payment(link, ident)
        for link in invoice.get("credits", []):
            self._unapply_credit(link, ident)
        cleared = {"status": "void", "balance": ZERO, "payment_made": ZERO, "credits_applied": ZERO}
        self.book.put("invoice", invoice | cleared | {"payments": [], "credits": []})
        return answer("Invoice status has been changed to Void.", 200, ("invoice", ident))

    # ------------------------------------------------------------ payments

    def create_payment(self, body: dict[str, Any]) -> Answer:
        customer = self.book.get("contact", str(body.get("customer_id", "")))
        payment = checked_payment(body, customer=customer, base=self.base)
        applied = applications(
            body.get("invoices"),
            customer_id=payment["customer_id"],
            invoices=lambda i: self.book.get("invoice", i),
            available=payment["amount"],
            check_open=_check_open,
            allow_empty=True,
        )
        links = [_link(a.invoice, a.amount) for a in applied]
        unused = payment["amount"] - sum((a.amount for a in applied), ZERO)
        number = str(self.book.next_number("payment"))
        stored = self.book.add(
            "customerpayment",
            payment | {"payment_number": number, "invoices": links, "unused_amount": unused},
        )
        for a in applied:
            link = {"payment_id": stored["payment_id"], "amount": a.amount}
            self._apply("payments", "payment_made", a.invoice, a.amount, link)
        return self._saved("customerpayment", stored, "The payment has been created.", 201)

    def apply_credits(self, ident: str, body: Any) -> Answer:
        note = self._existing("creditnote", ident)
        applied = applications(
            body.get("invoices") if isinstance(body, dict) else None,
            customer_id=str(note["customer_id"]),
            invoices=lambda i: self.book.get("invoice", i),
            available=amount(note["balance"], "balance"),
            check_open=_check_open,
        )
        credited = list(note["invoices_credited"])
        for a in applied:
            link_id = self.book.new_id()
            credited.append(_credited(note, a.invoice, a.amount, link_id))
            link = {"creditnote_id": ident, "creditnote_invoice_id": link_id, "amount": a.amount}
            self._apply("credits", "credits_applied", a.invoice, a.amount, link)
        balance = amount(note["balance"], "balance") - sum((a.amount for a in applied), ZERO)
        status = "closed" if balance == 0 else "open"
        self.book.put(
            "creditnote",
            note | {"invoices_credited": credited, "balance": balance, "status": status},
        )
        result = [
            {"invoice_id": a.invoice["invoice_id"], "amount_applied": a.amount} for a in applied
        ]
        return answer(
            "Credits have been applied to the invoice(s).", 201, ("creditnote", ident),
            apply_to_invoices={"invoices": result},
        )  # fmt: skip

    # ------------------------------------------------------------- helpers

    def _existing(self, name: str, ident: str) -> dict[str, Any]:
        record = self.book.get(name, ident)
        if record is None:
            raise refuse("record.not_found", entity=ENTITY[name])
        return record

    def _saved(self, name: str, record: dict[str, Any], message: str, status: int = 200) -> Answer:
        ident = str(record[ID_FIELD[name]])
        return answer(
            message, status, (name, ident), **{SINGLE[name]: self._present(name, [record])[0]}
        )

    def _priced(self, body: dict[str, Any]) -> dict[str, Any]:
        customer = self.book.get("contact", str(body.get("customer_id", "")))
        return priced_document(
            body,
            customer=customer,
            taxes=self.taxes,
            base=self.base,
            items=lambda ident: self.book.get("item", ident),
        )

    def _number(
        self,
        name: str,
        body: Mapping[str, Any],
        params: Mapping[str, str],
        current: dict[str, Any] | None,
    ) -> str:
        field, prefix, width = NUMBER[name]
        given = body.get(field)
        previous = (current or {}).get(field)
        if params.get("ignore_auto_number_generation") == "true":
            if not given:
                raise refuse("field.required", field=field)
        elif given and given != previous:
            raise refuse("document.number_generated", field=field)
        number = str(given or previous or f"{prefix}{self.book.next_number(name):0{width}d}")
        if len(number) > 100:
            raise refuse("field.too_long", field=field, limit=100)
        ident = None if current is None else current[ID_FIELD[name]]
        if any(r[ID_FIELD[name]] != ident for r in self.book.numbered(name, number)):
            raise refuse("document.number_taken", entity=ENTITY[name], number=number)
        return number

    def _name_taken(self, exclude: str | None) -> Any:
        def taken(name: str) -> bool:
            return any(c["contact_id"] != exclude for c in self.book.numbered("contact", name))

        return taken

    def _with_person_ids(self, contact: dict[str, Any]) -> dict[str, Any]:
        persons = [
            p if p.get("contact_person_id") else p | {"contact_person_id": self.book.new_id()}
            for p in contact["contact_persons"]
        ]
        return contact | {"contact_persons": persons}

    def _apply(
        self, field: str, total: str, invoice: dict[str, Any], value: Decimal, link: dict[str, Any]
    ) -> None:
        current = self.book.get("invoice", str(invoice["invoice_id"])) or invoice
        updated = current | {
            field: [*current.get(field, []), link],
            total: amount(current[total], total) + value,
            "balance": amount(current["balance"], "balance") - value,
        }
        self.book.put("invoice", _with_status(updated))

    def _unapply_payment(self, link: Mapping[str, Any], invoice_id: str) -> None:
        payment = self.book.get("customerpayment", str(link["payment_id"]))
        if payment is None:
            return
        kept = [i for i in payment["invoices"] if str(i["invoice_id"]) != invoice_id]
        unused = amount(payment["unused_amount"], "unused_amount") + amount(
            link["amount"], "amount"
        )
        self.book.put("customerpayment", payment | {"invoices": kept, "unused_amount": unused})

    def _unapply_credit(self, link: Mapping[str, Any], invoice_id: str) -> None:
        note = self.book.get("creditnote", str(link["creditnote_id"]))
        if note is None:
            return
        kept = [i for i in note["invoices_credited"] if str(i["invoice_id"]) != invoice_id]
        balance = amount(note["balance"], "balance") + amount(link["amount"], "amount")
        self.book.put(
            "creditnote", note | {"invoices_credited": kept, "balance": balance, "status": "open"}
        )

    def _present(self, name: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A contact's receivables are its open invoices' balances; its unused credits
        are its payments' unused amounts and its credit notes' balances."""
        if name != "contact":
            return records
        owed, credits = self._receivables()
        return [
            r
            | {
                "outstanding_receivable_amount": owed.get(str(r["contact_id"]), ZERO),
                "unused_credits_receivable_amount": credits.get(str(r["contact_id"]), ZERO),
            }
            for r in records
        ]

    def _receivables(self) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
        owed: dict[str, Decimal] = defaultdict(Decimal)
        credits: dict[str, Decimal] = defaultdict(Decimal)
        for invoice in self.book.records("invoice"):
            if invoice["status"] not in ("draft", "void"):
                owed[str(invoice["customer_id"])] += amount(invoice["balance"], "balance")
        for payment in self.book.records("customerpayment"):
            credits[str(payment["customer_id"])] += amount(
                payment["unused_amount"], "unused_amount"
            )
        for note in self.book.records("creditnote"):
            if note["status"] == "open":
                credits[str(note["customer_id"])] += amount(note["balance"], "balance")
        return owed, credits


def _keys(record: Mapping[str, Any], name: str) -> dict[str, Any]:
    return {k: record[k] for k in (ID_FIELD[name], "created_time") if k in record}


def _link(invoice: Mapping[str, Any], value: Decimal) -> dict[str, Any]:
    return {
        "invoice_id": invoice["invoice_id"],
        "invoice_number": invoice["invoice_number"],
        "amount_applied": value,
    }


def _credited(
    note: Mapping[str, Any], invoice: Mapping[str, Any], value: Decimal, link_id: str
) -> dict[str, Any]:
    """One row of a credit note's ``invoices_credited``, with the fields Zoho's Python
    client reads from ``GET /creditnotes/{id}/invoices`` (``list_invoices_credited``):
    the applied amount is ``credited_amount`` there, not ``amount_applied``."""
    return {
        "creditnote_id": note["creditnote_id"],
        "invoice_id": invoice["invoice_id"],
        "creditnote_invoice_id": link_id,
        "date": note.get("date"),
        "invoice_number": invoice["invoice_number"],
        "creditnote_number": note["creditnote_number"],
        "credited_amount": value,
    }


def _check_open(invoice: Mapping[str, Any]) -> None:
    if invoice["status"] == "draft":
        raise refuse("application.invoice_draft", number=invoice["invoice_number"])
    if invoice["status"] == "void":
        raise refuse("application.invoice_void", number=invoice["invoice_number"])


def _with_status(invoice: dict[str, Any]) -> dict[str, Any]:
    """``draft`` and ``void`` stay; otherwise the balance decides (sent / partially_paid /
    paid). Overdue is not modelled."""
    if invoice["status"] in ("draft", "void"):
        return invoice
    balance = amount(invoice["balance"], "balance")
    total = amount(invoice["total"], "total")
    status = "paid" if balance == 0 else ("partially_paid" if balance < total else "sent")
    return invoice | {"status": status}
