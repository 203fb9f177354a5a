"""HubSpot records → syncledger's canonical source items.

The property names come from ``source_mapping.toml`` (loaded with tomllib when a reader
connects); the canonical field names are the CSV source's (adapters/sources/csv_source.py
``CUSTOMERS``/``INVOICES``, docs/csv.md): a customer has ``id, name, currency,
contact_name, email, phone, tax_id, billing_address``; an invoice ``number, customer_id,
issue_date, due_date, currency, total, lines=[{description, quantity, unit_price,
item_code}]``. HubSpot's property values are all strings (SOURCES.md §1.5), so amounts
are read as ``Decimal``, never float.

Ids: companies and contacts are both customers and their numeric ids may collide across
object types, so a company's customer id is its HubSpot id and a contact's is
``contact-<id>``; an invoice's id is the deal's id (``hubspot/invoice/<dealId>`` is its
source ref).

Tax and discounts on line items: HubSpot documents no line-item property that gives a
line's tax or discount *amount*. Its line items guide documents ``hs_tax_rate_group_id``
only ("To include the tax rate for your line item, include its ID as the
hs_tax_rate_group_id", SOURCES.md §1.5): the id of a tax rate, not an amount; its
knowledge base lists the default line-item properties by display name only; discounts and
taxes as objects of their own are documented for quotes, not deals (the discounts and
taxes guides: "associate a discount as part of the pricing details of a quote"). Internal
names such as ``hs_discount_percentage``, ``discount``, ``hs_total_discount``,
``hs_tax_amount`` appear only in third-party code, with conflicting meanings. So nothing is
read from them into an amount: a line on which any ``[line_item] refuse_when_set``
property holds a value (not empty, not zero) makes its deal malformed (``malformed_row``,
the message naming the line and the property), never an invoice without its tax or
discount. A name a portal does not have is simply not returned (HubSpot ignores requested
properties a record lacks), so listing one costs nothing.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from syncledger.adapters.hubspot.rates import ExchangeRates
from syncledger.core.errors import ConfigurationError
from syncledger.core.ports import SourceItem
from syncledger.core.validation import MALFORMED_FIELD

SYSTEM = "hubspot"
MAPPING_FILE = Path(__file__).with_name("source_mapping.toml")
ContactPolicy = Literal["unless_company", "always", "never"]


@dataclass(frozen=True, slots=True)
class SourceMapping:
    version: int
    closed_stage: str
    contacts: ContactPolicy
    default_currency: str
    #: the books' home currency (``[settings] home_currency``, default ``default_currency``):
    #: HubSpot's exchange rates become an invoice's ``exchange_rate`` only when HubSpot's
    #: company currency is this one (:mod:`syncledger.adapters.hubspot.rates`)
    home_currency: str
    #: the payment terms deals are invoiced on (``[settings] due_days``): the due date is
    #: the issue date plus these days (deals carry no due date of their own)
    due_days: int
    company: Mapping[str, Any]
    contact: Mapping[str, Any]
    deal: Mapping[str, str]
    line_item: Mapping[str, Any]

    def properties(self, section: str) -> list[str]:
        table: Mapping[str, Any] = getattr(self, section)
        names = [n for v in table.values() for n in ([v] if isinstance(v, str) else v)]
        return sorted({n for n in names if n})


def load_mapping(path: Path = MAPPING_FILE, *, closed_stage: str | None = None) -> SourceMapping:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        settings = raw["settings"]
        policy = settings.get("contacts", "unless_company")
        if policy not in ("unless_company", "always", "never"):
            raise ValueError(f"contacts = {policy!r}")
        return SourceMapping(
            int(raw["version"]),
            closed_stage or str(settings["closed_stage"]),
            policy,
            str(settings["default_currency"]),
            str(settings.get("home_currency") or settings["default_currency"]).upper(),
            _days(settings.get("due_days", 30)),
            raw["company"],
            raw["contact"],
            raw["deal"],
            raw["line_item"],
        )
    except (OSError, tomllib.TOMLDecodeError, KeyError, ValueError, TypeError) as exc:
        raise ConfigurationError(
            f"HubSpot mapping {path} is unusable ({type(exc).__name__}: {exc}): restore it "
            "from the release or fix the named setting"
        ) from exc


def _value(props: Mapping[str, Any], spec: str | Sequence[str], sep: str = " ") -> str:
    names = [spec] if isinstance(spec, str) else list(spec)
    return sep.join(str(props[n]).strip() for n in names if n and props.get(n)).strip()


def modified(record: Mapping[str, Any]) -> str:
    """The record's version: ``updatedAt`` (ISO 8601)."""
    return str(record.get("updatedAt") or "")


def customer_item(kind: str, record: Mapping[str, Any], m: SourceMapping) -> SourceItem:
    """A company or contact as a customer item (``kind``: company or contact)."""
    props = record.get("properties") or {}
    table = m.company if kind == "company" else m.contact
    name = _value(props, table.get("name", "name"))
    currency = _value(props, table["currency"]) if table.get("currency") else ""
    fields: dict[str, Any] = {
        "id": customer_id(kind, str(record["id"])),
        "name": name,
        "currency": currency.upper() or m.default_currency,
    }
    if kind == "contact":
        fields["contact_name"] = name
    for field in ("email", "phone", "tax_id"):
        if table.get(field):
            fields[field] = _value(props, table[field])
    if table.get("billing_address"):
        fields["billing_address"] = _value(props, table["billing_address"], "\n")
    fields = {k: v for k, v in fields.items() if v != ""}
    return SourceItem(
        SYSTEM, "customer", fields["id"], modified(record), fields, bool(record.get("archived"))
    )


