"""QuickBooks Online ``Item``s, the products and services invoice lines are booked to.

A line names an item by its ``Name`` (unique among a company's items; QBO compares names
ignoring case) or, failing that, by its ``Id``. ``QboItems`` finds them with the query
language (``SELECT * FROM Item WHERE Name = '…'``, an exact match; quotes and backslashes
escaped) and keeps what it found, by name and by id, for the adapter's lifetime: N
invoices naming one code cost one lookup. A code found nowhere is not remembered (a
person may add the item in QBO meanwhile).

``create`` makes a ``Service`` item booked to the income account from ``[new_items]`` of
the mapping file, by default the one the default item of ``[invoice.lines]`` books to. It
looks the name up first, writes with a ``requestid`` (a resend after a timeout is replayed
by QBO), and a create refused as a duplicate name (6240: made by an earlier attempt whose
answer was lost, or by someone else) ends by looking the name up again and returning that
item.

QBO answers a document's lines with ``ItemRef {value, name}``; ``learn_ids`` looks up,
in one query, the ids of lines whose name is missing and that are not known yet.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

from syncledger.adapters.qbo.errors import DUPLICATE_NAME_CODE
from syncledger.adapters.qbo.mapping import QboMapping, item_refs
from syncledger.core.errors import PermanentLedgerError
from syncledger.core.model import CreditNote, Invoice
from syncledger.core.ports import LedgerItem

#: ``where`` (a QBO query condition) → the Item rows it selects
SelectItems = Callable[[str], Awaitable[list[dict[str, Any]]]]
#: (Item body, idempotency key) → the Item QBO created
WriteItem = Callable[[dict[str, Any], str], Awaitable[dict[str, Any]]]


def qbo_literal(value: str) -> str:
    """A string literal of the QBO query language (backslash-escaped quotes)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def item_of(raw: Mapping[str, Any]) -> LedgerItem:
    name = str(raw.get("Name", ""))
    return LedgerItem(ledger_id=str(raw["Id"]), code=name, name=name)


def named(rows: Iterable[Mapping[str, Any]], code: str) -> Mapping[str, Any] | None:
    """The row named exactly ``code``, else the one QBO matched ignoring case."""
    found = list(rows)
    exact = next((row for row in found if row.get("Name") == code), None)
    return exact if exact is not None else (found[0] if found else None)


class QboItems:
    """The items of one company the adapter has met, and how to find or make more."""

    def __init__(self, mapping: QboMapping, select: SelectItems, write: WriteItem) -> None:
        self._mapping = mapping
        self._select = select
        self._write = write
        self._by_code: dict[str, LedgerItem] = {}  # as lines name them: a name or an id
        self._by_name: dict[str, LedgerItem] = {}  # casefolded, as QBO compares names
        self._by_id: dict[str, LedgerItem] = {}
        self._codes: dict[str, str] = {}  # id → code
        self._income_account: str | None = None

    # ------------------------------------------------------------------ find

    async def find(self, code: str) -> LedgerItem | None:
        """The item named ``code``, else the one whose id is ``code``, else None."""
        known = self._by_code.get(code) or self._by_name.get(code.casefold())
        if known is not None:
            return known
        item = await self._named(code)
        if item is None and code.isdigit():
            item = self._by_id.get(code) or await self._with_id(code)
        if item is not None:
            self._by_code[code] = item
        return item

    async def resolve(self, documents: Iterable[Invoice | CreditNote]) -> dict[str, LedgerItem]:
        """code → item for every ``item_code`` on the documents' lines that names an item
        of the company; a code naming none is left out (the mapping refuses its line)."""
        codes = {ln.item_code for doc in documents for ln in doc.lines if ln.item_code}
        found = {code: await self.find(code) for code in sorted(codes)}
        return {code: item for code, item in found.items() if item is not None}

    async def learn_ids(self, raws: Iterable[Mapping[str, Any]]) -> None:
        """Look up, in one query, the items documents' lines name by id only."""
        unknown = {
            ident
            for raw in raws
            for ident, name in item_refs(raw)
            if ident and not name and ident not in self._by_id
        }
        if unknown:
            listed = ", ".join(qbo_literal(i) for i in sorted(unknown))
            for row in await self._select(f"Id IN ({listed})"):
                self._learn(item_of(row))

    def codes_by_id(self) -> Mapping[str, str]:
        """id → code of every item met so far (a read-only view)."""
        return MappingProxyType(self._codes)

    def forget(self) -> None:
        """Drop what is known: QBO refused a reference to one of these items."""
        self._by_code.clear()
        self._by_name.clear()
        self._by_id.clear()
        self._codes.clear()

    # ---------------------------------------------------------------- create

    async def create(self, code: str, key: str) -> LedgerItem:
        existing = self._by_name.get(code.casefold()) or await self._named(code)
        if existing is not None:
            return existing
        body = self._mapping.item_body(code, await self._account())
        try:
            raw = await self._write(body, key)
        except PermanentLedgerError as exc:
            if exc.code != DUPLICATE_NAME_CODE:
                raise
            return await self._after_duplicate(code, exc)
        item = item_of(raw)
        self._learn(item)
        return item

    async def _after_duplicate(self, code: str, refused: PermanentLedgerError) -> LedgerItem:
        """QBO holds an item of that name already (an earlier attempt of ours whose answer
        was lost, or someone else's): that one is the item."""
        item = await self._named(code)
        if item is None:  # the name is taken by an item the query does not show
            raise refused
        return item

    async def _account(self) -> str:
        """The income account new items are booked to: ``[new_items]``'s, else the
        default item's (read once)."""
        configured = self._mapping.new_items["income_account_ref"]
        if configured:
            return configured
        if self._income_account is None:
            self._income_account = await self._default_items_account()
        return self._income_account

    async def _default_items_account(self) -> str:
        default = self._mapping.lines["item_ref"]
        rows = await self._select(f"Id = {qbo_literal(default)}")
        account = rows[0].get("IncomeAccountRef", {}).get("value") if rows else None
        if not account:
            raise PermanentLedgerError(
                f"QuickBooks Online has no income account for new items: the default item "
                f"{default} ([invoice.lines] item_ref) is missing or books to none; set "
                "income_account_ref in [new_items] of the QBO mapping file",
                code="syncledger.item_income_account",
            )
        return str(account)

    # --------------------------------------------------------------- lookups

    async def _named(self, code: str) -> LedgerItem | None:
        row = named(await self._select(f"Name = {qbo_literal(code)}"), code)
        return None if row is None else self._learn(item_of(row))

    async def _with_id(self, ident: str) -> LedgerItem | None:
        rows = await self._select(f"Id = {qbo_literal(ident)}")
        return self._learn(item_of(rows[0])) if rows else None

    def _learn(self, item: LedgerItem) -> LedgerItem:
        self._by_name[item.code.casefold()] = item
        self._by_id[item.ledger_id] = item
        self._codes[item.ledger_id] = item.code
        return item
