"""The canonical business records every source maps into and every ledger maps out of."""

from __future__ import annotations

import re
from abc import abstractmethod
from datetime import date
from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from syncledger.core.money import Currency, DecimalStr, quantize

RecordKind = Literal["customer", "invoice", "payment", "credit_note", "refund"]
RECORD_KINDS: tuple[RecordKind, ...] = ("customer", "invoice", "payment", "credit_note", "refund")
_REF_PART = re.compile(r"^[^/\s]{1,200}$")


class RecordRef(BaseModel):
    """``system/kind/id``, e.g. ``csv/invoice/INV-1001`` or ``qbo/invoice/145``."""

    model_config = ConfigDict(frozen=True)

    system: str
    kind: str
    id: str

    @classmethod
    def parse(cls, text: str) -> RecordRef:
        parts = text.split("/", 2)
        if len(parts) != 3 or not all(_REF_PART.match(p) for p in parts):
            raise ValueError(
                f"{text!r} is not a record reference: write <system>/<kind>/<id>, "
                "e.g. csv/invoice/INV-1001"
            )
        return cls(system=parts[0], kind=parts[1], id=parts[2])

    def __str__(self) -> str:
        return f"{self.system}/{self.kind}/{self.id}"


class Record(BaseModel):
    """Common base: frozen, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ClassVar[RecordKind]
    #: fields holding personal data: stored encrypted under the data subject's key
    PII_FIELDS: ClassVar[frozenset[str]] = frozenset()
    #: of those, the ones that may as well name a business (a customer's name, its tax id):
    #: sealed all the same, but alone they do not make a record one that carries personal
    #: data under the transfer rules (``core/data_map.py``), as before they were sealed
    MAY_NAME_A_BUSINESS: ClassVar[frozenset[str]] = frozenset()

    id: str = Field(min_length=1)

    @abstractmethod
    def customer_key(self) -> str:
        """Source id of the customer this record belongs to (its data subject)."""


class Customer(Record):
    kind: ClassVar[RecordKind] = "customer"
    #: the name and the tax id too: a sole trader's name is a person's, and a tax id is
    #: often a personal number (docs/security.md)
    PII_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"name", "contact_name", "email", "phone", "tax_id", "billing_address"}
    )
    MAY_NAME_A_BUSINESS: ClassVar[frozenset[str]] = frozenset({"name", "tax_id"})

    name: str
    currency: Currency
    contact_name: str | None = None
    email: str | None = None
    phone: str | None = None
    tax_id: str | None = None
    billing_address: str | None = None
    #: labels a scope rule can select on (``[rollout] tags``/``regions``, with
    #: ``tag_field = "tags"``/``region_field = "region"``); never sent to a ledger
    tags: tuple[str, ...] = ()
    region: str | None = None

    def customer_key(self) -> str:
        return self.id


LineType = Literal["item", "service", "fee"]


class InvoiceLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    description: str
    quantity: DecimalStr
    unit_price: DecimalStr
    tax_amount: DecimalStr = Decimal("0")
    item_code: str | None = None
    line_type: LineType = "item"

    @property
    def net(self) -> Decimal:
        return self.quantity * self.unit_price


class _Document(Record):
    number: str
    customer_id: str
    issue_date: date
    currency: Currency
    lines: tuple[InvoiceLine, ...]
    discount: DecimalStr = Decimal("0")
    total: DecimalStr
    exchange_rate: DecimalStr | None = None

    def customer_key(self) -> str:
        return self.customer_id

    def line_amount(self, line: InvoiceLine) -> Decimal:
        """quantity x unit price, rounded to the currency's minor unit *per line*, as every
        ledger computes it (QBO ``Amount``, Xero ``LineAmount``, …)."""
        return quantize(line.net, self.currency)

    def computed_total(self) -> Decimal:
        """Σ (rounded line amount + line tax) - discount, in the currency's minor unit."""
        lines = sum((self.line_amount(ln) + ln.tax_amount for ln in self.lines), Decimal(0))
        return quantize(lines - self.discount, self.currency)

    @property
    def tax_total(self) -> Decimal:
        return sum((ln.tax_amount for ln in self.lines), Decimal(0))


class Invoice(_Document):
    kind: ClassVar[RecordKind] = "invoice"

    due_date: date | None = None
    #: ``disputed``: the customer contests it; the sync credits its open balance with a
    #: credit note (the invoice itself is never edited or deleted)
    status: Literal["open", "void", "disputed"] = "open"
    #: the source asks the ledger to e-mail the invoice to the customer (its address on
    #: file in the ledger) once it is there; sent once (``core/delivery.py``)
    send: bool = False


class CreditNote(_Document):
    kind: ClassVar[RecordKind] = "credit_note"

    invoice_id: str | None = None


class Payment(Record):
    kind: ClassVar[RecordKind] = "payment"

    customer_id: str
    invoice_id: str
    amount: DecimalStr
    currency: Currency
    paid_on: date
    method: str | None = None
    reference: str | None = None

    def customer_key(self) -> str:
        return self.customer_id


class Refund(Record):
    """Money paid back to a customer out of a credit they hold: the unapplied remainder
    of an overpayment (``payment_id``) or a credit note's remaining credit
    (``credit_note_id``). Exactly one of the two is set."""

    kind: ClassVar[RecordKind] = "refund"

    customer_id: str
    amount: DecimalStr
    currency: Currency
    refunded_on: date
    payment_id: str | None = None
    credit_note_id: str | None = None
    method: str | None = None
    reference: str | None = None

    @model_validator(mode="after")
    def _one_credit(self) -> Refund:
        if (self.payment_id is None) == (self.credit_note_id is None):
            raise ValueError(
                "a refund draws on exactly one credit: set payment_id (an overpayment) "
                "or credit_note_id (a credit note), not both or neither"
            )
        return self

    @property
    def credit_kind(self) -> Literal["payment", "credit_note"]:
        return "payment" if self.payment_id is not None else "credit_note"

    @property
    def credit_id(self) -> str:
        credit = self.payment_id if self.payment_id is not None else self.credit_note_id
        assert credit is not None
        return credit

    def customer_key(self) -> str:
        return self.customer_id


RECORD_TYPES: dict[str, type[Record]] = {
    "customer": Customer,
    "invoice": Invoice,
    "payment": Payment,
    "credit_note": CreditNote,
    "refund": Refund,
}
