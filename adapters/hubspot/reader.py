"""HubSpot as a source: delta reads, webhook hints, re-reads by id, write-back.

Reads (cursor design: :mod:`syncledger.adapters.hubspot.cursor`): companies, contacts
and deals in that order (customers before the invoices naming them), at most
``page_budget`` requests of pages per call; ``more=True`` when the budget cut it short.
Contacts use ``lastmodifieddate``, the others ``hs_lastmodifieddate`` (SOURCES.md §1.4).
``clock_margin_ms`` keeps the delta window ``LTE now - margin`` and starts it ``margin``
before a backfill, against search index lag and clock skew ("It may take a few moments
for newly created or updated CRM objects to appear in search results", §1.4).

Deals: one in the configured stage (``closed_stage``, default ``closedwon``, §1.5)
becomes an invoice built from its line items (deal → line_items associations, then a
batch read of the line items, §1.6); its customer is the deal's first associated company,
else (by the ``contacts`` setting) its first contact (``always``), that contact's company
when it has one, else the contact itself (``unless_company``) or none (``never``: the
invoice names no customer and validation refuses it) — never a contact the setting keeps
from being a customer. A deal not in that stage yields nothing — unless its
``dealstage`` history (``propertiesWithHistory`` on batch read) shows it was in that stage,
then it yields a deletion of the invoice (the ledger's copy is voided by the pipeline's
rules for deleted records). An archived deal that was in the stage yields a deletion too.
A deal in a foreign currency carries HubSpot's own exchange rate of its close date
(:mod:`syncledger.adapters.hubspot.rates`).

With the Webhooks Journal (``journal``, OAuth only: :mod:`syncledger.adapters.hubspot.journal`)
the changes after the backfill come from the journal instead of searches. The first read
takes the journal's ``latest`` offset before anything else — not ``earliest``: the
backfill's lists already hold every change older than that entry, and ``earliest`` would
re-read up to 3 days of them — then backfills (lists, one search pass from the
backfill's start) as without it; from then on each read takes a batch of entries after
the stored offset, turns their events into hints (each record once), re-reads the
records through the API as webhook hints are, and returns them with the new offset in
the cursor: the pipeline appends the records before the cursor, so the offset moves only
once the hinted records are in the log. An offset the journal no longer holds (down for
more than its 3 days) takes ``latest`` again and searches from the stored watermarks,
which lie before every change missed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from syncledger.adapters.hubspot import customer_writeback, webhooks, writeback
from syncledger.adapters.hubspot import journal as feed
from syncledger.adapters.hubspot.client import PAGE, HubSpotClient, Page
from syncledger.adapters.hubspot.cursor import KINDS, Cursor, JournalState, KindState
from syncledger.adapters.hubspot.errors import HubSpotError
from syncledger.adapters.hubspot.mapping import (
    ContactPolicy,
    SourceMapping,
    customer_id,
    customer_item,
    deleted_item,
    invoice_item,
    split_customer_id,
)
from syncledger.adapters.hubspot.rates import ExchangeRates
from syncledger.core.ports import SourceItem
from syncledger.core.source_ports import (
    CustomerDetailsRefusal,
    CustomerDetailsUpdate,
    RecordHint,
    SourceChanges,
    StatusUpdate,
    WebhookDelivery,
    WebhookRequest,
    WriteBackOutcome,
)

MODIFIED = {
    "companies": "hs_lastmodifieddate",
    "contacts": "lastmodifieddate",
    "deals": "hs_lastmodifieddate",
}
PREFIX = {"companies": "company", "contacts": "contact"}
Records = list[dict[str, Any]]
_log = logging.getLogger(__name__)


def epoch_ms(text: Any) -> int:
    if text is None or text == "":
        return 0
    value = str(text)
    if value.isdigit():
        return int(value)
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


class HubSpotSource:
    """SourceReader, WebhookReceiver, RecordFetcher and StatusWriter over one portal."""

    system = "hubspot"

    def __init__(
        self,
        client: HubSpotClient,
        mapping: SourceMapping,
        *,
        webhook_secret: str,
        page_budget: int = 20,
        page_size: int = PAGE,
        clock_margin_ms: int = 0,
        clock: Callable[[], float] = time.time,
        journal: feed.HubSpotJournal | None = None,
        portal_id: str | None = None,
    ) -> None:
        self._client = client
        self._journal = journal
        self._portal = portal_id
        self._m = mapping
        self._secret = webhook_secret
        self._budget = page_budget
        self._size = page_size
        self._margin = clock_margin_ms
        self._clock = clock
        self._status = writeback.StatusProperties(client)

    # ------------------------------------------------------------------ delta reads

    async def read_changes(self, cursor: str | None) -> SourceChanges:
        state = Cursor.decode(cursor) if cursor else Cursor.start(self._now() - self._margin)
        if self._journal is not None:
            return await self._journal_read(self._journal, state)
        items, state, more = await self._delta(state)
        return SourceChanges(tuple(items), state.encode(), more=more)

    async def _delta(self, state: Cursor) -> tuple[list[SourceItem], Cursor, bool]:
        items: list[SourceItem] = []
        budget = self._budget
        for kind in KINDS:
            kstate = state.kinds.get(kind) or KindState(phase="search")
            kstate, budget, done = await self._read_kind(kind, kstate, budget, items)
            state = state.with_kind(kind, kstate)
            if not done:
                return items, state, True
        return items, state, False

    # ------------------------------------------------------------------ the journal

    async def _journal_read(self, journal: feed.HubSpotJournal, state: Cursor) -> SourceChanges:
        at = state.journal or JournalState(await journal.latest())
        state = state.with_journal(at)
        if not at.live:
            return await self._catch_up(state, at)
        try:
            entries = await journal.after(at.offset)
        except feed.JournalOffsetLost as exc:
            _log.warning("%s: searching from the stored watermarks instead", exc)
            lost = JournalState(await journal.latest())
            return SourceChanges((), state.with_journal(lost).encode(), more=True)
        if not entries:
            return SourceChanges((), state.encode())
        items = await self.fetch(await self._journal_hints(journal, entries))
        state = state.with_journal(JournalState(entries[-1].offset, live=True))
        return SourceChanges(tuple(items), state.encode(), more=len(entries) >= journal.batch)

    async def _catch_up(self, state: Cursor, at: JournalState) -> SourceChanges:
        """Delta passes until one ends after the offset was taken; then the journal."""
        items, state, more = await self._delta(state)
        if not more:  # caught up: the journal takes over, in this poll already
            state = state.with_journal(replace(at, live=True))
        return SourceChanges(tuple(items), state.encode(), more=True)

    async def _journal_hints(
        self, journal: feed.HubSpotJournal, entries: Sequence[feed.Entry]
    ) -> list[RecordHint]:
        events = await journal.events(entries)
        hints = feed.hints_of(events, self._portal)
        lines = feed.line_items(events, self._portal)
        if lines:
            deals = await self._client.associations("line_items", "deals", lines)
            known = {h.id for h in hints if h.kind == "invoice"}
            fresh = dict.fromkeys(d for ids in deals.values() for d in ids if d not in known)
            hints += [RecordHint("invoice", d) for d in fresh]
        return hints

    async def _read_kind(
        self, kind: str, s: KindState, budget: int, out: list[SourceItem]
    ) -> tuple[KindState, int, bool]:
        """Steps of ``kind`` within ``budget``. A step that fails for a while (a rate or
        daily limit, an outage) after this read already holds records ends the read
        there: those records go to the log with the cursor of the last whole step
        (``more``), and the next read meets the failure — so a small allowance still
        moves the read on instead of losing the pages it paid for."""
        while budget > 0:
            budget -= 1
            try:
                s, done = await self._step(kind, s, out)
            except HubSpotError as exc:
                if not (exc.transient and out):
                    raise
                _log.warning("%s: keeping the %d records read so far", exc, len(out))
                return s, 0, False
            if done:
                return s, budget, True
        return s, budget, False

    async def _step(self, kind: str, s: KindState, out: list[SourceItem]) -> tuple[KindState, bool]:
        """One request's worth of ``kind`` (and the reads its records need); True when
        the pass over ``kind`` is complete. Records reach ``out`` only once the step's
        every request answered."""
        if s.phase == "list":
            s, listed = await self._list_step(kind, s, out)
            return (replace(s, phase="search", after=None) if listed else s), False
        if s.gone_after is None:
            s, searched = await self._search_step(kind, s, out)
            return (replace(s, gone_after="") if searched else s), False
        return await self._gone_step(kind, s, out)

    async def _list_step(
        self, kind: str, s: KindState, out: list[SourceItem]
    ) -> tuple[KindState, bool]:
        page = await self._client.list_page(kind, s.after, self._properties(kind))
        out.extend(await self._items(kind, page.results))
        prop = MODIFIED[kind]
        at_wm = tuple(str(r["id"]) for r in page.results if self._stamp(r, prop) == s.wm)
        return replace(s, after=page.after, ids=s.ids + at_wm), page.after is None

    async def _search_step(
        self, kind: str, s: KindState, out: list[SourceItem]
    ) -> tuple[KindState, bool]:
        page = await self._client.search(kind, self._query(kind, s))
        if s.split is not None:
            return await self._split_step(kind, s, page, out)
        prop = MODIFIED[kind]
        fresh = [r for r in page.results if not self._seen(r, prop, s)]
        if page.after is not None and not fresh:
            return replace(s, split="0"), False  # a page of one millisecond: split it
        out.extend(await self._items(kind, fresh))
        return self._advanced(s, fresh, prop), page.after is None

    async def _split_step(
        self, kind: str, s: KindState, page: Page, out: list[SourceItem]
    ) -> tuple[KindState, bool]:
        fresh = [r for r in page.results if str(r["id"]) not in s.ids]
        out.extend(await self._items(kind, fresh))
        if page.after is None:
            return replace(s, split=None, wm=s.wm + 1, ids=()), False
        last = str(page.results[-1]["id"]) if page.results else s.split
        return replace(s, split=last, ids=s.ids + tuple(str(r["id"]) for r in fresh)), False

    def _seen(self, record: dict[str, Any], prop: str, s: KindState) -> bool:
        return self._stamp(record, prop) == s.wm and str(record["id"]) in s.ids

    def _stamp(self, record: dict[str, Any], prop: str) -> int:
        return epoch_ms((record.get("properties") or {}).get(prop) or record.get("updatedAt"))

    def _advanced(self, s: KindState, fresh: Records, prop: str) -> KindState:
        if not fresh:
            return s
        top = max(self._stamp(r, prop) for r in fresh)
        at_top = tuple(str(r["id"]) for r in fresh if self._stamp(r, prop) == top)
        return s.at(top, s.ids + at_top) if top == s.wm else s.at(top, at_top)

    def _query(self, kind: str, s: KindState) -> dict[str, Any]:
        prop = MODIFIED[kind]
        if s.split is not None:
            filters = [
                {"propertyName": prop, "operator": "EQ", "value": str(s.wm)},
                {"propertyName": "hs_object_id", "operator": "GT", "value": s.split},
            ]
            sort = "hs_object_id"
        else:
            filters = [{"propertyName": prop, "operator": "GTE", "value": str(s.wm)}]
            if self._margin:
                filters.append(
                    {
                        "propertyName": prop,
                        "operator": "LTE",
                        "value": str(self._now() - self._margin),
                    }
                )
            sort = prop
        return {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
            "properties": self._properties(kind),
            "limit": self._size,
        }

    async def _gone_step(
        self, kind: str, s: KindState, out: list[SourceItem]
    ) -> tuple[KindState, bool]:
        page = await self._client.list_page(
            kind, s.gone_after or None, self._properties(kind), archived=True
        )
        newer = [r for r in page.results if epoch_ms(r.get("archivedAt")) > s.gone]
        out.extend(self._deleted(kind, newer))
        top = max([s.gone, s.gone_top, *(epoch_ms(r.get("archivedAt")) for r in newer)])
        if page.after is None:
            return replace(s, gone=top, gone_after=None, gone_top=0), True
        return replace(s, gone_after=page.after, gone_top=top), False

    # ------------------------------------------------------------------ records → items

    def _properties(self, kind: str) -> list[str]:
        section = {"companies": "company", "contacts": "contact", "deals": "deal"}[kind]
        extra = {writeback.UNIQUE} if kind == "deals" else set()
        return sorted({*self._m.properties(section), MODIFIED[kind], *extra})

    def _now(self) -> int:
        return int(self._clock() * 1000)

    async def _items(self, kind: str, records: Records) -> list[SourceItem]:
        if not records:
            return []
        if kind == "companies":
            return [customer_item("company", r, self._m) for r in records]
        if kind == "contacts":
            return await self._contacts(records)
        return await self._deals(records)

    def _deleted(self, kind: str, records: Records) -> list[SourceItem]:
        if kind == "deals":
            self._status.forget(records)
            stage = self._m.deal["stage"]
            closed = [
                r for r in records if (r.get("properties") or {}).get(stage) == self._m.closed_stage
            ]
            return [deleted_item("invoice", str(r["id"]), r) for r in closed]
        return [
            deleted_item("customer", customer_id(PREFIX[kind], str(r["id"])), r) for r in records
        ]

    async def _contacts(self, records: Records) -> list[SourceItem]:
        if self._m.contacts == "never":
            return []
        kept = records
        if self._m.contacts == "unless_company":
            ids = [str(r["id"]) for r in records]
            companies = await self._client.associations("contacts", "companies", ids)
            kept = [r for r in records if not companies.get(str(r["id"]))]
        return [customer_item("contact", r, self._m) for r in kept]

    async def _deals(self, records: Records) -> list[SourceItem]:
        stage = self._m.deal["stage"]
        closed = [
            r for r in records if (r.get("properties") or {}).get(stage) == self._m.closed_stage
        ]
        others = [str(r["id"]) for r in records if r not in closed]
        self._status.learn(records)
        return [*await self._invoices(closed), *await self._left_stage(others)]

    async def _invoices(self, deals: Records) -> list[SourceItem]:
        if not deals:
            return []
        ids = [str(d["id"]) for d in deals]
        lines_of = await self._client.associations("deals", "line_items", ids)
        customers = await self._deal_customers(ids)
        line_ids = [i for d in ids for i in lines_of.get(d, [])]
        props = self._m.properties("line_item")
        lines = {
            str(r["id"]): r for r in await self._client.batch_read("line_items", line_ids, props)
        }
        rates = await self._rates(deals)
        return [
            invoice_item(
                d,
                customers[str(d["id"])],
                [lines[i] for i in lines_of.get(str(d["id"]), []) if i in lines],
                self._m,
                rates,
            )
            for d in deals
        ]

    async def _deal_customers(self, ids: list[str]) -> dict[str, str | None]:
        """Each deal's customer (module docstring); the companies of deals' first contacts
        are read only for deals without a company, and not with ``contacts = always``."""
        companies = await self._client.associations("deals", "companies", ids)
        contacts = await self._client.associations("deals", "contacts", ids)
        firsts = [contacts[d][0] for d in ids if not companies.get(d) and contacts.get(d)]
        employers: dict[str, list[str]] = {}
        if firsts and self._m.contacts != "always":
            employers = await self._client.associations(
                "contacts", "companies", list(dict.fromkeys(firsts))
            )
        return {
            d: _customer(companies.get(d), contacts.get(d), employers, self._m.contacts)
            for d in ids
        }

    async def _rates(self, deals: Records) -> ExchangeRates | None:
        """HubSpot's exchange rates, read only when a deal is in a foreign currency
        (two requests per batch of deals: rates change, so they are not kept)."""
        prop, home = self._m.deal["currency"], self._m.home_currency
        foreign = any(
            str((d.get("properties") or {}).get(prop) or home).upper() != home for d in deals
        )
        if not foreign:
            return None
        company = await self._client.company_currency()
        if company.upper() != home:
            _log.warning(
                "HubSpot's company currency is %s, the books' home currency %s: its exchange "
                "rates are not used (foreign-currency deals are refused with "
                "missing_exchange_rate until home_currency in the source mapping matches)",
                company,
                home,
            )
            return None
        return ExchangeRates.of(company, await self._client.exchange_rates())

    async def _left_stage(self, ids: Sequence[str]) -> list[SourceItem]:
        """Deals out of the stage whose history shows they were in it: deletions."""
        if not ids:
            return []
        stage = self._m.deal["stage"]
        read = await self._client.batch_read("deals", ids, [stage], history=[stage])
        return [
            deleted_item("invoice", str(r["id"]), {"updatedAt": r.get("updatedAt")})
            for r in read
            if self._was_closed(r, stage)
        ]

    def _was_closed(self, record: dict[str, Any], stage: str) -> bool:
        history = (record.get("propertiesWithHistory") or {}).get(stage) or []
        return any(h.get("value") == self._m.closed_stage for h in history)

    # ------------------------------------------------------------------ webhooks, re-reads

    def verify(self, request: WebhookRequest) -> WebhookDelivery:
        return webhooks.verify(request, self._secret)

    async def fetch(self, hints: Sequence[RecordHint]) -> list[SourceItem]:
        wanted: dict[str, list[str]] = {"companies": [], "contacts": [], "deals": []}
        for hint in hints:
            found = (
                split_customer_id(hint.id)
                if hint.kind == "customer"
                else (("deals", hint.id) if hint.kind == "invoice" and hint.id.isdigit() else None)
            )
            if found is not None:
                wanted[found[0]].append(found[1])
        items: list[SourceItem] = []
        for kind, ids in wanted.items():
            items += await self._fetch_kind(kind, ids)
        return items

    async def _fetch_kind(self, kind: str, ids: list[str]) -> list[SourceItem]:
        if not ids:
            return []
        props = self._properties(kind)
        live = await self._client.batch_read(kind, ids, props)
        found = {str(r["id"]) for r in live}
        rest = [i for i in ids if i not in found]
        gone = await self._client.batch_read(kind, rest, props, archived=True) if rest else []
        return [*await self._items(kind, live), *self._deleted(kind, gone)]

    # ------------------------------------------------------------------ write-back

    async def write_back(self, updates: Sequence[StatusUpdate]) -> list[WriteBackOutcome]:
        return await writeback.write_back(self._client, self._status, updates)

    async def write_customer_details(
        self, updates: Sequence[CustomerDetailsUpdate]
    ) -> list[CustomerDetailsRefusal]:
        """Customer details the ledger owns onto companies/contacts (customer_writeback)."""
        return await customer_writeback.write_customer_details(self._client, self._m, updates)

    async def aclose(self) -> None:
        await self._client.aclose()
        if self._journal is not None:
            await self._journal.aclose()


def _customer(
    companies: list[str] | None,
    contacts: list[str] | None,
    employers: Mapping[str, list[str]],
    policy: ContactPolicy,
) -> str | None:
    if companies:
        return customer_id("company", companies[0])
    if not contacts:
        return None
    first = contacts[0]
    if policy == "always":
        return customer_id("contact", first)
    if employers.get(first):
        return customer_id("company", employers[first][0])
    return customer_id("contact", first) if policy == "unless_company" else None
