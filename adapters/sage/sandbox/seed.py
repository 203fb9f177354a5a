"""What a fresh Sage sandbox business holds before anyone writes to it: the reference data
documents point at (a sales ledger account, a purchase one for products, a bank account, tax
rates; no products or services: the default mapping books lines to an account), and the shapes
Sage uses to link records (``{"id", "displayed_as", "$path"}``) and artefact statuses.

The ids are fixed so the default mapping (``adapters/sage/mapping.toml``) works against
the sandbox; a live business has its own (``GET /ledger_accounts?visible_in=sales``,
``GET /bank_accounts``, ``GET /tax_rates``). Tax rate ids are Sage UK's (``GB_STANDARD``,
``GB_ZERO``, …, as in Sage/sageone_api_php_sample#30).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

SALES_LEDGER_ACCOUNT_ID = "4000a1b2c3d4e5f60718293a4b5c6d7e"
BANK_LEDGER_ACCOUNT_ID = "1200a1b2c3d4e5f60718293a4b5c6d7e"
PURCHASE_LEDGER_ACCOUNT_ID = "5000a1b2c3d4e5f60718293a4b5c6d7e"
BANK_ACCOUNT_ID = "1200b1c2d3e4f5a60718293a4b5c6d7e"

#: tax rate id → (name, percentage, type); zero/exempt/no_tax infer a tax_amount of 0
TAX_RATES: dict[str, tuple[str, Decimal, str]] = {
    "GB_STANDARD": ("Standard 20.00%", Decimal("20.00"), "standard"),
    "GB_LOWER": ("Lower 5.00%", Decimal("5.00"), "lower"),
    "GB_ZERO": ("Zero 0.00%", Decimal("0.00"), "zero"),
    "GB_EXEMPT": ("Exempt 0.00%", Decimal("0.00"), "exempt"),
    "GB_NO_TAX": ("No Tax", Decimal("0.00"), "no_tax"),
}
ZERO_TAX_TYPES = frozenset({"zero", "exempt", "no_tax"})

STATUSES = {"UNPAID": "Unpaid", "PART_PAID": "Part Paid", "PAID": "Paid", "VOID": "Void"}
CONTACT_TYPES = {"CUSTOMER": "Customer", "VENDOR": "Supplier"}


def link(resource: str, ident: str, displayed_as: str) -> dict[str, Any]:
    """How Sage embeds a reference to another record."""
    return {"id": ident, "displayed_as": displayed_as, "$path": f"/{resource}/{ident}"}


def status(status_id: str) -> dict[str, Any]:
    return link("artefact_statuses", status_id, STATUSES[status_id])


def seed_records() -> dict[str, list[dict[str, Any]]]:
    """Resource name → records to store in a new book."""
    return {
        "ledger_accounts": [
            _ledger_account(SALES_LEDGER_ACCOUNT_ID, "Sales Type A", 4000, "SALES", "sales"),
            _ledger_account(BANK_LEDGER_ACCOUNT_ID, "Current", 1200, "BANK", "bank"),
            _ledger_account(
                PURCHASE_LEDGER_ACCOUNT_ID, "Cost of sales", 5000, "DIRECT_EXPENSES", "expenses"
            ),
        ],
        "bank_accounts": [
            {
                "id": BANK_ACCOUNT_ID,
                "displayed_as": "Current (1200)",
                "bank_account_type": link("bank_account_types", "CHECKING", "Current"),
                "ledger_account": link("ledger_accounts", BANK_LEDGER_ACCOUNT_ID, "Current"),
            }
        ],
        "tax_rates": [_tax_rate(ident, *spec) for ident, spec in TAX_RATES.items()],
    }


def _ledger_account(ident: str, name: str, code: int, kind: str, visible: str) -> dict[str, Any]:
    return {
        "id": ident,
        "displayed_as": f"{name} ({code})",
        "name": name,
        "nominal_code": code,
        "ledger_account_type": link("ledger_account_types", kind, kind.title()),
        "visible_in": visible,
    }


def _tax_rate(ident: str, name: str, percentage: Decimal, kind: str) -> dict[str, Any]:
    return {
        "id": ident,
        "displayed_as": name,
        "name": name,
        "percentage": percentage,
        "tax_rate_type": kind,
    }