def deleted_item(kind: str, item_id: str, record: Mapping[str, Any]) -> SourceItem:
    version = str(record.get("archivedAt") or record.get("updatedAt") or "")
    return SourceItem(SYSTEM, kind, item_id, version, {"id": item_id}, True)


def _decimal(text: Any, what: str, problems: list[str]) -> Decimal:
    try:
        return Decimal(str(text).strip() or "0")
    except InvalidOperation:
        problems.append(f"{what} {text!r} is not a number")
        return Decimal(0)


def _holds_value(value: Any) -> bool:
    text = str(value if value is not None else "").strip()
    try:
        return Decimal(text or "0") != 0
    except InvalidOperation:
        return True  # text (an id, a label): something applies


def unreadable_terms(record: Mapping[str, Any], m: SourceMapping) -> list[str]:
    """The ``refuse_when_set`` properties that hold a value on this line item."""
    props = record.get("properties") or {}
    names = m.line_item.get("refuse_when_set") or []
    return [n for n in names if _holds_value(props.get(n))]


def _refused_terms(record: Mapping[str, Any], found: Sequence[str]) -> str:
    return (
        f"line item {record.get('id')} carries {', '.join(found)} (a tax rate or a "
        "discount) and HubSpot documents no line-item property giving its amount, so "
        "the deal is not invoiced rather than invoiced without it: enter this invoice "
        "in the ledger yourself, or take the tax or discount off the deal's line items "
        "(a tax kept as a line item of its own is imported as an ordinary line)"
    )


def line(record: Mapping[str, Any], m: SourceMapping, problems: list[str]) -> dict[str, Any]:
    props = record.get("properties") or {}
    t = m.line_item
    found_terms = unreadable_terms(record, m)
    if found_terms:
        problems.append(_refused_terms(record, found_terms))
    quantity = _decimal(props.get(t["quantity"]) or "1", "line quantity", problems)
    price = _decimal(props.get(t["unit_price"]), "line price", problems)
    found = {
        "description": _value(props, t["description"]) or f"Line item {record['id']}",
        "quantity": str(quantity),
        "unit_price": str(price),
    }
    if t.get("item_code") and props.get(t["item_code"]):
        found["item_code"] = str(props[t["item_code"]])
    return found


def invoice_item(
    deal: Mapping[str, Any],
    customer_id: str | None,
    lines: Sequence[Mapping[str, Any]],
    m: SourceMapping,
    rates: ExchangeRates | None = None,
) -> SourceItem:
    """A deal in the closed stage as an invoice built from its line items; in a foreign
    currency, with HubSpot's rate of its close date where ``rates`` hold one."""
    props = deal.get("properties") or {}
    t = m.deal
    issued = str(props.get(t["issue_date"]) or deal.get("updatedAt") or "")[:10]
    problems: list[str] = []
    built = [line(r, m, problems) for r in lines]
    total = sum((Decimal(b["quantity"]) * Decimal(b["unit_price"]) for b in built), Decimal(0))
    fields: dict[str, Any] = {
        "id": str(deal["id"]),
        "number": str(deal["id"]),
        "customer_id": customer_id or "",
        "issue_date": issued,
        "due_date": _due(issued, m.due_days),
        "currency": str(props.get(t["currency"]) or m.default_currency),
        "total": str(total),
        "lines": built,
    }
    if t.get("send") and props.get(t["send"]):
        fields["send"] = str(props[t["send"]])  # validation reads it as true/false
    rate = _rate_of(fields["currency"], issued, m, rates)
    if rate is not None:
        fields["exchange_rate"] = str(rate)
    if problems:
        fields[MALFORMED_FIELD] = problems
    return SourceItem(SYSTEM, "invoice", str(deal["id"]), modified(deal), fields, False)


def _rate_of(
    currency: str, issued: str, m: SourceMapping, rates: ExchangeRates | None
) -> Decimal | None:
    if rates is None or currency.upper() == m.home_currency:
        return None
    if rates.company_currency != m.home_currency:
        return None  # HubSpot's rates are into another currency than the books'
    try:
        return rates.on(currency, date.fromisoformat(issued))
    except ValueError:
        return None  # no readable close date: validation names it


def _days(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3650:
        raise ValueError(f"due_days = {value!r} (write a whole number of days, 0-3650)")
    return value


def _due(issued: str, days: int) -> str:
    """The issue date plus the payment terms; empty when the issue date is unreadable
    (validation then says what is missing)."""
    try:
        return (date.fromisoformat(issued) + timedelta(days=days)).isoformat()
    except ValueError:
        return ""


def customer_id(kind: str, rid: str) -> str:
    """A company's customer id is its id; a contact's ``contact-<id>``."""
    return rid if kind == "company" else f"contact-{rid}"


def split_customer_id(item_id: str) -> tuple[str, str] | None:
    """``12`` → ("companies", "12"), ``contact-7`` → ("contacts", "7")."""
    if item_id.isdigit():
        return "companies", item_id
    rid = item_id.removeprefix("contact-")
    return ("contacts", rid) if item_id.startswith("contact-") and rid.isdigit() else None
