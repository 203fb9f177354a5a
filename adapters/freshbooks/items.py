"""FreshBooks items, as invoice and credit-note lines name them.

FreshBooks lines carry no item id. A line is ``name``, ``description``, ``qty``,
``unit_cost``, ``type`` and taxes; the item list ("Items are stored from invoice lines to
make invoicing easier in the future", freshbooks.com/api/items) holds saved line names and
prices (``name``, ``description``, ``qty``, ``unit_cost``, ``sku``, ``tax1`` / ``tax2``,
``inventory``, ``vis_state``). So, here:

- a line booked to an item gets the item's ``name`` as its ``name`` (the source line's
  description goes to the line's ``description``): ``LedgerItem.code`` is that name;
- **FreshBooks cannot enforce the item on its side**: it takes any line name. The adapter
  checks that the code names an item of the account (``find``) and refuses one that does
  not with ``PermanentLedgerError`` ``unknown_item`` before writing anything;
- reading a document, a line whose name is an item's name is reported as booked to that
  item (``LedgerRecord.line_items``), any other line to none. A line written without an
  item whose text happens to be an item's name reads back as booked to that item: in
  FreshBooks there is no difference between the two.

Lookups. FreshBooks documents no search on an item's name (its item filters are itemid,
itemids, sku, description, unit cost, inventory, qty and updated; freshbooks.com/api/items),
so the adapter lists the account's items (pages of 100) and keeps name -> item and
id -> item. A code it does not know makes it list again only the items updated since the
last listing (``search[updated_min]``, day granularity, with a day of margin): a code many
lines name costs one lookup, and an item someone adds in FreshBooks is found by the next
lookup that misses. Reads map line names through what is known, listing the items once if
they never were (no request per line or per read). So what is known can be behind
FreshBooks until the next miss: an item renamed or deleted (``vis_state`` 1) there is
dropped when a listing sees it. Two active items of one name (should FreshBooks allow
them) resolve to the older one (lower id).

Creating. An item is sent as ``{"name": code}``: FreshBooks items have no income account
(FreshBooks posts invoice lines to its own sales account) and no product / service type,
so there is nothing more to set. FreshBooks has no idempotency key, and its reference is
silent on whether it refuses a second item of the same name (an integration vendor,
OneSaas, states that "the item Name field is unique" in FreshBooks; the sandbox follows
that, unverified). So the adapter never sends a create again after its answer was lost
(timeout, 5xx, 429): it raises ``TransientLedgerError`` and the next ``create_item`` of that
code finds the item first. Otherwise a create trusts a listing at most ``FRESH`` old (the
sync looks an item up with ``find_item`` just before it creates it, and that miss listed
what changed): it is sent without listing again. A refused create (a duplicate name, as
when someone made the item between our lookup and our create) is resolved by looking the
name up again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, NoReturn

from syncledger.adapters.freshbooks.mapping import Document, eastern_date
from syncledger.adapters.http import LedgerHttp
from syncledger.adapters.items import UNKNOWN_ITEM, items_for_lines
from syncledger.core.errors import PermanentLedgerError, TransientLedgerError
from syncledger.core.ports import LedgerItem

ITEMS_PATH = "items/items"  # under /accounting/account/{account_id}/
#: how far before the last listing a new one starts (``updated_min`` is a US/Eastern date)
MARGIN = timedelta(days=1)
#: a listing this recent is trusted by a create that follows it (no second listing)
FRESH = timedelta(seconds=5)


def result_of(answer: Any) -> dict[str, Any]:
    """``response.result`` of a FreshBooks accounting answer."""
    try:
        result: dict[str, Any] = answer["response"]["result"]
    except (KeyError, TypeError):
        raise TransientLedgerError("FreshBooks answered without response.result") from None
    return result


class FreshBooksItems:
    """The account's items, found by name (``LedgerItem.code``) or id, and created."""

    def __init__(
        self,
        http: LedgerHttp,
        url: str,
        *,
        page_size: int,
        now: Callable[[], datetime],
    ) -> None:
        self._http = http
        self._url = url
        self._page = page_size
        self._now = now
        self._by_name: dict[str, LedgerItem] = {}
        self._by_id: dict[str, LedgerItem] = {}
        self._listed_at: datetime | None = None
        #: codes whose create was sent and its answer lost: listed before sending again
        self._lost: set[str] = set()

    async def find(self, code: str) -> LedgerItem | None:
        """The active item named ``code``; failing that, the one whose id is ``code``."""
        known = self._known(code)
        if known is None:
            await self._list()
            known = self._known(code)
        return known

    async def create(self, code: str) -> LedgerItem:
        """The item named ``code``, created when the account has none (see the module
        docstring: a create whose answer was lost is not sent again)."""
        trusted = self._fresh() and code not in self._lost
        found = self._by_name.get(code) if trusted else await self._named(code)
        if found is not None:
            return found
        try:
            answer = await self._http.json(
                "POST", self._url, body={"item": {"name": code}}, idempotent=False
            )
        except PermanentLedgerError:
            again = await self._named(code)
            if again is None:
                raise
            return again
        except Exception:
            self._lost.add(code)
            raise
        self._lost.discard(code)
        self._remember(result_of(answer)["item"])
        return await self._named(code) or _not_listed(code)

    async def names_for(self, document: Document) -> dict[str, str]:
        """item code -> item name for every line of ``document`` naming an item; a code
        naming no item of the account is refused before anything is written (FreshBooks
        would take any line name)."""
        items = await items_for_lines(document, self.find, "FreshBooks")
        return {code: item.code for code, item in items.items()}

    async def codes_of(self, names: Iterable[str | None]) -> tuple[str | None, ...]:
        """The item code each line name is, None for a name that is no item's."""
        if self._listed_at is None:
            await self._list()
        return tuple(self._name_item(name) for name in names)

    # ------------------------------------------------------------- caching

    async def _named(self, name: str) -> LedgerItem | None:
        if name not in self._by_name:
            await self._list()
        return self._by_name.get(name)

    def _fresh(self) -> bool:
        return self._listed_at is not None and self._now() - self._listed_at <= FRESH

    def _known(self, code: str) -> LedgerItem | None:
        return self._by_name.get(code) or self._by_id.get(code)

    def _name_item(self, name: str | None) -> str | None:
        item = self._by_name.get(name) if name is not None else None
        return item.code if item is not None else None

    async def _list(self) -> None:
        """Every item the first time, then the ones updated since the last listing."""
        started = self._now()
        since = self._listed_at
        params = {} if since is None else {"search[updated_min]": eastern_date(since - MARGIN)}
        async for raw in self._pages(params):
            self._remember(raw)
        self._listed_at = started

    def _remember(self, raw: Mapping[str, Any]) -> None:
        """Record one listed item; a renamed one loses its old name, a deleted one is
        forgotten."""
        ident = str(raw["id"])
        name = str(raw.get("name") or "")
        item = None if raw.get("vis_state") == 1 else LedgerItem(ident, name, name)
        old = self._by_id.pop(ident, None)
        if old is not None and old != item and self._by_name.get(old.code) == old:
            del self._by_name[old.code]
            self._elect(old.code)
        if item is None:
            return
        self._by_id[ident] = item
        holder = self._by_name.get(name)
        if holder is None or _age(item) < _age(holder):
            self._by_name[name] = item

    def _elect(self, name: str) -> None:
        """After its holder went: the oldest other active item of that name, if any."""
        named = [item for item in self._by_id.values() if item.code == name]
        if named:
            self._by_name[name] = min(named, key=_age)

    async def _pages(self, search: Mapping[str, str]) -> AsyncIterator[Mapping[str, Any]]:
        page, pages = 1, 1
        while page <= pages:
            params = {**search, "page": str(page), "per_page": str(self._page)}
            answer = await self._http.json("GET", self._url, params=params, idempotent=True)
            result = result_of(answer)
            for raw in result.get("items", []):
                yield raw
            pages = int(result.get("pages") or 0)
            page += 1


def _age(item: LedgerItem) -> tuple[int, str]:
    """Ids in creation order (FreshBooks ids are increasing integers)."""
    ident = item.ledger_id
    return (int(ident), "") if ident.isdigit() else (0, ident)


def _not_listed(code: str) -> NoReturn:
    raise PermanentLedgerError(
        f"FreshBooks created item {code!r} but does not list it under that name as active: "
        "check the account's items",
        code=UNKNOWN_ITEM,
    )
