"""Item codes ↔ the account's items, which invoice and credit memo lines are booked to.

A line names its item by ``itemId`` (Item Name/Number) or, failing that, by internal id.
Both are looked up with SuiteQL (``SELECT id, itemid FROM item WHERE …``, one statement
over every item type) and cached per adapter: name → item and id → item. Misses are not
cached, so an item made meanwhile is found.

Reads carry each line's item as ``{"id", "refName"}``; ``refName`` is NetSuite's display
of the item (a sub-item shows as ``Parent : Child``, with the display name when the
account shows one), not its ``itemId``, so line items are mapped id → code through the
cache, unknown ids looked up together in one statement per record.

Creating. A service sale item (``POST /record/v1/servicesaleitem`` in Oracle's help) is
written the adapter's idempotent way, as an upsert by externalId (``PUT
…/serviceSaleItem/eid:<digest of the code>``): a create whose answer was lost and that the
retry loop sends again updates the item it made. A create NetSuite refuses (an item of
that name appeared meanwhile, or anything else) is followed by a fresh lookup: the item
found is the answer, else the refusal stands.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from typing import Any

from syncledger.adapters.http import LedgerHttp
from syncledger.adapters.items import items_for_lines
from syncledger.adapters.jsonwire import encode_json
from syncledger.adapters.netsuite.errors import NOT_FOUND
from syncledger.adapters.netsuite.mapping import NetSuiteMapping, external_id
from syncledger.core.errors import PermanentLedgerError
from syncledger.core.model import CreditNote, Invoice
from syncledger.core.ports import LedgerItem

ITEM_PATH = "/services/rest/record/v1/serviceSaleItem"
#: where NetSuite's refusal of a line's item points (``netsuite_errors`` writes the path)
_LINE_ITEM_PATH = re.compile(r"\(at item\.items\[(\d+)\]\.item\)")

Query = Callable[[str], AsyncIterator[Mapping[str, Any]]]
Document = Invoice | CreditNote


def suiteql_literal(value: str) -> str:
    """A SuiteQL string literal: single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def item_ref(code: str) -> str:
    """Our reference for the item we create for ``code`` (its externalId is the digest)."""
    return f"syncledger/item/{code}"


