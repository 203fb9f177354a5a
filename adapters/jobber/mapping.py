"""Jobber GraphQL nodes as syncledger source items, by ``source_mapping.toml``.

Field facts: Client ``firstName, lastName, companyName, isCompany, isArchived,
billingAddress{street1,street2,city,province,postalCode,country}, emails, phones,
clientProperties, updatedAt``; Property ``id, name, address``; Invoice ``invoiceNumber,
client, issuedDate, dueDate, lineItems``; Payment ``id, amount, currency, date`` (GitHub
file id 67521459086, introspection-verified); emails ``{address, primary}``, phones
``{number, primary}`` (GitHub file ids 67520998203, 67321093734). An invoice's status,
``amounts{subtotal, discountAmount, taxAmount, total}`` and line items ``{name,
description, quantity, unitPrice, taxable}``, and how they become tax, discount and
total: ``amounts.py``.

Jobber documents no currency on Client or Invoice: the account's currency is a setting
(``SYNCLEDGER_JOBBER_CURRENCY``); a payment's own ``currency`` wins where present.
An archived client (``isArchived``, Jobber's soft delete) is reported deleted.

Service locations (a client's properties) are not a canonical field; they are checked
(``locations.py``: duplicated names or addresses, map points that contradict their
addresses) and what is wrong is reported under ``MALFORMED_FIELD``, so validation rejects
the client with the reason.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from typing import Any

from syncledger.adapters.jobber import amounts
from syncledger.adapters.jobber.locations import location_problems
from syncledger.adapters.kit.wire_mapping import get_path
from syncledger.core.errors import ConfigurationError
from syncledger.core.ports import SourceItem
from syncledger.core.validation import MALFORMED_FIELD

SYSTEM = "jobber"
KINDS = ("customer", "invoice", "payment")


def _primary(items: Any, key: str) -> str | None:
    rows = [r for r in items or () if isinstance(r, dict) and r.get(key)]
    chosen = next((r for r in rows if r.get("primary")), rows[0] if rows else None)
    return str(chosen[key]) if chosen else None


def _name(node: Mapping[str, Any]) -> str | None:
    person = " ".join(p for p in (node.get("firstName"), node.get("lastName")) if p)
    return node.get("companyName") or person or None


def _address(addr: Any) -> str | None:
    if not isinstance(addr, dict):
        return None
    city = " ".join(p for p in (addr.get("province"), addr.get("postalCode")) if p)
    town = ", ".join(p for p in (addr.get("city"), city) if p)
    lines = [addr.get("street1"), addr.get("street2"), town, addr.get("country")]
    text = "\n".join(str(x) for x in lines if x)
    return text or None


def _date(value: Any) -> str | None:
    return str(value)[:10] if value else None


def _decimal(value: Any) -> str | None:
    return None if value is None else str(Decimal(str(value)))


def _lines(conn: Any) -> list[dict[str, Any]]:
    nodes = (conn or {}).get("nodes") or []
    return [
        {
            "description": " - ".join(p for p in (n.get("name"), n.get("description")) if p),
            "quantity": _decimal(n.get("quantity")),
            "unit_price": _decimal(n.get("unitPrice")),
        }
        for n in nodes
    ]


SHAPERS: Mapping[str, Callable[[Mapping[str, Any]], Any]] = {
    "name": _name,
    "emails": lambda n: _primary(n.get("emails"), "address"),
    "phones": lambda n: _primary(n.get("phones"), "number"),
    "billingAddress": lambda n: _address(n.get("billingAddress")),
    "lineItems": lambda n: _lines(n.get("lineItems")),
    "issuedDate": lambda n: _date(n.get("issuedDate")),
    "dueDate": lambda n: _date(n.get("dueDate")),
    "date": lambda n: _date(n.get("date")),
    "amounts.total": lambda n: _decimal(get_path(n, "amounts.total")),
    "amounts.discountAmount": lambda n: _decimal(get_path(n, "amounts.discountAmount")),
    "amount": lambda n: _decimal(n.get("amount")),
}
PLAIN = frozenset({"invoiceNumber", "client.id", "invoice.id"})


#: who records payments (``[settings] payments``): "ledger" (default) — payments are the
#: books', and write-back records them on the Jobber invoice; Jobber's payment records
#: are then not read (each one written back would come back as a source payment and be
#: pushed again); "jobber" — payments taken in Jobber are read and pushed to the ledger,
#: and write-back records none (the same loop the other way)
PAYMENT_OWNERS = ("ledger", "jobber")


@dataclass(frozen=True, slots=True)
class SourceMapping:
    version: int
    fields: Mapping[str, Mapping[str, str]]
    payments: str = "ledger"

    @property
    def reads_payments(self) -> bool:
        return self.payments == "jobber"

    @classmethod
    def load(cls, text: str | None = None) -> SourceMapping:
        """The packaged ``source_mapping.toml`` (or ``text``), checked."""
        raw = text or resources.files(__package__).joinpath("source_mapping.toml").read_text()
        try:
            data = tomllib.loads(raw)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"jobber source_mapping.toml does not parse: {exc}") from exc
        payments = str(data.get("settings", {}).get("payments", "ledger"))
        if payments not in PAYMENT_OWNERS:
            raise ConfigurationError(
                f"jobber source_mapping.toml: [settings] payments = {payments!r}: "
                'write "ledger" or "jobber"'
            )
        tables = {k: dict(data.get(k, {})) for k in KINDS}
        mapping = cls(int(data.get("version", 0)), tables, payments)
        mapping._check()
        return mapping

    def _check(self) -> None:
        if self.version < 1:
            raise ConfigurationError("jobber source_mapping.toml needs `version = <n>`")
        unknown = sorted(
            f"{kind}.{field} = {prop!r}"
            for kind, table in self.fields.items()
            for field, prop in table.items()
            if prop not in SHAPERS and prop not in PLAIN
        )
        if unknown:
            raise ConfigurationError(
                f"jobber source_mapping.toml names unknown Jobber properties: {', '.join(unknown)}"
            )

    def shape(self, kind: str, node: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"id": node["id"]}
        for field, prop in self.fields[kind].items():
            shaper = SHAPERS.get(prop)
            value = shaper(node) if shaper else get_path(node, prop)
            out[field] = str(value) if isinstance(value, int | float) else value
        return out


def _version(node: Mapping[str, Any]) -> str:
    return str(node.get("updatedAt") or node.get("date") or "")


def item(
    mapping: SourceMapping, kind: str, node: Mapping[str, Any], currency: str
) -> SourceItem | None:
    """The record as a source item; None for a draft invoice, which is no invoice yet
    (amounts.py)."""
    if kind == "invoice" and amounts.is_draft(node):
        return None
    fields = mapping.shape(kind, node)
    fields["currency"] = node.get("currency") or currency
    deleted = bool(node.get("isArchived"))
    if kind == "customer":
        problems = location_problems(node)
        if problems:
            fields[MALFORMED_FIELD] = problems
    if kind == "invoice" and isinstance(fields.get("lines"), list):
        fields["lines"] = amounts.with_tax(fields["lines"], node, str(fields["currency"]))
    return SourceItem(SYSTEM, kind, str(fields["id"]), _version(node), fields, deleted)
