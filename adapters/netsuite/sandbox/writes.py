"""Writes to the NetSuite sandbox's books: create (POST), upsert (PUT ``eid:``), update
(PATCH), with sublists merged as NetSuite merges them and every derived amount kept
consistent: an invoice's ``amountRemaining`` / ``status`` follow the payments and credit
memos applied to it, a payment's or credit memo's ``applied`` / ``unapplied`` follow its
own invoice lines and the customer refunds drawing on it, and each such change moves the
touched record's ``lastModifiedDate``. The link between a refund and its credit is kept
on the refund's ``apply`` sublist only: whether NetSuite also lists the refund on the
credit's own apply sublist is not modelled."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from syncledger.adapters.netsuite.sandbox.book import NetSuiteBook
from syncledger.adapters.netsuite.sandbox.errors import NsError, refuse
from syncledger.adapters.netsuite.sandbox.items import DISCOUNT_ITEM, SALE_ITEM, checked_item
from syncledger.adapters.netsuite.sandbox.rules import (
    Account,
    Credit,
    Items,
    applications,
    checked_customer,
    checked_payment,
    checked_refund,
    invoice_balance,
    number,
    priced,
    ref_id,
    settled,
)
from syncledger.adapters.netsuite.sandbox.sublists import is_sublist, merged

CREATED_FIELD = {"customer": "dateCreated"}  # transactions: createdDate
APPLYING = ("customerPayment", "creditMemo")  # what applies to invoices; refunds draw on them
READ_ONLY = frozenset({"id", "links", "lastModifiedDate", "createdDate", "dateCreated"})


class Writer:
    def __init__(self, book: NetSuiteBook, account: Account) -> None:
        self.book = book
        self.account = account

    # -------------------------------------------------------------- entry points

    def create(self, record: str, body: Mapping[str, Any]) -> dict[str, Any]:
        if body.get("id") is not None:
            raise refuse("record.id_on_create", path="id")
        external = body.get("externalId")
        if external is not None and self.book.by_external_id(record, str(external)):
            raise _external_id_taken(external)
        return self._store(record, None, _new(body))

    def upsert(
        self, record: str, external_id: str, body: Mapping[str, Any], replace: Iterable[str]
    ) -> dict[str, Any]:
        if body.get("id") is not None:
            raise refuse("upsert.id_in_body", path="id")
        if body.get("externalId") not in (None, external_id):
            raise refuse("upsert.external_id_differs")
        incoming = {**body, "externalId": external_id}
        current = self.book.by_external_id(record, external_id)
        if current is None:
            return self._store(record, None, _new(incoming))
        return self._store(record, current, merged(current, _writable(incoming), replace))

    def update(
        self,
        record: str,
        current: Mapping[str, Any],
        body: Mapping[str, Any],
        replace: Iterable[str],
    ) -> dict[str, Any]:
        external = body.get("externalId")
        if external is not None and external != current.get("externalId"):
            holder = self.book.by_external_id(record, str(external))
            if holder is not None and holder["id"] != current["id"]:
                raise _external_id_taken(external)
        return self._store(record, current, merged(current, _writable(body), replace))

    # --------------------------------------------------------------- per record

    def _store(
        self, record: str, current: Mapping[str, Any] | None, body: dict[str, Any]
    ) -> dict[str, Any]:
        checks = {
            "customer": self._customer,
            "invoice": self._invoice,
            "customerPayment": self._payment,
            "creditMemo": self._credit_memo,
            "customerRefund": self._refund,
            SALE_ITEM: self._item,
        }
        if record not in checks:
            raise refuse("record.not_written", record=record)
        return checks[record](current, body)

    def _save(
        self, record: str, current: Mapping[str, Any] | None, body: dict[str, Any]
    ) -> dict[str, Any]:
        if current is None:
            return self.book.insert(record, body, CREATED_FIELD.get(record, "createdDate"))
        return self.book.save(record, {**body, "id": current["id"]})

    def _customer(self, current: Mapping[str, Any] | None, body: dict[str, Any]) -> dict[str, Any]:
        own = None if current is None else str(current["id"])
        customer = checked_customer(body, self.account, name_taken=self._name_taken(own))
        return self._save("customer", current, customer)

    def _invoice(self, current: Mapping[str, Any] | None, body: dict[str, Any]) -> dict[str, Any]:
        if current is not None and ref_id(current, "status") == "V":
            raise refuse("transaction.voided")
        invoice = priced(body, self.account, customers=self._getter("customer"), items=self._items)
        applied = self._applied(None).get(str(current["id"]), Decimal(0)) if current else Decimal(0)
        return self._save("invoice", current, invoice_balance(invoice, applied))

    def _payment(self, current: Mapping[str, Any] | None, body: dict[str, Any]) -> dict[str, Any]:
        payment = checked_payment(
            body,
            self.account,
            customers=self._getter("customer"),
            invoices=self._getter("invoice"),
        )
        return self._applying("customerPayment", current, payment, payment["payment"])

    def _credit_memo(
        self, current: Mapping[str, Any] | None, body: dict[str, Any]
    ) -> dict[str, Any]:
        credit = priced(body, self.account, customers=self._getter("customer"), items=self._items)
        return self._applying("creditMemo", current, credit, credit["total"])

    def _item(self, current: Mapping[str, Any] | None, body: dict[str, Any]) -> dict[str, Any]:
        own = None if current is None else str(current["id"])
        item = checked_item(body, self.account, name_taken=self._item_name_taken(own))
        return self._save(SALE_ITEM, current, item)

    @property
    def _items(self) -> Items:
        return Items(sale=self._getter(SALE_ITEM), discount=self._getter(DISCOUNT_ITEM))

    def _refund(self, current: Mapping[str, Any] | None, body: dict[str, Any]) -> dict[str, Any]:
        others = self._refunded(None if current is None else str(current["id"]))
        refund = checked_refund(
            body,
            self.account,
            customers=self._getter("customer"),
            credits=self._credit,
            left=lambda doc: self._credit_left(doc, others),
        )
        stored = self._save("customerRefund", current, refund)
        self._resettle(_docs(current) | _docs(refund))
        return stored

    # ----------------------------------------------------------------- applying

    def _applying(
        self,
        record: str,
        current: Mapping[str, Any] | None,
        document: dict[str, Any],
        ceiling: Decimal,
    ) -> dict[str, Any]:
        own = None if current is None else (record, str(current["id"]))
        others = self._applied(own)
        customer_field = "customer" if record == "customerPayment" else "entity"
        found = applications(
            document,
            str(ref_id(document, customer_field)),
            invoices=self._getter("invoice"),
            open_amount=lambda doc: number(self._total(doc), "total") - others.get(doc, Decimal(0)),
        )
        applied = sum((a.amount for a in found), Decimal(0))
        if current is not None:
            applied += self._refunded(None).get(str(current["id"]), Decimal(0))
        document["apply"] = {"items": [_apply_line(a.invoice_id, a.amount) for a in found]}
        stored = self._save(record, current, settled(document, applied, ceiling))
        self._rebalance(_docs(current) | {a.invoice_id for a in found})
        return stored

    def _rebalance(self, invoice_ids: Iterable[str]) -> None:
        applied = self._applied(None)
        for invoice_id in sorted(invoice_ids):
            invoice = self.book.get("invoice", invoice_id)
            if invoice is not None:
                paid = applied.get(invoice_id, Decimal(0))
                self.book.save("invoice", invoice_balance(invoice, paid))

    def _applied(self, excluding: tuple[str, str] | None) -> dict[str, Decimal]:
        """Invoice id → the amount applied to it by payments and credit memos."""
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for record in APPLYING:
            for document in self.book.records(record):
                if (record, str(document["id"])) == excluding:
                    continue
                for line in document.get("apply", {}).get("items", []):
                    totals[str(ref_id(line, "doc"))] += number(line["amount"], "amount")
        return totals

    # ------------------------------------------------------------------ refunds

    def _credit(self, doc: str) -> Credit | None:
        for record in APPLYING:
            body = self.book.get(record, doc)
            if body is not None:
                return Credit(record, body)
        return None

    def _refunded(self, excluding: str | None) -> dict[str, Decimal]:
        """Credit id → the amount customer refunds (but ``excluding``) draw on it."""
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for refund in self.book.records("customerRefund"):
            if str(refund["id"]) != excluding:
                for line in refund.get("apply", {}).get("items", []):
                    totals[str(ref_id(line, "doc"))] += number(line["amount"], "amount")
        return totals

    def _credit_left(self, doc: str, refunded: Mapping[str, Decimal]) -> Decimal:
        credit = self._credit(doc)
        if credit is None:
            raise refuse("record.not_found", record="transaction", ident=doc)
        used = _invoice_applied(credit.body) + refunded.get(doc, Decimal(0))
        return credit.amount - used

    def _resettle(self, credit_ids: Iterable[str]) -> None:
        """Each credit's ``applied`` / ``unapplied`` after the refunds drawing on it."""
        refunded = self._refunded(None)
        for doc in sorted(credit_ids):
            credit = self._credit(doc)
            if credit is not None:
                used = _invoice_applied(credit.body) + refunded.get(doc, Decimal(0))
                self.book.save(credit.record, settled(dict(credit.body), used, credit.amount))

    def _total(self, invoice_id: str) -> Any:
        invoice = self.book.get("invoice", invoice_id)
        if invoice is None:
            raise refuse("record.not_found", record="invoice", ident=invoice_id)
        return invoice["total"]

    def _getter(self, record: str) -> Any:
        return lambda ident: self.book.get(record, ident)

    def _name_taken(self, own: str | None) -> Any:
        def taken(entity_id: str) -> bool:
            wanted = entity_id.casefold()
            return any(
                str(c.get("entityId", "")).casefold() == wanted and str(c["id"]) != own
                for c in self.book.records("customer")
            )

        return taken

    def _item_name_taken(self, own: str | None) -> Any:
        """Whether another service sale item has this ``itemId`` (items of other types may)."""

        def taken(item_id: str) -> bool:
            return any(
                i.get("itemId") == item_id and str(i["id"]) != own
                for i in self.book.records(SALE_ITEM)
            )

        return taken


def _external_id_taken(external_id: object) -> NsError:
    return refuse("record.external_id_taken", external_id=str(external_id), path="externalId")


def _new(body: Mapping[str, Any]) -> dict[str, Any]:
    """A new record's body: read-only fields dropped, sublists reduced to their lines."""
    return merged({}, _writable(body), ())


def _writable(body: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: ({"items": list(v["items"])} if is_sublist(v) else v)
        for k, v in body.items()
        if k not in READ_ONLY
    }


def _apply_line(invoice_id: str, amount: Decimal) -> dict[str, Any]:
    return {"doc": {"id": invoice_id}, "apply": True, "amount": amount}


def _invoice_applied(credit: Mapping[str, Any]) -> Decimal:
    lines = credit.get("apply", {}).get("items", [])
    return sum((number(ln["amount"], "amount") for ln in lines), Decimal(0))


def _docs(document: Mapping[str, Any] | None) -> set[str]:
    if document is None:
        return set()
    return {str(ref_id(ln, "doc")) for ln in document.get("apply", {}).get("items", [])}
