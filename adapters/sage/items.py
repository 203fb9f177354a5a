"""The business's products and services as document lines name them (``SageItems``).

Look-up: ``GET /services`` then ``GET /products`` with ``search`` (Sage: "filter by the item
code or description", a substring, no query language) and the exact ``item_code`` picked
from the answers; failing that, when the text is a Sage key (32 hex digits), ``GET
/services/{key}`` then ``/products/{key}``. Found items are kept per adapter instance by
code and by id, so N documents naming one code cost one look-up; ids read back on document
lines are mapped to codes the same way, each unknown id looked up once.

Creation: ``POST /services`` with an ``idempotency_id`` (``service`` is one of the resources
Sage's idempotency covers, developer.sage.com "Idempotency"), so a retry after a lost answer
is answered with the first reply. A create refused because the ``item_code`` is taken
(422 ``RecordInvalid`` on ``item_code``) ends with the item holding it, looked up again.
A code this adapter has just looked up and not found is created without a second look-up
(the sync asks ``find_item`` right before ``create_item``): an item made in between is
caught by that refusal, since item codes are unique across products and services.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote

from syncledger.adapters.http import LedgerHttp
from syncledger.adapters.items import items_for_lines
from syncledger.adapters.sage.errors import INVALID_CODE, NOT_FOUND_CODE
from syncledger.adapters.sage.mapping import (
    ITEM_RESOURCES,
    Document,
    SageItem,
    SageMapping,
    line_item_links,
    to_item,
)
from syncledger.adapters.sage.paging import as_dict, pages
from syncledger.core.errors import LedgerError, PermanentLedgerError

#: what a look-up asks for beyond the base attributes
ITEM_ATTRIBUTES = "item_code,description,sales_ledger_account"
_SAGE_KEY = re.compile(r"^[0-9a-fA-F]{32}$")
Link = tuple[str, str]  # (resource, id)


class SageItems:
    """Products and services by code and by id, cached for the adapter's lifetime."""

    def __init__(self, http: LedgerHttp, mapping: SageMapping, page_size: int) -> None:
        self._http = http
        self._mapping = mapping
        self._page = page_size
        self._by_code: dict[str, SageItem] = {}
        self._by_id: dict[str, SageItem] = {}
        self._gone: set[str] = set()  # ids read on lines that Sage no longer has
        self._missed: set[str] = set()  # codes just looked up and not found (once each)

    async def find(self, code: str) -> SageItem | None:
        """The item whose ``item_code`` is ``code``, else whose id is ``code``, else None."""
        cached = self._by_code.get(code) or self._by_id.get(code)
        if cached is not None:
            return cached
        found = await self._with_code(code) or await self._with_id(code)
        if found is None:
            self._missed.add(code)
            return None
        return self._keep(found)

    async def create(self, code: str, idempotency_id: str) -> SageItem:
        """The service ``code``: the one that exists, else a new one (never a second)."""
        if code in self._missed:
            self._missed.discard(code)
            existing = self._by_code.get(code)
        else:
            existing = await self.find(code)
        if existing is not None:
            return existing
        body = self._mapping.item_body(code) | {"idempotency_id": idempotency_id}
        try:
            raw = await self._http.json(
                "POST", "/services", body={"service": body}, idempotent=True
            )
        except PermanentLedgerError as exc:
            if not is_taken_item_code(exc):
                raise
            return await self._holder(code, exc)
        return self._keep(to_item("services", as_dict(raw)))

    async def for_lines(self, document: Document) -> dict[str, SageItem]:
        """The item of every ``item_code`` the lines name; refused before anything is
        written when one names no item of the business."""
        return await items_for_lines(document, self.find, "Sage Accounting")

    async def line_codes(self, raw: dict[str, object]) -> tuple[str | None, ...]:
        """Per line of a document as Sage answers it, the code of its item (None: none,
        or an item Sage no longer has)."""
        links = line_item_links(raw)
        await self._learn(link for link in links if link is not None)
        return tuple(None if link is None else self._code_of(link[1]) for link in links)

    # ---------------------------------------------------------------- helpers

    async def _learn(self, links: Iterable[Link]) -> None:
        for resource, ident in dict.fromkeys(links):
            if ident in self._by_id or ident in self._gone:
                continue
            item = await self._read(resource, ident)
            if item is None:
                self._gone.add(ident)
            else:
                self._keep(item)

    def _code_of(self, ident: str) -> str | None:
        item = self._by_id.get(ident)
        return None if item is None else item.code

    async def _with_code(self, code: str, *, any_case: bool = False) -> SageItem | None:
        """The item coded exactly ``code``; with ``any_case``, failing that, the one coded
        ``code`` in another case (Sage refused ``code`` as taken)."""
        other_case: SageItem | None = None
        params = {"search": code, "attributes": ITEM_ATTRIBUTES}
        for resource in ITEM_RESOURCES:
            async for raw in pages(self._http, f"/{resource}", params, self._page):
                held = str(raw.get("item_code") or "")
                if held == code:
                    return to_item(resource, raw)
                if any_case and other_case is None and held.casefold() == code.casefold():
                    other_case = to_item(resource, raw)
        return other_case

    async def _with_id(self, ident: str) -> SageItem | None:
        if not _SAGE_KEY.match(ident):
            return None  # not a Sage key: no request can find it
        for resource in ITEM_RESOURCES:
            item = await self._read(resource, ident)
            if item is not None:
                return item
        return None

    async def _read(self, resource: str, ident: str) -> SageItem | None:
        try:
            raw = await self._http.json(
                "GET", f"/{resource}/{quote(ident, safe='')}", idempotent=True
            )
        except PermanentLedgerError as exc:
            if exc.code in (NOT_FOUND_CODE, "NotFound", "404"):
                return None
            raise
        return to_item(resource, as_dict(raw))

    async def _holder(self, code: str, refused: PermanentLedgerError) -> SageItem:
        """The item holding ``code`` after Sage refused it as taken."""
        holder = await self._with_code(code, any_case=True)
        if holder is None:
            raise refused
        self._by_code[code] = holder  # lines naming ``code`` are booked to it too
        return self._keep(holder)

    def _keep(self, item: SageItem) -> SageItem:
        self._by_code.setdefault(item.code, item)
        self._by_id[item.ledger_id] = item
        return item


def is_taken_item_code(error: LedgerError) -> bool:
    """An item create refused because its ``item_code`` is already in use."""
    return error.code == INVALID_CODE and "(item_code)" in str(error)
