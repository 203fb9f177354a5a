"""Canonical records ↔ Sage Business Cloud Accounting v3.1 JSON, driven by
``adapters/sage/mapping.toml``.

Where our source reference lives on the ledger record (read back by ``SageLedger.find``):

=========== ========================================= ==================================
kind        searchable                                faithful reference
=========== ========================================= ==================================
customer    ``reference`` (unique per business)       ``notes``: ``syncledger-ref: <ref>``
invoice     ``reference`` = our number (``search``)   ``notes``
credit_note ``reference`` = our number (``search``)   ``notes``
payment     none (newest first, ``sort``)             ``reference`` ends with our ref
refund      none (newest first, ``sort``)             ``reference`` ends with our ref
=========== ========================================= ==================================

Contact payments (receipts and refunds) have no notes: their ``reference`` is the human
reference cut short, then our source reference itself when it fits Sage's limit (read back
by ``get``), else a token ``SL-`` + 12 hex digits of its SHA-256 (found by ``find`` only).

Items: a line whose ``item_code`` names a product or service of the business is booked to
it, with ``service_id`` / ``product_id`` and the item's own sales ledger account (Sage fills
the line in the same way when someone picks the item by hand); other lines keep the
``[invoice.lines]`` account. Reads give each line's ``service`` / ``product`` as a link
``{"id", "displayed_as", "$path"}`` (``line_item_links``). Items syncledger creates are
services (``item_body``): Sage's "non-physical items that you buy and sell", which need only
a description and a sales ledger account, where a product also needs a purchase account.

Versions: Sage has no concurrency token and shows ``updated_at`` at whole seconds, so two
changes within one second would look the same. A version here is ``updated_at`` plus a
digest of the record's content (``2026-03-01T10:00:00Z~3fa9c2d1e0b4``): it changes whenever
what Sage holds changes.

Sage's published lengths (``maxLength`` in the Accounting v3.1 swagger,
``developer.sage.com/api/accounting/files/swagger.full.json``, definitions ``Contact``,
``ContactPerson``, ``Address``, ``SalesInvoice``, ``SalesCreditNote``; read in the copy
kept by nook-io/python-sage ``openapi.json``): a contact's ``reference`` holds at most
**10** characters, its ``name`` 100; the main contact person's ``name`` and ``telephone``
50, ``email`` 100; each of ``address_line_1``, ``address_line_2``, ``city`` and ``region``
50; a document's ``reference`` 25 and ``notes`` 2000, a contact's ``notes`` 4000.

Contact references (``contact_code``): the source id itself when it is at most 10
characters of ``[A-Za-z0-9_.-]``, else ``SL`` + 8 base-32 characters of the SHA-256 of the
source id (deterministic: any process, before or after a restart, derives the same code).
Should that code be taken by a contact that is not ours (another system's record with the
same id, a hand-made contact, a hash collision), the next candidate is derived from the
source id and the attempt number, up to ``CODE_ATTEMPTS``; ``find`` searches every
candidate. The faithful cross-reference is kept in the ledger itself: the contact's
``notes`` carry our whole source reference (``syncledger-ref: <ref>``).

Addresses (``address_fields``): the lines of the canonical ``billing_address`` fill
``main_address``'s ``address_line_1``, ``address_line_2``, ``city`` and ``region`` in that
order (``[customer.address]``); more lines than fields, or a line longer than Sage's 50, is
refused before anything is sent (``too_long``), never cut.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from syncledger.adapters.kit import wire_mapping as kit
from syncledger.adapters.kit.wire_mapping import ref_in as ref_in
from syncledger.adapters.kit.wire_mapping import ref_note as ref_note
from syncledger.adapters.wire_dates import iso_day
from syncledger.core.errors import ConfigurationError, PermanentLedgerError
from syncledger.core.model import (
    CreditNote,
    Customer,
    Invoice,
    InvoiceLine,
    Payment,
    RecordRef,
    Refund,
)
from syncledger.core.money import minor_unit, quantize, to_decimal
from syncledger.core.ports import LedgerItem, LedgerRecord

_TOKEN = re.compile(r"SL-[0-9A-F]{12}$")
_SAFE_CODE = re.compile(r"^[A-Za-z0-9_.-]+$")
#: Sage's cap on a contact's ``reference`` (swagger ``Contact.reference`` maxLength 10)
CODE_LIMIT = 10
#: how many candidate references a contact may try when one is taken by another contact
CODE_ATTEMPTS = 3
#: Sage's published lengths of the strings we send (swagger ``maxLength``, see above)
CONTACT_LIMITS = {
    "name": 100,
    "reference": CODE_LIMIT,
    "notes": 4000,
    "main_contact_person.name": 50,
    "main_contact_person.telephone": 50,
    "main_contact_person.email": 100,
    "main_address.address_line_1": 50,
    "main_address.address_line_2": 50,
    "main_address.city": 50,
    "main_address.region": 50,
}
DOCUMENT_LIMITS = {"reference": 25, "notes": 2000}
RATE_PLACES = Decimal("0.000001")
#: fields left out of a version digest: derived from other records, not edits of this one
_NOT_VERSIONED = frozenset({"balance"})
Document = Invoice | CreditNote
#: item resources, in the order lookups try them, and the key a line names each by
ITEM_RESOURCES = ("services", "products")
ITEM_LINE_KEY = {"services": "service", "products": "product"}
#: ``[new_items]`` keys (all optional): see ``adapters/sage/mapping.toml``
NEW_ITEM_KEYS = frozenset({"sales_tax_rate_id"})


# ------------------------------------------------------------------ references


def ref_token(external_ref: str) -> str:
    """``SL-`` + 12 upper-case hex digits of the reference's SHA-256 (15 characters)."""
    return "SL-" + hashlib.sha256(external_ref.encode()).hexdigest()[:12].upper()


