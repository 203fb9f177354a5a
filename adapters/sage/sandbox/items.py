"""Products and services in the Sage sandbox: what ``POST /services`` and ``POST /products``
accept, and how a document line is booked to one.

Services (``PostServicesService`` in Sage's OpenAPI, via the generated SDKs) and products
(``PostProductsProduct``); what they and the lines naming them may not be: ``refusals.py``
(``field.required``, ``item.code_taken``, ``reference.not_found``, ``line.item_twice``).
``GET`` lists search the item code or description (``search``: "Use this to filter by the
item code or description").

Lines (``service_id`` / ``product_id`` on ``invoice_lines`` and ``credit_note_lines``): a
stored line read back carries ``service`` and ``product``, each a link or null; a ``PUT``
naming neither id keeps the line's item (Sage does not drop it either:
developer-community.sage.com topic 196).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from syncledger.adapters.sage.sandbox.errors import refuse
from syncledger.adapters.sage.sandbox.seed import TAX_RATES, link

#: item resource → the key a line names it by (``service`` → ``service_id``)
ITEM_LINE_KEY = {"services": "service", "products": "product"}
ITEM_FIELDS = ("item_code", "description", "notes", "purchase_description", "active")
Lookup = Callable[[str], dict[str, Any] | None]
ItemLookup = Callable[[str, str], dict[str, Any] | None]  # (resource, id)


def checked_item(
    resource: str,
    sent: Mapping[str, Any],
    *,
    accounts: Lookup,
    code_taken: Callable[[str], bool],
) -> dict[str, Any]:
    """A new service or product as stored, from its POST body."""
    item: dict[str, Any] = {k: sent[k] for k in ITEM_FIELDS if k in sent}
    if not str(item.get("description") or "").strip():
        raise refuse("field.required", "description")
    _check_code(item.get("item_code"), code_taken)
    item["sales_ledger_account"] = _account(sent, "sales_ledger_account_id", "sales", accounts)
    if resource == "products":
        purchase = _account(sent, "purchase_ledger_account_id", "expenses", accounts)
        item["purchase_ledger_account"] = purchase
    item["sales_tax_rate"] = _tax_rate(sent.get("sales_tax_rate_id"))
    item.setdefault("active", True)
    return item | {"displayed_as": str(item["description"])}


def line_item(line: Mapping[str, Any], source: str, items: ItemLookup) -> dict[str, Any]:
    """A line's ``service`` and ``product`` links: from ``service_id`` / ``product_id`` when
    the line gives one, else the links it already holds."""
    named = {
        resource: str(line[key + "_id"])
        for resource, key in ITEM_LINE_KEY.items()
        if line.get(key + "_id")
    } or {
        resource: str(line[key]["id"])
        for resource, key in ITEM_LINE_KEY.items()
        if isinstance(line.get(key), dict) and line[key].get("id")
    }
    if len(named) > 1:
        raise refuse("line.item_twice", source + "service_id")
    links: dict[str, Any] = {key: None for key in ITEM_LINE_KEY.values()}
    for resource, ident in named.items():
        item = items(resource, ident)
        if item is None:
            raise refuse("reference.not_found")  # Sage names no field for an unknown item either
        links[ITEM_LINE_KEY[resource]] = link(resource, ident, str(item["displayed_as"]))
    return links


def _check_code(code: Any, taken: Callable[[str], bool]) -> None:
    if code is not None and not isinstance(code, str):
        raise refuse("field.type", "item_code", kind="a string")
    if code and taken(code):
        raise refuse("item.code_taken", "item_code")


def _account(sent: Mapping[str, Any], field: str, visible: str, accounts: Lookup) -> Any:
    ident = sent.get(field)
    if not ident:
        raise refuse("field.required", field)
    account = accounts(str(ident))
    if account is None or account.get("visible_in") != visible:
        raise refuse("reference.not_found", field)
    return link("ledger_accounts", account["id"], account["displayed_as"])


def _tax_rate(ident: Any) -> dict[str, Any] | None:
    if ident is None:
        return None
    if ident not in TAX_RATES:
        raise refuse("reference.not_found", "sales_tax_rate_id")
    return link("tax_rates", str(ident), TAX_RATES[ident][0])
