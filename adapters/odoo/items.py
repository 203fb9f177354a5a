"""Odoo products (``product.product``) as the ledger's items, for ``OdooLedger``.

An item's code is its Internal Reference (``default_code``). ``find`` looks a code up as
a ``default_code`` (domain ``=``: exact and case-sensitive; a domain is a JSON list, so
nothing in the code is quoted or read as a wildcard), then as a product id; archived
products are not found. Odoo does not make ``default_code`` unique (``product.product``
only warns in the form's onchange), so when several products share a code the oldest
(lowest id) is the item, everywhere: lookups, creates and the lines booked to it.

``create`` never makes a second product for a code: it looks the code up first (on every
try of ``OdooLedger.create_item``'s retry loop, so a create whose answer was lost is found
by its ``default_code``), one create per code at a time in this process, and after the
create it returns what the lookup finds (the oldest product with the code), so two
processes racing on one code still book to the same item.

Found items are cached by the text they were found by and by id, for the adapter's
lifetime: N lines naming one code cost one lookup, and reading documents back maps each
line's ``product_id`` to a code through the cache, reading unknown ids once per page.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from syncledger.adapters.items import items_for_lines
from syncledger.adapters.odoo.mapping import ITEM_FIELDS, Document, OdooMapping, item_of, m2o_id
from syncledger.adapters.odoo.rpc import OdooRpc
from syncledger.core.errors import PermanentLedgerError, TransientLedgerError
from syncledger.core.ports import LedgerItem

PRODUCT = "product.product"
ALL = {"active_test": False}


class OdooItems:
    """One database's products, looked up through ``rpc`` and cached."""

    def __init__(self, rpc: OdooRpc, mapping: OdooMapping) -> None:
        self._rpc = rpc
        self._mapping = mapping
        self._found: dict[str, LedgerItem] = {}  # code or id text -> item
        self._by_id: dict[int, LedgerItem] = {}
        self._income_account: int | None = None
        self._creating: dict[str, asyncio.Lock] = {}

    async def find(self, code: str, *, idempotent: bool = True) -> LedgerItem | None:
        """The product whose ``default_code`` is ``code``, else whose id it is."""
        if code in self._found:
            return self._found[code]
        item = await self._with_code(code, idempotent)
        if item is None and code.isascii() and code.isdigit():
            item = self._by_id.get(int(code)) or await self._first(
                [["id", "=", int(code)]], idempotent
            )
            if item is not None:
                self._found[code] = item
        return item

    @asynccontextmanager
    async def creating(self, code: str) -> AsyncIterator[None]:
        """One create of ``code`` at a time in this process."""
        async with self._creating.setdefault(code, asyncio.Lock()):
            yield

    async def find_or_create(self, code: str) -> LedgerItem:
        """One try: look ``code`` up, create the product if there is none, and return the
        product the lookup then finds (the oldest with the code)."""
        if not code.strip():
            raise PermanentLedgerError(
                "an Odoo item needs a code (its Internal Reference): the code is blank",
                code="syncledger.blank_item_code",
            )
        cached = self._found.get(code)
        if cached is not None and cached.code == code:
            return cached
        found = await self._with_code(code, idempotent=False)
        if found is None:
            vals = self._mapping.product_vals(code, await self._income_account_id())
            await self._rpc.call(PRODUCT, "create", vals_list=[vals], idempotent=False)
            found = await self._with_code(code, idempotent=False)
        if found is None:
            raise TransientLedgerError(f"Odoo created product {code!r} but cannot read it back yet")
        return found

    async def products_for(self, document: Document) -> list[int | None]:
        """The product id each line of ``document`` is booked to; a line naming a code no
        product has (by Internal Reference or id) is refused before anything is written."""
        items = await items_for_lines(document, self.find, "Odoo")
        return [
            None if line.item_code is None else int(items[line.item_code].ledger_id)
            for line in document.lines
        ]

    async def codes_of(self, lines: Iterable[dict[str, Any]], idempotent: bool) -> dict[int, str]:
        """Item codes of the products ``lines`` are booked to; ids not yet cached are read
        in one request (archived products too: old lines may name them)."""
        ids = {i for line in lines if (i := m2o_id(line.get("product_id"))) is not None}
        unknown = sorted(ids - set(self._by_id))
        if unknown:
            await self._search([["id", "in", unknown]], idempotent, limit=None, context=ALL)
        return {i: self._by_id[i].code for i in ids if i in self._by_id}

    # ----------------------------------------------------------- machinery

    async def _with_code(self, code: str, idempotent: bool) -> LedgerItem | None:
        """The oldest active product whose ``default_code`` is ``code`` (cached)."""
        item = await self._first([["default_code", "=", code]], idempotent)
        if item is not None:
            self._found[code] = item
        return item

    async def _first(self, domain: list[Any], idempotent: bool) -> LedgerItem | None:
        items = await self._search(domain, idempotent, limit=1)
        return items[0] if items else None

    async def _search(
        self,
        domain: list[Any],
        idempotent: bool,
        *,
        limit: int | None,
        context: dict[str, Any] | None = None,
    ) -> Sequence[LedgerItem]:
        params: dict[str, Any] = {"domain": domain, "fields": list(ITEM_FIELDS), "order": "id asc"}
        if limit:
            params["limit"] = limit
        rows = await self._rpc.call(
            PRODUCT, "search_read", context=context, idempotent=idempotent, **params
        )
        items = [item_of(row) for row in rows]
        for item in items:
            self._by_id[int(item.ledger_id)] = item
        return items

    async def _income_account_id(self) -> int | None:
        """``[new_items] income_account_id``, or (0) the sale journal's default account:
        the account Odoo books a line without a product to when the customer has no usual
        one (``account.move.line._compute_account_id``), so the new item's lines land where
        ours did."""
        if self._mapping.income_account:
            return self._mapping.income_account
        if self._income_account is None:
            rows = await self._rpc.call(
                "account.journal",
                "search_read",
                domain=[["type", "=", "sale"]],
                fields=["default_account_id"],
                limit=1,
                idempotent=True,
            )
            self._income_account = (m2o_id(rows[0].get("default_account_id")) if rows else 0) or 0
        return self._income_account or None