def token_in(text: object) -> str | None:
    match = _TOKEN.search(text) if isinstance(text, str) else None
    return match.group(0) if match else None


def ref_at_end(text: object, kind: str) -> str | None:
    """Our ``system/<kind>/id`` reference when it is the last word of ``text``."""
    words = text.split() if isinstance(text, str) else []
    try:
        ref = RecordRef.parse(words[-1]) if words else None
    except ValueError:
        return None
    return str(ref) if ref is not None and ref.kind == kind else None


def tax_key(tax_id: object) -> str | None:
    """A tax id compared the way registries print it: upper case, no spaces, dots or dashes."""
    if not isinstance(tax_id, str):
        return None
    return "".join(ch for ch in tax_id.upper() if ch.isalnum()) or None


def derived_code(ident: str, attempt: int = 0) -> str:
    """``SL`` + 8 base-32 characters of the SHA-256 of ``ident`` (and ``attempt`` after the
    first): 10 characters, Sage's cap, the same in every process."""
    seed = ident if attempt == 0 else f"{ident}\x00{attempt}"
    digest = hashlib.sha256(seed.encode()).digest()
    return "SL" + base64.b32encode(digest).decode()[:8]


def source_id(external_ref: str) -> str:
    """The id part of ``system/kind/id`` (the whole text when it is not a reference)."""
    try:
        return RecordRef.parse(external_ref).id
    except ValueError:
        return external_ref


# ----------------------------------------------------------------------- items


@dataclass(frozen=True, slots=True)
class SageItem:
    """A product or service lines can be booked to. ``code`` is its ``item_code``, or its
    id when it has none (Sage makes the code optional): a line can name it either way."""

    resource: str  # services, products
    ledger_id: str
    code: str
    description: str | None = None
    sales_ledger_account_id: str | None = None

    @property
    def line_key(self) -> str:
        """The line field naming it: ``service_id`` or ``product_id``."""
        return ITEM_LINE_KEY[self.resource] + "_id"

    def public(self) -> LedgerItem:
        return LedgerItem(self.ledger_id, self.code, self.description)


def to_item(resource: str, raw: Mapping[str, Any]) -> SageItem:
    ident = str(raw["id"])
    return SageItem(
        resource=resource,
        ledger_id=ident,
        code=kit.text(raw.get("item_code")) or ident,
        description=kit.text(raw.get("description") or raw.get("displayed_as")),
        sales_ledger_account_id=_link_id(raw, "sales_ledger_account"),
    )


def line_item_links(raw: Mapping[str, Any]) -> list[tuple[str, str] | None]:
    """Per document line, the ``(resource, id)`` of the item it is booked to, or None."""
    lines = raw.get("invoice_lines") or raw.get("credit_note_lines") or []
    return [_item_link(line) for line in lines if isinstance(line, Mapping)]


def _item_link(line: Mapping[str, Any]) -> tuple[str, str] | None:
    for resource, key in ITEM_LINE_KEY.items():
        link = line.get(key)
        if isinstance(link, Mapping) and link.get("id"):
            return resource, str(link["id"])
    return None


# --------------------------------------------------------------------- mapping