class Items:
    def __init__(self, http: LedgerHttp, suiteql: Query, mapping: NetSuiteMapping) -> None:
        self._http = http
        self._suiteql = suiteql
        self._mapping = mapping
        self._named: dict[str, LedgerItem] = {}  # itemId, or an id lines name it by
        self._by_id: dict[str, LedgerItem] = {}
        self._income_account = mapping.new_item_income_account

    # -------------------------------------------------------------- lookups

    async def find(self, code: str) -> LedgerItem | None:
        """The item named ``code``, else the item whose internal id is ``code``."""
        if code in self._named:
            return self._named[code]
        # SuiteQL text built from an escaped literal only
        named = f"SELECT id, itemid FROM item WHERE itemid = {suiteql_literal(code)}"  # noqa: S608
        item = await self._first(named)
        if item is None and code.isdigit():
            item = self._by_id.get(code) or await self._first(
                f"SELECT id, itemid FROM item WHERE id = {code}"  # noqa: S608 (digits only)
            )
        if item is not None:
            self._named[code] = item
        return item

    async def codes_of(self, ids: Iterable[str]) -> dict[str, str]:
        """Item id → ``itemId`` for these ids, the uncached ones looked up in one query."""
        wanted = set(ids)
        unknown = sorted((i for i in wanted if i not in self._by_id and i.isdigit()), key=int)
        if unknown:
            # SuiteQL text built from digits only
            statement = f"SELECT id, itemid FROM item WHERE id IN ({', '.join(unknown)})"  # noqa: S608
            async for row in self._suiteql(statement):
                self._learn(row)
        return {i: self._by_id[i].code for i in wanted if i in self._by_id}

    async def line_item_ids(self, document: Document) -> tuple[str | None, ...]:
        """The internal id of the item each line names (None: the mapping's default item);
        a code naming no item (Item Name/Number or internal id) is refused before anything
        is written."""
        items = await items_for_lines(document, self.find, "NetSuite")
        return tuple(
            None if line.item_code is None else items[line.item_code].ledger_id
            for line in document.lines
        )

    @contextlib.contextmanager
    def refusal_named(self, document: Document) -> Iterator[None]:
        """NetSuite's refusal of a line's item (one deleted or made inactive since it was
        cached) restated with the code the line names; that code is looked up afresh next
        time."""
        try:
            yield
        except PermanentLedgerError as exc:
            refused = _refused_line(document, exc)
            if refused is None:
                raise
            number, code = refused
            self._named.pop(code, None)
            raise PermanentLedgerError(
                f"{document.kind} {document.number} line {number}: NetSuite refused item "
                f"{code!r} ({exc}): check that the item exists and is active",
                code=exc.code,
            ) from exc

    # -------------------------------------------------------------- creating

    async def create(self, code: str) -> LedgerItem:
        found = await self.find(code)
        if found is not None:
            return found
        body = self._mapping.new_item_body(code, await self._account_for_new_items())
        eid = external_id(item_ref(code))
        try:
            response = await self._http.request(
                "PUT", f"{ITEM_PATH}/eid:{eid}", content=encode_json(body), idempotent=True
            )
        except PermanentLedgerError as refused:
            return await self._made_meanwhile(code, refused)
        ledger_id = location_id(response.headers.get("Location", "")) or await self._id_of(eid)
        return self._remember(code, LedgerItem(ledger_id, code, code))

    async def _made_meanwhile(self, code: str, refused: PermanentLedgerError) -> LedgerItem:
        found = await self.find(code)
        if found is not None:
            return found
        raise PermanentLedgerError(
            f"NetSuite refused to create service item {code!r} ({refused}) and has no item "
            f"named {code!r}: check the [new_items] settings of the mapping file",
            code=refused.code,
        ) from refused

    async def _account_for_new_items(self) -> str:
        """``[new_items] income_account``, else the default line item's income account."""
        if not self._income_account:
            default = self._mapping.lines.item
            rows = (
                [r async for r in self._suiteql(_income_account_query(default))]
                if default.isdigit()
                else []
            )
            account = rows[0].get("incomeaccount") if rows else None
            if not account:
                raise PermanentLedgerError(
                    f"NetSuite item {default} ([invoice.lines] item) has no income account to "
                    "book new items to: set [new_items] income_account in the mapping file",
                    code="syncledger.no_income_account",
                )
            self._income_account = str(account)
        return self._income_account

    async def _id_of(self, eid: str) -> str:
        raw = await self._http.json("GET", f"{ITEM_PATH}/eid:{eid}", idempotent=True)
        if not isinstance(raw, Mapping) or raw.get("id") is None:
            raise PermanentLedgerError(
                f"NetSuite accepted the item upsert but has no item with externalId {eid}",
                code=NOT_FOUND,
            )
        return str(raw["id"])

    # -------------------------------------------------------------- cache

    async def _first(self, statement: str) -> LedgerItem | None:
        """The lowest-id item the statement finds (one name may be used once per item type)."""
        found = [self._learn(row) async for row in self._suiteql(f"{statement} ORDER BY id")]
        return found[0] if found else None

    def _learn(self, row: Mapping[str, Any]) -> LedgerItem:
        item = LedgerItem(str(row["id"]), str(row["itemid"]), str(row["itemid"]))
        self._by_id[item.ledger_id] = item
        return item

    def _remember(self, code: str, item: LedgerItem) -> LedgerItem:
        self._by_id[item.ledger_id] = item
        self._named[code] = item
        return item


def _income_account_query(item_id: str) -> str:
    # SuiteQL text built from digits only
    return f"SELECT id, incomeaccount FROM item WHERE id = {item_id}"  # noqa: S608


def _refused_line(document: Document, exc: PermanentLedgerError) -> tuple[int, str] | None:
    """The line number and item code of the line whose item NetSuite refused, if any."""
    match = _LINE_ITEM_PATH.search(str(exc))
    index = int(match.group(1)) if match else -1
    if not 0 <= index < len(document.lines):
        return None
    code = document.lines[index].item_code
    return None if code is None else (index + 1, code)


def location_id(location: str) -> str | None:
    """The internal id at the end of a ``Location`` header, if it ends in one."""
    tail = location.rstrip("/").rsplit("/", 1)[-1]
    return tail if tail.isdigit() else None
