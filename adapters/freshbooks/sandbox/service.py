"""The FreshBooks sandbox account: operations on its book, plus the handle tests use
(``count``, ``records``, fault injection, ``throttled``).

The handle's ``refund`` kind is always empty: FreshBooks has no refund of a client credit
(see ``freshbooks_rules``), so neither has the sandbox's book."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Unpack

from syncledger.adapters.freshbooks.sandbox.book import FreshBooksBook
from syncledger.adapters.freshbooks.sandbox.errors import FreshBooksFault, refuse
from syncledger.adapters.freshbooks.sandbox.query import ListQuery
from syncledger.adapters.freshbooks.sandbox.rules import (
    CLIENT_FIELDS,
    ITEM_FIELDS,
    Application,
    applied,
    changed_invoice,
    checked_client,
    checked_credit_note,
    checked_invoice,
    checked_item,
    checked_payment,
    decimal_of,
    emails,
    names,
    overpayment_credit,
    with_amounts,
    writable,
)
from syncledger.adapters.sandbox.oauth import OAuthServer
from syncledger.adapters.sandbox.scaffold import HandleOptions, SandboxHandle, bearer_ok
from syncledger.adapters.sandbox.throttle import WindowThrottle


@dataclass(frozen=True, slots=True)
class Resource:
    kind: str  # the book's kind
    single: str  # body / result key of one record
    plural: str  # result key of a list
    id_fields: tuple[str, ...]  # other names FreshBooks gives the id


RESOURCES = {
    "users/clients": Resource("client", "client", "clients", ("userid",)),
    "invoices/invoices": Resource("invoice", "invoice", "invoices", ("invoiceid",)),
    "payments/payments": Resource("payment", "payment", "payments", ("logid",)),
    "credit_notes/credit_notes": Resource(
        "credit_note", "credit_note", "credit_notes", ("creditid",)
    ),
    "items/items": Resource("item", "item", "items", ("itemid",)),
}
_WITH_LINES = ("invoice", "credit_note")
_NONE_HELD = ("refund",)  # kinds of the handle the book never holds


def resource(path: str) -> Resource:
    try:
        return RESOURCES[path]
    except KeyError:
        raise refuse("request.unknown_resource", path=path) from None


class FreshBooksSandbox(SandboxHandle[FreshBooksBook]):
    """One sandbox account. Every operation raises ``FreshBooksFault`` on refusal."""

    def __init__(
        self,
        book: FreshBooksBook,
        oauth: OAuthServer,
        *,
        throttle: WindowThrottle,
        redirect_uri: str = "",
        **options: Unpack[HandleOptions],
    ) -> None:
        super().__init__(book, **options)
        self.oauth = oauth
        #: the app's registered redirect URI, which every token grant must carry
        self.redirect_uri = redirect_uri
        self._throttle = throttle

    # ------------------------------------------------------ handle for tests

    @property
    def account_id(self) -> str:
        return self.book.account_id

    def records(self, kind: str) -> list[dict[str, Any]]:
        """Records of ``kind`` (``customer``: clients, ``item``: every item, deleted ones
        included) in the book."""
        return [] if kind in _NONE_HELD else self.book.records(kind)

    # --------------------------------------------------------------- gates

    def admit(self, account_id: str, authorization: str | None) -> None:
        """Bearer token, account, injected and real throttling, in that order."""
        if self.require_auth and not bearer_ok(self.oauth, authorization):
            raise refuse("auth.unauthenticated")
        if account_id != self.account_id:
            raise refuse("auth.wrong_account", "account", "accountid", account_id)
        wait = self.injected_throttle()
        if wait is None:
            wait = self._throttle.admit(account_id)
            self.over_limit(wait)
        if wait is not None:
            raise refuse("limit.throttled", retry_after=wait)

    # ---------------------------------------------------------- operations

    def read(self, res: Resource, ident: str, includes: tuple[str, ...]) -> dict[str, Any]:
        record = self.book.get(res.kind, ident)
        if record is None:
            raise _not_found(res.kind, ident)
        return {res.single: _present(res.kind, record, includes)}

    def list(self, res: Resource, query: ListQuery) -> dict[str, Any]:
        rows = [r for r in self.book.records(res.kind) if query.matches(r)]
        page = [_present(res.kind, r, query.includes) for r in query.page_of(rows)]
        return {res.plural: page, **query.pages(len(rows))}

    def create(self, res: Resource, body: Any, includes: tuple[str, ...]) -> dict[str, Any]:
        fields = _fields_of(body, res)
        with self.book.transaction():
            record = self._create(res, fields)
        return {res.single: _present(res.kind, record, includes)}

    def update(
        self, res: Resource, ident: str, body: Any, includes: tuple[str, ...]
    ) -> dict[str, Any]:
        fields = _fields_of(body, res)
        with self.book.transaction():
            current = self.book.get(res.kind, ident)
            if current is None:
                raise _not_found(res.kind, ident)
            record = self._update(res, current, fields)
        return {res.single: _present(res.kind, record, includes)}

    def delete(self, res: Resource, ident: str) -> dict[str, Any]:
        """``DELETE`` (FreshBooks' SDK deletes invoices this way): ``vis_state`` 1."""
        self.update(res, ident, {res.single: {"vis_state": 1}}, ())
        return {}

    # -------------------------------------------------------------- writes

    def _create(self, res: Resource, fields: dict[str, Any]) -> dict[str, Any]:
        build = {
            "client": self._new_client,
            "invoice": self._new_invoice,
            "payment": self._new_payment,
            "credit_note": self._new_credit_note,
            "item": self._new_item,
        }[res.kind]
        return self.book.add(res.kind, build(fields), res.id_fields)

    def _new_client(self, fields: dict[str, Any]) -> dict[str, Any]:
        client = checked_client(
            fields, email_taken=self._email_taken(None), home_currency=self.home_currency
        )
        return client | {"signup_date": self.book.now_text(), "role": "client"}

    def _new_item(self, fields: dict[str, Any]) -> dict[str, Any]:
        item = checked_item(
            fields, name_taken=self._name_taken(None), home_currency=self.home_currency
        )
        return item | {"accounting_systemid": self.account_id}

    def _new_invoice(self, fields: dict[str, Any]) -> dict[str, Any]:
        invoice = checked_invoice(
            fields,
            client_of=self._getter("client"),
            number_taken=self._number_taken,
            next_number=self._next_number,
        )
        return with_amounts(invoice, Decimal(0), "invoice") | {
            "accountid": self.account_id,
            "created_at": self.book.now_text(),
        }

    def _new_credit_note(self, fields: dict[str, Any]) -> dict[str, Any]:
        note = checked_credit_note(fields, client_of=self._getter("client"))
        return with_amounts(note, Decimal(0), "credit_note")

    def _new_payment(self, fields: dict[str, Any]) -> dict[str, Any]:
        application = checked_payment(
            fields,
            invoice_of=self._getter("invoice"),
            credits_of=self._credits_of,
            today=self.book.now_text()[:10],
        )
        self._apply(application, application.amount)
        if application.excess <= 0 or application.invoice is None:
            return application.payment
        credit = overpayment_credit(
            application.invoice,
            application.excess,
            application.payment["date"],
            self._next_credit_number(),
        )
        added = self.book.add(
            "credit_note", credit, RESOURCES["credit_notes/credit_notes"].id_fields
        )
        return application.payment | {"overpaymentid": added["id"]}

    def _apply(self, application: Application, amount: Decimal) -> None:
        if application.invoice is not None and amount != 0:
            self.book.put("invoice", applied(application.invoice, amount, "invoice"))
        if application.credit is not None:
            self.book.put("credit_note", applied(application.credit, amount, "credit_note"))

    def _update(
        self, res: Resource, current: dict[str, Any], fields: dict[str, Any]
    ) -> dict[str, Any]:
        change = {
            "client": self._changed_client,
            "invoice": self._changed_invoice,
            "payment": self._changed_payment,
            "credit_note": self._changed_credit_note,
            "item": self._changed_item,
        }[res.kind]
        return self.book.put(res.kind, change(current, fields))

    def _changed_client(self, current: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        merged = {
            **{k: v for k, v in current.items() if k in CLIENT_FIELDS},
            **writable(fields, CLIENT_FIELDS, "client"),
        }
        checked = checked_client(
            merged, email_taken=self._email_taken(current["id"]), home_currency=self.home_currency
        )
        return current | checked

    def _changed_invoice(self, current: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        merged = changed_invoice(
            current,
            fields,
            client_of=self._getter("client"),
            number_taken=self._number_taken,
        )
        return with_amounts(merged, _paid(current, "invoice"), "invoice")

    def _changed_item(self, current: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        merged = {k: v for k, v in current.items() if k in ITEM_FIELDS} | fields
        checked = checked_item(
            merged, name_taken=self._name_taken(current["id"]), home_currency=self.home_currency
        )
        return current | checked

    def _changed_credit_note(
        self, current: dict[str, Any], fields: dict[str, Any]
    ) -> dict[str, Any]:
        changed = {**_document(current), **fields}
        merged = {**current, **checked_credit_note(changed, client_of=self._getter("client"))}
        return with_amounts(merged, _paid(current, "credit_note"), "credit_note")

    def _changed_payment(self, current: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        unsupported = set(fields) - {"note", "vis_state"}
        if unsupported:
            name = sorted(unsupported)[0]
            raise refuse("payment.change_unsupported", "payment", name)
        deleting = fields.get("vis_state") == 1 and current.get("vis_state") != 1
        if fields.get("vis_state") == 0 and current.get("vis_state") == 1:
            raise refuse("payment.restore_unsupported", "payment", "vis_state")
        if deleting:
            self._reverse(current)
        return current | fields

    def _reverse(self, payment: dict[str, Any]) -> None:
        """Give back what a deleted payment moved; its overpayment credit is deleted with
        it (refused once part of that credit was used)."""
        amount = decimal_of(payment["amount"]["amount"], "payment", "amount")
        overpaid = self._overpayment_of(payment)
        if overpaid is not None:
            amount -= decimal_of(overpaid["amount"]["amount"], "credit_note", "amount")
            self.book.put("credit_note", overpaid | {"vis_state": 1})
        invoice = self.book.get("invoice", payment["invoiceid"]) if payment["invoiceid"] else None
        credit = self.book.get("credit_note", payment["creditid"]) if payment["creditid"] else None
        self._apply(Application(payment, invoice, credit, -amount), -amount)

    def _overpayment_of(self, payment: Mapping[str, Any]) -> dict[str, Any] | None:
        credit = self.book.get("credit_note", payment.get("overpaymentid") or "")
        if credit is None or credit.get("vis_state") == 1:
            return None
        if _paid(credit, "credit_note") != 0:
            raise refuse("payment.overpayment_used", "payment", "vis_state")
        return credit

    # --------------------------------------------------------------- lookups

    def _getter(self, kind: str) -> Callable[[object], dict[str, Any] | None]:
        return lambda ident: self.book.get(kind, ident)

    def _credits_of(self, client_id: object) -> Iterator[dict[str, Any]]:
        for note in self.book.records("credit_note"):
            if str(note.get("clientid")) == str(client_id):
                yield note

    def _email_taken(self, exclude: object) -> Callable[[str], bool]:
        def taken(email: str) -> bool:
            return email.casefold() in emails(self.book.records("client"), exclude)

        return taken

    def _name_taken(self, exclude: object) -> Callable[[str], bool]:
        def taken(name: str) -> bool:
            return name in names(self.book.records("item"), exclude)

        return taken

    def _number_taken(self, number: str) -> bool:
        return any(str(r.get("invoice_number")) == number for r in self.book.records("invoice"))

    def _next_credit_number(self) -> str:
        return f"{self.book.count('credit_note') + 1:07d}"

    def _next_number(self) -> str:
        n = self.book.count("invoice") + 1
        while self._number_taken(f"{n:07d}"):
            n += 1
        return f"{n:07d}"


def _fields_of(body: Any, res: Resource) -> dict[str, Any]:
    fields = body.get(res.single) if isinstance(body, Mapping) else None
    if not isinstance(fields, Mapping):
        raise refuse("field.required", res.single, res.single)
    return dict(fields)


def _not_found(kind: str, ident: str) -> FreshBooksFault:
    label = kind.replace("_", " ").capitalize()
    return refuse("record.not_found", kind, "id", ident, label=label)


def _paid(document: Mapping[str, Any], obj: str) -> Decimal:
    return decimal_of(document["paid"]["amount"], obj, "paid")


def _document(note: Mapping[str, Any]) -> dict[str, Any]:
    keep = (
        "clientid",
        "create_date",
        "currency_code",
        "notes",
        "credit_type",
        "lines",
        "vis_state",
    )
    return {k: note[k] for k in keep if k in note}


def _present(kind: str, record: dict[str, Any], includes: tuple[str, ...]) -> dict[str, Any]:
    """Lines only when asked with ``include[]=lines`` (FreshBooks' includes)."""
    if kind in _WITH_LINES and "lines" not in includes:
        return {k: v for k, v in record.items() if k != "lines"}
    return record