@dataclass(frozen=True, slots=True)
class SageMapping:
    """The parsed mapping file; ``digest`` identifies this mapping version."""

    version: str
    digest: str
    fields: Mapping[str, Mapping[str, tuple[str, ...]]]  # kind → canonical → Sage paths
    settings: Mapping[str, Mapping[str, Any]]  # kind → its other tables, flattened

    def setting(self, kind: str, name: str) -> str:
        return str(self.settings[kind][name])

    # --------------------------------------------------------------- customers

    def contact_code(self, external_ref: str, attempt: int = 0) -> str:
        """The contact's unique ``reference`` (at most ``code_limit`` ≤ 10 characters):
        the source id when it fits, else a derived code; ``attempt`` > 0 gives the next
        candidate when a contact that is not ours holds the earlier one."""
        ident = source_id(external_ref)
        limit = int(self.settings["customer"]["code_limit"])
        readable = len(ident) <= limit and _SAFE_CODE.match(ident)
        if readable and attempt == 0:
            return ident
        return derived_code(ident, attempt)

    def contact_codes(self, external_ref: str) -> list[str]:
        """Every candidate ``reference`` of the contact, in the order creates try them."""
        codes = [self.contact_code(external_ref, n) for n in range(CODE_ATTEMPTS)]
        return list(dict.fromkeys(codes))

    def contact_body(
        self, customer: Customer, external_ref: str, *, code: str | None = None
    ) -> dict[str, Any]:
        """The contact as Sage takes it; ``code`` its ``reference`` (default: the first
        candidate). Refused (``too_long``) when a field exceeds Sage's published length."""
        body = self._fields("customer", customer.model_dump(exclude_none=True))
        address = self.address_fields(customer.billing_address)
        if address:
            body[self.setting("customer", "address_field")] = address
        body["contact_type_ids"] = [self.setting("customer", "contact_type_id")]
        body["reference"] = code or self.contact_code(external_ref)
        body[self.setting("customer", "field")] = ref_note(external_ref)
        check_lengths(body, CONTACT_LIMITS, f"customer {customer.id}")
        return body

    def address_fields(self, address: str | None) -> dict[str, str]:
        """The address's non-blank lines, one per ``[customer.address] lines`` field."""
        lines = [ln.strip() for ln in (address or "").splitlines() if ln.strip()]
        fields: list[str] = list(self.settings["customer"]["address_lines"])
        if len(lines) > len(fields):
            raise PermanentLedgerError(
                f"billing_address has {len(lines)} lines; Sage Accounting keeps {len(fields)} "
                f"({', '.join(fields)}): merge some lines in the source",
                code="too_long",
            )
        return dict(zip(fields, lines, strict=False))

    # --------------------------------------------------------------- documents

    def document_body(
        self,
        kind: str,
        document: Document,
        customer_ledger_id: str,
        external_ref: str,
        *,
        foreign: bool,
        items: Mapping[str, SageItem] | None = None,
    ) -> dict[str, Any]:
        """A sales invoice (``kind`` invoice) or credit note body; Sage's total checked
        against ours before anything is sent. ``items``: the item each ``item_code`` of
        the lines names (a code missing from it is refused)."""
        body = self._fields(kind, _document_values(document))
        body["contact_id"] = customer_ledger_id
        body[_lines_key(kind)] = self.lines(document, items or {})
        body[self.setting(kind, "field")] = ref_note(external_ref)
        body |= _rates(document, foreign)
        check_total(document, body[_lines_key(kind)])
        check_lengths(body, DOCUMENT_LIMITS, f"{document.kind} {document.number}")
        return body

    def lines(
        self, document: Document, items: Mapping[str, SageItem] | None = None
    ) -> list[dict[str, Any]]:
        currency = document.currency
        discounts = spread(document.discount, [sage_net(ln, currency) for ln in document.lines])
        known = items or {}
        booked = [None if ln.item_code is None else known[ln.item_code] for ln in document.lines]
        return [
            self._line(ln, d, currency, item)
            for ln, d, item in zip(document.lines, discounts, booked, strict=True)
        ]

    def _line(
        self, line: InvoiceLine, discount: Decimal, currency: str, item: SageItem | None
    ) -> dict[str, Any]:
        lines = self.settings["invoice"]
        taxed = line.tax_amount != 0
        account = item.sales_ledger_account_id if item is not None else None
        body: dict[str, Any] = {
            "description": line.description,
            "ledger_account_id": account or str(lines["ledger_account_id"]),
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "tax_rate_id": str(lines["taxed_tax_rate_id" if taxed else "untaxed_tax_rate_id"]),
            "tax_amount": quantize(line.tax_amount, currency),
        }
        if discount:
            body["discount_amount"] = discount
        if item is not None:
            body[item.line_key] = item.ledger_id
        return body

    def item_body(self, code: str) -> dict[str, Any]:
        """A new service coded and described ``code``, sold to the ``[invoice.lines]``
        account, with the ``[new_items]`` settings."""
        return {
            "item_code": code,
            "description": code,
            "sales_ledger_account_id": self.setting("invoice", "ledger_account_id"),
            **self.settings["new_items"],
        }

    # ---------------------------------------------------------------- payments

    def payment_body(
        self,
        payment: Payment,
        customer_ledger_id: str,
        invoice_ledger_id: str,
        external_ref: str,
        applied: Decimal | None = None,
    ) -> dict[str, Any]:
        """A customer receipt of the whole amount, ``applied`` of it (None: all) allocated
        to the invoice; Sage keeps what is not allocated as a payment on account."""
        part = kit.applied_part(payment, applied)
        values = payment.model_dump(exclude_none=True) | {"amount": payment.amount}
        body = self._fields("payment", values)
        body["transaction_type_id"] = self.setting("payment", "transaction_type_id")
        body["contact_id"] = customer_ledger_id
        body["bank_account_id"] = self.setting("payment", "bank_account_id")
        body["allocated_artefacts"] = (
            [{"artefact_id": invoice_ledger_id, "amount": part}] if part else []
        )
        body[self.setting("payment", "field")] = self.payment_reference(
            payment.reference, external_ref
        )
        return body

    def refund_body(
        self, refund: Refund, customer_ledger_id: str, artefact_id: str, external_ref: str
    ) -> dict[str, Any]:
        """A customer refund allocating its whole amount to one credit: a sales credit note
        or a payment on account (``artefact_id``)."""
        return {
            "transaction_type_id": self.setting("refund", "transaction_type_id"),
            "contact_id": customer_ledger_id,
            "bank_account_id": self.setting("refund", "bank_account_id"),
            "date": refund.refunded_on.isoformat(),
            "total_amount": refund.amount,
            "currency_id": refund.currency,
            "allocated_artefacts": [{"artefact_id": artefact_id, "amount": refund.amount}],
            self.setting("refund", "field"): self.payment_reference(
                refund.reference, external_ref, "refund"
            ),
        }

    def payment_reference(self, human: str | None, external_ref: str, kind: str = "payment") -> str:
        """The human reference, cut to fit, then our source reference (its token when the
        reference itself does not fit the limit)."""
        limit = int(self.settings[kind]["limit"])
        fits = len(external_ref) <= limit and len(external_ref.split()) == 1
        carrier = external_ref if fits else ref_token(external_ref)
        room = limit - len(carrier) - 1
        cut = (human or "")[: max(room, 0)].strip()
        return f"{cut} {carrier}" if cut else carrier

    def allocation_body(
        self,
        credit_note: CreditNote,
        customer_ledger_id: str,
        invoice_id: str,
        note_id: str,
        amount: Decimal | None = None,
    ) -> dict[str, Any]:
        """Apply ``amount`` (None: the whole credit note) to the invoice: invoice +amount,
        credit note −amount."""
        part = credit_note.total if amount is None else amount
        return {
            "transaction_type_id": self.setting("allocation", "transaction_type_id"),
            "contact_id": customer_ledger_id,
            "date": credit_note.issue_date.isoformat(),
            "allocated_artefacts": [
                {"artefact_id": invoice_id, "amount": part},
                {"artefact_id": note_id, "amount": -part},
            ],
        }

    # ----------------------------------------------------------------- helpers

    def _fields(self, kind: str, values: Mapping[str, Any]) -> dict[str, Any]:
        return kit.fields_body(self.fields[kind], values)


