"""The fields of the models the Odoo sandbox serves, and how ``read`` shows them.

As Odoo's ORM does over RPC: a many2one reads as ``[id, display_name]`` (a product's
display name is ``[default_code] name``, ``product.product._compute_display_name``), an
empty value of any type as ``false``, a one2many / many2many as a list of ids, a datetime as
``"YYYY-MM-DD HH:MM:SS"`` (UTC, to the second), a date as ``"YYYY-MM-DD"``. Money stays
``Decimal`` (Odoo sends JSON numbers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from syncledger.adapters.odoo.sandbox.errors import refuse

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"

# type tags: char, int, bool, date, datetime, money, float, selection, o2m, m2m, m2o:<model>
_COMMON = {"id": "int", "display_name": "char", "create_date": "datetime", "write_date": "datetime"}

FIELDS: dict[str, dict[str, str]] = {
    "res.partner": {
        "name": "char",
        "email": "char",
        "phone": "char",
        "vat": "char",
        "street": "char",
        "street2": "char",
        "city": "char",
        "state_id": "m2o:res.country.state",
        "zip": "char",
        "country_id": "m2o:res.country",
        "country_code": "char",  # related='country_id.code' (countries.py)
        "ref": "char",
        "comment": "char",
        "customer_rank": "int",
        "is_company": "bool",
        "active": "bool",
    },
    "account.move": {
        "name": "char",
        "move_type": "selection",
        "partner_id": "m2o:res.partner",
        "invoice_date": "date",
        "invoice_date_due": "date",
        "date": "date",
        "currency_id": "m2o:res.currency",
        "journal_id": "m2o:account.journal",
        "ref": "char",
        "payment_reference": "char",
        "narration": "char",
        "state": "selection",
        "payment_state": "selection",
        "amount_untaxed": "money",
        "amount_tax": "money",
        "amount_total": "money",
        "amount_residual": "money",
        "invoice_currency_rate": "float",
        "reversed_entry_id": "m2o:account.move",
        "invoice_line_ids": "o2m",
        "line_ids": "o2m",
    },
    "account.move.line": {
        "move_id": "m2o:account.move",
        "partner_id": "m2o:res.partner",
        "display_type": "selection",
        "name": "char",
        "quantity": "float",
        "price_unit": "float",
        "discount": "float",
        "tax_ids": "m2m",
        "price_subtotal": "money",
        "price_total": "money",
        "account_type": "selection",
        "balance": "money",
        "amount_residual": "money",
        "reconciled": "bool",
        "payment_id": "m2o:account.payment",
        "product_id": "m2o:product.product",
        "account_id": "m2o:account.account",
    },
    "account.payment": {
        "name": "char",
        "partner_id": "m2o:res.partner",
        "amount": "money",
        "date": "date",
        "memo": "char",
        "payment_reference": "char",
        "payment_type": "selection",
        "partner_type": "selection",
        "state": "selection",
        "currency_id": "m2o:res.currency",
        "journal_id": "m2o:account.journal",
        "move_id": "m2o:account.move",
        "reconciled_invoice_ids": "m2m",
    },
    "account.payment.register": {
        "amount": "money",
        "payment_date": "date",
        "communication": "char",
        "journal_id": "m2o:account.journal",
        "currency_id": "m2o:res.currency",
        "payment_type": "selection",
        "partner_type": "selection",
        "partner_id": "m2o:res.partner",
        "payment_difference_handling": "selection",
        "line_ids": "m2m",
    },
    "account.partial.reconcile": {
        "debit_move_id": "m2o:account.move.line",
        "credit_move_id": "m2o:account.move.line",
        "amount": "money",
        "debit_amount_currency": "money",
        "credit_amount_currency": "money",
    },
    "account.tax": {
        "name": "char",
        "amount_type": "selection",
        "amount": "float",
        "type_tax_use": "selection",
        "price_include": "bool",
        "active": "bool",
    },
    "res.currency": {
        "name": "char",
        "symbol": "char",
        "decimal_places": "int",
        "active": "bool",
        # computed for the context's ``date`` (``res.currency._compute_current_rate``):
        # units of the currency per unit of the company's, 1.0 without a rate row
        "rate": "float",
    },
    "res.currency.rate": {"name": "date", "rate": "float", "currency_id": "m2o:res.currency"},
    "res.country": {"name": "char", "code": "char"},
    "res.country.state": {"name": "char", "code": "char", "country_id": "m2o:res.country"},
    "account.journal": {
        "name": "char",
        "code": "char",
        "type": "selection",
        "default_account_id": "m2o:account.account",
    },
    "account.account": {"code": "char", "name": "char", "account_type": "selection"},
    # a product.product with the product.template fields it inherits (``_inherits``)
    "product.product": {
        "name": "char",
        "default_code": "char",
        "type": "selection",
        "sale_ok": "bool",
        "list_price": "float",
        "property_account_income_id": "m2o:account.account",
        "active": "bool",
    },
}

Resolver = Callable[[str, int], str | None]


def field_type(model: str, name: str) -> str:
    kinds = FIELDS[model] | _COMMON
    if name not in kinds:
        raise refuse("values.invalid_field", name=name, model=model)
    return kinds[name]


def check_fields(model: str, names: Iterable[str]) -> None:
    for name in names:
        field_type(model, name)


def present(
    model: str, record: Mapping[str, Any], names: Iterable[str] | None, resolve: Resolver
) -> dict[str, Any]:
    """One record as ``read`` returns it (every field when ``names`` is None)."""
    wanted = list(names) if names else list(FIELDS[model] | _COMMON)
    shown = {"id": record["id"]}
    for name in wanted:
        shown[name] = _shown(field_type(model, name), record.get(name), resolve)
    if "display_name" in wanted:
        shown["display_name"] = display_name(model, record)
    return shown


def display_name(model: str, record: Mapping[str, Any]) -> str:
    name = str(record.get("name") or f"{model},{record['id']}")
    if model == "product.product" and record.get("default_code"):
        return f"[{record['default_code']}] {name}"
    if model == "account.account" and record.get("code"):
        return f"{record['code']} {name}"
    return name


def _shown(kind: str, value: Any, resolve: Resolver) -> Any:
    if kind == "bool":
        return bool(value)
    if value is None or value == "" or value == []:
        return [] if kind in ("o2m", "m2m") else False
    if kind.startswith("m2o:"):
        return [value, resolve(kind[4:], value) or False]
    if isinstance(value, datetime):
        return value.strftime(DATETIME_FORMAT)
    return value