def _lines_key(kind: str) -> str:
    return "credit_note_lines" if kind == "credit_note" else "invoice_lines"


def _document_values(document: Document) -> dict[str, Any]:
    return {
        "number": document.number,
        "issue_date": document.issue_date,
        "due_date": getattr(document, "due_date", None),
        "currency": document.currency,
    }


def _rates(document: Document, foreign: bool) -> dict[str, Any]:
    """Ours is home currency per foreign unit: Sage's ``inverse_exchange_rate``; its
    ``exchange_rate`` is the other way round. Never a default rate: refuse instead."""
    if not foreign:
        return {}
    rate = document.exchange_rate
    if rate is None or rate <= 0:
        raise PermanentLedgerError(
            f"{document.kind} {document.number} is in {document.currency}, not the business's "
            "base currency, and has no exchange rate: set exchange_rate (base currency per 1 "
            f"{document.currency}) in the source",
            code="syncledger.exchange_rate_missing",
        )
    return {
        "exchange_rate": (Decimal(1) / rate).quantize(RATE_PLACES),
        "inverse_exchange_rate": rate,
    }


def sage_net(line: InvoiceLine, currency: str) -> Decimal:
    """Sage's line amount: quantity × unit price rounded half up to the minor unit."""
    exponent = Decimal(1).scaleb(-minor_unit(currency))
    return (line.quantity * line.unit_price).quantize(exponent, rounding=ROUND_HALF_UP)


def spread(discount: Decimal, nets: Sequence[Decimal]) -> list[Decimal]:
    """``discount`` split over ``nets`` in proportion, each share rounded like the nets;
    what rounding leaves over goes to the largest net."""
    total = sum(nets, Decimal(0))
    if discount == 0 or total == 0:
        return [Decimal(0)] * len(nets)
    exponent = min((n.as_tuple().exponent for n in nets), default=-2)
    unit = Decimal(1).scaleb(int(exponent))
    shares = [(discount * n / total).quantize(unit, rounding=ROUND_HALF_UP) for n in nets]
    largest = max(range(len(nets)), key=lambda i: nets[i])
    shares[largest] += discount - sum(shares, Decimal(0))
    return shares


def sage_total(lines: Sequence[Mapping[str, Any]], currency: str) -> Decimal:
    """What Sage will compute as ``total_amount`` for these lines."""
    total = Decimal(0)
    for line in lines:
        net = quantize_half_up(
            to_decimal(line["quantity"]) * to_decimal(line["unit_price"]), currency
        )
        total += net - to_decimal(line.get("discount_amount", 0)) + to_decimal(line["tax_amount"])
    return total


def quantize_half_up(value: Decimal, currency: str) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-minor_unit(currency)), rounding=ROUND_HALF_UP)


def check_total(document: Document, lines: Sequence[Mapping[str, Any]]) -> None:
    how = "lines rounded to the cent, less discount, plus tax"
    kit.check_total(document, sage_total(lines, document.currency), "Sage", how)


def check_lengths(body: Mapping[str, Any], limits: Mapping[str, int], what: str) -> None:
    """Refuse (``too_long``) before sending a string longer than Sage publishes."""
    for path, limit in limits.items():
        value = kit.get_path(body, path)
        if isinstance(value, str) and len(value) > limit:
            raise PermanentLedgerError(
                f"{what}: {path} is {len(value)} characters; Sage Accounting takes at most "
                f"{limit}: shorten it in the source",
                code="too_long",
            )


# -------------------------------------------------------------------- loading


def load_mapping(path: Path | None = None) -> SageMapping:
    """The mapping at ``path``, or the default ``adapters/sage/mapping.toml``."""
    return kit.load_toml_mapping("syncledger.adapters.sage", "Sage", path, _mapping_from)


def _mapping_from(raw: Mapping[str, Any], digest: str) -> SageMapping:
    kinds = ("customer", "invoice", "credit_note", "payment")
    return SageMapping(
        version=str(raw["version"]),
        digest=digest,
        fields={kind: kit.paths(raw[kind]["fields"]) for kind in kinds},
        settings={
            "customer": _customer_settings(raw["customer"]),
            "invoice": _flat(raw["invoice"]),
            "credit_note": _flat(raw["credit_note"]),
            "payment": _flat(raw["payment"]),
            "refund": _refund_settings(raw),
            "allocation": _flat(raw["allocation"]),
            "new_items": _new_items(raw.get("new_items", {})),
        },
    )


def _customer_settings(table: Mapping[str, Any]) -> dict[str, Any]:
    """``code_limit`` at most Sage's 10; ``[customer.address]`` with its ``field`` and
    ``lines`` (defaults: ``main_address`` and Sage's four line fields)."""
    settings = _flat({k: v for k, v in table.items() if k != "address"})
    limit = int(settings.get("code_limit", CODE_LIMIT))
    if not 1 <= limit <= CODE_LIMIT:
        raise ConfigurationError(
            f"Sage mapping: [customer.reference] code_limit {limit} is not 1-{CODE_LIMIT}: a "
            f"contact's reference holds at most {CODE_LIMIT} characters in Sage Accounting"
        )
    address = table.get("address", {})
    lines = address.get("lines", ["address_line_1", "address_line_2", "city", "region"])
    return settings | {
        "code_limit": limit,
        "address_field": str(address.get("field", "main_address")),
        "address_lines": tuple(str(line) for line in lines),
    }


def _new_items(table: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(table) - NEW_ITEM_KEYS)
    if unknown:
        raise ConfigurationError(
            f"Sage mapping: [new_items] has unknown keys {unknown}; known: {sorted(NEW_ITEM_KEYS)}"
        )
    return {key: str(value) for key, value in table.items()}


def _refund_settings(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A ``[refund]`` table is optional: refunds go out of the receipts' bank account with
    the receipts' reference rules unless it says otherwise."""
    payment = _flat(raw["payment"])
    defaults = {key: payment[key] for key in ("bank_account_id", "field", "limit")}
    return defaults | {"transaction_type_id": "CUSTOMER_REFUND"} | _flat(raw.get("refund", {}))


def _flat(table: Mapping[str, Any]) -> dict[str, Any]:
    """A kind's tables other than ``fields`` merged into one (``reference.field`` → ``field``)."""
    flat: dict[str, Any] = {}
    for key, value in table.items():
        if key == "fields":
            continue
        flat |= value if isinstance(value, dict) else {key: value}
    return flat


# ----------------------------------------------------------------- ledger → canonical


def version_of(raw: Mapping[str, Any]) -> str:
    """``updated_at`` plus a digest of the content (see the module docstring)."""
    content = {k: v for k, v in raw.items() if k not in _NOT_VERSIONED}
    text = json.dumps(content, sort_keys=True, default=str, separators=(",", ":"))
    return f"{raw.get('updated_at')}~{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def to_record(kind: str, raw: Mapping[str, Any]) -> LedgerRecord:
    common: dict[str, Any] = {
        "kind": kind,
        "ledger_id": str(raw["id"]),
        "version": version_of(raw),
        "external_ref": ref_in(raw.get("notes")),
        "updated_at": _time(raw.get("updated_at")),
        "raw": dict(raw),
    }
    if kind == "customer":
        return LedgerRecord(**common, **_customer_parts(raw))
    if kind in ("payment", "refund"):
        return LedgerRecord(**(common | _contact_payment_parts(kind, raw)))
    return LedgerRecord(**common, **_document_parts(raw))


def _customer_parts(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": kit.text(raw.get("name")),
        "currency": _link_id(raw, "currency"),
        "balance": kit.amount(raw.get("balance")),
        "status": "active",
    }


def _document_parts(raw: Mapping[str, Any]) -> dict[str, Any]:
    total = kit.amount(raw.get("total_amount"))
    balance = kit.amount(raw.get("outstanding_amount"))
    return {
        "name": kit.text(raw.get("reference") or raw.get("displayed_as")),
        "customer_ledger_id": _link_id(raw, "contact"),
        "currency": _link_id(raw, "currency"),
        "total": total,
        "tax": kit.amount(raw.get("tax_amount")),
        "balance": balance,
        "status": _status(raw, total, balance),
        "due_date": iso_day(raw.get("due_date")),  # what the mapping writes; credits: none
    }


def _contact_payment_parts(kind: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """A receipt's ``balance`` is what is left of its payment on account (not yet
    allocated nor refunded); a refund has none."""
    reference = str(raw.get("reference") or "")
    ref = ref_at_end(reference, kind)
    carrier = ref or token_in(reference) or ""
    on_account = raw.get("payment_on_account") or {}
    left = kit.amount(on_account.get("outstanding_amount", 0))
    return {
        "external_ref": ref,
        "name": reference.removesuffix(carrier).strip() or None,
        "customer_ledger_id": _link_id(raw, "contact"),
        "currency": _link_id(raw, "currency"),
        "total": kit.amount(raw.get("total_amount")),
        "balance": left if kind == "payment" else None,
        "status": "applied" if kind == "payment" else None,
    }


def _status(raw: Mapping[str, Any], total: Decimal | None, balance: Decimal | None) -> str:
    if _link_id(raw, "status") == "VOID":
        return "void"
    if balance is None or total is None or balance == total:
        return "open"
    return "paid" if balance == 0 else "partially_paid"


def _link_id(raw: Mapping[str, Any], field: str) -> str | None:
    value = raw.get(field)
    return kit.text(value.get("id")) if isinstance(value, Mapping) else None


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None
